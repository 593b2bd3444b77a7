//! The period bulletin (通报), as a printable page, an XLSX workbook (one
//! sheet per part) and CSV tables in a zip:
//!
//! - `/office/periods/{period}/bulletin[.xlsx|.zip]`: for the office, with
//!   the figures behind the ranking (index, interval, data-quality detail,
//!   the snapshot's run id);
//! - `/results/{period}/bulletin[.xlsx|.zip]`: for everyone, the published
//!   figures only. An unpublished period is not found.
//!
//! Every part is built once as a [`Table`] in the reader's language; the
//! page, the workbook and the CSV files are three renderings of it.

use std::io::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use anyhow::Context;
use serde::Serialize;
use serde_json::json;

use crate::app::bulletin::{self, Bulletin};
use crate::domain::period::Period;
use crate::web::auth::Office;
use crate::web::error::PageError;
use crate::web::i18n::Lang;
use crate::web::names::Names;
use crate::web::respond::html;
use crate::web::routes::office::error::OfficeError;
use crate::web::routes::office::{charts, page, require_staff};
use crate::web::state::AppState;

/// Who reads it: the office sees the figures behind the published ones.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    Office,
    Public,
}

/// One cell of a part.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    fn num(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Number)
    }

    fn count(n: impl TryInto<i64>) -> Cell {
        n.try_into()
            .map_or(Cell::Empty, |n: i64| Cell::Number(n as f64))
    }

    /// As the page shows it: one decimal for figures.
    fn shown(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(v) if v.fract() == 0.0 => format!("{v:.0}"),
            Cell::Number(v) => format!("{v:.1}"),
            Cell::Empty => "—".into(),
        }
    }

    /// As a CSV field: full precision, empty for nothing.
    fn raw(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(v) => v.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// One part of the bulletin: a titled table.
#[derive(Clone, Debug, Serialize)]
struct Table {
    /// File and sheet name (ASCII, stable across languages).
    file: String,
    title: String,
    headers: Vec<String>,
    /// Columns holding numbers (right-aligned on the page).
    numeric: Vec<bool>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    fn new(file: &str, title: String, headers: Vec<(String, bool)>) -> Table {
        let (headers, numeric) = headers.into_iter().unzip();
        Table {
            file: file.to_owned(),
            title,
            headers,
            numeric,
            rows: Vec::new(),
        }
    }

    /// The page's view: cells as shown.
    fn view(&self) -> serde_json::Value {
        json!({
            "file": self.file,
            "title": self.title,
            "headers": self.headers,
            "numeric": self.numeric,
            "rows": self.rows.iter().map(|r| r.iter().map(Cell::shown).collect::<Vec<_>>()).collect::<Vec<_>>(),
        })
    }
}

/// The bulletin's parts in one language, for one audience.
struct Parts {
    headline: Table,
    /// Per category: (name, mean score, ranking).
    categories: Vec<(String, Option<f64>, Table)>,
    below: Table,
    progress: Table,
    quality: Table,
}

fn parts(b: &Bulletin, names: Names, t: &dyn Fn(&str) -> String, audience: Audience) -> Parts {
    let office = audience == Audience::Office;
    let h = &b.headline;
    let mut headline = Table::new(
        "headline",
        t("bulletin_headline"),
        vec![(t("bulletin_figure"), false), (t("bulletin_value"), true)],
    );
    let mut figures = vec![
        (t("bulletin_units"), Cell::count(h.n_units as i64)),
        (t("bulletin_responses"), Cell::count(h.n_responses)),
        (t("bulletin_valid"), Cell::count(h.n_valid)),
        (t("bulletin_mean"), Cell::num(h.mean_score)),
        (t("bulletin_flagged"), Cell::count(h.n_flagged as i64)),
        (t("bulletin_low_sample"), Cell::count(h.n_low_sample as i64)),
    ];
    for (grade, n) in &h.grades {
        figures.push((
            format!("{} {grade}", t("bulletin_grade")),
            Cell::count(*n as i64),
        ));
    }
    headline.rows = figures
        .into_iter()
        .map(|(k, v)| vec![Cell::Text(k), v])
        .collect();

    let mut heads = vec![
        (t("bulletin_rank"), true),
        (t("bulletin_unit"), false),
        (t("bulletin_district"), false),
        (t("bulletin_score"), true),
        (t("bulletin_grade"), false),
        (t("bulletin_change"), true),
        (t("bulletin_sample"), true),
    ];
    if office {
        heads.extend([
            (t("bulletin_index"), true),
            (t("bulletin_ci_low"), true),
            (t("bulletin_ci_high"), true),
        ]);
    }
    heads.push((t("bulletin_rectification"), false));
    let yes = t("bulletin_yes");
    let categories = b
        .categories
        .iter()
        .map(|c| {
            let name = names.category(&c.category_code);
            let mut table = Table::new(
                &format!("ranking_{}", c.category_code),
                name.clone(),
                heads.clone(),
            );
            table.rows = c
                .rows
                .iter()
                .map(|r| {
                    let mut row = vec![
                        Cell::num(r.rank_in_category.map(|n| n as f64)),
                        Cell::Text(names.institution(&r.institution_code)),
                        Cell::Text(names.district(&r.district_code)),
                        Cell::num(r.score),
                        r.grade.clone().map_or(Cell::Empty, Cell::Text),
                        Cell::num(r.delta_prev),
                        Cell::count(r.n_citizen + r.n_assessor),
                    ];
                    if office {
                        row.extend([
                            Cell::num(r.index),
                            Cell::num(r.ci_low),
                            Cell::num(r.ci_high),
                        ]);
                    }
                    row.push(if r.rectification {
                        Cell::Text(yes.clone())
                    } else {
                        Cell::Empty
                    });
                    row
                })
                .collect();
            (name, c.mean_score, table)
        })
        .collect();

    let mut below = Table::new(
        "below_threshold",
        t("bulletin_below"),
        vec![
            (t("bulletin_sector"), false),
            (t("bulletin_unit"), false),
            (t("bulletin_score"), true),
            (t("bulletin_grade"), false),
        ],
    );
    below.rows = b
        .below
        .iter()
        .map(|r| {
            vec![
                Cell::Text(names.category(&r.category_code)),
                Cell::Text(names.institution(&r.institution_code)),
                Cell::num(r.score),
                r.grade.clone().map_or(Cell::Empty, Cell::Text),
            ]
        })
        .collect();

    let state_names: Vec<String> = crate::domain::rectification::TaskStatus::ALL
        .iter()
        .map(|s| t(&format!("office_status_{}", s.as_str())))
        .collect();
    let mut heads = vec![(t("bulletin_period"), false), (t("bulletin_tasks"), true)];
    heads.extend(state_names.into_iter().map(|s| (s, true)));
    heads.extend([
        (t("bulletin_followed_up"), true),
        (t("bulletin_improved"), true),
        (t("bulletin_still_flagged"), true),
    ]);
    let mut progress = Table::new("rectification_progress", t("bulletin_progress"), heads);
    progress.rows = b
        .progress
        .iter()
        .map(|p| {
            let mut row = vec![Cell::Text(p.period.clone()), Cell::count(p.total as i64)];
            row.extend(p.states.iter().map(|(_, n)| Cell::count(*n as i64)));
            row.extend([
                Cell::count(p.followed_up as i64),
                Cell::count(p.improved as i64),
                Cell::count(p.still_flagged as i64),
            ]);
            row
        })
        .collect();

    let mut heads = vec![
        (t("bulletin_sector"), false),
        (t("bulletin_responses"), true),
        (t("bulletin_valid"), true),
    ];
    if office {
        heads.extend([
            (t("office_voided"), true),
            (t("office_incomplete"), true),
            (t("office_speeders"), true),
            (t("office_straightliners"), true),
            (t("bulletin_alpha"), true),
        ]);
    }
    let mut quality = Table::new("data_quality", t("bulletin_quality"), heads);
    quality.rows = b
        .quality
        .iter()
        .map(|q| {
            let mut row = vec![
                Cell::Text(names.category(&q.category_code)),
                Cell::count(q.n_responses),
                Cell::count(q.n_valid),
            ];
            if office {
                row.extend([
                    Cell::count(q.n_voided),
                    Cell::count(q.n_incomplete),
                    Cell::count(q.n_speeder),
                    Cell::count(q.n_straightliner),
                    Cell::num(q.cronbach_alpha.map(|a| (a * 1000.0).round() / 1000.0)),
                ]);
            }
            row
        })
        .collect();
    Parts {
        headline,
        categories,
        below,
        progress,
        quality,
    }
}

/// The bulletin of a published period, or not found.
async fn load(state: &AppState, period: &str) -> Result<Option<Bulletin>, anyhow::Error> {
    let Ok(period) = period.parse::<Period>() else {
        return Ok(None);
    };
    let catalog = state.catalog.get();
    let codes: Vec<String> = catalog.categories.iter().map(|c| c.code.clone()).collect();
    bulletin::of_period(&state.db, period, &codes).await
}

/// The page's context.
fn context(
    state: &AppState,
    lang: Lang,
    b: &Bulletin,
    audience: Audience,
    base: &str,
) -> serde_json::Value {
    let catalog = state.catalog.get();
    let names = Names::new(&catalog, lang);
    let t = |key: &str| state.templates.text(lang, key);
    let p = parts(b, names, &t, audience);
    let means: Vec<(String, f64)> = p
        .categories
        .iter()
        .filter_map(|(name, mean, _)| mean.map(|m| (name.clone(), m)))
        .collect();
    let scores: Vec<f64> = b
        .categories
        .iter()
        .flat_map(|c| c.rows.iter().filter_map(|r| r.score))
        .collect();
    json!({
        "b": {
            "period": b.period,
            "previous": b.previous,
            "published_at": b.published_at.with_timezone(&state.settings.local_offset()).format("%Y-%m-%d").to_string(),
            "run_id": (audience == Audience::Office).then_some(&b.run_id),
        },
        "office": audience == Audience::Office,
        "base": base,
        "headline": p.headline.view(),
        "categories": p.categories.iter().map(|(_, _, t)| t.view()).collect::<Vec<_>>(),
        "others": [p.below.view(), p.progress.view(), p.quality.view()],
        "chart_means": charts::bars(&t("bulletin_chart_means"), &means, Some(100.0)),
        "chart_scores": charts::histogram(&t("bulletin_chart_scores"), &scores, 0.0, 100.0, 10),
    })
}

/// Every part as tables, in order (the workbook's sheets, the zip's files).
fn all_tables(state: &AppState, lang: Lang, b: &Bulletin, audience: Audience) -> Vec<Table> {
    let catalog = state.catalog.get();
    let names = Names::new(&catalog, lang);
    let t = |key: &str| state.templates.text(lang, key);
    let p = parts(b, names, &t, audience);
    // One rankings part: the categories one after the other, named.
    let mut rankings = Table::new("rankings", t("bulletin_rankings"), Vec::new());
    if let Some((_, _, first)) = p.categories.first() {
        rankings.headers = std::iter::once(t("bulletin_sector"))
            .chain(first.headers.iter().cloned())
            .collect();
        rankings.numeric = std::iter::once(false)
            .chain(first.numeric.iter().copied())
            .collect();
    }
    for (name, _, table) in &p.categories {
        for row in &table.rows {
            rankings.rows.push(
                std::iter::once(Cell::Text(name.clone()))
                    .chain(row.iter().cloned())
                    .collect(),
            );
        }
    }
    vec![p.headline, rankings, p.below, p.progress, p.quality]
}

fn xlsx(tables: &[Table]) -> anyhow::Result<Vec<u8>> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for table in tables {
        let sheet = workbook.add_worksheet();
        // Sheet names are at most 31 characters and avoid []:*?/\.
        let name: String = table
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(&name).context("Failed to name a sheet")?;
        for (c, head) in table.headers.iter().enumerate() {
            let c = u16::try_from(c).context("Too many columns")?;
            sheet
                .write_string_with_format(0, c, head, &bold)
                .context("Failed to write a header")?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).context("Too many rows")?;
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).context("Too many columns")?;
                match cell {
                    Cell::Text(s) => {
                        sheet
                            .write_string(r, c, s)
                            .context("Failed to write a cell")?;
                    }
                    Cell::Number(v) => {
                        sheet
                            .write_number(r, c, *v)
                            .context("Failed to write a cell")?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        sheet
            .set_freeze_panes(1, 0)
            .context("Failed to freeze the header")?;
    }
    workbook
        .save_to_buffer()
        .context("Failed to write the workbook")
}

/// The parts as CSV files (UTF-8 with a BOM, so Excel reads the Chinese)
/// in a zip.
fn zip(tables: &[Table]) -> anyhow::Result<Vec<u8>> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (i, table) in tables.iter().enumerate() {
        let mut csv = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        csv.write_record(&table.headers)
            .context("Failed to write a CSV header")?;
        for row in &table.rows {
            csv.write_record(row.iter().map(Cell::raw))
                .context("Failed to write a CSV row")?;
        }
        let bytes = csv.into_inner().context("Failed to finish a CSV file")?;
        out.start_file(format!("{}_{}.csv", i + 1, table.file), options)
            .context("Failed to start a zip entry")?;
        out.write_all(&bytes)
            .context("Failed to write a zip entry")?;
    }
    Ok(out
        .finish()
        .context("Failed to finish the zip")?
        .into_inner())
}

