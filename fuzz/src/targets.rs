//! The fuzz targets as plain functions of the input bytes, shared by the cargo-fuzz
//! binaries (`fuzz/fuzz_targets/`), the corpus replayer (`fuzz/src/bin/replay.rs`) and the
//! regression tests (`tests/it/differential.rs` includes this file by path).
//!
//! A target passes when it returns. Anything the user could write is fair input: a panic,
//! a hang or a disagreement between two evaluation strategies is a bug in ascribe. Only
//! `eval` skips inputs, those whose model could be unboundedly large (arithmetic in a
//! recursive rule) or that are too big to evaluate quickly; that is a limit of fuzzing,
//! not of the engine.

use std::collections::HashMap;
use std::fmt::Write as _;

use ascribe::cli::args::FactFormat;
use ascribe::cli::{output, render};
use ascribe::diagnostic::{Diagnostic, SourceId, Sources};
use ascribe::eval::{evaluate, EvalOptions, Model, Strategy};
use ascribe::io::{delimited, json, stix, InputFact, Schema};
use ascribe::program::{lower, Literal, PredId, Program};
use ascribe::value::{Kind, Value};

/// A fuzz target: returns, or panics on a bug.
pub type Target = fn(&[u8]);

/// Every target by name, for the replayer.
pub const TARGETS: [(&str, Target); 5] = [
    ("rules", rules),
    ("delimited", delimited),
    ("json", json),
    ("stix", stix),
    ("eval", eval),
];

/// Inputs longer than this are ignored by `eval` (evaluation cost grows fast with size).
pub const EVAL_MAX_LEN: usize = 1024;

/// The rule-language parser, lowering and lints on arbitrary text, with every diagnostic
/// rendered (which checks that spans fall on character boundaries).
pub fn rules(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut sources = Sources::default();
    let id = sources.add("fuzz.rules", text.into_owned());
    let (module, mut diagnostics) = ascribe::parse(id, sources.text(id));
    let modules = [module];
    let (program, more) = lower(&modules, Vec::new(), &sources);
    diagnostics.extend(more);
    if let Some(program) = &program {
        diagnostics.extend(ascribe::program::lint::lint(program, &modules));
    }
    ascribe::program::lint::apply_allows(&modules, &mut diagnostics);
    render_all(&sources, &diagnostics);
    if let Some(program) = program {
        let mut out = String::new();
        for rule in program.rules() {
            ascribe::program::write_rule(&mut out, &program, rule, None, program.interner());
            out.push('\n');
        }
    }
}

/// A schema for one relation `r` with kinds chosen by a byte: undeclared, or declared
/// with arity 1-4 and each column `int`, `float`, `date`, text or `any`.
struct ByteSchema {
    columns: Option<Vec<Option<Kind>>>,
}

impl ByteSchema {
    fn from_byte(byte: u8) -> ByteSchema {
        if byte & 1 == 0 {
            return ByteSchema { columns: None };
        }
        let arity = 1 + (byte >> 1) as usize % 4;
        let mut bits = byte >> 3;
        let mut columns = Vec::new();
        for _ in 0..arity {
            columns.push(match bits % 5 {
                0 => None,
                1 => Some(Kind::Int),
                2 => Some(Kind::Float),
                3 => Some(Kind::Date),
                _ => Some(Kind::Text),
            });
            bits = bits.rotate_right(2);
        }
        ByteSchema {
            columns: Some(columns),
        }
    }
}

impl Schema for ByteSchema {
    fn columns(&self, relation: &str) -> Option<Vec<Option<Kind>>> {
        (relation == "r").then(|| self.columns.clone()).flatten()
    }
}

