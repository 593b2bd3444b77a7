//! Benchmark of `pingyi export`: loads a generated data set into a fresh
//! database (SQLite by default, or `--database-url postgres://…/postgres`,
//! in which a temporary database is created), then times reading a period's
//! export (the period and the one before it, `--responses` in all) and
//! writing it as CSV, as `pingyi export` does. Both readers are timed in
//! turn in the same run: the JSON pages `pingyi export` uses and the plain
//! row reader, for comparison.
//!
//! `cargo run --release --bin bench_export -- --responses 1000000 [--database-url …]`

use std::time::Instant;

use analysis::columns::*;
use anyhow::Context;
use chrono::Utc;
use entity::{answer, category, district, institution, questionnaire, response};
use polars::prelude::DataFrame;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, Statement};

use pingyi::app::frames;
use pingyi::db;
use pingyi::db::export::Reader;
use pingyi::domain::period::Period;

const RESPONSE_CHUNK: usize = 2_000;
const ANSWER_CHUNK: usize = 8_000;

fn arg(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn strings(df: &DataFrame, name: &str) -> anyhow::Result<Vec<String>> {
    Ok(frames::strings(df, name)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = arg("--responses")
        .map_or(Ok(1_000_000), |s| s.parse())
        .context("--responses")?;
    let dir = std::env::temp_dir().join(format!(
        "pingyi-bench-export-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    let (url, cleanup) = match arg("--database-url") {
        Some(admin_url) => {
            let name = format!("pingyi_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&admin_url).await?;
            admin
                .execute_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!("CREATE DATABASE {name}"),
                ))
                .await?;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.clone(), |(b, _)| b.to_owned());
            (format!("{base}/{name}"), Some((admin_url, name)))
        }
        None => (
            format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
            None,
        ),
    };
    let conn = db::connect(&url).await?;
    db::migrate(&conn).await?;

    let t = Instant::now();
    let (institutions, responses, answers) =
        analysis::synth::generate(n, 7).map_err(|e| anyhow::anyhow!("{e}"))?;
    load(&conn, &institutions, &responses, &answers).await?;
    eprintln!(
        "loaded {n} responses and {} answers in {:.1} s",
        answers.height(),
        t.elapsed().as_secs_f64()
    );

    let period: Period = "2024-Q4".parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => "SQLite",
        _ => "PostgreSQL",
    };
    // The reader `pingyi export` uses, and the plain row reader for
    // comparison, measured in turn in the same run.
    let readers = [Reader::JsonPages, Reader::Rows];
    let mut results = vec![Vec::new(); readers.len()];
    let mut peaks = vec![0.0f64; readers.len()];
    let mut rows = (0, 0, 0);
    for _ in 0..3 {
        for (k, reader) in readers.iter().enumerate() {
            reset_peak_rss();
            let before = peak_rss_mb();
            let out = dir.join("export");
            let t = Instant::now();
            let export =
                db::export::export_period_with(&conn, period, *reader, db::export::PAGE).await?;
            let read = t.elapsed().as_secs_f64();
            export.write(&out, analysis::Format::Csv)?;
            let total = t.elapsed().as_secs_f64();
            results[k].push((total, read, total - read));
            peaks[k] = peaks[k].max(peak_rss_mb() - before);
            rows = export.row_counts();
        }
    }
    println!(
        "| backend | reader | responses | answers | total s (median) | read s | write CSV s | peak MB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (k, reader) in readers.iter().enumerate() {
        let runs = &mut results[k];
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (total, read, write) = runs[runs.len() / 2];
        let all: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.0)).collect();
        println!(
            "| {name} | {reader:?} | {} | {} | {total:.2} ({}) | {read:.2} | {write:.2} | {:.0} |",
            rows.1,
            rows.2,
            all.join(", "),
            peaks[k]
        );
    }

    drop(conn);
    if let Some((admin_url, name)) = cleanup {
        let admin = sea_orm::Database::connect(&admin_url).await?;
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ))
            .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Inserts the generated tables; every response falls in 2024-Q3 or 2024-Q4,
