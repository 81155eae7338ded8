//! Global object identification (the Relay specification): every object with an id
//! implements `Node`, its `id` is a global id that names its type and its key, and
//! `node(id:)` / `nodes(ids:)` fetch any of them again — under the same visibility
//! rules and the same redaction as the lists they came from.
//!
//! A global id is opaque to clients: base64url (no padding) of `Type:key`, where the
//! key of an object inside a case is `case/key`. Every argument that takes an id of a
//! case, assignment, reply, memo, referral or unit accepts both forms: the global id
//! and the plain key (`CommandResult.caseId`, `createdId`, a unit code).

use async_graphql::{Context, ErrorExtensions, ID, Interface, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use whistle_domain::{CaseId, Role};
use whistle_projections::queries as q;

use super::context::{actor, case_scope, record_reader, state};
use super::errors::{ErrorCode, error, from_projection};
use super::types::{Assignment, Case, Memo, Referral, Reply, TimelineEntry, Unit, shown_entry};

/// The most ids `nodes(ids:)` fetches at once.
pub const MAX_NODES: usize = 100;

/// The kinds of object a global id can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Case,
    Assignment,
    Reply,
    Memo,
    Referral,
    Unit,
    TimelineEntry,
}

impl NodeKind {
    const ALL: [NodeKind; 7] = [
        NodeKind::Case,
        NodeKind::Assignment,
        NodeKind::Reply,
        NodeKind::Memo,
        NodeKind::Referral,
        NodeKind::Unit,
        NodeKind::TimelineEntry,
    ];

    /// The GraphQL type's name.
    pub fn type_name(self) -> &'static str {
        match self {
            NodeKind::Case => "Case",
            NodeKind::Assignment => "Assignment",
            NodeKind::Reply => "Reply",
            NodeKind::Memo => "Memo",
            NodeKind::Referral => "Referral",
            NodeKind::Unit => "Unit",
            NodeKind::TimelineEntry => "TimelineEntry",
        }
    }
}

/// The global id of the object of `kind` whose key is `key`.
pub fn global_id(kind: NodeKind, key: &str) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{key}", kind.type_name())))
}

/// The global id of an object that lives inside case `case`.
pub fn case_part_id(kind: NodeKind, case: impl std::fmt::Display, key: &str) -> ID {
    global_id(kind, &format!("{case}/{key}"))
}

/// The kind and key a global id names, if `raw` is one.
pub fn decode(raw: &str) -> Option<(NodeKind, String)> {
    if raw.len() > 512 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, key) = text.split_once(':')?;
    let kind = NodeKind::ALL.into_iter().find(|k| k.type_name() == name)?;
    (!key.is_empty()).then(|| (kind, key.to_owned()))
}

/// The plain key an id argument names: `raw` itself, or the key inside it when it is a
/// global id of `kind` (the part after the case for objects inside a case). A global
/// id of another kind is refused with a clear error.
pub fn key_of(raw: &str, kind: NodeKind) -> Result<String> {
    match decode(raw) {
        None => Ok(raw.to_owned()),
        Some((found, key)) if found == kind => Ok(match key.split_once('/') {
            Some((_, own)) => own.to_owned(),
            None => key,
        }),
        Some((found, _)) => Err(error(
            ErrorCode::Validation,
            format!(
                "`{raw}` is the id of a {}, not of a {}",
                found.type_name(),
                kind.type_name()
            ),
        )),
    }
}

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The object's global id: opaque, stable, unique across every type; pass it to `node(id:)` to fetch the object again."
))]
pub enum Node {
    Case(Case),
    Assignment(Assignment),
    Reply(Reply),
    Memo(Memo),
    Referral(Referral),
    Unit(Unit),
    TimelineEntry(TimelineEntry),
}

/// The case a key `case/own` names, and the own part.
fn split_case_key(key: &str) -> Option<(CaseId, &str)> {
    let (case, own) = key.split_once('/')?;
    Some((CaseId::parse(case).ok()?, own))
}