/// TSV and CSV rows: the first byte picks the delimiter and the schema of relation `r`,
/// the rest is the file.
pub fn delimited(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let delimiter = if first & 0x80 == 0 {
        delimited::Delimiter::Tab
    } else {
        delimited::Delimiter::Comma
    };
    let schema = ByteSchema::from_byte(first & 0x7f);
    let mut sources = Sources::default();
    let id = sources.add("r.tsv", String::from_utf8_lossy(rest).into_owned());
    let loaded = delimited::parse(sources.text(id), id, "r", delimiter, &schema);
    check_facts(&sources, id, &loaded.facts);
    finish_facts(&sources, loaded.facts, loaded.diagnostics);
}

/// JSON fact files: the first byte picks a schema, the rest is the file, read both as
/// JSON facts and with STIX detection.
pub fn json(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let schema = ByteSchema::from_byte(first);
    let mut sources = Sources::default();
    let id = sources.add("fuzz.json", String::from_utf8_lossy(rest).into_owned());
    let loaded = json::parse(sources.text(id), id, &schema);
    check_facts(&sources, id, &loaded.facts);
    let detected = ascribe::io::parse_json(sources.text(id), id, &schema);
    check_facts(&sources, id, &detected.facts);
    render_all(&sources, &detected.diagnostics);
    finish_facts(&sources, loaded.facts, loaded.diagnostics);
}

/// STIX 2.1 bundles (with the relations STIX import produces left undeclared).
pub fn stix(data: &[u8]) {
    let mut sources = Sources::default();
    let id = sources.add("fuzz.json", String::from_utf8_lossy(data).into_owned());
    let schema: HashMap<String, Vec<Option<Kind>>> = HashMap::new();
    let loaded = stix::parse(sources.text(id), id, &schema);
    check_facts(&sources, id, &loaded.facts);
    finish_facts(&sources, loaded.facts, loaded.diagnostics);
}

