//! The dashboard's counts per Asia/Shanghai flagging day (`rm_case_day_counts`), kept by
//! the projector, so the live dashboard over all cases (or whole days of them) adds up
//! a few rows per figure and day instead of grouping every case once per figure.
//!
//! A row counts the cases flagged on a day that show one key of one figure now: all of
//! them, the open ones, each status, level (`untriaged` before triage), lead unit,
//! platform, problem class and category. After a batch, each case it created or changed
//! takes back what it counted for as loaded and adds what it counts for now (a
//! retriaged case its old and new categories); the differences are added to the rows,
//! and a row that comes to nothing is deleted — so the rows depend on the events
//! applied, not on the batches.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AnyConnection;
use whistle_domain::{CaseStatus, Vocabulary};

use super::rows::{Case, Category};
use crate::ProjectionError;
use crate::batch::{Rows, add_to_sums, delete_nothing, load_where_in};

pub(super) const TABLE: &str = "rm_case_day_counts";

/// A figure of the dashboard the counts keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum CountedFigure {
    Total,
    Open,
    Status,
    Level,
    LeadUnit,
    Platform,
    ProblemClass,
    Category,
    /// The day a case was flagged (kept by the history's counts only: the live counts
    /// have it as their day).
    FlaggedDay,
}

impl CountedFigure {
    /// Its name in `rm_case_day_counts.figure`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            CountedFigure::Total => "total",
            CountedFigure::Open => "open",
            CountedFigure::Status => "status",
            CountedFigure::Level => "level",
            CountedFigure::LeadUnit => "lead_unit",
            CountedFigure::Platform => "platform",
            CountedFigure::ProblemClass => "problem_class",
            CountedFigure::Category => "category",
            CountedFigure::FlaggedDay => "flagged_day",
        }
    }
}

/// The level a case not yet triaged counts under.
pub(crate) const UNTRIAGED: &str = "untriaged";

/// What the dashboard counts of a case: of its row, or of one of its history rows.
pub(crate) struct CountedCase<'a> {
    pub status: &'a str,
    pub level: Option<&'a str>,
    pub lead_unit: Option<&'a str>,
    pub platform: &'a str,
    pub problem_class: Option<&'a str>,
}

impl<'a> From<&'a Case> for CountedCase<'a> {
    fn from(case: &'a Case) -> Self {
        CountedCase {
            status: &case.status,
            level: case.level.as_deref(),
            lead_unit: case.lead_unit.as_deref(),
            platform: &case.platform,
            problem_class: case.problem_class.as_deref(),
        }
    }
}

/// The figures a case counts under, each with its key (the totals have the empty key).
pub(crate) fn figures_of(case: &CountedCase<'_>) -> Vec<(CountedFigure, String)> {
    let mut keys = vec![
        (CountedFigure::Total, String::new()),
        (CountedFigure::Status, case.status.to_owned()),
        (
            CountedFigure::Level,
            case.level.unwrap_or(UNTRIAGED).to_owned(),
        ),
        (CountedFigure::Platform, case.platform.to_owned()),
    ];
    if case.status != CaseStatus::Closed.key() {
        keys.push((CountedFigure::Open, String::new()));
    }
    if let Some(unit) = case.lead_unit {
        keys.push((CountedFigure::LeadUnit, unit.to_owned()));
    }
    if let Some(class) = case.problem_class {
        keys.push((CountedFigure::ProblemClass, class.to_owned()));
    }
    keys
}

type CountKey = (CountedFigure, String, String);

/// What a case counts for: (figure, key, flagging day).
fn counted_for(case: &Case) -> Vec<CountKey> {
    figures_of(&CountedCase::from(case))
        .into_iter()
        .map(|(figure, key)| (figure, key, case.flagged_day.clone()))
        .collect()
}

/// The differences a batch makes to the counts: its cases as loaded and now, and the
/// categories of the cases whose categories it replaced (`replaced`, the new ones).
pub(super) async fn differences(
    c: &mut AnyConnection,
    cases: &Rows<Case>,
    replaced: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<CountKey, i64>, ProjectionError> {
    let mut differences: BTreeMap<CountKey, i64> = BTreeMap::new();
    for (loaded, now) in cases.touched() {
        for key in loaded.map(counted_for).unwrap_or_default() {
            *differences.entry(key).or_default() -= 1;
        }
        for key in counted_for(now) {
            *differences.entry(key).or_default() += 1;
        }
    }
    if !replaced.is_empty() {
        let case_ids: Vec<String> = replaced.keys().cloned().collect();
        let stored: Vec<Category> = load_where_in(c, "case_id", &case_ids, None).await?;
        let day_of = |case_id: &str| -> Result<String, ProjectionError> {
            cases
                .get(&case_id.to_owned())
                .map(|case| case.flagged_day.clone())
                .ok_or_else(|| ProjectionError::Unreadable {
                    position: 0,
                    reason: format!(
                        "case {case_id}'s categories changed but it is not on the board"
                    ),
                })
        };
        for category in stored {
            let day = day_of(&category.case_id)?;
            *differences
                .entry((CountedFigure::Category, category.category, day))
                .or_default() -= 1;
        }
        for (case_id, categories) in replaced {
            let day = day_of(case_id)?;
            for category in categories {
                *differences
                    .entry((CountedFigure::Category, category.clone(), day.clone()))
                    .or_default() += 1;
            }
        }
    }
    differences.retain(|_, difference| *difference != 0);
    Ok(differences)
}

/// Add `differences` to the counts and delete the rows that come to nothing.
pub(super) async fn write(
    c: &mut AnyConnection,
    differences: &BTreeMap<CountKey, i64>,
) -> Result<(), ProjectionError> {
    let rows: Vec<(Vec<String>, Vec<i64>)> = differences
        .iter()
        .map(|((figure, key, day), difference)| {
            (
                vec![figure.key().to_owned(), day.clone(), key.clone()],
                vec![*difference],
            )
        })
        .collect();
    add_to_sums(
        c,
        TABLE,
        &["figure", "flagged_day", "figure_key"],
        &["cases"],
        &rows,
    )
    .await?;
    let days: Vec<String> = differences
        .keys()
        .map(|(_, _, day)| day.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    delete_nothing(c, TABLE, &["cases"], "flagged_day", &days).await?;
    Ok(())
}
