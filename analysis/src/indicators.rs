//! The indicators of the method, each a named function returning an `Expr`.
//!
//! Decisions (thresholds, grade bands, rank ties) compare values rounded to
//! 6 decimals, halves away from zero, on both sides: [`round6`] and [`r6`].

use polars::prelude::*;

use crate::model::Model;

/// `x * 10^6` rounded half away from zero: the scale decisions are made on.
pub(crate) fn round6(x: Expr) -> Expr {
    (x * lit(1e6)).round(0, RoundMode::HalfAwayFromZero)
}

/// [`round6`] of a constant.
pub(crate) fn r6(x: f64) -> f64 {
    (x * 1e6).round()
}

/// `x >= threshold` at 6 decimals.
pub(crate) fn at_least(x: Expr, threshold: f64) -> Expr {
    round6(x).gt_eq(lit(r6(threshold)))
}

/// `x <= threshold` at 6 decimals.
pub(crate) fn at_most(x: Expr, threshold: f64) -> Expr {
    round6(x).lt_eq(lit(r6(threshold)))
}

/// `x < threshold` at 6 decimals.
pub(crate) fn below(x: Expr, threshold: f64) -> Expr {
    round6(x).lt(lit(r6(threshold)))
}

fn null_f64() -> Expr {
    lit(NULL).cast(DataType::Float64)
}

/// Dimension score `D[d]`: the mean item score `100 (r - 1) / (K - 1)` over the
/// answered items of the dimension, from their count and rating sum (exact
/// integers, so one rounding); null when none was answered.
pub(crate) fn dimension_score(rating_sum: Expr, answered: Expr, scale_points: i64) -> Expr {
    let steps = (rating_sum - answered.clone()).cast(DataType::Float64);
    when(answered.clone().gt(lit(0)))
        .then(
            lit(100.0) * steps
                / (lit((scale_points - 1) as f64) * answered.cast(DataType::Float64)),
        )
        .otherwise(null_f64())
}

/// Weight of a dimension for a row's category: the category's own table,
/// else `default`; null where neither has one. `is_category(c)` tells whether
/// the row's category is `c`.
pub(crate) fn dimension_weight(
    model: &Model,
    dimension: &str,
    is_category: impl Fn(&str) -> Expr,
) -> Expr {
    let fallback = model.default_weight(dimension).map_or_else(null_f64, lit);
    model
        .own_tables()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .fold(fallback, |rest, table| {
            let w = model.weight(table, dimension).map_or_else(null_f64, lit);
            when(is_category(table)).then(w).otherwise(rest)
        })
}

/// Response score `S`: weighted mean of the dimension scores present.
/// `dims` holds (weight, D) per dimension.
pub(crate) fn response_score(dims: Vec<(Expr, Expr)>) -> Expr {
    let mut num = lit(0.0);
    let mut den = lit(0.0);
    for (w, d) in dims {
        let present = d.clone().is_not_null();
        num = num
            + when(present.clone())
                .then(w.clone() * d)
                .otherwise(lit(0.0));
        den = den + when(present).then(w).otherwise(lit(0.0));
    }
    when(den.clone().gt(lit(0.0)))
        .then(num / den)
        .otherwise(null_f64())
}

/// Incomplete: nothing answered, or answered/shown below `min_completion`.
pub(crate) fn is_incomplete(answered: Expr, shown: Expr, min_completion: f64) -> Expr {
    let share = answered.clone().cast(DataType::Float64) / shown.cast(DataType::Float64);
    answered
        .eq(lit(0))
        .or(share.lt(lit(min_completion)).fill_null(lit(false)))
}

/// Speeder: complete, duration known and under `ms_per_item` per answered item.
pub(crate) fn is_speeder(
    incomplete: Expr,
    duration_ms: Expr,
    answered: Expr,
    ms_per_item: f64,
) -> Expr {
    incomplete.not().and(
        duration_ms
            .cast(DataType::Float64)
            .lt(lit(ms_per_item) * answered.cast(DataType::Float64))
            .fill_null(lit(false)),
    )
}

/// Straight-liner: valid, at least 4 answers, all ratings equal, i.e. zero
/// variance: `n * sum(r^2) == sum(r)^2` (exact in integers).
pub(crate) fn is_straightliner(
    valid: Expr,
    answered: Expr,
    rating_sum: Expr,
    rating_sq_sum: Expr,
) -> Expr {
    let n = answered.clone().cast(DataType::Int64);
    valid.and(answered.gt_eq(lit(4))).and(
        (n * rating_sq_sum)
            .eq(rating_sum.clone() * rating_sum)
            .fill_null(lit(false)),
    )
}

