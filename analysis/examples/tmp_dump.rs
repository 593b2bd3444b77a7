use analysis::{Format, Inputs, Model, run, synth, write_outputs};
use polars::prelude::*;
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let n: usize = a[1].parse()?;
    let out = std::path::PathBuf::from(&a[2]);
    let shuffle = a.len() > 3;
    let (i, r, mut ans) = synth::generate(n, 7)?;
    if shuffle {
        ans = ans.sample_n_literal(ans.height(), false, Some(true), Some(3))?;
    }
    let model = Model::from_toml_str(synth::SAMPLE_MODEL)?;
    let mut o = run(
        Inputs {
            institutions: i.lazy(),
            responses: r.lazy(),
            answers: ans.lazy(),
        },
        &model,
    )?;
    write_outputs(&mut o, &out, Format::Csv)?;
    Ok(())
}
