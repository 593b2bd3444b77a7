//! The answer table reduced to integer keys, in one streamed pass.
//!
//! Answers are the big table (about 6.5 rows per response). They are read
//! once (`response_id`, `item_code`, `dimension_code`, `rating`) on polars'
//! streaming engine and walked batch by batch in plain Rust: each row gets
//! its response's `__rid`, its item's `__item` and `__dim`, and its rating as
//! i32; the distinct (item, dimension) pairs and the row-level rule breaks
//! fall out of the same walk. Only a few batches of the text columns are in
//! memory at once: materialising them whole (16 bytes per code and row) was
//! most of the pipeline's peak memory, and the page faults of that memory
//! most of its time.

use std::num::NonZeroUsize;
use std::sync::mpsc;

use polars::prelude::*;

use crate::columns::*;
use crate::error::{AnalysisError, unreadable};
use crate::input::bad;
use crate::stages::internal::*;
use crate::validate::{self, Items};

/// Rows per batch handed to the walk: enough to amortise the per-batch
/// work, few enough that a batch's text columns stay small (~60 MB).
const BATCH_ROWS: usize = 1 << 20;

/// `__rid` of a row whose response is unknown (null in the output).
const NO_RESPONSE: IdxSize = IdxSize::MAX;

/// The answers as integer keys, and the item table they index.
pub(crate) struct Encoded {
    /// `__rid` (null for an unknown response), `__item` and `__dim` (null for a
    /// row without a known item), `rating` (i32); in input order.
    pub compact: DataFrame,
    pub items: Items,
    /// Some row breaks a row-level rule: an empty code, or a rating that is
    /// not an integer or is out of range.
    pub flagged: bool,
}

type StrArray = <StringType as PolarsDataType>::Array;

/// Encodes `answers` (normalised) against `responses` (`response_id`, in
/// `__rid` order). An item with two dimensions is an input error; the other
/// rules are only flagged here and reported by [`validate::answer_rows`],
/// which finds the first offending row.
pub(crate) fn encode(
    answers: LazyFrame,
    responses: &DataFrame,
    scale_points: i64,
) -> Result<Encoded, AnalysisError> {
    let query = answers.select([
        col(RESPONSE_ID),
        col(ITEM_CODE),
        col(DIMENSION_CODE),
        col(RATING),
        col(bad(RATING)),
    ]);
    let response_ids = responses.column(RESPONSE_ID)?.str()?.rechunk();
    let mut walk = Walk::new(response_ids.downcast_as_array());
    stream_batches(ANSWERS, query, BATCH_ROWS, |batch| {
        walk.batch(batch, scale_points)
    })?;
    walk.finish()
}

/// Runs `query` (which reads the answers) on the streaming engine and hands
/// its rows to `each`, in order, in batches of about `rows` rows. The engine
/// runs on a thread of its own and waits while a batch is being handled, so
/// at most a few batches are in memory at once. An error of `each` stops the
/// query and is returned as it is; an error of the query is one of reading
/// input table `table` (see [`unreadable`]).
pub(crate) fn stream_batches(
    table: &str,
    query: LazyFrame,
    rows: usize,
    mut each: impl FnMut(DataFrame) -> PolarsResult<()>,
) -> Result<(), AnalysisError> {
    let (send, receive) = mpsc::sync_channel::<DataFrame>(1);
    // The callback returns whether to stop: when the receiver is gone.
    let sink = query.sink_batches(
        PlanCallback::new(move |batch| Ok(send.send(batch).is_err())),
        true,
        NonZeroUsize::new(rows),
    )?;
    std::thread::scope(|scope| {
        let engine = scope.spawn(move || sink.collect_with_engine(Engine::Streaming));
        // Ends when the engine is done and has dropped the sender.
        let handled = receive.iter().try_for_each(&mut each);
        drop(receive);
        let ran = match engine.join() {
            Ok(ran) => ran,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        handled?;
        ran.map(|_| ()).map_err(unreadable(table))
    })
}

/// A present (non-null) string of a batch, and its view.
///
/// A code of up to 12 bytes is stored inside its 16-byte view, so two such
/// codes are equal exactly when their views are, without reading the text.
#[derive(Clone, Copy)]
struct Code<'a> {
    view: u128,
    inline: bool,
    text: &'a str,
}

impl<'a> Code<'a> {
    /// The non-null value at `row`.
    fn at(array: &'a StrArray, row: usize) -> Option<Code<'a>> {
        let text = array.get(row)?;
        let view = array.views()[row];
        Some(Code {
            view: view.as_u128(),
            inline: view.is_inline(),
            text,
        })
    }

    fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The code as kept across batches.
    fn keep(self) -> OwnedCode {
        OwnedCode {
            inline_view: self.inline.then_some(self.view),
            text: self.text.to_owned(),
        }
    }
}

impl PartialEq for Code<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.inline && other.inline {
            self.view == other.view
        } else {
            // The views of longer strings point into their chunk's buffers.
            self.text == other.text
        }
    }
}

