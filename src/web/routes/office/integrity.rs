//! The rating-integrity review (`/office/integrity`): the flagged
//! institutions of a period with their measures, z values and evidence,
//! sortable; and, from a flag, the pool responses behind its evidence
//! (`/office/integrity/responses`), where an administrator voids a selection
//! with one reason (`/office/integrity/void`). Administrators and analysts
//! only; institution users are refused. Keyed hashes select the responses
//! and are never shown.

use std::cmp::Ordering;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::OfficeError;
use super::{check_csrf, current_period, page, require_admin, require_staff, see_other};
use crate::app::integrity::evidence;
use crate::app::integrity::review::{self, IntegrityRow, Measure, Review};
use crate::app::integrity::void::{self, VoidRequest};
use crate::db;
use crate::db::integrity::PoolResponse;
use crate::domain::period::Period;
use crate::web::auth::Office;
use crate::web::i18n::{Lang, Message};
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct ReviewQuery {
    period: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

/// The sortable columns: institution, sector, pool size, highest z, and the
/// z of each measure.
const SORT_KEYS: [&str; 10] = [
    "institution",
    "category",
    "n",
    "max_z",
    "z_network",
    "z_burst",
    "z_duplicate_comment",
    "z_all_top",
    "z_roaming",
    "z_speeder",
];

#[derive(Serialize)]
struct MeasureCell {
    key: &'static str,
    share: String,
    z: String,
    flagged: bool,
}

#[derive(Serialize)]
struct FlagLink {
    label: String,
    evidence: String,
    href: String,
}

#[derive(Serialize)]
struct FlaggedRow {
    code: String,
    name: String,
    category: String,
    n: i64,
    max_z: String,
    flags: Vec<FlagLink>,
    measures: Vec<MeasureCell>,
    #[serde(skip)]
    sort_z: [Option<f64>; 6],
    #[serde(skip)]
    sort_max: Option<f64>,
}

#[derive(Serialize)]
struct Header {
    label: String,
    href: String,
    /// `asc` or `desc` when the table is sorted by it.
    sorted: Option<&'static str>,
}

#[derive(Serialize)]
struct About {
    label: String,
    text: String,
}

/// The period a review page shows: the one asked for, else the latest one
/// citizens rated in (so a first visit shows data), else the current one.
async fn period_of(state: &AppState, asked: Option<&str>) -> Result<Period, OfficeError> {
    if let Some(p) = asked.filter(|p| !p.is_empty()) {
        return p.parse().map_err(OfficeError::from);
    }
    Ok(match db::integrity::latest_rated_period(&state.db).await? {
        Some(p) => p.parse().unwrap_or_else(|_| current_period(state)),
        None => current_period(state),
    })
}

/// A share as a percentage, a z with one decimal; a dash for null.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn z_text(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.1}"))
}

fn local_time(state: &AppState, at: DateTime<Utc>, format: &str) -> String {
    at.with_timezone(&state.settings.local_offset())
        .format(format)
        .to_string()
}

/// The evidence of a measure in plain words.
fn evidence_text(
    state: &AppState,
    lang: Lang,
    review: &Review,
    row: &IntegrityRow,
    m: Measure,
) -> String {
    let message = match m {
        Measure::Network => {
            Message::new("office_integrity_ev_network").arg("n", row.top_network_n.unwrap_or(0))
        }
        Measure::Burst => {
            let start = row
                .burst_start
                .as_deref()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| local_time(state, t.with_timezone(&Utc), "%Y-%m-%d %H:%M"))
                .unwrap_or_default();
            Message::new("office_integrity_ev_burst")
                .arg("n", row.burst_n.unwrap_or(0))
                .arg("minutes", review.model.integrity.burst_window_minutes)
                .arg("start", start)
        }
        Measure::DuplicateComment => Message::new("office_integrity_ev_duplicate_comment")
            .arg("n", row.top_comment_n.unwrap_or(0)),
        _ => {
            // The responses behind a share: share × n, a whole number.
            let k = row
                .share(m)
                .map_or(0, |s| (s * row.n as f64).round() as i64);
            Message::new("office_integrity_ev_share")
                .arg("k", k)
                .arg("n", row.n)
        }
    };
    state.templates.message(lang, &message)
}

