//! Runs the pipeline once on `DIR/{institutions,responses,answers}.parquet`
//! and `DIR/model.toml` (profiling aid for `bench_pipeline` data).

use std::path::Path;
use std::time::Instant;

use analysis::{Inputs, Model, run, synth, write_table};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).ok_or("usage: run_dir DIR [N]")?);
    if let Some(n) = args.get(2) {
        let (mut i, mut r, mut a) = synth::generate(n.parse()?, 2024)?;
        std::fs::create_dir_all(dir)?;
        write_table(&mut i, &dir.join("institutions.parquet"))?;
        write_table(&mut r, &dir.join("responses.parquet"))?;
        write_table(&mut a, &dir.join("answers.parquet"))?;
        std::fs::write(dir.join("model.toml"), synth::SAMPLE_MODEL)?;
        return Ok(());
    }
    let model = Model::from_path(&dir.join("model.toml"))?;
    let t = Instant::now();
    let inputs = Inputs::from_paths(
        &dir.join("institutions.parquet"),
        &dir.join("responses.parquet"),
        &dir.join("answers.parquet"),
    )?;
    let out = run(inputs, &model)?;
    eprintln!(
        "run: {:.3} s, {} institution rows",
        t.elapsed().as_secs_f64(),
        out.institution_indicators.height()
    );
    Ok(())
}