/// A code kept across batches.
#[derive(Clone, PartialEq)]
struct OwnedCode {
    /// The view when the code is inline (up to 12 bytes).
    inline_view: Option<u128>,
    text: String,
}

impl OwnedCode {
    fn matches(&self, code: Code<'_>) -> bool {
        match (self.inline_view, code.inline) {
            (Some(view), true) => view == code.view,
            _ => self.text == code.text,
        }
    }
}

/// What the pass over the answer rows finds, batch after batch.
struct Walk<'r> {
    /// The responses' ids, in `__rid` order.
    responses: &'r StrArray,
    /// The next response a run may match while the runs follow the order of
    /// the responses (the usual export)...
    cursor: usize,
    /// ...and, once they do not, every response by id.
    by_id: Option<PlHashMap<&'r str, IdxSize>>,
    /// The last row's `response_id` (`Some(None)` for a null one).
    last_id: Option<Option<OwnedCode>>,
    /// `__rid` of the current run of rows of one `response_id`.
    run_rid: IdxSize,
    /// `__rid` of every row so far ([`NO_RESPONSE`] for an unknown one).
    rids: Vec<IdxSize>,
    items: CodeIndex,
    /// The dimensions each local item was seen with (one, unless the input
    /// is wrong).
    item_dims: Vec<Vec<OwnedCode>>,
    /// Per row, the local item id (`u32::MAX` for an empty item code).
    local_items: Vec<u32>,
    ratings: Option<Series>,
    flagged: bool,
}

