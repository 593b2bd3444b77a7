//! XLSX uploads: files made by LibreOffice and by rust_xlsxwriter, the
//! spreadsheet's row numbers in errors, and hostile workbooks refused in
//! bounded time and memory.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::assessor::*;
use crate::helpers::*;

#[actix_web::test]
async fn an_xlsx_made_by_libreoffice_is_stored() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    // Converted from water_libreoffice_source.csv by LibreOffice Calc
    // (soffice --headless --convert-to xlsx): real date cells, shared strings.
    let bytes = std::fs::read("tests/fixtures/uploads/water_libreoffice.xlsx").unwrap();
    let response = upload(&app, Some(&firm.token), bytes, XLSX).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["format"], "xlsx");
    assert_eq!(body["stored_rows"], 4);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor' AND period = '2025-10'")
            .await,
        4
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE comment = '很满意, \"非常好\"'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM answer WHERE rating IS NULL")
            .await,
        2
    );
}

#[actix_web::test]
async fn xlsx_errors_use_the_spreadsheets_row_numbers() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in WATER_HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    // Row 2 valid; row 3 blank (skipped); row 4 has a rating of 9.
    for (r, rating) in [(1u32, 5.0), (3, 9.0)] {
        sheet.write_string(r, 0, format!("X-{r}")).unwrap();
        sheet.write_string(r, 1, "water-01").unwrap();
        sheet.write_string(r, 2, PERIOD).unwrap();
        sheet.write_string(r, 3, "2025-10-05 10:00").unwrap();
        sheet.write_string(r, 4, "phone").unwrap();
        for c in 5..13 {
            sheet.write_number(r, c, rating).unwrap();
        }
    }
    let bytes = workbook.save_to_buffer().unwrap();
    let response = upload(&app, Some(&firm.token), bytes, XLSX).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(has(&body, 4, Some("att1"), "rating_out_of_range"), "{body}");
    assert_eq!(body["total_errors"], 8);
}

// ------------------------------------------------------------ hostile XLSX

/// The parts (name, bytes) of a valid water workbook: the header and one
/// valid row, made by rust_xlsxwriter.
fn water_xlsx_parts() -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in WATER_HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    for (c, value) in row("X-1", "water-01", "2025-10-05 10:00", "phone")
        .split(',')
        .enumerate()
    {
        sheet.write_string(1, c as u16, value).unwrap();
    }
    let bytes = workbook.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (entry.name().unwrap().to_string(), content)
        })
        .collect()
}

/// Zips parts back into an XLSX.
fn zip_parts(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The water workbook with part `name` replaced by `edit` of its text.
fn patched_xlsx(name: &str, edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let mut parts = water_xlsx_parts();
    let part = parts.iter_mut().find(|(n, _)| n == name).unwrap();
    part.1 = edit(String::from_utf8(std::mem::take(&mut part.1)).unwrap()).into_bytes();
    zip_parts(&parts)
}

/// Uploads a hostile XLSX: asserts a 422 whose file error has `code`, that
/// nothing was stored, and that the server still stores a valid file.
async fn assert_refused_xlsx(
    app: &TestApp,
    firm: &Firm,
    bytes: Vec<u8>,
    code: &str,
    says: &str,
) -> std::time::Duration {
    let before = app.responses().await;
    let started = std::time::Instant::now();
    let response = upload(app, Some(&firm.token), bytes, XLSX).await;
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_file", "{body}");
    assert_eq!(body["errors"][0]["code"], code, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
    assert_eq!(app.responses().await, before);
    took
}

/// The server is up and stores a valid file after a hostile one.
async fn assert_still_serving(app: &TestApp, firm: &Firm, reference: &str) {
    let (status, body) = upload_csv(
        app,
        firm,
        csv(&[row(reference, "water-01", "2025-10-05", "phone")]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[actix_web::test]
async fn an_xlsx_declaring_ten_trillion_shared_strings_is_refused_without_reserving_them() {
    // Before: calamine reserved the table from uniqueCount (240 TB) and
    // the process aborted.
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/sharedStrings.xml", |xml| {
        let at = xml.find("uniqueCount=\"").unwrap() + "uniqueCount=\"".len();
        let end = at + xml[at..].find('"').unwrap();
        format!("{}10000000000000{}", &xml[..at], &xml[end..])
    });
    assert!(bytes.len() < 10_000);
    assert_refused_xlsx(
        &app,
        &firm,
        bytes,
        "xlsx_too_large",
        "10000000000000 shared strings",
    )
    .await;
    assert_still_serving(&app, &firm, "S-1").await;
}

#[actix_web::test]
async fn an_xlsx_whose_shared_strings_inflate_a_thousandfold_is_refused_before_inflating() {
    // Before: a 614 KB file inflating to 600 MB was read whole (7.9 s,
    // +2.4 GB of server memory) and stored. Here 24 MiB from ~24 KiB.
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/sharedStrings.xml", |xml| {
        let open = xml.find("<si>").unwrap();
        let filler = format!("<si><t>{}</t></si>", "A".repeat(1000)).repeat(24 * 1024);
        format!("{}{filler}{}", &xml[..open], &xml[open..])
    });
    assert!(bytes.len() < 1024 * 1024, "{}", bytes.len());
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "shared strings").await;
    assert_still_serving(&app, &firm, "S-2").await;
}

