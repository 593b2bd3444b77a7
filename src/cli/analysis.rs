//! `pingyi analyze`, `pingyi export` and `pingyi demo-data`: the indicator
//! pipeline on files or on the database, and the period export it reads.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::db;
use crate::domain::period::Period;
use crate::setup::configuration::Settings;

/// Output or export file format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FileFormat {
    Csv,
    Parquet,
}

impl From<FileFormat> for analysis::Format {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::Csv => analysis::Format::Csv,
            FileFormat::Parquet => analysis::Format::Parquet,
        }
    }
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// institutions table (CSV or Parquet, by extension)
    #[arg(long, requires_all = ["responses", "answers", "model"], conflicts_with = "period")]
    institutions: Option<PathBuf>,
    /// responses table
    #[arg(long)]
    responses: Option<PathBuf>,
    /// answers table
    #[arg(long)]
    answers: Option<PathBuf>,
    /// model TOML
    #[arg(long)]
    model: Option<PathBuf>,
    /// Run on the database for this period (and the one before, for delta_prev)
    #[arg(long, required_unless_present = "institutions")]
    period: Option<Period>,
    /// Directory the output tables (the four indicator tables and integrity) are written to
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "csv")]
    format: FileFormat,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The period to export (the one before it is included, for delta_prev)
    #[arg(long)]
    period: Period,
    /// Directory the three input tables and model.toml are written to
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "csv")]
    format: FileFormat,
}

#[derive(Args)]
pub struct DemoDataArgs {
    /// Number of responses to generate
    #[arg(long, default_value_t = 10_000)]
    responses: usize,
    /// Seed of the generator (same seed, same data)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory the three input tables and model.toml are written to
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "parquet")]
    format: FileFormat,
}

/// A spinner on a terminal, nothing when piped (indicatif hides itself).
fn progress() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Exit codes: 0 done, 2 bad input (nothing written), 1 anything else.
fn exit_for(error: &analysis::AnalysisError) -> ExitCode {
    eprintln!("error: {error}");
    if error.is_input() {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

pub async fn analyze(settings: &Settings, args: AnalyzeArgs) -> ExitCode {
    let bar = progress();
    let format: analysis::Format = args.format.into();
    let source = match (&args.institutions, &args.period) {
        (Some(institutions), _) => {
            let (Some(responses), Some(answers)) = (&args.responses, &args.answers) else {
                eprintln!("error: --responses and --answers are required with --institutions");
                return ExitCode::from(2);
            };
            Source::Files {
                institutions: institutions.clone(),
                responses: responses.clone(),
                answers: answers.clone(),
                model: args.model.clone().unwrap_or_else(|| "model.toml".into()),
            }
        }
        (None, Some(period)) => {
            bar.set_message(format!("exporting {period} from the database"));
            match export_from_db(settings, *period).await {
                Ok((export, model)) => Source::Export(Box::new(export), model.model),
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (None, None) => {
            eprintln!(
                "error: give --period, or --institutions, --responses, --answers and --model"
            );
            return ExitCode::from(2);
        }
    };
    bar.set_message("computing the indicators");
    let out = args.out.clone();
    // Reading the files is polars work too (a Parquet scan reads its schema
    // through polars' engine), so everything from here runs off the runtime.
    let result = crate::setup::offload::polars("The computation", move || {
        let (inputs, model) = source.open()?;
        let mut outputs = analysis::run(inputs, &model)?;
        analysis::write_outputs(&mut outputs, &out, format)?;
        Ok::<_, analysis::AnalysisError>(outputs.institution_indicators.height())
    })
    .await;
    bar.finish_and_clear();
    match result {
        Ok(Ok(rows)) => {
            eprintln!(
                "Wrote the indicator tables to {} ({rows} institution rows).",
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => exit_for(&e),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where `analyze` takes its inputs from.
enum Source {
    /// The three tables and the model as files (CSV or Parquet, by extension).
    Files {
        institutions: PathBuf,
        responses: PathBuf,
        answers: PathBuf,
        model: PathBuf,
    },
    /// A period exported from the database, with the current model.
    Export(Box<db::export::PeriodExport>, analysis::Model),
}

impl Source {
    /// The pipeline's inputs and model; a file that cannot be read or parsed
    /// is an input error naming its table.
    fn open(self) -> Result<(analysis::Inputs, analysis::Model), analysis::AnalysisError> {
        match self {
            Source::Files {
                institutions,
                responses,
                answers,
                model,
            } => {
                let model = analysis::Model::from_path(&model)?;
                let inputs = analysis::Inputs::from_paths(&institutions, &responses, &answers)?;
                Ok((inputs, model))
            }
            Source::Export(export, model) => Ok((export.inputs(), model)),
        }
    }
}

async fn export_from_db(
    settings: &Settings,
    period: Period,
) -> anyhow::Result<(db::export::PeriodExport, db::model::CurrentModel)> {
    let conn = db::connect(&settings.database_url()).await?;
    db::migrate(&conn).await?;
    let model = db::model::current(&conn).await?;
    let export = db::export::export_period(&conn, period).await?;
    Ok((export, model))
}

pub async fn export(settings: &Settings, args: ExportArgs) -> ExitCode {
    let bar = progress();
    bar.set_message(format!("exporting {}", args.period));
    let result = async {
        let (export, model) = export_from_db(settings, args.period).await?;
        let out = args.out.clone();
        let format = args.format.into();
        crate::setup::offload::polars("Writing the export", move || {
            export.write(&out, format)?;
            std::fs::write(out.join("model.toml"), &model.toml)
                .with_context(|| format!("Failed to write {}", out.join("model.toml").display()))?;
            anyhow::Ok(export.row_counts())
        })
        .await?
    }
    .await;
    bar.finish_and_clear();
    match result {
        Ok((i, r, a)) => {
            eprintln!(
                "Exported {} to {}: {i} institutions, {r} responses, {a} answers (model.toml included).",
                args.period,
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn demo_data(args: DemoDataArgs) -> ExitCode {
    let bar = progress();
    bar.set_message(format!("generating {} responses", args.responses));
    let format: analysis::Format = args.format.into();
    let out = args.out.clone();
    let result =
        crate::setup::offload::polars("Generating the data", move || -> anyhow::Result<()> {
            let (mut institutions, mut responses, mut answers) =
                analysis::synth::generate(args.responses, args.seed)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::create_dir_all(&out)?;
            let ext = match format {
                analysis::Format::Csv => "csv",
                analysis::Format::Parquet => "parquet",
            };
            for (name, df) in [
                ("institutions", &mut institutions),
                ("responses", &mut responses),
                ("answers", &mut answers),
            ] {
                analysis::write_table(df, &out.join(format!("{name}.{ext}")))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            std::fs::write(out.join("model.toml"), db::model::DEFAULT_MODEL)?;
            Ok(())
        })
        .await;
    bar.finish_and_clear();
    match result {
        Ok(Ok(())) => {
            eprintln!(
                "Wrote the generated tables and model.toml to {}.",
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Ok(Err(e)) | Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
