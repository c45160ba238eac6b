//! TSV and CSV fact files: one file per relation, one row per fact, one column per argument.
//!
//! The relation is named by the file's name without its extension (`claims.tsv` holds
//! `claims` facts), which must be a lower-case identifier `[a-z][A-Za-z0-9_]*`. There is no
//! header row. Empty lines, lines of only spaces and tabs, and lines starting with `#` are
//! skipped; a leading UTF-8 byte-order mark is ignored; `\r\n` line ends are accepted.
//!
//! - TSV: fields are separated by tabs; no quoting, no trimming. A backslash starts an
//!   escape: `\\` is a backslash, `\t` a tab, `\n` a line feed, `\r` a carriage return,
//!   `\#` a `#` (so that a field may start with one on the first column); these are
//!   what `run --output` writes, so every text value loads back as itself. A backslash
//!   before anything else is kept as written, with a warning (`W0320`).
//! - CSV: RFC 4180 as read by the `csv` crate: fields separated by commas, optionally
//!   quoted with `"` (a quoted field may hold commas, newlines and `""` for a quote); not
//!   trimmed. Spans point at the field as written, quotes included.
//!
//! Each field becomes a value of its column's declared kind when the schema declares one
//! (`int`, `float`, `date` as `YYYY-MM-DD`, text), and a field that does not parse as that
//! kind is an error (`E0304`). Undeclared columns are inferred per field: integer, then
//! float, then date, else text; `inf` and `NaN` stay text. Every row must have as many
//! fields as the declaration, or (undeclared) as the first row; other rows are errors
//! (`E0305`), never silently dropped. A row with any error yields no fact.

use std::borrow::Cow;
use std::path::Path;

use super::{describe_field, parse_field, relation_name_like, Collector, FactError};
use super::{InputFact, KindMismatch, Loaded, Schema};
use crate::diagnostic::{SourceId, Span};
use crate::value::{Kind, Value};

/// What separates fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimiter {
    /// TSV: tab, no quoting.
    Tab,
    /// CSV: comma, RFC 4180 quoting.
    Comma,
}

/// The relation a TSV or CSV file holds: its name without the extension, which must be a
/// relation name.
pub fn relation_of(path: &Path) -> Result<String, FactError> {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    match stem {
        Some(stem) if super::is_relation_name(&stem) => Ok(stem),
        stem => {
            let stem = stem.unwrap_or_default();
            let file_name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let extension = path
                .extension()
                .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
            Err(FactError::BadFileName {
                file_name,
                suggestion: format!("{}{extension}", relation_name_like(&stem)),
            })
        }
    }
}

/// The rows of one TSV or CSV file, stored compactly: the values of all rows in one
/// `Vec`, and each row's byte range in the file's text. A row's argument spans are not
/// stored; [`FactTable::arg_spans`] finds them again in the text when a diagnostic needs
/// them. Every row has [`FactTable::arity`] values and passed the loader's checks; a
/// table has at least one row.
#[derive(Clone, Debug)]
pub struct FactTable {
    relation: String,
    source: SourceId,
    delimiter: Delimiter,
    arity: usize,
    /// The values, row after row, `arity` per row.
    values: Vec<Value>,
    /// Byte range of each row in the text (line end excluded).
    rows: Vec<(u32, u32)>,
    /// How many facts of the [`Loaded::facts`] holding this table were loaded before it.
    pub(super) position: usize,
}

impl FactTable {
    /// The relation the rows belong to.
    pub fn relation(&self) -> &str {
        &self.relation
    }

    /// The registered text the rows were read from.
    pub fn source(&self) -> SourceId {
        self.source
    }

