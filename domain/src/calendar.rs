//! China's working-day calendar: statutory holidays and make-up working days (调休) as
//! published each year by the State Council General Office, shipped as data (holiday-cn,
//! MIT, see `data/holiday-cn/SOURCE.md`) and compiled into the binary. Dates are
//! Asia/Shanghai, which has kept UTC+8 without daylight saving since 1991.
//!
//! A year without a published schedule is unknown: asking about it is an error, never a
//! silent guess. Deadlines that must be set anyway are set by weekdays only and marked
//! provisional (`rules.rs`), to be recomputed once the year's schedule is loaded — the
//! schedule of any year can be loaded at run time (`whistle serve --calendar`), and a
//! loaded year replaces the compiled one (the State Council has amended published years).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::Deserialize;
use thiserror::Error;

/// Asia/Shanghai as a fixed offset (UTC+8, no daylight saving since 1991).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// The Shanghai calendar date of an instant.
pub fn shanghai_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&shanghai()).date_naive()
}

/// The first instant after `date` ends in Shanghai (24:00 that day), in UTC.
pub fn end_of_shanghai_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.checked_add_days(Days::new(1)).expect("date in range");
    shanghai()
        .from_local_datetime(&next.and_time(NaiveTime::MIN))
        .single()
        .expect("fixed offsets are unambiguous")
        .with_timezone(&Utc)
}

/// The start (00:00 Shanghai) of `date`, in UTC.
pub fn start_of_shanghai_day(date: NaiveDate) -> DateTime<Utc> {
    shanghai()
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .single()
        .expect("fixed offsets are unambiguous")
        .with_timezone(&Utc)
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{year} 年的节假日安排尚未发布或未加载(已知年份:{known})")]
pub struct UnknownYear {
    pub year: i32,
    pub known: String,
}

/// One published year: days off that fall on weekdays, and weekend days that are worked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct PublishedYear {
    off_days: BTreeSet<NaiveDate>,
    make_up_working_days: BTreeSet<NaiveDate>,
}

/// The working-day calendar of every published year it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingDayCalendar {
    years: BTreeMap<i32, PublishedYear>,
}

#[derive(Deserialize)]
struct HolidayFile {
    year: i32,
    #[serde(default)]
    days: Vec<HolidayDay>,
}

#[derive(Deserialize)]
struct HolidayDay {
    date: NaiveDate,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

macro_rules! holiday_files {
    ($($year:literal),+) => {
        &[$(include_str!(concat!("../data/holiday-cn/", $year, ".json"))),+]
    };
}

const HOLIDAY_FILES: &[&str] = holiday_files!(
    "2007", "2008", "2009", "2010", "2011", "2012", "2013", "2014", "2015", "2016", "2017", "2018",
    "2019", "2020", "2021", "2022", "2023", "2024", "2025", "2026", "2027"
);

/// A holiday-cn file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarFileError {
    #[error("not a holiday-cn year file: {0}")]
    Syntax(String),
    #[error("the file for {year} lists {date}, which is neither in {year} nor next to it")]
    DateOutsideYear { year: i32, date: NaiveDate },
}

