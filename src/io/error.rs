//! Everything that can go wrong while loading fact files, and its one conversion to a
//! [`Diagnostic`].

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::value::Kind;

/// A problem found while loading fact files; the variant docs name the code it becomes.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FactError {
    /// `E0301`: a path cannot be read (missing, not permitted, a failing directory
    /// listing, larger than 4 GiB).
    #[error("cannot read `{path}`: {reason}")]
    Unreadable {
        /// The path as given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// `E0302`: a file's bytes are not UTF-8. Its text is registered with the invalid
    /// bytes replaced, so the span can be shown.
    #[error("`{path}` is not valid UTF-8")]
    NotUtf8 {
        /// The file.
        path: String,
        /// The first invalid sequence (as its replacement character).
        span: Span,
    },
    /// `E0303`: a TSV or CSV file's name, without the extension, is not a relation name.
    #[error("fact file name `{file_name}` is not a relation name")]
    BadFileName {
        /// The file name with its extension.
        file_name: String,
        /// A valid file name close to it.
        suggestion: String,
    },
    /// `E0303`: a relation named in a JSON fact file is not a relation name.
    #[error("`{name}` is not a relation name")]
    BadRelationName {
        /// The name as written.
        name: String,
        /// A valid name close to it.
        suggestion: String,
        /// The JSON string holding it.
        span: Span,
    },
    /// `E0304`: a value does not have, or does not parse as, its column's declared kind.
    #[error("expected {} in column {column} of `{relation}`, found {found}", expected.name())]
    WrongKind {
        /// The relation.
        relation: String,
        /// 1-based column number.
        column: usize,
        /// The declared kind.
        expected: Kind,
        /// What the value looks like ("text `abc`").
        found: String,
        /// Why it does not fit, shown under the value ("not an integer").
        problem: &'static str,
        /// More detail, when the shape was right but the value is not.
        note: Option<&'static str>,
        /// The value.
        span: Span,
    },
    /// `E0305`: a row or fact has a different number of values than the relation's
    /// declaration or its first row in the same file.
    #[error("`{relation}` expects {}, found {found}", counted(*expected, "value"))]
    WrongArity {
        /// The relation.
        relation: String,
        /// Number of columns expected.
        expected: usize,
        /// Number of values found.
        found: usize,
        /// The row or fact.
        span: Span,
        /// The first row, when it (not a declaration) set the expected number.
        first: Option<Span>,
    },
    /// `E0304` or `E0305`: a STIX or MISP relation's declaration does not match the
    /// columns the importer produces (`E0305` when the number of columns differs).
    #[error("`{relation}` is declared as ({declared}), but {format} import produces ({produced})")]
    StixSignature {
        /// The importer: `STIX` or `MISP`.
        format: &'static str,
        /// The relation.
        relation: &'static str,
        /// The declared column kinds, comma-separated.
        declared: String,
        /// The produced column kinds, comma-separated.
        produced: String,
        /// Whether the number of columns differs.
        arity: bool,
        /// The first fact of the relation.
        span: Span,
    },
    /// `E0306`: a CSV file cannot be split into records.
    #[error("malformed CSV: {message}")]
    Csv {
        /// The CSV reader's message.
        message: String,
        /// Where reading stopped.
        span: Span,
    },
    /// `E0307`: a JSON file is not valid JSON.
    #[error("invalid JSON: {message}")]
    JsonSyntax {
        /// What was expected and found.
        message: String,
        /// The offending bytes.
        span: Span,
    },
    /// `E0308`: a JSON fact file has an unexpected shape.
    #[error("{message}")]
    JsonShape {
        /// One-line summary.
        message: String,
        /// Shown under the value.
        label: String,
        /// What to write instead.
        help: Option<String>,
        /// The value at fault.
        span: Span,
    },
    /// `E0309`: a confidence is not a number in [0, 1].
    #[error("confidence must be a number from 0 to 1, found {found}")]
    BadConfidence {
        /// What was written.
        found: String,
        /// The value.
        span: Span,
    },
    /// `W0360`: a JSON fact has a `likelihood` term but no `confidence`: the term is
    /// not read, so the fact loads as certain.
    #[error("`likelihood` is given without `confidence`; the fact loads as certain")]
    LikelihoodOnly {
        /// The `likelihood` member's value.
        span: Span,
    },
    /// `E0310`: a STIX bundle has no `objects` array.
    #[error("STIX bundle has no `objects` array")]
    NoObjects {
        /// The bundle, or its `objects` member.
        span: Span,
    },
    /// `E0311`: a file given by name has an extension no loader handles.
    #[error("`{path}` is not a fact file")]
    UnsupportedFile {
        /// The path as given.
        path: String,
    },
    /// `W0301`: a STIX object is malformed.
    #[error("malformed STIX object: {problem}")]
    MalformedObject {
        /// What is wrong.
        problem: String,
        /// What the importer does about it ("the object is skipped").
        consequence: &'static str,
        /// The object or property at fault.
        span: Span,
    },
    /// `W0302`: a STIX relationship refers to an id that is not in the bundle.
    #[error("STIX relationship refers to `{id}`, which is not in the bundle")]
    UnknownRef {
        /// The missing id.
        id: String,
        /// The reference.
        span: Span,
    },
    /// `W0303`: revoked or deprecated STIX objects, and relationships touching them, were
    /// skipped; one summary per file.
    #[error(
        "skipped revoked or deprecated STIX data: {}, {}",
        counted(*objects, "object"),
        counted(*relationships, "relationship")
    )]
    Revoked {
        /// Objects skipped.
        objects: usize,
        /// Relationships skipped: revoked or deprecated themselves, or touching a skipped
        /// object.
        relationships: usize,
        /// Counts per STIX type, such as "2 attack-pattern, 1 relationship".
        breakdown: String,
        /// The first skipped object.
        span: Span,
    },
    /// `W0304`: two STIX objects carry the same ATT&CK id.
    #[error("ATT&CK id `{external_id}` is used by two STIX objects")]
    DuplicateAttackId {
        /// The ATT&CK id.
        external_id: String,
        /// The later object's STIX id, which keys it instead.
        stix_id: String,
        /// The later object's ATT&CK id.
        span: Span,
        /// The earlier object's ATT&CK id.
        first: Span,
    },
    /// `W0322`: a STIX object's ATT&CK id is the STIX id of another object.
    #[error("ATT&CK id `{external_id}` is the STIX id of another object")]
    AttackIdIsStixId {
        /// The ATT&CK id.
        external_id: String,
        /// This object's STIX id, which keys it instead.
        stix_id: String,
        /// The ATT&CK id.
        span: Span,
    },
    /// `W0305`: a STIX property has an unusable value and is ignored.
    #[error("STIX property `{property}` ignored: {problem}")]
    BadProperty {
        /// The property name.
        property: &'static str,
        /// What is wrong with the value.
        problem: String,
        /// The value.
        span: Span,
    },
    /// `E0306`: a CSV field opens a quote that is never closed.
    #[error("a quoted field is never closed")]
    UnclosedQuote {
        /// The opening quote.
        span: Span,
    },
    /// `W0320`: a backslash in a TSV field does not start one of the escapes `\\`,
    /// `\t`, `\n`, `\r`, `\#`; it is kept as written.
    #[error("`\\{escaped}` in a TSV field is not an escape; the backslash is kept as written")]
    UnknownEscape {
        /// What follows the backslash (empty at the end of the field).
        escaped: String,
        /// The backslash and what follows it.
        span: Span,
    },
    /// `W0321`: an integer in a column of no declared kind does not fit in 64 bits; it
    /// is kept as text, so that it stays exact and distinct from its neighbours.
    #[error("integer `{text}` does not fit in 64 bits; it is kept exact, as text")]
    BigInteger {
        /// The integer as written.
        text: String,
        /// The value.
        span: Span,
    },
    /// `E0325`: a path is neither a regular file nor a directory (a FIFO, a socket, a
    /// device), which could block forever or never end when read.
    #[error("cannot read `{path}`: it is {what}, not a regular file")]
    NotRegular {
        /// The path as given.
        path: String,
        /// What it is ("a FIFO", "a socket", "a device").
        what: &'static str,
    },
    /// `W0330`: STIX objects of types that are neither mapped nor part of STIX 2.1 (custom
    /// `x-` types, misspelt types) were ignored; one summary per file.
    #[error("ignored {} of unknown STIX types", counted(*objects, "object"))]
    UnknownTypes {
        /// Objects ignored.
        objects: usize,
        /// Counts per type, such as "3 x-mitre-tactic, 1 intrusion_set".
        breakdown: String,
        /// The first such object's `type`.
        span: Span,
    },
    /// `W0331`: a STIX object's `created_by_ref` names an identity that is not in the
    /// bundle; the object is kept without a `created_by` fact.
    #[error("`created_by_ref` refers to `{id}`, which is not an identity in the bundle")]
    UnknownCreator {
        /// The reference.
        id: String,
        /// The reference's value.
        span: Span,
    },
    /// `E0340`: a MISP document has the wrong shape at the top (`values` or `response`
    /// not an array, `Event` not an object); nothing of it is loaded.
    #[error("{message}")]
    MispShape {
        /// One-line summary.
        message: String,
        /// Shown under the value ("found a string").
        label: String,
        /// The value at fault.
        span: Span,
    },
    /// `W0340`: a MISP cluster, event, attribute, object, tag or galaxy lacks what it
    /// needs, or is not an object.
    #[error("malformed MISP data: {problem}")]
    MispMalformed {
        /// What is wrong.
        problem: String,
        /// What the importer does about it ("the attribute is skipped").
        consequence: &'static str,
        /// The object or member at fault.
        span: Span,
    },
    /// `W0341`: two galaxy clusters share a name (a value or synonym); both keep it.
    #[error("`{alias}` names two MISP clusters: `{first_cluster}` and `{cluster}`")]
    SharedAlias {
        /// The shared name.
        alias: String,
        /// The later cluster's value.
        cluster: String,
        /// The earlier cluster's value.
        first_cluster: String,
        /// The name in the later cluster.
        span: Span,
        /// The name in the earlier cluster.
        first: Span,
    },
    /// `W0342`: a MISP tag is not a well-formed machine tag.
    #[error("MISP tag `{tag}` is not a well-formed machine tag: {problem}")]
    BadTag {
        /// The tag as written.
        tag: String,
        /// What is wrong with it.
        problem: &'static str,
        /// The tag's name.
        span: Span,
    },
    /// `W0343`: a tag of a taxonomy the importer reads (`admiralty-scale`,
    /// `estimative-language`) has an unknown predicate or value.
    #[error("MISP tag `{tag}` is not in the {taxonomy} taxonomy: {problem}")]
    UnknownAdmiralty {
        /// The tag as written.
        tag: String,
        /// The taxonomy's namespace.
        taxonomy: &'static str,
        /// What is unknown.
        problem: String,
        /// The tag's name.
        span: Span,
    },
    /// `W0344`: a MISP property has an unusable value and is ignored.
    #[error("MISP property `{property}` ignored: {problem}")]
    MispBadProperty {
        /// The property name.
        property: String,
        /// What is wrong with the value.
        problem: String,
        /// The value.
        span: Span,
    },
    /// `W0345`: a galaxy cluster repeats another's uuid (it is skipped), or the symbol
    /// made from its value is taken (it is keyed by its uuid).
    #[error("MISP cluster clash: {what}")]
    DuplicateCluster {
        /// What clashes.
        what: String,
        /// What the importer does about it.
        consequence: &'static str,
        /// The later cluster's uuid or value.
        span: Span,
        /// The earlier one's.
        first: Span,
    },
    /// `W0346`: MISP attributes or objects marked `"deleted": true` were skipped; one
    /// summary per file.
    #[error("skipped {count} MISP attributes or objects marked deleted")]
    MispDeleted {
        /// How many.
        count: usize,
        /// The first one.
        span: Span,
    },
    /// `W0306`: a directory entry was not loaded.
    #[error("{} `{path}` was not loaded", if *is_dir { "subdirectory" } else { "file" })]
    NotLoaded {
        /// The entry.
        path: String,
        /// Whether it is a directory.
        is_dir: bool,
    },
}

