//! Synthetic input data for tests and benchmarks.
//!
//! Realistic enough to exercise every rule: N/A answers, incomplete
//! responses, speeders, straight-liners, assessor rows (null duration), paper
//! forms, voided responses, tiny samples, one-source institutions, institutions
//! without responses, four quarterly periods, five categories (hospital with
//! its own weight table in [`SAMPLE_MODEL`]), and two questionnaire versions
//! (6 or 7 items, so ~6.5 answer rows per response).

use polars::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::columns::*;

/// The sample model of the spec.
pub const SAMPLE_MODEL: &str = r#"scale_points = 5
min_completion = 0.5
speeder_ms_per_item = 1000
min_sample = 30
prior_strength = 20
rectify_below = 70.0
rectify_dimension_below = 60.0
points_max = 20.0

[source_weights]
citizen = 0.5
assessor = 0.5

[[grades]]
grade = "A"
min = 90.0
[[grades]]
grade = "B"
min = 80.0
[[grades]]
grade = "C"
min = 60.0
[[grades]]
grade = "D"
min = 0.0

[dimension_weights.default]
attitude = 0.25
efficiency = 0.25
environment = 0.15
transparency = 0.15
outcome = 0.20

[dimension_weights.hospital]
attitude = 0.30
efficiency = 0.20
environment = 0.10
transparency = 0.10
outcome = 0.30
"#;

const CATEGORIES: [&str; 5] = ["water", "power", "transit", "hospital", "school"];
const DISTRICTS: [&str; 8] = ["d01", "d02", "d03", "d04", "d05", "d06", "d07", "d08"];
const PERIODS: [&str; 4] = ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"];
/// Item code, dimension code, and a per-item bias of the latent rating.
const ITEMS: [(&str, &str, f64); 7] = [
    ("att1", "attitude", 0.2),
    ("att2", "attitude", 0.0),
    ("eff1", "efficiency", -0.3),
    ("env1", "environment", 0.1),
    ("tra1", "transparency", -0.2),
    ("out1", "outcome", 0.0),
    ("out2", "outcome", -0.1),
];

/// Roughly normal noise (sum of three uniforms), standard deviation `sd`.
fn noise(rng: &mut StdRng, sd: f64) -> f64 {
    let u: f64 = rng.r#gen::<f64>() + rng.r#gen::<f64>() + rng.r#gen::<f64>() - 1.5;
    u * 2.0 * sd
}

/// What kind of respondent a response is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Incomplete,
    Empty,
    Speeder,
    Straight,
}

