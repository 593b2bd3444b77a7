//! A published previous period for the demo, so a first visit shows rankings,
//! dashboards and rectification tasks rather than empty pages: citizen and
//! assessor responses with a per-institution quality level, then the period
//! is published like any other.

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::DatabaseConnection;

use crate::db::catalog::Catalog;
use crate::db::writer::{NewAnswer, NewResponse, Source, write_batch};
use crate::domain::period::Period;
use crate::setup::configuration::Settings;

/// Responses per institution and source in the demo history.
const CITIZENS: usize = 36;
const ASSESSORS: usize = 6;

/// Seeds and publishes the period before the current one; returns it.
pub async fn seed_and_publish(
    db: &DatabaseConnection,
    settings: &Settings,
) -> anyhow::Result<Period> {
    let catalog = Catalog::load(db).await?;
    let now = Utc::now();
    let period = Period::containing(now, settings.period, settings.utc_offset_hours).previous();
    let submitted_at = now - Duration::days(40);
    let mut rng = StdRng::seed_from_u64(20121);
    let mut batch = Vec::new();
    for (i, institution) in catalog.institutions.iter().enumerate() {
        let Some(questionnaire) = catalog.questionnaire_for(institution) else {
            continue;
        };
        // A few weak performers, so rectification has something to follow.
        let quality: f64 = if i % 9 == 4 {
            2.6
        } else {
            rng.gen_range(3.3..4.6)
        };
        for (source, count) in [(Source::Citizen, CITIZENS), (Source::Assessor, ASSESSORS)] {
            for n in 0..count {
                let answers = questionnaire
                    .items
                    .iter()
                    .map(|item| {
                        let rating =
                            (quality + rng.gen_range(-1.4..1.4)).round().clamp(1.0, 5.0) as i16;
                        NewAnswer {
                            item_code: item.code.clone(),
                            dimension_code: item.dimension_code.clone(),
                            rating: (rng.gen_range(0..20) != 0).then_some(rating),
                        }
                    })
                    .collect();
                batch.push(NewResponse {
                    institution_id: institution.id,
                    questionnaire_id: questionnaire.id,
                    source,
                    period,
                    submitted_at,
                    duration_ms: (source == Source::Citizen)
                        .then(|| rng.gen_range(15_000..120_000)),
                    channel: if source == Source::Citizen {
                        "web"
                    } else {
                        "onsite"
                    },
                    respondent_hash: format!("demo-{}-{}-{n}", institution.code, source.as_str()),
                    comment: None,
                    answers,
                    ticket_hash: None,
                });
            }
        }
    }
    for chunk in batch.chunks(256) {
        let refs: Vec<&NewResponse> = chunk.iter().collect();
        write_batch(db, &refs).await?;
    }
    crate::app::publish::publish(db, settings, period, "demo")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(period)
}
