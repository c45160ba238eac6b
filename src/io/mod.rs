//! Loaders for fact files that are not in the rule language: TSV, CSV, JSON, STIX 2.1
//! (from files and TAXII 2.1 collections), and MISP.
//!
//! [`load`] takes a file or a directory and returns the ground facts it holds as
//! [`InputFact`]s (values not yet interned; the rows of a TSV or CSV file as one compact
//! [`FactTable`]), the rule-language files (`.facts`, `.rules`)
//! it found for the caller to parse, and every problem as a [`Diagnostic`]. Loading never
//! stops at the first problem and never panics: a bad row is reported and skipped, the
//! rest of the file still loads (only a JSON syntax error ends its file). Every file read
//! is registered in [`Sources`] first, so each fact and each diagnostic points at a byte
//! [`Span`] of its text.
//!
//! What a path may be:
//!
//! | path | loaded as |
//! |---|---|
//! | `<relation>.tsv` | tab-separated rows of `relation`, see [`delimited`] |
//! | `<relation>.csv` | RFC 4180 comma-separated rows of `relation`, see [`delimited`] |
//! | `*.json` | a STIX 2.1 bundle when the top-level object has `"type": "bundle"` (see [`stix`]); a MISP galaxy cluster file or MISP events (see [`misp`]); else JSON facts (see [`json`]) |
//! | `*.facts`, `*.rules` | not read here: returned in [`Loaded::rule_files`] |
//! | `taxii://HOST:PORT/API_ROOT/collections/ID/` (`taxiis://` for HTTPS) | the objects of a TAXII 2.1 collection, paged through and read as one STIX bundle, all or nothing; see [`taxii`] (codes `E0330`-`E0337`) |
//! | a directory | each entry above, in byte order of file name; not recursive: subdirectories and files with other extensions are reported (`W0306`) and skipped; names starting with `.`, files named `LICENSE*` or `README*` (a data set's licence and notes), `.test` files and a `snapshots` subdirectory (tests and their golden files) are skipped silently |
//!
//! Only lower-case extensions are recognised. A leading UTF-8 byte-order mark is ignored.
//!
//! Values are the constants of [`crate::value`]. Where the caller's [`Schema`] declares the
//! kinds of a relation's columns, each value must have its column's kind and each fact the
//! declared number of arguments.
//!
//! # Diagnostic codes
//!
//! At most 100 diagnostics are listed per file; the last one listed then carries a note
//! counting the rest.
//!
//! | code | meaning |
//! |---|---|
//! | `E0301` | a path cannot be read (missing, not permitted, a failing directory listing, or larger than 4 GiB) |
//! | `E0302` | a fact file is not valid UTF-8 |
//! | `E0303` | a relation name (TSV/CSV file stem, JSON key or `"relation"`) is not a lower-case identifier |
//! | `E0304` | a value does not have (or does not parse as) the declared kind of its column; or a STIX relation is declared with other kinds than import produces |
//! | `E0305` | a row or fact has a different number of values than the relation's first row or declaration; or a STIX relation is declared with another number of columns |
//! | `E0306` | a CSV file cannot be split into records |
//! | `E0307` | a JSON file is not valid JSON |
//! | `E0308` | a JSON fact file has an unexpected shape (wrong type, missing or unknown key, unusable value) |
//! | `E0309` | a confidence is not a number in [0, 1] |
//! | `E0310` | a STIX bundle has no `objects` array |
//! | `E0311` | a file given by name has an extension no loader handles |
//! | `W0301` | a STIX object is malformed (no string `id`/`type`/`relationship_type`/refs, repeated `id`, not an object, no `name`) |
//! | `W0302` | a STIX relationship refers to an id that is not in the bundle |
//! | `W0303` | revoked or deprecated STIX objects, and relationships touching them, were skipped (one summary per file) |
//! | `W0304` | two STIX objects carry the same ATT&CK id; the later one is keyed by its STIX id |
//! | `W0305` | a STIX property has an unusable value (timestamp, confidence, alias) and is ignored |
//! | `W0306` | a directory entry was not loaded (subdirectory, or unknown extension) |
//! | `W0320` | a backslash in a TSV field does not start an escape (`\\`, `\t`, `\n`, `\r`, `\#`); it is kept as written |
//! | `W0321` | an integer in an undeclared or `any` column does not fit in 64 bits; it is kept exact, as text |
//! | `W0322` | a STIX object's ATT&CK id is another object's STIX id; the object is keyed by its own STIX id |
//! | `W0360` | a JSON fact has a `likelihood` term but no `confidence`: it loads as certain |
//! | `E0325` | a path is neither a regular file nor a directory (a FIFO, socket or device) |
//! | `W0330` | STIX objects of types STIX 2.1 does not define were ignored (one summary per file) |
//! | `W0331` | a STIX object's `created_by_ref` names no identity in the bundle |
//! | `E0340` | a MISP document has the wrong shape at the top (`values` or `response` not an array, `Event` not an object) |
//! | `W0340` | a MISP cluster, event, attribute, object, tag or galaxy is malformed (not an object, no string `uuid`/`value`/`type`/`category`/`name`) and is skipped |
//! | `W0341` | a name (value or synonym) is shared by two MISP galaxy clusters; both keep it, neither is merged into the other |
//! | `W0342` | a MISP tag is not a well-formed machine tag; it is kept as a plain tag |
//! | `W0343` | an `admiralty-scale` or `estimative-language` tag has an unknown predicate or value; nothing is read from it |
//! | `W0344` | a MISP property has an unusable value (date, `to_ids`, `attribution-confidence`, a list) and is ignored |
//! | `W0345` | a MISP cluster repeats another's uuid (skipped), or the symbol made from its value is taken (keyed by its uuid) |
//! | `W0346` | MISP attributes or objects marked `"deleted": true` were skipped (one summary per file) |

