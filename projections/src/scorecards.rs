//! Unit scorecards (docs/domain/measures.md) for a period, as of an instant: counted
//! assignments, feedback, on-time feedback and completion with their rates, the median
//! and mean first response, missed deadlines, rejected returns and urgings.
//!
//! Two ways to the same figures. As the record stands — `as_of` at or after the latest
//! recorded time the board has applied, which is what "now" is — they add up the rows
//! of `rm_unit_day_facts` (one per unit and day, kept by the projector) and find each
//! unit's median by walking its counted first-response times in order through their
//! index, reading a few hundred rows however long the period. As of an earlier instant
//! they are computed from the assignments and incidents themselves, leaving out what
//! was recorded after it. A test holds the two equal.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, AnyPool, Row};
use whistle_domain::calendar::start_of_shanghai_day;
use whistle_domain::{IncidentKind, UnitId, Vocabulary};
use whistle_store::{Backend, to_micros};

use crate::ProjectionError;
use crate::case_board::unit_facts::{FACTS_TABLE, FIGURES, REACH_TABLE};
use crate::queries::{Conditions, units};

/// The measures of docs/domain/measures.md for one unit and period, as of an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    pub unit_id: String,
    pub unit_name: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub as_of: DateTime<Utc>,
    pub counted_assignments: i64,
    pub with_feedback: i64,
    pub on_time_feedback: i64,
    pub completed: i64,
    /// 反馈率; `None` when nothing was counted.
    pub feedback_rate: Option<f64>,
    /// 按时反馈率.
    pub on_time_rate: Option<f64>,
    /// 办结率.
    pub completion_rate: Option<f64>,
    pub first_response_median_hours: Option<f64>,
    pub first_response_mean_hours: Option<f64>,
    pub overdue_count: i64,
    pub buck_passing_count: i64,
    pub urging_count: i64,
}

/// One unit's figures in a scorecard's period, as the database adds them up.
#[derive(Debug, Default, PartialEq, Eq)]
struct UnitFigures {
    counted: i64,
    with_feedback: i64,
    on_time: i64,
    completed: i64,
    /// The sum of the first-response times (assignment to first approved reply).
    response_total_micros: i64,
    /// The middle first-response time(s): one twice for an odd count, the two middle
    /// ones for an even count; `None` without any response.
    middle_responses_micros: Option<(i64, i64)>,
    overdue: i64,
    buck_passing: i64,
    urgings: i64,
}

/// The instants of a period's first day and of the day after its last, in microseconds.
fn period_micros(from: NaiveDate, to: NaiveDate) -> (i64, i64) {
    (
        to_micros(start_of_shanghai_day(from)),
        to_micros(start_of_shanghai_day(to)),
    )
}

/// Scorecards of every unit (or one) for the period [from, to) in Shanghai dates, as of
/// `as_of`: outcomes recorded after `as_of` do not count.
pub async fn scorecards(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
    as_of: DateTime<Utc>,
    unit: Option<&UnitId>,
) -> Result<Vec<Scorecard>, ProjectionError> {
    let figures = match figures_from_facts(pool, from, to, as_of, unit).await? {
        Some(figures) => figures,
        None => figures_from_assignments(pool, from, to, as_of, unit).await?,
    };
    cards(pool, from, to, as_of, unit, figures).await
}

/// [`scorecards`] computed from the assignments and incidents themselves whatever
/// `as_of` is (what an earlier instant needs; the facts must agree with it).
pub async fn scorecards_from_assignments(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
    as_of: DateTime<Utc>,
    unit: Option<&UnitId>,
) -> Result<Vec<Scorecard>, ProjectionError> {
    let figures = figures_from_assignments(pool, from, to, as_of, unit).await?;
    cards(pool, from, to, as_of, unit, figures).await
}

