//! `whistle bulletin`: the weekly bulletin (周通报) as Markdown.

use std::path::PathBuf;

use clap::Args;

use crate::args::DatabaseArgs;

#[derive(Debug, Args)]
pub struct BulletinArgs {
    /// ISO week, e.g. 2026-W12.
    #[arg(long)]
    week: String,
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(args: BulletinArgs) -> anyhow::Result<()> {
    let monday = whistle_reports::parse_iso_week(&args.week)?;
    let store = whistle_app::open_caught_up(&args.database.database_url).await?;
    let text =
        whistle_reports::weekly_bulletin(store.database().pool(), monday, chrono::Utc::now())
            .await?;
    std::fs::write(&args.out, text.as_bytes())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", args.out.display()))?;
    store.database().close().await;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
