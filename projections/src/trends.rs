//! Trends for dispatchers' charts: per Asia/Shanghai day, ISO week or month, the cases
//! flagged and their heat, the cases closed, and the deadlines missed — filtered like
//! the case list (level, unit, platform, problem class). Each figure is counted per day
//! in the database and folded into weeks or months here, with every period of the
//! range present (a chart's axis has no holes).

use chrono::{Datelike, Duration, NaiveDate};
use sqlx::{AnyPool, Row};
use whistle_domain::calendar::start_of_shanghai_day;
use whistle_store::to_micros;

use crate::ProjectionError;
use crate::queries::{CaseFilter, CaseScope, case_conditions};

/// The longest range a trend covers.
pub const MAX_TREND_DAYS: i64 = 3 * 366;
/// The most points a trend has.
pub const MAX_TREND_POINTS: usize = 400;

/// How long one point of a trend is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// An Asia/Shanghai calendar day.
    Day,
    /// An ISO 8601 week, Monday to Sunday.
    IsoWeek,
    /// A calendar month.
    Month,
}

/// One point of a trend: a period and its figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrendPoint {
    /// The period's key: `2026-03-02`, `2026-W10` or `2026-03`.
    pub period: String,
    /// The period in Chinese: `3月2日`, `2026年第10周`, `2026年3月`.
    pub label: String,
    /// Its first day within the range asked.
    pub from: NaiveDate,
    /// The day after its last within the range asked.
    pub to: NaiveDate,
    /// Cases flagged in the period.
    pub flags: i64,
    /// The latest heat of those cases, summed.
    pub heat: i64,
    /// Cases whose closing (the latest, for a case reopened and closed again) fell in
    /// the period.
    pub closures: i64,
    /// Deadlines recorded missed in the period.
    pub overdue: i64,
}

/// Microseconds in a day, and Shanghai's offset from UTC (no daylight saving).
const DAY_MICROS: i64 = 86_400_000_000;
const SHANGHAI_OFFSET_MICROS: i64 = 8 * 3_600_000_000;

/// The Shanghai day a day number (days since 1970-01-01, Shanghai) names.
fn day_of(number: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date") + Duration::days(number)
}

/// The period of `granularity` that `day` falls in: its key, label and bounds.
fn period_of(day: NaiveDate, granularity: Granularity) -> (String, String, NaiveDate, NaiveDate) {
    match granularity {
        Granularity::Day => (
            day.format("%Y-%m-%d").to_string(),
            format!("{}月{}日", day.month(), day.day()),
            day,
            day + Duration::days(1),
        ),
        Granularity::IsoWeek => {
            let week = day.iso_week();
            let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
            (
                format!("{}-W{:02}", week.year(), week.week()),
                format!("{}年第{}周", week.year(), week.week()),
                monday,
                monday + Duration::days(7),
            )
        }
        Granularity::Month => {
            let first = day.with_day(1).expect("day 1");
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            }
            .expect("a month");
            (
                first.format("%Y-%m").to_string(),
                format!("{}年{}月", first.year(), first.month()),
                first,
                next,
            )
        }
    }
}

