//! JSON fact files: facts listed one object each, or rows grouped under their relation.
//!
//! A JSON fact file is one object whose members, in any order and any mix, are:
//!
//! - `"facts": [fact, ...]`, each `fact` an object with `"relation"` (a relation name,
//!   required), `"args"` (an array, required), and optionally `"source"` (a string shown
//!   at explanation leaves), `"confidence"` (a number in [0, 1]; 1 when absent), and
//!   `"since"` and `"until"` (dates as `"YYYY-MM-DD"` strings: the fact's window, as
//!   `@since` and `@until`), and the two keys `run --format json` writes for readers,
//!   `"fact"` (the fact as text; not read) and `"likelihood"` (its ICD 203 term; not
//!   read, and a warning, `W0360`, without a `"confidence"`);
//! - `"<relation>": [row, ...]`, each `row` either an array of arguments or an object with
//!   `"args"` and optionally `"source"`, `"confidence"`, `"since"` and `"until"`.
//!
//! ```json
//! {
//!   "facts": [
//!     {"relation": "claims", "args": ["gcsb", "conducted_by", "nz_pco_2021", "apt40"],
//!      "source": "GCSB statement 2024-03-26", "confidence": 0.95}
//!   ],
//!   "observed": [["nz_pco_2021", "2021-08-01"]],
//!   "grade": [["gcsb", "B", 2], {"args": ["ncsc_uk", "A", 1], "source": "NCSC"}]
//! }
//! ```
//!
//! So a relation named `facts` can only be written in the first form. What `run --format
//! json` prints is a file of the second form (the first for a relation named `facts`)
//! that loads back as the same facts with the same confidences and sources. Any other key is an
//! error (`E0308`), as is a key or `"relation"` that is not a relation name (`E0303`).
//!
//! | JSON argument | undeclared or `any` column | declared column |
//! |---|---|---|
//! | string | text, even when it looks like a date | text: text; date: parsed as `YYYY-MM-DD`; int, float: error |
//! | integer (no fraction or exponent) | int; float when it does not fit in 64 bits | int: int (error when too large); float: float; text, date: error |
//! | other number | float | float: float; other kinds: error |
//! | `{"date": "YYYY-MM-DD"}` | date | date: date; other kinds: error |
//! | `null`, boolean, array, other object | error (`E0308`) | error (`E0308`) |
//!
//! Within one file every fact of a relation must have the same number of arguments: the
//! declared number, or the number of its first fact (`E0305`). A fact with any error is not
//! loaded; the rest of the file is.

use rustc_hash::FxHashMap;

use super::tree::{self, Json, Node, Str};
use super::{
    is_relation_name, relation_name_like, Collector, FactError, InputFact, Loaded, Schema,
};
use crate::diagnostic::{suggest, Diagnostic, SourceId, Span};
use crate::value::{Kind, Value};

/// Parses `text`, registered as `source`, as a JSON fact file (a STIX bundle is not
/// recognised here: see [`super::parse_json`]).
pub fn parse(text: &str, source: SourceId, schema: &dyn Schema) -> Loaded {
    match tree::parse(text) {
        Ok(document) => from_tree(&document, source, schema),
        Err(error) => Loaded {
            diagnostics: vec![syntax_error(&error, source)],
            ..Loaded::default()
        },
    }
}

/// The diagnostic for a JSON syntax error.
pub(crate) fn syntax_error(error: &tree::SyntaxError, source: SourceId) -> Diagnostic {
    FactError::JsonSyntax {
        message: error.message.clone(),
        span: Span::new(source, error.start, error.end),
    }
    .into()
}

/// Reads the facts of a parsed JSON fact file.
pub(crate) fn from_tree(document: &Json<'_>, source: SourceId, schema: &dyn Schema) -> Loaded {
    let mut reader = Reader {
        source,
        schema,
        relations: FxHashMap::default(),
        facts: Vec::new(),
        diagnostics: Collector::new(),
    };
    match document.as_object() {
        Some(members) => {
            for (key, value) in members {
                reader.member(key, value);
            }
        }
        None => reader.shape(
            "a JSON fact file must be an object",
            format!("found {}", document.kind_name()),
            Some(
                "write `{\"facts\": [{\"relation\": ..., \"args\": [...]}]}` \
                 or `{\"<relation>\": [[...], ...]}`",
            ),
            document,
        ),
    }
    Loaded {
        facts: reader.facts,
        tables: Vec::new(),
        rule_files: Vec::new(),
        diagnostics: reader.diagnostics.finish(),
    }
}

