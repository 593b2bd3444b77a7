//! The demo's assessor organisation: what `pingyi serve` seeds on the
//! embedded default and `pingyi seed-demo` seeds on request.

use sea_orm::ConnectionTrait;

use crate::db::assessors;
use crate::domain::keys::Keys;
use crate::setup::configuration::Settings;

/// The demo organisation's code.
const DEMO_ORG: &str = "demo-survey";

/// Seeds the demo assessor (once) for the current period; returns a fresh
/// token for it.
pub async fn seed_demo(
    db: &impl ConnectionTrait,
    keys: &Keys,
    settings: &Settings,
) -> anyhow::Result<String> {
    let period = settings.current_period();
    // Contract rows only once: a re-seed just issues another token.
    if let Some(org) = assessors::org_by_code(db, DEMO_ORG).await?
        && assessors::has_contract_in(db, org.id, &period).await?
    {
        return Ok(assessors::issue_token(db, keys, org.id, 365).await?.token);
    }
    assessors::seed_demo_org(db, keys, &period).await
}
