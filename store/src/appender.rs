//! Group commit: the appender task takes every append waiting in this process and
//! commits them in one transaction under one lock on the log head and one durable
//! commit, judging each on its own — expected version, command id, unique claims — in
//! order. A refused append writes nothing and does not affect the others in its group;
//! a group whose transaction fails is retried one append at a time, so a failure reaches
//! only the caller it belongs to. See docs/decisions/0002-group-commit.md.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;
use whistle_domain::{Event, StreamId, Vocabulary};

use crate::StoreError;
use crate::database::{Backend, Database};
use crate::event_store::{AppendOutcome, AppendRequest, ExpectedVersion, FirstUse, Position};
use crate::time::to_micros;

/// The most appends committed in one transaction.
pub(crate) const MAX_APPENDS_PER_COMMIT: usize = 256;

/// An append waiting for the appender task, with where to send its outcome.
#[derive(Debug)]
pub(crate) struct PendingAppend {
    pub(crate) request: AppendRequest,
    pub(crate) reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}
/// The appender task: takes every append waiting, up to [`MAX_APPENDS_PER_COMMIT`],
/// commits them in one transaction, answers each, and repeats. It ends when every
/// [`EventStore`] handle is gone.
pub(crate) async fn run_appender(
    db: Database,
    head: watch::Sender<Position>,
    mut pending: mpsc::Receiver<PendingAppend>,
) {
    let mut batch = Vec::with_capacity(MAX_APPENDS_PER_COMMIT);
    while pending.recv_many(&mut batch, MAX_APPENDS_PER_COMMIT).await > 0 {
        let requests: Vec<&AppendRequest> = batch.iter().map(|p| &p.request).collect();
        metrics::histogram!("whistle_appender_group_size").record(requests.len() as f64);
        let results = match append_batch(&db, &requests).await {
            Ok(results) => results,
            Err(error) if batch.len() == 1 => vec![Err(error)],
            Err(error) => {
                // The batch's transaction failed as a whole (nothing of it is
                // committed, or — if the commit's answer was lost — all of it is, and the
                // command ids make a retry return that outcome). Retry each append on
                // its own so one append's failure is reported to that caller only.
                tracing::warn!(%error, appends = batch.len(), "a group commit failed; retrying its appends one by one");
                metrics::counter!("whistle_group_commit_failures_total").increment(1);
                let mut results = Vec::with_capacity(batch.len());
                for request in &requests {
                    results.push(match append_batch(&db, &[request]).await {
                        Ok(mut one) => one.remove(0),
                        Err(error) => Err(error),
                    });
                }
                results
            }
        };
        let last = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|o| o.last_position)
            .max();
        if let Some(last) = last {
            head.send_if_modified(|current| {
                if last > *current {
                    *current = last;
                    true
                } else {
                    false
                }
            });
        }
        for (pending, result) in batch.drain(..).zip(results) {
            // A caller that gave up waiting has dropped its receiver; its append stands.
            let _ = pending.reply.send(result);
        }
    }
}

/// Rows per multi-row INSERT. With numbered placeholders SQLite spent 80% of a
/// 100-event-append benchmark in `sqlite3_bind_parameter_name` at 500 rows; its statements
/// now use anonymous ones ([`Backend::push_placeholders`]) and take more rows each.
fn rows_per_insert(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 64,
        Backend::Postgres => 8,
    }
}