/// Generates `(institutions, responses, answers)` with `n_responses`
/// responses, deterministic for a seed.
pub fn generate(n_responses: usize, seed: u64) -> PolarsResult<(DataFrame, DataFrame, DataFrame)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n_inst = (n_responses / 150).clamp(12, 100_000);
    // The last few institutions get no response at all.
    let n_active = n_inst - (n_inst / 30).max(1);
    let quality: Vec<f64> = (0..n_inst)
        .map(|_| 2.4 + 2.2 * rng.r#gen::<f64>())
        .collect();

    let inst_codes: Vec<String> = (0..n_inst).map(|i| format!("I{i:05}")).collect();
    let institutions = df!(
        INSTITUTION_CODE => inst_codes.clone(),
        CATEGORY_CODE => (0..n_inst).map(|i| CATEGORIES[i % CATEGORIES.len()]).collect::<Vec<_>>(),
        DISTRICT_CODE => (0..n_inst).map(|i| DISTRICTS[(i / 5) % DISTRICTS.len()]).collect::<Vec<_>>(),
    )?;

    let mut r_inst: Vec<u32> = Vec::with_capacity(n_responses);
    let mut r_source: Vec<&str> = Vec::with_capacity(n_responses);
    let mut r_period: Vec<&str> = Vec::with_capacity(n_responses);
    let mut r_duration: Vec<Option<i64>> = Vec::with_capacity(n_responses);
    let mut r_voided: Vec<bool> = Vec::with_capacity(n_responses);
    let expected_answers = n_responses * 13 / 2 + 16;
    let mut a_response: Vec<u32> = Vec::with_capacity(expected_answers);
    let mut a_item: Vec<u32> = Vec::with_capacity(expected_answers);
    let mut a_rating: Vec<Option<i64>> = Vec::with_capacity(expected_answers);

    for r in 0..n_responses {
        // Skewed towards low indices, so high ones get tiny samples.
        let inst = ((n_active as f64) * rng.r#gen::<f64>().powf(1.6)) as usize;
        let inst = inst.min(n_active - 1);
        let assessor = match inst % 13 {
            3 => false, // citizen only
            5 => true,  // assessor only
            _ => rng.r#gen::<f64>() < 0.12,
        };
        let roll: f64 = rng.r#gen();
        let kind = if roll < 0.002 {
            Kind::Empty
        } else if roll < 0.03 {
            Kind::Incomplete
        } else if roll < 0.06 && !assessor {
            Kind::Speeder
        } else if roll < 0.08 {
            Kind::Straight
        } else {
            Kind::Normal
        };
        let shown = if kind == Kind::Empty {
            0
        } else if rng.r#gen::<bool>() {
            7
        } else {
            6
        };
        let base = quality[inst] + noise(&mut rng, 0.6);
        let straight_rating = (base.round() as i64).clamp(1, 5);
        let mut answered = 0i64;
        for (i, (_, _, bias)) in ITEMS.iter().enumerate().take(shown) {
            let rating = match kind {
                Kind::Incomplete if i >= 2 => None,
                Kind::Straight => Some(straight_rating),
                _ if rng.r#gen::<f64>() < 0.04 => None, // N/A
                _ => Some(((base + bias + noise(&mut rng, 0.5)).round() as i64).clamp(1, 5)),
            };
            answered += i64::from(rating.is_some());
            a_response.push(r as u32);
            a_item.push(i as u32);
            a_rating.push(rating);
        }
        let duration = if assessor {
            None
        } else if kind == Kind::Speeder {
            Some(answered * 400 + rng.gen_range(0..200))
        } else if rng.r#gen::<f64>() < 0.05 {
            None // paper form
        } else {
            Some(rng.gen_range(15_000..180_000))
        };
        r_inst.push(inst as u32);
        r_source.push(if assessor { ASSESSOR } else { CITIZEN });
        r_period.push(PERIODS[rng.gen_range(0..PERIODS.len())]);
        r_duration.push(duration);
        r_voided.push(rng.r#gen::<f64>() < 0.005);
    }

    let response_ids = StringChunked::from_iter_values(
        RESPONSE_ID.into(),
        (0..n_responses).map(|r| format!("R{r:09}")),
    )
    .into_series();
    let inst_series = Series::new(INSTITUTION_CODE.into(), inst_codes);
    let responses = DataFrame::new(
        n_responses,
        vec![
            response_ids.clone().into(),
            inst_series
                .take(&IdxCa::from_vec(PlSmallStr::EMPTY, r_inst))?
                .with_name(INSTITUTION_CODE.into())
                .into(),
            Column::new(SOURCE.into(), r_source),
            Column::new(PERIOD.into(), r_period),
            Column::new(DURATION_MS.into(), r_duration),
            Column::new(VOIDED.into(), r_voided),
        ],
    )?;

    let n_answers = a_response.len();
    let item_codes = Series::new(ITEM_CODE.into(), ITEMS.map(|(c, _, _)| c));
    let dimension_codes = Series::new(DIMENSION_CODE.into(), ITEMS.map(|(_, d, _)| d));
    let item_idx = IdxCa::from_vec(PlSmallStr::EMPTY, a_item);
    let answers = DataFrame::new(
        n_answers,
        vec![
            response_ids
                .take(&IdxCa::from_vec(PlSmallStr::EMPTY, a_response))?
                .into(),
            item_codes.take(&item_idx)?.into(),
            dimension_codes.take(&item_idx)?.into(),
            Column::new(RATING.into(), a_rating),
        ],
    )?;
    Ok((institutions, responses, answers))
}
