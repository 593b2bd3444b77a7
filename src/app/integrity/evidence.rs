//! Which pool responses stand behind a piece of evidence (`integrity.md`,
//! "What the office does with it"): those of the top network, inside the
//! burst window, with the repeated comment key, of roaming respondents, the
//! straight-liners at the top of the scale, or the speeders. Each rule is
//! the measure's own, so the list has as many responses as the evidence
//! counts.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;

use super::review::{IntegrityRow, Measure};
use crate::db::integrity::{self, PoolResponse};
use crate::domain::period::Period;

/// The responses behind `measure` of `row` (an institution of `period`),
/// oldest first.
pub async fn behind(
    db: &impl ConnectionTrait,
    model: &analysis::Model,
    period: Period,
    institution_id: i32,
    row: &IntegrityRow,
    measure: Measure,
) -> anyhow::Result<Vec<PoolResponse>> {
    let period = period.to_string();
    let pool = integrity::pool(db, institution_id, &period).await?;
    let roaming = if measure == Measure::Roaming {
        integrity::roaming_respondents(db, &period, model.integrity.roaming_institutions).await?
    } else {
        HashSet::new()
    };
    Ok(select(measure, row, model, pool, &roaming))
}

/// The pool responses `measure` counts (see the module comment); pure, so
/// the rules are tested without a database.
pub fn select(
    measure: Measure,
    row: &IntegrityRow,
    model: &analysis::Model,
    pool: Vec<PoolResponse>,
    roaming: &HashSet<String>,
) -> Vec<PoolResponse> {
    let burst = row
        .burst_start
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|start| {
            let start = start.with_timezone(&Utc);
            (
                start,
                start + Duration::minutes(model.integrity.burst_window_minutes),
            )
        });
    pool.into_iter()
        .filter(|p| {
            let r = &p.response;
            match measure {
                Measure::Network => row.top_network.is_some() && r.network_hash == row.top_network,
                // The window holds timed responses (with a network) from its
                // start, inclusive, to start + width, exclusive. The export
                // writes milliseconds and `burst_start` is a whole
                // millisecond, so comparing stored instants at full
                // precision selects exactly the responses the measure counted.
                Measure::Burst => burst.is_some_and(|(start, end)| {
                    r.network_hash.is_some() && start <= r.submitted_at && r.submitted_at < end
                }),
                Measure::DuplicateComment => {
                    row.top_comment_key.is_some() && r.comment_key == row.top_comment_key
                }
                Measure::AllTop => all_top(p, model.scale_points),
                Measure::Roaming => roaming.contains(&r.respondent_hash),
                Measure::Speeder => speeder(p, model),
            }
        })
        .collect()
}

/// At least 4 items answered, every answered rating the best on the scale.
fn all_top(p: &PoolResponse, scale_points: i64) -> bool {
    let answered: Vec<i64> = p
        .ratings
        .iter()
        .filter_map(|(_, r)| r.map(i64::from))
        .collect();
    answered.len() >= 4 && answered.iter().all(|&r| r == scale_points)
}

