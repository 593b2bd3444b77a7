//! The stages of the pipeline, each `LazyFrame -> LazyFrame`.
//!
//! Keys are encoded once as small integers: `__rid` (row of `responses`),
//! `__item` and `__dim` (sorted item and dimension codes; see
//! [`crate::answers`]), and at response level `__piid` and `__pcid` (period ×
//! institution, period × category). No stage joins the big tables on
//! strings; the codes come back from the small [`KeyTables`] at the end.

use polars::prelude::*;
use polars_core::runtime::RAYON;
use polars_core::utils::rayon::prelude::*;

use crate::columns::*;
use crate::indicators::*;
use crate::model::Model;

/// Internal column names (never in an output).
pub(crate) mod internal {
    pub const RID: &str = "__rid";
    pub const ITEM: &str = "__item";
    pub const DIM: &str = "__dim";
    /// A packed integer group key (see [`super::cronbach_alpha`]).
    pub const KEY: &str = "__key";
    pub const SHOWN: &str = "__shown";
    pub const ANSWERED: &str = "__answered";
    pub const RATING_SUM: &str = "__rating_sum";
    pub const RATING_SQ_SUM: &str = "__rating_sq_sum";
    pub const IS_CITIZEN: &str = "__is_citizen";
    pub const INCOMPLETE: &str = "__incomplete";
    pub const SPEEDER: &str = "__speeder";
    pub const VALID: &str = "__valid";
    pub const STRAIGHT: &str = "__straight";
    pub const SCORE_S: &str = "__S";
    pub const SAT: &str = "__sat";
    pub const POOR: &str = "__poor";
    pub const PIDX: &str = "__pidx";
    pub const CIDX: &str = "__cidx";
    pub const PCID: &str = "__pcid";
    /// Row of the institution in the institutions table.
    pub const IIDX: &str = "__iidx";
    /// `__pidx * n_institutions + __iidx`: one integer per (period, institution).
    pub const PIID: &str = "__piid";
    pub const PREV: &str = "__prev";
    pub const ALPHA_KEY: &str = "__alpha_key";
    pub const ROW: &str = "__row";

    /// Answered items of dimension `d` in a response.
    pub fn answered_in(d: usize) -> String {
        format!("__c{d}")
    }
    /// Rating sum over the answered items of dimension `d`.
    pub fn rating_sum_in(d: usize) -> String {
        format!("__t{d}")
    }
    /// Dimension score `D[d]` of a response.
    pub fn dim_score(d: usize) -> String {
        format!("__D{d}")
    }
    /// Per-source statistic `what` (`n`, `mean`, `sd`, `se`, `sat`, `poor`),
    /// of the response score (`d = None`) or of dimension `d`.
    pub fn stat(what: &str, src: &str, d: Option<usize>) -> String {
        match d {
            None => format!("__{what}_{src}"),
            Some(d) => format!("__{what}_{src}_{d}"),
        }
    }
}

use internal::*;

/// The two sources with their short suffix in internal column names.
pub(crate) const SOURCES: [(&str, &str); 2] = [(CITIZEN, "c"), (ASSESSOR, "a")];

fn null_f64() -> Expr {
    lit(NULL).cast(DataType::Float64)
}

/// A code that is neither null nor the empty string.
pub(crate) fn non_empty(column: &str) -> Expr {
    col(column)
        .is_not_null()
        .and(col(column).str().len_bytes().gt(lit(0)))
}

/// Sorts the compact answers by response unless they already are (answers
/// usually come grouped by response, and encoding keeps their order).
pub(crate) fn sort_by_response(compact: DataFrame) -> PolarsResult<DataFrame> {
    let sorted = compact
        .clone()
        .lazy()
        .select([col(RID).gt_eq(col(RID).shift(lit(1))).all(true)])
        .collect()?;
    let mut compact = if sorted.column(RID)?.bool()?.get(0) == Some(true) {
        compact
    } else {
        compact.sort([RID], SortMultipleOptions::default())?
    };
    compact.apply(RID, |c| {
        let mut c = c.clone();
        c.set_sorted_flag(polars::series::IsSorted::Ascending);
        c
    })?;
    Ok(compact)
}

/// Per response (one row per row of `responses`, `__rid` order): items
/// shown and answered, rating sum and sum of squares, and per dimension the
/// answered count and rating sum (all i64; 0 for a response without answers).
///
/// One pass over the three integer columns of the compact answers, adding
/// into vectors indexed by `__rid`: a polars group-by would materialise
/// several full-length temporaries per aggregate, and a join would then be
/// needed to line the result up with the responses. Answers sorted by
/// `__rid` (as [`sort_by_response`] leaves them) are cut into one piece per
/// thread at response boundaries, so each thread adds into its own range of
/// the vectors (and touches their fresh pages itself).
pub(crate) fn response_aggregates(
    answers: &DataFrame,
    n_dims: usize,
    n_responses: usize,
) -> PolarsResult<DataFrame> {
    aggregates_in_pieces(answers, n_dims, n_responses, RAYON.current_num_threads())
}