pub mod delimited;
mod error;
pub mod export;
pub mod json;
pub mod misp;
pub mod stix;
pub mod taxii;
mod tree;

pub use delimited::FactTable;
pub use error::FactError;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, SourceId, Sources, Span};
use crate::value::{Kind, Value};

/// One ground fact as loaded from a file, before interning.
#[derive(Clone, Debug)]
pub struct InputFact {
    /// The relation's name, a lower-case identifier.
    pub relation: String,
    /// The arguments, in column order.
    pub args: Vec<Value>,
    /// Span of each argument in the registered source text (same length as `args`).
    pub arg_spans: Vec<Span>,
    /// Span of the whole fact (a TSV row, a JSON object).
    pub span: Span,
    /// Confidence in [0, 1]; `None` means 1.
    pub confidence: Option<f64>,
    /// Human-readable source annotation shown at explanation leaves (a STIX object's name
    /// and id, a JSON `"source"` field); `None`: the caller shows file:line.
    pub source: Option<String>,
    /// First day the fact holds (days since 1970-01-01; JSON `"since"`), if bounded.
    pub since: Option<i32>,
    /// Last day the fact holds (JSON `"until"`), if bounded.
    pub until: Option<i32>,
}

/// What the caller knows about declared column kinds.
pub trait Schema {
    /// `Some(kinds)` for a declared relation, one entry per column (`None` entries mean
    /// `any`); `None` for an undeclared relation, whose kinds are inferred per value.
    fn columns(&self, relation: &str) -> Option<Vec<Option<Kind>>>;
}

