//! Collection progress of a period, counted by the database: responses per
//! institution, and submissions per local day (a GROUP BY, so the dashboard
//! never loads a period's rows to count them).

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::NaiveDate;
use entity::response;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
};

/// Responses of `period` that are not voided, per institution id.
pub async fn responses_per_institution(
    db: &impl ConnectionTrait,
    period: &str,
) -> anyhow::Result<Vec<(i32, i64)>> {
    response::Entity::find()
        .select_only()
        .column(response::Column::InstitutionId)
        .column_as(response::Column::Id.count(), "n")
        .filter(response::Column::Period.eq(period))
        .filter(response::Column::Voided.eq(false))
        .group_by(response::Column::InstitutionId)
        .into_tuple()
        .all(db)
        .await
        .context("Failed to count responses")
}

/// Responses of `period` (voided ones included: this is collection, not
/// figures) per calendar day in the office's time zone, `utc_offset_hours`
/// east of UTC.
pub async fn submissions_per_local_day(
    db: &impl ConnectionTrait,
    period: &str,
    utc_offset_hours: i8,
) -> anyhow::Result<BTreeMap<NaiveDate, i64>> {
    let backend = db.get_database_backend();
    let statement = match backend {
        DbBackend::Postgres => Statement::from_sql_and_values(
            backend,
            "SELECT to_char((submitted_at AT TIME ZONE 'UTC') + make_interval(hours => $1), \
             'YYYY-MM-DD') AS day, COUNT(*) AS n FROM response WHERE period = $2 GROUP BY day",
            [i32::from(utc_offset_hours).into(), period.into()],
        ),
        // SQLite keeps the instant as RFC 3339 text; its date functions read
        // that, offset included, and shift by a modifier such as `+8 hours`.
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT strftime('%Y-%m-%d', submitted_at, ?) AS day, COUNT(*) AS n \
             FROM response WHERE period = ? GROUP BY day",
            [format!("{utc_offset_hours:+} hours").into(), period.into()],
        ),
    };
    let mut days = BTreeMap::new();
    for row in db
        .query_all_raw(statement)
        .await
        .context("Failed to count submissions per day")?
    {
        let day: Option<String> = row.try_get("", "day").context("Failed to read a day")?;
        let n: i64 = row.try_get("", "n").context("Failed to read a count")?;
        let day = day
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .with_context(|| format!("The database gave a malformed day {day:?}"))?;
        days.insert(day, n);
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;
    use sea_orm::DatabaseConnection;

    /// The same counts, made in Rust from every row's time.
    async fn by_hand(
        db: &DatabaseConnection,
        period: &str,
        hours: i8,
    ) -> anyhow::Result<BTreeMap<NaiveDate, i64>> {
        let offset = FixedOffset::east_opt(i32::from(hours) * 3600).context("offset")?;
        let mut days = BTreeMap::new();
        for r in response::Entity::find()
            .filter(response::Column::Period.eq(period))
            .all(db)
            .await?
        {
            *days
                .entry(r.submitted_at.with_timezone(&offset).date_naive())
                .or_insert(0) += 1;
        }
        Ok(days)
    }

    async fn agree(db: &DatabaseConnection) -> anyhow::Result<()> {
        for hours in [-12, -3, 0, 8, 14] {
            let counted = submissions_per_local_day(db, "2026-03", hours).await?;
            anyhow::ensure!(!counted.is_empty(), "no days counted");
            anyhow::ensure!(
                counted == by_hand(db, "2026-03", hours).await?,
                "UTC{hours:+}: {counted:?}"
            );
        }
        Ok(())
    }

    #[tokio::test]
    async fn days_are_counted_in_the_office_time_zone_on_sqlite() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let db = crate::db::export::tests::database(dir.path()).await?;
        agree(&db).await
    }

    #[tokio::test]
    async fn days_are_counted_in_the_office_time_zone_on_postgres() -> anyhow::Result<()> {
        crate::db::export::tests::with_postgres("progress", |db| async move { agree(&db).await })
            .await
    }
}