/// [`response_aggregates`] in up to `threads` pieces.
fn aggregates_in_pieces(
    answers: &DataFrame,
    n_dims: usize,
    n_responses: usize,
    threads: usize,
) -> PolarsResult<DataFrame> {
    let mut columns: Vec<Vec<i64>> = (0..4 + 2 * n_dims)
        .map(|_| vec![0i64; n_responses])
        .collect();
    let pieces = response_pieces(answers, n_responses, threads)?;
    // Each column cut at the pieces' first responses.
    let mut parts: Vec<Vec<&mut [i64]>> = pieces.iter().map(|_| Vec::new()).collect();
    for column in columns.iter_mut() {
        let mut rest = column.as_mut_slice();
        for (piece, part) in pieces.iter().zip(parts.iter_mut()) {
            let (mine, after) = rest.split_at_mut(piece.responses.len());
            part.push(mine);
            rest = after;
        }
    }
    RAYON.install(|| {
        pieces
            .par_iter()
            .zip(parts.into_par_iter())
            .try_for_each(|(piece, mut sums)| {
                let first = piece.responses.start;
                for_each_answer(answers, DIM, piece.rows.clone(), |r, d, x| {
                    let Some(i) = (r as usize).checked_sub(first) else {
                        return;
                    };
                    if i >= piece.responses.len() {
                        return;
                    }
                    sums[0][i] += 1;
                    if let Some(x) = x {
                        let x = i64::from(x);
                        sums[1][i] += 1;
                        sums[2][i] += x;
                        sums[3][i] += x * x;
                        if let Some(d) = d.map(|d| d as usize).filter(|d| *d < n_dims) {
                            sums[4 + 2 * d][i] += 1;
                            sums[5 + 2 * d][i] += x;
                        }
                    }
                })
            })
    })?;
    let mut names = vec![
        SHOWN.to_owned(),
        ANSWERED.to_owned(),
        RATING_SUM.to_owned(),
        RATING_SQ_SUM.to_owned(),
    ];
    for d in 0..n_dims {
        names.push(answered_in(d));
        names.push(rating_sum_in(d));
    }
    let columns = names
        .into_iter()
        .zip(columns)
        .map(|(name, values)| Column::new(name.into(), values))
        .collect();
    DataFrame::new(n_responses, columns)
}

/// A run of answer rows and the range of `__rid` its rows fall in.
struct Piece {
    rows: std::ops::Range<usize>,
    responses: std::ops::Range<usize>,
}

/// Up to `wanted` pieces of the answers with disjoint response ranges
/// covering `0..n_responses`: cut at response boundaries when the answers
/// are sorted by `__rid` and all have one, else one piece of every row.
fn response_pieces(
    answers: &DataFrame,
    n_responses: usize,
    wanted: usize,
) -> PolarsResult<Vec<Piece>> {
    let height = answers.height();
    let whole = vec![Piece {
        rows: 0..height,
        responses: 0..n_responses,
    }];
    let Ok(rid) = answers.column(RID)?.as_materialized_series().idx() else {
        return Ok(whole);
    };
    let Ok(rids) = rid.cont_slice() else {
        return Ok(whole);
    };
    if rid.is_sorted_flag() != polars::series::IsSorted::Ascending || wanted < 2 || height < wanted
    {
        return Ok(whole);
    }
    // The first row of each piece after the first: the first row of a
    // response at or after an even share of the rows.
    let mut cuts = vec![0];
    for t in 1..wanted {
        let mut row = t * height / wanted;
        while row < height && rids[row] == rids[row - 1] {
            row += 1;
        }
        if row < height && row > *cuts.last().unwrap_or(&0) {
            cuts.push(row);
        }
    }
    let first_response = |row: usize| (rids[row] as usize).min(n_responses);
    // The pieces' response ranges must follow one another; they do when the
    // sorted flag is right, and this costs one look per cut.
    let firsts: Vec<usize> = cuts
        .iter()
        .skip(1)
        .map(|&row| first_response(row))
        .collect();
    if firsts.windows(2).any(|w| w[0] >= w[1]) || firsts.first() == Some(&0) {
        return Ok(whole);
    }
    Ok(cuts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = cuts.get(i + 1).copied();
            Piece {
                rows: start..end.unwrap_or(height),
                responses: if i == 0 { 0 } else { first_response(start) }
                    ..end.map_or(n_responses, first_response),
            }
        })
        .collect())
}

/// Calls `each(__rid, key, rating)` for every row in `rows` of the compact
/// answers that has a `__rid`, in row order; `key` is the row's `__item` or
/// `__dim` (column `key`).
///
/// The usual table (every row of a known response, its keys in one chunk, as
/// [`crate::answers`] builds them) is read as plain slices beside the
/// rating's chunks: iterating three chunked columns of options in step cost
/// more than the work done per row, over 65M rows at 10M responses.
fn for_each_answer(
    answers: &DataFrame,
    key: &str,
    rows: std::ops::Range<usize>,
    mut each: impl FnMut(IdxSize, Option<IdxSize>, Option<i32>),
) -> PolarsResult<()> {
    let (start, len) = (rows.start as i64, rows.len());
    let rid = answers.column(RID)?.cast(&IDX_DTYPE)?.slice(start, len);
    let keys = answers.column(key)?.cast(&IDX_DTYPE)?.slice(start, len);
    let rating = answers
        .column(RATING)?
        .cast(&DataType::Int32)?
        .slice(start, len);
    let (rid, keys, rating) = (rid.idx()?, keys.idx()?, rating.i32()?);
    if let (Ok(rids), Ok(keys)) = (rid.cont_slice(), keys.cont_slice()) {
        let mut offset = 0;
        for ratings in rating.downcast_iter() {
            let end = offset + ratings.len();
            let (rids, keys) = (&rids[offset..end], &keys[offset..end]);
            if ratings.validity().is_none_or(|v| v.unset_bits() == 0) {
                for ((&r, &k), &x) in rids.iter().zip(keys).zip(ratings.values().iter()) {
                    each(r, Some(k), Some(x));
                }
            } else {
                for ((&r, &k), x) in rids.iter().zip(keys).zip(ratings.iter()) {
                    each(r, Some(k), x.copied());
                }
            }
            offset = end;
        }
        return Ok(());
    }
    for ((r, k), x) in rid.iter().zip(keys.iter()).zip(rating.iter()) {
        if let Some(r) = r {
            each(r, k, x);
        }
    }
    Ok(())
}

