//! `run`: the stages wired together.

use polars::prelude::*;
use polars_core::query_result::QueryResult;

use crate::answers;
use crate::columns::*;
use crate::error::{AnalysisError, unreadable};
use crate::input::{ANSWER_COLUMNS, INSTITUTION_COLUMNS, Inputs, RESPONSE_COLUMNS, bad, normalise};
use crate::institution_stats;
use crate::integrity;
use crate::model::Model;
use crate::output::Outputs;
use crate::stages::{self, KeyTables, internal::*};
use crate::validate;
use pingyi_domain::period::Period;

/// Runs the whole method on the inputs: validates every row, then computes
/// the four output tables. Bad input gives [`AnalysisError::Input`].
pub fn run(inputs: Inputs, model: &Model) -> Result<Outputs, AnalysisError> {
    let mut clock = Clock::new();
    let Inputs {
        institutions,
        responses,
        answers,
    } = inputs;

    let institutions = normalise(INSTITUTIONS, institutions, INSTITUTION_COLUMNS)?
        .collect()
        .map_err(unreadable(INSTITUTIONS))?;
    validate::institutions(&institutions, model)?;
    clock.lap("institutions");
    let (institutions, categories) = with_category_index(&institutions)?;
    let n_institutions = institutions.height();

    let mut responses = responses;
    let has_time = responses
        .collect_schema()
        .map_err(unreadable(RESPONSES))?
        .contains(SUBMITTED_AT);
    let responses_lf = normalise(RESPONSES, responses, RESPONSE_COLUMNS)?;
    let responses = responses_lf
        .clone()
        .select([
            col(RESPONSE_ID),
            col(INSTITUTION_CODE),
            col(SOURCE),
            col(PERIOD),
            col(DURATION_MS),
            col(VOIDED),
            col(bad(DURATION_MS)),
            col(bad(VOIDED)),
            // The integrity columns, read in the same pass (see below).
            col(SUBMITTED_AT),
            col(RESPONDENT),
            col(NETWORK),
            col(COMMENT_KEY),
        ])
        .collect()
        .map_err(unreadable(RESPONSES))?;
    let periods = validate::responses(&responses, responses_lf.clone(), &institutions)?;
    clock.lap("responses");
    let periods = period_table(&periods)?;
    let keys = KeyTables::new(&institutions, &periods, &categories)?;
    // The integrity columns apart (in a block, so that no other handle
    // keeps them alive once the row pass below is done).
    let (responses, texts) = {
        let mut all = responses;
        let texts = [SUBMITTED_AT, RESPONDENT, NETWORK, COMMENT_KEY]
            .into_iter()
            .map(|c| all.drop_in_place(c))
            .collect::<PolarsResult<Vec<Column>>>()?;
        let texts = DataFrame::new(all.height(), texts)?;
        (all.with_row_index(RID.into(), None)?, texts)
    };
    let response_keys = stages::response_keys(&responses, &institutions, &periods)?;
    // The integrity stage's row pass runs now, while the answers are not
    // yet in memory and its text columns can go right after; a bad
    // `submitted_at` is reported where it always was, after the answers'
    // checks.
    let integrity_rows = integrity::row_measures(
        &texts,
        has_time,
        &response_keys,
        responses.column(RESPONSE_ID)?,
        keys.piid.height(),
        n_institutions,
        &model.integrity,
    );
    drop(texts);
    clock.lap("integrity (rows)");

    let answers_lf = normalise(ANSWERS, answers, ANSWER_COLUMNS)?;
    let answers::Encoded {
        compact,
        items,
        flagged,
    } = answers::encode(answers_lf.clone(), &responses, model.scale_points)?;
    validate::answer_rows(flagged, &compact, answers_lf.clone(), &responses, model)?;
    drop(responses);
    clock.lap("encode answers");
    let compact = stages::sort_by_response(compact)?;
    validate::duplicate_answers(&compact, answers_lf.clone())?;
    clock.lap("sort answers");
    let aggregates =
        stages::response_aggregates(&compact, items.dims.len(), response_keys.height())?;
    clock.lap("response aggregates");
    validate::dimension_weights(
        model,
        &institutions,
        &items.dims,
        answers_lf,
        responses_lf.clone(),
    )?;

    let integrity_rows = integrity_rows?;
    let responses = response_keys;
    // Row by row, so the streaming engine computes it in small morsels:
    // the in-memory engine made every intermediate expression a fresh
    // 10M-row column, and touching that much new memory cost more than the
    // arithmetic.
    let classified = collect_streaming(stages::classify_responses(
        responses,
        &aggregates,
        model,
        &items.dims,
        &categories,
        n_institutions,
        items.n_items,
    )?)?;
    drop(aggregates);
    clock.lap("classify");
    let alpha = stages::cronbach_alpha(&classified, &compact, items.n_items)?;
    drop(compact);
    clock.lap("alpha item sums");
    let stats = institution_stats::institution_source_stats(&classified, items.dims.len(), &keys)?;
    clock.lap("institution statistics");
    let dimension_indicators =
        stages::dimension_indicators(stats.clone().lazy(), &items.dims, model)?.collect()?;
    let institution_indicators = stages::institution_indicators(
        stats.lazy(),
        dimension_indicators.clone().lazy(),
        periods.lazy(),
        model,
    )?
    .collect()?;
    let group_indicators =
        stages::group_indicators(institution_indicators.clone().lazy())?.collect()?;
    clock.lap("indicators");
    let integrity = integrity::integrity(integrity_rows, &classified, &keys, model)?;
    clock.lap("integrity");
    let survey_quality = stages::survey_quality(classified.lazy(), alpha, &keys).collect()?;
    clock.lap("survey quality");
    Ok(Outputs {
        institution_indicators,
        dimension_indicators,
        group_indicators,
        survey_quality,
        integrity,
    })
}

