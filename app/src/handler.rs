//! The command side, for any [`Aggregate`]: load the stream, fold it into state, let the
//! domain `decide`, and append the result with the stream's version as the expected
//! version. When another writer wins the race the command is decided again against the
//! new state (a few times), unless the caller named the version it expected, in which
//! case the conflict is theirs to see.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use whistle_domain::assessment::{AssessmentAggregate, AssessmentYear};
use whistle_domain::case::{CaseAggregate, CaseState};
use whistle_domain::commands::ReferencedUnit;
use whistle_domain::rules::CaseRules;
use whistle_domain::unit::{UnitAggregate, UnitState};
use whistle_domain::{
    Actor, Aggregate, AssessmentCommand, CaseCommand, CaseId, Command, CommandId, CommandKind,
    DomainError, Event, Refusal, StreamId, UnitCommand, UnitId, Vocabulary,
};
use whistle_store::{
    AppendOutcome, AppendRequest, CommandMetadata, EventStore, ExpectedVersion, StoreError,
};

use crate::clock::Clock;

/// How many times a command is decided again after losing a race on its stream.
const MAX_ATTEMPTS: usize = 5;

/// The envelope of a command: who issues it, and how it should be recorded (its
/// idempotency key, correlation and causation, and the version the caller expects).
#[derive(Debug, Clone)]
pub struct Envelope {
    pub actor: Actor,
    /// Idempotency key; a fresh one is made when the caller gives none.
    pub command_id: Option<CommandId>,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    /// The stream version the caller saw; a mismatch is reported, not retried.
    pub expected_version: Option<i64>,
}

impl Envelope {
    pub fn by(actor: Actor) -> Self {
        Self {
            actor,
            command_id: None,
            correlation_id: None,
            causation_id: None,
            expected_version: None,
        }
    }
    pub fn with_command_id(mut self, command_id: CommandId) -> Self {
        self.command_id = Some(command_id);
        self
    }
}

/// What a successful command wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReceipt {
    pub command_id: CommandId,
    pub outcome: AppendOutcome,
}

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Conflict(String),
    /// The command id was first used for another command; nothing was written.
    #[error("{0}")]
    CommandIdReused(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::VersionConflict { .. } => CommandError::Conflict(error.to_string()),
            StoreError::CommandIdReused { .. } => CommandError::CommandIdReused(error.to_string()),
            StoreError::ClaimTaken { key, owner } => {
                CommandError::Domain(key.taken_by(&owner).into())
            }
            other => CommandError::Store(other),
        }
    }
}

impl From<Refusal> for CommandError {
    fn from(refusal: Refusal) -> Self {
        CommandError::Domain(refusal.into())
    }
}

/// Runs commands against the event store.
#[derive(Clone, Debug)]
pub struct CommandHandler {
    store: EventStore,
    rules: CaseRules,
    clock: Arc<dyn Clock>,
    /// Log accepted and refused commands at debug instead of info (bulk loaders).
    quiet: bool,
    recent: RecentStreams,
    units: crate::admission::UnitRoster,
    turns: StreamTurns,
}

/// Commands on one stream that name no expected version take turns in this process:
/// each decides on the state the one before it wrote, so contention within a process
/// never ends in a conflict (another process's writes are still met by deciding again).
#[derive(Clone, Debug, Default)]
struct StreamTurns {
    locks: Arc<std::sync::Mutex<HashMap<StreamId, std::sync::Weak<tokio::sync::Mutex<()>>>>>,
}

/// Streams with a lock kept at most before the unused ones are forgotten.
const TURNS_KEPT: usize = 10_000;

