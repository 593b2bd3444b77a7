//! The institution statistics: per (period, institution), the excluded
//! responses and, per source, the count, mean, sd and satisfied and poor
//! shares of the response score and the count, mean and sd of each
//! dimension score.
//!
//! One pass over the classified responses in row order, adding each row into
//! the running statistics of its (period-institution, source), the work
//! split between the threads by key. A polars group-by with twenty
//! aggregations gathered every group's rows once per aggregation; gathering
//! a group's rows from ten columns in random order was slower still at 10M
//! rows. Reading the columns in order and touching one small state per row
//! is what the memory system does best.
//!
//! The figures are polars' own to the last bit (a test holds them to the
//! group-by they replace): polars sums a group's values with Kahan
//! summation for the mean and runs Welford's algorithm for the variance, in
//! row order, and so does [`Moments`].

use polars::prelude::*;
use polars_core::runtime::RAYON;
use polars_core::utils::rayon::prelude::*;

use crate::columns::{N_EXCLUDED, VOIDED};
use crate::indicators::standard_error;
use crate::stages::internal::*;
use crate::stages::{KeyTables, SOURCES};

/// Running mean and variance of the present values of one statistic in one
/// group, as polars' `mean()` and `std(1)` compute them.
#[derive(Clone, Copy, Default)]
struct Moments {
    present: u32,
    /// Kahan sum and its running compensation (`polars_utils::KahanSum`).
    sum: f64,
    err: f64,
    /// Welford's running mean and sum of squared deviations
    /// (`polars_arrow`'s online variance).
    mean: f64,
    m2: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        let y = x - self.err;
        let new_sum = self.sum + y;
        let new_err = (new_sum - self.sum) - y;
        self.sum = new_sum;
        if new_err.is_finite() {
            self.err = new_err;
        }
        let count = f64::from(self.present + 1);
        let delta_1 = x - self.mean;
        let new_mean = delta_1 / count + self.mean;
        let delta_2 = x - new_mean;
        self.m2 += delta_1 * delta_2;
        self.mean = new_mean;
        self.present += 1;
    }

    /// `mean()`: null without a present value.
    fn mean(&self) -> Option<f64> {
        (self.present > 0).then(|| self.sum / f64::from(self.present))
    }

    /// `std(1)`: null below two present values.
    fn sd(&self) -> Option<f64> {
        (self.present > 1).then(|| (self.m2 / (f64::from(self.present) - 1.0)).sqrt())
    }
}

/// The share of true among the present values of a flag. A sum of zeros and
/// ones is exact, so this is polars' Kahan mean of the flag cast to float.
#[derive(Clone, Copy, Default)]
struct Share {
    present: u32,
    yes: u32,
}

impl Share {
    fn add(&mut self, flag: Option<bool>) {
        if let Some(flag) = flag {
            self.present += 1;
            self.yes += u32::from(flag);
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.present > 0).then(|| f64::from(self.yes) / f64::from(self.present))
    }
}

/// The valid responses of one source at one (period, institution).
#[derive(Clone, Copy, Default)]
struct SourceCounts {
    n: u32,
    sat: Share,
    poor: Share,
}

/// The class a response counts in: what polars' `when` chain gave (a null
/// flag is not true).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Valid {
        source: usize,
    },
    /// Live, but incomplete or a speeder: counted, not scored.
    Excluded,
    Voided,
}

impl Class {
    fn of(voided: Option<bool>, valid: Option<bool>, citizen: Option<bool>) -> Class {
        if voided == Some(true) {
            Class::Voided
        } else if valid == Some(false) {
            Class::Excluded
        } else if citizen == Some(true) {
            Class::Valid { source: 0 }
        } else {
            Class::Valid { source: 1 }
        }
    }
}

/// The running statistics of the (period, institution) keys one thread owns:
/// those with `__piid % threads == part`, at index `__piid / threads`.
struct Part {
    excluded: Vec<u32>,
    /// Per (key, source).
    counts: Vec<SourceCounts>,
    /// Per (key, source): the score's moments, then each dimension's.
    moments: Vec<Moments>,
}

/// The columns the pass reads, with their chunks lined up.
struct Columns<'a> {
    piid: &'a UInt64Chunked,
    voided: &'a BooleanChunked,
    valid: &'a BooleanChunked,
    citizen: &'a BooleanChunked,
    sat: &'a BooleanChunked,
    poor: &'a BooleanChunked,
    score: &'a Float64Chunked,
    dims: Vec<&'a Float64Chunked>,
}