/// The object `raw` names, if it exists and the reader may see it; `None` otherwise
/// (Relay: an id that resolves to nothing is null, not an error). An id that is not a
/// global id at all is an error.
pub async fn resolve(ctx: &Context<'_>, raw: &ID) -> Result<Option<Node>> {
    let Some((kind, key)) = decode(raw) else {
        return Err(error(
            ErrorCode::Validation,
            format!(
                "`{}` is not a global id this service gave out",
                raw.as_str()
            ),
        ));
    };
    let state = state(ctx)?;
    let pool = state.pool();
    if kind == NodeKind::Unit {
        actor(ctx)?;
        let units = q::units(pool).await.map_err(from_projection)?;
        return Ok(units
            .into_iter()
            .find(|unit| unit.unit_id == key)
            .map(|unit| Node::Unit(Unit::from(unit))));
    }
    if kind == NodeKind::TimelineEntry {
        return timeline_entry(ctx, &key).await;
    }
    let reader = record_reader(ctx, "cases")?;
    let (case_id, own) = match kind {
        NodeKind::Case => match CaseId::parse(&key) {
            Ok(case) => (case, ""),
            Err(_) => return Ok(None),
        },
        _ => match split_case_key(&key) {
            Some(parts) => parts,
            None => return Ok(None),
        },
    };
    let Some(case) = q::case_by_id(pool, &case_scope(reader), case_id)
        .await
        .map_err(from_projection)?
    else {
        return Ok(None);
    };
    Ok(match kind {
        NodeKind::Case => Some(Node::Case(Case::live(case))),
        NodeKind::Assignment => q::assignments_of_case(pool, case_id)
            .await
            .map_err(from_projection)?
            .into_iter()
            .find(|a| a.assignment_id.to_string() == own)
            .map(|a| Node::Assignment(Assignment::from(a))),
        NodeKind::Reply => q::replies_of_case(pool, case_id)
            .await
            .map_err(from_projection)?
            .into_iter()
            .find(|r| r.reply_id.to_string() == own)
            .map(|r| Node::Reply(Reply::of(case_id, r))),
        NodeKind::Memo => q::memos_of_case(pool, case_id)
            .await
            .map_err(from_projection)?
            .into_iter()
            .find(|m| m.memo_id == own)
            .map(|m| Node::Memo(Memo::of(case_id, m))),
        NodeKind::Referral => q::referrals(pool, Some(case_id), None)
            .await
            .map_err(from_projection)?
            .into_iter()
            .find(|r| r.referral_id == own)
            .map(|r| Node::Referral(Referral::from(r))),
        NodeKind::Unit | NodeKind::TimelineEntry => None,
    })
}

/// An audit-trail entry by its log position, shown to those who may read the list it
/// belongs to: a case's timeline to whoever sees the case, a record of looks at
/// personal data to inspectors, anything else to inspectors and evaluators.
async fn timeline_entry(ctx: &Context<'_>, key: &str) -> Result<Option<Node>> {
    let reader = record_reader(ctx, "the audit trail")?;
    let Ok(position) = key.parse::<i64>() else {
        return Ok(None);
    };
    if position < 1 {
        return Ok(None);
    }
    let pool = state(ctx)?.pool();
    let page = q::timeline(
        pool,
        &q::TimelineFilter::default(),
        q::Window::forward(1, Some(position - 1)),
    )
    .await
    .map_err(from_projection)?;
    let Some(entry) = page.items.into_iter().find(|e| e.position == position) else {
        return Ok(None);
    };
    let is_access_record = matches!(
        whistle_domain::StreamId::parse(&entry.stream_id),
        Ok(whistle_domain::StreamId::PersonalDataAccess(_))
    );
    let visible = if is_access_record {
        reader.role == Role::Inspector
    } else if let Some(case_id) = entry.case_id.as_deref().and_then(|c| CaseId::parse(c).ok()) {
        q::case_by_id(pool, &case_scope(reader), case_id)
            .await
            .map_err(from_projection)?
            .is_some()
    } else {
        matches!(reader.role, Role::Inspector | Role::Evaluator)
    };
    if !visible {
        return Ok(None);
    }
    Ok(Some(Node::TimelineEntry(shown_entry(
        ctx, reader, entry, "node",
    ))))
}

/// `nodes(ids:)`: each id resolved as `node(id:)` would, in order.
pub async fn resolve_all(ctx: &Context<'_>, ids: &[ID]) -> Result<Vec<Option<Node>>> {
    if ids.len() > MAX_NODES {
        return Err(async_graphql::Error::new(format!(
            "nodes(ids:) fetches at most {MAX_NODES} objects at once, not {}",
            ids.len()
        ))
        .extend_with(|_, e| e.set("code", ErrorCode::QueryTooComplex.as_str())));
    }
    let mut nodes = Vec::with_capacity(ids.len());
    for id in ids {
        nodes.push(resolve(ctx, id).await?);
    }
    Ok(nodes)
}