/// The response columns that classification needs (`__is_citizen`,
/// `duration_ms`, `voided`) with the institution's `__iidx` (its row in
/// `institutions`) and `__cidx`, and the period's `__pidx` (its row in
/// `periods`), in `responses` order. Codes are looked up in small hash maps;
/// the string columns stay behind, and the outputs get their codes back from
/// the small [`KeyTables`].
pub(crate) fn response_keys(
    responses: &DataFrame,
    institutions: &DataFrame,
    periods: &DataFrame,
) -> PolarsResult<DataFrame> {
    fn lookup(codes: &Column, keys: &Column, values: &Column, name: &str) -> PolarsResult<Column> {
        let values = values.cast(&IDX_DTYPE)?;
        let map: PlHashMap<&str, IdxSize> = keys
            .str()?
            .iter()
            .zip(values.idx()?.iter())
            .filter_map(|(k, v)| Some((k?, v?)))
            .collect();
        let found: IdxCa = codes
            .str()?
            .iter()
            .map(|c| c.and_then(|c| map.get(c).copied()))
            .collect();
        Ok(found.with_name(name.into()).into_column())
    }
    let iidx = lookup(
        responses.column(INSTITUTION_CODE)?,
        institutions.column(INSTITUTION_CODE)?,
        institutions.column(IIDX)?,
        IIDX,
    )?;
    let pidx = lookup(
        responses.column(PERIOD)?,
        periods.column(PERIOD)?,
        periods.column(PIDX)?,
        PIDX,
    )?;
    let cidx = institutions.column(CIDX)?.take(iidx.idx()?)?;
    responses
        .clone()
        .lazy()
        .select([
            col(SOURCE).eq(lit(CITIZEN)).alias(IS_CITIZEN),
            col(DURATION_MS),
            col(VOIDED),
        ])
        .collect()?
        .hstack(&[cidx, iidx, pidx])
}

/// The codes behind the integer keys of the response table, for the outputs:
/// `__piid` to period, institution, category and district (periods ×
/// institutions rows), `__pcid` to period and category.
pub(crate) struct KeyTables {
    pub piid: DataFrame,
    pub pcid: DataFrame,
}

impl KeyTables {
    /// `categories` are the category codes in `__cidx` order; `__pidx` is the
    /// row of a period in `periods`, `__iidx` that of an institution.
    pub(crate) fn new(
        institutions: &DataFrame,
        periods: &DataFrame,
        categories: &[String],
    ) -> PolarsResult<KeyTables> {
        let text = |df: &DataFrame, c: &str| -> PolarsResult<Vec<String>> {
            Ok(df
                .column(c)?
                .str()?
                .iter()
                .map(|v| v.unwrap_or_default().to_owned())
                .collect())
        };
        let periods = text(periods, PERIOD)?;
        let codes = text(institutions, INSTITUTION_CODE)?;
        let institution_categories = text(institutions, CATEGORY_CODE)?;
        let districts = text(institutions, DISTRICT_CODE)?;
        // Every (period, institution) and (period, category), in key order.
        let per_institution =
            (0..periods.len()).flat_map(|p| (0..codes.len()).map(move |i| (p, i)));
        let per_category =
            (0..periods.len()).flat_map(|p| (0..categories.len()).map(move |c| (p, c)));
        let piid = df!(
            PIID => per_institution.clone().map(|(p, i)| (p * codes.len() + i) as u64).collect::<Vec<_>>(),
            PERIOD => per_institution.clone().map(|(p, _)| periods[p].as_str()).collect::<Vec<_>>(),
            INSTITUTION_CODE => per_institution.clone().map(|(_, i)| codes[i].as_str()).collect::<Vec<_>>(),
            CATEGORY_CODE => per_institution.clone().map(|(_, i)| institution_categories[i].as_str()).collect::<Vec<_>>(),
            DISTRICT_CODE => per_institution.map(|(_, i)| districts[i].as_str()).collect::<Vec<_>>(),
        )?;
        let pcid = df!(
            PCID => per_category.clone().map(|(p, c)| (p * categories.len() + c) as u64).collect::<Vec<_>>(),
            PERIOD => per_category.clone().map(|(p, _)| periods[p].as_str()).collect::<Vec<_>>(),
            CATEGORY_CODE => per_category.map(|(_, c)| categories[c].as_str()).collect::<Vec<_>>(),
        )?;
        Ok(KeyTables { piid, pcid })
    }
}