/// The trend of the cases of `filter` the reader may see (`scope`), over the days
/// [`from`, `to`), one point per period of `granularity`.
pub async fn trends(
    pool: &AnyPool,
    scope: &CaseScope,
    filter: &CaseFilter,
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
) -> Result<Vec<TrendPoint>, ProjectionError> {
    let days = (to - from).num_days();
    if days <= 0 || days > MAX_TREND_DAYS {
        return Err(ProjectionError::OutOfRange(format!(
            "a trend covers 1 to {MAX_TREND_DAYS} days, not {days}"
        )));
    }
    // The periods, in order, with every one present.
    let mut points: Vec<TrendPoint> = Vec::new();
    let mut day = from;
    while day < to {
        let (period, label, start, end) = period_of(day, granularity);
        points.push(TrendPoint {
            period,
            label,
            from: start.max(from),
            to: end.min(to),
            flags: 0,
            heat: 0,
            closures: 0,
            overdue: 0,
        });
        day = end;
    }
    if points.len() > MAX_TREND_POINTS {
        return Err(ProjectionError::OutOfRange(format!(
            "the trend would have {} points; at most {MAX_TREND_POINTS} (choose weeks or months, or a shorter range)",
            points.len()
        )));
    }
    // Each day's point, by its offset from `from`.
    let mut point_of_day = Vec::with_capacity(days as usize);
    for (i, point) in points.iter().enumerate() {
        for _ in 0..(point.to - point.from).num_days() {
            point_of_day.push(i);
        }
    }
    let point_of = |day: NaiveDate| {
        let offset = (day - from).num_days();
        (0..days)
            .contains(&offset)
            .then(|| point_of_day[offset as usize])
    };

    let (start, end) = (
        to_micros(start_of_shanghai_day(from)),
        to_micros(start_of_shanghai_day(to)),
    );
    // Flags and heat, by the day the case was flagged.
    let mut conditions = case_conditions(scope, filter);
    let (a, b) = (
        conditions.text(from.format("%Y-%m-%d").to_string()),
        conditions.text(to.format("%Y-%m-%d").to_string()),
    );
    conditions.push(format!("c.flagged_day >= {a} AND c.flagged_day < {b}"));
    let sql = format!(
        "SELECT c.flagged_day AS day, COUNT(*) AS n, CAST(SUM(c.heat_total) AS BIGINT) AS heat \
         FROM rm_cases c {} GROUP BY c.flagged_day",
        conditions.where_sql()
    );
    let flagged = conditions.fetch_all(pool, &sql).await?;
    // Closures and missed deadlines, by the Shanghai day number of their instant.
    let day_number =
        |column: &str| format!("(({column} + {SHANGHAI_OFFSET_MICROS}) / {DAY_MICROS})");
    let mut conditions = case_conditions(scope, filter);
    let (a, b) = (conditions.int(start), conditions.int(end));
    conditions.push(format!("c.closed_at >= {a} AND c.closed_at < {b}"));
    let closed_day = day_number("c.closed_at");
    let sql = format!(
        "SELECT {closed_day} AS day, COUNT(*) AS n FROM rm_cases c {} GROUP BY {closed_day}",
        conditions.where_sql()
    );
    let closed = conditions.fetch_all(pool, &sql).await?;
    let mut conditions = case_conditions(scope, filter);
    let (a, b) = (conditions.int(start), conditions.int(end));
    conditions.push(format!("d.missed_at >= {a} AND d.missed_at < {b}"));
    let missed_day = day_number("d.missed_at");
    let sql = format!(
        "SELECT {missed_day} AS day, COUNT(*) AS n FROM rm_deadlines d \
         JOIN rm_cases c ON c.case_id = d.case_id {} GROUP BY {missed_day}",
        conditions.where_sql()
    );
    let missed = conditions.fetch_all(pool, &sql).await?;

    for row in &flagged {
        let day: String = row.try_get("day")?;
        let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| {
            ProjectionError::Database(sqlx::Error::Decode(
                format!("rm_cases.flagged_day `{day}` is not a date: {e}").into(),
            ))
        })?;
        if let Some(i) = point_of(day) {
            points[i].flags += row.try_get::<i64, _>("n")?;
            points[i].heat += row.try_get::<Option<i64>, _>("heat")?.unwrap_or(0);
        }
    }
    for row in &closed {
        if let Some(i) = point_of(day_of(row.try_get("day")?)) {
            points[i].closures += row.try_get::<i64, _>("n")?;
        }
    }
    for row in &missed {
        if let Some(i) = point_of(day_of(row.try_get("day")?)) {
            points[i].overdue += row.try_get::<i64, _>("n")?;
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_are_shanghai_days_iso_weeks_and_months() {
        assert_eq!(
            period_of(date("2026-03-02"), Granularity::Day).0,
            "2026-03-02"
        );
        // 2027-01-01 is a Friday in ISO week 53 of 2026.
        let (key, label, monday, next) = period_of(date("2027-01-01"), Granularity::IsoWeek);
        assert_eq!((key.as_str(), label.as_str()), ("2026-W53", "2026年第53周"));
        assert_eq!((monday, next), (date("2026-12-28"), date("2027-01-04")));
        let (key, _, first, next) = period_of(date("2026-12-15"), Granularity::Month);
        assert_eq!(key, "2026-12");
        assert_eq!((first, next), (date("2026-12-01"), date("2027-01-01")));
        assert_eq!(day_of(0), date("1970-01-01"));
        assert_eq!(day_of(20_514), date("2026-03-02"));
    }
}
