//! The demo as a city a few weeks into a period: two published periods
//! before the current one (so rankings show their change, and the earlier
//! period's rectification tasks have moved on and been followed up), and
//! the current period collecting, with responses spread over the days so far
//! in a daily rhythm. Citizens and assessors, comments in Chinese and a few
//! in English, tasks in every state, an upheld and a rejected appeal, and
//! assessor uploads (one stored, one refused) with their reports.
//!
//! Everything is drawn from one seeded RNG, so two demos made on the same
//! day are the same; only the dates follow the clock.

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::app::rectification::{self, Deadlines};
use crate::app::uploads::{self, Format, StagedFile, UploadContext};
use crate::db::catalog::{Catalog, Institution, Questionnaire};
use crate::db::writer::{NewAnswer, NewResponse, Source, write_batch};
use crate::db::{assessors, rectification as store};
use crate::domain::keys::Keys;
use crate::domain::office::{Role, User};
use crate::domain::period::Period;
use crate::domain::rectification::Step;
use crate::setup::configuration::Settings;

/// Citizen and assessor responses per institution in a whole period.
const CITIZENS: usize = 36;
const ASSESSORS: usize = 6;
/// The institution hit by a burst of malicious ratings in the last
/// published period, appealed and upheld: its task is then withdrawn.
const TARGETED: &str = "heating-03";
/// Malicious ratings in that burst.
const BURST: usize = 12;

const COMMENTS_GOOD: &[&str] = &[
    "工作人员很耐心，手续一次办完。",
    "环境干净，排队不到十分钟。",
    "服务热情，讲解清楚，点赞！",
    "线上预约后到场直接办理，很方便。",
    "比去年快多了，值得表扬。",
];
const COMMENTS_MIDDLE: &[&str] = &[
    "总体还行，就是高峰期窗口太少。",
    "收费标准公示了，但不太好找。",
    "办理速度一般，希望增加自助设备。",
    "态度可以，等候区座位不够。",
];
const COMMENTS_POOR: &[&str] = &[
    "排队一个多小时，只开了一个窗口。",
    "工作人员态度冷淡，问题没有解决。",
    "来了三次还没办完，材料要求前后不一。",
    "电话一直打不通，投诉也没人回复。",
];
const COMMENTS_EN: &[&str] = &[
    "Staff were helpful and spoke some English.",
    "Long queue, only one counter open.",
    "Clear signs and quick service, thank you.",
];
const COMMENT_BURST: &str = "差评！差评！差评！";

/// The first day of a period and the first day after it.
fn days_of(period: Period) -> (NaiveDate, NaiveDate) {
    let ymd = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
    match period {
        Period::Year(y) => (ymd(y, 1), ymd(y + 1, 1)),
        Period::Quarter(y, q) => {
            let m = u32::from(q) * 3 - 2;
            let next = if q == 4 { ymd(y + 1, 1) } else { ymd(y, m + 3) };
            (ymd(y, m), next)
        }
        Period::Month(y, m) => {
            let m = u32::from(m);
            let next = if m == 12 {
                ymd(y + 1, 1)
            } else {
                ymd(y, m + 1)
            };
            (ymd(y, m), next)
        }
    }
}

/// When people come: weekdays more than weekends, mornings and mid
/// afternoons more than evenings.
struct Rhythm {
    offset: FixedOffset,
    from: NaiveDate,
    days: i64,
    until: DateTime<Utc>,
}