/// `n` and the noun, plural unless `n` is 1.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl FactError {
    /// The stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            FactError::Unreadable { .. } => "E0301",
            FactError::NotUtf8 { .. } => "E0302",
            FactError::BadFileName { .. } | FactError::BadRelationName { .. } => "E0303",
            FactError::WrongKind { .. } => "E0304",
            FactError::StixSignature { arity: false, .. } => "E0304",
            FactError::WrongArity { .. } | FactError::StixSignature { arity: true, .. } => "E0305",
            FactError::Csv { .. } | FactError::UnclosedQuote { .. } => "E0306",
            FactError::JsonSyntax { .. } => "E0307",
            FactError::JsonShape { .. } => "E0308",
            FactError::BadConfidence { .. } => "E0309",
            FactError::LikelihoodOnly { .. } => "W0360",
            FactError::NoObjects { .. } => "E0310",
            FactError::UnsupportedFile { .. } => "E0311",
            FactError::MalformedObject { .. } => "W0301",
            FactError::UnknownRef { .. } => "W0302",
            FactError::Revoked { .. } => "W0303",
            FactError::DuplicateAttackId { .. } => "W0304",
            FactError::AttackIdIsStixId { .. } => "W0322",
            FactError::BadProperty { .. } => "W0305",
            FactError::NotLoaded { .. } => "W0306",
            FactError::UnknownTypes { .. } => "W0330",
            FactError::UnknownCreator { .. } => "W0331",
            FactError::UnknownEscape { .. } => "W0320",
            FactError::BigInteger { .. } => "W0321",
            FactError::NotRegular { .. } => "E0325",
            FactError::MispShape { .. } => "E0340",
            FactError::MispMalformed { .. } => "W0340",
            FactError::SharedAlias { .. } => "W0341",
            FactError::BadTag { .. } => "W0342",
            FactError::UnknownAdmiralty { .. } => "W0343",
            FactError::MispBadProperty { .. } => "W0344",
            FactError::DuplicateCluster { .. } => "W0345",
            FactError::MispDeleted { .. } => "W0346",
        }
    }
}