fn measure_label(state: &AppState, lang: Lang, m: Measure) -> String {
    state
        .templates
        .text(lang, &format!("office_integrity_m_{}", m.name()))
}

fn responses_href(period: Period, code: &str, m: Measure) -> String {
    let query = serde_urlencoded::to_string([
        ("period", period.to_string().as_str()),
        ("institution", code),
        ("measure", m.name()),
    ])
    .unwrap_or_default();
    format!("/office/integrity/responses?{query}")
}

/// The measures explained, with the model's parameters.
fn about(state: &AppState, lang: Lang, model: &analysis::Model) -> Vec<About> {
    let p = &model.integrity;
    let mut list: Vec<About> = Measure::ALL
        .into_iter()
        .map(|m| {
            let key = format!("office_integrity_about_{}", m.name());
            let text = match m {
                Measure::Burst => state.templates.message(
                    lang,
                    &Message::new("office_integrity_about_burst")
                        .arg("minutes", p.burst_window_minutes),
                ),
                Measure::Roaming => state.templates.message(
                    lang,
                    &Message::new("office_integrity_about_roaming")
                        .arg("k", p.roaming_institutions),
                ),
                Measure::Speeder => state.templates.message(
                    lang,
                    &Message::new("office_integrity_about_speeder")
                        .arg("ms", model.speeder_ms_per_item.to_string()),
                ),
                _ => state.templates.text(lang, &key),
            };
            About {
                label: measure_label(state, lang, m),
                text,
            }
        })
        .collect();
    list.push(About {
        label: "z".into(),
        text: state.templates.message(
            lang,
            &Message::new("office_integrity_about_z")
                .arg("threshold", p.z_threshold.to_string())
                .arg("min", model.min_sample),
        ),
    });
    list
}

