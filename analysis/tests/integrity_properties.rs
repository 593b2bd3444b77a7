//! Properties of the integrity detector on generated periods (`integrity.md`):
//! row order does not matter; institutions whose measures stay within the
//! usual spread are never flagged, however many like them are added; and a
//! planted pattern of each kind is flagged with its measure, and only it,
//! whatever clean institutions surround it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use analysis::{Inputs, Model, run};
use polars::prelude::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

const MIN_SAMPLE: usize = 30;
/// Satellite institutions the roaming devices also rate (each gets too few
/// responses to be judged itself).
const SATELLITES: usize = 12;

const MODEL: &str = r#"scale_points = 5
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
min = 0.0
[dimension_weights.default]
attitude = 1.0
"#;

const MEASURES: [&str; 6] = [
    "network",
    "burst",
    "duplicate_comment",
    "all_top",
    "roaming",
    "speeder",
];

/// An institution of the generated period: its pool size and, per measure
/// in [`MEASURES`] order, how many of its responses show the pattern (one
/// shared network, inside one burst, one repeated comment, top marks on
/// every item, a roaming device, a speeder).
#[derive(Clone, Debug)]
struct Unit {
    code: String,
    category: &'static str,
    n: usize,
    k: [usize; 6],
}

/// A clean institution: every measure within 8 % of its pool (a repeated
/// comment at most twice), so no share stands out by more than the floor
/// of the spread allows (3.5 × 0.05).
fn clean(code: String, category: &'static str) -> impl Strategy<Value = Unit> {
    (MIN_SAMPLE..MIN_SAMPLE + 15).prop_flat_map(move |n| {
        let most = n * 8 / 100;
        let code = code.clone();
        (
            Just(n),
            [0..=most, 0..=most, 0..=1usize, 0..=most, 0..=most, 0..=most],
        )
            .prop_map(move |(n, k)| Unit {
                code: code.clone(),
                category,
                n,
                k: [k[0], k[1], k[2] * 2, k[3], k[4], k[5]],
            })
    })
}