/// A read that sees one state of the read models across its statements: SQLite's
/// deferred transaction holds its first read's snapshot; PostgreSQL needs REPEATABLE
/// READ for that.
async fn consistent_read(
    pool: &AnyPool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, ProjectionError> {
    let mut tx = pool.begin().await?;
    if Backend::of(&tx) == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// The figures from `rm_unit_day_facts`, when `as_of` is at or after everything the
/// board has applied (`None` otherwise: the facts hold what is recorded now, and an
/// earlier instant must leave some of it out).
async fn figures_from_facts(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
    as_of: DateTime<Utc>,
    unit: Option<&UnitId>,
) -> Result<Option<HashMap<String, UnitFigures>>, ProjectionError> {
    let mut tx = consistent_read(pool).await?;
    if reach_micros(&mut tx)
        .await?
        .is_some_and(|latest| latest > to_micros(as_of))
    {
        return Ok(None);
    }
    let mut conditions = Conditions::default();
    let (first_day, after_last_day) = (
        conditions.text(from.to_string()),
        conditions.text(to.to_string()),
    );
    conditions.push(format!(
        "shanghai_day >= {first_day} AND shanghai_day < {after_last_day}"
    ));
    if let Some(unit) = unit {
        let p = conditions.text(unit.as_str());
        conditions.push(format!("unit_id = {p}"));
    }
    let sum = |column: &str| format!("CAST(SUM({column}) AS BIGINT) AS {column}");
    let sql = format!(
        "SELECT unit_id, {} FROM {FACTS_TABLE} {} GROUP BY unit_id",
        FIGURES.map(sum).join(", "),
        conditions.where_sql()
    );
    let mut figures = HashMap::new();
    for row in conditions.fetch_all_on(&mut tx, &sql).await? {
        figures.insert(
            row.try_get::<String, _>("unit_id")?,
            UnitFigures {
                counted: row.try_get("counted")?,
                with_feedback: row.try_get("with_feedback")?,
                on_time: row.try_get("on_time")?,
                completed: row.try_get("completed")?,
                response_total_micros: row.try_get("response_total")?,
                middle_responses_micros: None,
                overdue: row.try_get("overdue")?,
                buck_passing: row.try_get("buck_passing")?,
                urgings: row.try_get("urgings")?,
            },
        );
    }
    let (start, end) = period_micros(from, to);
    let responded: Vec<(String, i64)> = figures
        .iter()
        .map(|(unit_id, unit_figures)| (unit_id.clone(), unit_figures.with_feedback))
        .collect();
    for (unit_id, middles) in middle_responses(&mut tx, &responded, start, end).await? {
        if let Some(unit_figures) = figures.get_mut(&unit_id) {
            unit_figures.middle_responses_micros = Some(middles);
        }
    }
    tx.commit().await?;
    Ok(Some(figures))
}

/// Units whose medians one statement finds at most.
const MEDIANS_PER_STATEMENT: usize = 200;

/// The middle one (odd count) or two (even count) of each unit's `responded` counted
/// first-response times for assignments made in [start, end), found in one statement
/// per 200 units: each unit's index on (unit, response, assigned time) is walked in
/// response order up to its middle. (One statement per unit cost a round trip each,
/// ~2 ms on PostgreSQL.)
async fn middle_responses(
    c: &mut AnyConnection,
    responded: &[(String, i64)],
    start: i64,
    end: i64,
) -> Result<Vec<(String, (i64, i64))>, ProjectionError> {
    let backend = Backend::of(c);
    let wanted: Vec<&(String, i64)> = responded.iter().filter(|(_, n)| *n > 0).collect();
    let mut middles = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(MEDIANS_PER_STATEMENT) {
        // The integers are this code's own (the period's bounds, ranks from counts),
        // written into the SQL; the unit ids are bound.
        let mut branches = Vec::with_capacity(chunk.len());
        for (i, (_, responded)) in chunk.iter().enumerate() {
            let (lower_rank, upper_rank) = ((responded + 1) / 2, (responded + 2) / 2);
            let mut unit = String::new();
            backend.push_placeholders(&mut unit, i + 1, 1);
            branches.push(format!(
                "SELECT * FROM (SELECT unit_id, counted_response FROM rm_assignments \
                 WHERE unit_id IN {unit} AND counted_response IS NOT NULL \
                   AND assigned_at >= {start} AND assigned_at < {end} \
                 ORDER BY counted_response LIMIT {} OFFSET {}) AS unit_{i}",
                upper_rank - lower_rank + 1,
                lower_rank - 1
            ));
        }
        let sql = branches.join(" UNION ALL ");
        let mut query = sqlx::query(&sql).persistent(false);
        for (unit_id, _) in chunk {
            query = query.bind(unit_id.clone());
        }
        let mut found: HashMap<String, Vec<i64>> = HashMap::new();
        for row in query.fetch_all(&mut *c).await? {
            found
                .entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
        for (unit_id, responded) in chunk {
            let mut values = found.remove(unit_id.as_str()).unwrap_or_default();
            values.sort_unstable();
            let odd = responded % 2 == 1;
            let pair = match values[..] {
                [middle] if odd => (middle, middle),
                [lower, upper] if !odd => (lower, upper),
                _ => {
                    return Err(ProjectionError::Unreadable {
                        position: 0,
                        reason: format!(
                            "unit {unit_id}'s scorecard facts count {responded} responses, \
                             its assignments have {} at the middle",
                            values.len()
                        ),
                    });
                }
            };
            middles.push((unit_id.clone(), pair));
        }
    }
    Ok(middles)
}

/// The figures computed from the assignments and incidents, leaving out what was
/// recorded after `as_of`.
async fn figures_from_assignments(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
    as_of: DateTime<Utc>,
    unit: Option<&UnitId>,
) -> Result<HashMap<String, UnitFigures>, ProjectionError> {
    let (start, end) = period_micros(from, to);
    let as_of_micros = to_micros(as_of);

    // Counted assignments: made to the unit in the period (and by `as_of`), neither
    // withdrawn nor returned-with-the-return-accepted by `as_of`.
    let mut counted = Conditions::default();
    let (p_start, p_end, p_as_of) = (
        counted.int(start),
        counted.int(end),
        counted.int(as_of_micros),
    );
    counted.push(format!(
        "assigned_at >= {p_start} AND assigned_at < {p_end} AND assigned_at <= {p_as_of}"
    ));
    counted.push(format!(
        "(withdrawn_at IS NULL OR withdrawn_at > {p_as_of})"
    ));
    counted.push(format!(
        "(return_accepted_at IS NULL OR return_accepted_at > {p_as_of})"
    ));
    if let Some(unit) = unit {
        let p = counted.text(unit.as_str());
        counted.push(format!("unit_id = {p}"));
    }
    // Aggregated in the database, one row per unit: a year of a city's assignments is
    // ~100,000 rows, and fetching them one by one cost ~0.4 s on SQLite (BENCHMARKS.md).
    // The median takes the middle one or two responses of each unit, ranked.
    let sql = format!(
        "WITH counted AS ( \
             SELECT unit_id, assigned_at, \
                    CASE WHEN first_approved_reply_at <= {p_as_of} THEN first_approved_reply_at END AS approved, \
                    deadline_at_first_approval AS deadline, \
                    CASE WHEN completed_at <= {p_as_of} THEN 1 ELSE 0 END AS completed \
             FROM rm_assignments {where_sql}), \
         responses AS ( \
             SELECT unit_id, approved - assigned_at AS response, \
                    ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY approved - assigned_at) AS response_rank, \
                    COUNT(*) OVER (PARTITION BY unit_id) AS responded \
             FROM counted WHERE approved IS NOT NULL), \
         middles AS ( \
             SELECT unit_id, MIN(response) AS lower_middle, MAX(response) AS upper_middle \
             FROM responses WHERE response_rank = (responded + 1) / 2 OR response_rank = (responded + 2) / 2 \
             GROUP BY unit_id) \
         SELECT c.unit_id, COUNT(*) AS counted, \
                SUM(CASE WHEN c.approved IS NOT NULL THEN 1 ELSE 0 END) AS with_feedback, \
                SUM(CASE WHEN c.approved <= c.deadline THEN 1 ELSE 0 END) AS on_time, \
                SUM(c.completed) AS completed, \
                CAST(SUM(CASE WHEN c.approved IS NOT NULL THEN c.approved - c.assigned_at ELSE 0 END) AS BIGINT) AS response_total, \
                MIN(m.lower_middle) AS lower_middle, MIN(m.upper_middle) AS upper_middle \
         FROM counted c LEFT JOIN middles m ON m.unit_id = c.unit_id \
         GROUP BY c.unit_id",
        where_sql = counted.where_sql()
    );
    let mut figures: HashMap<String, UnitFigures> = HashMap::new();
    for row in counted.fetch_all(pool, &sql).await? {
        figures.insert(
            row.try_get("unit_id")?,
            UnitFigures {
                counted: row.try_get("counted")?,
                with_feedback: row.try_get("with_feedback")?,
                on_time: row.try_get("on_time")?,
                completed: row.try_get("completed")?,
                response_total_micros: row.try_get("response_total")?,
                middle_responses_micros: match (
                    row.try_get::<Option<i64>, _>("lower_middle")?,
                    row.try_get::<Option<i64>, _>("upper_middle")?,
                ) {
                    (Some(lower), Some(upper)) => Some((lower, upper)),
                    _ => None,
                },
                ..UnitFigures::default()
            },
        );
    }

    // Missed deadlines and rejected returns on the unit's assignments, and urgings,
    // recorded in the period by `as_of`.
    let mut recorded = Conditions::default();
    let (p_start, p_end, p_as_of) = (
        recorded.int(start),
        recorded.int(end),
        recorded.int(as_of_micros),
    );
    recorded.push(format!(
        "recorded_at >= {p_start} AND recorded_at < {p_end} AND recorded_at <= {p_as_of}"
    ));
    recorded.push(format!(
        "(kind = '{}' OR (kind IN ('{}', '{}') AND assignment_id IS NOT NULL))",
        IncidentKind::SupervisionUrged.key(),
        IncidentKind::DeadlineMissed.key(),
        IncidentKind::ReturnRejected.key(),
    ));
    if let Some(unit) = unit {
        let p = recorded.text(unit.as_str());
        recorded.push(format!("unit_id = {p}"));
    }
    let sql = format!(
        "SELECT unit_id, kind, COUNT(*) FROM rm_unit_incidents {} GROUP BY unit_id, kind",
        recorded.where_sql()
    );
    for row in recorded.fetch_all(pool, &sql).await? {
        let unit_figures = figures.entry(row.try_get(0)?).or_default();
        let count: i64 = row.try_get(2)?;
        match IncidentKind::parse_key(&row.try_get::<String, _>(1)?).ok() {
            Some(IncidentKind::DeadlineMissed) => unit_figures.overdue = count,
            Some(IncidentKind::ReturnRejected) => unit_figures.buck_passing = count,
            Some(IncidentKind::SupervisionUrged) => unit_figures.urgings = count,
            _ => {}
        }
    }
    Ok(figures)
}

/// A scorecard for every registered unit (or the one asked for) from its figures.
async fn cards(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
    as_of: DateTime<Utc>,
    unit: Option<&UnitId>,
    mut figures: HashMap<String, UnitFigures>,
) -> Result<Vec<Scorecard>, ProjectionError> {
    let mut cards = Vec::new();
    for unit_view in units(pool)
        .await?
        .into_iter()
        .filter(|u| unit.is_none_or(|wanted| wanted.as_str() == u.unit_id))
    {
        let facts = figures.remove(&unit_view.unit_id).unwrap_or_default();
        let counted = facts.counted;
        let hours = |micros: i64| micros as f64 / 3_600_000_000.0;
        let rate = |part: i64| {
            if counted == 0 {
                None
            } else {
                Some(part as f64 / counted as f64)
            }
        };
        cards.push(Scorecard {
            unit_id: unit_view.unit_id.clone(),
            unit_name: unit_view.name.clone(),
            period_from: from,
            period_to: to,
            as_of,
            counted_assignments: counted,
            with_feedback: facts.with_feedback,
            on_time_feedback: facts.on_time,
            completed: facts.completed,
            feedback_rate: rate(facts.with_feedback),
            on_time_rate: rate(facts.on_time),
            completion_rate: rate(facts.completed),
            first_response_median_hours: facts
                .middle_responses_micros
                .map(|(lower, upper)| (hours(lower) + hours(upper)) / 2.0),
            first_response_mean_hours: (facts.with_feedback > 0)
                .then(|| hours(facts.response_total_micros) / facts.with_feedback as f64),
            overdue_count: facts.overdue,
            buck_passing_count: facts.buck_passing,
            urging_count: facts.urgings,
        });
    }
    Ok(cards)
}

/// The latest recorded time of any event the board has applied (`None` before any):
/// scorecards as of this instant or later are read from the facts.
pub async fn board_reach(pool: &AnyPool) -> Result<Option<DateTime<Utc>>, ProjectionError> {
    let mut c = pool.acquire().await?;
    Ok(reach_micros(&mut c).await?.map(whistle_store::from_micros))
}

async fn reach_micros(c: &mut AnyConnection) -> Result<Option<i64>, ProjectionError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT latest_recorded_at FROM {REACH_TABLE} WHERE reach = 1"
    ))
    .fetch_optional(&mut *c)
    .await?)
}