/// `/office/integrity?period=P&sort=K&dir=asc|desc`.
pub async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    query: web::Query<ReviewQuery>,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let lang = state.lang(&req);
    let period = period_of(&state, query.period.as_deref()).await?;
    let review = review::review(&state.db, &state.previews, period).await?;
    let sort = query
        .sort
        .as_deref()
        .filter(|s| SORT_KEYS.contains(s))
        .unwrap_or("max_z");
    let ascending = match query.dir.as_deref() {
        Some("asc") => true,
        Some("desc") => false,
        _ => matches!(sort, "institution" | "category"),
    };
    let catalog = state.catalog.get();
    let mut rows = Vec::new();
    let (mut reviewed, mut about_list, mut computed_at) = (0, Vec::new(), None);
    if let Some(review) = &review {
        reviewed = review.rows.len();
        about_list = about(&state, lang, &review.model);
        computed_at = Some(local_time(&state, review.computed_at, "%Y-%m-%d %H:%M:%S"));
        for row in review.rows.iter().filter(|r| !r.flags.is_empty()) {
            let inst = catalog.institution(&row.institution_code);
            let category = catalog
                .category_index(&row.category_code)
                .map(|c| &catalog.categories[c]);
            let sort_max = row
                .z
                .iter()
                .flatten()
                .copied()
                .max_by(|a, b| a.total_cmp(b));
            rows.push(FlaggedRow {
                code: row.institution_code.clone(),
                name: inst.map_or_else(
                    || row.institution_code.clone(),
                    |i| lang.pick(&i.name_zh, &i.name_en).to_owned(),
                ),
                category: category.map_or_else(
                    || row.category_code.clone(),
                    |c| lang.pick(&c.name_zh, &c.name_en).to_owned(),
                ),
                n: row.n,
                max_z: z_text(sort_max),
                flags: row
                    .flags
                    .iter()
                    .map(|&m| FlagLink {
                        label: measure_label(&state, lang, m),
                        evidence: evidence_text(&state, lang, review, row, m),
                        href: responses_href(period, &row.institution_code, m),
                    })
                    .collect(),
                measures: Measure::ALL
                    .into_iter()
                    .map(|m| MeasureCell {
                        key: m.name(),
                        share: percent(row.share(m)),
                        z: z_text(row.z(m)),
                        flagged: row.flags.contains(&m),
                    })
                    .collect(),
                sort_z: row.z,
                sort_max,
            });
        }
    }
    sort_rows(&mut rows, sort, ascending);
    let header = |key: &'static str, label: String| {
        let dir = if key == sort {
            if ascending { "desc" } else { "asc" }
        } else if matches!(key, "institution" | "category") {
            "asc"
        } else {
            "desc"
        };
        let q = serde_urlencoded::to_string([
            ("period", period.to_string().as_str()),
            ("sort", key),
            ("dir", dir),
        ])
        .unwrap_or_default();
        Header {
            label,
            href: format!("/office/integrity?{q}"),
            sorted: (key == sort).then_some(if ascending { "asc" } else { "desc" }),
        }
    };
    let text = |key: &str| state.templates.text(lang, key);
    let mut headers = vec![
        header("institution", text("office_institution")),
        header("category", text("office_sector")),
        header("n", text("office_integrity_pool")),
        header("max_z", text("office_integrity_max_z")),
    ];
    for (key, m) in SORT_KEYS[4..].iter().zip(Measure::ALL) {
        headers.push(header(key, measure_label(&state, lang, m)));
    }
    let summary = state.templates.message(
        lang,
        &Message::new("office_integrity_summary")
            .arg("n", reviewed)
            .arg("flagged", rows.len()),
    );
    page(
        &state,
        &req,
        &session,
        "office/integrity.html.tera",
        json!({
            "period": period.to_string(),
            "has_data": review.is_some(),
            "computed_at": computed_at.map(|at| state.templates.message(
                lang,
                &Message::new("office_integrity_computed_at").arg("at", at),
            )),
            "summary": summary,
            "headers": headers,
            "rows": rows,
            "about": about_list,
        }),
    )
}

