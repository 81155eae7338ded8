//! `whistle projections rebuild`: empty every read model and replay the whole log.

use clap::Subcommand;
use whistle_store::{Database, EventStore};

use crate::args::DatabaseArgs;
use crate::progress::Progress;

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Empty every read model and replay the whole log.
    Rebuild {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub async fn run(command: ProjectionsCommand) -> anyhow::Result<()> {
    match command {
        ProjectionsCommand::Rebuild { database } => {
            let store = EventStore::new(Database::connect(&database.database_url).await?).await?;
            let started = std::time::Instant::now();
            let mut progress = Progress::new("rebuilding the read models", "events");
            let applied = whistle_projections::rebuild_reporting(
                &store,
                whistle_app::PROJECTION_BATCH,
                &mut |at| progress.set(at.reached as u64, at.head as u64),
            )
            .await?;
            progress.finish();
            eprintln!(
                "rebuilt the read models from {applied} event applications in {:.2?}",
                started.elapsed()
            );
            store.database().close().await;
            Ok(())
        }
    }
}
