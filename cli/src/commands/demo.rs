//! `whistle demo`: load the demo year into an empty database.

use clap::Args;

use crate::args::{DatabaseArgs, RulesArgs};

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    rules: RulesArgs,
    #[arg(long, default_value_t = whistle_demo::DEFAULT_SEED)]
    seed: u64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let rules = args.rules.load()?;
    let report =
        whistle_demo::load(&args.database.database_url, args.seed, &rules.case_rules()).await?;
    eprintln!("{report}");
    Ok(())
}
