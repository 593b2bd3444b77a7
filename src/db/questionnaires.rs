//! New questionnaire versions. A version that exists is never edited: the
//! office's changes make version n+1 of the category's questionnaire, which
//! the citizen pages serve from then on, while stored responses keep
//! pointing at the version they answered.

use std::collections::HashSet;

use anyhow::Context;
use chrono::Utc;
use entity::{questionnaire, questionnaire_item};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use crate::domain::code::Code;

/// Longest questionnaire a citizen is asked to answer in about a minute.
pub const MAX_ITEMS: usize = 12;

/// One item of a proposed version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemDraft {
    pub code: String,
    pub dimension_code: String,
    pub required: bool,
    pub text_zh: String,
    pub text_en: String,
}

/// Items as the office edits them: one CSV line per item,
/// `code,dimension,required,text_zh,text_en` (required is `yes` or `no`).
/// Every problem is reported with its line number.
pub fn parse_items(text: &str) -> Result<Vec<ItemDraft>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut items = Vec::new();
    let mut problems = Vec::new();
    let mut codes = HashSet::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != 5 {
            problems.push(format!("line {line}: expected 5 fields (code,dimension,required,text_zh,text_en), found {}", record.len()));
            continue;
        }
        let (code, dimension, required, zh, en) =
            (&record[0], &record[1], &record[2], &record[3], &record[4]);
        match Code::parse_lowercase(code) {
            Err(e) => problems.push(format!("line {line}: item code {e}")),
            Ok(_) if !codes.insert(code.to_owned()) => {
                problems.push(format!("line {line}: item code '{code}' appears twice"));
            }
            Ok(_) => {}
        }
        if let Err(e) = Code::parse_lowercase(dimension) {
            problems.push(format!("line {line}: dimension code {e}"));
        }
        let required = match required {
            "yes" => true,
            "no" => false,
            other => {
                problems.push(format!(
                    "line {line}: required must be yes or no, not '{other}'"
                ));
                false
            }
        };
        if zh.is_empty() || en.is_empty() {
            problems.push(format!(
                "line {line}: both the Chinese and the English text are needed"
            ));
        }
        items.push(ItemDraft {
            code: code.to_owned(),
            dimension_code: dimension.to_owned(),
            required,
            text_zh: zh.to_owned(),
            text_en: en.to_owned(),
        });
    }
    if items.is_empty() && problems.is_empty() {
        problems.push("a questionnaire needs at least one item".to_owned());
    }
    if items.len() > MAX_ITEMS {
        problems.push(format!("{} items: at most {MAX_ITEMS}", items.len()));
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(problems)
    }
}

/// Stores `items` as the next version of the category's questionnaire and
/// returns its version number.
pub async fn new_version(
    db: &DatabaseConnection,
    category_id: i32,
    items: &[ItemDraft],
) -> anyhow::Result<i32> {
    let txn = db.begin().await.context("Failed to begin a transaction")?;
    let version = questionnaire::Entity::find()
        .filter(questionnaire::Column::CategoryId.eq(category_id))
        .order_by_desc(questionnaire::Column::Version)
        .one(&txn)
        .await
        .context("Failed to read the questionnaire versions")?
        .map_or(1, |q| q.version + 1);
    let id = questionnaire::Entity::insert(questionnaire::ActiveModel {
        category_id: Set(category_id),
        version: Set(version),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await
    .context("Failed to store the questionnaire version")?
    .last_insert_id;
    let rows = items
        .iter()
        .enumerate()
        .map(|(i, item)| questionnaire_item::ActiveModel {
            questionnaire_id: Set(id),
            code: Set(item.code.clone()),
            dimension_code: Set(item.dimension_code.clone()),
            text_zh: Set(item.text_zh.clone()),
            text_en: Set(item.text_en.clone()),
            position: Set(i as i32 + 1),
            required: Set(item.required),
            ..Default::default()
        });
    questionnaire_item::Entity::insert_many(rows)
        .exec_without_returning(&txn)
        .await
        .context("Failed to store the questionnaire items")?;
    txn.commit()
        .await
        .context("Failed to commit the questionnaire version")?;
    Ok(version)
}

/// Every questionnaire version (by category, newest first) and every item
/// (in position order), for the office's list.
pub async fn all_versions(
    db: &impl sea_orm::ConnectionTrait,
) -> anyhow::Result<(Vec<questionnaire::Model>, Vec<questionnaire_item::Model>)> {
    let qs = questionnaire::Entity::find()
        .order_by_asc(questionnaire::Column::CategoryId)
        .order_by_desc(questionnaire::Column::Version)
        .all(db)
        .await
        .context("Failed to list questionnaires")?;
    let items = questionnaire_item::Entity::find()
        .order_by_asc(questionnaire_item::Column::Position)
        .all(db)
        .await
        .context("Failed to list items")?;
    Ok((qs, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_from_csv_lines() {
        let items = parse_items(
            "att1,attitude,yes,态度,Courtesy\n\nout1,outcome,no,\"结果, 是否解决\",Outcome\n",
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].text_zh, "结果, 是否解决");
        assert!(items[0].required && !items[1].required);
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let problems =
            parse_items("att1,attitude,yes,态度,Courtesy\natt1,Attitude,maybe,,x\nbad\n")
                .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("line 2") && p.contains("twice"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("line 2") && p.contains("dimension"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("line 2") && p.contains("yes or no"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("line 3") && p.contains("5 fields"))
        );
        assert!(parse_items("").is_err());
    }
}