/// so one export reads all of them.
async fn load(
    conn: &sea_orm::DatabaseConnection,
    inst: &DataFrame,
    resp: &DataFrame,
    ans: &DataFrame,
) -> anyhow::Result<()> {
    use std::collections::HashMap;
    let codes = strings(inst, INSTITUTION_CODE)?;
    let cats = strings(inst, CATEGORY_CODE)?;
    let dists = strings(inst, DISTRICT_CODE)?;
    let mut cat_ids = HashMap::new();
    let mut dist_ids = HashMap::new();
    let mut questionnaire_ids = HashMap::new();
    for c in &cats {
        if !cat_ids.contains_key(c) {
            let id = category::Entity::insert(category::ActiveModel {
                code: Set(c.clone()),
                name_zh: Set(c.clone()),
                name_en: Set(c.clone()),
                ..Default::default()
            })
            .exec(conn)
            .await?
            .last_insert_id;
            let q = questionnaire::Entity::insert(questionnaire::ActiveModel {
                category_id: Set(id),
                version: Set(1),
                created_at: Set(Utc::now()),
                ..Default::default()
            })
            .exec(conn)
            .await?
            .last_insert_id;
            cat_ids.insert(c.clone(), id);
            questionnaire_ids.insert(c.clone(), q);
        }
    }
    for d in &dists {
        if !dist_ids.contains_key(d) {
            let id = district::Entity::insert(district::ActiveModel {
                code: Set(d.clone()),
                name_zh: Set(d.clone()),
                name_en: Set(d.clone()),
                ..Default::default()
            })
            .exec(conn)
            .await?
            .last_insert_id;
            dist_ids.insert(d.clone(), id);
        }
    }
    let mut inst_ids = HashMap::new();
    let mut inst_q = HashMap::new();
    for ((code, c), d) in codes.iter().zip(&cats).zip(&dists) {
        let id = institution::Entity::insert(institution::ActiveModel {
            code: Set(code.clone()),
            name_zh: Set(code.clone()),
            name_en: Set(code.clone()),
            category_id: Set(cat_ids[c]),
            district_id: Set(dist_ids[d]),
            address: Set(String::new()),
            active: Set(true),
            ..Default::default()
        })
        .exec(conn)
        .await?
        .last_insert_id;
        inst_ids.insert(code.clone(), id);
        inst_q.insert(code.clone(), questionnaire_ids[c]);
    }

    let rid = strings(resp, RESPONSE_ID)?;
    let rinst = strings(resp, INSTITUTION_CODE)?;
    let rsource = strings(resp, SOURCE)?;
    let rdur = frames::ints(resp, DURATION_MS)?;
    let rvoid: Vec<bool> = match frames::bools(resp, VOIDED) {
        Ok(v) => v.into_iter().map(|b| b.unwrap_or(false)).collect(),
        Err(_) => vec![false; resp.height()],
    };
    // The integrity columns as the generator made them (absent: null), so the
    // export reads and writes values of their real width.
    let optional = |name: &str| -> Vec<Option<String>> {
        frames::strings(resp, name).unwrap_or_else(|_| vec![None; resp.height()])
    };
    let (rnet, rkey) = (optional(NETWORK), optional(COMMENT_KEY));
    let mut id_of = HashMap::with_capacity(rid.len());
    let now = Utc::now();
    let mut batch = Vec::with_capacity(RESPONSE_CHUNK);
    for i in 0..rid.len() {
        let id = i as i64 + 1;
        id_of.insert(rid[i].clone(), id);
        batch.push(response::ActiveModel {
            id: Set(id),
            institution_id: Set(inst_ids[&rinst[i]]),
            questionnaire_id: Set(inst_q[&rinst[i]]),
            source: Set(rsource[i].clone()),
            period: Set(if i % 2 == 0 {
                "2024-Q3".into()
            } else {
                "2024-Q4".into()
            }),
            submitted_at: Set(now),
            duration_ms: Set(rdur[i]),
            channel: Set("web".into()),
            respondent_hash: Set(format!("bench-{id}")),
            comment: Set(None),
            voided: Set(rvoid[i]),
            network_hash: Set(rnet[i].clone()),
            comment_key: Set(rkey[i].clone()),
            void_reason: Set(None),
        });
        if batch.len() == RESPONSE_CHUNK || i + 1 == rid.len() {
            response::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(conn)
                .await?;
        }
    }
    let aid = strings(ans, RESPONSE_ID)?;
    let aitem = strings(ans, ITEM_CODE)?;
    let adim = strings(ans, DIMENSION_CODE)?;
    let arating = frames::ints(ans, RATING)?;
    let mut batch = Vec::with_capacity(ANSWER_CHUNK);
    for i in 0..aid.len() {
        batch.push(answer::ActiveModel {
            response_id: Set(id_of[&aid[i]]),
            item_code: Set(aitem[i].clone()),
            dimension_code: Set(adim[i].clone()),
            rating: Set(arating[i].map(|r| r as i16)),
        });
        if batch.len() == ANSWER_CHUNK || i + 1 == aid.len() {
            answer::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(conn)
                .await?;
        }
    }
    Ok(())
}