impl Rhythm {
    /// Over the period, or the days of it so far when it is under way.
    fn new(period: Period, now: DateTime<Utc>, offset: FixedOffset) -> Rhythm {
        let (from, next) = days_of(period);
        let end = offset
            .from_local_datetime(&next.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map_or(now, |t| t.with_timezone(&Utc));
        let until = end.min(now);
        let last = until.with_timezone(&offset).date_naive();
        Rhythm {
            offset,
            from,
            days: (last - from).num_days() + 1,
            until,
        }
    }

    /// Share of the period's days gone (1 for a past period).
    fn elapsed(&self, period: Period) -> f64 {
        let (from, next) = days_of(period);
        (self.days as f64 / (next - from).num_days() as f64).min(1.0)
    }

    fn draw(&self, rng: &mut StdRng) -> DateTime<Utc> {
        const HOURS: [(u32, u32); 13] = [
            (8, 3),
            (9, 8),
            (10, 10),
            (11, 9),
            (12, 4),
            (13, 5),
            (14, 8),
            (15, 9),
            (16, 7),
            (17, 5),
            (18, 3),
            (19, 2),
            (20, 1),
        ];
        let total: u32 = HOURS.iter().map(|h| h.1).sum();
        for _ in 0..64 {
            let day = self.from + Duration::days(rng.gen_range(0..self.days.max(1)));
            let keep = match day.weekday().number_from_monday() {
                6 => 0.6,
                7 => 0.4,
                _ => 1.0,
            };
            if rng.r#gen::<f64>() > keep {
                continue;
            }
            let mut pick = rng.gen_range(0..total);
            let hour = HOURS
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or(10, |h| h.0);
            let local = day
                .and_hms_opt(hour, rng.gen_range(0..60), rng.gen_range(0..60))
                .unwrap_or_default();
            if let Some(at) = self.offset.from_local_datetime(&local).single() {
                let at = at.with_timezone(&Utc);
                if at <= self.until {
                    return at;
                }
            }
        }
        self.until
    }
}

/// One response's ratings around an institution's level (1–5).
fn ratings(rng: &mut StdRng, questionnaire: &Questionnaire, level: f64) -> Vec<NewAnswer> {
    questionnaire
        .items
        .iter()
        .map(|item| {
            let r = (level + rng.gen_range(-1.4..1.4)).round().clamp(1.0, 5.0) as i16;
            NewAnswer {
                item_code: item.code.clone(),
                dimension_code: item.dimension_code.clone(),
                rating: (rng.gen_range(0..20) != 0).then_some(r),
            }
        })
        .collect()
}

/// A comment fitting the ratings, for about one response in six.
fn comment(rng: &mut StdRng, answers: &[NewAnswer]) -> Option<String> {
    if rng.gen_range(0..6) != 0 {
        return None;
    }
    if rng.gen_range(0..8) == 0 {
        return Some(COMMENTS_EN[rng.gen_range(0..COMMENTS_EN.len())].to_owned());
    }
    let rated: Vec<f64> = answers
        .iter()
        .filter_map(|a| a.rating.map(f64::from))
        .collect();
    let mean = rated.iter().sum::<f64>() / rated.len().max(1) as f64;
    let pool = if mean >= 3.8 {
        COMMENTS_GOOD
    } else if mean >= 2.8 {
        COMMENTS_MIDDLE
    } else {
        COMMENTS_POOR
    };
    Some(pool[rng.gen_range(0..pool.len())].to_owned())
}

/// An institution's level in a period: a steady quality with a drift from
/// period to period, and a few weak performers.
fn level(rng: &mut StdRng, i: usize, base: f64) -> f64 {
    if i % 9 == 4 {
        2.6 + rng.gen_range(-0.2..0.3)
    } else {
        (base + rng.gen_range(-0.3..0.3)).clamp(2.8, 4.7)
    }
}

