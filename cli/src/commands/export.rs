//! `whistle export scorecards|assessment|ledger`: reports for evaluators as CSV or XLSX,
//! each made after the read models have caught up with the end of the log.

use std::path::PathBuf;

use clap::Subcommand;
use whistle_reports::{self as reports, ExportFormat};

use crate::args::{DatabaseArgs, RulesArgs};

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Unit scorecards for the period [--from, --to) in Asia/Shanghai dates.
    Scorecards {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        /// csv or xlsx
        #[arg(long)]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The annual assessment: summary and every deduction and addition.
    Assessment {
        #[arg(long)]
        year: i32,
        /// csv or xlsx
        #[arg(long)]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        rules: RulesArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The case ledger (台账): cases flagged in [--from, --to).
    Ledger {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        /// csv or xlsx
        #[arg(long)]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub async fn run(command: ExportCommand) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let (database, out, bytes) = match command {
        ExportCommand::Scorecards {
            from,
            to,
            format,
            out,
            database,
        } => {
            let store = whistle_app::open_caught_up(&database.database_url).await?;
            let report = reports::scorecards(store.database().pool(), from, to, now).await?;
            (store, out, report.write(format)?)
        }
        ExportCommand::Assessment {
            year,
            format,
            out,
            rules,
            database,
        } => {
            let rules = rules.load()?;
            let store = whistle_app::open_caught_up(&database.database_url).await?;
            let report =
                reports::assessment(store.database().pool(), year, now, &rules.assessment).await?;
            (store, out, report.write(format)?)
        }
        ExportCommand::Ledger {
            from,
            to,
            format,
            out,
            database,
        } => {
            let store = whistle_app::open_caught_up(&database.database_url).await?;
            let report = reports::ledger(store.database().pool(), from, to).await?;
            (store, out, report.write(format)?)
        }
    };
    std::fs::write(&out, &bytes).map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
    database.database().close().await;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