/// A speeder under `indicators.md`: complete, its duration known and under
/// `speeder_ms_per_item` per answered item.
fn speeder(p: &PoolResponse, model: &analysis::Model) -> bool {
    let shown = p.ratings.len() as f64;
    let answered = p.ratings.iter().filter(|(_, r)| r.is_some()).count() as f64;
    let incomplete = answered == 0.0 || answered / shown < model.min_completion;
    !incomplete
        && p.response
            .duration_ms
            .is_some_and(|d| (d as f64) < model.speeder_ms_per_item * answered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::response;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| unreachable!("a valid instant"))
    }

    fn response(id: i64, time: &str, network: Option<&str>) -> PoolResponse {
        PoolResponse {
            response: response::Model {
                id,
                institution_id: 1,
                questionnaire_id: 1,
                source: "citizen".into(),
                period: "2026-10".into(),
                submitted_at: at(time),
                duration_ms: Some(60_000),
                channel: "web".into(),
                respondent_hash: format!("r{id}"),
                comment: None,
                voided: false,
                network_hash: network.map(str::to_owned),
                comment_key: None,
                void_reason: None,
            },
            ratings: (1..=5).map(|i| (format!("q{i}"), Some(3))).collect(),
        }
    }

    fn row() -> IntegrityRow {
        IntegrityRow {
            institution_code: "w".into(),
            category_code: "water".into(),
            n: 5,
            shares: [None; 6],
            z: [None; 6],
            flags: Vec::new(),
            top_network: Some("wifi".into()),
            top_network_n: Some(2),
            burst_start: Some("2026-10-05T09:00:00.125Z".into()),
            burst_n: Some(2),
            top_comment_key: None,
            top_comment_n: None,
        }
    }

    fn model() -> analysis::Model {
        analysis::Model::from_toml_str(
            "scale_points = 5\nmin_completion = 0.5\nspeeder_ms_per_item = 1000\n\
             min_sample = 1\nprior_strength = 0\nrectify_below = 70.0\n\
             rectify_dimension_below = 60.0\npoints_max = 20.0\n\
             [source_weights]\ncitizen = 1.0\nassessor = 0.0\n\
             [[grades]]\ngrade = \"A\"\nmin = 0.0\n\
             [dimension_weights.default]\nattitude = 1.0\n",
        )
        .unwrap_or_else(|e| unreachable!("a valid model: {e}"))
    }

    fn ids(v: &[PoolResponse]) -> Vec<i64> {
        v.iter().map(|p| p.response.id).collect()
    }

    #[test]
    fn the_burst_window_is_start_inclusive_end_exclusive_over_timed_responses() {
        let pool = vec![
            // A hair before the (millisecond) start.
            response(1, "2026-10-05T09:00:00.124999Z", Some("a")),
            response(2, "2026-10-05T09:00:00.125Z", Some("b")),
            response(3, "2026-10-05T09:59:59.999Z", Some("c")),
            // An upload's time: no network, never timed.
            response(4, "2026-10-05T09:30:00Z", None),
            response(5, "2026-10-05T10:00:00.125Z", Some("d")),
        ];
        let got = select(Measure::Burst, &row(), &model(), pool, &HashSet::new());
        assert_eq!(ids(&got), [2, 3]);
    }

    #[test]
    fn network_comment_and_roaming_evidence_match_their_keys_only() {
        let mut pool = vec![
            response(1, "2026-10-05T09:00:00Z", Some("wifi")),
            response(2, "2026-10-05T09:00:00Z", Some("other")),
            response(3, "2026-10-05T09:00:00Z", None),
        ];
        pool[0].response.comment_key = Some("k".into());
        pool[2].response.comment_key = Some("k".into());
        let r = row();
        let got = select(
            Measure::Network,
            &r,
            &model(),
            pool.clone(),
            &HashSet::new(),
        );
        assert_eq!(ids(&got), [1]);
        // No top comment key: nothing, even where keys repeat.
        let got = select(
            Measure::DuplicateComment,
            &r,
            &model(),
            pool.clone(),
            &HashSet::new(),
        );
        assert!(got.is_empty());
        let with_key = IntegrityRow {
            top_comment_key: Some("k".into()),
            ..row()
        };
        let got = select(
            Measure::DuplicateComment,
            &with_key,
            &model(),
            pool.clone(),
            &HashSet::new(),
        );
        assert_eq!(ids(&got), [1, 3]);
        let roaming = HashSet::from(["r2".to_owned()]);
        assert_eq!(
            ids(&select(Measure::Roaming, &r, &model(), pool, &roaming)),
            [2]
        );
    }

    #[test]
    fn top_straight_liners_and_speeders_follow_the_indicator_rules() {
        let mut pool: Vec<PoolResponse> = (1..=5)
            .map(|i| response(i, "2026-10-05T09:00:00Z", None))
            .collect();
        // 1: every answered item at 5, one not applicable: counts.
        pool[0].ratings = (1..=5)
            .map(|i| (format!("q{i}"), (i != 3).then_some(5)))
            .collect();
        // 2: only three answered at 5: too few.
        pool[1].ratings = (1..=5)
            .map(|i| (format!("q{i}"), (i <= 3).then_some(5)))
            .collect();
        // 3: fast and complete (4 s for 5 items at 1 s each): a speeder.
        pool[2].response.duration_ms = Some(4_999);
        // 4: fast but incomplete (2 of 5 answered): not a speeder.
        pool[3].response.duration_ms = Some(100);
        pool[3].ratings = (1..=5)
            .map(|i| (format!("q{i}"), (i <= 2).then_some(4)))
            .collect();
        // 5: exactly at the limit: not a speeder.
        pool[4].response.duration_ms = Some(5_000);
        let m = model();
        let got = select(Measure::AllTop, &row(), &m, pool.clone(), &HashSet::new());
        assert_eq!(ids(&got), [1]);
        let got = select(Measure::Speeder, &row(), &m, pool, &HashSet::new());
        assert_eq!(ids(&got), [3]);
    }
}
