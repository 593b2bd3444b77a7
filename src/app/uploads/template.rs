//! The upload template of a category, as CSV or XLSX: the fixed columns,
//! one column per item of the category's live questionnaire, then `comment`.

use rust_xlsxwriter::{DataValidation, DataValidationRule, Format, Workbook};

use super::validate::{CHANNEL, COMMENT, INSTITUTION_CODE, INTERVIEWED_AT, PERIOD, RESPONDENT_REF};
use crate::db::catalog::{Catalog, Questionnaire};

/// Rows of the XLSX template that get drop-downs and rating checks.
const VALIDATED_ROWS: u32 = 100_000;

/// The columns of a category's template, in order.
pub fn columns(questionnaire: &Questionnaire) -> Vec<String> {
    let mut columns: Vec<String> = [
        RESPONDENT_REF,
        INSTITUTION_CODE,
        PERIOD,
        INTERVIEWED_AT,
        CHANNEL,
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect();
    columns.extend(questionnaire.items.iter().map(|i| i.code.clone()));
    columns.push(COMMENT.to_owned());
    columns
}

/// The CSV template: a UTF-8 BOM (so spreadsheet programs keep UTF-8 when
/// they save it again) and the header row.
pub fn csv(questionnaire: &Questionnaire) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend_from_slice(columns(questionnaire).join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The XLSX template: the data sheet first (the one uploads read), with
/// text-formatted code and period columns so the spreadsheet does not turn
/// `2026-03` into a date, drop-downs for the channel and 1–5 checks on the
/// items; then sheets listing the items and the category's institutions.
pub fn xlsx(
    catalog: &Catalog,
    category: usize,
    questionnaire: &Questionnaire,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let columns = columns(questionnaire);
    let item_count = questionnaire.items.len() as u16;

    let sheet = workbook.add_worksheet();
    sheet.set_name("responses")?;
    for (i, name) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, name, &bold)?;
        sheet.set_column_width(i as u16, if i < 5 { 18 } else { 8 })?;
    }
    for col in [0u16, 1, 2] {
        sheet.set_column_format(col, &text)?;
    }
    sheet.set_column_width(columns.len() as u16 - 1, 40)?;
    sheet.set_freeze_panes(1, 0)?;
    let channels = DataValidation::new().allow_list_strings(&["phone", "onsite", "mystery"])?;
    sheet.add_data_validation(1, 4, VALIDATED_ROWS, 4, &channels)?;
    let ratings = DataValidation::new()
        .allow_whole_number(DataValidationRule::Between(1, 5))
        .ignore_blank(true);
    sheet.add_data_validation(1, 5, VALIDATED_ROWS, 4 + item_count, &ratings)?;

    let items = workbook.add_worksheet();
    items.set_name("items")?;
    for (c, h) in ["code", "dimension", "题目", "item"].iter().enumerate() {
        items.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, item) in questionnaire.items.iter().enumerate() {
        let r = r as u32 + 1;
        items.write_string(r, 0, &item.code)?;
        items.write_string(r, 1, &item.dimension_code)?;
        items.write_string(r, 2, &item.text_zh)?;
        items.write_string(r, 3, &item.text_en)?;
    }
    items.set_column_width(2, 40)?;
    items.set_column_width(3, 40)?;

    let units = workbook.add_worksheet();
    units.set_name("institutions")?;
    for (c, h) in ["institution_code", "名称", "name", "district"]
        .iter()
        .enumerate()
    {
        units.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let listed = catalog
        .institutions
        .iter()
        .filter(|i| i.category == category);
    for (r, inst) in (1u32..).zip(listed) {
        units.write_string(r, 0, &inst.code)?;
        units.write_string(r, 1, &inst.name_zh)?;
        units.write_string(r, 2, &inst.name_en)?;
        units.write_string(r, 3, &catalog.districts[inst.district].code)?;
    }
    units.set_column_width(1, 30)?;
    units.set_column_width(2, 36)?;
    workbook.save_to_buffer()
}