    /// Number of values per row.
    pub fn arity(&self) -> usize {
        self.arity
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many facts of the [`Loaded::facts`] holding this table were loaded before the
    /// table's file: its rows come after them in load order.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The values of row `row`, in column order.
    pub fn values(&self, row: usize) -> &[Value] {
        &self.values[row * self.arity..(row + 1) * self.arity]
    }

    /// The span of row `row` (the line, or the CSV record, without its line end).
    pub fn span(&self, row: usize) -> Span {
        let (start, end) = self.rows[row];
        Span::new(self.source, start as usize, end as usize)
    }

    /// The span of each value of row `row`, found again in `text`, the table's
    /// registered source text: the same spans the loader saw.
    pub fn arg_spans(&self, text: &str, row: usize) -> Vec<Span> {
        let (start, end) = self.rows[row];
        let (start, end) = (start as usize, end as usize);
        let mut spans = Vec::with_capacity(self.arity);
        match self.delimiter {
            Delimiter::Tab => {
                let mut field_start = start;
                for field in text[start..end].split('\t') {
                    spans.push((field_start, field_start + field.len()));
                    field_start += field.len() + 1;
                }
            }
            Delimiter::Comma => {
                scan_fields(text.as_bytes(), start, &mut spans);
            }
        }
        if spans.len() != self.arity {
            // As when loading: a record the scan splits otherwise than the reader has
            // every field pointing at the whole record.
            spans.clear();
            spans.resize(self.arity, (start, end));
        }
        spans
            .into_iter()
            .map(|(s, e)| Span::new(self.source, s, e))
            .collect()
    }

    /// The rows as [`InputFact`]s, argument spans included; `text` is the table's
    /// registered source text.
    pub fn to_input_facts(&self, text: &str) -> Vec<InputFact> {
        (0..self.len())
            .map(|row| InputFact {
                relation: self.relation.clone(),
                args: self.values(row).to_vec(),
                arg_spans: self.arg_spans(text, row),
                span: self.span(row),
                confidence: None,
                source: None,
                since: None,
                until: None,
            })
            .collect()
    }
}

/// Parses the rows of `relation` from `text`, registered as `source`, into
/// [`InputFact`]s (see [`parse_table`] for the compact form [`super::load`] uses).
pub fn parse(
    text: &str,
    source: SourceId,
    relation: &str,
    delimiter: Delimiter,
    schema: &dyn Schema,
) -> Loaded {
    let mut loaded = parse_table(text, source, relation, delimiter, schema);
    for table in std::mem::take(&mut loaded.tables) {
        loaded.facts.extend(table.to_input_facts(text));
    }
    loaded
}

/// Parses the rows of `relation` from `text`, registered as `source`, into one
/// [`FactTable`] in [`Loaded::tables`] (none when no row loaded).
pub fn parse_table(
    text: &str,
    source: SourceId,
    relation: &str,
    delimiter: Delimiter,
    schema: &dyn Schema,
) -> Loaded {
    let columns = schema.columns(relation);
    let mut rows = Rows {
        relation,
        source,
        arity: columns.as_ref().map(|c| (c.len(), None)),
        columns,
        values: Vec::new(),
        rows: Vec::new(),
        mismatches: Vec::new(),
        diagnostics: Collector::new(),
    };
    match delimiter {
        Delimiter::Tab => parse_tsv(text, &mut rows),
        Delimiter::Comma => parse_csv(text, &mut rows),
    }
    let mut tables = Vec::new();
    if let (false, Some((arity, _))) = (rows.rows.is_empty(), rows.arity) {
        rows.values.shrink_to_fit();
        rows.rows.shrink_to_fit();
        tables.push(FactTable {
            relation: relation.to_owned(),
            source,
            delimiter,
            arity,
            values: rows.values,
            rows: rows.rows,
            position: 0,
        });
    }
    Loaded {
        facts: Vec::new(),
        tables,
        rule_files: Vec::new(),
        diagnostics: rows.diagnostics.finish(),
    }
}

/// Byte length of a leading UTF-8 byte-order mark.
fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    }
}

