//! `pingyi assessor …`: organisations, tokens and contracts of third-party
//! assessors.

use clap::Subcommand;

use crate::db::assessors::{self, NewContract};
use crate::db::{self, catalog::Catalog};
use crate::domain::keys::Keys;
use crate::domain::period::Period;
use crate::setup::configuration::Settings;

#[derive(Subcommand)]
pub enum AssessorCommand {
    /// Add an assessor organisation.
    AddOrg {
        /// Short code, e.g. `huace`.
        #[arg(long)]
        code: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Issue an API token for an organisation (printed once, stored hashed).
    Token {
        /// Organisation code.
        #[arg(long)]
        org: String,
        /// Days the token stays valid.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Revoke a token, named by its first characters (as `token` printed them).
    Revoke {
        #[arg(long)]
        token_prefix: String,
    },
    /// Contract an organisation for a period: one institution, or every
    /// institution of a category and/or district.
    Contract {
        /// Organisation code.
        #[arg(long)]
        org: String,
        /// `YYYY-MM`, `YYYY-Qn` or `YYYY`.
        #[arg(long)]
        period: Period,
        /// Institution code.
        #[arg(long, conflicts_with = "category")]
        institution: Option<String>,
        /// Category code.
        #[arg(long)]
        category: Option<String>,
        /// District code (alone, or narrowing a category).
        #[arg(long, conflicts_with = "institution")]
        district: Option<String>,
    },
}

pub async fn run(settings: &Settings, command: AssessorCommand) -> anyhow::Result<()> {
    let conn = db::connect(&settings.database_url()).await?;
    db::migrate(&conn).await?;
    match command {
        AssessorCommand::AddOrg { code, name } => {
            let id = assessors::create_org(&conn, &code, &name).await?;
            println!("Added assessor organisation '{code}' (id {id}).");
        }
        AssessorCommand::Token { org, days } => {
            let org = assessors::org_by_code(&conn, &org)
                .await?
                .ok_or_else(|| anyhow::anyhow!("No assessor organisation '{org}'"))?;
            let keys = Keys::new(settings.resolve_secret()?);
            let issued = assessors::issue_token(&conn, &keys, org.id, days).await?;
            println!("Token for '{}' (shown once; store it safely):", org.code);
            println!("{}", issued.token);
            println!(
                "Prefix {} · expires {}",
                issued.prefix,
                issued.expires_at.format("%Y-%m-%d %H:%M UTC")
            );
        }
        AssessorCommand::Revoke { token_prefix } => {
            let prefix = assessors::revoke_by_prefix(&conn, &token_prefix).await?;
            println!("Revoked token {prefix}…");
        }
        AssessorCommand::Contract {
            org,
            period,
            institution,
            category,
            district,
        } => {
            let org = assessors::org_by_code(&conn, &org)
                .await?
                .ok_or_else(|| anyhow::anyhow!("No assessor organisation '{org}'"))?;
            let catalog = Catalog::load(&conn).await?;
            let what = NewContract {
                institution_id: institution
                    .as_deref()
                    .map(|c| {
                        catalog
                            .institution(c)
                            .map(|i| i.id)
                            .ok_or_else(|| anyhow::anyhow!("No institution '{c}'"))
                    })
                    .transpose()?,
                category_id: category
                    .as_deref()
                    .map(|c| {
                        catalog
                            .category_index(c)
                            .map(|i| catalog.categories[i].id)
                            .ok_or_else(|| anyhow::anyhow!("No category '{c}'"))
                    })
                    .transpose()?,
                district_id: district
                    .as_deref()
                    .map(|c| {
                        catalog
                            .district_index(c)
                            .map(|i| catalog.districts[i].id)
                            .ok_or_else(|| anyhow::anyhow!("No district '{c}'"))
                    })
                    .transpose()?,
            };
            assessors::add_contract(&conn, org.id, &period, what).await?;
            println!("Contract added for '{}' in {period}.", org.code);
        }
    }
    Ok(())
}
