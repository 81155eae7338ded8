//! Who may read what — beside `decide`, which says who may do what. Every read path
//! (GraphQL queries and subscriptions, report downloads) asks these functions, so the
//! rules of reading live in one place:
//!
//! - a unit's staff (officers, unit heads) read the cases assigned to their unit, police
//!   the cases referred or assigned to their unit;
//! - the cyberspace office, leaders, supervisors, evaluators and inspectors read every
//!   case, the dashboard, every unit's inbox and the reports;
//! - administrators read units and settings only: no case, inbox, dashboard or report;
//! - a post author's identity is for the cyberspace office, the police and inspectors
//!   only (docs/domain/trust.md): [`redact_event_data`] is the one redaction every path
//!   that shows an event's raw payload applies;
//! - which roles a unit of each kind may hold ([`ROLES_BY_UNIT_KIND`]): a person's token
//!   names a role and a unit, and the pair must be one of these.

use crate::actor::{Actor, Role};
use crate::ids::UnitId;
use crate::vocabulary::UnitKind;

/// Roles that read every case, the dashboard, any unit's inbox and the reports.
pub const READS_EVERY_CASE: &[Role] = &[
    Role::Monitor,
    Role::Dispatcher,
    Role::Leader,
    Role::Supervisor,
    Role::Evaluator,
    Role::Inspector,
];

/// The roles a person of a unit of each kind may hold (administrators aside: the
/// deployment's administrators may belong to any unit). The cyberspace office monitors,
/// dispatches and supervises; the supervision office supervises; the police act on
/// rumour referrals; the assessment office evaluates; the discipline commission
/// inspects; the units that handle cases have officers and heads; the leadership has
/// leaders.
pub const ROLES_BY_UNIT_KIND: &[(UnitKind, &[Role])] = &[
    (
        UnitKind::CyberspaceOffice,
        &[Role::Monitor, Role::Dispatcher, Role::Supervisor],
    ),
    (UnitKind::SupervisionOffice, &[Role::Supervisor]),
    (UnitKind::Police, &[Role::Police]),
    (UnitKind::AssessmentOffice, &[Role::Evaluator]),
    (UnitKind::DisciplineCommission, &[Role::Inspector]),
    (UnitKind::Department, &[Role::Officer, Role::UnitHead]),
    (UnitKind::TownshipOrStreet, &[Role::Officer, Role::UnitHead]),
    (UnitKind::District, &[Role::Officer, Role::UnitHead]),
    (UnitKind::Leadership, &[Role::Leader]),
];

/// The roles a person of a unit of `kind` may hold, administrators aside.
pub fn roles_of_unit_kind(kind: UnitKind) -> &'static [Role] {
    ROLES_BY_UNIT_KIND
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, roles)| roles)
}

/// May a person of a unit of `kind` hold `role`?
pub fn unit_kind_holds(kind: UnitKind, role: Role) -> bool {
    role == Role::Admin || roles_of_unit_kind(kind).contains(&role)
}

/// A personal field of an event's payload: the event type and the path to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalField {
    pub event_type: &'static str,
    /// The field as a JSON pointer (RFC 6901) into the payload.
    pub pointer: &'static str,
    /// How the field is named to people (in access records and documentation).
    pub name: &'static str,
}

/// Every field of an event payload that holds personal information of a citizen.
pub const PERSONAL_FIELDS: &[PersonalField] = &[
    PersonalField {
        event_type: "PostFlagged",
        pointer: "/post/author",
        name: "post.author",
    },
    PersonalField {
        event_type: "PostAttached",
        pointer: "/post/author",
        name: "post.author",
    },
];

/// What a redacted personal field reads as, for a reader who may not see it.
pub const WITHHELD: &str = "已隐藏";

/// What an erased personal field reads as, for everyone.
pub const ERASED: &str = "已删除";

/// Remove from an event's payload what `reader` may not see: a post author's identity
/// reads [`WITHHELD`] for everyone but the cyberspace office, the police and inspectors.
/// Returns the personal fields that were present and left visible (what a look at
/// personal data must record). Used by every path that shows a raw payload.
pub fn redact_event_data(
    reader: &Actor,
    event_type: &str,
    data: &mut serde_json::Value,
) -> Vec<&'static str> {
    let mut shown = Vec::new();
    for field in PERSONAL_FIELDS
        .iter()
        .filter(|f| f.event_type == event_type)
    {
        let Some(value) = data.pointer_mut(field.pointer) else {
            continue;
        };
        if value.is_null() || value.as_str() == Some(ERASED) {
            continue;
        }
        if may_see_post_authors(reader) {
            shown.push(field.name);
        } else {
            *value = serde_json::Value::String(WITHHELD.to_owned());
        }
    }
    shown
}

/// Which cases a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseScope {
    /// Every case.
    All,
    /// Cases with an assignment to this unit (officers and unit heads).
    AssignedTo(UnitId),
    /// Cases referred to this police unit or assigned to it.
    PoliceUnit(UnitId),
    /// No case (administrators).
    Nothing,
}

