//! The `whistle` program: parse the command line, run the chosen subcommand (one module
//! each in [`commands`]), turn the outcome into an exit code. It is a library as well
//! as a binary so that the end-to-end suite can build the same program
//! (`whistle-under-test`) and run it as real processes.
//!
//! Exit codes: 0 done; 1 the evidence does not verify (`audit verify`, `prove`,
//! `consistency`, `export` against a tampered log); 2 the command could not run.

pub mod args;
pub mod commands;
pub mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::audit::{AuditCommand, AuditVerdict};
use crate::commands::calendar::CalendarCommand;
use crate::commands::export::ExportCommand;
use crate::commands::projections::ProjectionsCommand;

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: GraphQL at /graphql (GraphiQL in a browser), /healthz, /readyz.
    Serve(Box<commands::serve::ServeArgs>),
    /// Load a realistic demo year (about 100 units, thousands of cases) into the database.
    Demo(commands::demo::DemoArgs),
    /// Print a signed bearer token for a person, alone on stdout.
    Token(commands::token::TokenArgs),
    /// Print the GraphQL schema (SDL) the service serves: what schema.graphql holds.
    Schema,
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
    Bulletin(commands::bulletin::BulletinArgs),
    /// China's working-day calendar (statutory holidays and make-up working days).
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Apply pending database migrations and exit.
    Migrate(commands::migrate::MigrateArgs),
    /// The audit ledger: keys, signed checkpoints, proofs and the verifier (for
    /// discipline-inspection staff).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => commands::serve::run(*args).await,
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Token(args) => commands::token::run(args),
        Command::Schema => {
            print!("{}", whistle_api::graphql::contract::sdl());
            Ok(())
        }
        Command::Projections { command } => commands::projections::run(command).await,
        Command::Export { report } => commands::export::run(report).await,
        Command::Bulletin(args) => commands::bulletin::run(args).await,
        Command::Calendar { command } => commands::calendar::run(command),
        Command::Migrate(args) => commands::migrate::run(args).await,
        Command::Audit { command } => commands::audit::run(command).await,
    }
}

/// The whole program: logging, the command line, a runtime, the command's exit code.
pub fn main() -> ExitCode {
    whistle_app::telemetry::init("info,sqlx=warn");
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // Evidence that does not verify: exit 1, the finding alone on stderr.
        Err(error) if error.downcast_ref::<AuditVerdict>().is_some() => {
            eprintln!("{error}");
            ExitCode::from(1)
        }
        // Anything else that stopped the command: exit 2.
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
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
            Ok(Command::Serve(_))
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
            Ok(Command::Demo(_))
        ));
        assert!(matches!(
            parse(&[
                "whistle", "token", "--user", "u", "--name", "n", "--role", "officer", "--unit",
                "city-cac"
            ]),
            Ok(Command::Token(_))
        ));
        assert!(matches!(
            parse(&["whistle", "projections", "rebuild"]),
            Ok(Command::Projections { .. })
        ));
        assert!(matches!(
            parse(&["whistle", "migrate"]),
            Ok(Command::Migrate(_))
        ));
        assert!(matches!(
            parse(&["whistle", "calendar", "add-working-days", "2025-09-30", "3"]),
            Ok(Command::Calendar {
                command: CalendarCommand::AddWorkingDays { days: 3, .. }
            })
        ));
        assert!(matches!(
            parse(&["whistle", "calendar", "check", "--calendar", "holidays/"]),
            Ok(Command::Calendar {
                command: CalendarCommand::Check { .. }
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
