//! The board's history: what the dashboard counts, one row per state, stamped with the
//! time it held, so that "the dashboard as it stood at an instant" is a query over rows
//! instead of a replay of the log.
//!
//! After each event the batch applies, the case it is about is compared with the case's
//! current history row (status, level, lead unit, problem class, platform, flagged time),
//! its categories with their current rows, and each of its deadlines (due time, settled)
//! with its current row. When something differs, the current row is closed
//! (`valid_to` = the event's recorded time) and a new one opened (`valid_from` = the same,
//! at the event's log position). Units' names are kept the same way.
//!
//! A case's rows depend on the case's own stream only (its status follows its
//! assignments, its deadlines are recorded on it), and the recorded times within a stream
//! never go back (a command reads the clock after loading the stream it appends to), so
//! the rows that held at an instant are exactly what replaying the events recorded up to
//! then gives.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::rows::{Case, Deadline};
use crate::ProjectionError;
use crate::batch::{Rows, load_where_in, table_row};

table_row! {
    /// `rm_case_versions`: what the dashboard counts of a case, while it held.
    CaseVersion in "rm_case_versions", key (case_id, valid_from_position): (String, i64) {
        case_id: String,
        valid_from_position: i64,
        valid_from: i64,
        valid_to: Option<i64>,
        status: String,
        level: Option<String>,
        problem_class: Option<String>,
        lead_unit: Option<String>,
        platform: String,
        flagged_at: i64,
        flagged_day: String,
    }
}

table_row! {
    /// `rm_case_category_versions`: one of a case's categories, while it held.
    CategoryVersion in "rm_case_category_versions",
        key (case_id, category, valid_from_position): (String, String, i64) {
        case_id: String,
        category: String,
        valid_from_position: i64,
        valid_from: i64,
        valid_to: Option<i64>,
        flagged_at: i64,
    }
}

table_row! {
    /// `rm_deadline_versions`: a deadline's due time and whether it is settled, while it
    /// held.
    DeadlineVersion in "rm_deadline_versions",
        key (case_id, deadline_id, valid_from_position): (String, String, i64) {
        case_id: String,
        deadline_id: String,
        valid_from_position: i64,
        valid_from: i64,
        valid_to: Option<i64>,
        due_at: i64,
        settled: i64,
    }
}

table_row! {
    /// `rm_unit_name_versions`: a unit's name, while it held.
    UnitNameVersion in "rm_unit_name_versions", key (unit_id, valid_from_position): (String, i64) {
        unit_id: String,
        valid_from_position: i64,
        valid_from: i64,
        valid_to: Option<i64>,
        name: String,
    }
}

/// The event a history row is opened or closed by.
#[derive(Clone, Copy, Debug)]
pub(super) struct Moment {
    pub position: i64,
    pub recorded_at: i64,
}

/// The history rows one batch touches: the current ones of its cases and units, and those
/// it opens.
#[derive(Default)]
pub(super) struct History {
    cases: Rows<CaseVersion>,
    /// Each case's current row (its `valid_from_position`).
    current_case: HashMap<String, i64>,
    categories: Rows<CategoryVersion>,
    /// Each case's current categories (name, `valid_from_position`).
    current_categories: HashMap<String, Vec<(String, i64)>>,
    deadlines: Rows<DeadlineVersion>,
    current_deadline: HashMap<(String, String), i64>,
    unit_names: Rows<UnitNameVersion>,
    current_unit_name: HashMap<String, i64>,
}

const CURRENT: &str = "valid_to IS NULL";

impl History {
    /// Read the current rows of `cases` and of `units`.
    pub(super) async fn load(
        c: &mut AnyConnection,
        cases: &[String],
        units: &[String],
    ) -> Result<Self, ProjectionError> {
        let mut history = History::default();
        for row in load_where_in::<CaseVersion>(c, "case_id", cases, Some(CURRENT)).await? {
            history
                .current_case
                .insert(row.case_id.clone(), row.valid_from_position);
            history.cases.add_stored(vec![row]);
        }
        for row in load_where_in::<CategoryVersion>(c, "case_id", cases, Some(CURRENT)).await? {
            history
                .current_categories
                .entry(row.case_id.clone())
                .or_default()
                .push((row.category.clone(), row.valid_from_position));
            history.categories.add_stored(vec![row]);
        }
        for row in load_where_in::<DeadlineVersion>(c, "case_id", cases, Some(CURRENT)).await? {
            history.current_deadline.insert(
                (row.case_id.clone(), row.deadline_id.clone()),
                row.valid_from_position,
            );
            history.deadlines.add_stored(vec![row]);
        }
        for row in load_where_in::<UnitNameVersion>(c, "unit_id", units, Some(CURRENT)).await? {
            history
                .current_unit_name
                .insert(row.unit_id.clone(), row.valid_from_position);
            history.unit_names.add_stored(vec![row]);
        }
        Ok(history)
    }

