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

use hashbrown::HashTable;

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

/// The rows of one TSV or CSV file, stored compactly: each row's values as numbers into
/// one list of the file's distinct values, and each row's byte range in the file's text.
/// A row's argument spans are not stored; [`FactTable::arg_spans`] finds them again in
/// the text when a diagnostic needs them. Every row has [`FactTable::arity`] values and
/// passed the loader's checks; a table has at least one row.
///
/// A value is parsed (and its text copied) once per part of the file it appears in,
/// not once per appearance; large TSV files are read in parts on several threads. The
/// list may hold a value more than once (once per part) and values no kept row uses
/// (from rows rejected after their value was first seen).
#[derive(Clone, Debug)]
pub struct FactTable {
    relation: String,
    source: SourceId,
    delimiter: Delimiter,
    arity: usize,
    /// The values of the rows, row after row, `arity` per row, as indices into `distinct`.
    cells: Vec<u32>,
    /// The values the cells refer to.
    distinct: Vec<Value>,
    /// The kind each column was read as, where declared: every value of such a column
    /// has that kind.
    kinds: Vec<Option<Kind>>,
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
    pub fn values(&self, row: usize) -> impl ExactSizeIterator<Item = &Value> + '_ {
        self.cells(row)
            .iter()
            .map(|&cell| &self.distinct[cell as usize])
    }

    /// The values of row `row`, in column order, as indices into
    /// [`FactTable::distinct`]: equal numbers are equal values.
    pub fn cells(&self, row: usize) -> &[u32] {
        &self.cells[row * self.arity..(row + 1) * self.arity]
    }

    /// The kind declared for column `column` when the table was read, which every value
    /// of the column has; `None` when values were read as they came.
    pub fn kind(&self, column: usize) -> Option<Kind> {
        self.kinds[column]
    }

    /// The values the rows' cells refer to.
    pub fn distinct(&self) -> &[Value] {
        &self.distinct
    }

    /// Takes the value `cell` refers to out of the table, leaving a placeholder: for a
    /// caller that keeps the value elsewhere and never asks the table for it again.
    pub(crate) fn take_distinct(&mut self, cell: u32) -> Value {
        std::mem::replace(&mut self.distinct[cell as usize], Value::Int(0))
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
                args: self.values(row).cloned().collect(),
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
    parse_table_on(text, source, relation, delimiter, schema, 1)
}

