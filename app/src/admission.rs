//! Who may act at all: a person's verified identity (from a token) is admitted only when
//! it is bound to the world the log describes. The unit it names must be registered and
//! active, and the role must be one a unit of that kind holds
//! ([`whistle_domain::access::ROLES_BY_UNIT_KIND`]). Units are read from their own
//! streams (never from a read model, which may lag), kept for [`UNIT_TTL`] and forgotten
//! at once when this process writes a unit event; another process's change to a unit
//! binds here within [`UNIT_TTL`].
//!
//! The one exception is the first administrator: while no unit is registered at all, an
//! administrator is admitted whatever unit they name, so that the units can be
//! registered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use whistle_domain::access::{roles_of_unit_kind, unit_kind_holds};
use whistle_domain::commands::ReferencedUnit;
use whistle_domain::unit::UnitState;
use whistle_domain::{
    Actor, Aggregate, Role, StreamCategory, UnitId, UnitKind, Vocabulary, unit::UnitAggregate,
};
use whistle_store::{EventStore, StoreError};

/// How long a unit read from its stream is trusted before it is read again.
pub const UNIT_TTL: Duration = Duration::from_secs(2);

/// Units kept at most; the cache starts afresh when it is full.
const UNITS_KEPT: usize = 10_000;

/// Why an identity is not admitted.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("the token names unit `{0}`, which is not registered")]
    UnknownUnit(UnitId),
    #[error("the token names unit `{unit}` ({name}), which has been deactivated")]
    InactiveUnit { unit: UnitId, name: String },
    #[error(
        "the token gives role {role} ({role_zh}) in unit `{unit}`, a {kind} ({kind_zh}); a unit of that kind holds only: {allowed}"
    )]
    RoleNotHeldByUnitKind {
        role: &'static str,
        role_zh: &'static str,
        unit: UnitId,
        kind: &'static str,
        kind_zh: &'static str,
        allowed: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A unit as last read from its stream (`None`: never registered), and when.
type UnitAsRead = (Instant, Option<ReferencedUnit>);

/// The units identities are checked against, cached briefly.
#[derive(Clone, Debug, Default)]
pub struct UnitRoster {
    units: Arc<Mutex<HashMap<UnitId, UnitAsRead>>>,
    /// Set once any unit is known to exist (units are never deleted).
    some_unit_exists: Arc<std::sync::atomic::AtomicBool>,
}

impl UnitRoster {
    /// Admit `actor` or say why not.
    pub async fn admit(&self, store: &EventStore, actor: &Actor) -> Result<(), AdmissionError> {
        let unit = match self.unit(store, &actor.unit).await? {
            Some(unit) => unit,
            None if actor.role == Role::Admin && !self.any_unit(store).await? => return Ok(()),
            None => return Err(AdmissionError::UnknownUnit(actor.unit.clone())),
        };
        if !unit.active {
            return Err(AdmissionError::InactiveUnit {
                unit: unit.unit_id,
                name: unit.name,
            });
        }
        if !unit_kind_holds(unit.kind, actor.role) {
            return Err(not_held(actor.role, &unit.unit_id, unit.kind));
        }
        Ok(())
    }

    /// Forget what is known of `unit` (this process just wrote to its stream).
    pub fn forget(&self, unit: &UnitId) {
        self.units
            .lock()
            .expect("the unit roster is not poisoned")
            .remove(unit);
    }

    async fn unit(
        &self,
        store: &EventStore,
        unit_id: &UnitId,
    ) -> Result<Option<ReferencedUnit>, StoreError> {
        if let Some((read_at, unit)) = self
            .units
            .lock()
            .expect("the unit roster is not poisoned")
            .get(unit_id)
            && read_at.elapsed() < UNIT_TTL
        {
            return Ok(unit.clone());
        }
        let stream = UnitAggregate::stream_id(unit_id);
        let events = whistle_store::RecordedEvent::events(&store.read_stream(&stream).await?)?;
        let unit = UnitState::from_events(&events).as_reference();
        if unit.is_some() {
            self.some_unit_exists
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let mut units = self.units.lock().expect("the unit roster is not poisoned");
        if units.len() >= UNITS_KEPT {
            units.clear();
        }
        units.insert(unit_id.clone(), (Instant::now(), unit.clone()));
        Ok(unit)
    }

    async fn any_unit(&self, store: &EventStore) -> Result<bool, StoreError> {
        if self
            .some_unit_exists
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(true);
        }
        let exists = store.any_stream_of(StreamCategory::Unit).await?;
        if exists {
            self.some_unit_exists
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(exists)
    }
}

fn not_held(role: Role, unit: &UnitId, kind: UnitKind) -> AdmissionError {
    let allowed = roles_of_unit_kind(kind)
        .iter()
        .chain(std::iter::once(&Role::Admin))
        .map(|r| format!("{} ({})", r.key(), r.label_zh()))
        .collect::<Vec<_>>()
        .join(", ");
    AdmissionError::RoleNotHeldByUnitKind {
        role: role.key(),
        role_zh: role.label_zh(),
        unit: unit.clone(),
        kind: kind.key(),
        kind_zh: kind.label_zh(),
        allowed,
    }
}
