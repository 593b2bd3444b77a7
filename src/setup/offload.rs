//! CPU-bound polars work, run where polars' engine works: on a plain OS
//! thread outside every async runtime.
//!
//! polars calls `tokio::task::block_in_place` whenever it finds itself inside
//! a tokio runtime (scanning Parquet, the streaming engine), and tokio panics
//! there when that runtime is a current-thread one: `#[actix_web::main]` and
//! every actix worker are. A `spawn_blocking` thread still carries its
//! runtime's context, so it is no way out; a thread of our own is. At most one
//! such thread per core runs at a time (the work is CPU-bound; more would only
//! add memory), later callers wait their turn.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;

use anyhow::Context;
use tokio::sync::Semaphore;

static PERMITS: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
});

/// Runs `f` on a thread of its own, outside any runtime, and waits for it
/// without blocking the caller's executor. `what` names the work in errors.
/// A panic in `f` becomes an error (the process and its other requests go on).
pub async fn polars<T, F>(what: &'static str, f: F) -> anyhow::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let _permit = PERMITS
        .acquire()
        .await
        .with_context(|| format!("{what}: the compute pool is closed"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("pingyi-polars".into())
        .spawn(move || {
            // The receiver may be gone (request cancelled): nothing to tell.
            let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(f)));
        })
        .with_context(|| format!("{what}: could not start a compute thread"))?;
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(anyhow::anyhow!("{what} failed: {}", panic_text(&*panic))),
        Err(_) => Err(anyhow::anyhow!("{what} stopped without an answer")),
    }
}

fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polars_work_runs_on_a_current_thread_runtime_and_panics_become_errors() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            // Outside any runtime, tokio's block_in_place just runs the closure;
            // on this runtime's own threads it would panic.
            let inside = polars("probe", || tokio::runtime::Handle::try_current().is_ok())
                .await
                .expect("ran");
            assert!(!inside, "the work ran inside a runtime");
            let value = polars("block", || tokio::task::block_in_place(|| 7))
                .await
                .expect("ran");
            assert_eq!(value, 7);
            let err = polars("boom", || -> u8 { panic!("kaput") })
                .await
                .expect_err("a panic is an error");
            assert!(err.to_string().contains("kaput"), "{err}");
        });
    }
}