/// The keys a fact object may have.
/// `fact` and `likelihood` are what `run --format json` writes for readers: the fact as
/// text, checked to be a string and otherwise not read (the arguments are what load),
/// and the ICD 203 term of the confidence (a warning when there is no confidence).
const FACT_KEYS: [&str; 8] = [
    "relation",
    "args",
    "source",
    "confidence",
    "since",
    "until",
    "fact",
    "likelihood",
];

/// What is known about one relation while reading a file.
struct Relation {
    columns: Option<Vec<Option<Kind>>>,
    /// Number of arguments each fact must have, and the first fact's span when that fact
    /// (not a declaration) set it.
    arity: Option<(usize, Option<Span>)>,
}

struct Reader<'s> {
    source: SourceId,
    schema: &'s dyn Schema,
    relations: FxHashMap<String, Relation>,
    facts: Vec<InputFact>,
    diagnostics: Collector,
}

/// A fact's optional annotations.
#[derive(Default)]
struct Annotations {
    source: Option<String>,
    confidence: Option<f64>,
    since: Option<i32>,
    until: Option<i32>,
}

impl Reader<'_> {
    fn span(&self, json: &Json<'_>) -> Span {
        Span::new(self.source, json.start, json.end)
    }

    fn str_span(&self, s: &Str<'_>) -> Span {
        let (start, end) = s.range();
        Span::new(self.source, start, end)
    }

    fn push(&mut self, error: FactError) {
        self.diagnostics.push(error.into());
    }

    fn shape(&mut self, message: &str, label: String, help: Option<&str>, at: &Json<'_>) {
        self.push(FactError::JsonShape {
            message: message.to_owned(),
            label,
            help: help.map(str::to_owned),
            span: self.span(at),
        });
    }

    /// One top-level member: the `facts` list or a relation's rows.
    fn member(&mut self, key: &Str<'_>, value: &Json<'_>) {
        if key.is("facts") {
            let Some(facts) = value.as_array() else {
                self.shape(
                    "`facts` must be an array of fact objects",
                    format!("found {}", value.kind_name()),
                    Some("write `\"facts\": [{\"relation\": ..., \"args\": [...]}]`"),
                    value,
                );
                return;
            };
            for fact in facts {
                if fact.as_object().is_some() {
                    self.fact_object(fact, None);
                } else {
                    self.shape(
                        "each entry of `facts` must be an object",
                        format!("found {}", fact.kind_name()),
                        Some("write `{\"relation\": ..., \"args\": [...]}`"),
                        fact,
                    );
                }
            }
            return;
        }
        let name = key.decode();
        if !is_relation_name(&name) {
            self.push(FactError::BadRelationName {
                suggestion: relation_name_like(&name),
                name: name.into_owned(),
                span: self.str_span(key),
            });
            return;
        }
        let Some(rows) = value.as_array() else {
            self.shape(
                &format!("the rows of `{name}` must be an array"),
                format!("found {}", value.kind_name()),
                Some(&format!("write `\"{name}\": [[...], ...]`")),
                value,
            );
            return;
        };
        for row in rows {
            match &row.node {
                Node::Array(args) => self.fact(&name, args, self.span(row), Annotations::default()),
                Node::Object(_) => self.fact_object(row, Some((&name, key))),
                _ => self.shape(
                    &format!("each row of `{name}` must be an array of arguments or an object"),
                    format!("found {}", row.kind_name()),
                    Some("write `[arg, ...]` or `{\"args\": [arg, ...], \"source\": \"...\"}`"),
                    row,
                ),
            }
        }
    }

    /// A fact written as an object; `grouped` is the relation and its key when the
    /// object is a row under that key.
    fn fact_object(&mut self, object: &Json<'_>, grouped: Option<(&str, &Str<'_>)>) {
        let members = object.as_object().unwrap_or_default();
        let mut ok = true;
        let mut relation = grouped.map(|(name, _)| name.to_owned());
        let mut args = None;
        let mut annotations = Annotations::default();
        let mut seen: Vec<&str> = Vec::new();
        let mut likelihood = None;
        for (key, value) in members {
            let Some(&field) = FACT_KEYS.iter().find(|k| key.is(k)) else {
                ok = false;
                let name = key.decode();
                let help = suggest(&name, FACT_KEYS).map(|s| format!("did you mean `{s}`?"));
                self.push(FactError::JsonShape {
                    message: format!("unknown key `{name}` in a fact"),
                    label: "not a fact key".to_owned(),
                    help: Some(help.unwrap_or_else(|| {
                        "a fact has `relation`, `args`, `source` and `confidence`".to_owned()
                    })),
                    span: self.str_span(key),
                });
                continue;
            };
            if seen.contains(&field) {
                ok = false;
                self.push(FactError::JsonShape {
                    message: format!("`{field}` is given twice in one fact"),
                    label: "repeated here".to_owned(),
                    help: Some(format!("keep one `{field}`")),
                    span: self.str_span(key),
                });
                continue;
            }
            seen.push(field);
            match field {
                "relation" => match (grouped, value.as_str()) {
                    (Some((name, group_key)), _) => {
                        ok = false;
                        let error = FactError::JsonShape {
                            message: "`relation` is not allowed in a row under a relation's key"
                                .to_owned(),
                            label: "not allowed here".to_owned(),
                            help: Some(format!(
                                "the row belongs to `{name}`; \
                                 remove `relation` or move the fact to `facts`"
                            )),
                            span: self.str_span(key),
                        };
                        let group = self.str_span(group_key);
                        self.diagnostics.push(
                            Diagnostic::from(error)
                                .with_secondary(group, "the relation is named here"),
                        );
                    }
                    (None, Some(name)) => {
                        let name = name.decode();
                        if is_relation_name(&name) {
                            relation = Some(name.into_owned());
                        } else {
                            ok = false;
                            self.push(FactError::BadRelationName {
                                suggestion: relation_name_like(&name),
                                name: name.into_owned(),
                                span: self.span(value),
                            });
                        }
                    }
                    (None, None) => {
                        ok = false;
                        self.shape(
                            "`relation` must be a string",
                            format!("found {}", value.kind_name()),
                            Some("write `\"relation\": \"claims\"`"),
                            value,
                        );
                    }
                },
                "args" => match value.as_array() {
                    Some(elements) => args = Some(elements),
                    None => {
                        ok = false;
                        self.shape(
                            "`args` must be an array",
                            format!("found {}", value.kind_name()),
                            Some("write `\"args\": [\"apt40\", 2021]`"),
                            value,
                        );
                    }
                },
                "source" => match value.as_str() {
                    Some(text) => annotations.source = Some(text.decode().into_owned()),
                    None => {
                        ok = false;
                        self.shape(
                            "`source` must be a string",
                            format!("found {}", value.kind_name()),
                            Some("write `\"source\": \"GCSB statement 2024-03-26\"`"),
                            value,
                        );
                    }
                },
                "fact" | "likelihood" => {
                    if value.as_str().is_none() {
                        ok = false;
                        self.shape(
                            &format!("`{field}` must be a string"),
                            format!("found {}", value.kind_name()),
                            Some(if field == "fact" {
                                "write the fact as text, `\"fact\": \"claims(gcsb, apt40)\"`, or leave it out: `args` is what loads"
                            } else {
                                "write an ICD 203 term such as `\"likely\"`, or leave it out: `confidence` is what loads"
                            }),
                            value,
                        );
                    } else if field == "likelihood" {
                        likelihood = Some(self.span(value));
                    }
                }
                "since" | "until" => {
                    let day =
                        value.as_str().and_then(|text| {
                            match crate::value::Value::parse_date(&text.decode()) {
                                Some(crate::value::Value::Date(day)) => Some(day),
                                _ => None,
                            }
                        });
                    match day {
                        Some(day) if field == "since" => annotations.since = Some(day),
                        Some(day) => annotations.until = Some(day),
                        None => {
                            ok = false;
                            self.shape(
                                "`since` and `until` must be dates written as strings",
                                format!("found {}", value.kind_name()),
                                Some("write `\"since\": \"2024-03-26\"` (YYYY-MM-DD)"),
                                value,
                            );
                        }
                    }
                }
                _ => match confidence(value) {
                    Some(c) => annotations.confidence = Some(c),
                    None => {
                        ok = false;
                        let found = match &value.node {
                            Node::Number(raw) => format!("`{raw}`"),
                            _ => value.kind_name().to_owned(),
                        };
                        self.push(FactError::BadConfidence {
                            found,
                            span: self.span(value),
                        });
                    }
                },
            }
        }
        let missing = match (&relation, args) {
            (None, _) if grouped.is_none() && !seen.contains(&"relation") => Some("relation"),
            (_, None) if !seen.contains(&"args") => Some("args"),
            _ => None,
        };
        if let Some(missing) = missing {
            self.shape(
                &format!("fact has no `{missing}`"),
                format!("`{missing}` is required"),
                Some("a fact needs `\"relation\": \"...\"` and `\"args\": [...]`"),
                object,
            );
            return;
        }
        if let (Some(span), None) = (likelihood, annotations.confidence) {
            self.push(FactError::LikelihoodOnly { span });
        }
        if let (true, Some(relation), Some(args)) = (ok, relation, args) {
            self.fact(&relation, args, self.span(object), annotations);
        }
    }

    /// Checks and adds one fact of `relation`.
    fn fact(&mut self, relation: &str, args: &[Json<'_>], span: Span, annotations: Annotations) {
        if !self.relations.contains_key(relation) {
            let columns = self.schema.columns(relation);
            let arity = columns.as_ref().map(|c| (c.len(), None));
            self.relations
                .insert(relation.to_owned(), Relation { columns, arity });
        }
        let info = self
            .relations
            .get_mut(relation)
            .expect("relation was inserted above");
        let (expected, first) = *info.arity.get_or_insert((args.len(), Some(span)));
        if args.len() != expected {
            self.push(FactError::WrongArity {
                relation: relation.to_owned(),
                expected,
                found: args.len(),
                span,
                first,
            });
            return;
        }
        let columns = self
            .relations
            .get(relation)
            .and_then(|info| info.columns.as_deref());
        let mut values = Vec::with_capacity(args.len());
        let mut errors = Vec::new();
        for (column, arg) in args.iter().enumerate() {
            let kind = columns.and_then(|kinds| kinds.get(column).copied().flatten());
            match self.value(relation, column, arg, kind) {
                Ok(value) => {
                    if let (Node::Number(raw), Value::Text(_)) = (&arg.node, &value) {
                        errors.push(FactError::BigInteger {
                            text: raw.to_string(),
                            span: self.span(arg),
                        });
                    }
                    values.push(value)
                }
                Err(error) => errors.push(error),
            }
        }
        // Warnings do not keep the fact out.
        let (warnings, errors): (Vec<_>, Vec<_>) = errors
            .into_iter()
            .partition(|e| matches!(e, FactError::BigInteger { .. }));
        for warning in warnings {
            self.push(warning);
        }
        if !errors.is_empty() {
            for error in errors {
                self.push(error);
            }
            return;
        }
        self.facts.push(InputFact {
            relation: relation.to_owned(),
            args: values,
            arg_spans: args.iter().map(|arg| self.span(arg)).collect(),
            span,
            confidence: annotations.confidence,
            source: annotations.source,
            since: annotations.since,
            until: annotations.until,
        });
    }

    /// The value of one argument in column `column` (0-based) of declared `kind`.
    fn value(
        &self,
        relation: &str,
        column: usize,
        arg: &Json<'_>,
        kind: Option<Kind>,
    ) -> Result<Value, FactError> {
        let mismatch = |expected: Kind, problem: &'static str, note: Option<&'static str>| {
            FactError::WrongKind {
                relation: relation.to_owned(),
                column: column + 1,
                expected,
                found: describe(arg),
                problem,
                note,
                span: self.span(arg),
            }
        };
        match (&arg.node, kind) {
            (Node::String(s), None | Some(Kind::Text)) => Ok(Value::Text(s.decode().into())),
            (Node::String(s), Some(Kind::Date)) => {
                let text = s.decode();
                Value::parse_date(&text).ok_or_else(|| {
                    let note = super::looks_like_date(&text).then_some("that day does not exist");
                    mismatch(Kind::Date, "not a date", note)
                })
            }
            (Node::String(_), Some(expected)) => {
                Err(mismatch(expected, "a string, not a number", None))
            }
            (Node::Number(raw), kind) => {
                let integer = !raw.contains(['.', 'e', 'E']);
                match (integer.then(|| raw.parse::<i64>()), kind) {
                    (Some(Ok(i)), None | Some(Kind::Int)) => Ok(Value::Int(i)),
                    // Past 64 bits an integer stays exact, as text (with `W0321`).
                    (Some(Err(_)), None) => Ok(Value::Text((*raw).into())),
                    (Some(Err(_)), Some(Kind::Int)) => Err(mismatch(
                        Kind::Int,
                        "does not fit in a 64-bit integer",
                        Some("integers range from -9223372036854775808 to 9223372036854775807"),
                    )),
                    (_, Some(Kind::Int)) => Err(mismatch(Kind::Int, "not an integer", None)),
                    (_, None | Some(Kind::Float)) => match raw.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(Value::Float(x)),
                        _ => Err(FactError::JsonShape {
                            message: format!("number `{raw}` is out of range"),
                            label: "too large for a 64-bit float".to_owned(),
                            help: None,
                            span: self.span(arg),
                        }),
                    },
                    (_, Some(expected)) => Err(mismatch(expected, "a number", None)),
                }
            }
            (Node::Object(members), kind) => {
                let date = match members.as_slice() {
                    [(key, value)] if key.is("date") => value.as_str().map(|s| s.decode()),
                    _ => None,
                };
                let Some(text) = date else {
                    return Err(FactError::JsonShape {
                        message: "an object argument must be a date, `{\"date\": \"YYYY-MM-DD\"}`"
                            .to_owned(),
                        label: "not a date object".to_owned(),
                        help: Some(
                            "write `{\"date\": \"2021-08-01\"}` for a date, or a string or number"
                                .to_owned(),
                        ),
                        span: self.span(arg),
                    });
                };
                match kind {
                    None | Some(Kind::Date) => Value::parse_date(&text).ok_or_else(|| {
                        let note =
                            super::looks_like_date(&text).then_some("that day does not exist");
                        mismatch(Kind::Date, "not a date", note)
                    }),
                    Some(expected) => Err(mismatch(expected, "a date", None)),
                }
            }
            _ => Err(FactError::JsonShape {
                message: format!(
                    "arguments must be strings, numbers or dates, found {}",
                    arg.kind_name()
                ),
                label: "not a string or number".to_owned(),
                help: Some("write the value as a string".to_owned()),
                span: self.span(arg),
            }),
        }
    }
}

