//! The `whistle` command line. Every flag has a `WHISTLE_*` environment fallback; names
//! are a contract with operators' scripts.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// Default embedded database: a SQLite file under ./data/.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/whistle.sqlite";

#[derive(Debug, Parser)]
#[command(
    name = "whistle",
    version,
    about = "Whistle: the system of record for 舆情吹哨,部门联动"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: GraphQL at /graphql (GraphiQL in a browser), /healthz, /readyz.
    Serve {
        #[arg(long, env = "WHISTLE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        secret: SecretArgs,
        /// The rule set (TOML); default: the shipped rules/default.toml.
        #[arg(long, env = "WHISTLE_RULES")]
        rules: Option<std::path::PathBuf>,
        /// Seconds between passes of the deadline process (warnings and misses).
        #[arg(long, env = "WHISTLE_DEADLINE_INTERVAL_SECONDS", default_value_t = 30)]
        deadline_interval_seconds: u64,
        /// Unit code the system actor records deadline events under.
        #[arg(long, env = "WHISTLE_SYSTEM_UNIT", default_value = "city-cac")]
        system_unit: String,
        /// Load the demo year first when the database is empty.
        #[arg(long, env = "WHISTLE_WITH_DEMO")]
        with_demo: bool,
        /// Sign a checkpoint of the log periodically with this private key (a key file,
        /// or the key itself in WHISTLE_AUDIT_KEY); needs --checkpoint-dir.
        #[arg(
            long,
            env = "WHISTLE_AUDIT_KEY",
            hide_env_values = true,
            requires = "checkpoint_dir"
        )]
        audit_key: Option<String>,
        /// Where the periodic checkpoints (and their leaf lists) are written.
        #[arg(long, env = "WHISTLE_CHECKPOINT_DIR", requires = "audit_key")]
        checkpoint_dir: Option<std::path::PathBuf>,
        /// Minutes between periodic checkpoints (one is written only if the log grew).
        #[arg(
            long,
            env = "WHISTLE_CHECKPOINT_INTERVAL_MINUTES",
            default_value_t = 60
        )]
        checkpoint_interval_minutes: u64,
        /// Seed of the demo data (with --with-demo).
        #[arg(long, default_value_t = crate::demo::DEFAULT_SEED)]
        seed: u64,
    },
    /// Load a realistic demo year (about 100 units, thousands of cases) into the database.
    Demo {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long, default_value_t = crate::demo::DEFAULT_SEED)]
        seed: u64,
    },
    /// Print a signed bearer token for a person, alone on stdout.
    Token {
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
    },
    /// Read-model maintenance.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Reports as CSV or XLSX: scorecards, the annual assessment, the case ledger (台账).
    Export {
        #[command(subcommand)]
        report: ExportCommand,
    },
    /// The weekly bulletin (周通报) as Markdown.
    Bulletin {
        /// ISO week, e.g. 2026-W12.
        #[arg(long)]
        week: String,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// China's working-day calendar (statutory holidays and make-up working days).
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
        /// PostgreSQL: the role the service connects as. It gets what the service needs
        /// and no more: it may read and append events but never UPDATE, DELETE or
        /// TRUNCATE them (run this again after each upgrade's migrations).
        #[arg(long, env = "WHISTLE_SERVICE_ROLE")]
        service_role: Option<String>,
    },
    /// The audit ledger: keys, signed checkpoints, proofs and the verifier (for
    /// discipline-inspection staff).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Benchmarks (release build; they write events, so they need an empty database).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Make an Ed25519 key pair for signing checkpoints: the private key goes to --out
    /// (keep it outside the database), the public key is printed.
    Keygen {
        /// Where to write the private key (refuses to overwrite).
        #[arg(long)]
        out: std::path::PathBuf,
        /// The log's name (origin), e.g. whistle.example.gov.cn/log; checkpoints carry it.
        #[arg(long, env = "WHISTLE_AUDIT_ORIGIN", default_value = "whistle")]
        origin: String,
    },
    /// Sign a checkpoint of the log as it is now. Writes FILE and FILE.leaves (the leaf
    /// hashes it covers, which let a later audit name the first bad event).
    Checkpoint {
        /// The private key file (or the key itself in WHISTLE_AUDIT_KEY).
        #[arg(long, env = "WHISTLE_AUDIT_KEY", hide_env_values = true)]
        key: String,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Prove that an event is in the log a checkpoint signs (a bundle for the offline
    /// verifier).
    Prove {
        /// The event id.
        #[arg(long)]
        event: String,
        #[arg(long)]
        checkpoint: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Prove that the log an older checkpoint signs is a prefix of the one a newer signs.
    Consistency {
        #[arg(long)]
        old: std::path::PathBuf,
        #[arg(long)]
        new: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Export audit-trail rows (CSV) and the same events with their proofs against a
    /// checkpoint (an evidence bundle the offline verifier accepts).
    Export {
        /// The checkpoint the events are proven against.
        #[arg(long)]
        checkpoint: std::path::PathBuf,
        /// Where to write the rows as CSV (UTF-8 with BOM).
        #[arg(long)]
        csv: std::path::PathBuf,
        /// Where to write the evidence bundle.
        #[arg(long)]
        bundle: std::path::PathBuf,
        /// Everything this person did.
        #[arg(long)]
        actor: Option<String>,
        /// Everything that happened to the assignments of this unit.
        #[arg(long)]
        assignments_of_unit: Option<String>,
        /// Everything that happened to this case.
        #[arg(long)]
        case: Option<String>,
        /// Only these event types (repeatable), e.g. ReturnRejected, CaseReopened.
        #[arg(long)]
        event_type: Vec<String>,
        /// From this instant (RFC 3339).
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// Before this instant (RFC 3339).
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Verify. Offline: checkpoint files and proof bundles, with the public key only.
    /// Otherwise a full audit of the database against the checkpoints you hold. Exit 0:
    /// everything verifies; 1: something does not (the first bad position on stderr);
    /// 2: the check could not be carried out.
    Verify {
        /// Check FILES without touching any database.
        #[arg(long)]
        offline: bool,
        /// The log's public key (the key itself, or a file holding it).
        #[arg(long, env = "WHISTLE_AUDIT_PUBLIC_KEY")]
        public_key: String,
        /// A checkpoint you hold (repeatable; full audit).
        #[arg(long)]
        checkpoint: Vec<std::path::PathBuf>,
        /// Checkpoint files and proof bundles (offline).
        files: Vec<std::path::PathBuf>,
        /// Full audit: skip replaying the log to compare the read models (which takes as
        /// long as projecting the whole log).
        #[arg(long)]
        skip_read_models: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Query latency over GraphQL/HTTP against a running `whistle serve` at a fixed
    /// request rate (case list, case timeline, dashboard, a year's scorecards).
    Graphql {
        /// The server, e.g. http://127.0.0.1:8080
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Requests per second (open loop).
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The year of the scorecards queried.
        #[arg(long, default_value_t = 2026)]
        year: i32,
        /// Which queries, in turn: case-list, case-timeline, dashboard, scorecards.
        #[arg(long, value_delimiter = ',', default_value = "case-list,case-timeline")]
        queries: Vec<String>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// The command path through GraphQL over HTTP against a running `whistle serve`:
    /// the same lifecycle workload as `bench commands`, one mutation at a time per client
    /// (closed loop); prints a Markdown table.
    GraphqlCommands {
        /// The server, e.g. http://127.0.0.1:8080
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Numbers of concurrent clients, one run each, e.g. 1,8,32.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        clients: Vec<usize>,
        /// Commands per run (split over its clients).
        #[arg(long, default_value_t = 8_000)]
        commands: usize,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// The command path (load the stream, decide, append durably) for the case
    /// lifecycle with Zipf-skewed activity; prints a Markdown table.
    Commands {
        /// Numbers of concurrent clients, one run each, e.g. 1,8,32.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        clients: Vec<usize>,
        /// Commands per run (split over its clients).
        #[arg(long, default_value_t = 8_000)]
        commands: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Durable appends per second at each number of concurrent clients; prints a
    /// Markdown table.
    Append {
        /// Numbers of concurrent clients, one run each, e.g. 1,8,32.
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        clients: Vec<usize>,
        /// Appends per run (split over its clients).
        #[arg(long, default_value_t = 8_000)]
        appends: usize,
        /// Events in each append (1: one event per command; more: batched appends).
        #[arg(long, default_value_t = 1)]
        events_per_append: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Empty every read model and replay the whole log.
    Rebuild {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Unit scorecards for the period [--from, --to) in Asia/Shanghai dates.
    Scorecards {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        #[arg(long, value_enum)]
        format: crate::exports::ExportFormat,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The annual assessment: summary and every deduction and addition.
    Assessment {
        #[arg(long)]
        year: i32,
        #[arg(long, value_enum)]
        format: crate::exports::ExportFormat,
        #[arg(long)]
        out: std::path::PathBuf,
        /// The rule set (TOML); default: the shipped rules/default.toml.
        #[arg(long, env = "WHISTLE_RULES")]
        rules: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The case ledger (台账): cases flagged in [--from, --to).
    Ledger {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        #[arg(long, value_enum)]
        format: crate::exports::ExportFormat,
        #[arg(long)]
        out: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Print the date N working days after DATE (YYYY-MM-DD), not counting DATE itself.
    AddWorkingDays { date: chrono::NaiveDate, days: u32 },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_command_names_scripts_depend_on_parse() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.command);
        assert!(matches!(
            parse(&[
                "whistle",
                "serve",
                "--listen",
                "127.0.0.1:9000",
                "--database-url",
                "sqlite://x.sqlite"
            ]),
            Ok(Command::Serve { .. })
        ));
        assert!(matches!(
            parse(&[
                "whistle",
                "demo",
                "--database-url",
                "sqlite://x.sqlite",
                "--seed",
                "3"
            ]),
            Ok(Command::Demo { seed: 3, .. })
        ));
        assert!(matches!(
            parse(&[
                "whistle", "token", "--user", "u", "--name", "n", "--role", "officer", "--unit",
                "city-cac"
            ]),
            Ok(Command::Token { .. })
        ));
        assert!(matches!(
            parse(&["whistle", "projections", "rebuild"]),
            Ok(Command::Projections { .. })
        ));
        assert!(matches!(
            parse(&["whistle", "migrate"]),
            Ok(Command::Migrate { .. })
        ));
        assert!(matches!(
            parse(&["whistle", "calendar", "add-working-days", "2025-09-30", "3"]),
            Ok(Command::Calendar {
                command: CalendarCommand::AddWorkingDays { days: 3, .. }
            })
        ));
        assert!(parse(&["whistle", "calendar", "add-working-days", "not-a-date", "3"]).is_err());
        let export = |args: &[&str]| parse(&[&["whistle", "export"], args].concat());
        assert!(
            export(&[
                "scorecards",
                "--from",
                "2026-01-01",
                "--to",
                "2026-04-01",
                "--format",
                "csv",
                "--out",
                "s.csv"
            ])
            .is_ok()
        );
        assert!(
            export(&[
                "assessment",
                "--year",
                "2026",
                "--format",
                "xlsx",
                "--out",
                "a.xlsx"
            ])
            .is_ok()
        );
        assert!(
            export(&[
                "ledger",
                "--from",
                "2026-01-01",
                "--to",
                "2026-02-01",
                "--format",
                "xlsx",
                "--out",
                "l.xlsx"
            ])
            .is_ok()
        );
        assert!(
            export(&[
                "ledger",
                "--from",
                "2026-01-01",
                "--to",
                "2026-02-01",
                "--format",
                "pdf",
                "--out",
                "l.pdf"
            ])
            .is_err()
        );
        assert!(parse(&["whistle", "bulletin", "--week", "2026-W12", "--out", "b.md"]).is_ok());
    }
}
