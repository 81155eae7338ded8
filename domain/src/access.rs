//! Who may read what — beside `decide`, which says who may do what. Every read path
//! (GraphQL queries and subscriptions, report downloads) asks these functions, so the
//! rules of reading live in one place:
//!
//! - a unit's staff (officers, unit heads) read the cases assigned to their unit, police
//!   the cases referred or assigned to their unit;
//! - the cyberspace office, leaders, supervisors, evaluators, inspectors (and, for now,
//!   administrators) read every case, the dashboard, every unit's inbox and the reports;
//! - a post author's identity is for the cyberspace office, the police and inspectors
//!   only (docs/domain/trust.md).

use crate::actor::{Actor, Role};
use crate::ids::UnitId;

/// Roles that read every case, the dashboard, any unit's inbox and the reports.
pub const READS_EVERY_CASE: &[Role] = &[
    Role::Monitor,
    Role::Dispatcher,
    Role::Leader,
    Role::Supervisor,
    Role::Evaluator,
    Role::Inspector,
    Role::Admin,
];

/// Which cases a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseScope {
    /// Every case.
    All,
    /// Cases with an assignment to this unit (officers and unit heads).
    AssignedTo(UnitId),
    /// Cases referred to this police unit or assigned to it.
    PoliceUnit(UnitId),
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
        _ => CaseScope::All,
    }
}

/// May `actor` see a post author's identity?
pub fn may_see_post_authors(actor: &Actor) -> bool {
    matches!(
        actor.role,
        Role::Monitor | Role::Dispatcher | Role::Police | Role::Inspector
    )
}

/// May `actor` read `unit`'s own figures (inbox, scorecard, assessment)? Staff read
/// their own unit's; roles that read every case read any unit's.
pub fn may_read_unit(actor: &Actor, unit: &UnitId) -> bool {
    &actor.unit == unit || reads_every_case(actor.role)
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
    }
}
