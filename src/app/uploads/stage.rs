//! Receiving an upload: the body is streamed to a file under the data
//! directory and hashed (SHA-256) on the way, so a 50 MB file is never held
//! in memory, and the size limit is enforced as the bytes arrive.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

/// Bytes read and thrown away after the limit is passed, so the client gets
/// the 413 answer instead of a reset connection; beyond this we stop reading.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;

/// A received file; deleted when dropped.
#[derive(Debug)]
pub struct TempUpload {
    path: PathBuf,
}

impl TempUpload {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why a body could not be received.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("the upload exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// The received file, its hex SHA-256 and size.
pub struct Received {
    pub file: TempUpload,
    pub sha256: String,
    pub size: u64,
}

/// Where uploads in progress are kept.
pub fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads")
}

/// Streams `body` to a new file in `dir`, refusing more than `limit` bytes.
pub async fn receive<S, E>(dir: &Path, limit: u64, mut body: S) -> Result<Received, StageError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    use anyhow::Context;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("Failed to create the upload directory {}", dir.display()))?;
    let file = TempUpload {
        path: dir.join(format!("{}.part", uuid::Uuid::new_v4().simple())),
    };
    // Plain blocking writes of body-sized chunks: they land in the page cache
    // in microseconds, cheaper than a hop to the blocking pool per chunk.
    let mut out = std::io::BufWriter::with_capacity(
        256 * 1024,
        std::fs::File::create(file.path()).context("Failed to create the upload file")?,
    );
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| StageError::Interrupted(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            drop(out);
            drain(&mut body, size, limit).await;
            return Err(StageError::TooLarge { limit });
        }
        hasher.update(&chunk);
        out.write_all(&chunk)
            .context("Failed to write the upload file")?;
    }
    out.flush().context("Failed to write the upload file")?;
    Ok(Received {
        file,
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

async fn drain<S, E>(body: &mut S, mut seen: u64, limit: u64)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    while seen <= limit.saturating_add(DRAIN_MAX) {
        match body.next().await {
            Some(Ok(chunk)) => seen += chunk.len() as u64,
            _ => return,
        }
    }
}

/// A limit in words: `50 MiB (52428800 bytes)`.
pub fn describe_limit(limit: u64) -> String {
    if limit >= 1024 * 1024 && limit % (1024 * 1024) == 0 {
        format!("{} MiB ({limit} bytes)", limit / (1024 * 1024))
    } else {
        format!("{limit} bytes")
    }
}
