//! End-to-end benchmark of the analysis pipeline on generated data.
//!
//! `bench_pipeline --responses 100000,1000000` generates each data set, writes
//! it as Parquet to a temporary directory, then times `Inputs::from_paths` +
//! `run` + `write_outputs` (Parquet) in a fresh child process per run, so the
//! reported peak RSS (VmHWM) is that of one run. Median of 3 runs.
//!
//! The data is generated in a child process of its own, which exits before
//! the measured runs: generating 10M responses leaves gigabytes of freed heap
//! resident in the generating process, and a benchmark parent holding them
//! made the measured run's page faults (kernel time) twice as slow.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use analysis::{Format, Inputs, Model, run, synth, write_outputs, write_table};

type BoxError = Box<dyn std::error::Error>;

/// Measured runs per data set (the median is reported).
const RUNS: usize = 3;

// polars allocates and frees many large, short-lived buffers; glibc malloc
// keeps much of that freed memory (and page-faults on every fresh large
// allocation), mimalloc returns and reuses it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(dir) = value("--single") {
        return single(Path::new(&dir));
    }
    if let (Some(n), Some(dir)) = (value("--prepare"), value("--into")) {
        let answers = prepare(n.parse()?, Path::new(&dir))?;
        println!("{answers}");
        return Ok(());
    }
    let sizes: Vec<usize> = value("--responses")
        .unwrap_or_else(|| "100000,1000000".to_owned())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    println!(
        "| responses | answers | input Parquet MB | wall time (s) | runs | peak RSS (MB) | CPU user + sys (s) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let dir = std::env::temp_dir().join(format!("pingyi-bench-{n}"));
        let answers = prepare_in_child(n, &dir)?;
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let mut peak_kb = 0u64;
        for _ in 0..RUNS {
            let (secs, kb, user, sys) = child(&dir)?;
            times.push(secs);
            cpu.push(format!("{user:.1} + {sys:.1}"));
            peak_kb = peak_kb.max(kb);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let size_mb = ["institutions", "responses", "answers"]
            .iter()
            .map(|t| std::fs::metadata(dir.join(format!("{t}.parquet"))).map_or(0, |m| m.len()))
            .sum::<u64>() as f64
            / 1e6;
        println!(
            "| {n} | {answers} | {size_mb:.0} | {median:.2} (runs: {}) | {RUNS} | {} | {} |",
            times
                .iter()
                .map(|t| format!("{t:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            peak_kb / 1024,
            cpu.join(", ")
        );
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// Generates `n` responses and writes the inputs and the model into `dir`.
fn prepare(n: usize, dir: &Path) -> Result<usize, BoxError> {
    std::fs::create_dir_all(dir)?;
    let t = Instant::now();
    let (mut i, mut r, mut a) = synth::generate(n, 2024)?;
    write_table(&mut i, &dir.join("institutions.parquet"))?;
    write_table(&mut r, &dir.join("responses.parquet"))?;
    write_table(&mut a, &dir.join("answers.parquet"))?;
    std::fs::write(dir.join("model.toml"), synth::SAMPLE_MODEL)?;
    eprintln!(
        "generated {n} responses, {} answers in {:.1} s",
        a.height(),
        t.elapsed().as_secs_f64()
    );
    Ok(a.height())
}

/// [`prepare`] in a child process, which exits (freeing its heap) before
/// anything is measured; returns the number of answer rows.
fn prepare_in_child(n: usize, dir: &Path) -> Result<usize, BoxError> {
    let out = Command::new(std::env::current_exe()?)
        .args(["--prepare", &n.to_string(), "--into"])
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("generating {n} responses failed: {}", out.status).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// Runs one measurement in a child process; returns (seconds, VmHWM kB,
/// user and system CPU seconds).
fn child(dir: &Path) -> Result<(f64, u64, f64, f64), BoxError> {
    let out = Command::new(std::env::current_exe()?)
        .arg("--single")
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("child failed: {}", out.status).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let secs = fields.next().ok_or("no time")?.parse()?;
    let kb = fields.next().ok_or("no rss")?.parse()?;
    let user = fields.next().ok_or("no user time")?.parse()?;
    let sys = fields.next().ok_or("no system time")?.parse()?;
    Ok((secs, kb, user, sys))
}

/// The measured run: read, compute, write; prints "seconds vmhwm_kb
/// user_seconds system_seconds" (CPU time of the whole process, which
/// includes the few milliseconds of start-up).
fn single(dir: &Path) -> Result<(), BoxError> {
    let model = Model::from_path(&dir.join("model.toml"))?;
    let out_dir: PathBuf = dir.join("out");
    let t = Instant::now();
    let inputs = Inputs::from_paths(
        &dir.join("institutions.parquet"),
        &dir.join("responses.parquet"),
        &dir.join("answers.parquet"),
    )?;
    let mut outputs = run(inputs, &model)?;
    write_outputs(&mut outputs, &out_dir, Format::Parquet)?;
    let secs = t.elapsed().as_secs_f64();
    let (user, sys) = cpu_seconds();
    println!("{secs} {} {user} {sys}", vm_hwm_kb());
    Ok(())
}

/// User and system CPU seconds of this process (`/proc/self/stat`, in clock
/// ticks of 1/100 s).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is
    // field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (ticks(11), ticks(12))
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
