//! The benchmark's results as Markdown, and writing them into BENCHMARKS.md between two
//! marker lines (everything outside the markers — the analysis, the profiles — is kept).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::drivers::{AppendRun, latency_quantile};

use crate::suite::{BackendResults, SuiteResults};

pub const BEGIN_MARKER: &str = "<!-- whistle-bench:begin (written by whistle-bench; edits between the markers are replaced) -->";
pub const END_MARKER: &str = "<!-- whistle-bench:end -->";

fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

fn seconds(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64())
}

fn thousands(value: f64) -> String {
    let rounded = value.round() as i64;
    let digits = rounded.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn latencies(run: &AppendRun) -> String {
    format!(
        "{} | {} | {}",
        ms(run.latency(0.5)),
        ms(run.latency(0.99)),
        ms(run.latency(0.999))
    )
}

/// What this machine is (for the reader to compare theirs).
pub fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or("unknown memory".to_owned(), |kib| {
            format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores ({cpu}), {memory}, {}", std::env::consts::OS)
}

/// The results section, markers included.
pub fn render(results: &SuiteResults, command_line: &str) -> String {
    let mut out = String::new();
    let sizes = &results.sizes;
    let w = &mut out;
    let _ = writeln!(w, "{BEGIN_MARKER}");
    let _ = writeln!(w, "## Latest run of the whole benchmark\n");
    let _ = writeln!(
        w,
        "Run {} UTC, {:.0} s in all, on {}; {} build. Reproduce with `{command_line}`.\n",
        results.started_at.format("%Y-%m-%d %H:%M"),
        results.elapsed.as_secs_f64(),
        machine_description(),
        if cfg!(debug_assertions) {
            "**debug** (numbers not comparable)"
        } else {
            "release"
        }
    );
    for backend in &results.backends {
        let _ = writeln!(w, "- {}: {}", backend.backend.label(), backend.version);
    }
    let _ = writeln!(w);

    let _ = writeln!(
        w,
        "### Command path: decide + durable append, Whistle beside cqrs-es\n\n\
         {} commands per run (the lifecycle workload: 16 cases in flight per client, Zipf-chosen, ~100 units); \
         each backend's runs on fresh databases of the same server or disk.\n",
        sizes.commands_per_run
    );
    let _ = writeln!(
        w,
        "| backend | clients | Whistle commands/s | p50 / p99 / p99.9 ms | cqrs-es commands/s | p50 / p99 / p99.9 ms | Whistle ÷ cqrs-es |\n|---|---|---|---|---|---|---|"
    );
    for backend in &results.backends {
        for run in &backend.command_path {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {:.2}× |",
                backend.backend.label(),
                run.whistle.clients,
                thousands(run.whistle.appends_per_second()),
                latencies(&run.whistle).replace(" | ", " / "),
                thousands(run.cqrs_es.appends_per_second()),
                latencies(&run.cqrs_es).replace(" | ", " / "),
                run.ratio()
            );
        }
    }

    let _ = writeln!(
        w,
        "\n### Batched appends (the store alone)\n\n| backend | clients | appends | events/append | events/s | appends/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|"
    );
    for backend in &results.backends {
        let run = &backend.batched;
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            backend.backend.label(),
            run.clients,
            run.appends,
            run.events / run.appends.max(1),
            thousands(run.events_per_second()),
            thousands(run.appends_per_second()),
            ms(run.latency(0.5)),
            ms(run.latency(0.99)),
        );
    }

    let _ = writeln!(
        w,
        "\n### A log of real cases: filling it, catching up, starting, memory\n\n\
         The log is filled through the command path by 32 clients; then `whistle serve` starts on it \
         with empty read models (catch-up = a rebuild: the same code from position 0), and is restarted once caught up.\n\n\
         | backend | events | database | fill commands/s | serving after start | catch-up | catch-up events/s | RSS caught up | peak RSS | restart: serving | restart: at head |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for backend in &results.backends {
        let log = &backend.large_log;
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} ms | {} s | {} | {} MiB | {} MiB | {} ms | {} ms |",
            backend.backend.label(),
            thousands(log.events as f64),
            log.database_bytes.map_or("—".to_owned(), |b| format!(
                "{:.0} MiB",
                b as f64 / 1024.0 / 1024.0
            )),
            thousands(log.fill.appends_per_second()),
            ms(log.first_start_serving),
            seconds(log.catch_up),
            thousands(log.events as f64 / log.catch_up.as_secs_f64()),
            mib(log.rss_after_catch_up_kib),
            mib(log.peak_rss_kib),
            ms(log.restart_serving),
            ms(log.restart_projected),
        );
    }

    let _ = writeln!(
        w,
        "\n### Queries over GraphQL/HTTP on that log (open loop, {} s each)\n\n\
         The case list and timelines at {} requests/s; then the dashboard and a year's scorecards (whole-year aggregations) at {} requests/s.\n\n\
         | backend | query | requests/s | requests | failed (whole run) | p50 ms | p99 ms | p99.9 ms | max ms |\n|---|---|---|---|---|---|---|---|---|",
        sizes.query_seconds, sizes.query_rate, sizes.aggregate_query_rate
    );
    for backend in &results.backends {
        for run in [
            &backend.large_log.queries,
            &backend.large_log.aggregate_queries,
            &backend.large_log.as_of_queries,
        ] {
            for (kind, latencies) in &run.latencies {
                if latencies.is_empty() {
                    continue;
                }
                let at = |q: f64| latency_quantile(latencies, q).map_or("—".to_owned(), ms);
                let _ = writeln!(
                    w,
                    "| {} | {kind} | {} | {} | {} | {} | {} | {} | {} |",
                    backend.backend.label(),
                    run.rate,
                    latencies.len(),
                    run.failed,
                    at(0.5),
                    at(0.99),
                    at(0.999),
                    at(1.0),
                );
            }
        }
    }

    let _ = writeln!(
        w,
        "\n### Command path through GraphQL over HTTP, on that log\n\n{} mutations per run, closed loop, each with the token of the role that may issue it.\n\n| backend | clients | commands/s | p50 ms | p99 ms | p99.9 ms |\n|---|---|---|---|---|---|",
        sizes.graphql_commands_per_run
    );
    for backend in &results.backends {
        for run in &backend.large_log.graphql_commands {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} |",
                backend.backend.label(),
                run.clients,
                thousands(run.appends_per_second()),
                latencies(run)
            );
        }
    }

    let _ = writeln!(
        w,
        "\n### Under attack, on that log\n\n\
         The case list at {} requests/s for {} s alone, then for {} s beside abusers sending, as fast as they are answered, \
         the hardening review's requests (value literals nested 1,550 deep and an exponential fragment chain without a token, \
         1,000 aliases of the annual assessment, 16 dashboards as of an instant, a NUL in a post title, a legitimate whole-year \
         assessment) and holding 200 half-sent connections.\n\n\
         | backend | case list alone p50 / p99 ms | under attack p50 / p99 ms | failed alone / under attack | abusive requests (by answer) | half-sent connections closed | server RSS before / peak / after |\n|---|---|---|---|---|---|---|",
        sizes.abuse_rate, sizes.abuse_seconds, sizes.abuse_seconds
    );
    for backend in &results.backends {
        let abuse = &backend.large_log.abuse;
        let quantile = |run: &crate::drivers::graphql::GraphqlRun, q: f64| {
            run.latencies
                .get(crate::drivers::graphql::KINDS[0])
                .and_then(|l| latency_quantile(l, q))
                .map_or("—".to_owned(), ms)
        };
        let answers: Vec<String> = abuse
            .answers
            .iter()
            .map(|(answer, n)| format!("{answer} {}", thousands(*n as f64)))
            .collect();
        let _ = writeln!(
            w,
            "| {} | {} / {} | {} / {} | {} / {} | {} | {} of {} | {} |",
            backend.backend.label(),
            quantile(&abuse.alone, 0.5),
            quantile(&abuse.alone, 0.99),
            quantile(&abuse.under_attack, 0.5),
            quantile(&abuse.under_attack, 0.99),
            abuse.alone.failed,
            abuse.under_attack.failed,
            answers.join(", "),
            abuse.slowloris_closed,
            abuse.slowloris_opened,
            abuse
                .rss_kib
                .map_or("—".to_owned(), |(before, peak, after)| format!(
                    "{} / {} / {} MiB",
                    before / 1024,
                    peak / 1024,
                    after / 1024
                )),
        );
    }

    let _ = writeln!(
        w,
        "\n### The audit ledger's proofs, on that log\n\n\
         A checkpoint signed in process, the tree's tiles built from scratch, then {} inclusion proofs of events at random \
         positions and {} consistency proofs from random sizes, each verified offline before it counts.\n\n\
         | backend | checkpoint | tiles built | inclusion proof p50 / p99 ms | consistency proof p50 / p99 ms |\n|---|---|---|---|---|",
        sizes.proofs, sizes.proofs
    );
    for backend in &results.backends {
        let proofs = &backend.large_log.proofs;
        let q = |latencies: &[Duration], quantile: f64| {
            latency_quantile(latencies, quantile).map_or("—".to_owned(), ms)
        };
        let _ = writeln!(
            w,
            "| {} | {} s | {} s | {} / {} | {} / {} |",
            backend.backend.label(),
            seconds(proofs.checkpoint),
            seconds(proofs.tiles_built),
            q(&proofs.inclusion, 0.5),
            q(&proofs.inclusion, 0.99),
            q(&proofs.consistency, 0.5),
            q(&proofs.consistency, 0.99),
        );
    }

    let _ = writeln!(w, "\n### Against the targets\n");
    let _ = writeln!(
        w,
        "| target | {} |",
        results
            .backends
            .iter()
            .map(|b| b.backend.label())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(w, "|---|{}", "---|".repeat(results.backends.len()));
    let row = |w: &mut String, name: &str, cell: &dyn Fn(&BackendResults) -> String| {
        let cells: Vec<String> = results.backends.iter().map(cell).collect();
        let _ = writeln!(w, "| {name} | {} |", cells.join(" | "));
    };
    let verdict = |met: bool| if met { "met" } else { "**short**" };
    row(
        w,
        "command path at 32 clients ≥ 10,000/s SQLite, ≥ 5,000/s PostgreSQL",
        &|b| {
            let target = match b.backend {
                crate::suite::BenchBackend::Sqlite => 10_000.0,
                crate::suite::BenchBackend::Postgres => 5_000.0,
            };
            b.command_path
                .iter()
                .find(|r| r.whistle.clients == 32)
                .map_or("not run".to_owned(), |r| {
                    let rate = r.whistle.appends_per_second();
                    format!("{} ({})", thousands(rate), verdict(rate >= target))
                })
        },
    );
    row(w, "≥ 3× cqrs-es at 32 clients", &|b| {
        b.command_path
            .iter()
            .find(|r| r.whistle.clients == 32)
            .map_or("not run".to_owned(), |r| {
                format!("{:.2}× ({})", r.ratio(), verdict(r.ratio() >= 3.0))
            })
    });
    row(
        w,
        "batched append ≥ 100,000 events/s SQLite, ≥ 50,000 PostgreSQL",
        &|b| {
            let target = match b.backend {
                crate::suite::BenchBackend::Sqlite => 100_000.0,
                crate::suite::BenchBackend::Postgres => 50_000.0,
            };
            let rate = b.batched.events_per_second();
            format!("{} ({})", thousands(rate), verdict(rate >= target))
        },
    );
    row(w, "catch-up ≥ 100,000 events/s", &|b| {
        let rate = b.large_log.events as f64 / b.large_log.catch_up.as_secs_f64();
        format!("{} ({})", thousands(rate), verdict(rate >= 100_000.0))
    });
    row(w, "rebuild of 1M events ≤ 20 s", &|b| {
        let per_million =
            b.large_log.catch_up.as_secs_f64() * 1_000_000.0 / b.large_log.events as f64;
        format!(
            "{per_million:.0} s per 1M ({})",
            verdict(per_million <= 20.0)
        )
    });
    for kind in ["case list", "case timeline"] {
        row(
            w,
            &format!(
                "{kind} p99 ≤ 10 ms at 500 requests/s (run at {})",
                sizes.query_rate
            ),
            &|b| {
                query_p99(b, kind).map_or("not run".to_owned(), |p99| {
                    format!(
                        "{} ms ({})",
                        ms(p99),
                        verdict(p99 <= Duration::from_millis(10))
                    )
                })
            },
        );
    }
    row(w, "a year's scorecards ≤ 100 ms (p99)", &|b| {
        query_p99(b, "year scorecards").map_or("not run".to_owned(), |p99| {
            format!(
                "{} ms ({})",
                ms(p99),
                verdict(p99 <= Duration::from_millis(100))
            )
        })
    });
    row(w, "peak RSS ≤ 200 MB", &|b| {
        let mb = b.large_log.peak_rss_kib as f64 * 1024.0 / 1e6;
        format!("{mb:.0} MB ({})", verdict(mb <= 200.0))
    });
    row(
        w,
        "under attack: alive, the case list never failed, RSS back within 50 MB",
        &|b| {
            let abuse = &b.large_log.abuse;
            let back = abuse
                .rss_kib
                .map(|(before, _, after)| after.saturating_sub(before) <= 50 * 1024);
            let met = abuse.alive && abuse.under_attack.failed == 0 && back != Some(false);
            let rss = abuse
                .rss_kib
                .map_or("RSS not read".to_owned(), |(before, _, after)| {
                    format!("{:+} MiB", (after as i64 - before as i64) / 1024)
                });
            format!("{rss} ({})", verdict(met))
        },
    );
    row(w, "an inclusion proof ≤ 10 ms (p99)", &|b| {
        let p99 = latency_quantile(&b.large_log.proofs.inclusion, 0.99);
        match p99 {
            Some(p99) => format!(
                "{} ms ({})",
                ms(p99),
                verdict(p99 <= Duration::from_millis(10))
            ),
            None => "—".to_owned(),
        }
    });
    row(
        w,
        "ready to serve ≤ 1 s (restart on the caught-up log, to read models at head)",
        &|b| {
            let ready = b.large_log.restart_projected;
            format!(
                "{} ms ({})",
                ms(ready),
                verdict(ready <= Duration::from_secs(1))
            )
        },
    );
    if results
        .backends
        .iter()
        .any(|b| b.large_log.events < 1_000_000)
    {
        let _ = writeln!(
            w,
            "\nThe log held fewer than 1,000,000 events in this run: the 1M targets are read per million, not measured at it."
        );
    }
    let _ = writeln!(w, "\n{END_MARKER}");
    out
}