/// A number in [0, 1].
fn confidence(value: &Json<'_>) -> Option<f64> {
    match value.node {
        Node::Number(raw) => raw.parse::<f64>().ok().filter(|c| (0.0..=1.0).contains(c)),
        _ => None,
    }
}

/// What an argument looks like, for "found ..." in messages.
fn describe(arg: &Json<'_>) -> String {
    let shown = |raw: &str| {
        let short: String = raw.chars().take(40).collect();
        let ellipsis = if short.len() < raw.len() { "..." } else { "" };
        format!("{short}{ellipsis}")
    };
    match &arg.node {
        Node::String(s) => format!("the string `\"{}\"`", shown(&s.decode())),
        Node::Number(raw) => format!("the number `{}`", shown(raw)),
        _ => arg.kind_name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::schema;
    use super::super::{parse_json, render, NoSchema};
    use crate::diagnostic::Sources;
    use crate::value::Kind;

    fn check(text: &str, declared: &[(&str, &[Option<Kind>])], expected: &str) {
        let mut sources = Sources::default();
        let source = sources.add("f.json", text);
        let loaded = if declared.is_empty() {
            parse_json(text, source, &NoSchema)
        } else {
            parse_json(text, source, &schema(declared))
        };
        assert_eq!(render(&loaded, &sources).trim_end(), expected.trim());
    }

    #[test]
    fn facts_list_form() {
        check(
            r#"{"facts": [
  {"relation": "claims", "args": ["gcsb", "conducted_by", "nz_pco_2021", "apt40"],
   "source": "GCSB statement", "confidence": 0.95},
  {"args": [1, 2.5, "2021-08-01"], "relation": "m"}
]}"#,
            &[],
            r#"
f.json:2:3 claims(gcsb, conducted_by, nz_pco_2021, apt40) @confidence(0.95) @source("GCSB statement")
f.json:4:3 m(1, 2.5, "2021-08-01")
"#,
        );
    }

    #[test]
    fn what_run_writes_loads_back() {
        // `run --format json` adds `fact` and `likelihood` for readers and writes dates
        // as objects, so that they do not load back as text.
        check(
            r#"{"seen": [
  {"fact": "seen(apt40, 2021-08-01, 0.5)", "args": ["apt40", {"date": "2021-08-01"}, 0.5],
   "confidence": 0.8573749999999999, "likelihood": "very likely", "source": "A; B"}
]}"#,
            &[],
            r#"f.json:2:3 seen(apt40, 2021-08-01, 0.5) @confidence(0.8573749999999999) @source("A; B")"#,
        );
    }

    #[test]
    fn date_objects_and_likelihood_terms_are_checked() {
        check(
            r#"{"d": [
  {"args": [{"date": "2021-02-30"}]},
  {"args": [{"day": "2021-02-03"}]},
  {"args": [{"date": 7}]},
  {"args": [{"date": "2021-02-03"}], "likelihood": "likely"},
  {"args": [{"date": "2021-02-03"}], "likelihood": 0.7, "fact": ["d"]}
], "t": [{"args": [{"date": "2021-02-03"}]}]}"#,
            &[("t", &[Some(Kind::Text)])],
            r#"