impl WorkingDayCalendar {
    /// The calendar shipped with this build (parsed once).
    pub fn china() -> &'static WorkingDayCalendar {
        static CALENDAR: OnceLock<WorkingDayCalendar> = OnceLock::new();
        CALENDAR.get_or_init(|| {
            WorkingDayCalendar::from_holiday_cn_files(HOLIDAY_FILES)
                .expect("the shipped holiday-cn files parse")
        })
    }

    /// Build a calendar from holiday-cn JSON files; a file without days is not published.
    /// A file may list days of the neighbouring years (a holiday that starts on 31
    /// December); a day further away is refused.
    pub fn from_holiday_cn_files(files: &[&str]) -> Result<Self, CalendarFileError> {
        let mut years = BTreeMap::new();
        for text in files {
            let file: HolidayFile =
                serde_json::from_str(text).map_err(|e| CalendarFileError::Syntax(e.to_string()))?;
            if file.days.is_empty() {
                continue;
            }
            if let Some(day) = file
                .days
                .iter()
                .find(|day| (day.date.year() - file.year).abs() > 1)
            {
                return Err(CalendarFileError::DateOutsideYear {
                    year: file.year,
                    date: day.date,
                });
            }
            let mut year = PublishedYear::default();
            for day in file.days {
                if day.is_off_day {
                    year.off_days.insert(day.date);
                } else {
                    year.make_up_working_days.insert(day.date);
                }
            }
            years.insert(file.year, year);
        }
        Ok(Self { years })
    }

    pub fn known_years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Is the schedule of `year` published (known to this calendar)?
    pub fn knows(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// This calendar with the years of `loaded` added; a loaded year replaces the same
    /// year here.
    pub fn merged_with(&self, loaded: &WorkingDayCalendar) -> WorkingDayCalendar {
        let mut years = self.years.clone();
        for (year, published) in &loaded.years {
            years.insert(*year, published.clone());
        }
        WorkingDayCalendar { years }
    }

    /// `n` weekdays after the Shanghai date of `from`, ending at 24:00: what a deadline in
    /// working days falls back to when a year's schedule is not published (provisional).
    pub fn weekdays_deadline(&self, from: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let mut current = shanghai_date(from);
        let mut remaining = n;
        while remaining > 0 {
            current = current.succ_opt().expect("date in range");
            if !matches!(current.weekday(), Weekday::Sat | Weekday::Sun) {
                remaining -= 1;
            }
        }
        end_of_shanghai_day(current)
    }

    /// Is `date` a working day in mainland China?
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, UnknownYear> {
        let year = self.years.get(&date.year()).ok_or_else(|| UnknownYear {
            year: date.year(),
            known: match (self.years.keys().next(), self.years.keys().last()) {
                (Some(first), Some(last)) => format!("{first}-{last}"),
                _ => "none".to_owned(),
            },
        })?;
        if year.off_days.contains(&date) {
            return Ok(false);
        }
        if year.make_up_working_days.contains(&date) {
            return Ok(true);
        }
        Ok(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// The date that is `n` working days after `date` (not counting `date` itself).
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, UnknownYear> {
        let mut current = date;
        let mut remaining = n;
        while remaining > 0 {
            current = current.succ_opt().expect("date in range");
            if self.is_working_day(current)? {
                remaining -= 1;
            }
        }
        Ok(current)
    }

    /// Deadline of `n` working days from an instant: the end (24:00 Shanghai) of the n-th
    /// working day after the Shanghai date of `from`.
    pub fn working_days_deadline(
        &self,
        from: DateTime<Utc>,
        n: u32,
    ) -> Result<DateTime<Utc>, UnknownYear> {
        Ok(end_of_shanghai_day(
            self.add_working_days(shanghai_date(from), n)?,
        ))
    }

    /// Working hours between two instants, counting whole working days as 24 h each
    /// (the deadline rules count clock hours on working days).
    pub fn working_hours_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<f64, UnknownYear> {
        if to <= from {
            return Ok(0.0);
        }
        let mut total_seconds = 0i64;
        let mut day = shanghai_date(from);
        let last = shanghai_date(to);
        while day <= last {
            if self.is_working_day(day)? {
                let start = start_of_shanghai_day(day).max(from);
                let end = end_of_shanghai_day(day).min(to);
                if end > start {
                    total_seconds += (end - start).num_seconds();
                }
            }
            day = day.succ_opt().expect("date in range");
        }
        Ok(total_seconds as f64 / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn national_day_2025_is_off_and_its_make_up_weekend_days_are_worked() {
        let calendar = WorkingDayCalendar::china();
        // 2025-10-01..08 off (National Day and Mid-Autumn); Sun 09-28 and Sat 10-11 worked.
        for off in ["2025-10-01", "2025-10-03", "2025-10-06", "2025-10-08"] {
            assert!(!calendar.is_working_day(date(off)).unwrap(), "{off}");
        }
        assert!(calendar.is_working_day(date("2025-09-28")).unwrap());
        assert!(calendar.is_working_day(date("2025-10-11")).unwrap());
        assert!(calendar.is_working_day(date("2025-10-09")).unwrap());
        assert!(!calendar.is_working_day(date("2025-10-12")).unwrap());
    }

    #[test]
    fn adding_working_days_skips_holidays_and_counts_make_up_days() {
        let calendar = WorkingDayCalendar::china();
        let check = |from: &str, n: u32, want: &str| {
            assert_eq!(
                calendar.add_working_days(date(from), n).unwrap(),
                date(want),
                "{from} + {n}"
            );
        };
        check("2025-09-26", 1, "2025-09-28"); // Friday → the make-up Sunday
        check("2025-09-30", 1, "2025-10-09"); // across the whole holiday
        check("2025-09-30", 3, "2025-10-11"); // Thu, Fri, make-up Saturday
        check("2025-11-14", 3, "2025-11-19"); // an ordinary weekend
        check("2025-11-14", 0, "2025-11-14");
    }

    #[test]
    fn an_unpublished_year_is_unknown_not_guessed() {
        let calendar = WorkingDayCalendar::china();
        let err = calendar.is_working_day(date("2027-03-01")).unwrap_err();
        assert_eq!(err.year, 2027);
        assert!(calendar.add_working_days(date("2026-12-30"), 5).is_err());
        assert!(calendar.is_working_day(date("2006-06-01")).is_err());
    }

    #[test]
    fn a_working_days_deadline_ends_at_shanghai_midnight() {
        let calendar = WorkingDayCalendar::china();
        // Friday 2025-11-14 10:00 Shanghai = 02:00 UTC; 3 working days → Wed 19th 24:00.
        let from: DateTime<Utc> = "2025-11-14T02:00:00Z".parse().unwrap();
        let due = calendar.working_days_deadline(from, 3).unwrap();
        assert_eq!(
            due,
            "2025-11-19T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_loaded_year_is_known_and_replaces_a_compiled_one() {
        let next = r#"{"year": 2027, "papers": [], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "春节", "date": "2027-02-06", "isOffDay": false}
        ]}"#;
        let loaded = WorkingDayCalendar::from_holiday_cn_files(&[next]).unwrap();
        let calendar = WorkingDayCalendar::china().merged_with(&loaded);
        assert!(calendar.knows(2027) && calendar.knows(2026));
        assert!(!calendar.is_working_day(date("2027-01-01")).unwrap());
        assert!(
            calendar.is_working_day(date("2027-02-06")).unwrap(),
            "a make-up Saturday"
        );
        // 2025 amended: 2025-10-09 (a Thursday) off.
        let amended = r#"{"year": 2025, "papers": [], "days": [
            {"name": "国庆节", "date": "2025-10-09", "isOffDay": true}
        ]}"#;
        let calendar = WorkingDayCalendar::china()
            .merged_with(&WorkingDayCalendar::from_holiday_cn_files(&[amended]).unwrap());
        assert!(!calendar.is_working_day(date("2025-10-09")).unwrap());
        assert!(
            calendar.is_working_day(date("2025-10-08")).unwrap(),
            "the amended file is the year now"
        );
        let stray =
            r#"{"year": 2027, "days": [{"name": "x", "date": "2030-01-01", "isOffDay": true}]}"#;
        assert!(matches!(
            WorkingDayCalendar::from_holiday_cn_files(&[stray]),
            Err(CalendarFileError::DateOutsideYear { .. })
        ));
        assert!(WorkingDayCalendar::from_holiday_cn_files(&["not json"]).is_err());
    }

    #[test]
    fn weekdays_only_skips_weekends_and_nothing_else() {
        let calendar = WorkingDayCalendar::china();
        // Tue 2026-12-29 10:00 Shanghai + 3 weekdays: Wed, Thu, Fri 2027-01-01 → 24:00.
        let from: DateTime<Utc> = "2026-12-29T02:00:00Z".parse().unwrap();
        assert_eq!(
            calendar.weekdays_deadline(from, 3),
            "2027-01-01T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn working_hours_skip_days_off() {
        let calendar = WorkingDayCalendar::china();
        // Friday 2025-11-14 20:00 to Monday 2025-11-17 04:00 Shanghai: 4 h + 4 h.
        let from: DateTime<Utc> = "2025-11-14T12:00:00Z".parse().unwrap();
        let to: DateTime<Utc> = "2025-11-16T20:00:00Z".parse().unwrap();
        assert_eq!(calendar.working_hours_between(from, to).unwrap(), 8.0);
    }
}
