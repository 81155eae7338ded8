//! `whistle token`: print a signed bearer token for a person, alone on stdout (for
//! development and the demo; see README "Who may do what").

use clap::Args;
use whistle_api::auth::issue_token;

use crate::args::SecretArgs;

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long)]
    user: String,
    #[arg(long)]
    name: String,
    /// monitor, dispatcher, officer, unit_head, leader, supervisor, police, evaluator, inspector or admin
    #[arg(long)]
    role: String,
    /// The person's unit code, e.g. city-cac.
    #[arg(long)]
    unit: String,
    /// Hours the token stays valid.
    #[arg(long, default_value_t = 12)]
    ttl_hours: u32,
    #[command(flatten)]
    secret: SecretArgs,
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let secret = args.secret.secret()?;
    let token = issue_token(
        &secret,
        &args.user,
        &args.name,
        &args.role,
        &args.unit,
        chrono::Utc::now(),
        chrono::Duration::hours(i64::from(args.ttl_hours)),
    )?;
    println!("{token}");
    Ok(())
}
