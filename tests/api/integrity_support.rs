//! A period with planted manipulations, for the integrity tests: eight water
//! institutions of 32 citizen responses each (the default model's
//! `min_sample` is 30), every response from a network of its own, an hour
//! apart, with varied ratings; then one pattern each:
//!
//! | institution | pattern | responses behind it |
//! |---|---|---|
//! | water-01 | office Wi-Fi: one network | 20 |
//! | water-02 | one comment pasted | 12 |
//! | water-03 | a burst within 24 minutes | 16 |
//! | water-04 | every item at the top | 20 |
//! | water-05 | devices that rate five institutions | 10 |
//!
//! water-06..08 are clean.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingyi::db::writer::{NewAnswer, NewResponse, Source, WriteOutcome};
use pingyi::domain::period::Period;

use crate::helpers::TestApp;

pub const PERIOD: &str = "2026-10";
pub const PASTED: &str = "服务很好，非常满意！";

/// The ids of the responses behind each planted pattern, by institution.
pub struct Planted {
    pub behind: HashMap<&'static str, Vec<i64>>,
    /// Every stored response id, by institution.
    pub all: HashMap<String, Vec<i64>>,
}

/// One response to store.
struct Row {
    code: String,
    at: DateTime<Utc>,
    network: String,
    respondent: String,
    comment: Option<(String, String)>,
    all_top: bool,
    salt: usize,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 5, 1, 0, 0).unwrap()
}

/// Stores the planted period (see the module comment).
pub async fn plant(app: &TestApp) -> Planted {
    let mut rows = Vec::new();
    let mut behind: HashMap<&'static str, Vec<usize>> = HashMap::new();
    for k in 1..=8 {
        let code = format!("water-0{k}");
        for i in 0..32usize {
            let mut row = Row {
                code: code.clone(),
                at: start() + Duration::hours(i as i64 * 5 + k),
                network: format!("net-{code}-{i}"),
                respondent: format!("dev-{code}-{i}"),
                comment: (i < 4)
                    .then(|| (format!("第{i}条意见：{code}"), format!("ck-{code}-{i}"))),
                all_top: false,
                salt: i + k as usize,
            };
            let planted = match (k, i) {
                (1, 0..20) => {
                    row.network = "office-wifi".into();
                    Some("water-01")
                }
                (2, 4..16) => {
                    row.comment = Some((PASTED.into(), "pasted".into()));
                    Some("water-02")
                }
                (3, 8..24) => {
                    row.at = start() + Duration::hours(300) + Duration::seconds(90 * i as i64);
                    Some("water-03")
                }
                (4, 0..20) => {
                    row.all_top = true;
                    Some("water-04")
                }
                (5, 0..10) => {
                    row.respondent = format!("roamer-{i}");
                    Some("water-05")
                }
                _ => None,
            };
            if let Some(p) = planted {
                behind.entry(p).or_default().push(rows.len());
            }
            rows.push(row);
        }
    }
    // The roamers also rate four power institutions (pools too small to be
    // judged themselves: n = 10 < min_sample).
    for k in 1..=4 {
        for i in 0..10usize {
            rows.push(Row {
                code: format!("power-0{k}"),
                at: start() + Duration::hours(i as i64 * 7 + k),
                network: format!("net-power-{k}-{i}"),
                respondent: format!("roamer-{i}"),
                comment: None,
                all_top: false,
                salt: i,
            });
        }
    }
    let ids = store(app, &rows).await;
    let mut all: HashMap<String, Vec<i64>> = HashMap::new();
    for (row, id) in rows.iter().zip(&ids) {
        all.entry(row.code.clone()).or_default().push(*id);
    }
    Planted {
        behind: behind
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(|i| ids[i]).collect()))
            .collect(),
        all,
    }
}

async fn store(app: &TestApp, rows: &[Row]) -> Vec<i64> {
    let catalog = app.state.catalog.get();
    let period: Period = PERIOD.parse().unwrap();
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        let inst = catalog.institution(&row.code).unwrap();
        let q = catalog.questionnaire_for(inst).unwrap();
        let response = NewResponse {
            institution_id: inst.id,
            questionnaire_id: q.id,
            source: Source::Citizen,
            period,
            submitted_at: row.at,
            duration_ms: Some(60_000),
            channel: "web",
            respondent_hash: row.respondent.clone(),
            comment: row.comment.as_ref().map(|(text, _)| text.clone()),
            network_hash: Some(row.network.clone()),
            comment_key: row.comment.as_ref().map(|(_, key)| key.clone()),
            answers: q
                .items
                .iter()
                .enumerate()
                .map(|(j, item)| NewAnswer {
                    item_code: item.code.clone(),
                    dimension_code: item.dimension_code.clone(),
                    rating: Some(if row.all_top {
                        5
                    } else {
                        // Varied: never every item at 5.
                        1 + ((row.salt + j) % 5) as i16
                    }),
                })
                .collect(),
            ticket_hash: None,
        };
        match app.state.writer.submit(response).await.unwrap() {
            WriteOutcome::Stored(id) => ids.push(id),
            other => panic!("not stored: {other:?}"),
        }
    }
    ids
}
