//! China's holiday schedule as data at run time: `whistle serve --calendar FILE|DIR`
//! loads holiday-cn year files (the format of domain/data/holiday-cn/, one JSON file per
//! year) on top of the years compiled into the build, so next year's schedule — published
//! by the State Council General Office each November or so — can be loaded without a new
//! release. Every file is checked before the service starts.

use std::path::Path;

use chrono::{DateTime, Datelike, Utc};
use whistle_domain::calendar::{WorkingDayCalendar, shanghai_date};

/// Why a calendar file or folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("{0} holds no holiday-cn year file (*.json)")]
    Empty(String),
}

/// The compiled calendar with the year files at `path` (a file, or a folder of `*.json`)
/// loaded on top; a loaded year replaces the compiled one.
pub fn load(path: &Path) -> Result<WorkingDayCalendar, CalendarError> {
    let read = |file: &Path| {
        std::fs::read_to_string(file).map_err(|source| CalendarError::Read {
            path: file.display().to_string(),
            source,
        })
    };
    let mut files = Vec::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| CalendarError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for file in paths {
            let text = read(&file)?;
            files.push((file, text));
        }
        if files.is_empty() {
            return Err(CalendarError::Empty(path.display().to_string()));
        }
    } else {
        files.push((path.to_owned(), read(path)?));
    }
    let mut calendar = WorkingDayCalendar::china().clone();
    for (file, text) in &files {
        let loaded = WorkingDayCalendar::from_holiday_cn_files(&[text]).map_err(|e| {
            CalendarError::Invalid {
                path: file.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        calendar = calendar.merged_with(&loaded);
    }
    Ok(calendar)
}

/// From 1 November (Asia/Shanghai) on, a warning when the calendar does not know next
/// year: deadlines counted into it would be provisional.
pub fn next_year_warning(calendar: &WorkingDayCalendar, now: DateTime<Utc>) -> Option<String> {
    let today = shanghai_date(now);
    let next = today.year() + 1;
    (today.month() >= 11 && !calendar.knows(next)).then(|| {
        format!(
            "the holiday schedule of {next} is not loaded: load it with --calendar when the State Council publishes it; until then, deadlines counted in working days into {next} are provisional (weekdays only)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_year_files_loads_over_the_compiled_years_and_a_bad_file_is_named() {
        let dir = std::env::temp_dir().join(format!("whistle-calendar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("2027.json"),
            r#"{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#,
        )
        .unwrap();
        let calendar = load(&dir).unwrap();
        assert!(calendar.knows(2027) && calendar.knows(2025));
        std::fs::write(dir.join("2028.json"), "{ not json").unwrap();
        let error = load(&dir).unwrap_err().to_string();
        assert!(error.contains("2028.json"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(load(Path::new("/no/such/calendar")).is_err());
    }

    #[test]
    fn the_warning_starts_on_the_first_of_november_when_next_year_is_missing() {
        let calendar = WorkingDayCalendar::china();
        let october: DateTime<Utc> = "2026-10-31T15:00:00Z".parse().unwrap(); // 23:00 Shanghai
        let november: DateTime<Utc> = "2026-10-31T16:00:00Z".parse().unwrap(); // 00:00 on 1 Nov
        assert_eq!(next_year_warning(calendar, october), None);
        assert!(
            next_year_warning(calendar, november)
                .unwrap()
                .contains("2027")
        );
        let later: DateTime<Utc> = "2025-11-20T00:00:00Z".parse().unwrap();
        assert_eq!(
            next_year_warning(calendar, later),
            None,
            "2026 is compiled in"
        );
    }
}
