//! JSON parsed into a tree that keeps the byte span of every value.
//!
//! serde_json reports where a syntax error is, but not where a well-formed value is, and
//! fact diagnostics must underline the exact argument or property at fault. This parser
//! accepts exactly RFC 8259 JSON (the same documents serde_json accepts, which a test
//! checks) and borrows from the text: strings and numbers stay as slices of the input and
//! are decoded on demand, so a 26 MB ATT&CK bundle parses without copying its descriptions.

use std::borrow::Cow;

/// Deepest nesting of arrays and objects accepted (serde_json's limit too); deeper input
/// is a syntax error rather than a stack overflow.
const MAX_DEPTH: usize = 128;

/// A JSON value with the byte range it occupies: `start..end`, 0-based, `end` exclusive.
#[derive(Clone, Debug)]
pub(crate) struct Json<'a> {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) node: Node<'a>,
}

/// The value itself.
#[derive(Clone, Debug)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    /// The number as written; valid JSON number syntax.
    Number(&'a str),
    String(Str<'a>),
    Array(Vec<Json<'a>>),
    /// Members in document order; repeated keys are kept.
    Object(Vec<(Str<'a>, Json<'a>)>),
}

/// A string as written between its quotes; escapes are checked but not yet decoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Str<'a> {
    raw: &'a str,
    /// Byte offset of the opening quote.
    start: usize,
    escaped: bool,
}

impl<'a> Str<'a> {
    /// The string's value, borrowed when it has no escapes.
    pub(crate) fn decode(&self) -> Cow<'a, str> {
        if self.escaped {
            Cow::Owned(unescape(self.raw))
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// Whether the string's value is `text`.
    pub(crate) fn is(&self, text: &str) -> bool {
        if self.escaped {
            unescape(self.raw) == text
        } else {
            self.raw == text
        }
    }

    /// Byte range of the string including its quotes.
    pub(crate) fn range(&self) -> (usize, usize) {
        (self.start, self.start + self.raw.len() + 2)
    }
}

impl<'a> Json<'a> {
    /// The first member named `key`, for objects.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match &self.node {
            Node::Object(members) => members
                .iter()
                .find(|(name, _)| name.is(key))
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// The string, for strings.
    pub(crate) fn as_str(&self) -> Option<&Str<'a>> {
        match &self.node {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, for arrays.
    pub(crate) fn as_array(&self) -> Option<&[Json<'a>]> {
        match &self.node {
            Node::Array(elements) => Some(elements),
            _ => None,
        }
    }

    /// The members, for objects.
    pub(crate) fn as_object(&self) -> Option<&[(Str<'a>, Json<'a>)]> {
        match &self.node {
            Node::Object(members) => Some(members),
            _ => None,
        }
    }

    /// Whether this is `true`.
    pub(crate) fn is_true(&self) -> bool {
        matches!(self.node, Node::Bool(true))
    }

    /// "a string", "an array", ... for messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self.node {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::String(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }
}

/// Why a text is not JSON: a message and the byte range it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Parses a whole text as one JSON value (surrounding whitespace and a leading UTF-8
/// byte-order mark allowed).
pub(crate) fn parse(text: &str) -> Result<Json<'_>, SyntaxError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    if text.starts_with('\u{feff}') {
        parser.pos = 3;
    }
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.unexpected("the end of the document"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// An error at the current position: "expected X, found Y".
    fn unexpected(&self, expected: &str) -> SyntaxError {
        match self
            .text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            Some(c) => SyntaxError {
                message: if c.is_control() || c == '\u{feff}' {
                    format!("expected {expected}, found `{}`", c.escape_debug())
                } else {
                    format!("expected {expected}, found `{c}`")
                },
                start: self.pos,
                end: self.pos + c.len_utf8(),
            },
            None => SyntaxError {
                message: format!("expected {expected}, found the end of the file"),
                start: self.pos,
                end: self.pos,
            },
        }
    }

    fn error(&self, message: &str, start: usize, end: usize) -> SyntaxError {
        SyntaxError {
            message: message.to_owned(),
            start,
            end,
        }
    }

    fn value(&mut self) -> Result<Json<'a>, SyntaxError> {
        self.skip_whitespace();
        let start = self.pos;
        let node = match self.bytes.get(self.pos) {
            Some(b'{') => self.nested(Parser::object)?,
            Some(b'[') => self.nested(Parser::array)?,
            Some(b'"') => Node::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Node::Number(self.number()?),
            Some(b't') => self.literal("true", Node::Bool(true))?,
            Some(b'f') => self.literal("false", Node::Bool(false))?,
            Some(b'n') => self.literal("null", Node::Null)?,
            _ => return Err(self.unexpected("a value")),
        };
        Ok(Json {
            start,
            end: self.pos,
            node,
        })
    }

    fn nested(
        &mut self,
        parse: fn(&mut Parser<'a>) -> Result<Node<'a>, SyntaxError>,
    ) -> Result<Node<'a>, SyntaxError> {
        if self.depth == MAX_DEPTH {
            let message = format!("arrays and objects are nested more than {MAX_DEPTH} deep");
            return Err(self.error(&message, self.pos, self.pos + 1));
        }
        self.depth += 1;
        let node = parse(self)?;
        self.depth -= 1;
        Ok(node)
    }

    fn literal(&mut self, word: &str, node: Node<'a>) -> Result<Node<'a>, SyntaxError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(node)
        } else {
            Err(self.unexpected("a value"))
        }
    }

    /// At `[`.
    fn array(&mut self) -> Result<Node<'a>, SyntaxError> {
        self.pos += 1;
        let mut elements = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Node::Array(elements));
        }
        loop {
            elements.push(self.value()?);
            self.skip_whitespace();
            match self.bytes.get(self.pos) {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                    if self.bytes.get(self.pos) == Some(&b']') {
                        return Err(self.error(
                            "trailing comma before `]`",
                            self.pos - 1,
                            self.pos,
                        ));
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array(elements));
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    /// At `{`.
    fn object(&mut self) -> Result<Node<'a>, SyntaxError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Node::Object(members));
        }
        loop {
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.unexpected("a string key"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.unexpected("`:`"));
            }
            self.pos += 1;
            let value = self.value()?;
            members.push((key, value));
            self.skip_whitespace();
            match self.bytes.get(self.pos) {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                    if self.bytes.get(self.pos) == Some(&b'}') {
                        return Err(self.error(
                            "trailing comma before `}`",
                            self.pos - 1,
                            self.pos,
                        ));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Object(members));
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    /// At `"`: checks the string and its escapes and returns it undecoded.
    fn string(&mut self) -> Result<Str<'a>, SyntaxError> {
        let start = self.pos;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            // The common case: plain characters, scanned without per-byte branching on
            // escapes.
            while let Some(&b) = self.bytes.get(i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                i += 1;
            }
            match self.bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i = self.escape(i)?;
                }
                Some(_) => {
                    return Err(self.error(
                        "control character in a string; write it as an escape such as `\\n`",
                        i,
                        i + 1,
                    ))
                }
                None => return Err(self.error("string is never closed", start, start + 1)),
            }
        }
        self.pos = i + 1;
        Ok(Str {
            raw: &self.text[start + 1..i],
            start,
            escaped,
        })
    }

    /// Checks the escape starting at the backslash at `i`; returns the offset after it.
    fn escape(&self, i: usize) -> Result<usize, SyntaxError> {
        match self.bytes.get(i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
            Some(b'u') => {
                let unit = self.hex4(i)?;
                if (0xDC00..0xE000).contains(&unit) {
                    return Err(self.error("lone trailing surrogate in `\\u` escape", i, i + 6));
                }
                if !(0xD800..0xDC00).contains(&unit) {
                    return Ok(i + 6);
                }
                // A leading surrogate must be followed by an escaped trailing one.
                let low = if self.bytes.get(i + 6..i + 8) == Some(b"\\u") {
                    Some(self.hex4(i + 6)?)
                } else {
                    None
                };
                match low {
                    Some(low) if (0xDC00..0xE000).contains(&low) => Ok(i + 12),
                    _ => Err(self.error("lone leading surrogate in `\\u` escape", i, i + 6)),
                }
            }
            _ => {
                let end = self.text[i + 1..]
                    .chars()
                    .next()
                    .map_or(i + 1, |c| i + 1 + c.len_utf8());
                Err(self.error("invalid escape", i, end))
            }
        }
    }

    /// The four hex digits of the `\u` escape whose backslash is at `i`.
    fn hex4(&self, i: usize) -> Result<u32, SyntaxError> {
        let digits = self
            .bytes
            .get(i + 2..i + 6)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| self.error("`\\u` must be followed by four hex digits", i, i + 2))?;
        Ok(digits.iter().fold(0, |acc, &d| {
            acc * 16 + (d as char).to_digit(16).unwrap_or(0)
        }))
    }

    /// At `-` or a digit: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<&'a str, SyntaxError> {
        let start = self.pos;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while self.bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        if self.bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match self.bytes.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(self.error("`-` must be followed by a digit", start, i)),
        }
        if self.bytes.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return Err(self.error("expected a digit after the decimal point", start, i));
            }
        }
        if matches!(self.bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(self.bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return Err(self.error("expected a digit in the exponent", start, i));
            }
        }
        self.pos = i;
        Ok(&self.text[start..i])
    }
}

