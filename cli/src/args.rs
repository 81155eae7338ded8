//! Flags several subcommands share. Every flag has a `WHISTLE_*` environment fallback;
//! names are a contract with operators' scripts.

use clap::Args;
use whistle_api::auth::JwtSecret;

/// Default embedded database: a SQLite file under ./data/.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/whistle.sqlite";

#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// sqlite://PATH (embedded, the default) or postgres://…
    #[arg(long, env = "WHISTLE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Args, Clone)]
pub struct SecretArgs {
    /// Secret that signs and verifies tokens (at least 16 bytes). Unset: a development
    /// secret, with a loud warning.
    #[arg(long, env = "WHISTLE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

impl SecretArgs {
    /// The signing secret, or the development secret with a warning.
    pub fn secret(&self) -> anyhow::Result<JwtSecret> {
        match &self.jwt_secret {
            Some(secret) => Ok(JwtSecret::new(secret.clone())?),
            None => {
                tracing::warn!(
                    "WHISTLE_JWT_SECRET is not set: using the built-in DEVELOPMENT secret. Anyone can forge tokens. \
                     Set WHISTLE_JWT_SECRET before using Whistle for real work."
                );
                Ok(JwtSecret::development())
            }
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct RulesArgs {
    /// The rule set (TOML); default: the shipped rules/default.toml.
    #[arg(long, env = "WHISTLE_RULES")]
    pub rules: Option<std::path::PathBuf>,
}

impl RulesArgs {
    /// The rule set named by `--rules`, checked, or the shipped one.
    pub fn load(&self) -> anyhow::Result<whistle_app::RuleSet> {
        Ok(match &self.rules {
            Some(path) => whistle_app::RuleSet::load(path)?,
            None => whistle_app::RuleSet::shipped(),
        })
    }
}

#[derive(Debug, Args, Clone)]
pub struct CalendarArgs {
    /// China's holiday schedule for years not compiled in (or amended): a holiday-cn
    /// year file, or a folder of them (`2027.json` …), loaded over the compiled years.
    #[arg(long, env = "WHISTLE_CALENDAR")]
    pub calendar: Option<std::path::PathBuf>,
}

impl CalendarArgs {
    /// The compiled calendar with the files of `--calendar` loaded over it, checked.
    pub fn load(
        &self,
    ) -> anyhow::Result<std::sync::Arc<whistle_domain::calendar::WorkingDayCalendar>> {
        let calendar = match &self.calendar {
            Some(path) => whistle_app::calendar_files::load(path)?,
            None => whistle_domain::calendar::WorkingDayCalendar::china().clone(),
        };
        Ok(std::sync::Arc::new(calendar))
    }
}
