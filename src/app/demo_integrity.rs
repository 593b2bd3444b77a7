//! The demo's side of rating integrity: its citizen responses carry network
//! and comment keys like real submissions (made by the same functions, from
//! made-up addresses), and three institutions carry a planted manipulation,
//! so a newcomer sees `/office/integrity` at work:
//!
//! | institution | pattern |
//! |---|---|
//! | power-03 | staff rating from the office Wi-Fi, over the days |
//! | gas-02 | the same praise pasted, give or take punctuation and emoji |
//! | transit-01 | a pile of top ratings one evening after closing time |

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use super::demo_history::Rhythm;
use super::integrity::collect;
use crate::db::catalog::{Catalog, Questionnaire};
use crate::db::writer::{NewAnswer, NewResponse, Source};
use crate::domain::keys::Keys;
use crate::domain::period::Period;
use crate::guard::client_ip::ClientAddr;

/// The institution whose staff rate it from the office Wi-Fi.
pub const WIFI: &str = "power-03";
/// The institution with a pasted comment.
pub const PASTED: &str = "gas-02";
/// The institution with an after-hours burst.
pub const BURST: &str = "transit-01";

const WIFI_RESPONSES: usize = 22;
const BURST_RESPONSES: usize = 16;
/// The pasted praise as it was typed each time: one text once normalised.
const PASTED_TEXTS: [&str; 4] = [
    "服务很好，非常满意！",
    "服务很好 非常满意!!",
    "服务很好，非常满意👍👍",
    "【服务很好】非常满意。",
];
const PASTED_RESPONSES: usize = 14;

/// A client address: a quarter of citizens on a few dozen carrier networks
/// shared across the city, the others each on a network of their own.
fn citizen_address(rng: &mut StdRng) -> ClientAddr {
    let ip = if rng.gen_range(0..4) == 0 {
        Ipv4Addr::new(100, 64, rng.gen_range(0..40), rng.gen_range(1..255))
    } else {
        Ipv4Addr::new(
            10,
            rng.gen_range(0..=255),
            rng.gen_range(0..=255),
            rng.gen_range(1..255),
        )
    };
    ClientAddr::new(IpAddr::V4(ip))
}

/// The network and comment keys of a demo citizen response, as the survey
/// handler makes them.
pub fn keys_of(
    keys: &Keys,
    period: Period,
    rng: &mut StdRng,
    comment: Option<&str>,
) -> (Option<String>, Option<String>) {
    (
        collect::network_hash(keys, period, Some(citizen_address(rng))),
        collect::comment_key(keys, period, comment),
    )
}

fn top_marks(questionnaire: &Questionnaire, rng: &mut StdRng, all_five: bool) -> Vec<NewAnswer> {
    questionnaire
        .items
        .iter()
        .map(|item| NewAnswer {
            item_code: item.code.clone(),
            dimension_code: item.dimension_code.clone(),
            rating: Some(if all_five || rng.gen_range(0..4) != 0 {
                5
            } else {
                4
            }),
        })
        .collect()
}

/// The planted responses of `period` (see the module comment), at times
/// the rhythm allows (never after now). The burst is on the evening before
/// the last day so far, when the period has one.
pub(crate) fn planted(
    keys: &Keys,
    catalog: &Catalog,
    period: Period,
    rhythm: &Rhythm,
    rng: &mut StdRng,
) -> Vec<NewResponse> {
    let mut out = Vec::new();
    let mut push = |code: &str,
                    n: usize,
                    at: DateTime<Utc>,
                    network: Option<String>,
                    comment: Option<&str>,
                    answers: Vec<NewAnswer>| {
        let Some(institution) = catalog.institution(code) else {
            return;
        };
        let Some(questionnaire) = catalog.questionnaire_for(institution) else {
            return;
        };
        out.push(NewResponse {
            institution_id: institution.id,
            questionnaire_id: questionnaire.id,
            source: Source::Citizen,
            period,
            submitted_at: at,
            duration_ms: Some(30_000 + 1_000 * n as i64),
            channel: "web",
            respondent_hash: format!("demo-{code}-{period}-planted{n}"),
            comment: comment.map(str::to_owned),
            network_hash: network,
            comment_key: collect::comment_key(keys, period, comment),
            answers,
            ticket_hash: None,
        });
    };
    let questionnaire = |code: &str| {
        catalog
            .institution(code)
            .and_then(|i| catalog.questionnaire_for(i))
    };

    // Staff on the office Wi-Fi, a few a day in working hours.
    if let Some(q) = questionnaire(WIFI) {
        let office = ClientAddr::new(IpAddr::V4(Ipv4Addr::new(172, 20, 3, 17)));
        for n in 0..WIFI_RESPONSES {
            let network = collect::network_hash(keys, period, Some(office));
            let answers = top_marks(&q, rng, false);
            push(WIFI, n, rhythm.draw(rng), network, None, answers);
        }
    }
    // The same praise pasted from phones on different networks.
    if let Some(q) = questionnaire(PASTED) {
        for n in 0..PASTED_RESPONSES {
            let network = collect::network_hash(keys, period, Some(citizen_address(rng)));
            let text = PASTED_TEXTS[n % PASTED_TEXTS.len()];
            let answers = top_marks(&q, rng, true);
            push(PASTED, n, rhythm.draw(rng), network, Some(text), answers);
        }
    }
    // A pile of ratings one evening after closing time, a couple of
    // minutes apart, from phones on different networks.
    if let (Some(q), Some(evening)) = (questionnaire(BURST), rhythm.evening_before_last()) {
        for n in 0..BURST_RESPONSES {
            let at = evening + Duration::seconds(150 * n as i64 + rng.gen_range(0..60));
            let network = collect::network_hash(keys, period, Some(citizen_address(rng)));
            let answers = top_marks(&q, rng, false);
            push(BURST, n, at, network, None, answers);
        }
    }
    out
}

/// 21:30 local time on `day`.
pub fn evening(offset: chrono::FixedOffset, day: chrono::NaiveDate) -> Option<DateTime<Utc>> {
    offset
        .from_local_datetime(&day.and_hms_opt(21, 30, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}
