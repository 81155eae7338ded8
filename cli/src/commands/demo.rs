//! `whistle demo`: load the demo year into an empty database.

use clap::Args;

use crate::args::{CalendarArgs, DatabaseArgs, RulesArgs};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    rules: RulesArgs,
    #[command(flatten)]
    calendar: CalendarArgs,
    #[arg(long, default_value_t = whistle_demo::DEFAULT_SEED)]
    seed: u64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let rules = args.rules.load()?.case_rules(args.calendar.load()?);
    let mut progress = Progress::new("loading the demo year", "days");
    let report = whistle_demo::load(&args.database.database_url, args.seed, &rules, &mut |at| {
        progress.set(at.days_done as u64, at.days as u64)
    })
    .await?;
    progress.finish();
    eprintln!("{report}");
    Ok(())
}