/// Response level: puts the answer aggregates (see [`response_aggregates`])
/// beside the responses' keys (see [`response_keys`]), both in `__rid`
/// order, then classifies (incomplete, speeder, valid, straight-liner) and
/// scores (`D[d]`, `S`, satisfied, poor) each response. Keeps that order.
/// `categories` are the category codes in `__cidx` order.
pub(crate) fn classify_responses(
    responses: DataFrame,
    aggregates: &DataFrame,
    model: &Model,
    dims: &[String],
    categories: &[String],
    n_institutions: usize,
    n_items: usize,
) -> PolarsResult<LazyFrame> {
    let n_categories = categories.len();
    let is_category = |table: &str| match categories.binary_search_by(|c| c.as_str().cmp(table)) {
        Ok(i) => col(CIDX).eq(lit(i as IdxSize)),
        Err(_) => lit(false),
    };
    let mut scores = Vec::with_capacity(dims.len());
    let mut dim_cols = Vec::with_capacity(dims.len());
    for (d, name) in dims.iter().enumerate() {
        dim_cols.push(
            dimension_score(
                col(rating_sum_in(d)),
                col(answered_in(d)),
                model.scale_points,
            )
            .alias(dim_score(d)),
        );
        scores.push((
            dimension_weight(model, name, is_category),
            col(dim_score(d)),
        ));
    }
    let pcid = col(PIDX).cast(DataType::UInt64) * lit(n_categories as u64)
        + col(CIDX).cast(DataType::UInt64);
    let piid = col(PIDX).cast(DataType::UInt64) * lit(n_institutions as u64)
        + col(IIDX).cast(DataType::UInt64);
    let alpha_key = when(col(VALID))
        .then(col(PCID) * lit(n_items as u64 + 1) + col(ANSWERED).cast(DataType::UInt64))
        .otherwise(lit(NULL).cast(DataType::UInt64));
    let mut keep = vec![
        col(PCID),
        col(PIID),
        col(IS_CITIZEN),
        col(VOIDED),
        col(INCOMPLETE),
        col(SPEEDER),
        col(VALID),
        col(STRAIGHT),
        col(ANSWERED),
        col(RATING_SUM),
        col(SCORE_S),
        col(SAT),
        col(POOR),
        col(ALPHA_KEY),
    ];
    keep.extend((0..dims.len()).map(|d| col(dim_score(d))));
    Ok(responses
        .hstack(aggregates.columns())?
        .lazy()
        .with_columns([pcid.alias(PCID), piid.alias(PIID)])
        .with_columns(dim_cols)
        .with_columns([
            response_score(scores).alias(SCORE_S),
            is_incomplete(col(ANSWERED), col(SHOWN), model.min_completion).alias(INCOMPLETE),
        ])
        .with_columns([
            is_speeder(
                col(INCOMPLETE),
                col(DURATION_MS),
                col(ANSWERED),
                model.speeder_ms_per_item,
            )
            .alias(SPEEDER),
            at_least(col(SCORE_S), 50.0).alias(SAT),
            at_most(col(SCORE_S), 25.0).alias(POOR),
        ])
        .with_column(
            col(VOIDED)
                .not()
                .and(col(INCOMPLETE).not())
                .and(col(SPEEDER).not())
                .alias(VALID),
        )
        .with_columns([
            is_straightliner(
                col(VALID),
                col(ANSWERED),
                col(RATING_SUM),
                col(RATING_SQ_SUM),
            )
            .alias(STRAIGHT),
            alpha_key.alias(ALPHA_KEY),
        ])
        .select(keep))
}

/// Renormalised source weights over the present sources: `__vc`, `__va`, and
/// `__ok` (false when the present sources weigh 0 or none is present).
fn with_source_shares(lf: LazyFrame, n_c: Expr, n_a: Expr, model: &Model) -> LazyFrame {
    let wc = present_weight(n_c, model.source_weights.citizen);
    let wa = present_weight(n_a, model.source_weights.assessor);
    lf.with_columns([
        wc.clone().alias("__wc"),
        wa.clone().alias("__wa"),
        (wc + wa).alias("__tot"),
    ])
    .with_columns([
        col("__tot").gt(lit(0.0)).alias("__ok"),
        (col("__wc") / col("__tot")).alias("__vc"),
        (col("__wa") / col("__tot")).alias("__va"),
    ])
}

fn when_ok(x: Expr) -> Expr {
    when(col("__ok")).then(x).otherwise(null_f64())
}

/// `dimension_indicators`: one row per (period, institution, dimension) with
/// at least one valid response scoring the dimension.
pub(crate) fn dimension_indicators(
    stats: LazyFrame,
    dims: &[String],
    model: &Model,
) -> PolarsResult<LazyFrame> {
    if dims.is_empty() {
        return Ok(empty_dimension_indicators()?.lazy());
    }
    let per_dim = dims
        .iter()
        .enumerate()
        .map(|(d, name)| {
            let mut exprs = vec![
                col(PERIOD),
                col(INSTITUTION_CODE),
                lit(name.clone()).alias(DIMENSION_CODE),
            ];
            for (_, src) in SOURCES {
                for what in ["n", "mean", "se"] {
                    exprs.push(col(stat(what, src, Some(d))).alias(stat(what, src, None)));
                }
            }
            stats.clone().select(exprs)
        })
        .collect::<Vec<_>>();
    let long = concat(per_dim, UnionArgs::default())?
        .filter((col(stat("n", "c", None)) + col(stat("n", "a", None))).gt(lit(0)));
    let out = with_source_shares(
        long,
        col(stat("n", "c", None)),
        col(stat("n", "a", None)),
        model,
    )
    .select([
        col(PERIOD),
        col(INSTITUTION_CODE),
        col(DIMENSION_CODE),
        col(stat("n", "c", None))
            .cast(DataType::Int64)
            .alias(N_CITIZEN),
        col(stat("n", "a", None))
            .cast(DataType::Int64)
            .alias(N_ASSESSOR),
        when_ok(weighted(
            col("__vc"),
            col(stat("mean", "c", None)),
            col("__va"),
            col(stat("mean", "a", None)),
        ))
        .alias(INDEX),
        when_ok(combined_se(
            col("__vc"),
            col(stat("se", "c", None)),
            col(stat("n", "c", None)),
            col("__va"),
            col(stat("se", "a", None)),
            col(stat("n", "a", None)),
        ))
        .alias(SE),
    ])
    .sort(
        [PERIOD, INSTITUTION_CODE, DIMENSION_CODE],
        SortMultipleOptions::default(),
    );
    Ok(out)
}

