//! What the `whistle` binary does: parse the command line and run the chosen command.
//! It lives in the library so that the end-to-end suite can build the same program
//! (`whistle-under-test`) and run it as real processes.

use std::process::ExitCode;
use std::sync::Arc;

use crate::auth::{JwtSecret, issue_token};
use crate::cli::{
    BenchCommand, CalendarCommand, Cli, Command, ExportCommand, ProjectionsCommand, SecretArgs,
};
use crate::exports;
use crate::{AppConfig, Application, demo, telemetry};
use clap::Parser;
use whistle_store::{Database, EventStore, SystemClock};

fn jwt_secret(args: &SecretArgs) -> anyhow::Result<JwtSecret> {
    match &args.jwt_secret {
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            database,
            secret,
            rules,
            deadline_interval_seconds,
            system_unit,
            with_demo,
            seed,
            audit_key,
            checkpoint_dir,
            checkpoint_interval_minutes,
        } => {
            let system_unit = whistle_domain::UnitId::parse(&system_unit)?;
            let rule_set = match rules {
                Some(path) => crate::rules_file::RuleSet::load(&path)?,
                None => crate::rules_file::RuleSet::shipped(),
            };
            tracing::info!(version = %rule_set.deadlines.version, "rules loaded");
            let jwt_secret = jwt_secret(&secret)?;
            if with_demo {
                demo::load_if_empty(&database.database_url, seed).await?;
            }
            let database_url_for_checkpoints = database.database_url.clone();
            let config = AppConfig {
                listen,
                database_url: database.database_url,
                jwt_secret,
                rules: rule_set.deadlines,
                assessment_rules: rule_set.assessment,
                clock: Arc::new(SystemClock),
                deadline_interval: Some(std::time::Duration::from_secs(
                    deadline_interval_seconds.max(1),
                )),
                system_unit,
            };
            let app = Application::build(config).await?;
            if let (Some(key), Some(dir)) = (audit_key, checkpoint_dir) {
                let schedule = crate::audit_commands::CheckpointSchedule::new(
                    &key,
                    dir,
                    std::time::Duration::from_secs(checkpoint_interval_minutes.max(1) * 60),
                )?;
                tokio::spawn(schedule.run(database_url_for_checkpoints));
            }
            tracing::info!(
                port = app.port(),
                "Whistle is serving: GraphQL and GraphiQL at http://{listen}/graphql"
            );
            app.run_until_stopped(true).await
        }
        Command::Demo { database, seed } => {
            let report = demo::load(&database.database_url, seed).await?;
            eprintln!("{report}");
            Ok(())
        }
        Command::Token {
            user,
            name,
            role,
            unit,
            ttl_hours,
            secret,
        } => {
            let secret = jwt_secret(&secret)?;
            let token = issue_token(
                &secret,
                &user,
                &name,
                &role,
                &unit,
                chrono::Utc::now(),
                chrono::Duration::hours(i64::from(ttl_hours)),
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Projections {
            command: ProjectionsCommand::Rebuild { database },
        } => {
            let store = EventStore::new(Database::connect(&database.database_url).await?).await?;
            let started = std::time::Instant::now();
            let applied =
                whistle_projections::rebuild(&store, crate::app::PROJECTION_BATCH).await?;
            eprintln!(
                "rebuilt the read models from {applied} event applications in {:.2?}",
                started.elapsed()
            );
            Ok(())
        }
        Command::Export { report } => {
            let (database, out, report) = match report {
                ExportCommand::Scorecards {
                    from,
                    to,
                    format,
                    out,
                    database,
                } => {
                    let store = caught_up_store(&database.database_url).await?;
                    let report =
                        exports::scorecards(store.database().pool(), from, to, chrono::Utc::now())
                            .await?;
                    (store, out, report.write(format)?)
                }
                ExportCommand::Assessment {
                    year,
                    format,
                    out,
                    rules,
                    database,
                } => {
                    let rule_set = match rules {
                        Some(path) => crate::rules_file::RuleSet::load(&path)?,
                        None => crate::rules_file::RuleSet::shipped(),
                    };
                    let store = caught_up_store(&database.database_url).await?;
                    let report = exports::assessment(
                        store.database().pool(),
                        year,
                        chrono::Utc::now(),
                        &rule_set.assessment,
                    )
                    .await?;
                    (store, out, report.write(format)?)
                }
                ExportCommand::Ledger {
                    from,
                    to,
                    format,
                    out,
                    database,
                } => {
                    let store = caught_up_store(&database.database_url).await?;
                    let report = exports::ledger(store.database().pool(), from, to).await?;
                    (store, out, report.write(format)?)
                }
            };
            std::fs::write(&out, &report)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            database.database().close().await;
            eprintln!("wrote {} ({} bytes)", out.display(), report.len());
            Ok(())
        }
        Command::Bulletin {
            week,
            out,
            database,
        } => {
            let monday = exports::parse_iso_week(&week)?;
            let store = caught_up_store(&database.database_url).await?;
            let text =
                exports::weekly_bulletin(store.database().pool(), monday, chrono::Utc::now())
                    .await?;
            std::fs::write(&out, text.as_bytes())
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            store.database().close().await;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::Calendar {
            command: CalendarCommand::AddWorkingDays { date, days },
        } => {
            let calendar = whistle_domain::calendar::WorkingDayCalendar::china();
            println!("{}", calendar.add_working_days(date, days)?);
            Ok(())
        }
        Command::Audit { command } => crate::audit_commands::run(command).await,
        Command::Bench {
            command:
                BenchCommand::Graphql {
                    url,
                    rate,
                    seconds,
                    year,
                    queries,
                    secret,
                },
        } => {
            if rate == 0 || seconds == 0 {
                anyhow::bail!("--rate and --seconds must be at least 1");
            }
            let secret = jwt_secret(&secret)?;
            let run =
                crate::bench::graphql::run(&url, &secret, rate, seconds, year, &queries).await?;
            print!("{run}");
            if run.failed > 0 {
                anyhow::bail!("{} of {} requests failed", run.failed, run.sent);
            }
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::GraphqlCommands {
                    url,
                    clients,
                    commands,
                    secret,
                },
        } => {
            if clients.contains(&0) || commands == 0 {
                anyhow::bail!("--clients and --commands must be at least 1");
            }
            let secret = jwt_secret(&secret)?;
            println!("GraphQL command-path benchmark against {url}, {commands} commands per run");
            println!("{}", crate::bench::GRAPHQL_COMMAND_TABLE_HEADER);
            for (n, count) in clients.into_iter().enumerate() {
                let per_client = commands.div_ceil(count);
                let run =
                    crate::bench::graphql_commands::run(&url, &secret, count, per_client, n as u64)
                        .await?;
                println!("{}", run.latency_row());
            }
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Commands {
                    clients,
                    commands,
                    database,
                },
        } => {
            if clients.contains(&0) || commands == 0 {
                anyhow::bail!("--clients and --commands must be at least 1");
            }
            let store = crate::bench::open_empty_store(&database.database_url).await?;
            let (handler, units) = crate::bench::commands::prepare(store.clone()).await?;
            println!(
                "command-path benchmark on {} ({:?}), {} commands per run, {} units",
                store.database().display_url(),
                store.database().backend(),
                commands,
                crate::bench::commands::UNITS
            );
            println!("{}", crate::bench::COMMAND_TABLE_HEADER);
            for (n, count) in clients.into_iter().enumerate() {
                let per_client = commands.div_ceil(count);
                let run =
                    crate::bench::commands::run(&handler, &units, count, per_client, n as u64)
                        .await?;
                println!("{run}");
            }
            store.database().close().await;
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Append {
                    clients,
                    appends,
                    events_per_append,
                    database,
                },
        } => {
            if clients.contains(&0) || appends == 0 || events_per_append == 0 {
                anyhow::bail!("--clients, --appends and --events-per-append must be at least 1");
            }
            let store = crate::bench::open_empty_store(&database.database_url).await?;
            println!(
                "append benchmark on {} ({:?}), {} appends per run",
                store.database().display_url(),
                store.database().backend(),
                appends
            );
            println!("{}", crate::bench::APPEND_TABLE_HEADER);
            for count in clients {
                let per_client = appends.div_ceil(count);
                let run =
                    crate::bench::append_run(&store, count, per_client, events_per_append).await?;
                println!("{run}");
            }
            store.database().close().await;
            Ok(())
        }
        Command::Migrate {
            database,
            service_role,
        } => {
            let db = Database::connect(&database.database_url).await?;
            eprintln!("migrations applied to {}", db.display_url());
            if let Some(role) = service_role {
                db.grant_service_role(&role).await?;
                eprintln!(
                    "role {role} may read and append events, and write read models; it may not update, delete or truncate events"
                );
            }
            db.close().await;
            Ok(())
        }
    }
}

/// Open the store and bring every read model up to the end of the log, so a report
/// reflects everything recorded.
pub(crate) async fn caught_up_store(database_url: &str) -> anyhow::Result<EventStore> {
    let store = EventStore::new(Database::connect(database_url).await?).await?;
    whistle_projections::ProjectionRunner::new(store.clone(), crate::app::PROJECTION_BATCH)
        .await?
        .catch_up()
        .await?;
    Ok(store)
}

/// The whole program: logging, the command line, a runtime, the command's exit code.
pub fn main() -> ExitCode {
    telemetry::init("info,sqlx=warn");
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
        Err(error)
            if error
                .downcast_ref::<crate::audit_commands::AuditVerdict>()
                .is_some() =>
        {
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