/// Commit `requests` in one transaction. The outer error means the transaction failed;
/// each inner result is one append's outcome or its refusal (a refused append writes
/// nothing). Requests are decided in order, each seeing the ones before it.
async fn append_batch(
    db: &Database,
    requests: &[&AppendRequest],
) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
    let mut write = db.begin_write().await?;
    let tx = &mut write.tx;
    // Each request's stream name as stored.
    let names: Vec<String> = requests.iter().map(|r| r.stream_id.to_string()).collect();

    // What the database knows of these commands, streams and claims, in three reads.
    let mut outcomes_by_command: HashMap<String, FirstUse> = HashMap::new();
    let command_ids: Vec<String> = requests
        .iter()
        .map(|r| r.metadata.command_id.to_string())
        .collect();
    for row in fetch_in(tx, &command_ids, |placeholders| {
        format!(
            "SELECT command_id, first_position, last_position, stream_version, stream_id, fingerprint \
             FROM commands WHERE command_id IN ({})",
            placeholders.join(", ")
        )
    })
    .await?
    {
        let stream: String = row.try_get(4)?;
        outcomes_by_command.insert(
            row.try_get(0)?,
            FirstUse {
                outcome: AppendOutcome {
                    stream_id: stored_stream(&stream)?,
                    first_position: row.try_get(1)?,
                    last_position: row.try_get(2)?,
                    stream_version: row.try_get(3)?,
                    replayed: true,
                },
                fingerprint: row.try_get(5)?,
            },
        );
    }
    let mut stream_ids: Vec<String> = names.clone();
    stream_ids.sort();
    stream_ids.dedup();
    // One MAX per stream, as a correlated subquery: each is answered from the end of
    // the (stream_id, stream_version) index whatever the planner's statistics say. The
    // plain `WHERE stream_id IN (…) GROUP BY` form let PostgreSQL, on a million-event
    // table never analysed, pick parallel bitmap scans for large groups (32 clients
    // through GraphQL fell to 131 commands/s; BENCHMARKS.md).
    let mut versions: HashMap<String, i64> = HashMap::new();
    for row in fetch_in(tx, &stream_ids, |placeholders| {
        let rows: Vec<String> = placeholders.iter().map(|p| format!("({p})")).collect();
        format!(
            "SELECT s.column1, (SELECT MAX(e.stream_version) FROM events e WHERE e.stream_id = s.column1) \
             FROM (VALUES {}) AS s",
            rows.join(", ")
        )
    })
    .await?
    {
        if let Some(version) = row.try_get::<Option<i64>, _>(1)? {
            versions.insert(row.try_get(0)?, version);
        }
    }
    let mut claim_owners: HashMap<(&str, String), String> = HashMap::new();
    for request in requests {
        for claim in &request.claims {
            let owner: Option<String> = sqlx::query(
                "SELECT stream_id FROM unique_claims WHERE namespace = $1 AND claim_key = $2",
            )
            .bind(claim.namespace())
            .bind(claim.key())
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
            if let Some(owner) = owner {
                claim_owners.insert((claim.namespace(), claim.key().to_owned()), owner);
            }
        }
    }

    let head: i64 = sqlx::query("SELECT position FROM log_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    let mut position = head;
    let mut results = Vec::with_capacity(requests.len());
    let mut new_claims: Vec<(&str, &str, &str)> = Vec::new();
    let mut new_events: Vec<(Position, i64, &AppendRequest, &String, &Event)> = Vec::new();
    let mut new_commands: Vec<(&AppendRequest, &String)> = Vec::new();
    let mut new_outcomes: Vec<AppendOutcome> = Vec::new();
    for (request, name) in requests.iter().zip(&names) {
        let command_id = request.metadata.command_id.to_string();
        if let Some(first) = outcomes_by_command.get(&command_id) {
            if first.is_retried_by(name, request.metadata.fingerprint.as_deref()) {
                let mut replay = first.outcome.clone();
                replay.replayed = true;
                results.push(Ok(replay));
            } else {
                results.push(Err(StoreError::CommandIdReused { command_id }));
            }
            continue;
        }
        let actual = versions.get(name).copied().unwrap_or(0);
        let matches = match request.expected_version {
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(expected) => actual == expected,
        };
        if !matches {
            results.push(Err(StoreError::VersionConflict {
                stream_id: request.stream_id.clone(),
                expected: request.expected_version.to_string(),
                actual,
            }));
            continue;
        }
        let taken = request.claims.iter().find_map(|claim| {
            claim_owners
                .get(&(claim.namespace(), claim.key().to_owned()))
                .filter(|owner| *owner != name)
                .map(|owner| StoreError::ClaimTaken {
                    key: claim.clone(),
                    owner: owner.clone(),
                })
        });
        if let Some(refusal) = taken {
            results.push(Err(refusal));
            continue;
        }
        // Accepted: what follows in this batch sees it.
        for claim in &request.claims {
            let key = (claim.namespace(), claim.key().to_owned());
            if let std::collections::hash_map::Entry::Vacant(vacant) = claim_owners.entry(key) {
                vacant.insert(name.clone());
                new_claims.push((claim.namespace(), claim.key(), name));
            }
        }
        let first_position = position + 1;
        let mut version = actual;
        for event in &request.events {
            position += 1;
            version += 1;
            new_events.push((position, version, request, name, event));
        }
        versions.insert(name.clone(), version);
        let outcome = AppendOutcome {
            stream_id: request.stream_id.clone(),
            first_position,
            last_position: position,
            stream_version: version,
            replayed: false,
        };
        outcomes_by_command.insert(
            command_id,
            FirstUse {
                outcome: outcome.clone(),
                fingerprint: request.metadata.fingerprint.clone(),
            },
        );
        new_commands.push((request, name));
        new_outcomes.push(outcome.clone());
        results.push(Ok(outcome));
    }
    if new_events.is_empty() {
        // Nothing to write: every append was refused or replayed.
        write.tx.rollback().await?;
        return Ok(results);
    }

    for chunk in new_claims.chunks(rows_per_insert(db.backend())) {
        let sql = multi_row_insert(
            "INSERT INTO unique_claims (namespace, claim_key, stream_id)",
            3,
            chunk.len(),
            db.backend(),
        );
        let mut query = sqlx::query(&sql);
        for (namespace, key, stream) in chunk {
            query = query.bind(*namespace).bind(*key).bind(*stream);
        }
        query.execute(&mut **tx).await?;
    }
    // Personal values taken out of the payloads, stored beside them (crate::personal).
    let mut personal_values: Vec<(String, crate::personal::PersonalValue)> = Vec::new();
    for chunk in new_events.chunks(rows_per_insert(db.backend())) {
        let sql = multi_row_insert(
            "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
             payload, recorded_at, actor_id, actor_name, actor_role, actor_unit, command_id, correlation_id, \
             causation_id)",
            15,
            chunk.len(),
            db.backend(),
        );
        let mut query = sqlx::query(&sql);
        for (position, version, request, name, event) in chunk {
            let metadata = &request.metadata;
            let (event_type, schema_version, mut payload) = event.to_record();
            let event_id = Uuid::now_v7().to_string();
            for value in crate::personal::split(event_type, &mut payload) {
                personal_values.push((event_id.clone(), value));
            }
            query = query
                .bind(*position)
                .bind(event_id)
                .bind(name.as_str())
                .bind(*version)
                .bind(event_type)
                .bind(i64::from(schema_version))
                .bind(payload.to_string())
                .bind(to_micros(metadata.recorded_at))
                .bind(metadata.actor.user_id.as_str())
                .bind(&metadata.actor.name)
                .bind(metadata.actor.role.key())
                .bind(metadata.actor.unit.as_str())
                .bind(metadata.command_id.to_string())
                .bind(metadata.correlation_id.to_string())
                .bind(metadata.causation_id.map(|id| id.to_string()));
        }
        query.execute(&mut **tx).await?;
    }
    for chunk in personal_values.chunks(rows_per_insert(db.backend())) {
        let sql = multi_row_insert(
            "INSERT INTO personal_data (event_id, pointer, salt, value)",
            4,
            chunk.len(),
            db.backend(),
        );
        let mut query = sqlx::query(&sql);
        for (event_id, value) in chunk {
            query = query
                .bind(event_id.as_str())
                .bind(value.pointer)
                .bind(value.salt.as_str())
                .bind(value.value.as_str());
        }
        query.execute(&mut **tx).await?;
    }
    // An erasure deletes the personal values of the events of the stream it names, in
    // the transaction that records it.
    for request in new_commands.iter().map(|(request, _)| request) {
        if let Some(stream) = &request.erases_personal_data_of {
            sqlx::query(
                "DELETE FROM personal_data WHERE event_id IN (SELECT event_id FROM events WHERE stream_id = $1)",
            )
            .bind(stream.to_string())
            .execute(&mut **tx)
            .await?;
        }
    }
    let commands: Vec<((&AppendRequest, &String), &AppendOutcome)> =
        new_commands.into_iter().zip(new_outcomes.iter()).collect();
    for chunk in commands.chunks(rows_per_insert(db.backend())) {
        let sql = multi_row_insert(
            "INSERT INTO commands (command_id, stream_id, first_position, last_position, stream_version, recorded_at, fingerprint)",
            7,
            chunk.len(),
            db.backend(),
        );
        let mut query = sqlx::query(&sql);
        for ((request, name), outcome) in chunk {
            query = query
                .bind(request.metadata.command_id.to_string())
                .bind(name.as_str())
                .bind(outcome.first_position)
                .bind(outcome.last_position)
                .bind(outcome.stream_version)
                .bind(to_micros(request.metadata.recorded_at))
                .bind(request.metadata.fingerprint.clone());
        }
        query.execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE log_head SET position = $1 WHERE id = 1")
        .bind(position)
        .execute(&mut **tx)
        .await?;
    if db.backend() == Backend::Postgres {
        // Delivered to every listening process when (and only if) this commits.
        sqlx::query("NOTIFY whistle_log").execute(&mut **tx).await?;
    }
    write.commit().await?;
    Ok(results)
}