impl StreamTurns {
    /// Wait for `stream`'s turn; the turn lasts as long as the guard.
    async fn take(&self, stream: &StreamId) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .expect("the stream turns are not poisoned");
            if locks.len() >= TURNS_KEPT {
                locks.retain(|_, lock| lock.strong_count() > 0);
            }
            match locks.get(stream).and_then(std::sync::Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(stream.clone(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

/// The streams this handler decided on lately, as it last wrote them: the next command
/// on such a stream decides without reading it again. A cached stream may be stale
/// (another process appended): the append's expected version then refuses it, and the
/// command reads the stream and decides again; a refusal decided on a cached stream is
/// checked against a fresh read before it is returned.
#[derive(Clone, Debug, Default)]
struct RecentStreams {
    streams: Arc<std::sync::Mutex<HashMap<StreamId, StreamAsWritten>>>,
}

/// A stream's events and version as this handler last wrote them.
type StreamAsWritten = (Vec<Event>, i64);

/// Streams kept at most; the cache starts afresh when it is full.
const RECENT_STREAMS: usize = 20_000;

impl RecentStreams {
    fn get(&self, stream_id: &StreamId) -> Option<StreamAsWritten> {
        self.streams
            .lock()
            .expect("the stream cache is not poisoned")
            .get(stream_id)
            .cloned()
    }

    fn put(&self, stream_id: &StreamId, events: Vec<Event>, version: i64) {
        let mut streams = self
            .streams
            .lock()
            .expect("the stream cache is not poisoned");
        if streams.len() >= RECENT_STREAMS && !streams.contains_key(stream_id) {
            streams.clear();
        }
        streams.insert(stream_id.clone(), (events, version));
    }

    fn forget(&self, stream_id: &StreamId) {
        self.streams
            .lock()
            .expect("the stream cache is not poisoned")
            .remove(stream_id);
    }
}

impl CommandHandler {
    pub fn new(store: EventStore, rules: CaseRules, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            rules,
            clock,
            quiet: false,
            recent: RecentStreams::default(),
            units: crate::admission::UnitRoster::default(),
            turns: StreamTurns::default(),
        }
    }

    /// The same handler, logging accepted and refused commands at debug level: for bulk
    /// loaders such as the demo, whose commands are not operators' actions.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The rules commands are decided under.
    pub fn rules(&self) -> &CaseRules {
        &self.rules
    }

    /// The state of an aggregate, folded from its stream, and the stream's version.
    pub async fn load<A: Aggregate>(&self, id: &A::Id) -> Result<(A::State, i64), CommandError> {
        let (events, version) = self.load_stream(&A::stream_id(id)).await?;
        Ok((A::fold(&events), version))
    }

    /// The state of a case.
    pub async fn load_case(&self, case_id: CaseId) -> Result<(CaseState, i64), CommandError> {
        self.load::<CaseAggregate>(&case_id).await
    }

    /// The state of a unit.
    pub async fn load_unit(&self, unit_id: &UnitId) -> Result<(UnitState, i64), CommandError> {
        self.load::<UnitAggregate>(unit_id).await
    }

    /// A unit as a command may reference it, read from its own stream (never from a
    /// read model); not found if it was never registered.
    pub async fn resolve_unit(&self, unit_id: &UnitId) -> Result<ReferencedUnit, CommandError> {
        let (state, _) = self.load_unit(unit_id).await?;
        state
            .as_reference()
            .ok_or_else(|| Refusal::UnitNotRegistered(unit_id.clone()).into())
    }

    async fn load_stream(&self, stream_id: &StreamId) -> Result<(Vec<Event>, i64), CommandError> {
        let recorded = self.store.read_stream(stream_id).await?;
        let version = recorded.last().map_or(0, |e| e.stream_version);
        Ok((whistle_store::RecordedEvent::events(&recorded)?, version))
    }

    /// Refuse unless every case named exists (and no more than
    /// [`whistle_domain::commands::MAX_CASES_PER_COMMAND`] are named).
    async fn require_cases(&self, case_ids: &[CaseId]) -> Result<(), CommandError> {
        whistle_domain::commands::check_case_count(case_ids.len())
            .map_err(DomainError::Validation)?;
        let streams: Vec<StreamId> = case_ids.iter().map(|c| StreamId::Case(*c)).collect();
        let missing = self.store.missing_streams(&streams).await?;
        if missing.is_empty() {
            Ok(())
        } else {
            Err(
                Refusal::CasesNotFound(missing.iter().filter_map(StreamId::case_id).collect())
                    .into(),
            )
        }
    }

    /// Decide and append a case command.
    pub async fn handle_case(
        &self,
        issue: Envelope,
        case_id: CaseId,
        body: CaseCommand,
    ) -> Result<CommandReceipt, CommandError> {
        self.handle::<CaseAggregate>(issue, &case_id, body).await
    }

    /// Decide and append a unit command.
    pub async fn handle_unit(
        &self,
        issue: Envelope,
        unit_id: &UnitId,
        body: UnitCommand,
    ) -> Result<CommandReceipt, CommandError> {
        let result = self.handle::<UnitAggregate>(issue, unit_id, body).await;
        self.units.forget(unit_id);
        result
    }

    /// Admit a person's verified identity: their unit registered and active, their role
    /// one a unit of its kind holds ([`crate::admission`]).
    pub async fn admit(&self, actor: &Actor) -> Result<(), crate::admission::AdmissionError> {
        self.units.admit(&self.store, actor).await
    }

    /// Decide and append an assessment command for a registered unit and a year (a
    /// deactivated unit can still be assessed for its past).
    pub async fn handle_assessment(
        &self,
        issue: Envelope,
        unit_id: &UnitId,
        year: i32,
        body: AssessmentCommand,
    ) -> Result<CommandReceipt, CommandError> {
        self.resolve_unit(unit_id).await?;
        self.require_cases(body.case_ids()).await?;
        let id = AssessmentYear {
            unit: unit_id.clone(),
            year,
        };
        self.handle::<AssessmentAggregate>(issue, &id, body).await
    }

    /// Decide a command on the aggregate `id` and append what it produces.
    #[tracing::instrument(skip_all, fields(command = A::kind(&body).key(), stream = %A::stream_id(id), actor = %issue.actor.user_id, role = ?issue.actor.role))]
    pub async fn handle<A: Aggregate>(
        &self,
        issue: Envelope,
        id: &A::Id,
        body: A::Command,
    ) -> Result<CommandReceipt, CommandError> {
        let kind = A::kind(&body);
        let stream_id = A::stream_id(id);
        let claims = A::unique_keys(&body);
        let fingerprint = command_fingerprint(&issue.actor, kind, &stream_id, &body);
        let erases = |new_events: &[Event]| A::erases_personal_data_of(id, new_events);
        let result = self
            .run(
                &issue,
                &stream_id,
                claims,
                fingerprint,
                erases,
                |events, now| {
                    let state = A::fold(events);
                    A::decide(id, &state, &self.command(&issue.actor, now, body.clone()))
                },
            )
            .await;
        log_outcome(self.quiet, kind, &issue, &result);
        result
    }

    fn command<B>(&self, actor: &Actor, now: DateTime<Utc>, body: B) -> Command<B> {
        Command {
            actor: actor.clone(),
            issued_at: now,
            rules: self.rules.clone(),
            body,
        }
    }

    async fn run(
        &self,
        issue: &Envelope,
        stream_id: &StreamId,
        claims: Vec<whistle_domain::UniqueKey>,
        fingerprint: String,
        erases: impl Fn(&[Event]) -> Option<StreamId>,
        decide: impl Fn(&[Event], DateTime<Utc>) -> Result<Vec<Event>, DomainError>,
    ) -> Result<CommandReceipt, CommandError> {
        // A command id the caller gave may have been handled already: then its first
        // outcome is the answer, before deciding again on a state it has since changed.
        // A fresh id cannot have been seen, so that read is skipped (the append checks
        // command ids again in its transaction either way).
        let command_id = match issue.command_id {
            Some(given) => {
                if let Some(first) = self.store.command_outcome(given).await? {
                    if !first.is_retried_by(&stream_id.to_string(), Some(&fingerprint)) {
                        return Err(StoreError::CommandIdReused {
                            command_id: given.to_string(),
                        }
                        .into());
                    }
                    return Ok(CommandReceipt {
                        command_id: given,
                        outcome: first.outcome,
                    });
                }
                given
            }
            None => CommandId::from_uuid(Uuid::now_v7()),
        };
        let mut attempt = 0;
        // A caller naming the version it expects compares it with the stream as stored.
        let mut use_recent = issue.expected_version.is_none();
        // Without an expected version, commands on one stream take turns in this process.
        let _turn = match issue.expected_version {
            None => Some(self.turns.take(stream_id).await),
            Some(_) => None,
        };
        loop {
            attempt += 1;
            let cached = if use_recent {
                self.recent.get(stream_id)
            } else {
                None
            };
            let from_cache = cached.is_some();
            let (events, version) = match cached {
                Some(cached) => cached,
                None => self.load_stream(stream_id).await?,
            };
            if let Some(expected) = issue.expected_version
                && expected != version
            {
                return Err(CommandError::Conflict(format!(
                    "stream `{stream_id}` is at version {version}, not the expected {expected}: reload and try again"
                )));
            }
            let now = self.clock.now();
            let new_events = match decide(&events, now) {
                Ok(new_events) => new_events,
                Err(_) if from_cache => {
                    // Refused on what this process last wrote: check the stream as
                    // stored before saying no.
                    self.recent.forget(stream_id);
                    use_recent = false;
                    attempt -= 1;
                    continue;
                }
                Err(refusal) => return Err(refusal.into()),
            };
            let request = AppendRequest {
                stream_id: stream_id.clone(),
                expected_version: if version == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(version)
                },
                events: new_events.clone(),
                metadata: CommandMetadata {
                    actor: issue.actor.clone(),
                    command_id,
                    correlation_id: issue.correlation_id.unwrap_or_else(|| command_id.as_uuid()),
                    causation_id: issue.causation_id,
                    recorded_at: now,
                    fingerprint: Some(fingerprint.clone()),
                },
                claims: claims.clone(),
                erases_personal_data_of: erases(&new_events),
            };
            match self.store.append(request).await {
                Ok(outcome) => {
                    if outcome.replayed {
                        self.recent.forget(stream_id);
                    } else {
                        let mut written = events;
                        written.extend(new_events);
                        self.recent.put(stream_id, written, outcome.stream_version);
                    }
                    return Ok(CommandReceipt {
                        command_id,
                        outcome,
                    });
                }
                Err(StoreError::VersionConflict { .. })
                    if issue.expected_version.is_none() && attempt < MAX_ATTEMPTS =>
                {
                    tracing::debug!(attempt, "lost a race on the stream; deciding again");
                    self.recent.forget(stream_id);
                    use_recent = false;
                    continue;
                }
                Err(error) => {
                    self.recent.forget(stream_id);
                    return Err(error.into());
                }
            }
        }
    }
}

/// What a command id is bound to: a SHA-256 (hex) over the actor (id, role, unit), the
/// command's kind, the stream and the command's arguments as JSON. A retry of the same
/// request has the same fingerprint; the same id sent by someone else, for another
/// command, another target or other arguments does not, and is refused.
pub fn command_fingerprint<B: serde::Serialize>(
    actor: &Actor,
    kind: CommandKind,
    stream_id: &StreamId,
    body: &B,
) -> String {
    use sha2::{Digest, Sha256};
    // Commands are plain data with derived `Serialize` and no maps: serialising one
    // cannot fail.
    let arguments = serde_json::to_string(body).expect("a command serialises as JSON");
    let mut hasher = Sha256::new();
    for part in [
        actor.user_id.as_str(),
        actor.role.key(),
        actor.unit.as_str(),
        kind.key(),
        &stream_id.to_string(),
        &arguments,
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

fn log_outcome(
    quiet: bool,
    command: CommandKind,
    issue: &Envelope,
    result: &Result<CommandReceipt, CommandError>,
) {
    let actor = &issue.actor;
    let outcome = match result {
        Ok(_) => "accepted",
        Err(CommandError::Domain(_)) => "refused",
        Err(CommandError::Conflict(_)) => "conflict",
        Err(CommandError::CommandIdReused(_)) => "command_id_reused",
        Err(CommandError::Store(_)) => "failed",
    };
    metrics::counter!("whistle_commands_total", "command" => command.key(), "outcome" => outcome)
        .increment(1);
    match result {
        Ok(receipt) => {
            let position = receipt.outcome.last_position;
            let stream = &receipt.outcome.stream_id;
            let replayed = receipt.outcome.replayed;
            if quiet {
                tracing::debug!(command = command.key(), actor = %actor.user_id, role = ?actor.role, unit = %actor.unit, %stream, position, replayed, "command accepted");
            } else {
                tracing::info!(command = command.key(), actor = %actor.user_id, role = ?actor.role, unit = %actor.unit, %stream, position, replayed, "command accepted");
            }
        }
        Err(CommandError::Store(error)) => {
            tracing::error!(command = command.key(), actor = %actor.user_id, %error, "command failed in the store")
        }
        Err(error) => {
            if quiet {
                tracing::debug!(command = command.key(), actor = %actor.user_id, role = ?actor.role, unit = %actor.unit, %error, "command refused");
            } else {
                tracing::info!(command = command.key(), actor = %actor.user_id, role = ?actor.role, unit = %actor.unit, %error, "command refused");
            }
        }
    }
}