/// Whether a line (without its line end) holds no row.
fn is_skipped(line: &str) -> bool {
    match line.as_bytes().first() {
        None | Some(b'#') => true,
        Some(b' ' | b'\t') => line.bytes().all(|b| b == b' ' || b == b'\t'),
        Some(_) => false,
    }
}

fn parse_tsv(text: &str, rows: &mut Rows<'_>) {
    let bytes = text.as_bytes();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    rows.rows.reserve(lines);
    rows.values
        .reserve(lines * rows.arity.map_or(2, |(arity, _)| arity));
    let mut pos = bom_len(text);
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let end = if line_end > pos && bytes[line_end - 1] == b'\r' {
            line_end - 1
        } else {
            line_end
        };
        let line = &text[pos..end];
        if !is_skipped(line) {
            let mut field_start = pos;
            let mut unknown = Vec::new();
            let escaped = line.contains('\\');
            rows.row(
                pos,
                end,
                line.split('\t').map(|field| {
                    let start = field_start;
                    field_start += field.len() + 1;
                    let value = if escaped {
                        unescape(field, start, &mut unknown)
                    } else {
                        Cow::Borrowed(field)
                    };
                    (value, start, start + field.len())
                }),
            );
            for (at, escaped) in unknown {
                let len = 1 + escaped.len();
                rows.diagnostics.push(
                    FactError::UnknownEscape {
                        escaped,
                        span: Span::new(rows.source, at, at + len),
                    }
                    .into(),
                );
            }
        }
        pos = line_end + 1;
    }
}

/// A TSV field with its escapes read: `\\`, `\t`, `\n`, `\r`, `\#` (what `--output`
/// writes). A backslash before anything else is kept as written, and its byte offset
/// (the field starts at `start`) and what follows it are added to `unknown`.
fn unescape<'f>(field: &'f str, start: usize, unknown: &mut Vec<(usize, String)>) -> Cow<'f, str> {
    if !field.contains('\\') {
        return Cow::Borrowed(field);
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some((_, next @ ('\\' | 't' | 'n' | 'r' | '#'))) => {
                chars.next();
                out.push(match next {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    other => other,
                });
            }
            other => {
                out.push('\\');
                unknown.push((
                    start + i,
                    other.map(|(_, c)| c.to_string()).unwrap_or_default(),
                ));
            }
        }
    }
    Cow::Owned(out)
}

fn parse_csv(text: &str, rows: &mut Rows<'_>) {
    let offset = bom_len(text);
    let body = &text[offset..];
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(body.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut spans = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let at = error
                    .position()
                    .map_or(text.len(), |p| offset + p.byte() as usize)
                    .min(text.len());
                rows.diagnostics.push(
                    FactError::Csv {
                        message: error.to_string(),
                        span: Span::new(rows.source, at, at),
                    }
                    .into(),
                );
                break;
            }
        }
        let start = record
            .position()
            .map_or(0, |p| p.byte() as usize)
            .min(body.len());
        let start = field_spans(body.as_bytes(), start, &mut spans);
        let end = spans.last().map_or(start, |&(_, end)| end);
        if spans.len() != record.len() {
            // The scan disagrees with the reader (never seen; the two follow the same
            // grammar): point every field at the whole record rather than guess.
            spans.clear();
            spans.resize(record.len(), (start, end));
        }
        // A quote that is never closed makes the rest of the file one field: report
        // where it opens rather than load that.
        if let Some(&(quote, _)) = spans
            .iter()
            .find(|&&(s, _)| is_unclosed_quote(body.as_bytes(), s))
        {
            rows.diagnostics.push(
                FactError::UnclosedQuote {
                    span: Span::new(rows.source, offset + quote, offset + quote + 1),
                }
                .into(),
            );
            break;
        }
        // The reader already skips empty and comment lines; a line of blanks is a
        // one-field record to it. Judge the line as written, so `"#"` and `""` stay rows.
        if record.len() == 1 && is_skipped(&body[start..end]) {
            continue;
        }
        rows.row(
            offset + start,
            offset + end,
            record
                .iter()
                .zip(&spans)
                .map(|(field, &(s, e))| (Cow::Borrowed(field), offset + s, offset + e)),
        );
    }
}

