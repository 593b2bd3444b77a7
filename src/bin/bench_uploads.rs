//! Benchmark of assessor uploads: generates a CSV and an XLSX of N rows
//! (default 100,000, 8 items each), then validates and stores each through
//! the upload service (the function the API calls, without HTTP), reporting
//! wall time and peak memory (VmHWM, reset before each phase).
//!
//! ```text
//! cargo run --release --bin bench_uploads -- [ROWS]
//! PINGYI_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --release --bin bench_uploads
//! ```
//! On PostgreSQL a database of its own is created and dropped.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use pingyi::app::uploads::{Format, Outcome, StagedFile, UploadContext, process};
use pingyi::db::{self, assessors, catalog::Catalog};
use pingyi::domain::keys::Keys;
use pingyi::setup::configuration::Settings;
use sea_orm::{ConnectionTrait, Database, Statement};
use sha2::{Digest, Sha256};

const PERIOD: &str = "2025-10";
const HEADER: [&str; 14] = [
    "respondent_ref",
    "institution_code",
    "period",
    "interviewed_at",
    "channel",
    "att1",
    "att2",
    "eff1",
    "eff2",
    "env1",
    "tra1",
    "out1",
    "out2",
    "comment",
];

/// The cells of row `i` (deterministic, varied).
fn row(prefix: &str, i: usize) -> [String; 14] {
    let rating = |k: usize| -> String {
        match (i * 7 + k * 13) % 11 {
            0 => String::new(),
            v => ((v % 5) + 1).to_string(),
        }
    };
    [
        format!("{prefix}-{i:07}"),
        format!("water-{:02}", i % 8 + 1),
        PERIOD.to_owned(),
        format!("2025-10-{:02} {:02}:{:02}", i % 28 + 1, 8 + i % 10, i % 60),
        ["phone", "onsite", "mystery"][i % 3].to_owned(),
        rating(1),
        rating(2),
        rating(3),
        rating(4),
        rating(5),
        rating(6),
        rating(7),
        rating(8),
        if i % 4 == 0 {
            "排队时间较长，希望增加窗口".to_owned()
        } else {
            String::new()
        },
    ]
}

fn write_csv(path: &Path, rows: usize) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = csv::Writer::from_writer(&mut out);
    w.write_record(HEADER)?;
    for i in 0..rows {
        w.write_record(row("C", i))?;
    }
    w.flush()?;
    drop(w);
    out.flush()?;
    Ok(())
}

fn write_xlsx(path: &Path, rows: usize) -> anyhow::Result<()> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, h) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for i in 0..rows {
        let r = u32::try_from(i + 1)?;
        for (c, value) in row("X", i).iter().enumerate() {
            let c = c as u16;
            if (5..13).contains(&c) {
                if let Ok(n) = value.parse::<f64>() {
                    sheet.write_number(r, c, n)?;
                }
            } else if !value.is_empty() {
                sheet.write_string(r, c, value)?;
            }
        }
    }
    workbook.save(path)?;
    Ok(())
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn sha256(path: &Path) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()
        .context("ROWS must be a number")?
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("pingyi-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let mut settings = Settings {
        data_dir: dir.clone(),
        secret: Some("bench-secret-bench-secret-bench-secret-0".into()),
        ..Default::default()
    };
    let mut pg = None;
    if let Ok(base) = std::env::var("PINGYI_BENCH_DATABASE_URL") {
        let name = format!("pingyi_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&base).await?;
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await?;
        let cut = base.rfind('/').context("a database URL")?;
        settings.database_url = Some(format!("{}/{name}", &base[..cut]));
        pg = Some((admin, name));
    }
    let backend = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
    let conn = db::connect(&settings.database_url()).await?;
    db::migrate(&conn).await?;
    db::seed::seed_if_empty(&conn).await?;
    let keys = Keys::new(settings.resolve_secret()?);
    let catalog = std::sync::Arc::new(Catalog::load(&conn).await?);
    let org_id = assessors::create_org(&conn, "bench", "Bench Research").await?;
    let water = catalog.categories[catalog.category_index("water").context("water")?].id;
    assessors::add_contract(
        &conn,
        org_id,
        &PERIOD.parse()?,
        assessors::NewContract {
            category_id: Some(water),
            ..Default::default()
        },
    )
    .await?;
    let token = assessors::issue_token(&conn, &keys, org_id, 1).await?.token;
    let org = assessors::authenticate(&conn, &keys, &token)
        .await?
        .map_err(|p| anyhow::anyhow!("token refused: {p:?}"))?;
    let ctx = UploadContext {
        db: &conn,
        keys: &keys,
        catalog,
        settings: &settings,
    };

    println!(
        "backend: {backend}; rows: {rows}; build: {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    for (format, name) in [(Format::Csv, "bench.csv"), (Format::Xlsx, "bench.xlsx")] {
        let path = dir.join(name);
        let started = Instant::now();
        match format {
            Format::Xlsx => write_xlsx(&path, rows)?,
            _ => write_csv(&path, rows)?,
        }
        let size = std::fs::metadata(&path)?.len();
        println!(
            "{}: generated {:.1} MB in {:.2} s",
            format.as_str(),
            size as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        let file = StagedFile {
            sha256: sha256(&path)?,
            path: path.clone(),
            size,
            format,
            file_name: Some(name.into()),
            charset: None,
        };
        reset_peak();
        let rss_before = status_kib("VmRSS:");
        let started = Instant::now();
        let outcome = process(&ctx, &org, &file).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let peak = status_kib("VmHWM:");
        let stored = match &outcome {
            Outcome::Stored(r) => r.stored_rows,
            other => anyhow::bail!("not stored: {other:?}"),
        };
        println!(
            "{}: validated and stored {stored} rows in {elapsed:.2} s; RSS before {:.1} MiB, peak {:.1} MiB (+{:.1} MiB)",
            format.as_str(),
            rss_before as f64 / 1024.0,
            peak as f64 / 1024.0,
            peak.saturating_sub(rss_before) as f64 / 1024.0
        );
    }
    let responses = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) FROM answer".to_owned(),
        ))
        .await?
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    println!("answers in the database: {responses}");
    conn.close().await?;
    if let Some((admin, name)) = pg {
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ))
            .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