impl From<FactError> for Diagnostic {
    fn from(error: FactError) -> Diagnostic {
        let code = error.code();
        let message = error.to_string();
        let placed = |span: Span| Diagnostic::error(code, message.clone(), span);
        let mut diagnostic = match error {
            FactError::Unreadable { .. } | FactError::UnsupportedFile { .. } => {
                let help = matches!(error, FactError::UnsupportedFile { .. }).then_some(
                    "fact files end in `.tsv`, `.csv` or `.json`; \
                     rule files in `.facts` or `.rules`",
                );
                let diagnostic = Diagnostic::error_unplaced(code, message);
                match help {
                    Some(help) => diagnostic.with_help(help),
                    None => diagnostic,
                }
            }
            FactError::NotUtf8 { span, .. } => placed(span)
                .with_label("first invalid byte")
                .with_help("save the file as UTF-8"),
            FactError::BadFileName { suggestion, .. } => Diagnostic::error_unplaced(code, message)
                .with_note(
                    "a TSV or CSV file's name, without the extension, names the relation its \
                     rows belong to; relation names match [a-z][A-Za-z0-9_]*",
                )
                .with_help(format!("rename the file to `{suggestion}`")),
            FactError::BadRelationName {
                suggestion, span, ..
            } => placed(span)
                .with_label("not a lower-case identifier")
                .with_note("relation names match [a-z][A-Za-z0-9_]* and are not `not` or `rel`")
                .with_help(format!("rename it, for example to `{suggestion}`")),
            FactError::WrongKind {
                relation,
                expected,
                problem,
                note,
                span,
                ..
            } => {
                let example = match expected {
                    Kind::Text => "write the value as text (in JSON, a string)",
                    Kind::Int => "write a whole number such as `42`",
                    Kind::Float => "write a number such as `0.5`",
                    Kind::Date => {
                        "write a date as YYYY-MM-DD such as `2021-08-01` (in JSON, a string)"
                    }
                };
                let diagnostic = placed(span).with_label(problem).with_help(format!(
                    "{example}, or change the declaration of `{relation}`"
                ));
                match note {
                    Some(note) => diagnostic.with_note(note),
                    None => diagnostic,
                }
            }
            FactError::WrongArity {
                relation,
                expected,
                span,
                first,
                ..
            } => match first {
                Some(first) => placed(span)
                    .with_label(format!(
                        "expected {}, as in the first row",
                        counted(expected, "value")
                    ))
                    .with_secondary(first, "the first row sets the number of values")
                    .with_help(format!(
                        "give every row of `{relation}` the same number of values"
                    )),
                None => placed(span)
                    .with_label(format!("expected {}", counted(expected, "value")))
                    .with_note(format!("`{relation}` is declared with {expected} columns"))
                    .with_help("add or remove values, or change the declaration"),
            },
            FactError::StixSignature {
                relation,
                span,
                format,
                ..
            } => placed(span)
                .with_label(format!("produced from this {format} object"))
                .with_help(format!(
                    "change the declaration of `{relation}` or declare its columns as `any`"
                )),
            FactError::Csv { span, .. } => placed(span).with_label("reading stopped here"),
            FactError::UnclosedQuote { span } => placed(span)
                .with_label("this quote opens a field that runs to the end of the file")
                .with_help("close the quote, or write a quote inside a quoted field as `\"\"`"),
            FactError::JsonSyntax { span, .. } => placed(span),
            FactError::JsonShape {
                label, help, span, ..
            } => {
                let diagnostic = placed(span).with_label(label);
                match help {
                    Some(help) => diagnostic.with_help(help),
                    None => diagnostic,
                }
            }
            FactError::BadConfidence { span, .. } => placed(span)
                .with_label("not in [0, 1]")
                .with_help("write a number such as `0.95`, or leave `confidence` out for 1"),
            FactError::NoObjects { span } => placed(span)
                .with_label("a bundle with `\"type\": \"bundle\"` needs `\"objects\": [...]`")
                .with_help("remove `\"type\": \"bundle\"` if this is a JSON fact file"),
            FactError::MalformedObject {
                consequence, span, ..
            } => placed(span).with_label(consequence),
            FactError::UnknownRef { span, .. } => {
                placed(span).with_label("the relationship is skipped")
            }
            FactError::Revoked {
                breakdown, span, ..
            } => placed(span)
                .with_label("the first one skipped")
                .with_note(format!("skipped: {breakdown}"))
                .with_note(
                    "revoked and deprecated ATT&CK objects have been replaced or withdrawn; \
                     they and relationships touching them are not loaded",
                ),
            FactError::DuplicateAttackId {
                stix_id,
                span,
                first,
                ..
            } => placed(span)
                .with_label(format!(
                    "this object is keyed by its STIX id `{stix_id}` instead"
                ))
                .with_secondary(first, "first used here"),
            FactError::AttackIdIsStixId { stix_id, span, .. } => placed(span).with_label(format!(
                "this object is keyed by its STIX id `{stix_id}` instead, so the two stay apart"
            )),
            FactError::BadProperty { span, .. } => placed(span).with_label("ignored"),
            FactError::LikelihoodOnly { span } => placed(span)
                .with_label("not read")
                .with_note("a likelihood term spans a range of confidences; only `confidence` sets one")
                .with_help("add `\"confidence\": 0.8` (a number from 0 to 1), or remove `likelihood`"),
            FactError::UnknownTypes {
                breakdown, span, ..
            } => placed(span)
                .with_label("the first one ignored")
                .with_note(format!("ignored: {breakdown}"))
                .with_help(
                    "check the spelling of `type`; custom (`x-`) objects are not mapped to facts",
                ),
            FactError::UnknownCreator { span, .. } => placed(span)
                .with_label("no `created_by` fact for this object")
                .with_help("include the identity object in the bundle"),
            FactError::UnknownEscape { span, .. } => placed(span)
                .with_label("not an escape")
                .with_note("TSV fields read `\\\\`, `\\t`, `\\n`, `\\r` and `\\#` as a backslash, tab, line feed, carriage return and `#`")
                .with_help("write `\\\\` for a backslash"),
            FactError::BigInteger { span, .. } => placed(span)
                .with_label("kept as text")
                .with_note("as text it equals only the same digits, orders by bytes, and takes no arithmetic; a float would have merged it with nearby integers")
                .with_help("declare the column `str` to read it as text without this warning"),
            FactError::NotRegular { .. } => Diagnostic::error_unplaced(code, message)
                .with_note("reading a FIFO, socket or device could block forever")
                .with_help("copy the contents into a regular file and pass that"),
            FactError::MispShape { label, span, .. } => placed(span)
                .with_label(label)
                .with_help(
                    "a galaxy cluster file is `{\"type\": ..., \"uuid\": ..., \"values\": [...]}`; \
                     events are `{\"Event\": {...}}`, `{\"response\": [{\"Event\": {...}}, ...]}` \
                     or `[{\"Event\": {...}}, ...]`",
                ),
            FactError::MispMalformed {
                consequence, span, ..
            } => placed(span).with_label(consequence),
            FactError::SharedAlias {
                alias,
                first_cluster,
                span,
                first,
                ..
            } => placed(span)
                .with_label("also a name of an earlier cluster")
                .with_secondary(first, format!("`{first_cluster}` has it here"))
                .with_note(format!(
                    "both clusters keep `{alias}`: they are not merged, and a claim naming \
                     `{alias}` resolves to neither (`ambiguous_name` in the shipped rules)"
                ))
                .with_help(
                    "name the group by its cluster's value or by a synonym only one cluster has",
                ),
            FactError::BadTag { span, .. } => placed(span)
                .with_label("kept as a plain tag, read as nothing else")
                .with_help("machine tags are `namespace:predicate` or `namespace:predicate=\"value\"`"),
            FactError::UnknownAdmiralty { span, taxonomy, .. } => placed(span)
                .with_label("nothing is read from it")
                .with_help(if taxonomy == "admiralty-scale" {
                    "write `admiralty-scale:source-reliability=\"b\"` (letters a to g) or \
                     `admiralty-scale:information-credibility=\"2\"` (1 to 6)"
                } else {
                    "write `estimative-language:likelihood-probability=\"likely\"` (almost-no-chance, \
                     very-unlikely, unlikely, roughly-even-chance, likely, very-likely, almost-certain) \
                     or `estimative-language:confidence-in-analytic-judgment=\"moderate\"` (low, moderate, high)"
                }),
            FactError::MispBadProperty { span, .. } => placed(span).with_label("ignored"),
            FactError::MispDeleted { span, .. } => placed(span)
                .with_label("the first one skipped")
                .with_note("deleted data was withdrawn by its creator; it is not loaded as evidence"),
            FactError::DuplicateCluster {
                consequence,
                span,
                first,
                ..
            } => {
                let diagnostic = placed(span).with_label(consequence);
                if first == span {
                    diagnostic
                } else {
                    diagnostic.with_secondary(first, "first used here")
                }
            }
            FactError::NotLoaded { is_dir, .. } => Diagnostic::error_unplaced(code, message)
                .with_help(if is_dir {
                    "loading a directory is not recursive; pass the subdirectory as its own path"
                } else {
                    "only `.tsv`, `.csv`, `.json`, `.facts` and `.rules` files are loaded"
                }),
        };
        if code.starts_with('W') {
            diagnostic.severity = Severity::Warning;
        }
        diagnostic
    }
}