fn empty_dimension_indicators() -> PolarsResult<DataFrame> {
    df!(
        PERIOD => Vec::<String>::new(),
        INSTITUTION_CODE => Vec::<String>::new(),
        DIMENSION_CODE => Vec::<String>::new(),
        N_CITIZEN => Vec::<i64>::new(),
        N_ASSESSOR => Vec::<i64>::new(),
        INDEX => Vec::<f64>::new(),
        SE => Vec::<f64>::new(),
    )
}

/// `institution_indicators` from the per-source statistics, the dimension
/// indicators (for rectification) and the period table (for `delta_prev`).
pub(crate) fn institution_indicators(
    stats: LazyFrame,
    dimensions: LazyFrame,
    periods: LazyFrame,
    model: &Model,
) -> PolarsResult<LazyFrame> {
    let k = model.prior_strength;
    let n = |src| col(stat("n", src, None));
    let mean = |src| col(stat("mean", src, None));
    let lowest_dimension = dimensions
        .group_by([col(PERIOD), col(INSTITUTION_CODE)])
        .agg([col(INDEX).min().alias("__dim_min")]);
    let window = [col(PERIOD), col(CATEGORY_CODE)];
    let scored = with_source_shares(stats, n("c"), n("a"), model)
        .with_columns([
            when_ok(mean("c")).alias(INDEX_CITIZEN),
            when_ok(mean("a")).alias(INDEX_ASSESSOR),
            when_ok(weighted(col("__vc"), mean("c"), col("__va"), mean("a"))).alias(INDEX),
            when_ok(combined_se(
                col("__vc"),
                col(stat("se", "c", None)),
                n("c"),
                col("__va"),
                col(stat("se", "a", None)),
                n("a"),
            ))
            .alias(SE),
            when_ok(weighted(
                col("__vc"),
                col(stat("sat", "c", None)),
                col("__va"),
                col(stat("sat", "a", None)),
            ))
            .alias(SATISFIED_RATE),
            when_ok(weighted(
                col("__vc"),
                col(stat("poor", "c", None)),
                col("__va"),
                col(stat("poor", "a", None)),
            ))
            .alias(POOR_RATE),
            mean("c").mean().over(window.clone())?.alias("__m_c"),
            mean("a").mean().over(window.clone())?.alias("__m_a"),
        ])
        .with_columns([
            shrunk(n("c"), mean("c"), col("__m_c"), k).alias("__shrunk_c"),
            shrunk(n("a"), mean("a"), col("__m_a"), k).alias("__shrunk_a"),
            confidence_bound(col(INDEX), col(SE), false).alias(CI_LOW),
            confidence_bound(col(INDEX), col(SE), true).alias(CI_HIGH),
        ])
        .with_column(
            when_ok(weighted(
                col("__vc"),
                col("__shrunk_c"),
                col("__va"),
                col("__shrunk_a"),
            ))
            .alias(SCORE),
        )
        .with_columns([
            (col(SCORE) * lit(model.points_max) / lit(100.0)).alias(POINTS),
            grade(model, col(SCORE)).alias(GRADE),
            rank_desc(col(SCORE))
                .over(window)?
                .cast(DataType::Int64)
                .alias(RANK_IN_CATEGORY),
            col("__ok")
                .not()
                .or((n("c") + n("a"))
                    .cast(DataType::Int64)
                    .lt(lit(model.min_sample)))
                .alias(LOW_SAMPLE),
        ])
        .join(
            lowest_dimension,
            [col(PERIOD), col(INSTITUTION_CODE)],
            [col(PERIOD), col(INSTITUTION_CODE)],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            col("__ok")
                .and(below(col(SCORE), model.rectify_below).or(
                    below(col("__dim_min"), model.rectify_dimension_below).fill_null(lit(false)),
                ))
                .fill_null(lit(false))
                .alias(RECTIFICATION),
        )
        .join(
            periods.select([col(PERIOD), col(PREV)]),
            [col(PERIOD)],
            [col(PERIOD)],
            JoinArgs::new(JoinType::Left),
        );
    let previous = scored.clone().select([
        col(PERIOD).alias(PREV),
        col(INSTITUTION_CODE),
        col(SCORE).alias("__prev_score"),
    ]);
    Ok(scored
        .join(
            previous,
            [col(PREV), col(INSTITUTION_CODE)],
            [col(PREV), col(INSTITUTION_CODE)],
            JoinArgs::new(JoinType::Left),
        )
        .with_column((col(SCORE) - col("__prev_score")).alias(DELTA_PREV))
        .select([
            col(PERIOD),
            col(INSTITUTION_CODE),
            col(CATEGORY_CODE),
            col(DISTRICT_CODE),
            n("c").cast(DataType::Int64).alias(N_CITIZEN),
            n("a").cast(DataType::Int64).alias(N_ASSESSOR),
            col(N_EXCLUDED).cast(DataType::Int64),
            col(INDEX_CITIZEN),
            col(INDEX_ASSESSOR),
            col(INDEX),
            col(SE),
            col(CI_LOW),
            col(CI_HIGH),
            col(SATISFIED_RATE),
            col(POOR_RATE),
            col(SCORE),
            col(POINTS),
            col(GRADE),
            col(RANK_IN_CATEGORY),
            col(DELTA_PREV),
            col(LOW_SAMPLE),
            col(RECTIFICATION),
        ])
        .sort([PERIOD, INSTITUTION_CODE], SortMultipleOptions::default()))
}