/// Does `role` read every case (and the dashboard, every inbox, the reports)?
pub fn reads_every_case(role: Role) -> bool {
    READS_EVERY_CASE.contains(&role)
}

/// The cases `actor` may read.
pub fn case_scope(actor: &Actor) -> CaseScope {
    match actor.role {
        Role::Officer | Role::UnitHead => CaseScope::AssignedTo(actor.unit.clone()),
        Role::Police => CaseScope::PoliceUnit(actor.unit.clone()),
        Role::Admin | Role::System => CaseScope::Nothing,
        Role::Monitor
        | Role::Dispatcher
        | Role::Leader
        | Role::Supervisor
        | Role::Evaluator
        | Role::Inspector => CaseScope::All,
    }
}

/// The roles that see a post author's identity: the cyberspace office (monitors,
/// dispatchers), the police and inspectors.
pub const SEES_POST_AUTHORS: &[Role] = &[
    Role::Monitor,
    Role::Dispatcher,
    Role::Police,
    Role::Inspector,
];

/// May `actor` see a post author's identity?
pub fn may_see_post_authors(actor: &Actor) -> bool {
    SEES_POST_AUTHORS.contains(&actor.role)
}

/// May `actor` read `unit`'s own figures (inbox, scorecard, assessment)? Staff read
/// their own unit's; roles that read every case read any unit's; administrators none.
pub fn may_read_unit(actor: &Actor, unit: &UnitId) -> bool {
    match actor.role {
        Role::Admin | Role::System => false,
        _ => &actor.unit == unit || reads_every_case(actor.role),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn actor(role: Role, unit: &str) -> Actor {
        Actor::new(
            UserId::parse("u1").unwrap(),
            "某人",
            role,
            UnitId::parse(unit).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn staff_read_their_unit_and_the_cyberspace_office_reads_everything() {
        let officer = actor(Role::Officer, "city-housing");
        assert_eq!(
            case_scope(&officer),
            CaseScope::AssignedTo(UnitId::parse("city-housing").unwrap())
        );
        assert!(may_read_unit(
            &officer,
            &UnitId::parse("city-housing").unwrap()
        ));
        assert!(!may_read_unit(
            &officer,
            &UnitId::parse("city-transport").unwrap()
        ));
        assert_eq!(
            case_scope(&actor(Role::Dispatcher, "city-cac")),
            CaseScope::All
        );
        assert!(matches!(
            case_scope(&actor(Role::Police, "city-police")),
            CaseScope::PoliceUnit(_)
        ));
        assert!(may_see_post_authors(&actor(
            Role::Inspector,
            "city-discipline"
        )));
        assert!(!may_see_post_authors(&officer));
        assert!(!reads_every_case(Role::UnitHead));
        let admin = actor(Role::Admin, "city-cac");
        assert_eq!(case_scope(&admin), CaseScope::Nothing);
        assert!(!may_read_unit(&admin, &UnitId::parse("city-cac").unwrap()));
        assert!(!reads_every_case(Role::Admin));
    }

    #[test]
    fn an_authors_identity_is_withheld_from_the_raw_payload_by_role() {
        let payload = serde_json::json!({
            "case_id": "c",
            "post": { "url": "https://weibo.com/1", "author": "微博用户@张三 手机138xxxx" }
        });
        let mut for_officer = payload.clone();
        let shown = redact_event_data(
            &actor(Role::Officer, "city-housing"),
            "PostFlagged",
            &mut for_officer,
        );
        assert!(shown.is_empty());
        assert_eq!(for_officer["post"]["author"], WITHHELD);
        assert_eq!(for_officer["post"]["url"], "https://weibo.com/1");
        let mut for_inspector = payload.clone();
        let shown = redact_event_data(
            &actor(Role::Inspector, "city-discipline"),
            "PostAttached",
            &mut for_inspector,
        );
        assert_eq!(shown, vec!["post.author"]);
        assert_eq!(for_inspector, payload);
        let mut other = payload.clone();
        assert!(
            redact_event_data(
                &actor(Role::Officer, "city-housing"),
                "CaseClosed",
                &mut other
            )
            .is_empty()
        );
        assert_eq!(other, payload);
    }

    #[test]
    fn units_hold_the_roles_of_their_kind() {
        assert!(unit_kind_holds(UnitKind::CyberspaceOffice, Role::Monitor));
        assert!(!unit_kind_holds(UnitKind::Department, Role::Dispatcher));
        assert!(!unit_kind_holds(UnitKind::Department, Role::Monitor));
        assert!(unit_kind_holds(UnitKind::Department, Role::Admin));
        assert!(unit_kind_holds(UnitKind::Leadership, Role::Leader));
        for (kind, roles) in ROLES_BY_UNIT_KIND {
            assert!(!roles.is_empty(), "{kind:?}");
            assert!(!roles.contains(&Role::System));
        }
    }
}