fn clean_units(
    prefix: &'static str,
    count: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Unit>> {
    count.prop_flat_map(move |c| {
        (0..c)
            .map(|i| {
                let category = if i % 3 == 2 { "power" } else { "water" };
                clean(format!("{prefix}{i:02}"), category)
            })
            .collect::<Vec<_>>()
    })
}

/// The three input tables of one period (2026-10) holding `units`.
fn tables(units: &[Unit]) -> (DataFrame, DataFrame, DataFrame) {
    let mut inst = (Vec::new(), Vec::new());
    let mut r: [Vec<String>; 4] = Default::default(); // id, code, submitted_at, respondent
    let (mut r_dur, mut r_net, mut r_key) = (Vec::new(), Vec::new(), Vec::new());
    let mut a: (Vec<String>, Vec<String>, Vec<i64>) = Default::default();
    let mut push = |id: String,
                    code: &str,
                    at: String,
                    respondent: String,
                    duration: i64,
                    network: String,
                    key: String,
                    ratings: [i64; 5]| {
        for (i, rating) in ratings.into_iter().enumerate() {
            a.0.push(id.clone());
            a.1.push(format!("i{i}"));
            a.2.push(rating);
        }
        r[0].push(id);
        r[1].push(code.to_owned());
        r[2].push(at);
        r[3].push(respondent);
        r_dur.push(duration);
        r_net.push(network);
        r_key.push(key);
    };
    // Non-burst responses three hours apart from 00:00 on the 5th; the
    // burst's a minute apart from 00:00 on the 1st.
    let time = |minutes: usize| {
        let (d, m) = (1 + minutes / 1440, minutes % 1440);
        format!("2026-10-{d:02}T{:02}:{:02}:00.000Z", m / 60, m % 60)
    };
    let mut roamers = 0;
    for u in units {
        inst.0.push(u.code.clone());
        inst.1.push(u.category);
        let [net, burst, dup, top, roam, speed] = u.k;
        roamers = roamers.max(roam);
        for j in 0..u.n {
            push(
                format!("{}-{j}", u.code),
                &u.code,
                if j < burst {
                    time(j)
                } else {
                    time(4 * 1440 + j * 180)
                },
                if j < roam {
                    format!("roamer-{j}")
                } else {
                    format!("dev-{}-{j}", u.code)
                },
                if j < speed { 1_000 } else { 60_000 },
                if j < net {
                    format!("shared-{}", u.code)
                } else {
                    format!("net-{}-{j}", u.code)
                },
                if j < dup {
                    format!("pasted-{}", u.code)
                } else {
                    format!("said-{}-{j}", u.code)
                },
                if j < top {
                    [5; 5]
                } else {
                    [1 + (j % 4) as i64, 2, 3, 4, 5]
                },
            );
        }
    }
    // Each roaming device rates four satellites besides its institutions.
    for s in 0..SATELLITES {
        inst.0.push(format!("sat-{s:02}"));
        inst.1.push("satellite");
    }
    for j in 0..roamers {
        for t in 0..4 {
            let s = (j * 4 + t) % SATELLITES;
            push(
                format!("sat-{s:02}-{j}"),
                &format!("sat-{s:02}"),
                time(20 * 1440 + j * 180 + t),
                format!("roamer-{j}"),
                60_000,
                format!("net-sat-{s}-{j}"),
                format!("said-sat-{s}-{j}"),
                [3, 4, 3, 4, 3],
            );
        }
    }
    let n = r[0].len();
    let institutions = df!(
        "institution_code" => &inst.0,
        "category_code" => &inst.1,
        "district_code" => vec!["d1"; inst.0.len()],
    )
    .unwrap();
    let responses = df!(
        "response_id" => &r[0],
        "institution_code" => &r[1],
        "source" => vec!["citizen"; n],
        "period" => vec!["2026-10"; n],
        "duration_ms" => &r_dur,
        "voided" => vec![false; n],
        "submitted_at" => &r[2],
        "respondent" => &r[3],
        "network" => &r_net,
        "comment_key" => &r_key,
    )
    .unwrap();
    let answers = df!(
        "response_id" => &a.0,
        "item_code" => &a.1,
        "dimension_code" => vec!["attitude"; a.0.len()],
        "rating" => &a.2,
    )
    .unwrap();
    (institutions, responses, answers)
}

fn integrity(units: &[Unit]) -> DataFrame {
    let (i, r, a) = tables(units);
    integrity_of(&i, &r, &a)
}

fn integrity_of(i: &DataFrame, r: &DataFrame, a: &DataFrame) -> DataFrame {
    let model = Model::from_toml_str(MODEL).unwrap();
    run(
        Inputs {
            institutions: i.clone().lazy(),
            responses: r.clone().lazy(),
            answers: a.clone().lazy(),
        },
        &model,
    )
    .unwrap()
    .integrity
}

/// (institution, flags) of every row with a flag.
fn flagged(t: &DataFrame) -> Vec<(String, String)> {
    let codes = t.column("institution_code").unwrap().str().unwrap().clone();
    let flags = t.column("flags").unwrap().str().unwrap().clone();
    codes
        .iter()
        .zip(flags.iter())
        .filter(|(_, f)| f.is_some_and(|f| !f.is_empty()))
        .map(|(c, f)| (c.unwrap().to_owned(), f.unwrap().to_owned()))
        .collect()
}

fn shuffled(df: &DataFrame, seed: u64) -> DataFrame {
    let mut idx: Vec<IdxSize> = (0..df.height() as IdxSize).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(seed));
    df.take(&IdxCa::from_vec("".into(), idx)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Clean institutions are never flagged, and adding more of them (in
    /// their category or another) flags none.
    #[test]
    fn adding_clean_institutions_does_not_flag_a_clean_one(
        first in clean_units("a", 5..9),
        more in clean_units("b", 1..8),
    ) {
        let t = integrity(&first);
        prop_assert!(flagged(&t).is_empty(), "{:?}", flagged(&t));
        let all: Vec<Unit> = first.iter().chain(&more).cloned().collect();
        let t = integrity(&all);
        prop_assert!(flagged(&t).is_empty(), "{:?}", flagged(&t));
        prop_assert_eq!(t.height(), all.len() + SATELLITES.min(
            all.iter().map(|u| u.k[4]).max().unwrap_or(0) * 4));
    }

    /// A planted pattern is flagged with its measure and only it, and no
    /// clean institution is, before and after more clean ones are added.
    #[test]
    fn a_planted_pattern_of_each_kind_is_flagged_by_its_measure_alone(
        measure in 0..6usize,
        n in MIN_SAMPLE..MIN_SAMPLE + 15,
        clean in clean_units("a", 4..8),
        more in clean_units("b", 0..6),
    ) {
        let mut planted = Unit { code: "planted".into(), category: "water", n, k: [0; 6] };
        planted.k[measure] = (n * 6).div_ceil(10);
        let mut units = clean.clone();
        units.push(planted);
        for set in [units.clone(), units.iter().chain(&more).cloned().collect()] {
            let t = integrity(&set);
            prop_assert_eq!(
                flagged(&t),
                vec![("planted".to_owned(), MEASURES[measure].to_owned())]
            );
        }
    }

    /// The order of the rows of any input table changes nothing.
    #[test]
    fn row_order_does_not_matter(
        units in clean_units("a", 5..9),
        measure in 0..6usize,
        seed in any::<u64>(),
    ) {
        let mut units = units;
        units[0].k[measure] = units[0].n / 2;
        let (i, r, a) = tables(&units);
        let base = integrity_of(&i, &r, &a);
        let mixed = integrity_of(
            &shuffled(&i, seed),
            &shuffled(&r, seed.wrapping_add(1)),
            &shuffled(&a, seed.wrapping_add(2)),
        );
        prop_assert!(base.equals_missing(&mixed), "{base}\n{mixed}");
        prop_assert!(!flagged(&base).is_empty());
    }
}
