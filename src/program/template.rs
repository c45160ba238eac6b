//! Sentence templates (`@explain("...")` on a rule): the text split into literal pieces
//! and placeholders, parsed once when the program is lowered.
//!
//! A placeholder is `{Name}`, a variable of the rule, or one of the [`Extra`] values
//! of the derivation (`{confidence}`, `{likelihood}`); `{{` and `}}` stand for literal
//! braces. Variables start with an upper-case letter or `_` and extras are lower case, so
//! the two never clash. `explain::sentence` fills a template in with the values of one
//! derivation.

use super::VarId;

/// A value of the derivation itself, not of a rule variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    /// `{confidence}`: the derived fact's confidence, three decimals (`0.857`).
    Confidence,
    /// `{likelihood}`: the ICD 203 term of the confidence (`very likely`).
    Likelihood,
}

impl Extra {
    /// Every extra, by the name written between the braces.
    pub const ALL: [(&'static str, Extra); 2] = [
        ("confidence", Extra::Confidence),
        ("likelihood", Extra::Likelihood),
    ];

    /// The extra written `{name}`, if any.
    pub fn from_name(name: &str) -> Option<Extra> {
        Extra::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, extra)| *extra)
    }
}

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text written as is (`{{` and `}}` already turned into single braces).
    Text(String),
    /// The value of a rule variable.
    Var(VarId),
    /// A value of the derivation.
    Extra(Extra),
}

/// A rule's sentence template, its placeholders resolved against the rule's variables:
/// every [`Piece::Var`] names a variable with one value per derivation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The pieces in written order; no two [`Piece::Text`]s in a row.
    pub pieces: Vec<Piece>,
    /// The template as written (after string escapes), for messages.
    pub text: String,
}

/// A piece before names are resolved: text, or a placeholder with the byte range of its
/// name in the template text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawPiece {
    Text(String),
    Placeholder {
        name: String,
        /// 0-based byte range of `{name}`, braces included, in the template text.
        range: std::ops::Range<usize>,
    },
}

/// Why a template's text does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SyntaxError {
    /// A `{` with no `}` after it on the way to the end of the text (or before the next `{`).
    #[error("this `{{` is never closed")]
    Unclosed {
        /// Byte offset of the `{`.
        at: usize,
    },
    /// A `}` that closes nothing and is not doubled.
    #[error("this `}}` closes nothing")]
    UnmatchedClose {
        /// Byte offset of the `}`.
        at: usize,
    },
    /// `{}` or `{ }`: a placeholder without a name.
    #[error("a placeholder needs a name")]
    Empty {
        /// Byte range of the braces.
        range: std::ops::Range<usize>,
    },
}

/// Splits a template's text into literal text and `{name}` placeholders.
pub(crate) fn parse(text: &str) -> Result<Vec<RawPiece>, SyntaxError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                literal.push_str(&text[start..i]);
                literal.push('{');
                i += 2;
                start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                literal.push_str(&text[start..i]);
                literal.push('}');
                i += 2;
                start = i;
            }
            b'}' => return Err(SyntaxError::UnmatchedClose { at: i }),
            b'{' => {
                let close = text[i + 1..]
                    .find(['{', '}'])
                    .map(|offset| i + 1 + offset)
                    .filter(|&close| bytes[close] == b'}')
                    .ok_or(SyntaxError::Unclosed { at: i })?;
                let name = text[i + 1..close].trim();
                if name.is_empty() {
                    return Err(SyntaxError::Empty {
                        range: i..close + 1,
                    });
                }
                literal.push_str(&text[start..i]);
                if !literal.is_empty() {
                    pieces.push(RawPiece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(RawPiece::Placeholder {
                    name: name.to_string(),
                    range: i..close + 1,
                });
                i = close + 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    literal.push_str(&text[start..]);
    if !literal.is_empty() {
        pieces.push(RawPiece::Text(literal));
    }
    Ok(pieces)
}

/// For a string literal as written in the source (quotes and escapes included), the
/// offset in the literal of each byte of the string's value, and one past its end: maps
/// a position in the template text back to the column it was written at.
pub(crate) fn literal_offsets(literal: &str) -> Option<Vec<usize>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut offsets = Vec::with_capacity(inner.len() + 1);
    let mut chars = inner.char_indices();
    while let Some((at, c)) = chars.next() {
        // An escape (`\"`, `\\`, `\n`, `\t`, `\r`) is two bytes written, one in the value.
        if c == '\\' {
            chars.next();
            offsets.push(at + 1);
        } else {
            offsets.extend((0..c.len_utf8()).map(|k| at + 1 + k));
        }
    }
    offsets.push(inner.len() + 1);
    Some(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` and writes the pieces as `"text"` and `{name}@start..end`, or the
    /// error as `error: message @offset`.
    fn check(text: &str, expected: &str) {
        let written = match parse(text) {
            Ok(pieces) => pieces
                .iter()
                .map(|piece| match piece {
                    RawPiece::Text(t) => format!("{t:?}"),
                    RawPiece::Placeholder { name, range } => {
                        format!("{{{name}}}@{}..{}", range.start, range.end)
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            Err(error) => {
                let at = match &error {
                    SyntaxError::Unclosed { at } | SyntaxError::UnmatchedClose { at } => *at,
                    SyntaxError::Empty { range } => range.start,
                };
                format!("error: {error} @{at}")
            }
        };
        assert_eq!(written, expected, "template {text:?}");
    }

    #[test]
    fn placeholders_and_text() {
        check(
            "{G} conducted {I} ({likelihood})",
            r#"{G}@0..3 " conducted " {I}@14..17 " (" {likelihood}@19..31 ")""#,
        );
        check("no placeholder", r#""no placeholder""#);
        check("", "");
        check("{ G }", "{G}@0..5");
        check("{A}{B}", "{A}@0..3 {B}@3..6");
    }

    #[test]
    fn doubled_braces_are_literal() {
        check("{{G}} is {G}", r#""{G} is " {G}@9..12"#);
        check("}}{{", r#""}{""#);
        check("a {{{X}}}", r#""a {" {X}@4..7 "}""#);
    }

    #[test]
    fn malformed_placeholders() {
        check("{G conducted", "error: this `{` is never closed @0");
        check("{G} and {I", "error: this `{` is never closed @8");
        check("{G {I}", "error: this `{` is never closed @0");
        check("G} conducted", "error: this `}` closes nothing @1");
        check("a {} b", "error: a placeholder needs a name @2");
        check("a { } b", "error: a placeholder needs a name @2");
    }

    #[test]
    fn offsets_map_back_through_escapes() {
        assert_eq!(literal_offsets(r#""a{""#), Some(vec![1, 2, 3]));
        assert_eq!(literal_offsets(r#""\"{X}""#), Some(vec![1, 3, 4, 5, 6]));
        assert_eq!(literal_offsets("\"é{\""), Some(vec![1, 2, 3, 4]));
        assert_eq!(literal_offsets("no quotes"), None);
    }
}