impl<'r> Walk<'r> {
    fn new(responses: &'r StrArray) -> Walk<'r> {
        Walk {
            responses,
            cursor: 0,
            by_id: None,
            last_id: None,
            run_rid: NO_RESPONSE,
            rids: Vec::new(),
            items: CodeIndex::default(),
            item_dims: Vec::new(),
            local_items: Vec::new(),
            ratings: None,
            flagged: false,
        }
    }

    fn batch(&mut self, mut batch: DataFrame, scale_points: i64) -> PolarsResult<()> {
        batch.align_chunks_par();
        let ratings = batch.column(RATING)?;
        let as_i32 = ratings.cast(&DataType::Int32)?.take_materialized_series();
        match &mut self.ratings {
            Some(all) => {
                all.append(&as_i32)?;
            }
            None => self.ratings = Some(as_i32.with_name(RATING.into())),
        }
        let chunks = batch
            .column(RESPONSE_ID)?
            .str()?
            .downcast_iter()
            .zip(batch.column(ITEM_CODE)?.str()?.downcast_iter())
            .zip(batch.column(DIMENSION_CODE)?.str()?.downcast_iter())
            .zip(ratings.i64()?.downcast_iter())
            .zip(batch.column(&bad(RATING))?.bool()?.downcast_iter());
        for ((((ids, items), dims), ratings), unparsed) in chunks {
            self.chunk(ids, items, dims, |row| {
                ratings.get(row).is_some_and(|r| r < 1 || r > scale_points)
                    || unparsed.get(row) == Some(true)
            });
        }
        Ok(())
    }

    /// Walks one chunk (the same rows of each column). `bad_rating(row)`
    /// tells whether the row's rating breaks a rule.
    fn chunk(
        &mut self,
        ids: &StrArray,
        items: &StrArray,
        dims: &StrArray,
        bad_rating: impl Fn(usize) -> bool,
    ) {
        self.rids.reserve(ids.len());
        self.local_items.reserve(ids.len());
        let mut previous: Option<Option<Code<'_>>> = None;
        for row in 0..ids.len() {
            let id = Code::at(ids, row);
            let new_run = match (previous, &self.last_id) {
                (Some(Some(p)), _) => id.is_none_or(|id| id != p),
                (Some(None), _) => true,
                // The first row of the chunk: compare with the last row seen.
                (None, Some(Some(last))) => id.is_none_or(|id| !last.matches(id)),
                (None, _) => true,
            };
            if new_run {
                self.run_rid = id.map_or(NO_RESPONSE, |id| self.find_response(id));
            }
            previous = Some(id);
            self.rids.push(self.run_rid);
            let item = Code::at(items, row).filter(|c| !c.is_empty());
            let dim = Code::at(dims, row).filter(|c| !c.is_empty());
            let local = match item {
                Some(code) => {
                    let local = self.items.id(code);
                    if local as usize == self.item_dims.len() {
                        self.item_dims.push(Vec::new());
                    }
                    if let Some(dim) = dim {
                        let known = &mut self.item_dims[local as usize];
                        if !known.iter().any(|k| k.matches(dim)) {
                            known.push(dim.keep());
                        }
                    }
                    local
                }
                None => u32::MAX,
            };
            self.local_items.push(local);
            self.flagged |= id.is_none_or(|c| c.is_empty())
                || item.is_none()
                || dim.is_none()
                || bad_rating(row);
        }
        if let Some(last) = previous {
            self.last_id = Some(last.map(Code::keep));
        }
    }

    /// The `__rid` of a new run's `response_id`: the next response with that
    /// id while the runs follow the responses' order, else by hashing (an
    /// unknown or repeated id, or answers in another order).
    fn find_response(&mut self, id: Code<'_>) -> IdxSize {
        if self.by_id.is_none() {
            while self.cursor < self.responses.len() {
                let candidate = Code::at(self.responses, self.cursor);
                self.cursor += 1;
                if candidate.is_some_and(|c| c == id) {
                    return (self.cursor - 1) as IdxSize;
                }
            }
            let responses = self.responses;
            self.by_id = Some(
                (0..responses.len())
                    .filter_map(|i| Some((responses.get(i)?, i as IdxSize)))
                    .collect(),
            );
        }
        self.by_id
            .as_ref()
            .and_then(|by_id| by_id.get(id.text).copied())
            .unwrap_or(NO_RESPONSE)
    }

    /// The encoded table and the item table.
    fn finish(self) -> Result<Encoded, AnalysisError> {
        let mut pairs: Vec<(&str, &str)> = self
            .items
            .codes
            .iter()
            .zip(&self.item_dims)
            .flat_map(|(item, dims)| dims.iter().map(|d| (item.text.as_str(), d.text.as_str())))
            .collect();
        pairs.sort_unstable();
        // With an item of two dimensions this names the conflict.
        let items = validate::items(&pairs)?;
        // Local item id (order of first appearance) to `__item` (its row
        // among the sorted pairs) and `__dim`; `None` for an item never seen
        // with a dimension.
        let local: Vec<Option<(IdxSize, IdxSize)>> = self
            .items
            .codes
            .iter()
            .map(|code| {
                let i = pairs.binary_search_by(|p| p.0.cmp(&code.text)).ok()?;
                Some((i as IdxSize, *items.item_dims.get(i)?))
            })
            .collect();
        let known = |l: u32| local.get(l as usize).copied().flatten();
        let height = self.rids.len();
        let (item, dim): (IdxCa, IdxCa) =
            if local.iter().all(Option::is_some) && !self.local_items.contains(&u32::MAX) {
                // The usual case: every row has a known item.
                let dim = self
                    .local_items
                    .iter()
                    .map(|&l| known(l).map_or(0, |p| p.1))
                    .collect();
                let mut item = self.local_items;
                for l in item.iter_mut() {
                    *l = known(*l).map_or(0, |p| p.0);
                }
                (
                    IdxCa::from_vec(ITEM.into(), item),
                    IdxCa::from_vec(DIM.into(), dim),
                )
            } else {
                (
                    self.local_items
                        .iter()
                        .map(|&l| known(l).map(|p| p.0))
                        .collect(),
                    self.local_items
                        .iter()
                        .map(|&l| known(l).map(|p| p.1))
                        .collect(),
                )
            };
        let rid = if self.rids.contains(&NO_RESPONSE) {
            self.rids
                .iter()
                .map(|&r| (r != NO_RESPONSE).then_some(r))
                .collect()
        } else {
            IdxCa::from_vec(RID.into(), self.rids)
        };
        let rating = match self.ratings {
            Some(r) => r,
            None => Series::new_empty(RATING.into(), &DataType::Int32),
        };
        let compact = DataFrame::new(
            height,
            vec![
                rid.with_name(RID.into()).into_column(),
                item.with_name(ITEM.into()).into_column(),
                dim.with_name(DIM.into()).into_column(),
                rating.into_column(),
            ],
        )?;
        Ok(Encoded {
            compact,
            items,
            flagged: self.flagged,
        })
    }
}

/// Item codes to dense local ids, in order of first appearance.
#[derive(Default)]
struct CodeIndex {
    codes: Vec<OwnedCode>,
    ids: PlHashMap<String, u32>,
    /// The id after the last one returned.
    next: usize,
}

impl CodeIndex {
    /// The id of `code`, new if unseen. A response's answers usually list the
    /// items in questionnaire order, so the successor of the previous item,
    /// then the first item, are tried before hashing.
    fn id(&mut self, code: Code<'_>) -> u32 {
        let guess = [self.next, 0]
            .into_iter()
            .find(|&g| self.codes.get(g).is_some_and(|c| c.matches(code)));
        let id = match guess {
            Some(g) => g as u32,
            None => match self.ids.get(code.text) {
                Some(&id) => id,
                None => {
                    let id = self.codes.len() as u32;
                    self.codes.push(code.keep());
                    self.ids.insert(code.text.to_owned(), id);
                    id
                }
            },
        };
        self.next = id as usize + 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn responses(ids: &[&str]) -> PolarsResult<DataFrame> {
        df!(RESPONSE_ID => ids)?.with_row_index(RID.into(), None)
    }

    fn answers(rows: &[(&str, &str, &str, Option<i64>)]) -> PolarsResult<LazyFrame> {
        Ok(df!(
            RESPONSE_ID => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ITEM_CODE => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            DIMENSION_CODE => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            RATING => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            bad(RATING) => vec![false; rows.len()],
        )?
        .lazy())
    }

    /// One encoded row: `__rid`, `__item`, `__dim`, rating.
    type Row = (Option<u32>, Option<u32>, Option<u32>, Option<i32>);

    fn keys(out: &Encoded) -> PolarsResult<Vec<Row>> {
        let c = &out.compact;
        Ok(c.column(RID)?
            .idx()?
            .iter()
            .zip(c.column(ITEM)?.idx()?.iter())
            .zip(c.column(DIM)?.idx()?.iter())
            .zip(c.column(RATING)?.i32()?.iter())
            .map(|(((r, i), d), x)| (r, i, d, x))
            .collect())
    }

    #[test]
    fn rows_get_their_response_item_and_dimension_in_any_order() -> Result<(), AnalysisError> {
        let responses = responses(&["r1", "r2", "r3"])?;
        let rows = [
            ("r1", "q2", "speed", Some(4)),
            ("r1", "q1", "staff", Some(5)),
            ("r3", "q1", "staff", None),
            ("r2", "q3", "staff", Some(1)),
            ("r1", "q3", "staff", Some(2)),
        ];
        let out = encode(answers(&rows)?, &responses, 5)?;
        assert!(!out.flagged);
        // Items sorted: q1, q2, q3; dimensions sorted: speed, staff.
        assert_eq!(out.items.n_items, 3);
        assert_eq!(out.items.dims, ["speed", "staff"]);
        assert_eq!(
            keys(&out)?,
            [
                (Some(0), Some(1), Some(0), Some(4)),
                (Some(0), Some(0), Some(1), Some(5)),
                (Some(2), Some(0), Some(1), None),
                (Some(1), Some(2), Some(1), Some(1)),
                (Some(0), Some(2), Some(1), Some(2)),
            ]
        );
        Ok(())
    }

    #[test]
    fn unknown_responses_and_broken_rows_are_flagged() -> Result<(), AnalysisError> {
        let responses = responses(&["r1"])?;
        let rows = [
            ("r1", "q1", "staff", Some(3)),
            ("r9", "q1", "staff", Some(3)),
        ];
        let out = encode(answers(&rows)?, &responses, 5)?;
        assert!(!out.flagged, "an unknown response is not a row rule");
        assert_eq!(out.compact.column(RID)?.null_count(), 1);
        for broken in [
            ("r1", "", "staff", Some(3)),
            ("r1", "q2", "", Some(3)),
            ("", "q2", "staff", Some(3)),
            ("r1", "q2", "staff", Some(6)),
            ("r1", "q2", "staff", Some(0)),
        ] {
            let out = encode(answers(&[rows[0], broken])?, &responses, 5)?;
            assert!(out.flagged, "{broken:?}");
        }
        Ok(())
    }

    #[test]
    fn an_item_with_two_dimensions_is_named() -> Result<(), AnalysisError> {
        let responses = responses(&["r1", "r2"])?;
        let rows = [
            ("r1", "q1", "staff", Some(3)),
            ("r1", "q2", "speed", Some(3)),
            ("r2", "q1", "speed", Some(3)),
        ];
        let err = match encode(answers(&rows)?, &responses, 5) {
            Err(e) => e,
            Ok(_) => panic!("accepted an item with two dimensions"),
        };
        assert_eq!(
            err.to_string(),
            "answers: item_code 'q1': has two dimension_codes: 'speed' and 'staff'"
        );
        Ok(())
    }

    #[test]
    fn no_answers_give_empty_tables() -> Result<(), AnalysisError> {
        let out = encode(answers(&[])?, &responses(&["r1"])?, 5)?;
        assert_eq!(out.compact.height(), 0);
        assert_eq!(out.items.n_items, 0);
        assert!(!out.flagged);
        Ok(())
    }
}
