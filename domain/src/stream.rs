//! Stream names: one stream per case, per unit, per unit and assessment year, and per
//! case for the looks at its personal data. This is the one place their text form
//! (`case-…`, `unit-…`, `assessment-…-YYYY`, `access-…`) is
//! written and parsed; everything else passes [`StreamId`] around.

use crate::error::ParseError;
use crate::ids::{CaseId, UnitId};

/// The stream an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    /// One case (舆情事项) from its first flagged post on.
    Case(CaseId),
    /// One unit (单位): registered, renamed, deactivated.
    Unit(UnitId),
    /// One unit's assessment facts for one year.
    Assessment { unit: UnitId, year: i32 },
    /// Every look at one case's personal data (a post author's identity): who, when,
    /// through which path.
    PersonalDataAccess(CaseId),
}

/// The kind of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamCategory {
    Case,
    Unit,
    Assessment,
    PersonalDataAccess,
}

impl StreamCategory {
    /// What every stream name of this category starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            StreamCategory::Case => "case-",
            StreamCategory::Unit => "unit-",
            StreamCategory::Assessment => "assessment-",
            StreamCategory::PersonalDataAccess => "access-",
        }
    }
}

impl StreamId {
    pub fn category(&self) -> StreamCategory {
        match self {
            StreamId::Case(_) => StreamCategory::Case,
            StreamId::Unit(_) => StreamCategory::Unit,
            StreamId::Assessment { .. } => StreamCategory::Assessment,
            StreamId::PersonalDataAccess(_) => StreamCategory::PersonalDataAccess,
        }
    }

    /// The case, when this is a case's stream.
    pub fn case_id(&self) -> Option<CaseId> {
        match self {
            StreamId::Case(case_id) => Some(*case_id),
            _ => None,
        }
    }

    /// Parse a stream name as stored.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("streamId", format!("`{raw}` is not a stream name"));
        if let Some(id) = raw.strip_prefix("case-") {
            return CaseId::parse(id).map(StreamId::Case).map_err(|_| bad());
        }
        if let Some(id) = raw.strip_prefix("unit-") {
            return UnitId::parse(id).map(StreamId::Unit).map_err(|_| bad());
        }
        if let Some(id) = raw.strip_prefix("access-") {
            return CaseId::parse(id)
                .map(StreamId::PersonalDataAccess)
                .map_err(|_| bad());
        }
        if let Some(rest) = raw.strip_prefix("assessment-") {
            let (unit, year) = rest.rsplit_once('-').ok_or_else(bad)?;
            let year: i32 = year.parse().map_err(|_| bad())?;
            let unit = UnitId::parse(unit).map_err(|_| bad())?;
            return Ok(StreamId::Assessment { unit, year });
        }
        Err(bad())
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamId::Case(case_id) => write!(f, "case-{case_id}"),
            StreamId::Unit(unit_id) => write!(f, "unit-{unit_id}"),
            StreamId::Assessment { unit, year } => write!(f, "assessment-{unit}-{year}"),
            StreamId::PersonalDataAccess(case_id) => write!(f, "access-{case_id}"),
        }
    }
}

impl std::str::FromStr for StreamId {
    type Err = ParseError;

    fn from_str(raw: &str) -> Result<Self, ParseError> {
        StreamId::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_name_round_trips_and_nothing_else_parses() {
        let case = StreamId::Case(CaseId::from_uuid(uuid::Uuid::from_u128(7)));
        let unit = StreamId::Unit(UnitId::parse("city-housing").unwrap());
        let assessment = StreamId::Assessment {
            unit: UnitId::parse("town-03").unwrap(),
            year: 2026,
        };
        for stream in [case, unit, assessment] {
            assert_eq!(StreamId::parse(&stream.to_string()).unwrap(), stream);
        }
        assert_eq!(
            StreamId::parse("assessment-city-housing-2026").unwrap(),
            StreamId::Assessment {
                unit: UnitId::parse("city-housing").unwrap(),
                year: 2026
            }
        );
        for bad in [
            "",
            "case-x",
            "unit-",
            "assessment-city",
            "memo-1",
            "unit-住建局",
        ] {
            assert!(StreamId::parse(bad).is_err(), "{bad}");
        }
    }
}