/// Below this many bytes a TSV text is read on one thread.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// [`parse_table`] on up to `threads` threads: a large TSV text is cut into parts at line
/// ends, read side by side and joined in order, with the same rows, values and
/// diagnostics as on one thread.
pub fn parse_table_on(
    text: &str,
    source: SourceId,
    relation: &str,
    delimiter: Delimiter,
    schema: &dyn Schema,
    threads: usize,
) -> Loaded {
    let columns = schema.columns(relation);
    let declared = columns.as_ref().map(|c| (c.len(), None));
    let parts = if delimiter == Delimiter::Tab && text.len() >= PARALLEL_MIN_BYTES {
        split_at_lines(text, threads.max(1))
    } else {
        vec![(0, text.len())]
    };
    let mut rows = if parts.len() == 1 {
        let mut rows = Rows::new(text, relation, source, columns, declared);
        match delimiter {
            Delimiter::Tab => parse_tsv(text, 0, text.len(), &mut rows),
            Delimiter::Comma => parse_csv(text, &mut rows),
        }
        rows
    } else {
        // Every part needs the number of values the first row sets.
        let arity = declared.or_else(|| first_row_arity(text, source));
        let mut done = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .map(|&(start, end)| {
                    let columns = columns.clone();
                    scope.spawn(move || {
                        let mut rows = Rows::new(text, relation, source, columns, arity);
                        parse_tsv(text, start, end, &mut rows);
                        rows
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Vec<_>>()
        })
        .into_iter();
        let mut rows = done.next().expect("at least two parts");
        for part in done {
            rows.append(part);
        }
        rows
    };
    let mut tables = Vec::new();
    if let (false, Some((arity, _))) = (rows.rows.is_empty(), rows.arity) {
        rows.cells.shrink_to_fit();
        rows.rows.shrink_to_fit();
        tables.push(FactTable {
            relation: relation.to_owned(),
            source,
            delimiter,
            arity,
            kinds: match rows.columns {
                Some(kinds) if kinds.len() == arity => kinds,
                _ => vec![None; arity],
            },
            cells: rows.cells,
            distinct: rows.distinct,
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

/// Cuts `text` into at most `parts` byte ranges of about equal length, each ending just
/// after a line feed (the last at the end of the text).
fn split_at_lines(text: &str, parts: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for part in 1..parts {
        let target = (text.len() / parts * part).max(start);
        let Some(at) = bytes[target..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let end = target + at + 1;
        if end >= text.len() {
            break;
        }
        ranges.push((start, end));
        start = end;
    }
    ranges.push((start, text.len()));
    ranges
}

/// The number of values of the first row of a TSV text and that row's span, as
/// [`Rows::row`] would set them; `None` when the text has no row.
fn first_row_arity(text: &str, source: SourceId) -> Option<(usize, Option<Span>)> {
    let mut pos = bom_len(text);
    while pos < text.len() {
        let (end, next) = line_at(text, pos, text.len());
        let line = &text[pos..end];
        if !is_skipped(line) {
            let found = line.split('\t').count();
            return Some((found, Some(Span::new(source, pos, end))));
        }
        pos = next;
    }
    None
}

/// The line starting at `pos` (before `limit`): where it ends without its line end, and
/// where the next line starts.
fn line_at(text: &str, pos: usize, limit: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let line_end = bytes[pos..limit]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(limit, |i| pos + i);
    let end = if line_end > pos && bytes[line_end - 1] == b'\r' {
        line_end - 1
    } else {
        line_end
    };
    (end, line_end + 1)
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

/// Reads the TSV rows of the lines in `start..end` of `text`: `start` is 0 or just after
/// a line feed, `end` the end of the text or just after a line feed.
fn parse_tsv(text: &str, start: usize, end: usize, rows: &mut Rows<'_>) {
    let bytes = text.as_bytes();
    let lines = bytes[start..end].iter().filter(|&&b| b == b'\n').count() + 1;
    rows.rows.reserve(lines);
    let cells = lines * rows.arity.map_or(2, |(arity, _)| arity);
    rows.cells.reserve(cells);
    // Room for a new value in every other cell: growing the table step by step costs
    // more than the room (a value file has many distinct values or few rows).
    rows.distinct.reserve(cells / 2);
    rows.parsed.reserve(cells / 2);
    let parsed = &rows.parsed;
    rows.seen
        .reserve(cells / 2, |&index| parsed[index as usize].hash);
    let mut pos = if start == 0 { bom_len(text) } else { start };
    while pos < end {
        let (line_end, next) = line_at(text, pos, end);
        let line = &text[pos..line_end];
        if !is_skipped(line) {
            let mut field_start = pos;
            let mut unknown = Vec::new();
            let escaped = line.contains('\\');
            rows.row(
                pos,
                line_end,
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
                true,
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
        pos = next;
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
            false,
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
    /// The whole text the rows are read from.
    text: &'a str,
    relation: &'a str,
    source: SourceId,
    columns: Option<Vec<Option<Kind>>>,
    /// Number of values each row must have, and the first row's span when that row (not
    /// a declaration) set it; `None` until the first row.
    arity: Option<(usize, Option<Span>)>,
    /// The values of the rows kept, row after row, as indices into `distinct`.
    cells: Vec<u32>,
    /// The values parsed so far, each once per field text and column kind.
    distinct: Vec<Value>,
    /// What each of `distinct` was parsed from.
    parsed: Vec<Parsed<'a>>,
    /// The indices of `distinct`, by the hash of their field text and column kind.
    seen: HashTable<u32>,
    /// Byte range of each row kept.
    rows: Vec<(u32, u32)>,
    /// Fields of the current row that do not parse as their column's kind: column,
    /// span and what is wrong (kept between rows only to reuse the allocation).
    mismatches: Vec<(usize, Span, KindMismatch)>,
    diagnostics: Collector,
}

/// The field a value of [`Rows::distinct`] was parsed from.
struct Parsed<'a> {
    /// The field's text: borrowed from the file's text, or unescaped or unquoted.
    field: Cow<'a, str>,
    /// The kind the field's column declares.
    kind: Option<Kind>,
    /// Whether the field is an integer too large for 64 bits kept as text (`W0321` at
    /// each appearance).
    big: bool,
    /// Its [`field_hash`], kept so that growing [`Rows::seen`] reads no text.
    hash: u64,
}

/// The hash a field is found under in [`Rows::seen`].
fn field_hash(field: &str, kind: Option<Kind>) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one((field, kind))
}

impl<'a> Rows<'a> {
    fn new(
        text: &'a str,
        relation: &'a str,
        source: SourceId,
        columns: Option<Vec<Option<Kind>>>,
        arity: Option<(usize, Option<Span>)>,
    ) -> Rows<'a> {
        Rows {
            text,
            relation,
            source,
            columns,
            arity,
            cells: Vec::new(),
            distinct: Vec::new(),
            parsed: Vec::new(),
            seen: HashTable::new(),
            rows: Vec::new(),
            mismatches: Vec::new(),
            diagnostics: Collector::new(),
        }
    }

    /// Appends the rows, values and diagnostics of `next`, read from the part of the
    /// text just after this one's.
    fn append(&mut self, next: Rows<'a>) {
        let base = self.distinct.len() as u32;
        self.cells
            .extend(next.cells.iter().map(|&cell| cell + base));
        self.distinct.extend(next.distinct);
        self.rows.extend(next.rows);
        self.diagnostics.append(next.diagnostics);
    }

    /// The index in [`Rows::distinct`] of the value of `field` in a column of `kind`,
    /// and whether it is a big integer kept as text; or what is wrong with the field.
    fn value_of(
        &mut self,
        field: &str,
        field_start: usize,
        field_end: usize,
        in_text: bool,
        kind: Option<Kind>,
    ) -> Result<(u32, bool), KindMismatch> {
        let hash = field_hash(field, kind);
        let parsed = &self.parsed;
        if let Some(&index) = self.seen.find(hash, |&index| {
            let seen = &parsed[index as usize];
            seen.kind == kind && *seen.field == *field
        }) {
            return Ok((index, parsed[index as usize].big));
        }
        let value = parse_field(field, kind)?;
        let big =
            kind.is_none() && matches!(value, Value::Text(_)) && super::is_integer_text(field);
        let field = if in_text {
            Cow::Borrowed(&self.text[field_start..field_end])
        } else {
            Cow::Owned(field.to_owned())
        };
        let index = self.distinct.len() as u32;
        self.distinct.push(value);
        self.parsed.push(Parsed {
            field,
            kind,
            big,
            hash,
        });
        let parsed = &self.parsed;
        self.seen
            .insert_unique(hash, index, |&index| parsed[index as usize].hash);
        Ok((index, big))
    }

    /// Adds the row at `start..end` made of `(field, start, end)` triples; `in_text`
    /// says that every field not unescaped is the text at its range.
    fn row<'f>(
        &mut self,
        start: usize,
        end: usize,
        fields: impl Iterator<Item = (Cow<'f, str>, usize, usize)>,
        in_text: bool,
    ) {
        let row_start = self.cells.len();
        let mut big = Vec::new();
        let mut found = 0;
        let mut described = Vec::new();
        for (column, (field, field_start, field_end)) in fields.enumerate() {
            let kind = self
                .columns
                .as_ref()
                .and_then(|columns| columns.get(column).copied().flatten());
            let borrowed = in_text && matches!(field, Cow::Borrowed(_));
            match self.value_of(&field, field_start, field_end, borrowed, kind) {
                Ok((index, is_big)) => {
                    if is_big {
                        big.push((field_start, field_end, field.to_string()));
                    }
                    self.cells.push(index)
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
            self.cells.truncate(row_start);
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

    /// A TSV text past [`PARALLEL_MIN_BYTES`] whose rows repeat values and hold every
    /// kind of problem, in every part the text is cut into.
    fn large_tsv() -> String {
        use std::fmt::Write;
        let mut text = String::from("\u{feff}# from\tto\n\n");
        let mut row = 0;
        while text.len() < PARALLEL_MIN_BYTES * 3 / 2 {
            match row % 997 {
                13 => text.push_str("only-one\n"),
                17 => text.push_str("a\\qb\t12\n"),
                19 => text.push_str("99999999999999999999\t7\r\n"),
                23 => text.push_str("x\tnot-a-number\n"),
                29 => text.push_str("   \t \n# a comment\n"),
                31 => text.push_str("\\#esc\\taped\t2021-08-01\n"),
                _ => {
                    let _ = writeln!(text, "h{}\t{}", row % 5000, row % 7);
                }
            }
            row += 1;
        }
        text
    }

    #[test]
    fn large_tsv_files_read_in_parts_give_what_one_thread_gives() {
        let text = large_tsv();
        let mut sources = Sources::default();
        let source = sources.add("edge.tsv", &text);
        let declared = schema(&[("edge", &[Some(Kind::Text), Some(Kind::Int)])]);
        let schemas: [&dyn Schema; 2] = [&NoSchema, &declared];
        for schema in schemas {
            let one = parse_table_on(&text, source, "edge", Delimiter::Tab, schema, 1);
            assert_eq!(one.tables.len(), 1);
            let rendered = render(&one, &sources);
            assert!(rendered.contains("more problems in this file are not listed"));
            for threads in [2, 3, 8] {
                let parts = parse_table_on(&text, source, "edge", Delimiter::Tab, schema, threads);
                assert_eq!(render(&parts, &sources), rendered, "{threads} threads");
                // Each part keeps each of its values once (5,000 texts, 7 numbers and
                // the odd rows), not once per cell.
                let table = &parts.tables[0];
                assert!(table.len() > 150_000);
                assert!(table.distinct().len() <= threads * 5_020);
            }
        }
    }

    #[test]
    fn a_large_file_of_one_row_is_read_whole() {
        // No line end to cut at: one part, one row.
        let text = format!("{}\t{}", "a".repeat(PARALLEL_MIN_BYTES), "b");
        let mut sources = Sources::default();
        let source = sources.add("edge.tsv", &text);
        let loaded = parse_table_on(&text, source, "edge", Delimiter::Tab, &NoSchema, 4);
        assert!(loaded.diagnostics.is_empty());
        assert_eq!(loaded.tables[0].len(), 1);
        assert_eq!(split_at_lines(&text, 4), vec![(0, text.len())]);
        let lines = "x\ty\n".repeat(10);
        assert_eq!(
            split_at_lines(&lines, 3),
            vec![(0, 16), (16, 28), (28, 40)],
            "cut just after line feeds"
        );
    }
}