/// Decodes the escapes of a string that [`Parser::string`] accepted.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(backslash) = rest.find('\\') {
        out.push_str(&rest[..backslash]);
        let escape = &rest[backslash + 1..];
        let (c, used) = match escape.as_bytes().first() {
            Some(b'b') => ('\u{8}', 1),
            Some(b'f') => ('\u{c}', 1),
            Some(b'n') => ('\n', 1),
            Some(b'r') => ('\r', 1),
            Some(b't') => ('\t', 1),
            Some(b'u') => {
                let unit = hex(escape.get(1..5));
                if (0xD800..0xDC00).contains(&unit) {
                    let low = hex(escape.get(7..11));
                    let code =
                        0x10000 + ((unit - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                    (char::from_u32(code).unwrap_or('\u{fffd}'), 11)
                } else {
                    (char::from_u32(unit).unwrap_or('\u{fffd}'), 5)
                }
            }
            // `"`, `\` and `/` stand for themselves.
            Some(&other) => (other as char, 1),
            None => break,
        };
        out.push(c);
        rest = escape.get(used..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn hex(digits: Option<&str>) -> u32 {
    digits
        .and_then(|d| u32::from_str_radix(d, 16).ok())
        .unwrap_or(0xFFFD)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Converts to serde_json's tree, to compare the two parsers.
    fn to_serde(json: &Json<'_>) -> serde_json::Value {
        match &json.node {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(*b),
            Node::Number(n) => serde_json::from_str(n).expect("number syntax was checked"),
            Node::String(s) => serde_json::Value::String(s.decode().into_owned()),
            Node::Array(elements) => elements.iter().map(to_serde).collect(),
            Node::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.decode().into_owned(), to_serde(v)))
                    .collect(),
            ),
        }
    }

    /// Both parsers accept or both reject `text`, and agree on the value.
    fn check_agrees(text: &str) {
        let ours = parse(text);
        let theirs = serde_json::from_str::<serde_json::Value>(text);
        assert_eq!(
            ours.is_ok(),
            theirs.is_ok(),
            "{text:?}: {ours:?} vs {theirs:?}"
        );
        if let (Ok(ours), Ok(theirs)) = (&ours, &theirs) {
            assert_eq!(&to_serde(ours), theirs, "{text:?}");
        }
    }

    #[test]
    fn accepts_and_rejects_what_serde_json_does() {
        let cases = [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "12",
            "-12.5e+3",
            "1E2",
            "0.5",
            "\"\"",
            "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
            "\"\\u00e9\\ud83d\\ude00\"",
            "\"é😀\"",
            "[]",
            "[1, [2, [3]]]",
            "{}",
            "{\"a\": {\"b\": [null]}}",
            " \n\t\r[1]\n",
            "{\"a\":1,\"a\":1}",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "[1 2]",
            "{\"a\" 1}",
            "{1: 2}",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\u12\"",
            "\"a\nb\"",
            "\"abc",
            "[",
            "{",
            "",
            "nul",
            "truex",
            "[1] [2]",
            "'a'",
            "NaN",
            "[-]",
            "\"\\",
        ];
        for case in cases {
            check_agrees(case);
        }
        check_agrees(&("[".repeat(100) + &"]".repeat(100)));
        check_agrees(&"[".repeat(100_000));
        // serde_json allows one level less than we do.
        assert!(parse(&("[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH))).is_ok());
        assert!(parse(&("[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1))).is_err());
    }

    #[test]
    fn agrees_with_serde_json_on_the_apt40_bundle() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/attack-apt40-G0065.stix21.json"
        );
        let text = std::fs::read_to_string(path).expect("tests/data holds the sample");
        let ours = parse(&text).expect("the sample bundle is JSON");
        let theirs: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(to_serde(&ours), theirs);
    }

    fn check_span(text: &str, path: &[&str], expected: &str) {
        let document = parse(text).expect("valid JSON");
        let mut value = &document;
        for key in path {
            value = value.get(key).expect("key present");
        }
        assert_eq!(&text[value.start..value.end], expected);
    }

    #[test]
    fn spans_cover_values_exactly() {
        let text = "{\"a\": [1, 2.5e1] , \"b\" :{\"c\":\"x\\ny\"}}";
        check_span(text, &["a"], "[1, 2.5e1]");
        check_span(text, &["b"], "{\"c\":\"x\\ny\"}");
        check_span(text, &["b", "c"], "\"x\\ny\"");
        check_span("\u{feff}[]", &[], "[]");
    }

    fn check_error(text: &str, expected: &str) {
        let error = parse(text).expect_err("invalid JSON");
        let shown = format!("{}..{}: {}", error.start, error.end, error.message);
        assert_eq!(shown, expected, "{text:?}");
    }

    #[test]
    fn errors_point_at_the_offending_bytes() {
        check_error("{\"a\": 1 \"b\"}", "8..9: expected `,` or `}`, found `\"`");
        check_error("[1,]", "2..3: trailing comma before `]`");
        check_error("\"abc", "0..1: string is never closed");
        check_error("[1] x", "4..5: expected the end of the document, found `x`");
        check_error("", "0..0: expected a value, found the end of the file");
        check_error("\"a\\qb\"", "2..4: invalid escape");
        check_error("[é]", "1..3: expected a value, found `é`");
        check_error("01", "1..2: expected the end of the document, found `1`");
    }
}