fn sort_rows(rows: &mut [FlaggedRow], sort: &str, ascending: bool) {
    // Nulls last whichever the direction; ties by institution code.
    let num = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => {
            let o = a.total_cmp(&b);
            if ascending { o } else { o.reverse() }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let text = |a: &str, b: &str| {
        let o = a.cmp(b);
        if ascending { o } else { o.reverse() }
    };
    rows.sort_by(|a, b| {
        let primary = match sort {
            "institution" => text(&a.code, &b.code),
            "category" => text(&a.category, &b.category),
            "n" => num(Some(a.n as f64), Some(b.n as f64)),
            "max_z" => num(a.sort_max, b.sort_max),
            key => SORT_KEYS[4..]
                .iter()
                .position(|k| *k == key)
                .map_or(Ordering::Equal, |m| num(a.sort_z[m], b.sort_z[m])),
        };
        primary.then_with(|| a.code.cmp(&b.code))
    });
}

#[derive(Deserialize)]
pub struct ResponsesQuery {
    period: String,
    institution: String,
    measure: String,
}

#[derive(Serialize)]
struct ResponseView {
    id: i64,
    submitted_at: String,
    channel: String,
    duration: String,
    ratings: Vec<String>,
    comment: String,
    /// Why it was voided (the list of voided responses only).
    void_reason: String,
}

/// The columns of the ratings: every item code of the listed responses.
fn item_codes<'a>(lists: impl IntoIterator<Item = &'a PoolResponse>) -> Vec<String> {
    let mut codes: Vec<String> = lists
        .into_iter()
        .flat_map(|p| p.ratings.iter().map(|(c, _)| c.clone()))
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// `/office/integrity/responses?period=P&institution=C&measure=M`: the
/// pool responses behind one piece of evidence, and the institution's
/// voided responses of the period.
pub async fn responses(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    query: web::Query<ResponsesQuery>,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let lang = state.lang(&req);
    let period: Period = query.period.parse().map_err(OfficeError::from)?;
    let measure = Measure::parse(&query.measure).ok_or(OfficeError::NotFound)?;
    let catalog = state.catalog.get();
    let inst = catalog
        .institution(&query.institution)
        .ok_or(OfficeError::NotFound)?;
    let review = review::review(&state.db, &state.previews, period)
        .await?
        .ok_or(OfficeError::NotFound)?;
    let row = review.row(&inst.code).ok_or(OfficeError::NotFound)?;
    let list = evidence::behind(&state.db, &review.model, period, inst.id, row, measure).await?;
    let voided = db::integrity::voided(&state.db, inst.id, &period.to_string()).await?;
    let frozen = db::periods::is_frozen(&state.db, &period).await?;
    let items = item_codes(list.iter().chain(&voided));
    let view = |p: &PoolResponse| {
        let r = &p.response;
        ResponseView {
            id: r.id,
            submitted_at: local_time(&state, r.submitted_at, "%Y-%m-%d %H:%M:%S"),
            channel: state
                .templates
                .text(lang, &format!("office_integrity_channel_{}", r.channel)),
            duration: r
                .duration_ms
                .map_or_else(|| "—".into(), |d| format!("{:.0} s", d as f64 / 1000.0)),
            ratings: items
                .iter()
                .map(|code| {
                    p.ratings
                        .iter()
                        .find(|(c, _)| c == code)
                        .and_then(|(_, r)| *r)
                        .map_or_else(|| "—".into(), |r| r.to_string())
                })
                .collect(),
            comment: r.comment.clone().unwrap_or_default(),
            void_reason: r.void_reason.clone().unwrap_or_default(),
        }
    };
    let back = serde_urlencoded::to_string([("period", period.to_string())]).unwrap_or_default();
    page(
        &state,
        &req,
        &session,
        "office/integrity_responses.html.tera",
        json!({
            "period": period.to_string(),
            "code": inst.code,
            "name": lang.pick(&inst.name_zh, &inst.name_en),
            "measure": measure.name(),
            "measure_label": measure_label(&state, lang, measure),
            "evidence": evidence_text(&state, lang, &review, row, measure),
            "flagged": row.flags.contains(&measure),
            "items": items,
            "responses": list.iter().map(view).collect::<Vec<_>>(),
            "voided": voided.iter().map(view).collect::<Vec<_>>(),
            "frozen": frozen,
            "may_void": session.user.is_admin() && !frozen,
            "back": format!("/office/integrity?{back}"),
        }),
    )
}

/// `POST /office/integrity/void`: voids the selected responses (repeated
/// `response` fields) with one reason, then back to the list they were
/// selected from, which the next view computes afresh.
pub async fn void(
    state: web::Data<AppState>,
    Office(session): Office,
    body: web::Bytes,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| OfficeError::BadForm)?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    check_csrf(&session, field("csrf").unwrap_or_default())?;
    let period: Period = field("period")
        .unwrap_or_default()
        .parse()
        .map_err(OfficeError::from)?;
    let measure = field("measure")
        .and_then(Measure::parse)
        .ok_or(OfficeError::BadForm)?;
    let catalog = state.catalog.get();
    let inst = field("institution")
        .and_then(|code| catalog.institution(code))
        .ok_or(OfficeError::NotFound)?;
    let ids = pairs
        .iter()
        .filter(|(n, _)| n == "response")
        .map(|(_, v)| v.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| OfficeError::BadForm)?;
    void::void(
        &state.db,
        &session.user,
        VoidRequest {
            period,
            institution_id: inst.id,
            institution_code: &inst.code,
            measure,
            responses: &ids,
            reason: field("reason").unwrap_or_default(),
        },
    )
    .await?;
    // The cached preview predates the change: the next view recomputes it.
    state.previews.forget(period).await;
    Ok(see_other(&responses_href(period, &inst.code, measure)))
}