    pub(super) async fn write(&self, c: &mut AnyConnection) -> Result<(), ProjectionError> {
        self.cases.write(c).await?;
        self.categories.write(c).await?;
        self.deadlines.write(c).await?;
        self.unit_names.write(c).await?;
        Ok(())
    }

    /// Open a new row for `case` if what the dashboard counts of it changed.
    pub(super) fn record_case(&mut self, at: Moment, case: &Case) {
        let current = self
            .current_case
            .get(&case.case_id)
            .and_then(|from| self.cases.get(&(case.case_id.clone(), *from)));
        if current.is_some_and(|row| {
            row.status == case.status
                && row.level == case.level
                && row.problem_class == case.problem_class
                && row.lead_unit == case.lead_unit
                && row.platform == case.platform
                && row.flagged_at == case.flagged_at
                && row.flagged_day == case.flagged_day
        }) {
            return;
        }
        if let Some(from) = self.current_case.get(&case.case_id).copied()
            && let Some(row) = self.cases.get_mut(&(case.case_id.clone(), from))
        {
            row.valid_to = Some(at.recorded_at);
        }
        let opened = self.cases.insert(CaseVersion {
            case_id: case.case_id.clone(),
            valid_from_position: at.position,
            valid_from: at.recorded_at,
            valid_to: None,
            status: case.status.clone(),
            level: case.level.clone(),
            problem_class: case.problem_class.clone(),
            lead_unit: case.lead_unit.clone(),
            platform: case.platform.clone(),
            flagged_at: case.flagged_at,
            flagged_day: case.flagged_day.clone(),
        });
        debug_assert!(opened, "one history row per case and event");
        self.current_case.insert(case.case_id.clone(), at.position);
    }

    /// Replace a case's categories if they changed (`categories` sorted, no duplicates).
    pub(super) fn record_categories(&mut self, at: Moment, case: &Case, categories: &[String]) {
        let current = self
            .current_categories
            .get(&case.case_id)
            .cloned()
            .unwrap_or_default();
        let mut held: Vec<&str> = current.iter().map(|(name, _)| name.as_str()).collect();
        held.sort_unstable();
        if held == categories.iter().map(String::as_str).collect::<Vec<_>>() {
            return;
        }
        for (category, from) in &current {
            if let Some(row) =
                self.categories
                    .get_mut(&(case.case_id.clone(), category.clone(), *from))
            {
                row.valid_to = Some(at.recorded_at);
            }
        }
        let mut opened = Vec::with_capacity(categories.len());
        for category in categories {
            let inserted = self.categories.insert(CategoryVersion {
                case_id: case.case_id.clone(),
                category: category.clone(),
                valid_from_position: at.position,
                valid_from: at.recorded_at,
                valid_to: None,
                flagged_at: case.flagged_at,
            });
            debug_assert!(inserted, "categories are distinct");
            opened.push((category.clone(), at.position));
        }
        self.current_categories.insert(case.case_id.clone(), opened);
    }

    /// Open a new row for `deadline` if its due time or settlement changed.
    pub(super) fn record_deadline(&mut self, at: Moment, deadline: &Deadline) {
        let key = (deadline.case_id.clone(), deadline.deadline_id.clone());
        let current = self.current_deadline.get(&key).copied();
        let current_row =
            current.and_then(|from| self.deadlines.get(&(key.0.clone(), key.1.clone(), from)));
        if current_row
            .is_some_and(|row| row.due_at == deadline.due_at && row.settled == deadline.settled)
        {
            return;
        }
        if let Some(from) = current
            && let Some(row) = self
                .deadlines
                .get_mut(&(key.0.clone(), key.1.clone(), from))
        {
            row.valid_to = Some(at.recorded_at);
        }
        let opened = self.deadlines.insert(DeadlineVersion {
            case_id: key.0.clone(),
            deadline_id: key.1.clone(),
            valid_from_position: at.position,
            valid_from: at.recorded_at,
            valid_to: None,
            due_at: deadline.due_at,
            settled: deadline.settled,
        });
        debug_assert!(opened, "one history row per deadline and event");
        self.current_deadline.insert(key, at.position);
    }

    /// Open a new row for a unit's name if it changed (registered or renamed).
    pub(super) fn record_unit_name(&mut self, at: Moment, unit_id: &str, name: &str) {
        let current = self.current_unit_name.get(unit_id).copied();
        if let Some(from) = current {
            let key = (unit_id.to_owned(), from);
            if self
                .unit_names
                .get(&key)
                .is_some_and(|row| row.name == name)
            {
                return;
            }
            if let Some(row) = self.unit_names.get_mut(&key) {
                row.valid_to = Some(at.recorded_at);
            }
        }
        let opened = self.unit_names.insert(UnitNameVersion {
            unit_id: unit_id.to_owned(),
            valid_from_position: at.position,
            valid_from: at.recorded_at,
            valid_to: None,
            name: name.to_owned(),
        });
        debug_assert!(opened, "one history row per unit and event");
        self.current_unit_name
            .insert(unit_id.to_owned(), at.position);
    }
}