/// Standard error of a mean: sample sd / sqrt(n), null when n < 2.
pub(crate) fn standard_error(sd: Expr, n: Expr) -> Expr {
    when(n.clone().gt_eq(lit(2)))
        .then(sd / n.cast(DataType::Float64).sqrt())
        .otherwise(null_f64())
}

/// Weight of a source present in the row (`n >= 1`), 0 otherwise.
pub(crate) fn present_weight(n: Expr, weight: f64) -> Expr {
    when(n.gt_eq(lit(1))).then(lit(weight)).otherwise(lit(0.0))
}

/// `sum(v[src] * x_src)` over the sources; absent sources carry weight 0.
pub(crate) fn weighted(vc: Expr, xc: Expr, va: Expr, xa: Expr) -> Expr {
    vc * xc.fill_null(lit(0.0)) + va * xa.fill_null(lit(0.0))
}

/// `se = sqrt(sum(v^2 se_src^2))`, null when a present source has no se.
pub(crate) fn combined_se(vc: Expr, sec: Expr, nc: Expr, va: Expr, sea: Expr, na: Expr) -> Expr {
    let missing = nc
        .gt_eq(lit(1))
        .and(sec.clone().is_null())
        .or(na.gt_eq(lit(1)).and(sea.clone().is_null()));
    let var = (vc.clone() * vc) * sec.clone().fill_null(lit(0.0)) * sec.fill_null(lit(0.0))
        + (va.clone() * va) * sea.clone().fill_null(lit(0.0)) * sea.fill_null(lit(0.0));
    when(missing).then(null_f64()).otherwise(var.sqrt())
}

/// `index -/+ 1.96 se`, clamped to [0, 100].
pub(crate) fn confidence_bound(index: Expr, se: Expr, upper: bool) -> Expr {
    let half = lit(1.96) * se;
    let bound = if upper { index + half } else { index - half };
    bound.clip(lit(0.0), lit(100.0))
}

/// Shrunk source mean `(n mean + k m) / (n + k)`; the plain mean when k = 0.
pub(crate) fn shrunk(n: Expr, mean: Expr, prior_mean: Expr, k: f64) -> Expr {
    if k == 0.0 {
        return mean;
    }
    let n = n.cast(DataType::Float64);
    (n.clone() * mean + lit(k) * prior_mean) / (n + lit(k))
}

/// The first grade band (in file order) whose `min` the score reaches.
pub(crate) fn grade(model: &Model, score: Expr) -> Expr {
    model
        .grades
        .iter()
        .rev()
        .fold(lit(NULL).cast(DataType::String), |rest, band| {
            when(at_least(score.clone(), band.min))
                .then(lit(band.grade.clone()))
                .otherwise(rest)
        })
}

/// Rank within the window, highest first, ties (at 6 decimals) share the lowest rank.
pub(crate) fn rank_desc(score: Expr) -> Expr {
    round6(score).rank(
        RankOptions {
            method: RankMethod::Min,
            descending: true,
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_thresholds_are_met_after_rounding() -> PolarsResult<()> {
        let df = df!("s" => [50.0, 49.99999999999999, 50.00000000000001, 49.9999994, 25.000000000000004, 25.000001])?;
        let out = df
            .lazy()
            .select([
                at_least(col("s"), 50.0).alias("sat"),
                at_most(col("s"), 25.0).alias("poor"),
            ])
            .collect()?;
        let sat: Vec<_> = out.column("sat")?.bool()?.iter().collect();
        assert_eq!(sat, [true, true, true, false, false, false].map(Some));
        let poor: Vec<_> = out.column("poor")?.bool()?.iter().collect();
        assert_eq!(poor, [false, false, false, false, true, false].map(Some));
        Ok(())
    }

    #[test]
    fn rank_ties_share_the_lowest_rank_and_nulls_stay_null() -> PolarsResult<()> {
        let df = df!(
            "g" => ["a", "a", "a", "a", "b"],
            "s" => [Some(70.0), Some(69.99999999999999), None, Some(80.0), Some(1.0)],
        )?;
        let out = df
            .lazy()
            .select([rank_desc(col("s"))
                .over([col("g")])?
                .cast(DataType::Int64)
                .alias("r")])
            .collect()?;
        let r: Vec<_> = out.column("r")?.i64()?.iter().collect();
        assert_eq!(r, [Some(2), Some(2), None, Some(1), Some(1)]);
        Ok(())
    }
}
