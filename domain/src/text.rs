//! Free-text newtypes: text that must not be blank (reasons, notes, content) and a
//! bounded length, so that a reason of only spaces never reaches the log.

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// Longest free text accepted in one field (characters).
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Trimmed text that is not empty and not longer than [`MAX_TEXT_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequiredText(String);

impl RequiredText {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ParseError::new(field, "must not be blank"));
        }
        if trimmed.chars().count() > MAX_TEXT_CHARS {
            return Err(ParseError::new(
                field,
                format!("is longer than {MAX_TEXT_CHARS} characters"),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequiredText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Optional free text: blank becomes `None`.
pub fn optional_text(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<RequiredText>, ParseError> {
    match raw {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => RequiredText::parse(field, s).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_refused_and_text_is_trimmed() {
        assert!(RequiredText::parse("reason", "   ").is_err());
        assert!(RequiredText::parse("reason", "").is_err());
        assert_eq!(
            RequiredText::parse("reason", "  不属于本单位职责 ")
                .unwrap()
                .as_str(),
            "不属于本单位职责"
        );
        assert_eq!(optional_text("note", Some("  ")).unwrap(), None);
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        assert!(RequiredText::parse("content", &long).is_err());
    }
}