/// Drops the facts of each relation a structured importer (STIX, MISP) produces whose
/// declaration does not fit what the importer produces (`produced`), reporting each
/// such relation once, at its first fact.
fn drop_misfits(
    format: &'static str,
    produced: &[(&'static str, &[Kind])],
    schema: &dyn Schema,
    facts: &mut Vec<InputFact>,
    diagnostics: &mut Collector,
) {
    let mut rejected = Vec::new();
    for &(relation, kinds) in produced {
        let Some(declared) = schema.columns(relation) else {
            continue;
        };
        let fits = declared.len() == kinds.len()
            && declared
                .iter()
                .zip(kinds)
                .all(|(d, p)| d.is_none_or(|d| d == *p));
        if fits {
            continue;
        }
        let Some(first) = facts.iter().find(|f| f.relation == relation) else {
            continue;
        };
        let names = |kinds: &mut dyn Iterator<Item = Option<Kind>>| {
            kinds
                .map(|k| k.map_or("any", Kind::name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let error = FactError::StixSignature {
            format,
            relation,
            declared: names(&mut declared.iter().copied()),
            produced: names(&mut kinds.iter().map(|&k| Some(k))),
            arity: declared.len() != kinds.len(),
            span: first.span,
        };
        diagnostics.push(error.into());
        rejected.push(relation);
    }
    if !rejected.is_empty() {
        facts.retain(|fact| !rejected.contains(&fact.relation.as_str()));
    }
}

/// A schema that declares nothing: every relation's kinds are inferred.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSchema;

impl Schema for NoSchema {
    fn columns(&self, _relation: &str) -> Option<Vec<Option<Kind>>> {
        None
    }
}

impl<S: BuildHasher> Schema for HashMap<String, Vec<Option<Kind>>, S> {
    fn columns(&self, relation: &str) -> Option<Vec<Option<Kind>>> {
        self.get(relation).cloned()
    }
}

/// Result of loading one path.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Facts in file order; files in the order they were visited. TSV and CSV files
    /// give [`Loaded::tables`] instead.
    pub facts: Vec<InputFact>,
    /// The rows of each TSV or CSV file, in the order the files were visited; each
    /// table's [`FactTable::position`] says where its rows go among [`Loaded::facts`].
    pub tables: Vec<FactTable>,
    /// Rule-language files (`.facts`, `.rules`) found in a directory (sorted) or given by
    /// name, for the caller to parse.
    pub rule_files: Vec<PathBuf>,
    /// Problems found, file by file in the order files were visited.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Every fact in load order, the rows of [`Loaded::tables`] included: `sources`
    /// must hold the texts the tables were read from.
    pub fn input_facts(&self, sources: &Sources) -> Vec<InputFact> {
        let mut facts = Vec::with_capacity(self.facts.len());
        let mut tables = self.tables.iter().peekable();
        for index in 0..=self.facts.len() {
            while let Some(table) = tables.next_if(|t| t.position() <= index) {
                facts.extend(table.to_input_facts(sources.text(table.source())));
            }
            facts.extend(self.facts.get(index).cloned());
        }
        facts
    }

    /// Appends everything `other` holds, keeping load order; moves instead of copying
    /// when `self` is empty.
    pub fn absorb(&mut self, mut other: Loaded) {
        for mut table in other.tables.drain(..) {
            table.position += self.facts.len();
            self.tables.push(table);
        }
        if self.facts.is_empty() {
            std::mem::swap(&mut self.facts, &mut other.facts);
        } else {
            self.facts.append(&mut other.facts);
        }
        self.rule_files.append(&mut other.rule_files);
        self.diagnostics.append(&mut other.diagnostics);
    }
}

/// The kinds of file [`load`] recognises, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// `.tsv`: rows of the relation named by the file stem.
    Tsv,
    /// `.csv`: rows of the relation named by the file stem.
    Csv,
    /// `.json`: JSON facts or a STIX 2.1 bundle.
    Json,
    /// `.facts` or `.rules`: the rule language, parsed by the caller.
    Rules,
}

impl FileFormat {
    /// The format a path's (lower-case) extension names, if any.
    pub fn of(path: &Path) -> Option<FileFormat> {
        match path.extension()?.to_str()? {
            "tsv" => Some(FileFormat::Tsv),
            "csv" => Some(FileFormat::Csv),
            "json" => Some(FileFormat::Json),
            "facts" | "rules" => Some(FileFormat::Rules),
            _ => None,
        }
    }
}

/// Loads a file or a directory (not recursively): `<relation>.tsv`, `<relation>.csv` and
/// `*.json` files are read, `.facts`/`.rules` paths are collected into
/// [`Loaded::rule_files`]. Directory entries are visited in byte order of their names.
/// Every file read is registered in `sources` so diagnostics can point into it.
pub fn load(path: &Path, sources: &mut Sources, schema: &dyn Schema) -> Loaded {
    load_on(path, sources, schema, 1)
}

/// [`load`], reading large TSV files on up to `threads` threads: the same facts and
/// diagnostics in the same order for every number of threads.
pub fn load_on(path: &Path, sources: &mut Sources, schema: &dyn Schema, threads: usize) -> Loaded {
    if let Some(url) = path.to_str().filter(|text| taxii::is_taxii(text)) {
        return taxii::load(url, sources, schema);
    }
    let mut loaded = Loaded::default();
    match std::fs::metadata(path) {
        Err(error) => loaded
            .diagnostics
            .push(unreadable(path, &error.to_string())),
        Ok(metadata) if metadata.is_dir() => load_dir(path, sources, schema, threads, &mut loaded),
        Ok(metadata) if !metadata.is_file() => loaded
            .diagnostics
            .push(not_regular(path, &metadata.file_type()).into()),
        Ok(_) => match FileFormat::of(path) {
            Some(format) => load_file(path, format, sources, schema, threads, &mut loaded),
            None => loaded.diagnostics.push(
                FactError::UnsupportedFile {
                    path: path.display().to_string(),
                }
                .into(),
            ),
        },
    }
    loaded
}

fn load_dir(
    dir: &Path,
    sources: &mut Sources,
    schema: &dyn Schema,
    threads: usize,
    loaded: &mut Loaded,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            loaded.diagnostics.push(unreadable(dir, &error.to_string()));
            return;
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(error) => loaded.diagnostics.push(unreadable(dir, &error.to_string())),
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    // What to do with each entry, in order: files are read side by side first, then
    // parsed and reported in this order.
    let mut steps = Vec::new();
    for path in paths {
        let hidden = path
            .file_name()
            .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."));
        if hidden {
            continue;
        }
        // `metadata` follows symbolic links, so a link to a file loads like the file.
        let is_dir = match std::fs::metadata(&path) {
            Ok(metadata) if !metadata.is_dir() && !metadata.is_file() => {
                steps.push(Step::Report(
                    not_regular(&path, &metadata.file_type()).into(),
                ));
                continue;
            }
            Ok(metadata) => metadata.is_dir(),
            Err(error) => {
                steps.push(Step::Report(unreadable(&path, &error.to_string())));
                continue;
            }
        };
        // Tests and their golden files live beside the rules they test; a rule
        // directory given as input is not the place to warn about them.
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if (!is_dir && name.ends_with(".test")) || (is_dir && name == "snapshots") {
            continue;
        }
        // A data set travels with its licence and notes (MITRE's licence must go with
        // every copy of ATT&CK data): they are documentation, not facts.
        if !is_dir && (name.starts_with("LICENSE") || name.starts_with("README")) {
            continue;
        }
        match FileFormat::of(&path) {
            Some(format) if !is_dir => steps.push(Step::Load(path, format)),
            _ => steps.push(Step::Report(
                FactError::NotLoaded {
                    path: path.display().to_string(),
                    is_dir,
                }
                .into(),
            )),
        }
    }
    let to_read: Vec<&Path> = steps
        .iter()
        .filter_map(|step| match step {
            Step::Load(path, format) if *format != FileFormat::Rules => Some(path.as_path()),
            _ => None,
        })
        .collect();
    let mut texts = read_files(&to_read, threads).into_iter();
    for step in steps {
        match step {
            Step::Report(diagnostic) => loaded.diagnostics.push(diagnostic),
            Step::Load(path, FileFormat::Rules) => loaded.rule_files.push(path),
            Step::Load(path, format) => {
                let read = texts.next().expect("one text per file to read");
                load_read(&path, format, read, sources, schema, threads, loaded);
            }
        }
    }
}

/// One entry of a directory: a file to load, or why it is not loaded.
enum Step {
    Load(PathBuf, FileFormat),
    Report(Diagnostic),
}

/// A file's contents as read, before they are registered: the text, or the bytes that
/// are not UTF-8.
type ReadText = std::io::Result<Result<String, std::string::FromUtf8Error>>;

/// Reads the files at `paths` on up to `threads` threads, each as [`ReadText`], in the
/// order given.
fn read_files(paths: &[&Path], threads: usize) -> Vec<ReadText> {
    let read = |path: &Path| std::fs::read(path).map(String::from_utf8);
    let threads = threads.clamp(1, paths.len().max(1));
    if threads == 1 {
        return paths.iter().map(|path| read(path)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, ReadText)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = paths.get(at) else {
                            return done;
                        };
                        done.push((at, read(path)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|&(at, _)| at);
    done.into_iter().map(|(_, read)| read).collect()
}

fn load_file(
    path: &Path,
    format: FileFormat,
    sources: &mut Sources,
    schema: &dyn Schema,
    threads: usize,
    loaded: &mut Loaded,
) {
    if format == FileFormat::Rules {
        loaded.rule_files.push(path.to_path_buf());
        return;
    }
    let read = read_files(&[path], 1).pop().expect("one file read");
    load_read(path, format, read, sources, schema, threads, loaded);
}

/// Loads a fact file (not a rule file) from what was read of it.
fn load_read(
    path: &Path,
    format: FileFormat,
    read: ReadText,
    sources: &mut Sources,
    schema: &dyn Schema,
    threads: usize,
    loaded: &mut Loaded,
) {
    let relation = match format {
        FileFormat::Tsv | FileFormat::Csv => match delimited::relation_of(path) {
            Ok(relation) => Some(relation),
            Err(error) => {
                loaded.diagnostics.push(error.into());
                return;
            }
        },
        _ => None,
    };
    let source = match register_text(path, read, sources) {
        Ok(source) => source,
        Err(diagnostic) => {
            loaded.diagnostics.push(*diagnostic);
            return;
        }
    };
    let text = sources.text(source);
    match (format, relation) {
        (FileFormat::Tsv | FileFormat::Csv, Some(relation)) => {
            let delimiter = if format == FileFormat::Tsv {
                delimited::Delimiter::Tab
            } else {
                delimited::Delimiter::Comma
            };
            loaded.absorb(delimited::parse_table_on(
                text, source, &relation, delimiter, schema, threads,
            ));
        }
        _ => loaded.absorb(parse_json(text, source, schema)),
    }
}

/// Parses a JSON text as a STIX 2.1 bundle when its top-level object has
/// `"type": "bundle"`, as MISP when its top level is a galaxy cluster file or MISP events
/// (see [`misp`]), else as JSON facts.
pub fn parse_json(text: &str, source: SourceId, schema: &dyn Schema) -> Loaded {
    match tree::parse(text) {
        Err(error) => Loaded {
            diagnostics: vec![json::syntax_error(&error, source)],
            ..Loaded::default()
        },
        Ok(document) if stix::is_bundle(&document) => stix::from_tree(&document, source, schema),
        Ok(document) => match misp::kind_of(&document) {
            Some(kind) => misp::from_tree(&document, kind, source, schema),
            None => json::from_tree(&document, source, schema),
        },
    }
}

/// Reads a UTF-8 file (rule or fact file) and registers its text. A file that is not
/// UTF-8 is registered with its invalid sequences replaced, so that the error (`E0302`)
/// points at the line and column of the first one; one that cannot be read gives
/// `E0301`.
pub fn read_text(path: &Path, sources: &mut Sources) -> Result<SourceId, Box<Diagnostic>> {
    register_text(path, std::fs::read(path).map(String::from_utf8), sources)
}

/// [`read_text`] once the file is read.
fn register_text(
    path: &Path,
    read: ReadText,
    sources: &mut Sources,
) -> Result<SourceId, Box<Diagnostic>> {
    let read = read.map_err(|error| Box::new(unreadable(path, &error.to_string())))?;
    // Spans are 32-bit byte offsets.
    let len = read
        .as_ref()
        .map_or_else(|e| e.as_bytes().len(), String::len);
    if u32::try_from(len).is_err() {
        return Err(Box::new(unreadable(path, "the file is larger than 4 GiB")));
    }
    let name = path.display().to_string();
    match read {
        Ok(text) => Ok(sources.add(name, text)),
        Err(error) => {
            let valid_up_to = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let source = sources.add(name.clone(), text);
            // The lossy text has U+FFFD (3 bytes) where the first invalid sequence was.
            let span = Span::new(source, valid_up_to, valid_up_to + '\u{fffd}'.len_utf8());
            Err(Box::new(FactError::NotUtf8 { path: name, span }.into()))
        }
    }
}

/// The error for a path that is neither a regular file nor a directory: reading a FIFO
/// blocks until a writer comes, maybe forever.
pub fn not_regular(path: &Path, file_type: &std::fs::FileType) -> FactError {
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            "a FIFO"
        } else if file_type.is_socket() {
            "a socket"
        } else if file_type.is_block_device() || file_type.is_char_device() {
            "a device"
        } else {
            "not a file"
        }
    };
    #[cfg(not(unix))]
    let what = {
        let _ = file_type;
        "not a file"
    };
    FactError::NotRegular {
        path: path.display().to_string(),
        what,
    }
}

fn unreadable(path: &Path, reason: &str) -> Diagnostic {
    FactError::Unreadable {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    }
    .into()
}

/// Whether `name` can name a relation: `[a-z][A-Za-z0-9_]*`, and not a keyword.
pub fn is_relation_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !matches!(name, "not" | "rel")
}

/// A relation name close to `name`: letters lowered, other characters that cannot be in
/// a name replaced by `_`, and `r_` in front when it still does not start with a letter.
fn relation_name_like(name: &str) -> String {
    let mut fixed: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !fixed.starts_with(|c: char| c.is_ascii_lowercase())
        || matches!(fixed.as_str(), "not" | "rel")
    {
        fixed.insert_str(0, "r_");
    }
    fixed
}

/// Collects one file's diagnostics, listing at most [`Collector::LIMIT`] and counting the
/// rest, so a file with a systematic problem does not bury everything else.
struct Collector {
    listed: Vec<Diagnostic>,
    unlisted: usize,
}

impl Collector {
    const LIMIT: usize = 100;

    fn new() -> Collector {
        Collector {
            listed: Vec::new(),
            unlisted: 0,
        }
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        if self.listed.len() < Collector::LIMIT {
            self.listed.push(diagnostic);
        } else {
            self.unlisted += 1;
        }
    }

    /// Adds what `next` collected after what this one did, as if pushed here.
    fn append(&mut self, next: Collector) {
        for diagnostic in next.listed {
            self.push(diagnostic);
        }
        self.unlisted += next.unlisted;
    }

    /// The listed diagnostics; the last carries a note counting the unlisted ones.
    fn finish(mut self) -> Vec<Diagnostic> {
        if self.unlisted > 0 {
            if let Some(last) = self.listed.last_mut() {
                last.notes.push(format!(
                    "{} more problems in this file are not listed",
                    self.unlisted
                ));
            }
        }
        self.listed
    }
}

/// Why a text does not parse as a column's declared kind.
struct KindMismatch {
    /// Short phrase for the underline ("not an integer").
    label: &'static str,
    /// Extra explanation, when the shape was right but the value is not.
    note: Option<&'static str>,
}

/// Parses a TSV/CSV field as `kind`, or infers its kind when `None`: integer, then
/// float, then date (`YYYY-MM-DD`), else text.
fn parse_field(field: &str, kind: Option<Kind>) -> Result<Value, KindMismatch> {
    match kind {
        None => Ok(infer(field)),
        Some(Kind::Text) => Ok(Value::text(field)),
        Some(Kind::Int) => match field.parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) if is_integer_text(field) => Err(KindMismatch {
                label: "does not fit in a 64-bit integer",
                note: Some("integers range from -9223372036854775808 to 9223372036854775807"),
            }),
            Err(_) => Err(KindMismatch {
                label: "not an integer",
                note: None,
            }),
        },
        Some(Kind::Float) => parse_float(field).ok_or(KindMismatch {
            label: "not a number",
            note: None,
        }),
        Some(Kind::Date) => Value::parse_date(field).ok_or(KindMismatch {
            label: "not a date",
            note: looks_like_date(field).then_some("that day does not exist"),
        }),
    }
}