/// `group_indicators`: per period, each category and each district.
pub(crate) fn group_indicators(institutions: LazyFrame) -> PolarsResult<LazyFrame> {
    let by = |key: &str, group_type: &str| {
        institutions
            .clone()
            .group_by([col(PERIOD), col(key)])
            .agg([
                col(SCORE)
                    .count()
                    .cast(DataType::Int64)
                    .alias(N_INSTITUTIONS),
                (col(N_CITIZEN) + col(N_ASSESSOR)).sum().alias(N_RESPONSES),
                col(SCORE).mean().alias(MEAN_SCORE),
                col(SCORE).min().alias(MIN_SCORE),
                col(SCORE).max().alias(MAX_SCORE),
            ])
            .select([
                col(PERIOD),
                lit(group_type.to_owned()).alias(GROUP_TYPE),
                col(key).alias(GROUP_CODE),
                col(N_INSTITUTIONS),
                col(N_RESPONSES).cast(DataType::Int64),
                col(MEAN_SCORE),
                col(MIN_SCORE),
                col(MAX_SCORE),
            ])
    };
    Ok(concat(
        [
            by(CATEGORY_CODE, GROUP_CATEGORY),
            by(DISTRICT_CODE, GROUP_DISTRICT),
        ],
        UnionArgs::default(),
    )?
    .sort(
        [PERIOD, GROUP_TYPE, GROUP_CODE],
        SortMultipleOptions::default(),
    ))
}

/// Cronbach's alpha per (period, category), keyed by `__pcid`.
///
/// `responses` is the classified response table in `__rid` order, `answers`
/// the compact answers. Every answered item of a valid response is in `I` by
/// construction, so a response "rated every item of I" exactly when it
/// answered `k = |I|` items; item variances come from exact integer sums.
pub(crate) fn cronbach_alpha(
    responses: &DataFrame,
    answers: &DataFrame,
    n_items: usize,
) -> PolarsResult<LazyFrame> {
    let base = n_items as u64 + 1;
    // One integer key per (period-category, answered count, item).
    let n = n_items.max(1) as u64;
    // Per key: count, sum and sum of squares of the ratings, in one pass over
    // the answers (a few thousand keys; the response's alpha key is looked up
    // by `__rid`, null unless the response is valid).
    let alpha_keys: Vec<Option<u64>> = responses.column(ALPHA_KEY)?.u64()?.iter().collect();
    // `None` (too many to count) makes the sums sparse.
    let n_keys = alpha_keys
        .iter()
        .flatten()
        .max()
        .map_or(Some(0), |m| (m + 1).checked_mul(n));
    let mut sums = ItemSums::new(n_keys);
    for_each_answer(answers, ITEM, 0..answers.height(), |r, i, x| {
        let (Some(i), Some(x)) = (i, x) else {
            return;
        };
        if let Some(Some(k)) = alpha_keys.get(r as usize) {
            sums.add(k * n + u64::from(i), i64::from(x));
        }
    })?;
    drop(alpha_keys);
    let sums = sums.into_sorted();
    let items = df!(
        KEY => sums.iter().map(|(k, _)| *k).collect::<Vec<u64>>(),
        "__n" => sums.iter().map(|(_, s)| s.0).collect::<Vec<i64>>(),
        "__s1" => sums.iter().map(|(_, s)| s.1).collect::<Vec<i64>>(),
        "__s2" => sums.iter().map(|(_, s)| s.2).collect::<Vec<i64>>(),
    )?
    .lazy()
    .with_columns([
        (col(KEY) / lit(n)).alias(ALPHA_KEY),
        (col(KEY) % lit(n)).alias(ITEM),
    ])
    .with_columns([
        (col(ALPHA_KEY) / lit(base)).alias(PCID),
        (col(ALPHA_KEY) % lit(base)).alias("__ans"),
    ])
    .with_column(
        col(ITEM)
            .n_unique()
            .over([col(PCID)])?
            .cast(DataType::UInt64)
            .alias("__k"),
    );
    let k_per_group = items
        .clone()
        .group_by([col(PCID)])
        .agg([col("__k").first()]);
    let item_variance = when(col("__n").gt_eq(lit(2)))
        .then(
            (col("__n") * col("__s2") - col("__s1") * col("__s1")).cast(DataType::Float64)
                / (col("__n") * (col("__n") - lit(1))).cast(DataType::Float64),
        )
        .otherwise(null_f64());
    let sum_item_variance = items
        .filter(col("__ans").eq(col("__k")))
        .group_by([col(PCID)])
        .agg([item_variance.sum().alias("__sum_var_i")]);
    let total = responses
        .clone()
        .lazy()
        .filter(col(ALPHA_KEY).is_not_null())
        .select([
            col(PCID),
            (col(ALPHA_KEY) % lit(base)).alias("__ans"),
            col(RATING_SUM),
        ])
        .join(
            k_per_group,
            [col(PCID)],
            [col(PCID)],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("__ans").eq(col("__k")))
        .group_by([col(PCID)])
        .agg([
            col("__k").first(),
            len().alias("__n_complete"),
            col(RATING_SUM)
                .cast(DataType::Float64)
                .var(1)
                .alias("__var_t"),
            col(RATING_SUM).min().alias("__t_min"),
            col(RATING_SUM).max().alias("__t_max"),
        ]);
    let k = col("__k").cast(DataType::Float64);
    Ok(total
        .join(
            sum_item_variance,
            [col(PCID)],
            [col(PCID)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(PCID),
            when(
                col("__k")
                    .gt_eq(lit(2))
                    .and(col("__n_complete").gt_eq(lit(2)))
                    .and(col("__t_min").neq(col("__t_max"))),
            )
            .then(k.clone() / (k - lit(1.0)) * (lit(1.0) - col("__sum_var_i") / col("__var_t")))
            .otherwise(null_f64())
            .alias(CRONBACH_ALPHA),
        ]))
}