/// Writes the responses of one period; citizens and assessors in the share
/// of the period gone by.
#[allow(clippy::too_many_arguments)]
async fn collect(
    db: &DatabaseConnection,
    catalog: &Catalog,
    rng: &mut StdRng,
    bases: &[f64],
    period: Period,
    rhythm: &Rhythm,
    assessors: bool,
    burst: bool,
) -> anyhow::Result<()> {
    let share = rhythm.elapsed(period);
    let mut batch = Vec::new();
    for (i, institution) in catalog.institutions.iter().enumerate() {
        let Some(questionnaire) = catalog.questionnaire_for(institution) else {
            continue;
        };
        let level = level(rng, i, bases[i]);
        let citizens = ((CITIZENS as f64 * share).round() as usize + rng.gen_range(0..6)).max(3);
        for n in 0..citizens {
            let mut answers = ratings(rng, &questionnaire, level);
            let roll = rng.gen_range(0..100);
            // A few hurried or abandoned questionnaires, as in real data.
            let duration = if roll < 2 {
                rng.gen_range(2_000..6_000)
            } else {
                rng.gen_range(20_000..150_000)
            };
            if roll == 99 {
                for a in answers.iter_mut().skip(2) {
                    a.rating = None;
                }
            }
            let comment = comment(rng, &answers);
            batch.push(response(
                institution,
                &questionnaire,
                period,
                Source::Citizen,
                rhythm.draw(rng),
                Some(duration),
                format!("demo-{}-{period}-c{n}", institution.code),
                comment,
                answers,
            ));
        }
        if assessors {
            for n in 0..ASSESSORS {
                let answers = ratings(rng, &questionnaire, level - 0.1);
                batch.push(response(
                    institution,
                    &questionnaire,
                    period,
                    Source::Assessor,
                    rhythm.draw(rng),
                    None,
                    format!("demo-{}-{period}-a{n}", institution.code),
                    None,
                    answers,
                ));
            }
        }
        if institution.code == TARGETED && burst {
            for n in 0..BURST {
                let answers = questionnaire
                    .items
                    .iter()
                    .map(|item| NewAnswer {
                        item_code: item.code.clone(),
                        dimension_code: item.dimension_code.clone(),
                        rating: Some(1),
                    })
                    .collect();
                batch.push(response(
                    institution,
                    &questionnaire,
                    period,
                    Source::Citizen,
                    rhythm.draw(rng),
                    Some(rng.gen_range(20_000..40_000)),
                    format!("demo-{}-{period}-burst{n}", institution.code),
                    Some(COMMENT_BURST.to_owned()),
                    answers,
                ));
            }
        }
    }
    for chunk in batch.chunks(512) {
        let refs: Vec<&NewResponse> = chunk.iter().collect();
        write_batch(db, &refs).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn response(
    institution: &Institution,
    questionnaire: &Questionnaire,
    period: Period,
    source: Source,
    submitted_at: DateTime<Utc>,
    duration_ms: Option<i64>,
    respondent_hash: String,
    comment: Option<String>,
    answers: Vec<NewAnswer>,
) -> NewResponse {
    NewResponse {
        institution_id: institution.id,
        questionnaire_id: questionnaire.id,
        source,
        period,
        submitted_at,
        duration_ms,
        channel: if source == Source::Citizen {
            "web"
        } else {
            "onsite"
        },
        respondent_hash,
        comment,
        network_hash: None,
        comment_key: None,
        answers,
        ticket_hash: None,
    }
}

fn admin() -> User {
    User {
        id: 0,
        username: "admin".into(),
        role: Role::Admin,
        institution_id: None,
    }
}

fn institution_user(id: i32) -> User {
    User {
        id: 0,
        username: format!("demo-unit-{id}"),
        role: Role::Institution,
        institution_id: Some(id),
    }
}

/// Moves the tasks of `period` along, so every state has a few.
async fn advance_tasks(
    db: &DatabaseConnection,
    period: Period,
    deadlines: &Deadlines,
) -> anyhow::Result<()> {
    let tasks = store::tasks_of_period(db, &period.to_string()).await?;
    // Only open tasks move (a withdrawn one stays as it is).
    let mut tasks: Vec<_> = tasks
        .into_values()
        .filter(|t| t.status == crate::domain::rectification::TaskStatus::Open.as_str())
        .collect();
    tasks.sort_by_key(|t| t.id);
    let plans = [
        "增设高峰时段窗口，推行线上预约，每周通报等候时长。",
        "对窗口人员开展服务礼仪培训，设立值班长现场协调。",
    ];
    let report = "已增设两个窗口，平均等候时间由 35 分钟降至 12 分钟。";
    for (i, t) in tasks.iter().enumerate() {
        let unit = institution_user(t.institution_id);
        let steps: &[(Step, bool)] = match i % 5 {
            0 => &[],
            1 => &[(Step::SubmitPlan, true)],
            2 => &[(Step::SubmitPlan, true), (Step::AcceptPlan, false)],
            3 => &[
                (Step::SubmitPlan, true),
                (Step::AcceptPlan, false),
                (Step::SubmitReport, true),
            ],
            _ => &[
                (Step::SubmitPlan, true),
                (Step::AcceptPlan, false),
                (Step::SubmitReport, true),
                (Step::AcceptReport, false),
            ],
        };
        for (step, by_unit) in steps {
            let (who, text) = match step {
                Step::SubmitPlan => (&unit, plans[i % plans.len()]),
                Step::SubmitReport => (&unit, report),
                _ => (&admin(), "同意。"),
            };
            let who = if *by_unit { who } else { &admin() };
            rectification::apply(db, t.id, who, *step, text, deadlines)
                .await
                .map_err(|e| anyhow::anyhow!("A demo task step failed: {e:?}"))?;
        }
    }
    Ok(())
}

/// The burst against [`TARGETED`] is appealed and upheld; one fair poor
/// rating elsewhere is appealed and the appeal rejected.
async fn appeals(db: &DatabaseConnection, catalog: &Catalog) -> anyhow::Result<()> {
    let fail = |e| anyhow::anyhow!("A demo appeal failed: {e:?}");
    if let Some(target) = catalog.institution(TARGETED) {
        let unit = institution_user(target.id);
        for c in rectification::commented(db, target.id, 200).await? {
            if c.comment == COMMENT_BURST {
                let id = rectification::file_appeal(
                    db,
                    &unit,
                    c.response_id,
                    "malicious",
                    "同一时段集中出现的全一分差评，内容雷同，疑为恶意刷评。",
                )
                .await
                .map_err(fail)?;
                rectification::decide_appeal(db, id, &admin(), true, "核实为恶意评价，予以作废。")
                    .await
                    .map_err(fail)?;
            }
        }
    }
    for institution in &catalog.institutions {
        if institution.code == TARGETED {
            continue;
        }
        let commented = rectification::commented(db, institution.id, 50).await?;
        if let Some(c) = commented.iter().find(|c| c.is_poor() && !c.voided) {
            let unit = institution_user(institution.id);
            let id = rectification::file_appeal(
                db,
                &unit,
                c.response_id,
                "mistaken",
                "当天系统故障，评价人误以为是我单位原因。",
            )
            .await
            .map_err(fail)?;
            rectification::decide_appeal(db, id, &admin(), false, "评价内容属实，维持原评价。")
                .await
                .map_err(fail)?;
            break;
        }
    }
    Ok(())
}

/// Two uploads of the demo firm in the current period: one stored, one
/// refused with its row errors.
async fn uploads(
    db: &DatabaseConnection,
    settings: &Settings,
    keys: &Keys,
    catalog: &Catalog,
    period: Period,
    rhythm: &Rhythm,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let Some(org) = assessors::org_by_code(db, "demo-survey").await? else {
        return Ok(());
    };
    // As if signed in with a token: the uploads record the organisation only.
    let org = assessors::AssessorOrg {
        id: org.id,
        code: org.code,
        name: org.name,
        token_expires_at: Utc::now(),
        token_hash: String::new(),
    };
    for category in ["water", "power"] {
        let Some(c) = catalog.category_index(category) else {
            continue;
        };
        let Some(questionnaire) = catalog.questionnaire_of_category(c) else {
            continue;
        };
        let mut file =
            String::from("respondent_ref,institution_code,period,interviewed_at,channel");
        for item in &questionnaire.items {
            file.push(',');
            file.push_str(&item.code);
        }
        file.push_str(",comment\n");
        for institution in catalog.institutions.iter().filter(|i| i.category == c) {
            for n in 0..3 {
                let at = rhythm.draw(rng).with_timezone(&rhythm.offset);
                file.push_str(&format!(
                    "DS-{}-{n},{},{period},{},{}",
                    institution.code,
                    institution.code,
                    at.format("%Y-%m-%d %H:%M"),
                    ["phone", "onsite", "mystery"][n % 3],
                ));
                for _ in &questionnaire.items {
                    file.push_str(&format!(",{}", rng.gen_range(3..=5)));
                }
                file.push_str(if n == 0 {
                    ",暗访：窗口人员主动引导\n"
                } else {
                    ",\n"
                });
            }
        }
        // One file per category: their items differ.
        store_upload(db, settings, keys, &org, &file, category).await?;
    }
    // A file with mistakes: refused whole, the report names each row.
    let bad = format!(
        "respondent_ref,institution_code,period,interviewed_at,channel,att1,att2,eff1,eff2,env1,tra1,out1,out2,comment\n\
         DS-bad-1,water-01,{period},2000-01-01,phone,5,4,4,4,4,4,4,4,\n\
         DS-bad-2,no-such-unit,{period},,phone,4,4,4,4,4,4,4,4,\n\
         DS-bad-3,water-02,{period},,phone,9,4,4,4,4,4,4,4,\n"
    );
    store_upload(db, settings, keys, &org, &bad, "corrections").await?;
    Ok(())
}

async fn store_upload(
    db: &DatabaseConnection,
    settings: &Settings,
    keys: &Keys,
    org: &assessors::AssessorOrg,
    text: &str,
    name: &str,
) -> anyhow::Result<()> {
    let dir = uploads::stage::staging_dir(&settings.data_dir);
    tokio::fs::create_dir_all(&dir)
        .await
        .context("Failed to create the staging directory")?;
    let path = dir.join(format!("demo-{name}.csv"));
    tokio::fs::write(&path, text.as_bytes())
        .await
        .context("Failed to stage a demo upload")?;
    let file = StagedFile {
        path: path.clone(),
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
        size: text.len() as u64,
        format: Format::Csv,
        file_name: Some(format!("{name}.csv")),
        charset: None,
    };
    let ctx = UploadContext {
        db,
        keys,
        catalog: std::sync::Arc::new(Catalog::load(db).await?),
        settings,
    };
    let outcome = uploads::process(&ctx, org, &file).await;
    let _ = tokio::fs::remove_file(&path).await;
    outcome?;
    Ok(())
}

/// Seeds the demo periods; returns the last published one.
pub async fn seed_and_publish(
    db: &DatabaseConnection,
    settings: &Settings,
    keys: &Keys,
) -> anyhow::Result<Period> {
    let catalog = Catalog::load(db).await?;
    let now = Utc::now();
    let offset = settings.local_offset();
    let current = settings.period_at(now);
    let (last, before) = (current.previous(), current.previous().previous());
    let deadlines = Deadlines::from_settings(settings);
    let mut rng = StdRng::seed_from_u64(20121);
    let bases: Vec<f64> = catalog
        .institutions
        .iter()
        .map(|i| {
            if i.code == TARGETED {
                4.1
            } else {
                rng.gen_range(3.7..4.8)
            }
        })
        .collect();
    let publish = |period| async move {
        crate::app::publish::publish(db, settings, period, "demo")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    };

    collect(
        db,
        &catalog,
        &mut rng,
        &bases,
        before,
        &Rhythm::new(before, now, offset),
        true,
        false,
    )
    .await?;
    publish(before).await?;
    advance_tasks(db, before, &deadlines).await?;

    let rhythm = Rhythm::new(last, now, offset);
    collect(db, &catalog, &mut rng, &bases, last, &rhythm, true, true).await?;
    publish(last).await?;
    // The appeals void the burst; publishing again withdraws its task.
    appeals(db, &catalog).await?;
    publish(last).await?;
    advance_tasks(db, last, &deadlines).await?;

    let rhythm = Rhythm::new(current, now, offset);
    collect(
        db, &catalog, &mut rng, &bases, current, &rhythm, false, false,
    )
    .await?;
    uploads(db, settings, keys, &catalog, current, &rhythm, &mut rng).await?;
    Ok(last)
}