fn infer(field: &str) -> Value {
    if let Ok(i) = field.parse::<i64>() {
        return Value::Int(i);
    }
    // An integer past 64 bits stays exact as text: as a float, 12345678901234567890
    // and 12345678901234567891 would be one value.
    if is_integer_text(field) {
        return Value::text(field);
    }
    if let Some(float) = parse_float(field) {
        return float;
    }
    if let Some(date) = Value::parse_date(field) {
        return date;
    }
    Value::text(field)
}

/// A finite float written as `[+-]digits[.digits][(e|E)[+-]digits]` (a side of the point
/// may be empty, not both); `inf` and `NaN` are text, not numbers.
fn parse_float(field: &str) -> Option<Value> {
    let bytes = field.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut n_digits = digits(&mut i);
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        n_digits += digits(&mut i);
    }
    if n_digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let x: f64 = field.parse().ok()?;
    x.is_finite().then_some(Value::Float(x))
}

fn is_integer_text(field: &str) -> bool {
    let digits = field.strip_prefix(['+', '-']).unwrap_or(field);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn looks_like_date(field: &str) -> bool {
    field.len() == 10
        && field.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// What a field looks like, for "found ..." in messages.
fn describe_field(field: &str) -> String {
    if field.is_empty() {
        return "an empty field".to_owned();
    }
    let what = match infer(field) {
        Value::Int(_) => "an integer",
        Value::Text(_) if is_integer_text(field) => "an integer",
        Value::Float(_) => "a float",
        Value::Date(_) => "a date",
        Value::Text(_) => "text",
    };
    let shown: String = field.chars().take(40).collect();
    let ellipsis = if shown.len() < field.len() { "..." } else { "" };
    format!("{what} `{shown}{ellipsis}`")
}

/// Renders loaded facts and diagnostics one per line, for tests.
#[cfg(test)]
fn render(loaded: &Loaded, sources: &Sources) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for fact in &loaded.input_facts(sources) {
        assert_eq!(
            fact.args.len(),
            fact.arg_spans.len(),
            "one span per argument"
        );
        let args: Vec<String> = fact.args.iter().map(|a| a.to_string()).collect();
        let _ = write!(
            out,
            "{} {}({})",
            sources.location(fact.span),
            fact.relation,
            args.join(", ")
        );
        if let Some(confidence) = fact.confidence {
            let _ = write!(out, " @confidence({confidence})");
        }
        if let Some(source) = &fact.source {
            let _ = write!(out, " @source({source:?})");
        }
        if let Some(day) = fact.since {
            let _ = write!(out, " @since({})", crate::value::Value::Date(day));
        }
        if let Some(day) = fact.until {
            let _ = write!(out, " @until({})", crate::value::Value::Date(day));
        }
        out.push('\n');
    }
    for diagnostic in &loaded.diagnostics {
        let place = match &diagnostic.primary {
            Some(label) => format!(" {}", sources.location(label.span)),
            None => String::new(),
        };
        let _ = writeln!(out, "{diagnostic}{place}");
        if let Some(label) = diagnostic
            .primary
            .as_ref()
            .filter(|l| !l.message.is_empty())
        {
            let _ = writeln!(out, "  label: {}", label.message);
        }
        for label in &diagnostic.secondary {
            let _ = writeln!(
                out,
                "  see {}: {}",
                sources.location(label.span),
                label.message
            );
        }
        for note in &diagnostic.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        if let Some(help) = &diagnostic.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema from `(relation, kinds)` pairs.
    pub(super) fn schema(
        declared: &[(&str, &[Option<Kind>])],
    ) -> HashMap<String, Vec<Option<Kind>>> {
        declared
            .iter()
            .map(|(name, kinds)| (name.to_string(), kinds.to_vec()))
            .collect()
    }

    fn check_infer(field: &str, expected: &str) {
        let shown = match infer(field) {
            Value::Text(s) => format!("text {s:?}"),
            value => format!("{:?}", value.kind()).to_lowercase() + " " + &value.to_string(),
        };
        assert_eq!(shown, expected, "field {field:?}");
    }

    #[test]
    fn inference_tries_integer_float_date_then_text() {
        check_infer("42", "int 42");
        check_infer("-7", "int -7");
        check_infer("0.5", "float 0.5");
        check_infer("1e3", "float 1000.0");
        check_infer(".5", "float 0.5");
        check_infer("2021-08-01", "date 2021-08-01");
        check_infer("2021-02-30", "text \"2021-02-30\"");
        check_infer("inf", "text \"inf\"");
        check_infer("NaN", "text \"NaN\"");
        check_infer("1e999", "text \"1e999\"");
        check_infer(".", "text \".\"");
        check_infer("", "text \"\"");
        check_infer("apt40", "text \"apt40\"");
        check_infer("99999999999999999999", "text \"99999999999999999999\"");
        check_infer("-99999999999999999999", "text \"-99999999999999999999\"");
        check_infer("9223372036854775807", "int 9223372036854775807");
    }

    fn check_name(name: &str, expected: bool, suggestion: &str) {
        assert_eq!(is_relation_name(name), expected, "{name}");
        assert_eq!(relation_name_like(name), suggestion, "{name}");
    }

    #[test]
    fn relation_names_are_lower_case_identifiers() {
        check_name("claims", true, "claims");
        check_name("conductedBy2", true, "conductedby2");
        check_name("Claims", false, "claims");
        check_name("conducted-by", false, "conducted_by");
        check_name("2nd", false, "r_2nd");
        check_name("_x", false, "r__x");
        check_name("not", false, "r_not");
        check_name("é", false, "r__");
    }

    #[test]
    fn missing_path_is_reported_not_fatal() {
        let mut sources = Sources::default();
        let loaded = load(
            Path::new("/nonexistent/ascribe/x.tsv"),
            &mut sources,
            &NoSchema,
        );
        assert_eq!(loaded.diagnostics.len(), 1);
        assert_eq!(loaded.diagnostics[0].code, "E0301");
        assert!(loaded.facts.is_empty());
    }

    #[test]
    fn directory_is_loaded_in_name_order_with_rule_files_collected() {
        let dir = std::env::temp_dir().join(format!("ascribe-io-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("nested")).expect("create test directory");
        let files: &[(&str, &[u8])] = &[
            ("b.tsv", b"2\n"),
            ("a.csv", b"1,x\n"),
            ("c.json", br#"{"c": [["z"]]}"#),
            ("z.rules", b""),
            ("m.facts", b""),
            ("notes.txt", b"hello"),
            ("LICENSE-DATA.txt", b"licence"),
            ("README.md", b"notes"),
            (".hidden.tsv", b"1\n"),
            ("Bad.tsv", b"1\n"),
            ("latin1.tsv", b"caf\xe9\n"),
        ];
        for (name, content) in files {
            std::fs::write(dir.join(name), content).expect("write test file");
        }
        let mut sources = Sources::default();
        let loaded = load(&dir, &mut sources, &NoSchema);
        let rendered = render(&loaded, &sources).replace(&dir.display().to_string(), "D");
        // Files read side by side are parsed and reported in the same order.
        for threads in [2, 3, 16] {
            let mut sources = Sources::default();
            let parallel = load_on(&dir, &mut sources, &NoSchema, threads);
            let again = render(&parallel, &sources).replace(&dir.display().to_string(), "D");
            assert_eq!(again, rendered, "{threads} threads");
            assert_eq!(parallel.rule_files, loaded.rule_files);
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            rendered,
            "D/a.csv:1:1 a(1, x)\nD/b.tsv:1:1 b(2)\nD/c.json:1:8 c(z)\n\
             error[E0303]: fact file name `Bad.tsv` is not a relation name\n  \
             note: a TSV or CSV file's name, without the extension, names the relation its rows belong to; relation names match [a-z][A-Za-z0-9_]*\n  \
             help: rename the file to `bad.tsv`\n\
             error[E0302]: `D/latin1.tsv` is not valid UTF-8 D/latin1.tsv:1:4\n  \
             label: first invalid byte\n  help: save the file as UTF-8\n\
             warning[W0306]: subdirectory `D/nested` was not loaded\n  \
             help: loading a directory is not recursive; pass the subdirectory as its own path\n\
             warning[W0306]: file `D/notes.txt` was not loaded\n  \
             help: only `.tsv`, `.csv`, `.json`, `.facts` and `.rules` files are loaded\n"
        );
        let rule_files: Vec<_> = loaded
            .rule_files
            .iter()
            .map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or(""))
            .collect();
        assert_eq!(rule_files, ["m.facts", "z.rules"]);
    }

    #[cfg(unix)]
    #[test]
    fn fifos_are_refused_not_read() {
        // Reading a FIFO blocked until a writer came, forever with none.
        let dir = std::env::temp_dir().join(format!("ascribe-io-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test directory");
        let fifo = dir.join("n.tsv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        std::fs::write(dir.join("m.tsv"), "1\n").expect("write test file");
        let mut sources = Sources::default();
        for path in [&fifo, &dir] {
            let loaded = load(path, &mut sources, &NoSchema);
            let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
            assert_eq!(codes, ["E0325"], "{path:?}");
            assert!(loaded.diagnostics[0].message.contains("it is a FIFO"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unknown_extension_given_by_name_is_an_error() {
        let mut sources = Sources::default();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let loaded = load(&manifest, &mut sources, &NoSchema);
        assert_eq!(loaded.diagnostics.len(), 1);
        assert_eq!(loaded.diagnostics[0].code, "E0311");
    }

    /// Every loader on `text`: no panic, one span per argument, spans inside the text.
    fn check_robust(text: &str) {
        let declared = schema(&[
            ("r", &[Some(Kind::Int), Some(Kind::Date)]),
            ("campaign_seen", &[None, Some(Kind::Text), None]),
        ]);
        let mut sources = Sources::default();
        let source = sources.add("x", text);
        for schema in [&NoSchema as &dyn Schema, &declared] {
            let results = [
                delimited::parse(text, source, "r", delimited::Delimiter::Tab, schema),
                delimited::parse(text, source, "r", delimited::Delimiter::Comma, schema),
                parse_json(text, source, schema),
                stix::parse(text, source, schema),
            ];
            for loaded in results {
                for fact in &loaded.facts {
                    assert_eq!(fact.args.len(), fact.arg_spans.len());
                    for span in fact.arg_spans.iter().chain([&fact.span]) {
                        assert!(text.get(span.range()).is_some(), "{span:?} in {text:?}");
                    }
                }
                for diagnostic in &loaded.diagnostics {
                    if let Some(label) = &diagnostic.primary {
                        assert!(text.get(label.span.range()).is_some(), "{diagnostic:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn prefixes_and_mutations_of_valid_input_never_panic() {
        let documents = [
            "1\t2021-08-01\n# c\n\u{feff}x\t\"y\"\r\n\n3\t4\t5\n",
            "1,\"2021-08-01\"\n\"a\"\"b\",\"c\nd\"\n#x\n,\n",
            r#"{"facts": [{"relation": "r", "args": [1, "2021-08-01"], "source": "s", "confidence": 0.5}], "r": [[2, "2020-02-29"], {"args": [3, "x\u00e9\n"]}]}"#,
            r#"{"type": "threat-actor", "uuid": "g", "values": [{"value": "APT40", "uuid": "u1", "meta": {"synonyms": ["Leviathan", "X"], "country": "CN", "attribution-confidence": "50", "refs": ["https://e"]}, "related": [{"dest-uuid": "u2", "type": "similar"}]}, {"value": "B", "uuid": "u2", "meta": {"synonyms": "X"}}]}"#,
            r#"{"response": [{"Event": {"id": "7", "uuid": "e1", "info": "I", "date": "2021-07-19", "Orgc": {"name": "O"}, "Tag": [{"name": "admiralty-scale:source-reliability="b""}, {"name": "tlp:white"}], "Galaxy": [{"type": "threat-actor", "GalaxyCluster": [{"value": "APT40", "uuid": "u1"}]}], "Attribute": [{"uuid": "a1", "category": "Network activity", "type": "ip-dst", "value": "1.2.3.4", "to_ids": true, "first_seen": "2021-01-01T00:00:00Z", "comment": "c"}], "Object": [{"uuid": "o1", "name": "file", "Attribute": [{"uuid": "a2", "category": "Payload delivery", "type": "sha256", "value": "ab", "object_relation": "sha256"}]}]}}]}"#,
            r#"{"type": "bundle", "objects": [{"type": "campaign", "id": "campaign--c", "name": "C", "first_seen": "2020-01-02T00:00:00Z", "last_seen": "2020-02-03T00:00:00Z", "aliases": ["C"], "external_references": [{"source_name": "mitre-attack", "external_id": "C1"}]}, {"type": "relationship", "id": "relationship--r", "relationship_type": "uses", "source_ref": "campaign--c", "target_ref": "campaign--c", "revoked": false}]}"#,
        ];
        let specials = [
            '"', '{', '}', '[', ']', ',', ':', '\\', '\t', '\n', '#', '-', '0', 'é',
        ];
        // xorshift64: deterministic, no dependency.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for document in documents {
            for end in 0..=document.len() {
                if let Some(prefix) = document.get(..end) {
                    check_robust(prefix);
                }
            }
            for _ in 0..300 {
                let mut chars: Vec<char> = document.chars().collect();
                for _ in 0..1 + next() % 3 {
                    let at = (next() % chars.len() as u64) as usize;
                    chars[at] = specials[(next() % specials.len() as u64) as usize];
                }
                check_robust(&chars.into_iter().collect::<String>());
            }
        }
    }

    #[test]
    fn collector_counts_what_it_does_not_list() {
        let mut sources = Sources::default();
        let id = sources.add("x", "x");
        let mut collector = Collector::new();
        for _ in 0..Collector::LIMIT + 3 {
            collector.push(Diagnostic::error("E0304", "bad", Span::new(id, 0, 1)));
        }
        let listed = collector.finish();
        assert_eq!(listed.len(), Collector::LIMIT);
        assert_eq!(
            listed[Collector::LIMIT - 1].notes,
            ["3 more problems in this file are not listed"]
        );
    }
}
