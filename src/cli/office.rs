//! Operator commands of the appraisal office: `pingyi publish`,
//! `pingyi user add|unlock`, `pingyi api-token add|revoke|list`.

use std::io::BufRead;

use anyhow::Context;
use clap::{Args, Subcommand};
use sea_orm::TransactionTrait;

use crate::db::{self, users};
use crate::domain::keys::Keys;
use crate::domain::office::Role;
use crate::domain::period::Period;
use crate::setup::configuration::Settings;

/// The actor named in the audit log for commands run on the server.
const CLI_ACTOR: &str = "cli";

#[derive(Args)]
pub struct PublishArgs {
    /// The period to publish: YYYY, YYYY-Qn or YYYY-MM.
    #[arg(long)]
    pub period: Period,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an office account. The password is read from PINGYI_PASSWORD, or
    /// from the first line of standard input.
    Add {
        #[arg(long)]
        username: String,
        /// admin, analyst or institution.
        #[arg(long)]
        role: Role,
        /// The institution code of an institution user.
        #[arg(long)]
        institution: Option<String>,
    },
    /// Lift the lock-out of an office account (after repeated failed
    /// sign-ins) and clear its failure count.
    Unlock {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
pub enum ApiTokenCommand {
    /// Issue a read-only token for a machine client (printed once).
    Add {
        #[arg(long)]
        name: String,
        /// Days the token stays valid (no expiry when left out).
        #[arg(long)]
        days: Option<i64>,
    },
    /// Revoke a token by id or by its shown prefix.
    Revoke {
        /// The token's id or prefix (see `list`).
        token: String,
    },
    /// List the tokens (never their secret part).
    List,
}

async fn connect(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let conn = db::connect(&settings.database_url()).await?;
    db::migrate(&conn).await?;
    Ok(conn)
}

/// `pingyi publish --period P`.
pub async fn publish(settings: &Settings, args: PublishArgs) -> anyhow::Result<()> {
    let period = args.period;
    let conn = connect(settings).await?;
    let published = crate::app::publish::publish(&conn, settings, period, CLI_ACTOR)
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let s = &published.snapshot;
    println!("Published {} as run {}", s.period, s.run_id);
    println!(
        "  model version {}, inputs {} institutions / {} responses / {} answers, hash {}",
        s.model_version, s.n_institutions, s.n_responses, s.n_answers, s.input_hash
    );
    let r = published.rectification;
    println!(
        "  rectification: {} opened, {} confirmed, {} withdrawn, {} followed up",
        r.opened, r.confirmed, r.withdrawn, r.followed_up
    );
    Ok(())
}

/// `pingyi user …`.
pub async fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            username,
            role,
            institution,
        } => {
            let conn = connect(settings).await?;
            let institution_id = match &institution {
                Some(code) => Some(
                    db::catalog::Catalog::load(&conn)
                        .await?
                        .institution(code)
                        .with_context(|| format!("No institution with code '{code}'"))?
                        .id,
                ),
                None => None,
            };
            let password = match std::env::var("PINGYI_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("Password (one line):");
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .context("Failed to read the password")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let id = users::create(&conn, &username, &password, role, institution_id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::db::audit::record(&conn, CLI_ACTOR, "user.add", &username, role.as_str())
                .await?;
            println!("Added {} user '{username}' (id {id}).", role.as_str());
            Ok(())
        }
        UserCommand::Unlock { username } => {
            let conn = connect(settings).await?;
            // The change and its audit entry commit together.
            let txn = conn
                .begin()
                .await
                .context("Failed to start a transaction")?;
            anyhow::ensure!(
                users::unlock(&txn, &username).await?,
                "No office account named '{}'",
                username.escape_debug()
            );
            crate::db::audit::record(&txn, CLI_ACTOR, "user.unlock", username.trim(), "").await?;
            txn.commit().await.context("Failed to commit the unlock")?;
            println!("Unlocked '{}'.", username.trim());
            Ok(())
        }
    }
}

/// `pingyi api-token …`.
pub async fn api_token(settings: &Settings, command: ApiTokenCommand) -> anyhow::Result<()> {
    let conn = connect(settings).await?;
    match command {
        ApiTokenCommand::Add { name, days } => {
            let keys = Keys::new(settings.resolve_secret()?);
            let issued = users::issue_api_token(&conn, &keys, &name, days, Some(CLI_ACTOR)).await?;
            crate::db::audit::record(&conn, CLI_ACTOR, "api_token.add", &issued.prefix, &name)
                .await?;
            println!(
                "Read-only API token '{name}' (id {}, shown once):",
                issued.id
            );
            println!("{}", issued.token);
            match issued.expires_at {
                Some(at) => println!("Expires {at}."),
                None => println!(
                    "It does not expire; revoke it with `pingyi api-token revoke {}`.",
                    issued.prefix
                ),
            }
        }
        ApiTokenCommand::Revoke { token } => {
            let n = users::revoke_api_token(&conn, &token).await?;
            anyhow::ensure!(n > 0, "No live token with id or prefix '{token}'");
            crate::db::audit::record(&conn, CLI_ACTOR, "api_token.revoke", &token, "").await?;
            println!("Revoked {n} token(s).");
        }
        ApiTokenCommand::List => {
            for t in users::api_tokens(&conn).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                let expiry = t
                    .expires_at
                    .map_or_else(|| "never".to_owned(), |e| e.to_string());
                println!(
                    "{}\t{}\t{}\t{state}\texpires {expiry}",
                    t.id, t.prefix, t.name
                );
            }
        }
    }
    Ok(())
}