/// Collects a row-wise query on the streaming engine (rows keep their order).
fn collect_streaming(query: LazyFrame) -> PolarsResult<DataFrame> {
    match query.collect_with_engine(Engine::Streaming)? {
        QueryResult::Single(df) => Ok(df),
        QueryResult::Multiple(_) => Err(polars_err!(
            ComputeError: "one query gave several results"
        )),
    }
}

/// Adds `__cidx`, the index of the category among the sorted distinct ones,
/// and `__iidx`, the row; returns the categories in `__cidx` order too.
fn with_category_index(institutions: &DataFrame) -> PolarsResult<(DataFrame, Vec<String>)> {
    let categories = institutions
        .clone()
        .lazy()
        .select([col(CATEGORY_CODE)])
        .unique(None, UniqueKeepStrategy::Any)
        .sort([CATEGORY_CODE], SortMultipleOptions::default())
        .with_row_index(CIDX, None)
        .collect()?;
    let codes = categories
        .column(CATEGORY_CODE)?
        .str()?
        .iter()
        .map(|c| c.unwrap_or_default().to_owned())
        .collect();
    let df = institutions
        .clone()
        .lazy()
        .join(
            categories.lazy(),
            [col(CATEGORY_CODE)],
            [col(CATEGORY_CODE)],
            JoinArgs::new(JoinType::Left),
        )
        .with_row_index(IIDX, None)
        .collect()?;
    Ok((df, codes))
}

/// The distinct periods with their index and immediately preceding period.
fn period_table(periods: &[(String, Period)]) -> PolarsResult<DataFrame> {
    df!(
        PERIOD => periods.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        PIDX => (0..periods.len() as u32).collect::<Vec<u32>>(),
        PREV => periods
            .iter()
            .map(|(_, p)| p.checked_previous().map(|p| p.to_string()))
            .collect::<Vec<Option<String>>>(),
    )
}

/// Stage timings on stderr when `PINGYI_ANALYSIS_TIMING` is set (benchmarks).
struct Clock {
    last: Option<std::time::Instant>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            last: std::env::var_os("PINGYI_ANALYSIS_TIMING").map(|_| std::time::Instant::now()),
        }
    }

    fn lap(&mut self, stage: &str) {
        if let Some(last) = self.last {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let memory = |key: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(key))
                    .map_or("?", |l| l.trim_start_matches(key).trim())
                    .to_owned()
            };
            eprintln!(
                "  {stage}: {:.3} s (rss {}, peak {})",
                last.elapsed().as_secs_f64(),
                memory("VmRSS:"),
                memory("VmHWM:")
            );
            self.last = Some(std::time::Instant::now());
        }
    }
}