/// Count, sum and sum of squares of the ratings per integer key.
enum ItemSums {
    /// Indexed by the key: most inputs have a few thousand keys at most, and
    /// indexing beats hashing 65M rows.
    Dense(Vec<(i64, i64, i64)>),
    Sparse(PlHashMap<u64, (i64, i64, i64)>),
}

impl ItemSums {
    /// Keys below `n_keys`; dense up to a million of them (24 MB).
    fn new(n_keys: Option<u64>) -> ItemSums {
        match n_keys.and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n <= 1 << 20 => ItemSums::Dense(vec![(0, 0, 0); n]),
            _ => ItemSums::Sparse(PlHashMap::new()),
        }
    }

    fn add(&mut self, key: u64, x: i64) {
        let s = match self {
            ItemSums::Dense(v) => {
                let len = v.len();
                match v.get_mut(key as usize) {
                    Some(s) => s,
                    // Keys are below `n_keys` by construction.
                    None => {
                        debug_assert!(key < len as u64, "key {key} beyond {len}");
                        return;
                    }
                }
            }
            ItemSums::Sparse(m) => m.entry(key).or_default(),
        };
        *s = (s.0 + 1, s.1 + x, s.2 + x * x);
    }

    /// The keys seen, in order, with their sums.
    fn into_sorted(self) -> Vec<(u64, (i64, i64, i64))> {
        match self {
            ItemSums::Dense(v) => v
                .into_iter()
                .enumerate()
                .filter(|(_, s)| s.0 > 0)
                .map(|(k, s)| (k as u64, s))
                .collect(),
            ItemSums::Sparse(m) => {
                let mut sums: Vec<_> = m.into_iter().collect();
                sums.sort_unstable_by_key(|(k, _)| *k);
                sums
            }
        }
    }
}