f.json:5:3 d(2021-02-03)
error[E0304]: expected date in column 1 of `d`, found an object f.json:2:13
  label: not a date
  note: that day does not exist
  help: write a date as YYYY-MM-DD such as `2021-08-01` (in JSON, a string), or change the declaration of `d`
error[E0308]: an object argument must be a date, `{"date": "YYYY-MM-DD"}` f.json:3:13
  label: not a date object
  help: write `{"date": "2021-08-01"}` for a date, or a string or number
error[E0308]: an object argument must be a date, `{"date": "YYYY-MM-DD"}` f.json:4:13
  label: not a date object
  help: write `{"date": "2021-08-01"}` for a date, or a string or number
warning[W0360]: `likelihood` is given without `confidence`; the fact loads as certain f.json:5:52
  label: not read
  note: a likelihood term spans a range of confidences; only `confidence` sets one
  help: add `"confidence": 0.8` (a number from 0 to 1), or remove `likelihood`
error[E0308]: `likelihood` must be a string f.json:6:52
  label: found a number
  help: write an ICD 203 term such as `"likely"`, or leave it out: `confidence` is what loads
error[E0308]: `fact` must be a string f.json:6:65
  label: found an array
  help: write the fact as text, `"fact": "claims(gcsb, apt40)"`, or leave it out: `args` is what loads
