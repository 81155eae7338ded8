//! `whistle migrate`: apply pending migrations and exit; on PostgreSQL, optionally grant
//! the service's role what it needs and no more.

use clap::Args;
use whistle_store::Database;

use crate::args::DatabaseArgs;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// PostgreSQL: the role the service connects as. It gets what the service needs
    /// and no more: it may read and append events but never UPDATE, DELETE or
    /// TRUNCATE them (run this again after each upgrade's migrations).
    #[arg(long, env = "WHISTLE_SERVICE_ROLE")]
    service_role: Option<String>,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let db = Database::connect(&args.database.database_url).await?;
    eprintln!("migrations applied to {}", db.display_url());
    if let Some(role) = args.service_role {
        db.grant_service_role(&role).await?;
        eprintln!(
            "role {role} may read and append events, and write read models; it may not update, delete or truncate events"
        );
    }
    db.close().await;
    Ok(())
}