/// Finds the byte range of each field, quotes included, of the CSV record the reader
/// reported at `position`, and returns where the record starts.
fn field_spans(bytes: &[u8], position: usize, spans: &mut Vec<(usize, usize)>) -> usize {
    spans.clear();
    let mut pos = position;
    // The reader reports a record's position before the line ends, empty lines and
    // comment lines it skipped to reach it.
    loop {
        match bytes.get(pos) {
            Some(b'\r' | b'\n') => pos += 1,
            Some(b'#') => {
                while !matches!(bytes.get(pos), None | Some(b'\n')) {
                    pos += 1;
                }
            }
            _ => break,
        }
    }
    scan_fields(bytes, pos, spans);
    pos
}

/// Whether the field at `start` opens a quote that no later quote closes.
fn is_unclosed_quote(bytes: &[u8], start: usize) -> bool {
    if bytes.get(start) != Some(&b'"') {
        return false;
    }
    let mut pos = start + 1;
    while pos < bytes.len() {
        if bytes[pos] == b'"' {
            if bytes.get(pos + 1) == Some(&b'"') {
                pos += 2;
                continue;
            }
            return false;
        }
        pos += 1;
    }
    true
}

/// Appends the byte range of each field, quotes included, of the CSV record starting
/// at `start`.
fn scan_fields(bytes: &[u8], start: usize, spans: &mut Vec<(usize, usize)>) {
    let mut pos = start;
    loop {
        let field_start = pos;
        if bytes.get(pos) == Some(&b'"') {
            pos += 1;
            while pos < bytes.len() {
                if bytes[pos] == b'"' {
                    if bytes.get(pos + 1) == Some(&b'"') {
                        pos += 2;
                        continue;
                    }
                    pos += 1;
                    break;
                }
                pos += 1;
            }
        }
        while pos < bytes.len() && !matches!(bytes[pos], b',' | b'\r' | b'\n') {
            pos += 1;
        }
        spans.push((field_start, pos));
        if bytes.get(pos) == Some(&b',') {
            pos += 1;
        } else {
            return;
        }
    }
}

/// Turns rows of fields into the values of a [`FactTable`], checking kinds and row
/// lengths.
struct Rows<'a> {
    relation: &'a str,
    source: SourceId,
    columns: Option<Vec<Option<Kind>>>,
    /// Number of values each row must have, and the first row's span when that row (not
    /// a declaration) set it; `None` until the first row.
    arity: Option<(usize, Option<Span>)>,
    /// The values of the rows kept, row after row.
    values: Vec<Value>,
    /// Byte range of each row kept.
    rows: Vec<(u32, u32)>,
    /// Fields of the current row that do not parse as their column's kind: column,
    /// span and what is wrong (kept between rows only to reuse the allocation).
    mismatches: Vec<(usize, Span, KindMismatch)>,
    diagnostics: Collector,
}