error[E0304]: expected text in column 1 of `t`, found an object f.json:7:20
  label: a date
  help: write the value as text (in JSON, a string), or change the declaration of `t`
"#,
        );
    }

    #[test]
    fn windows_are_dates() {
        check(
            r#"{"alias_of": [{"args": ["APT40", "apt40"], "since": "2019-03-04"},
  {"args": ["TEMP.Periscope", "apt40"], "until": "2019-03-03", "since": "2018-03-16"},
  {"args": ["X", "x"], "since": 2019}]}"#,
            &[],
            r#"
f.json:1:15 alias_of("APT40", apt40) @since(2019-03-04)
f.json:2:3 alias_of("TEMP.Periscope", apt40) @since(2018-03-16) @until(2019-03-03)
error[E0308]: `since` and `until` must be dates written as strings f.json:3:33
  label: found a number
  help: write `"since": "2024-03-26"` (YYYY-MM-DD)
"#,
        );
    }

    #[test]
    fn grouped_form_with_plain_and_annotated_rows() {
        check(
            r#"{"observed": [["nz_pco_2021", "2021-08-01"], {"args": ["x", "2020-01-31"], "confidence": 1}],
 "grade": [["gcsb", "B", 2]], "empty": []}"#,
            &[("observed", &[Some(Kind::Text), Some(Kind::Date)])],
            r#"
f.json:1:15 observed(nz_pco_2021, 2021-08-01)
f.json:1:46 observed(x, 2020-01-31) @confidence(1)
f.json:2:12 grade(gcsb, "B", 2)
"#,
        );
    }

    #[test]
    fn declared_kinds_convert_or_report() {
        check(
            r#"{"n": [[1, 1, "a"], [1.5, "2", 3], [99999999999999999999, 2, "b"]]}"#,
            &[("n", &[Some(Kind::Int), Some(Kind::Float), Some(Kind::Text)])],
            r#"
f.json:1:8 n(1, 1.0, a)
error[E0304]: expected int in column 1 of `n`, found the number `1.5` f.json:1:22
  label: not an integer
  help: write a whole number such as `42`, or change the declaration of `n`
error[E0304]: expected float in column 2 of `n`, found the string `"2"` f.json:1:27
  label: a string, not a number
  help: write a number such as `0.5`, or change the declaration of `n`
error[E0304]: expected text in column 3 of `n`, found the number `3` f.json:1:32
  label: a number
  help: write the value as text (in JSON, a string), or change the declaration of `n`
error[E0304]: expected int in column 1 of `n`, found the number `99999999999999999999` f.json:1:37
  label: does not fit in a 64-bit integer
  note: integers range from -9223372036854775808 to 9223372036854775807
  help: write a whole number such as `42`, or change the declaration of `n`
"#,
        );
    }

    #[test]
    fn shape_errors_are_reported_and_the_rest_loads() {
        check(
            r#"{"facts": [{"relation": "Bad", "args": []}, {"relation": "r", "args": [null]},
  {"relation": "r", "args": ["x"], "confidance": 0.5}, {"args": ["x"]}, 3,
  {"relation": "r", "args": ["y"], "confidence": 2}],
 "ok": [["a"], ["b", "c"]], "r-s": [], "t": {}}"#,
            &[],
            r#"
