//! Diagnostics: what went wrong in user input, where, and what to do about it.
//!
//! Every stage reports problems in the user's rule files, fact files and flags as
//! [`Diagnostic`] values that point at byte [`Span`]s of a registered source text. Nothing
//! here renders: `cli` turns diagnostics into terminal text. Line and column numbers are
//! computed on demand from the source text by [`Sources::line_col`].

use std::fmt;
use std::sync::{Arc, OnceLock};

/// Identifies one source text (a rule file, a fact file, a command-line argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// A byte range in one source text: `start` and `end` are 0-based byte offsets, `end`
/// exclusive, both on UTF-8 character boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The text the offsets refer to.
    pub source: SourceId,
    /// 0-based byte offset of the first byte.
    pub start: u32,
    /// 0-based byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span over `start..end` of `source`.
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span {
            source,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both `self` and `other` (same source assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The byte range as `usize`s, for slicing.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One registered text with its line index.
#[derive(Clone, Debug)]
struct SourceFile {
    name: String,
    text: Arc<str>,
    /// Byte offset of the start of each line, ascending; the first is 0. Found on the
    /// first location asked for (most runs over large fact files ask for none), and
    /// shared by clones.
    line_starts: Arc<OnceLock<Vec<u32>>>,
}

impl SourceFile {
    fn line_starts(&self) -> &[u32] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0u32];
            starts.extend(
                self.text
                    .bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i as u32 + 1),
            );
            starts
        })
    }
}

/// The texts diagnostics point into, each with the name shown to the user (a path, or
/// `<query>` for a command-line argument). Texts are shared, so cloning is cheap.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Registers a text under `name` and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        let text: String = text.into();
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
            line_starts: Arc::default(),
        });
        SourceId(self.files.len() as u32 - 1)
    }

    /// The name a source was registered under.
    pub fn name(&self, id: SourceId) -> &str {
        &self.files[id.0 as usize].name
    }

    /// The full text of a source.
    pub fn text(&self, id: SourceId) -> &str {
        &self.files[id.0 as usize].text
    }

    /// All sources in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &str, &str)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(i as u32), f.name.as_str(), &*f.text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: u32) -> (usize, usize) {
        let file = &self.files[id.0 as usize];
        let offset = (offset as usize).min(file.text.len());
        let line_starts = file.line_starts();
        let line = line_starts.partition_point(|&start| start as usize <= offset);
        let line_start = line_starts[line - 1] as usize;
        let column = file
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |s| s.chars().count())
            + 1;
        (line, column)
    }

    /// `name:line:col` of the start of a span.
    pub fn location(&self, span: Span) -> String {
        let (line, column) = self.line_col(span.source, span.start);
        format!("{}:{}:{}", self.name(span.source), line, column)
    }

    /// The text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        let text = self.text(span.source);
        text.get(span.range()).unwrap_or("")
    }
}

/// How bad a diagnostic is. Errors stop evaluation; warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Input is wrong; no result is computed from it.
    Error,
    /// Input is suspicious but usable.
    Warning,
}

/// A span with a message, shown underlined in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is wrong there (may be empty).
    pub message: String,
}

/// One problem in user input: a stable code, a message, the place it happened, related
/// places and advice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code such as `E0102`; listed in the README.
    pub code: &'static str,
    /// One-line summary.
    pub message: String,
    /// The main place, underlined with `^`; `None` for problems with no place in a text
    /// (an unreadable file).
    pub primary: Option<Label>,
    /// Related places ("first declared here").
    pub secondary: Vec<Label>,
    /// Extra facts ("the cycle is: a -> b -> a").
    pub notes: Vec<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a code, a message and a primary place.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: Some(Label {
                span,
                message: String::new(),
            }),
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// An error that points at no text (for example a file that cannot be read).
    pub fn error_unplaced(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// A warning with a code, a message and a primary place.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    /// Sets the message under the primary underline.
    pub fn with_label(mut self, message: impl Into<String>) -> Diagnostic {
        if let Some(primary) = &mut self.primary {
            primary.message = message.into();
        }
        self
    }

    /// Adds a related place.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the advice.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Whether this diagnostic stops evaluation.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{kind}[{}]: {}", self.code, self.message)
    }
}

/// Suggests the candidate closest to `name`, if one is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let score = strsim::jaro_winkler(name, candidate);
        let better = match best {
            None => true,
            Some((s, c)) => score > s || (score == s && candidate < c),
        };
        if score >= 0.8 && better {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let mut sources = Sources::default();
        let id = sources.add("a.rules", "ab\nçd ef\n");
        assert_eq!(sources.line_col(id, 0), (1, 1));
        assert_eq!(sources.line_col(id, 3), (2, 1));
        // `ç` is two bytes: byte 6 is the third character of line 2.
        assert_eq!(sources.line_col(id, 6), (2, 3));
        assert_eq!(sources.location(Span::new(id, 7, 9)), "a.rules:2:4");
    }

    #[test]
    fn suggest_finds_close_names_only() {
        let names = ["conducted_by", "claims", "trusted"];
        assert_eq!(suggest("conductd_by", names), Some("conducted_by"));
        assert_eq!(suggest("zzz", names), None);
    }
}