#[actix_web::test]
async fn rows_with_a_cell_in_column_xfd_are_ragged_rows_read_in_bounded_time() {
    // Before: every row was padded to 16,384 cells (40,000 rows: 6.4 s of
    // a core in a release build) and the values beyond the header were
    // materialised.
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in WATER_HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    for r in 1..=40_000u32 {
        sheet.write_string(r, 0, format!("X-{r}")).unwrap();
        sheet.write_string(r, 16_383, "x").unwrap();
    }
    let bytes = workbook.save_to_buffer().unwrap();
    let before = app.responses().await;
    let started = std::time::Instant::now();
    let response = upload(&app, Some(&firm.token), bytes, XLSX).await;
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total_rows"], 40_000);
    assert!(has(&body, 2, None, "ragged_row"), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("column XFD"), "{message}");
    assert_eq!(app.responses().await, before);
    // A debug build reads the 40,000 rows in well under this.
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    assert_still_serving(&app, &firm, "S-3").await;
}

#[actix_web::test]
async fn an_xlsx_header_wider_than_the_column_limit_is_refused_by_name() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let end = xml.find("</row>").unwrap();
        format!(
            "{}<c r=\"XFD1\" t=\"inlineStr\"><is><t>far</t></is></c>{}",
            &xml[..end],
            &xml[end..]
        )
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "column XFD").await;
    assert_still_serving(&app, &firm, "S-4").await;
}

#[actix_web::test]
async fn an_xlsx_cell_longer_than_a_spreadsheet_cell_can_be_is_refused_naming_the_cell() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let end = xml.rfind("</row>").unwrap();
        format!(
            "{}<c r=\"N2\" t=\"inlineStr\"><is><t>{}</t></is></c>{}",
            &xml[..end],
            "长".repeat(40_000),
            &xml[end..]
        )
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "Cell N2").await;
    assert_still_serving(&app, &firm, "S-5").await;
}

#[actix_web::test]
async fn damaged_xlsx_files_are_refused_as_malformed_by_name() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    // Not a zip at all.
    assert_refused_xlsx(
        &app,
        &firm,
        b"respondent_ref\r\n".to_vec(),
        "xlsx_malformed",
        "zip",
    )
    .await;
    // A dimension outside the grid (only ever checked, never used).
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let at = xml.find("<dimension ref=\"").unwrap() + "<dimension ref=\"".len();
        let end = at + xml[at..].find('"').unwrap();
        format!("{}A1:XFD99999999{}", &xml[..at], &xml[end..])
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_malformed", "dimension").await;
    // A zip whose end record declares 65,535 entries.
    let mut bytes = zip_parts(&water_xlsx_parts());
    let end = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    bytes[end + 8..end + 12].copy_from_slice(&[0xff; 4]);
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "entries").await;
    // A shared-string index past the table.
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let end = xml.rfind("</row>").unwrap();
        format!(
            "{}<c r=\"N2\" t=\"s\"><v>4000000000</v></c>{}",
            &xml[..end],
            &xml[end..]
        )
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_malformed", "shared string").await;
    assert_still_serving(&app, &firm, "S-6").await;
}

#[actix_web::test]
async fn the_rebuilt_water_workbook_is_stored_so_the_hostile_ones_differ_only_by_their_patch() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let response = upload(
        &app,
        Some(&firm.token),
        zip_parts(&water_xlsx_parts()),
        XLSX,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}