fn query_p99(backend: &BackendResults, kind: &str) -> Option<Duration> {
    let log = &backend.large_log;
    let latencies = log
        .queries
        .latencies
        .get(kind)
        .or_else(|| log.aggregate_queries.latencies.get(kind))
        .or_else(|| log.as_of_queries.latencies.get(kind))?;
    latency_quantile(latencies, 0.99)
}

/// Put `section` into `path`: between the markers if the file has them, else appended;
/// a missing file is created.
pub fn write_into(path: &Path, section: &str) -> anyhow::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error.into()),
    };
    let updated = match (existing.find(BEGIN_MARKER), existing.find(END_MARKER)) {
        (Some(begin), Some(end)) if begin < end => format!(
            "{}{}{}",
            &existing[..begin],
            section.trim_end(),
            &existing[end + END_MARKER.len()..]
        ),
        (None, None) if existing.is_empty() => section.to_owned(),
        (None, None) => format!("{}\n\n{section}", existing.trim_end()),
        _ => anyhow::bail!(
            "{} has one of the markers but not the other, or them out of order; mend it by hand",
            path.display()
        ),
    };
    let temporary = path.with_extension("md.tmp");
    std::fs::write(&temporary, updated)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(-45_000.0), "-45,000");
    }

    #[test]
    fn the_section_replaces_what_is_between_the_markers_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("BENCHMARKS.md");
        let section = |n: u32| format!("{BEGIN_MARKER}\nrun {n}\n{END_MARKER}\n");
        write_into(&path, &section(1)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), section(1));

        std::fs::write(
            &path,
            format!("# Intro\n\n{}\n## Analysis\nkept\n", section(1)),
        )
        .unwrap();
        write_into(&path, &section(2)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("# Intro\n\n{BEGIN_MARKER}\nrun 2\n{END_MARKER}\n\n## Analysis\nkept\n")
        );

        std::fs::write(&path, "# Only prose\n").unwrap();
        write_into(&path, &section(3)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("# Only prose\n\n{}", section(3))
        );

        std::fs::write(&path, format!("{END_MARKER}\n{BEGIN_MARKER}\n")).unwrap();
        assert!(write_into(&path, &section(4)).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{END_MARKER}\n{BEGIN_MARKER}\n"),
            "a refused write changes nothing"
        );
    }
}
