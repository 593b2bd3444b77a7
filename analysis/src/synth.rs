//! Synthetic input data for tests and benchmarks.
//!
//! Realistic enough to exercise every rule: N/A answers, incomplete
//! responses, speeders, straight-liners, assessor rows (null duration), paper
//! forms, voided responses, tiny samples, one-source institutions, institutions
//! without responses, four quarterly periods, five categories (hospital with
//! its own weight table in [`SAMPLE_MODEL`]), and two questionnaire versions
//! (6 or 7 items, so ~6.5 answer rows per response).
//!
//! The integrity columns (`submitted_at`, `respondent`, `network`,
//! `comment_key`) come from a random stream of their own, so the other
//! columns are the same as before they existed: times spread over each
//! quarter, hash-like networks (an institution's few local ones, and carrier
//! networks shared across the city; none for assessor uploads and paper
//! forms), respondents that are nearly all distinct but for a few roaming
//! devices, and comment keys that are mostly unique with a few stock phrases.

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

    let integrity = integrity_columns(seed, &r_inst, &r_source, &r_period, &r_duration);

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
            Column::new(SUBMITTED_AT.into(), integrity.submitted_at),
            Column::new(RESPONDENT.into(), integrity.respondent),
            Column::new(NETWORK.into(), integrity.network),
            Column::new(COMMENT_KEY.into(), integrity.comment_key),
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

/// The four integrity columns of the generated responses.
struct IntegrityColumns {
    submitted_at: Vec<String>,
    respondent: Vec<Option<String>>,
    network: Vec<Option<String>>,
    comment_key: Vec<Option<String>>,
}

/// A 32-hex-digit stand-in for a keyed hash of `(kind, value)`.
fn hash_like(kind: u64, value: u64) -> String {
    let mix = |mut z: u64| {
        // splitmix64's finaliser: deterministic and well spread.
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = mix(kind.wrapping_mul(0x1000_0000_01b3) ^ value);
    format!("{a:016x}{:016x}", mix(a))
}

/// Seconds since 1970 of the first day of a generated quarter, 00:00 UTC.
fn quarter_start(period: &str) -> i64 {
    // 2024-01-01, -04-01, -07-01, -10-01.
    const STARTS: [i64; 4] = [1_704_067_200, 1_711_929_600, 1_719_792_000, 1_727_740_800];
    let q = PERIODS.iter().position(|p| *p == period).unwrap_or(0);
    STARTS[q]
}

fn integrity_columns(
    seed: u64,
    institutions: &[u32],
    sources: &[&str],
    periods: &[&str],
    durations: &[Option<i64>],
) -> IntegrityColumns {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x1f2e_3d4c_5b6a_7988);
    let n = institutions.len();
    let mut out = IntegrityColumns {
        submitted_at: Vec::with_capacity(n),
        respondent: Vec::with_capacity(n),
        network: Vec::with_capacity(n),
        comment_key: Vec::with_capacity(n),
    };
    // A few devices per period rate many institutions.
    let roamers = 20 + n as u64 / 20_000;
    for r in 0..n {
        let inst = u64::from(institutions[r]);
        let period = periods[r];
        let p = PERIODS.iter().position(|x| *x == period).unwrap_or(0) as u64;
        // Over about 91 days, to the millisecond.
        let sec = quarter_start(period) + rng.gen_range(0..91 * 86_400);
        let nanos = rng.gen_range(0..1000u32) * 1_000_000;
        out.submitted_at
            .push(crate::integrity::format_stamp(sec, nanos));
        let uploaded = sources[r] == ASSESSOR || durations[r].is_none();
        if uploaded {
            out.respondent.push(None);
            out.network.push(None);
            out.comment_key.push(None);
            continue;
        }
        let device = if rng.r#gen::<f64>() < 0.01 {
            rng.gen_range(0..roamers)
        } else {
            roamers + rng.gen_range(0..(n as u64) * 4)
        };
        out.respondent.push(Some(hash_like(1 + p, device)));
        let network = if rng.r#gen::<f64>() < 0.3 {
            // Carrier networks shared across the city.
            rng.gen_range(0..200)
        } else {
            // The institution's neighbourhood.
            1_000 + inst * 8 + rng.gen_range(0..8)
        };
        out.network.push(Some(hash_like(100, network)));
        let comment = match rng.r#gen::<f64>() {
            x if x < 0.06 => Some(rng.gen_range(0..20)), // stock phrases
            x if x < 0.25 => Some(1_000 + r as u64),     // a comment of its own
            _ => None,
        };
        out.comment_key.push(comment.map(|c| hash_like(200, c)));
    }
    out
}
