//! Proof latency on an existing log (`whistle-bench proofs`): a checkpoint of the whole
//! log signed in process, the tree's tiles built (timed: the first proof on a log pays
//! it), then inclusion proofs of events at random positions and consistency proofs
//! between random sizes, each checked offline before it counts, with their p50 and p99.
//! The log is read, never written to (the tiles are the ledger's own cache).

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use whistle_audit::bundle::Evidence;
use whistle_store::Database;

use super::latency_quantile;

fn ms(duration: Option<Duration>) -> String {
    duration.map_or_else(
        || "–".to_owned(),
        |d| format!("{:.2}", d.as_secs_f64() * 1000.0),
    )
}

/// What one run measured.
pub struct ProofRun {
    pub events: u64,
    pub checkpoint: Duration,
    pub tiles_built: Duration,
    pub inclusion: Vec<Duration>,
    pub consistency: Vec<Duration>,
}

impl std::fmt::Display for ProofRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "proofs on a log of {} events", self.events)?;
        writeln!(f, "| operation | time |")?;
        writeln!(f, "|---|---|")?;
        writeln!(
            f,
            "| checkpoint (every leaf recomputed) | {:.2} s |",
            self.checkpoint.as_secs_f64()
        )?;
        writeln!(
            f,
            "| tiles built (the first proof on this log) | {:.2} s |",
            self.tiles_built.as_secs_f64()
        )?;
        for (what, latencies) in [
            ("inclusion proof", &self.inclusion),
            ("consistency proof", &self.consistency),
        ] {
            writeln!(
                f,
                "| {what}, p50 / p99 of {} | {} / {} ms |",
                latencies.len(),
                ms(latency_quantile(latencies, 0.50)),
                ms(latency_quantile(latencies, 0.99))
            )?;
        }
        Ok(())
    }
}

/// Measure `count` proofs of each kind on the log at `database_url`.
pub async fn run(database_url: &str, count: usize, seed: u64) -> anyhow::Result<ProofRun> {
    let db = Database::connect(database_url).await?;
    let (private, public) = whistle_audit::checkpoint::generate_key("whistle-bench/proofs")?;
    let started = Instant::now();
    let (checkpoint, _) = whistle_audit::ledger::checkpoint(
        &db,
        &private,
        "whistle-bench/proofs",
        chrono::Utc::now(),
    )
    .await?;
    let checkpoint_time = started.elapsed();
    let size = whistle_audit::checkpoint::Checkpoint::read_unverified(&checkpoint)?.size;
    anyhow::ensure!(size >= 2, "the log needs at least 2 events");
    whistle_audit::tiles::clear(&db).await?;
    let started = Instant::now();
    whistle_audit::tiles::extend(&db).await?;
    let tiles_built = started.elapsed();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut inclusion = Vec::with_capacity(count);
    for _ in 0..count {
        let position = rng.random_range(1..=size as i64);
        let event_id: String =
            sqlx::query_scalar("SELECT event_id FROM events WHERE position = $1")
                .bind(position)
                .fetch_one(db.pool())
                .await?;
        let started = Instant::now();
        let bundle = whistle_audit::ledger::prove_inclusion(&db, &event_id, &checkpoint).await?;
        inclusion.push(started.elapsed());
        Evidence::parse(&serde_json::to_string(&bundle)?)?.verify(&public)?;
    }
    // Consistency between two signed sizes needs two checkpoints; the older one is the
    // tree of a random prefix, signed from the tiles' root of that size.
    let mut consistency = Vec::with_capacity(count);
    for _ in 0..count {
        let old = rng.random_range(1..size);
        let (old_root, _) = whistle_audit::tiles::consistency(&db, old, size).await?;
        let old_checkpoint = whistle_audit::checkpoint::Checkpoint {
            origin: "whistle-bench/proofs".to_owned(),
            size: old,
            root: old_root,
            time: None,
        }
        .sign(&private)?;
        let started = Instant::now();
        let bundle =
            whistle_audit::ledger::prove_consistency(&db, &old_checkpoint, &checkpoint).await?;
        consistency.push(started.elapsed());
        Evidence::parse(&serde_json::to_string(&bundle)?)?.verify(&public)?;
    }
    db.close().await;
    Ok(ProofRun {
        events: size,
        checkpoint: checkpoint_time,
        tiles_built,
        inclusion,
        consistency,
    })
}
