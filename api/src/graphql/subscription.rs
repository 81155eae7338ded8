//! Subscriptions: new events of one case, or of every case, as they are appended.
//! Served over WebSocket (`graphql-transport-ws`) at `/graphql/ws`; the token goes in
//! `connectionParams` as `{"Authorization": "Bearer …"}`.

use std::collections::VecDeque;
use std::time::Duration;

use async_graphql::{Context, ID, Result, Subscription};
use futures::Stream;
use whistle_domain::{CaseId, StreamCategory, StreamId};
use whistle_projections::queries as q;
use whistle_store::{EventStore, RecordedEvent};

use super::node::{NodeKind, key_of};
use super::scalars::{Instant, Position};

use super::context::{
    READS_EVERYTHING, case_scope, record_reader, require_role, state, wait_until_projected,
};
use super::errors::{ErrorCode, error, from_projection, from_store, validation};
use super::types::EventNotice;

pub struct SubscriptionRoot;

struct Tail {
    store: EventStore,
    after: whistle_store::Position,
    stream_id: Option<StreamId>,
    buffer: VecDeque<RecordedEvent>,
    /// The head the last wait saw, so the next read need not ask for it again.
    head: Option<whistle_store::Position>,
}

/// The most events read at once.
const BATCH: i64 = 500;

/// Read what follows `tail.after` into its buffer; false when nothing new was there.
/// One case's follower reads that case's stream by its index, up to the head it saw
/// first (so an event appended meanwhile is read next time, not skipped); a follower of
/// every case reads the global log.
async fn next_batch(tail: &mut Tail) -> Result<bool, whistle_store::StoreError> {
    match &tail.stream_id {
        Some(stream) => {
            let head = match tail.head.take() {
                Some(head) => head,
                None => tail.store.head_position().await?,
            };
            if head <= tail.after {
                return Ok(false);
            }
            let events = tail
                .store
                .read_stream_between(stream, tail.after, head, BATCH)
                .await?;
            tail.after = if events.len() as i64 == BATCH {
                events.last().map_or(head, |e| e.position)
            } else {
                head
            };
            tail.buffer.extend(events);
            Ok(true)
        }
        None => {
            let events = tail.store.read_all(tail.after, BATCH).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                return Ok(false);
            };
            tail.after = last;
            tail.buffer.extend(
                events
                    .into_iter()
                    .filter(|e| e.stream_id.category() == StreamCategory::Case),
            );
            Ok(true)
        }
    }
}

fn notice(event: RecordedEvent) -> EventNotice {
    EventNotice {
        position: Position(event.position),
        event_id: ID(event.event_id.to_string()),
        case_id: event.stream_id.case_id().map(|id| ID(id.to_string())),
        stream_id: event.stream_id.to_string(),
        event_type: event.event_type,
        recorded_at: Instant(event.recorded_at),
        actor_id: event.actor.user_id.to_string(),
        actor_name: event.actor.name,
        actor_role: event.actor.role.into(),
        actor_unit: event.actor.unit.to_string(),
    }
}

/// What can be followed live over WebSocket: the events of a case, or of every case.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Events appended after `afterPosition` (default: now) to one case's stream, or to
    /// every case when `caseId` is omitted (cyberspace office, leaders, supervisors,
    /// evaluators and inspectors only). Pass the position of the case's flag as
    /// `waitForPosition` when subscribing right after flagging it.
    async fn case_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: Option<ID>,
        #[graphql(desc = "Only events after this log position (default: from now on).")]
        after_position: Option<Position>,
        #[graphql(
            desc = "Wait (at most 10 s) until the read models include this log position, e.g. a command's `position`, to read your own writes."
        )]
        wait_for_position: Option<Position>,
    ) -> Result<impl Stream<Item = Result<EventNotice>>> {
        let actor = record_reader(ctx, "case events")?;
        let state = state(ctx)?;
        wait_until_projected(ctx, wait_for_position).await?;
        let stream_id = match case_id {
            Some(raw) => {
                let case_id = CaseId::parse(&key_of(&raw, NodeKind::Case)?).map_err(validation)?;
                let visible = q::case_by_id(state.pool(), &case_scope(actor), case_id)
                    .await
                    .map_err(from_projection)?;
                if visible.is_none() {
                    return Err(error(
                        ErrorCode::NotFound,
                        format!("case {case_id} does not exist or is not visible to you"),
                    ));
                }
                Some(StreamId::Case(case_id))
            }
            None => {
                require_role(ctx, READS_EVERYTHING, "caseEvents for every case")?;
                None
            }
        };
        let store = state.store().clone();
        let after = match after_position {
            Some(Position(position)) => position,
            None => store.head_position().await.map_err(from_store)?,
        };
        let tail = Tail {
            store,
            after,
            stream_id,
            buffer: VecDeque::new(),
            head: None,
        };
        Ok(futures::stream::unfold(tail, |mut tail| async move {
            loop {
                if let Some(event) = tail.buffer.pop_front() {
                    return Some((Ok(notice(event)), tail));
                }
                match next_batch(&mut tail).await {
                    Ok(true) => {}
                    Ok(false) => {
                        match tail
                            .store
                            .wait_for_events_after(tail.after, Duration::from_secs(30))
                            .await
                        {
                            Ok(head) => tail.head = Some(head),
                            Err(e) => return Some((Err(from_store(e)), tail)),
                        }
                    }
                    Err(e) => return Some((Err(from_store(e)), tail)),
                }
            }
        }))
    }
}