fn download(body: Vec<u8>, content_type: &str, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file of the bulletin: `bulletin.xlsx` or `bulletin.zip`.
fn file(
    state: &AppState,
    lang: Lang,
    b: &Bulletin,
    audience: Audience,
    kind: &str,
) -> anyhow::Result<Option<HttpResponse>> {
    let tables = all_tables(state, lang, b, audience);
    let stem = format!("bulletin-{}-{}", b.period, lang.code());
    Ok(match kind {
        "xlsx" => Some(download(xlsx(&tables)?, XLSX, &format!("{stem}.xlsx"))),
        "zip" => Some(download(
            zip(&tables)?,
            "application/zip",
            &format!("{stem}.zip"),
        )),
        _ => None,
    })
}

/// `GET /office/periods/{period}/bulletin`.
pub async fn office_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    period: web::Path<String>,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let b = load(&state, &period).await?.ok_or(OfficeError::NotFound)?;
    let base = format!("/office/periods/{}/bulletin", b.period);
    let ctx = context(&state, state.lang(&req), &b, Audience::Office, &base);
    page(&state, &req, &session, "bulletin/office.html.tera", ctx)
}

/// `GET /office/periods/{period}/bulletin.{xlsx|zip}`.
pub async fn office_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let (period, kind) = path.into_inner();
    let b = load(&state, &period).await?.ok_or(OfficeError::NotFound)?;
    file(&state, state.lang(&req), &b, Audience::Office, &kind)?.ok_or(OfficeError::NotFound)
}

/// `GET /results/{period}/bulletin`.
pub async fn public_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    period: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let b = load(&state, &period).await?.ok_or(PageError::NotFound)?;
    let lang = state.lang(&req);
    let base = format!("/results/{}/bulletin", b.period);
    let ctx = context(&state, lang, &b, Audience::Public, &base);
    let body = state
        .templates
        .render("bulletin/public.html.tera", lang, req.path(), &ctx)?;
    Ok(html(StatusCode::OK, body, None))
}

/// `GET /results/{period}/bulletin.{xlsx|zip}`.
pub async fn public_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (period, kind) = path.into_inner();
    let b = load(&state, &period).await?.ok_or(PageError::NotFound)?;
    file(&state, state.lang(&req), &b, Audience::Public, &kind)?.ok_or(PageError::NotFound)
}
