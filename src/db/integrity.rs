//! The queries of the integrity review: an institution's pool (its live
//! citizen responses of a period, with their answers), the respondents that
//! roam in a period, and the latest period citizens rated in.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use entity::{answer, response};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The source value of citizen responses (the only ones in a pool).
const CITIZEN: &str = "citizen";

/// A pool response with its ratings in item order (`None`: not applicable).
#[derive(Clone, Debug)]
pub struct PoolResponse {
    pub response: response::Model,
    pub ratings: Vec<(String, Option<i16>)>,
}

/// The pool of an institution in a period (`integrity.md`): its citizen
/// responses that are not voided, oldest first, with their answers.
pub async fn pool(
    db: &impl ConnectionTrait,
    institution_id: i32,
    period: &str,
) -> anyhow::Result<Vec<PoolResponse>> {
    let responses = response::Entity::find()
        .filter(response::Column::InstitutionId.eq(institution_id))
        .filter(response::Column::Period.eq(period))
        .filter(response::Column::Source.eq(CITIZEN))
        .filter(response::Column::Voided.eq(false))
        .order_by_asc(response::Column::SubmittedAt)
        .order_by_asc(response::Column::Id)
        .all(db)
        .await
        .context("Failed to read an institution's pool")?;
    with_answers(db, responses).await
}

/// Responses with their answers, in the given order.
async fn with_answers(
    db: &impl ConnectionTrait,
    responses: Vec<response::Model>,
) -> anyhow::Result<Vec<PoolResponse>> {
    let mut ratings: HashMap<i64, Vec<(String, Option<i16>)>> = HashMap::new();
    // Chunks keep the IN list well under the drivers' bind limits.
    for ids in responses.chunks(5000) {
        let ids: Vec<i64> = ids.iter().map(|r| r.id).collect();
        for a in answer::Entity::find()
            .filter(answer::Column::ResponseId.is_in(ids))
            .order_by_asc(answer::Column::ResponseId)
            .order_by_asc(answer::Column::ItemCode)
            .all(db)
            .await
            .context("Failed to read the pool's answers")?
        {
            ratings
                .entry(a.response_id)
                .or_default()
                .push((a.item_code, a.rating));
        }
    }
    Ok(responses
        .into_iter()
        .map(|r| PoolResponse {
            ratings: ratings.remove(&r.id).unwrap_or_default(),
            response: r,
        })
        .collect())
}

/// The respondent hashes that roam in `period`: on live citizen responses
/// of at least `institutions` distinct institutions (every category).
pub async fn roaming_respondents(
    db: &impl ConnectionTrait,
    period: &str,
    institutions: i64,
) -> anyhow::Result<HashSet<String>> {
    let distinct = Func::count_distinct(Expr::col(response::Column::InstitutionId));
    let rows: Vec<String> = response::Entity::find()
        .select_only()
        .column(response::Column::RespondentHash)
        .filter(response::Column::Period.eq(period))
        .filter(response::Column::Source.eq(CITIZEN))
        .filter(response::Column::Voided.eq(false))
        .group_by(response::Column::RespondentHash)
        .having(Expr::expr(distinct).gte(institutions))
        .into_tuple()
        .all(db)
        .await
        .context("Failed to read the roaming respondents")?;
    Ok(rows.into_iter().collect())
}

/// The latest period with a citizen response (periods of one granularity
/// sort as text), if any.
pub async fn latest_rated_period(db: &impl ConnectionTrait) -> anyhow::Result<Option<String>> {
    let latest: Option<Option<String>> = response::Entity::find()
        .select_only()
        .column_as(response::Column::Period.max(), "period")
        .filter(response::Column::Source.eq(CITIZEN))
        .into_tuple()
        .one(db)
        .await
        .context("Failed to read the latest rated period")?;
    Ok(latest.flatten())
}

/// Voids the given live citizen responses of an institution in a period,
/// with one reason; responses that are not such (another institution or
/// period, an assessor's, voided already) are left alone. Returns how many
/// were voided: the caller compares it with the selection, in its
/// transaction.
pub async fn void_responses(
    db: &impl ConnectionTrait,
    institution_id: i32,
    period: &str,
    ids: &[i64],
    reason: &str,
) -> anyhow::Result<u64> {
    let result = response::Entity::update_many()
        .col_expr(response::Column::Voided, Expr::value(true))
        .col_expr(response::Column::VoidReason, Expr::value(reason))
        .filter(response::Column::Id.is_in(ids.to_vec()))
        .filter(response::Column::InstitutionId.eq(institution_id))
        .filter(response::Column::Period.eq(period))
        .filter(response::Column::Source.eq(CITIZEN))
        .filter(response::Column::Voided.eq(false))
        .exec(db)
        .await
        .context("Failed to void responses")?;
    Ok(result.rows_affected)
}

/// The voided citizen responses of an institution in a period, newest
/// first, with their answers.
pub async fn voided(
    db: &impl ConnectionTrait,
    institution_id: i32,
    period: &str,
) -> anyhow::Result<Vec<PoolResponse>> {
    let responses = response::Entity::find()
        .filter(response::Column::InstitutionId.eq(institution_id))
        .filter(response::Column::Period.eq(period))
        .filter(response::Column::Source.eq(CITIZEN))
        .filter(response::Column::Voided.eq(true))
        .order_by_desc(response::Column::Id)
        .all(db)
        .await
        .context("Failed to read the voided responses")?;
    with_answers(db, responses).await
}