impl Columns<'_> {
    /// Adds every row whose key is `part`'s into a fresh [`Part`].
    fn accumulate(&self, part: u64, threads: u64, n_piid: u64) -> PolarsResult<Part> {
        let n_dims = self.dims.len();
        let stride = 1 + n_dims;
        let keys = n_piid.div_ceil(threads) as usize;
        let mut out = Part {
            excluded: vec![0; keys],
            counts: vec![SourceCounts::default(); keys * 2],
            moments: vec![Moments::default(); keys * 2 * stride],
        };
        for (c, piids) in self.piid.downcast_iter().enumerate() {
            let voided = self.voided.downcast_get(c);
            let valid = self.valid.downcast_get(c);
            let citizen = self.citizen.downcast_get(c);
            let sat = self.sat.downcast_get(c);
            let poor = self.poor.downcast_get(c);
            let score = self.score.downcast_get(c);
            let dims: Vec<_> = self.dims.iter().map(|d| d.downcast_get(c)).collect();
            let (Some(voided), Some(valid), Some(citizen), Some(sat), Some(poor), Some(score)) =
                (voided, valid, citizen, sat, poor, score)
            else {
                polars_bail!(ComputeError: "classified columns with unaligned chunks");
            };
            let dims: Vec<_> = dims.into_iter().flatten().collect();
            if dims.len() != n_dims {
                polars_bail!(ComputeError: "classified columns with unaligned chunks");
            }
            for row in 0..piids.len() {
                let Some(piid) = piids.get(row) else {
                    polars_bail!(ComputeError: "a response without its period-institution key");
                };
                if piid % threads != part {
                    continue;
                }
                if piid >= n_piid {
                    polars_bail!(ComputeError: "period-institution key {piid} out of range");
                }
                let key = (piid / threads) as usize;
                let source = match Class::of(voided.get(row), valid.get(row), citizen.get(row)) {
                    Class::Voided => continue,
                    Class::Excluded => {
                        out.excluded[key] += 1;
                        continue;
                    }
                    Class::Valid { source } => source,
                };
                let slot = key * 2 + source;
                let counts = &mut out.counts[slot];
                counts.n += 1;
                counts.sat.add(sat.get(row));
                counts.poor.add(poor.get(row));
                let moments = &mut out.moments[slot * stride..(slot + 1) * stride];
                if let Some(x) = score.get(row) {
                    moments[0].add(x);
                }
                for (m, d) in moments[1..].iter_mut().zip(&dims) {
                    if let Some(x) = d.get(row) {
                        m.add(x);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Per (period, institution) with a live (not voided) response, in `__piid`
/// order: `n_excluded` and, per source, n / mean / sd / se / satisfied and
/// poor shares of `S`, and per dimension n / mean / sd / se of `D[d]`; with
/// the codes of `__piid` from `keys` (see [`KeyTables`]). A source without
/// valid responses has n = 0 and null statistics.
pub(crate) fn institution_source_stats(
    responses: &DataFrame,
    n_dims: usize,
    keys: &KeyTables,
) -> PolarsResult<DataFrame> {
    stats_in_parts(responses, n_dims, keys, RAYON.current_num_threads())
}

/// [`institution_source_stats`] with the keys split into `threads` parts.
/// Every part reads every row and keeps its own keys' rows, so an
/// institution with most of the responses keeps one thread busier than the
/// others; the reads are sequential, so that costs little.
fn stats_in_parts(
    responses: &DataFrame,
    n_dims: usize,
    keys: &KeyTables,
    threads: usize,
) -> PolarsResult<DataFrame> {
    let mut names = vec![
        PIID.to_owned(),
        VOIDED.to_owned(),
        VALID.to_owned(),
        IS_CITIZEN.to_owned(),
        SAT.to_owned(),
        POOR.to_owned(),
        SCORE_S.to_owned(),
    ];
    names.extend((0..n_dims).map(dim_score));
    let mut table = responses.select(names)?;
    table.align_chunks_par();
    let column = |name: &str| table.column(name).map(Column::as_materialized_series);
    let piid = column(PIID)?.u64()?;
    let columns = Columns {
        piid,
        voided: column(VOIDED)?.bool()?,
        valid: column(VALID)?.bool()?,
        citizen: column(IS_CITIZEN)?.bool()?,
        sat: column(SAT)?.bool()?,
        poor: column(POOR)?.bool()?,
        score: column(SCORE_S)?.f64()?,
        dims: (0..n_dims)
            .map(|d| column(&dim_score(d))?.f64())
            .collect::<PolarsResult<_>>()?,
    };
    let n_piid = keys.piid.height() as u64;
    let threads = threads.max(1) as u64;
    let parts = RAYON.install(|| {
        (0..threads)
            .into_par_iter()
            .map(|part| columns.accumulate(part, threads, n_piid))
            .collect::<PolarsResult<Vec<Part>>>()
    })?;
    drop(table);
    let table = wide_table(&parts, threads, n_piid, n_dims)?;
    let mut ses = Vec::new();
    for (_, src) in SOURCES {
        for d in std::iter::once(None).chain((0..n_dims).map(Some)) {
            ses.push(
                standard_error(col(stat("sd", src, d)), col(stat("n", src, d)))
                    .alias(stat("se", src, d)),
            );
        }
    }
    table
        .lazy()
        .join(
            keys.piid.clone().lazy(),
            [col(PIID)],
            [col(PIID)],
            JoinArgs::new(JoinType::Left),
        )
        // A fixed row order (a join need not keep one), so that the
        // category means (shrinkage) add up in the same order on every run.
        .sort([PIID], SortMultipleOptions::default())
        .with_columns(ses)
        .collect()
}

/// The parts' statistics as one row per live key, in key order.
fn wide_table(parts: &[Part], threads: u64, n_piid: u64, n_dims: usize) -> PolarsResult<DataFrame> {
    let stride = 1 + n_dims;
    // (part, index in part) of each live key, in key order.
    let live: Vec<(u64, &Part, usize)> = (0..n_piid)
        .filter_map(|piid| {
            let part = parts.get((piid % threads) as usize)?;
            let key = (piid / threads) as usize;
            let counts = &part.counts[key * 2..key * 2 + 2];
            (part.excluded[key] > 0 || counts.iter().any(|c| c.n > 0)).then_some((piid, part, key))
        })
        .collect();
    let mut columns = vec![
        Column::new(PIID.into(), live.iter().map(|l| l.0).collect::<Vec<u64>>()),
        Column::new(
            N_EXCLUDED.into(),
            live.iter()
                .map(|&(_, p, k)| p.excluded[k] as IdxSize)
                .collect::<Vec<IdxSize>>(),
        ),
    ];
    for (source, (_, src)) in SOURCES.into_iter().enumerate() {
        let counts = |f: &dyn Fn(&SourceCounts) -> Option<f64>| -> Vec<Option<f64>> {
            live.iter()
                .map(|&(_, p, k)| f(&p.counts[k * 2 + source]))
                .collect()
        };
        let moments = |i: usize, f: &dyn Fn(&Moments) -> Option<f64>| -> Vec<Option<f64>> {
            live.iter()
                .map(|&(_, p, k)| f(&p.moments[(k * 2 + source) * stride + i]))
                .collect()
        };
        columns.push(Column::new(
            stat("n", src, None).into(),
            live.iter()
                .map(|&(_, p, k)| p.counts[k * 2 + source].n as IdxSize)
                .collect::<Vec<IdxSize>>(),
        ));
        columns.push(Column::new(
            stat("mean", src, None).into(),
            moments(0, &Moments::mean),
        ));
        columns.push(Column::new(
            stat("sd", src, None).into(),
            moments(0, &Moments::sd),
        ));
        columns.push(Column::new(
            stat("sat", src, None).into(),
            counts(&|c| c.sat.mean()),
        ));
        columns.push(Column::new(
            stat("poor", src, None).into(),
            counts(&|c| c.poor.mean()),
        ));
        for d in 0..n_dims {
            columns.push(Column::new(
                stat("n", src, Some(d)).into(),
                live.iter()
                    .map(|&(_, p, k)| {
                        p.moments[(k * 2 + source) * stride + 1 + d].present as IdxSize
                    })
                    .collect::<Vec<IdxSize>>(),
            ));
            columns.push(Column::new(
                stat("mean", src, Some(d)).into(),
                moments(1 + d, &Moments::mean),
            ));
            columns.push(Column::new(
                stat("sd", src, Some(d)).into(),
                moments(1 + d, &Moments::sd),
            ));
        }
    }
    DataFrame::new(live.len(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::*;
    use rand::{Rng, SeedableRng};

    // The polars group-by this module replaced, kept as the reference.
    /// Per (period, institution) over non-voided responses: `n_excluded` and, per
    /// source, n / mean / sd / se / satisfied and poor shares of `S`, and per
    /// dimension n / mean / sd / se of `D[d]`; with the codes of `__piid` from
    /// `keys` (see [`KeyTables`]). Collects the (small) grouped table.
    fn by_polars(responses: LazyFrame, n_dims: usize, keys: &KeyTables) -> PolarsResult<LazyFrame> {
        // One group-by over all responses, keyed by (period-institution, class):
        // class 0 and 1 are the valid responses of each source, 2 the excluded
        // (live, but incomplete or a speeder), 3 the voided. A filter and a
        // group-by per source each went over the whole table; the few grouped
        // rows are spread into columns instead.
        const VALID_CITIZEN: u64 = 0;
        const VALID_ASSESSOR: u64 = 1;
        const EXCLUDED: u64 = 2;
        const CLASSES: u64 = 4;
        let class = when(col(VOIDED))
            .then(lit(3u64))
            .when(col(VALID).not())
            .then(lit(EXCLUDED))
            .when(col(IS_CITIZEN))
            .then(lit(VALID_CITIZEN))
            .otherwise(lit(VALID_ASSESSOR));
        let mut aggs = vec![
            len().alias(stat("n", "", None)),
            col(SCORE_S).mean().alias(stat("mean", "", None)),
            col(SCORE_S).std(1).alias(stat("sd", "", None)),
            col(SAT)
                .cast(DataType::Float64)
                .mean()
                .alias(stat("sat", "", None)),
            col(POOR)
                .cast(DataType::Float64)
                .mean()
                .alias(stat("poor", "", None)),
        ];
        for d in 0..n_dims {
            let x = col(dim_score(d));
            aggs.push(x.clone().count().alias(stat("n", "", Some(d))));
            aggs.push(x.clone().mean().alias(stat("mean", "", Some(d))));
            aggs.push(x.std(1).alias(stat("sd", "", Some(d))));
        }
        let grouped = responses
            .group_by([(col(PIID) * lit(CLASSES) + class).alias(KEY)])
            .agg(aggs)
            .with_columns([
                (col(KEY) / lit(CLASSES)).alias(PIID),
                (col(KEY) % lit(CLASSES)).alias("__class"),
            ])
            .collect()?
            .lazy();
        let in_class = |c: u64| grouped.clone().filter(col("__class").eq(lit(c)));
        let left = |out: LazyFrame, other: LazyFrame| {
            out.join(
                other,
                [col(PIID)],
                [col(PIID)],
                JoinArgs::new(JoinType::Left),
            )
        };
        // Every (period, institution) with a live response.
        let mut out = grouped
            .clone()
            .filter(col("__class").lt(lit(3u64)))
            .select([col(PIID)])
            .unique(None, UniqueKeepStrategy::Any);
        out = left(
            out,
            in_class(EXCLUDED).select([col(PIID), col(stat("n", "", None)).alias(N_EXCLUDED)]),
        );
        let mut counts = vec![col(N_EXCLUDED).fill_null(lit(0))];
        let mut ses = Vec::new();
        for ((_, src), class) in SOURCES.into_iter().zip([VALID_CITIZEN, VALID_ASSESSOR]) {
            let mut renamed = vec![col(PIID)];
            for what in ["n", "mean", "sd", "sat", "poor"] {
                renamed.push(col(stat(what, "", None)).alias(stat(what, src, None)));
            }
            counts.push(col(stat("n", src, None)).fill_null(lit(0)));
            ses.push(
                standard_error(col(stat("sd", src, None)), col(stat("n", src, None)))
                    .alias(stat("se", src, None)),
            );
            for d in 0..n_dims {
                for what in ["n", "mean", "sd"] {
                    renamed.push(col(stat(what, "", Some(d))).alias(stat(what, src, Some(d))));
                }
                counts.push(col(stat("n", src, Some(d))).fill_null(lit(0)));
                ses.push(
                    standard_error(col(stat("sd", src, Some(d))), col(stat("n", src, Some(d))))
                        .alias(stat("se", src, Some(d))),
                );
            }
            out = left(out, in_class(class).select(renamed));
        }
        // A fixed row order, so that the category means (shrinkage) add up in the
        // same order on every run.
        Ok(left(out, keys.piid.clone().lazy())
            .sort([PIID], SortMultipleOptions::default())
            .with_columns(counts)
            .with_columns(ses))
    }

    /// A random classified table: keys drawn unevenly (groups of one row,
    /// thousands of rows, none at all), nulls in every flag and score,
    /// awkward fractions, and two chunks whose columns do not line up.
    fn classified(n: usize, n_piid: u64, n_dims: usize, seed: u64) -> PolarsResult<DataFrame> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let score = |rng: &mut rand::rngs::StdRng| -> Option<f64> {
            (rng.r#gen::<f64>() > 0.1).then(|| 100.0 * rng.r#gen::<f64>() / 3.0)
        };
        let flag = |rng: &mut rand::rngs::StdRng, p: f64| -> Option<bool> {
            (rng.r#gen::<f64>() > 0.05).then(|| rng.r#gen::<f64>() < p)
        };
        let mut piid = Vec::with_capacity(n);
        let (mut voided, mut valid, mut citizen) = (Vec::new(), Vec::new(), Vec::new());
        let (mut s, mut sat, mut poor) = (Vec::new(), Vec::new(), Vec::new());
        let mut dims: Vec<Vec<Option<f64>>> = vec![Vec::new(); n_dims];
        for _ in 0..n {
            piid.push((rng.r#gen::<f64>().powi(3) * n_piid as f64) as u64);
            voided.push(flag(&mut rng, 0.02));
            valid.push(flag(&mut rng, 0.9));
            citizen.push(flag(&mut rng, 0.8));
            s.push(score(&mut rng));
            sat.push(flag(&mut rng, 0.6));
            poor.push(flag(&mut rng, 0.1));
            for d in dims.iter_mut() {
                d.push(score(&mut rng));
            }
        }
        let mut df = df!(
            PIID => piid,
            VOIDED => voided,
            VALID => valid,
            IS_CITIZEN => citizen,
            SCORE_S => s,
            SAT => sat,
            POOR => poor,
        )?;
        for (d, values) in dims.into_iter().enumerate() {
            df.with_column(Column::new(dim_score(d).into(), values))?;
        }
        // Every column in the same two chunks, as a streaming collect
        // leaves them.
        let mut two = df.slice(0, n / 3);
        two.vstack_mut(&df.slice((n / 3) as i64, n))?;
        Ok(two)
    }

    fn key_tables(n_piid: u64) -> PolarsResult<KeyTables> {
        let text = |p: &str| (0..n_piid).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
        Ok(KeyTables {
            piid: df!(
                PIID => (0..n_piid).collect::<Vec<u64>>(),
                PERIOD => text("p"),
                INSTITUTION_CODE => text("i"),
                CATEGORY_CODE => text("c"),
                DISTRICT_CODE => text("d"),
            )?,
            pcid: DataFrame::empty(),
        })
    }

    fn assert_same(ours: &DataFrame, theirs: &DataFrame) -> PolarsResult<()> {
        assert_eq!(ours.get_column_names(), theirs.get_column_names());
        assert_eq!(ours.height(), theirs.height());
        for (a, b) in ours.columns().iter().zip(theirs.columns()) {
            assert_eq!(a.dtype(), b.dtype(), "{}", a.name());
            if a.dtype().is_float() {
                let bits = |c: &Column| -> PolarsResult<Vec<Option<u64>>> {
                    Ok(c.f64()?.iter().map(|x| x.map(f64::to_bits)).collect())
                };
                assert_eq!(bits(a)?, bits(b)?, "{}", a.name());
            } else {
                assert!(
                    a.as_materialized_series()
                        .equals_missing(b.as_materialized_series()),
                    "{}",
                    a.name()
                );
            }
        }
        Ok(())
    }

    #[test]
    fn the_statistics_are_polars_group_by_to_the_last_bit() -> PolarsResult<()> {
        let (n_piid, n_dims) = (5_000, 3);
        let aligned = classified(200_000, n_piid, n_dims, 7)?;
        // The same rows with one column in one chunk and the others in two,
        // which the pass lines up first.
        let mut unaligned = aligned.clone();
        unaligned.apply(SCORE_S, |c| c.rechunk())?;
        let keys = key_tables(n_piid)?;
        let theirs = by_polars(aligned.clone().lazy(), n_dims, &keys)?.collect()?;
        assert!(theirs.height() > 1_000);
        for responses in [&aligned, &unaligned] {
            for threads in [1, 2, 3, 7] {
                let ours = stats_in_parts(responses, n_dims, &keys, threads)?;
                assert_same(&ours, &theirs)?;
            }
        }
        assert_eq!(aligned.column(PIID)?.n_chunks(), 2);
        assert_eq!(unaligned.column(SCORE_S)?.n_chunks(), 1);
        Ok(())
    }

    #[test]
    fn a_key_out_of_range_is_an_error_not_a_panic() -> PolarsResult<()> {
        let responses = classified(100, 50, 1, 3)?;
        let keys = key_tables(10)?;
        let err = match institution_source_stats(&responses, 1, &keys) {
            Err(e) => e.to_string(),
            Ok(_) => String::from("accepted"),
        };
        assert!(err.contains("out of range"), "{err}");
        Ok(())
    }
}