/// Parse, lower, and evaluate a small program: semi-naive, naive and unrecorded
/// evaluation must agree; every derived fact's explanation and every output format
/// must render; why-not must answer for tuples that were not derived.
pub fn eval(data: &[u8]) {
    if data.len() > EVAL_MAX_LEN {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let mut sources = Sources::default();
    let id = sources.add("fuzz.rules", text.into_owned());
    let (module, errors) = ascribe::parse(id, sources.text(id));
    if errors.iter().any(Diagnostic::is_error) {
        return;
    }
    let (Some(program), _) = lower(&[module], Vec::new(), &sources) else {
        return;
    };
    if !small_enough(&program) {
        return;
    }
    let model = evaluate(&program, &EvalOptions::default());
    let expected = dump(&program, &model);
    let naive = evaluate(
        &program,
        &EvalOptions {
            strategy: Strategy::Naive,
            ..EvalOptions::default()
        },
    );
    assert_eq!(
        dump(&program, &naive),
        expected,
        "naive differs from semi-naive"
    );
    let unrecorded = evaluate(
        &program,
        &EvalOptions {
            record_derivations: false,
            ..EvalOptions::default()
        },
    );
    assert_eq!(
        dump(&program, &unrecorded),
        expected,
        "recording derivations changed the model"
    );
    let selected = output::select(&program, &[], true);
    for format in [FactFormat::Text, FactFormat::Json, FactFormat::Tsv] {
        output::facts(&program, &model, &selected, format);
    }
    for index in 0..program.predicates().len() {
        let predicate = PredId(index as u32);
        for fact in model.sorted_facts(predicate).into_iter().take(20) {
            let explanation = ascribe::explain(&program, &model, fact);
            ascribe::explain::render::text(&explanation);
            ascribe::explain::render::json(&explanation);
            ascribe::explain::render::dot(&explanation);
        }
        // Why-not on a tuple of the program's first values, when it was not derived.
        let arity = program.predicate(predicate).arity;
        let interner = model.interner();
        if interner.is_empty() && arity > 0 {
            continue;
        }
        let values: Vec<Value> = (0..arity)
            .map(|i| {
                interner
                    .value(ascribe::value::ValueId((i % interner.len()) as u32))
                    .clone()
            })
            .collect();
        let ids: Option<Vec<_>> = values.iter().map(|v| interner.get(v)).collect();
        let derived = ids.is_some_and(|ids| model.find(predicate, &ids).is_some());
        if !derived {
            ascribe::explain::why_not(&program, &model, predicate, &values).text();
        }
    }
}

/// Whether evaluating `program` is sure to stay small: no relation wider than 4 columns,
/// no assignment in a recursive rule (`n(Y) :- n(X), Y = X + 1.` counts forever), and a
/// bound on the tuples the program's constants can form.
fn small_enough(program: &Program) -> bool {
    let max_arity = program
        .predicates()
        .iter()
        .map(|p| p.arity)
        .max()
        .unwrap_or(0);
    if max_arity > 4 {
        return false;
    }
    for stratum in program.strata() {
        if !stratum.recursive {
            continue;
        }
        for &rule in &stratum.rules {
            let assigns = program
                .rule(rule)
                .body
                .iter()
                .any(|literal| matches!(literal, Literal::Assign { .. }));
            if assigns {
                return false;
            }
        }
    }
    // Non-recursive assignments add values stratum by stratum; count them generously.
    let assignments = program
        .rules()
        .iter()
        .flat_map(|rule| &rule.body)
        .filter(|literal| matches!(literal, Literal::Assign { .. } | Literal::Agg(_)))
        .count();
    let values = (program.interner().len() + 1) as f64 * (assignments + 1) as f64;
    values.powi(max_arity as i32) * program.predicates().len() as f64 <= 200_000.0
}

/// Every fact with its exact confidence, one per line, in predicate order.
fn dump(program: &Program, model: &Model) -> String {
    let mut out = String::new();
    for (index, predicate) in program.predicates().iter().enumerate() {
        for fact in model.sorted_facts(PredId(index as u32)) {
            let values: Vec<String> = model
                .tuple(fact)
                .iter()
                .map(|v| model.interner().value(*v).to_string())
                .collect();
            let _ = writeln!(
                out,
                "{}({}) {:?}",
                predicate.name,
                values.join(", "),
                model.confidence(fact)
            );
        }
    }
    out
}

fn render_all(sources: &Sources, diagnostics: &[Diagnostic]) {
    render::diagnostics(sources, diagnostics, false);
    render::diagnostics(sources, diagnostics, true);
}

/// Loader invariants: a fact's spans lie inside its file, on character boundaries, one
/// per argument, and its confidence is in [0, 1].
fn check_facts(sources: &Sources, id: SourceId, facts: &[InputFact]) {
    let text = sources.text(id);
    for fact in facts {
        assert_eq!(
            fact.args.len(),
            fact.arg_spans.len(),
            "one span per argument"
        );
        for span in fact.arg_spans.iter().chain([&fact.span]) {
            let range = span.range();
            assert!(
                range.start <= range.end && text.get(range.clone()).is_some(),
                "span {range:?} is not a slice of the file"
            );
        }
        if let Some(confidence) = fact.confidence {
            assert!((0.0..=1.0).contains(&confidence), "confidence {confidence}");
        }
        assert!(
            ascribe::io::is_relation_name(&fact.relation),
            "relation name {:?}",
            fact.relation
        );
    }
}

/// Renders the loader's diagnostics, then lowers the facts as a program of their own and,
/// when that succeeds, evaluates it and prints every relation.
fn finish_facts(sources: &Sources, facts: Vec<InputFact>, diagnostics: Vec<Diagnostic>) {
    render_all(sources, &diagnostics);
    let (program, more) = lower(&[], facts, sources);
    render_all(sources, &more);
    if let Some(program) = program {
        let model = evaluate(&program, &EvalOptions::default());
        let selected = output::select(&program, &[], true);
        for format in [FactFormat::Text, FactFormat::Json, FactFormat::Tsv] {
            output::facts(&program, &model, &selected, format);
        }
    }
}