/// `survey_quality`: per (period, category) with a non-voided response; the
/// codes of `__pcid` come from `keys` (see [`KeyTables`]).
pub(crate) fn survey_quality(
    responses: LazyFrame,
    alpha: LazyFrame,
    keys: &KeyTables,
) -> LazyFrame {
    let count = |e: Expr, name: &str| e.sum().cast(DataType::Int64).alias(name);
    let live = || col(VOIDED).not();
    responses
        // `__pcid` is one integer per (period, category).
        .group_by([col(PCID)])
        .agg([
            count(live(), N_RESPONSES),
            count(col(VOIDED), N_VOIDED),
            count(col(INCOMPLETE).and(live()), N_INCOMPLETE),
            count(col(SPEEDER).and(live()), N_SPEEDER),
            count(col(VALID), N_VALID),
            count(col(STRAIGHT), N_STRAIGHTLINER),
        ])
        .filter(col(N_RESPONSES).gt(lit(0)))
        .join(
            keys.pcid.clone().lazy(),
            [col(PCID)],
            [col(PCID)],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            alpha,
            [col(PCID)],
            [col(PCID)],
            JoinArgs::new(JoinType::Left),
        )
        .select(SURVEY_QUALITY_COLUMNS.map(col))
        .sort([PERIOD, CATEGORY_CODE], SortMultipleOptions::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_answers_in_pieces_add_up_to_a_plain_count() -> PolarsResult<()> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let n_responses = 2_000;
        let (mut rid, mut dim, mut rating) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..n_responses as u32 {
            // Some responses without answers (the first and last among them),
            // some with many: cuts land anywhere.
            let rows = if r == 0 || r + 1 == n_responses as u32 {
                0
            } else {
                rng.gen_range(0..12)
            };
            for _ in 0..rows {
                rid.push(r);
                dim.push((rng.r#gen::<f64>() > 0.05).then(|| rng.gen_range(0..3u32)));
                rating.push((rng.r#gen::<f64>() > 0.1).then(|| rng.gen_range(1..=5i32)));
            }
        }
        // With null dimensions (read as options), and without (read as
        // slices, the usual case), against a count made here.
        let complete: Vec<Option<u32>> = dim.iter().map(|d| d.or(Some(0))).collect();
        for dims in [dim, complete] {
            let mut expected = vec![(0i64, 0i64, 0i64); n_responses];
            for ((&r, d), x) in rid.iter().zip(&dims).zip(&rating) {
                let e = &mut expected[r as usize];
                e.0 += 1;
                if let (Some(0), Some(x)) = (d, x) {
                    e.1 += 1;
                    e.2 += i64::from(*x);
                }
            }
            let compact = sort_by_response(df!(
                RID => rid.clone(),
                ITEM => vec![0u32; dims.len()],
                DIM => dims,
                RATING => rating.clone(),
            )?)?;
            for threads in [1, 2, 3, 7] {
                if threads > 1 {
                    assert!(response_pieces(&compact, n_responses, threads)?.len() > 1);
                }
                let sums = aggregates_in_pieces(&compact, 3, n_responses, threads)?;
                let column = |c: &str| -> PolarsResult<Vec<i64>> {
                    Ok(sums.column(c)?.i64()?.into_no_null_iter().collect())
                };
                let got: Vec<(i64, i64, i64)> = column(SHOWN)?
                    .into_iter()
                    .zip(column(&answered_in(0))?)
                    .zip(column(&rating_sum_in(0))?)
                    .map(|((a, b), c)| (a, b, c))
                    .collect();
                assert_eq!(got, expected, "{threads} pieces");
            }
        }
        Ok(())
    }

    #[test]
    fn response_aggregates_count_per_dimension() -> PolarsResult<()> {
        // Rows in any order; response 1 has no answers.
        let answers = df!(
            RID => [0u32, 2, 0, 0],
            ITEM => [0u32, 0, 1, 2],
            DIM => [0u32, 1, 0, 1],
            RATING => [Some(5i32), Some(2), None, Some(3)],
        )?;
        let out = response_aggregates(&answers, 2, 3)?;
        assert_eq!(out.height(), 3);
        let get = |c: &str| -> PolarsResult<Vec<Option<i64>>> {
            Ok(out
                .column(c)?
                .cast(&DataType::Int64)?
                .i64()?
                .iter()
                .collect())
        };
        assert_eq!(get(SHOWN)?, [Some(3), Some(0), Some(1)]);
        assert_eq!(get(ANSWERED)?, [Some(2), Some(0), Some(1)]);
        assert_eq!(get(RATING_SUM)?, [Some(8), Some(0), Some(2)]);
        assert_eq!(get(RATING_SQ_SUM)?, [Some(34), Some(0), Some(4)]);
        assert_eq!(get(&answered_in(0))?, [Some(1), Some(0), Some(0)]);
        assert_eq!(get(&rating_sum_in(0))?, [Some(5), Some(0), Some(0)]);
        assert_eq!(get(&answered_in(1))?, [Some(1), Some(0), Some(1)]);
        assert_eq!(get(&rating_sum_in(1))?, [Some(3), Some(0), Some(2)]);
        Ok(())
    }

    #[test]
    fn item_sums_are_the_same_dense_or_sparse() {
        let rows = [(7u64, 3i64), (2, 5), (7, 1), (0, 4), (2, 5)];
        let mut dense = ItemSums::new(Some(8));
        let mut sparse = ItemSums::new(None);
        assert!(matches!(dense, ItemSums::Dense(_)));
        assert!(matches!(sparse, ItemSums::Sparse(_)));
        for (k, x) in rows {
            dense.add(k, x);
            sparse.add(k, x);
        }
        let expected = vec![(0, (1, 4, 16)), (2, (2, 10, 50)), (7, (2, 4, 10))];
        assert_eq!(dense.into_sorted(), expected);
        assert_eq!(sparse.into_sorted(), expected);
    }

    #[test]
    fn cronbach_alpha_uses_responses_that_rated_every_item() -> PolarsResult<()> {
        // Two items; three complete responses and one that rated item 0 only.
        let n_items = 2;
        let key = |answered: u64| Some(answered); // pcid 0
        let responses = df!(
            PCID => [0u64, 0, 0, 0, 0],
            ALPHA_KEY => [key(2), key(2), key(2), key(1), None],
            RATING_SUM => [3i64, 4, 8, 5, 2],
        )?;
        let answers = df!(
            RID => [0u32, 0, 1, 1, 2, 2, 3, 4, 4],
            ITEM => [0u32, 1, 0, 1, 0, 1, 0, 0, 1],
            RATING => [1i32, 2, 2, 2, 3, 5, 5, 1, 1],
        )?;
        let out = cronbach_alpha(&responses, &answers, n_items)?.collect()?;
        let alpha = out.column(CRONBACH_ALPHA)?.f64()?.get(0);
        // var = 1 and 3, var of totals (3, 4, 8) = 7: 2 * (1 - 4/7).
        let expected = 6.0 / 7.0;
        assert!(
            alpha.is_some_and(|a| (a - expected).abs() < 1e-12),
            "{alpha:?}"
        );
        Ok(())
    }

    #[test]
    fn group_without_scored_institutions_has_null_statistics() -> PolarsResult<()> {
        let institutions = df!(
            PERIOD => ["2012", "2012", "2012"],
            CATEGORY_CODE => ["water", "water", "power"],
            DISTRICT_CODE => ["d1", "d2", "d2"],
            SCORE => [Some(60.0), Some(80.0), None],
            N_CITIZEN => [3i64, 4, 0],
            N_ASSESSOR => [1i64, 0, 0],
        )?;
        let out = group_indicators(institutions.lazy())?.collect()?;
        assert_eq!(out.height(), 4);
        let codes: Vec<_> = out.column(GROUP_CODE)?.str()?.iter().collect();
        assert_eq!(
            codes,
            [Some("power"), Some("water"), Some("d1"), Some("d2")]
        );
        let n: Vec<_> = out.column(N_INSTITUTIONS)?.i64()?.iter().collect();
        assert_eq!(n, [Some(0), Some(2), Some(1), Some(1)]);
        let mean: Vec<_> = out.column(MEAN_SCORE)?.f64()?.iter().collect();
        assert_eq!(mean, [None, Some(70.0), Some(60.0), Some(80.0)]);
        let responses: Vec<_> = out.column(N_RESPONSES)?.i64()?.iter().collect();
        assert_eq!(responses, [Some(0), Some(8), Some(4), Some(4)]);
        Ok(())
    }
}
