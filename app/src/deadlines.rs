//! The deadline process: writes `DeadlineApproaching` and `DeadlineMissed` as the system
//! actor, exactly once per deadline; and, when the rules set a retention period, erases
//! the personal data of cases closed longer ago than that (`PersonalDataErased` by the
//! system, once per case).
//!
//! The `rm_deadlines` read model only says *which cases to look at*; whether a warning or
//! a miss is due is decided by the domain (`CaseState::due_deadline_commands`) against the
//! case's own stream, and the domain refuses a second warning or miss for the same
//! deadline. Each system command has a deterministic command id (case, deadline, kind,
//! due time), so two processes, or one restarted mid-way, write it once: the second
//! attempt is replayed by the store or refused by the domain.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use uuid::Uuid;
use whistle_domain::access_record::{AccessCommand, PersonalDataAccessAggregate};
use whistle_domain::case::CaseState;
use whistle_domain::text::RequiredText;
use whistle_domain::{
    Actor, CaseCommand, CaseId, CommandId, DomainError, ErasureId, RefusalKind, UnitId,
};
use whistle_projections::{ProjectionError, queries};

use crate::clock::Clock;
use crate::handler::{CommandError, CommandHandler, Envelope};

/// Why a pass of the deadline process stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeadlineError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("reading which deadlines are due: {0}")]
    ReadModel(#[from] ProjectionError),
}

/// Namespace of the deterministic command ids of deadline events.
const DEADLINE_COMMAND_NAMESPACE: Uuid = Uuid::from_u128(0x7768_6973_746c_6564_6561_646c_696e_6573);

/// What one pass of the deadline process wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePass {
    pub cases_checked: usize,
    pub warnings: usize,
    pub misses: usize,
    /// Provisional deadlines recomputed on the calendar now loaded.
    pub recomputed: usize,
    /// Cases whose personal data the retention period erased.
    pub erased: usize,
}

/// Scans open deadlines and writes the warnings and misses that are due.
#[derive(Clone)]
pub struct DeadlineProcess {
    handler: CommandHandler,
    system: Actor,
    /// Days after closing when personal data is erased.
    retention_days: Option<u32>,
}

impl DeadlineProcess {
    /// `system_unit` is the unit the system actor is recorded under (the cyberspace office).
    pub fn new(handler: CommandHandler, system_unit: UnitId) -> Self {
        Self {
            handler,
            system: Actor::system(system_unit),
            retention_days: None,
        }
    }

    /// Erase the personal data of cases closed more than `days` ago (the rules'
    /// `privacy.retention_days_after_close`).
    pub fn with_retention(mut self, days: Option<u32>) -> Self {
        self.retention_days = days;
        self
    }

    fn clock(&self) -> &Arc<dyn Clock> {
        self.handler.clock()
    }

    /// One pass at the clock's now.
    pub async fn run_once(&self) -> Result<DeadlinePass, DeadlineError> {
        let now = self.clock().now();
        let mut pass = DeadlinePass::default();
        for case_id in self.cases_with_due_deadlines(now).await? {
            pass.cases_checked += 1;
            let (state, _) = self.handler.load_case(case_id).await?;
            for command in state.due_deadline_commands(now, self.handler.rules()) {
                let command_id = command_id_for(case_id, &state, &command);
                let counter = match command {
                    CaseCommand::RecordDeadlineMissed { .. } => &mut pass.misses,
                    CaseCommand::RecomputeProvisionalDeadline { .. } => &mut pass.recomputed,
                    _ => &mut pass.warnings,
                };
                let issue = Envelope::by(self.system.clone()).with_command_id(command_id);
                match self.handler.handle_case(issue, case_id, command).await {
                    Ok(receipt) if receipt.outcome.replayed => {}
                    Ok(_) => *counter += 1,
                    // Another process wrote it between our read and our append.
                    Err(CommandError::Domain(DomainError::Refused(reason)))
                        if reason.kind() == RefusalKind::Rule =>
                    {
                        tracing::info!(%case_id, %reason, "deadline event already written elsewhere");
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        pass.erased = self.erase_after_retention(now).await?;
        Ok(pass)
    }

    /// Erase the personal data of cases closed before the retention period; how many.
    async fn erase_after_retention(&self, now: DateTime<Utc>) -> Result<usize, DeadlineError> {
        let Some(days) = self.retention_days else {
            return Ok(0);
        };
        let cutoff = now - chrono::Duration::days(i64::from(days));
        let cases = queries::cases_holding_personal_data_closed_before(
            self.handler.store().database().pool(),
            cutoff,
        )
        .await?;
        let mut erased = 0;
        for case_id in cases {
            let key = format!("whistle/retention-erasure/{case_id}");
            let erasure_id =
                ErasureId::from_uuid(Uuid::new_v5(&DEADLINE_COMMAND_NAMESPACE, key.as_bytes()));
            let command = AccessCommand::EraseAfterRetention {
                erasure_id,
                legal_basis: RequiredText::parse(
                    "legalBasis",
                    &format!("保存期满:结案后 {days} 天(《个人信息保护法》第四十七条)"),
                )
                .expect("the retention basis is not blank"),
            };
            let issue = Envelope::by(self.system.clone())
                .with_command_id(CommandId::from_uuid(erasure_id.as_uuid()));
            match self
                .handler
                .handle::<PersonalDataAccessAggregate>(issue, &case_id, command)
                .await
            {
                Ok(receipt) if receipt.outcome.replayed => {}
                Ok(_) => erased += 1,
                // Erased before (on request, or by another process).
                Err(CommandError::Domain(DomainError::Refused(reason)))
                    if reason.kind() == RefusalKind::Rule =>
                {
                    tracing::debug!(%case_id, %reason, "personal data already erased");
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(erased)
    }

    /// Cases whose open deadlines are inside the warning window or past due without a
    /// recorded miss, according to the read model (a hint; the domain decides).
    async fn cases_with_due_deadlines(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseId>, DeadlineError> {
        let lead = self.handler.rules().deadlines.warning_lead();
        Ok(queries::cases_with_due_deadlines(
            self.handler.store().database().pool(),
            now,
            now + lead,
        )
        .await?)
    }

    /// Run a pass every `interval` until `shutdown` fires.
    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.run_once().await {
                Ok(pass) if pass.warnings + pass.misses + pass.recomputed + pass.erased > 0 => {
                    tracing::info!(
                        warnings = pass.warnings,
                        misses = pass.misses,
                        recomputed = pass.recomputed,
                        erased = pass.erased,
                        "deadline events written"
                    )
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(%error, "deadline pass failed; retrying next interval")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// The same warning or miss of the same deadline (at the same due time) always gets the
/// same command id.
fn command_id_for(case_id: CaseId, state: &CaseState, command: &CaseCommand) -> CommandId {
    let (kind, deadline_id) = match command {
        CaseCommand::RecordDeadlineApproaching { deadline_id } => ("approaching", deadline_id),
        CaseCommand::RecordDeadlineMissed { deadline_id } => ("missed", deadline_id),
        CaseCommand::RecomputeProvisionalDeadline { deadline_id } => ("recompute", deadline_id),
        other => unreachable!(
            "the deadline process issues deadline commands only, not {}",
            other.kind()
        ),
    };
    let due = state
        .deadlines
        .get(deadline_id)
        .map(|d| d.due_at.timestamp_micros())
        .unwrap_or_default();
    let name = format!("{case_id}/{deadline_id}/{kind}/{due}");
    CommandId::from_uuid(Uuid::new_v5(&DEADLINE_COMMAND_NAMESPACE, name.as_bytes()))
}