impl Rows<'_> {
    /// Adds the row at `start..end` made of `(field, start, end)` triples.
    fn row<'f>(
        &mut self,
        start: usize,
        end: usize,
        fields: impl Iterator<Item = (Cow<'f, str>, usize, usize)>,
    ) {
        let row_start = self.values.len();
        let mut big = Vec::new();
        let mut found = 0;
        let mut described = Vec::new();
        for (column, (field, field_start, field_end)) in fields.enumerate() {
            let kind = self
                .columns
                .as_ref()
                .and_then(|columns| columns.get(column).copied().flatten());
            match parse_field(&field, kind) {
                Ok(value) => {
                    if kind.is_none()
                        && matches!(value, Value::Text(_))
                        && super::is_integer_text(&field)
                    {
                        big.push((field_start, field_end, field.to_string()));
                    }
                    self.values.push(value)
                }
                Err(mismatch) => {
                    let span = Span::new(self.source, field_start, field_end);
                    self.mismatches.push((column, span, mismatch));
                    described.push(describe_field(&field));
                }
            }
            found += 1;
        }
        for (field_start, field_end, text) in big {
            self.diagnostics.push(
                FactError::BigInteger {
                    text,
                    span: Span::new(self.source, field_start, field_end),
                }
                .into(),
            );
        }
        let span = Span::new(self.source, start, end);
        let (expected, first) = *self.arity.get_or_insert((found, Some(span)));
        if found != expected || !self.mismatches.is_empty() {
            self.values.truncate(row_start);
        }
        if found != expected {
            self.mismatches.clear();
            self.diagnostics.push(
                FactError::WrongArity {
                    relation: self.relation.to_owned(),
                    expected,
                    found,
                    span,
                    first,
                }
                .into(),
            );
            return;
        }
        if !self.mismatches.is_empty() {
            let mismatches = std::mem::take(&mut self.mismatches);
            for ((column, span, mismatch), found) in mismatches.into_iter().zip(described) {
                self.diagnostics.push(
                    FactError::WrongKind {
                        relation: self.relation.to_owned(),
                        column: column + 1,
                        // Only declared kinds can mismatch.
                        expected: self
                            .columns
                            .as_ref()
                            .and_then(|columns| columns.get(column).copied().flatten())
                            .unwrap_or(Kind::Text),
                        found,
                        problem: mismatch.label,
                        note: mismatch.note,
                        span,
                    }
                    .into(),
                );
            }
            return;
        }
        self.rows.push((start as u32, end as u32));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::schema;
    use super::super::{render, NoSchema};
    use super::*;
    use crate::diagnostic::Sources;

    /// Parses `text` as the file `name` (relation from its stem, format from its
    /// extension) and compares the rendered facts and diagnostics.
    fn check(name: &str, text: &str, declared: &[(&str, &[Option<Kind>])], expected: &str) {
        let mut sources = Sources::default();
        let path = Path::new(name);
        let loaded = match relation_of(path) {
            Err(error) => Loaded {
                diagnostics: vec![error.into()],
                ..Loaded::default()
            },
            Ok(relation) => {
                let source = sources.add(name, text);
                let delimiter = if name.ends_with(".csv") {
                    Delimiter::Comma
                } else {
                    Delimiter::Tab
                };
                if declared.is_empty() {
                    parse(text, source, &relation, delimiter, &NoSchema)
                } else {
                    parse(text, source, &relation, delimiter, &schema(declared))
                }
            }
        };
        assert_eq!(render(&loaded, &sources).trim_end(), expected.trim());
    }

    #[test]
    fn tsv_rows_become_facts_with_inferred_kinds() {
        check(
            "edge.tsv",
            "# from\tto\n1\t2\n\n  \r\n2\tT1190\r\n-3\t2021-08-01\n0.5\t\n",
            &[],
            r#"
edge.tsv:2:1 edge(1, 2)
edge.tsv:5:1 edge(2, "T1190")
edge.tsv:6:1 edge(-3, 2021-08-01)
edge.tsv:7:1 edge(0.5, "")
"#,
        );
    }

    #[test]
    fn tsv_spans_point_at_fields() {
        let mut sources = Sources::default();
        let text = "\u{feff}ab\tcd\r\nx\t12\n";
        let source = sources.add("r.tsv", text);
        let loaded = parse(text, source, "r", Delimiter::Tab, &NoSchema);
        let snippets: Vec<Vec<&str>> = loaded
            .facts
            .iter()
            .map(|f| f.arg_spans.iter().map(|&s| sources.snippet(s)).collect())
            .collect();
        assert_eq!(snippets, [["ab", "cd"], ["x", "12"]]);
        assert_eq!(sources.snippet(loaded.facts[0].span), "ab\tcd");
        assert_eq!(sources.location(loaded.facts[1].arg_spans[1]), "r.tsv:2:3");
    }

    #[test]
    fn declared_kinds_parse_and_mismatches_are_errors() {
        use Kind::*;
        check(
            "seen.tsv",
            "apt40\t2021-08-01\t3\t1\nAPT41\t2021-02-30\tmany\t2.5\n99\t2021-8-1\t99999999999999999999\t2\n",
            &[("seen", &[Some(Text), Some(Date), Some(Int), Some(Float)])],
            r#"
seen.tsv:1:1 seen(apt40, 2021-08-01, 3, 1.0)
error[E0304]: expected date in column 2 of `seen`, found text `2021-02-30` seen.tsv:2:7
  label: not a date
  note: that day does not exist
  help: write a date as YYYY-MM-DD such as `2021-08-01` (in JSON, a string), or change the declaration of `seen`
error[E0304]: expected int in column 3 of `seen`, found text `many` seen.tsv:2:18
  label: not an integer
  help: write a whole number such as `42`, or change the declaration of `seen`
error[E0304]: expected date in column 2 of `seen`, found text `2021-8-1` seen.tsv:3:4
  label: not a date
  help: write a date as YYYY-MM-DD such as `2021-08-01` (in JSON, a string), or change the declaration of `seen`
error[E0304]: expected int in column 3 of `seen`, found an integer `99999999999999999999` seen.tsv:3:13
  label: does not fit in a 64-bit integer
  note: integers range from -9223372036854775808 to 9223372036854775807
  help: write a whole number such as `42`, or change the declaration of `seen`
"#,
        );
    }

    #[test]
    fn any_columns_are_inferred() {
        check(
            "p.tsv",
            "1\t1\n",
            &[("p", &[None, Some(Kind::Text)])],
            "p.tsv:1:1 p(1, \"1\")",
        );
    }

    #[test]
    fn ragged_rows_are_errors() {
        check(
            "edge.tsv",
            "1\t2\n3\n4\t5\t6\n7\t8\n",
            &[],
            r#"
edge.tsv:1:1 edge(1, 2)
edge.tsv:4:1 edge(7, 8)
error[E0305]: `edge` expects 2 values, found 1 edge.tsv:2:1
  label: expected 2 values, as in the first row
  see edge.tsv:1:1: the first row sets the number of values
  help: give every row of `edge` the same number of values
error[E0305]: `edge` expects 2 values, found 3 edge.tsv:3:1
  label: expected 2 values, as in the first row
  see edge.tsv:1:1: the first row sets the number of values
  help: give every row of `edge` the same number of values
"#,
        );
        check(
            "edge.tsv",
            "1\t2\n",
            &[("edge", &[Some(Kind::Int), Some(Kind::Int), None])],
            r#"
error[E0305]: `edge` expects 3 values, found 2 edge.tsv:1:1
  label: expected 3 values
  note: `edge` is declared with 3 columns
  help: add or remove values, or change the declaration
"#,
        );
    }

    #[test]
    fn bad_file_names_are_errors_with_a_rename() {
        let note = "  note: a TSV or CSV file's name, without the extension, names the relation its rows belong to; relation names match [a-z][A-Za-z0-9_]*";
        check(
            "dir/Conducted-By.tsv",
            "1\n",
            &[],
            &format!("error[E0303]: fact file name `Conducted-By.tsv` is not a relation name\n{note}\n  help: rename the file to `conducted_by.tsv`"),
        );
        check(
            "2021.csv",
            "1\n",
            &[],
            &format!("error[E0303]: fact file name `2021.csv` is not a relation name\n{note}\n  help: rename the file to `r_2021.csv`"),
        );
    }

    #[test]
    fn csv_quoting_follows_rfc_4180_and_spans_include_quotes() {
        check(
            "claims.csv",
            "# source,claim\ngcsb,\"conducted_by, officially\"\n\n\"multi\nline\",\"say \"\"hi\"\"\"\r\nplain,2021-08-01\n \t \n\"#\",\"\"\n",
            &[],
            r##"
claims.csv:2:1 claims(gcsb, "conducted_by, officially")
claims.csv:4:1 claims("multi\nline", "say \"hi\"")
claims.csv:6:1 claims(plain, 2021-08-01)
claims.csv:8:1 claims("#", "")
"##,
        );
        let mut sources = Sources::default();
        let text = "\u{feff}a,\"b,c\",\"\"\n";
        let source = sources.add("r.csv", text);
        let loaded = parse(text, source, "r", Delimiter::Comma, &NoSchema);
        let snippets: Vec<&str> = loaded.facts[0]
            .arg_spans
            .iter()
            .map(|&s| sources.snippet(s))
            .collect();
        assert_eq!(snippets, ["a", "\"b,c\"", "\"\""]);
        // The byte-order mark is a character of line 1 as far as columns go.
        assert_eq!(sources.location(loaded.facts[0].arg_spans[1]), "r.csv:1:4");
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        check(
            "n.csv",
            "1,2\n3,x\n4\n",
            &[("n", &[Some(Kind::Int), Some(Kind::Int)])],
            r#"
n.csv:1:1 n(1, 2)
error[E0304]: expected int in column 2 of `n`, found text `x` n.csv:2:3
  label: not an integer
  help: write a whole number such as `42`, or change the declaration of `n`
error[E0305]: `n` expects 2 values, found 1 n.csv:3:1
  label: expected 2 values
  note: `n` is declared with 2 columns
  help: add or remove values, or change the declaration
"#,
        );
    }

    #[test]
    fn tsv_escapes_are_read_and_other_backslashes_kept_with_a_warning() {
        // What `--output` writes for a tab, `\t`, a line feed, a carriage return, a
        // backslash and a leading `#`: each reads back as itself.
        check(
            "said.tsv",
            "tab\\there\ttab\\\\there\n\\#first\ttwo\\nlines\\r\n\\\\\tends\\\\\n",
            &[],
            r##"
said.tsv:1:1 said("tab\there", "tab\\there")
said.tsv:2:1 said("#first", "two\nlines\r")
said.tsv:3:1 said("\\", "ends\\")
"##,
        );
        check(
            "path.tsv",
            "C:\\dir\tx\\\n",
            &[],
            r#"
path.tsv:1:1 path("C:\\dir", "x\\")
warning[W0320]: `\d` in a TSV field is not an escape; the backslash is kept as written path.tsv:1:3
  label: not an escape
  note: TSV fields read `\\`, `\t`, `\n`, `\r` and `\#` as a backslash, tab, line feed, carriage return and `#`
  help: write `\\` for a backslash
warning[W0320]: `\` in a TSV field is not an escape; the backslash is kept as written path.tsv:1:9
  label: not an escape
  note: TSV fields read `\\`, `\t`, `\n`, `\r` and `\#` as a backslash, tab, line feed, carriage return and `#`
  help: write `\\` for a backslash
"#,
        );
    }

    #[test]
    fn an_unclosed_quote_is_an_error_at_the_quote() {
        // Before, the field took in the rest of the file, silently.
        check(
            "m.csv",
            "a,1\nb,\"oops\nc,3\nd,4\n",
            &[],
            r#"
m.csv:1:1 m(a, 1)
error[E0306]: a quoted field is never closed m.csv:2:3
  label: this quote opens a field that runs to the end of the file
  help: close the quote, or write a quote inside a quoted field as `""`
"#,
        );
    }

    #[test]
    fn empty_file_has_no_facts_and_no_errors() {
        check("e.tsv", "", &[], "");
        check("e.csv", "\n# nothing\n", &[], "");
    }
}
