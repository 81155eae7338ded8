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

use sqlx::AnyConnection;

use super::Board;
use super::rows::{Case, Deadline};
use crate::ProjectionError;
use crate::batch::{Rows, TableRow, load_where_in, table_row};

table_row! {
    /// `rm_case_versions`: what the dashboard counts of a case, while it held.
    CaseVersion in "rm_case_versions", key (case_id, valid_from_position): (String, i64),
        by_case case_id {
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
        key (case_id, category, valid_from_position): (String, String, i64), by_case case_id {
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
        key (case_id, deadline_id, valid_from_position): (String, String, i64), by_case case_id {
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

/// The history rows one batch touches: the current ones of its cases and units (those
/// with no `valid_to`), and those it opens.
#[derive(Default)]
pub(super) struct History {
    cases: Rows<CaseVersion>,
    categories: Rows<CategoryVersion>,
    deadlines: Rows<DeadlineVersion>,
    unit_names: Rows<UnitNameVersion>,
}

const CURRENT: &str = "valid_to IS NULL";

/// The key of a case's current row that `pick` selects, if it has one.
fn current<R: TableRow>(
    rows: &Rows<R>,
    case_id: &str,
    pick: impl Fn(&R) -> bool,
) -> Option<R::Key> {
    rows.keys_of_case(case_id)
        .into_iter()
        .find(|key| rows.get(key).is_some_and(&pick))
}

impl History {
    /// Read the current rows of `cases` and of `units`.
    pub(super) async fn load(
        c: &mut AnyConnection,
        cases: &[String],
        units: &[String],
    ) -> Result<Self, ProjectionError> {
        let mut history = History::default();
        history
            .cases
            .add_stored(load_where_in(c, "case_id", cases, Some(CURRENT)).await?);
        history
            .categories
            .add_stored(load_where_in(c, "case_id", cases, Some(CURRENT)).await?);
        history
            .deadlines
            .add_stored(load_where_in(c, "case_id", cases, Some(CURRENT)).await?);
        history
            .unit_names
            .add_stored(load_where_in(c, "unit_id", units, Some(CURRENT)).await?);
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
    pub(super) fn record_case(&mut self, at: Moment, case: &Case) -> Result<(), ProjectionError> {
        let held = current(&self.cases, &case.case_id, |row| row.valid_to.is_none());
        if let Some(key) = &held
            && self.cases.get(key).is_some_and(|row| {
                row.status == case.status
                    && row.level == case.level
                    && row.problem_class == case.problem_class
                    && row.lead_unit == case.lead_unit
                    && row.platform == case.platform
                    && row.flagged_at == case.flagged_at
                    && row.flagged_day == case.flagged_day
            })
        {
            return Ok(());
        }
        if let Some(row) = held.and_then(|key| self.cases.get_mut(&key)) {
            row.valid_to = Some(at.recorded_at);
        }
        let row = CaseVersion {
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
        };
        Board::insert_new(&mut self.cases, at.position, row, "a case's history row")
    }

    /// Replace a case's categories if they changed (`categories` sorted, no duplicates).
    pub(super) fn record_categories(
        &mut self,
        at: Moment,
        case: &Case,
        categories: &[String],
    ) -> Result<(), ProjectionError> {
        let mut held: Vec<&str> = self
            .categories
            .of_case(&case.case_id)
            .filter(|row| row.valid_to.is_none())
            .map(|row| row.category.as_str())
            .collect();
        held.sort_unstable();
        if held
            .iter()
            .copied()
            .eq(categories.iter().map(String::as_str))
        {
            return Ok(());
        }
        self.categories.update_case(
            &case.case_id,
            |row| row.valid_to.is_none(),
            |row| row.valid_to = Some(at.recorded_at),
        );
        for category in categories {
            let row = CategoryVersion {
                case_id: case.case_id.clone(),
                category: category.clone(),
                valid_from_position: at.position,
                valid_from: at.recorded_at,
                valid_to: None,
                flagged_at: case.flagged_at,
            };
            Board::insert_new(
                &mut self.categories,
                at.position,
                row,
                "a category's history row",
            )?;
        }
        Ok(())
    }

    /// Open a new row for `deadline` if its due time or settlement changed.
    pub(super) fn record_deadline(
        &mut self,
        at: Moment,
        deadline: &Deadline,
    ) -> Result<(), ProjectionError> {
        let held = current(&self.deadlines, &deadline.case_id, |row| {
            row.deadline_id == deadline.deadline_id && row.valid_to.is_none()
        });
        if let Some(key) = &held
            && self
                .deadlines
                .get(key)
                .is_some_and(|row| row.due_at == deadline.due_at && row.settled == deadline.settled)
        {
            return Ok(());
        }
        if let Some(row) = held.and_then(|key| self.deadlines.get_mut(&key)) {
            row.valid_to = Some(at.recorded_at);
        }
        let row = DeadlineVersion {
            case_id: deadline.case_id.clone(),
            deadline_id: deadline.deadline_id.clone(),
            valid_from_position: at.position,
            valid_from: at.recorded_at,
            valid_to: None,
            due_at: deadline.due_at,
            settled: deadline.settled,
        };
        Board::insert_new(
            &mut self.deadlines,
            at.position,
            row,
            "a deadline's history row",
        )
    }

    /// Open a new row for a unit's name if it changed (registered or renamed).
    pub(super) fn record_unit_name(
        &mut self,
        at: Moment,
        unit_id: &str,
        name: &str,
    ) -> Result<(), ProjectionError> {
        // A batch holds the rows of the few units it renames, and those it registers.
        let held = self
            .unit_names
            .keys_where(|row| row.unit_id == unit_id && row.valid_to.is_none())
            .pop();
        if let Some(key) = &held
            && self.unit_names.get(key).is_some_and(|row| row.name == name)
        {
            return Ok(());
        }
        if let Some(row) = held.and_then(|key| self.unit_names.get_mut(&key)) {
            row.valid_to = Some(at.recorded_at);
        }
        let row = UnitNameVersion {
            unit_id: unit_id.to_owned(),
            valid_from_position: at.position,
            valid_from: at.recorded_at,
            valid_to: None,
            name: name.to_owned(),
        };
        Board::insert_new(
            &mut self.unit_names,
            at.position,
            row,
            "a unit name's history row",
        )
    }
}