/// `prefix VALUES ($1, $2, ...), (...)` (`?`s on SQLite): `rows` rows of `columns`
/// placeholders.
fn multi_row_insert(prefix: &str, columns: usize, rows: usize, backend: Backend) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 5);
    sql.push_str(prefix);
    sql.push_str(" VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        backend.push_placeholders(&mut sql, row * columns + 1, columns);
    }
    sql
}

/// Keys per `IN (…)` lookup: one parameter each, so many fit before binding by name gets
/// costly (see [`rows_per_insert`]); a group of appends is looked up in a few queries.
const KEYS_PER_LOOKUP: usize = 64;

/// Rows for `keys`, looked up in chunks of at most [`KEYS_PER_LOOKUP`]: `sql_for` gets a
/// chunk's placeholders (`$1`, `$2`, …) and returns the statement that binds them.
pub(crate) async fn fetch_in(
    connection: &mut sqlx::AnyConnection,
    keys: &[String],
    sql_for: impl Fn(&[String]) -> String,
) -> Result<Vec<AnyRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = sql_for(&placeholders);
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(key);
        }
        rows.extend(query.fetch_all(&mut *connection).await?);
    }
    Ok(rows)
}

/// A stream name read back from the command record.
pub(crate) fn stored_stream(raw: &str) -> Result<StreamId, StoreError> {
    StreamId::parse(raw).map_err(|e| StoreError::Corrupt {
        position: 0,
        reason: format!("command record: {e}"),
    })
}