f.json:4:9 ok(a)
error[E0303]: `Bad` is not a relation name f.json:1:25
  label: not a lower-case identifier
  note: relation names match [a-z][A-Za-z0-9_]* and are not `not` or `rel`
  help: rename it, for example to `bad`
error[E0308]: arguments must be strings, numbers or dates, found null f.json:1:72
  label: not a string or number
  help: write the value as a string
error[E0308]: unknown key `confidance` in a fact f.json:2:36
  label: not a fact key
  help: did you mean `confidence`?
error[E0308]: fact has no `relation` f.json:2:56
  label: `relation` is required
  help: a fact needs `"relation": "..."` and `"args": [...]`
error[E0308]: each entry of `facts` must be an object f.json:2:73
  label: found a number
  help: write `{"relation": ..., "args": [...]}`
error[E0309]: confidence must be a number from 0 to 1, found `2` f.json:3:50
  label: not in [0, 1]
  help: write a number such as `0.95`, or leave `confidence` out for 1
error[E0305]: `ok` expects 1 value, found 2 f.json:4:16
  label: expected 1 value, as in the first row
  see f.json:4:9: the first row sets the number of values
  help: give every row of `ok` the same number of values
error[E0303]: `r-s` is not a relation name f.json:4:29
  label: not a lower-case identifier
  note: relation names match [a-z][A-Za-z0-9_]* and are not `not` or `rel`
  help: rename it, for example to `r_s`
error[E0308]: the rows of `t` must be an array f.json:4:45
  label: found an object
  help: write `"t": [[...], ...]`
"#,
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        check(
            "{\"facts\": [\n  {\"relation\": \"r\", \"args\": [1 2]}\n]}",
            &[],
            "error[E0307]: invalid JSON: expected `,` or `]`, found `2` f.json:2:32",
        );
        check(
            "[1, 2]",
            &[],
            r#"
error[E0308]: a JSON fact file must be an object f.json:1:1
  label: found an array
  help: write `{"facts": [{"relation": ..., "args": [...]}]}` or `{"<relation>": [[...], ...]}`
"#,
        );
    }

    #[test]
    fn strings_with_escapes_are_decoded() {
        check(
            r#"{"s": [["a\"b\u00e9"]]}"#,
            &[],
            r#"f.json:1:8 s("a\"bé")"#,
        );
    }
}
