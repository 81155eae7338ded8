//! Text at the boundary: one normalisation for every text that comes in, so nothing the
//! service accepts can fail to store on any backend or hide what it says.
//!
//! Every text is put in Unicode NFC and trimmed. Then, by what the text is ([`TextKind`]):
//! - no text may hold NUL or another control character — PostgreSQL cannot store U+0000
//!   at all, and SQLite's string functions stop at it, so the two backends would differ —
//!   except newline and tab in prose (a carriage return before a newline is dropped);
//! - no text may hold the bidirectional formatting controls that reorder what a reader
//!   sees (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C: the "Trojan Source" class);
//! - names, codes and addresses may not hold invisible characters either (Unicode's
//!   default-ignorable code points: zero-width spaces and joiners, soft hyphens, variation
//!   selectors, the byte-order mark …), which would let two names that look the same
//!   differ. Prose keeps them: the zero-width joiner is part of many emoji.
//!
//! A refused character is named by its code point; nothing is removed silently.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::ParseError;

/// Longest free text accepted in one field (characters).
pub const MAX_TEXT_CHARS: usize = 20_000;

/// What a text is, which decides the characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Reasons, notes, replies, excerpts: several lines.
    Prose,
    /// A title or a search: one line.
    Line,
    /// A name, a code, a user id, an address: one line, nothing invisible.
    Name,
}

/// Normalise `raw` as a text of `kind`: NFC, trimmed, and refused (naming the first
/// character that may not be there) when it holds what `kind` does not allow.
pub fn normalize(field: &'static str, raw: &str, kind: TextKind) -> Result<String, ParseError> {
    let text: String = raw.replace("\r\n", "\n").nfc().collect();
    let text = text.trim();
    if let Some(refused) = text.chars().find(|c| !allowed(*c, kind)) {
        return Err(ParseError::new(
            field,
            format!(
                "contains U+{:04X} ({}), which is not allowed here",
                u32::from(refused),
                describe(refused)
            ),
        ));
    }
    Ok(text.to_owned())
}

/// May `c` stand in a text of `kind`?
pub fn allowed(c: char, kind: TextKind) -> bool {
    if c.is_control() {
        return kind == TextKind::Prose && (c == '\n' || c == '\t');
    }
    if is_bidi_control(c) {
        return false;
    }
    kind != TextKind::Name || !is_default_ignorable(c)
}

/// The bidirectional formatting controls and marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Unicode's `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt): characters that
/// render as nothing.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

fn describe(c: char) -> &'static str {
    if c == '\0' {
        "NUL"
    } else if c.is_control() {
        "a control character"
    } else if is_bidi_control(c) {
        "a bidirectional formatting control"
    } else {
        "an invisible character"
    }
}

/// Trimmed, normalised prose that is not empty and not longer than [`MAX_TEXT_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequiredText(String);

impl RequiredText {
    /// Prose (reasons, notes, content): several lines allowed.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ParseError> {
        Self::parse_as(field, raw, TextKind::Prose)
    }

    /// Text of `kind`, not blank, at most [`MAX_TEXT_CHARS`].
    pub fn parse_as(field: &'static str, raw: &str, kind: TextKind) -> Result<Self, ParseError> {
        let text = normalize(field, raw, kind)?;
        if text.is_empty() {
            return Err(ParseError::new(field, "must not be blank"));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ParseError::new(
                field,
                format!("is longer than {MAX_TEXT_CHARS} characters"),
            ));
        }
        Ok(Self(text))
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

/// Optional prose: blank becomes `None`.
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

    #[test]
    fn nul_and_control_characters_are_refused_everywhere_but_newline_and_tab_in_prose() {
        let check = |raw: &str, kind, ok: bool| {
            assert_eq!(normalize("f", raw, kind).is_ok(), ok, "{raw:?} as {kind:?}");
        };
        check("路\u{0}面塌陷", TextKind::Prose, false);
        check("路\u{0}面塌陷", TextKind::Name, false);
        check("a\u{7}b", TextKind::Prose, false);
        check("第一行\n第二行\t完", TextKind::Prose, true);
        check("第一行\n第二行", TextKind::Line, false);
        check("a\u{85}b", TextKind::Prose, false);
        assert_eq!(
            normalize("f", "一\r\n二", TextKind::Prose).unwrap(),
            "一\n二"
        );
        let message = normalize("title", "路\u{0}面", TextKind::Line)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("U+0000") && message.contains("NUL"),
            "{message}"
        );
    }

    #[test]
    fn bidi_overrides_are_refused_and_invisible_characters_only_in_names() {
        let check = |raw: &str, kind, ok: bool| {
            assert_eq!(normalize("f", raw, kind).is_ok(), ok, "{raw:?} as {kind:?}");
        };
        for bidi in ['\u{202E}', '\u{2066}', '\u{200F}', '\u{061C}'] {
            check(&format!("市{bidi}住建局"), TextKind::Prose, false);
            check(&format!("市{bidi}住建局"), TextKind::Name, false);
        }
        for invisible in ['\u{200B}', '\u{200D}', '\u{FEFF}', '\u{00AD}', '\u{FE0F}'] {
            check(&format!("市{invisible}住建局"), TextKind::Name, false);
        }
        // A family emoji is joined by U+200D: prose keeps it.
        check("家庭👨\u{200D}👩\u{200D}👧", TextKind::Prose, true);
    }

    #[test]
    fn text_is_put_in_nfc_so_one_text_has_one_form() {
        let decomposed = "Cafe\u{301}";
        assert_eq!(
            normalize("f", decomposed, TextKind::Name).unwrap(),
            "Caf\u{E9}"
        );
    }
}
