//! Syntax trees and loaded facts to a checked [`Program`]: names resolved, arities and
//! kinds checked, annotations read, variables numbered, rules checked for safety.
//!
//! Lowering collects every problem it finds instead of stopping at the first; a program
//! is returned only when there is no error.

use rustc_hash::{FxHashMap, FxHashSet};

use super::stratify::stratify;
use super::{
    template, Aggregate, Atom, Combine, Expr, Fact, Literal, PredId, Predicate, Program, Rule,
    RuleId, Template, Term, VarId, Window,
};
use crate::diagnostic::{suggest, Diagnostic, Sources, Span};
use crate::io::{FactTable, InputFact};
use crate::syntax::ast;
use crate::value::{Interner, Kind, Value, ValueId};

/// The confidence an Admiralty grade such as `B2` stands for: the product of the
/// reliability weight (A 1.0, B 0.9, C 0.75, D 0.5, E 0.3, F 0.5 "cannot be judged") and
/// the credibility weight (1 1.0, 2 0.9, 3 0.75, 4 0.5, 5 0.3, 6 0.5 "cannot be judged").
/// `B2` is 0.81. `None` for anything that is not a grade.
pub fn admiralty_confidence(grade: &str) -> Option<f64> {
    let mut chars = grade.chars();
    let reliability = match chars.next()? {
        'A' => 1.0,
        'B' => 0.9,
        'C' => 0.75,
        'D' => 0.5,
        'E' => 0.3,
        'F' => 0.5,
        _ => return None,
    };
    let credibility = match chars.next()? {
        '1' => 1.0,
        '2' => 0.9,
        '3' => 0.75,
        '4' => 0.5,
        '5' => 0.3,
        '6' => 0.5,
        _ => return None,
    };
    if chars.next().is_some() {
        return None;
    }
    Some(reliability * credibility)
}

/// Lowers parsed modules and loaded facts into a checked program.
///
/// `sources` names the files spans point into (for the default `@source` of a fact,
/// `file:line`). Returns the program only if no diagnostic is an error; warnings come
/// back either way.
pub fn lower(
    modules: &[ast::Module],
    input_facts: Vec<InputFact>,
    sources: &Sources,
) -> (Option<Program>, Vec<Diagnostic>) {
    lower_with_tables(modules, input_facts, Vec::new(), sources)
}

/// Input facts in load order: single facts and the tables of TSV and CSV files.
enum Input {
    Fact(InputFact),
    Table(FactTable),
}

/// [`lower`], with the rows of TSV and CSV files as loaded ([`crate::io::Loaded::tables`],
/// each placed among `input_facts` by its [`FactTable::position`]).
pub fn lower_with_tables(
    modules: &[ast::Module],
    input_facts: Vec<InputFact>,
    tables: Vec<FactTable>,
    sources: &Sources,
) -> (Option<Program>, Vec<Diagnostic>) {
    lower_with_tables_on(modules, input_facts, tables, sources, 1)
}

/// [`lower_with_tables`], interning the values of large tables on up to `threads`
/// threads: the same program for every number of threads.
pub fn lower_with_tables_on(
    modules: &[ast::Module],
    input_facts: Vec<InputFact>,
    tables: Vec<FactTable>,
    sources: &Sources,
    threads: usize,
) -> (Option<Program>, Vec<Diagnostic>) {
    let mut inputs = Vec::with_capacity(input_facts.len() + tables.len());
    let mut tables = tables.into_iter().peekable();
    for (index, fact) in input_facts.into_iter().enumerate() {
        while let Some(table) = tables.next_if(|t| t.position() <= index) {
            inputs.push(Input::Table(table));
        }
        inputs.push(Input::Fact(fact));
    }
    inputs.extend(tables.map(Input::Table));
    let mut lowerer = Lowerer {
        diagnostics: Vec::new(),
        predicates: Vec::new(),
        first_use: Vec::new(),
        ids: FxHashMap::default(),
        has_facts: Vec::new(),
        heads: FxHashSet::default(),
        interner: Interner::default(),
        sources,
        known_names: None,
        suggestions_left: SUGGESTION_BUDGET,
        threads,
    };
    for module in modules {
        for item in &module.items {
            if let ast::Item::Decl(decl) = item {
                lowerer.declare(decl);
            }
        }
    }
    // Register every use first, so arities come from declarations or first uses and
    // "unknown predicate" sees facts loaded from any file.
    for module in modules {
        for item in &module.items {
            if let ast::Item::Clause(clause) = item {
                lowerer.register_clause(clause);
            }
        }
    }
    for input in &inputs {
        let id = match input {
            Input::Fact(fact) => lowerer.register(&fact.relation, fact.args.len(), fact.span),
            Input::Table(table) => {
                // Every row has the same relation and arity: once one registers, the
                // others would too; until then each is reported as a fact would be.
                let mut id = None;
                for row in 0..table.len() {
                    id = lowerer.register(table.relation(), table.arity(), table.span(row));
                    if id.is_some() {
                        break;
                    }
                }
                id
            }
        };
        if let Some(id) = id {
            lowerer.has_facts[id.0 as usize] = true;
        }
    }
    super::annotate::resolve(
        modules,
        &lowerer.ids,
        &mut lowerer.predicates,
        &mut lowerer.diagnostics,
    );
    let mut rules = Vec::new();
    let mut facts = Vec::new();
    let mut names: FxHashMap<String, Span> = FxHashMap::default();
    for module in modules {
        for item in &module.items {
            let ast::Item::Clause(clause) = item else {
                continue;
            };
            if clause.body.is_empty() && !clause.has_arrow {
                if let Some(fact) = lowerer.lower_fact(clause) {
                    facts.push(fact);
                }
            } else if let Some(mut rule) = lowerer.lower_rule(clause, RuleId(rules.len() as u32)) {
                if let Some(name) = &rule.name {
                    if let Some(first) = names.get(name) {
                        lowerer.diagnostics.push(
                            Diagnostic::error(
                                "E0106",
                                format!("two rules are named `{name}`"),
                                name_span(clause).unwrap_or(clause.span),
                            )
                            .with_label("second rule with this name")
                            .with_secondary(*first, "first rule with this name")
                            .with_help("rule names identify rules in explanations; give each rule its own `@name`"),
                        );
                    } else {
                        names.insert(name.clone(), name_span(clause).unwrap_or(clause.span));
                    }
                }
                rule.id = RuleId(rules.len() as u32);
                rules.push(rule);
            }
        }
    }
    let rows = inputs
        .iter()
        .map(|input| match input {
            Input::Fact(_) => 1,
            Input::Table(table) => table.len(),
        })
        .sum();
    facts.reserve_exact(rows);
    for input in inputs {
        match input {
            Input::Fact(fact) => facts.extend(lowerer.lower_input_fact(fact)),
            Input::Table(table) => lowerer.lower_table(table, sources, &mut facts),
        }
    }
    for rule in &rules {
        lowerer.predicates[rule.head.predicate.0 as usize].derived = true;
    }
    if !rules.is_empty() {
        lowerer.check_unread_facts(&rules);
    }
    let Lowerer {
        mut diagnostics,
        predicates,
        interner,
        ..
    } = lowerer;
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (None, diagnostics);
    }
    match stratify(&predicates, &rules) {
        Ok(strata) if combined_in_recursion(&predicates, &strata, &mut diagnostics) => {
            (None, diagnostics)
        }
        Ok(strata) => (
            Some(Program {
                predicates,
                rules,
                facts,
                strata,
                interner,
                sources: sources.clone(),
            }),
            diagnostics,
        ),
        Err(errors) => {
            diagnostics.extend(errors);
            (None, diagnostics)
        }
    }
}

/// Reports each `@combine(noisy_or)` relation that is recursive: adding up derivations
/// that feed back into themselves has no fixpoint. True if there was one.
fn combined_in_recursion(
    predicates: &[Predicate],
    strata: &[super::Stratum],
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let mut found = false;
    for stratum in strata.iter().filter(|s| s.recursive) {
        for p in &stratum.predicates {
            let predicate = &predicates[p.0 as usize];
            // Only a declaration can say `@combine`, so the span is always there.
            let (Combine::NoisyOr, Some(span)) = (predicate.combine, predicate.declared_at) else {
                continue;
            };
            found = true;
            let names: Vec<String> = stratum
                .predicates
                .iter()
                .map(|q| format!("`{}`", predicates[q.0 as usize].name))
                .collect();
            diagnostics.push(
                Diagnostic::error(
                    "E0109",
                    format!("`{}` combines its derivations but is recursive", predicate.name),
                    span,
                )
                .with_label("declared `@combine(noisy_or)` here")
                .with_note(format!("these relations depend on each other: {}", names.join(", ")))
                .with_help(format!(
                    "derive `{}` from relations that do not depend on it (e.g. combine a non-recursive summary relation), or drop `@combine(noisy_or)`",
                    predicate.name
                )),
            );
        }
    }
    found
}

fn name_span(clause: &ast::Clause) -> Option<Span> {
    clause
        .annotations
        .iter()
        .find(|a| a.name.text == "name")
        .map(|a| a.span)
}

struct Lowerer<'s> {
    diagnostics: Vec<Diagnostic>,
    predicates: Vec<Predicate>,
    first_use: Vec<Span>,
    ids: FxHashMap<String, PredId>,
    has_facts: Vec<bool>,
    heads: FxHashSet<String>,
    interner: Interner,
    /// The texts spans point into: a template's placeholders are located in the string
    /// literal as written.
    sources: &'s Sources,
    /// The relations an unknown one may be a misspelling of (those with a declaration,
    /// facts or a rule), gathered at the first unknown relation.
    known_names: Option<Vec<String>>,
    /// Did-you-mean searches still to make for unknown relations: each compares the
    /// name with every known one, so a file of thousands of misspellings would take
    /// time quadratic in its size.
    suggestions_left: usize,
    /// Threads to intern the values of a large table on.
    threads: usize,
}

/// Unknown relations that get a did-you-mean search; the rest get the plain help.
const SUGGESTION_BUDGET: usize = 200;

/// Annotations read off one statement.
#[derive(Default)]
struct Annotations {
    name: Option<String>,
    strength: Option<f64>,
    source: Option<String>,
    confidence: Option<f64>,
    window: Window,
    /// `@grade`: the grade as written.
    grade: Option<String>,
    /// `@explain`: the template text and the span of its string literal.
    explain: Option<(String, Span)>,
}

fn kind_of_type(name: &str) -> Option<Option<Kind>> {
    Some(match name {
        "sym" | "str" => Some(Kind::Text),
        "int" => Some(Kind::Int),
        "float" => Some(Kind::Float),
        "date" => Some(Kind::Date),
        "any" => None,
        _ => return None,
    })
}

const TYPE_NAMES: [&str; 6] = ["sym", "str", "int", "float", "date", "any"];
const RULE_ANNOTATIONS: [&str; 4] = ["name", "strength", "explain", "allow"];
const FACT_ANNOTATIONS: [&str; 6] = ["source", "confidence", "grade", "since", "until", "allow"];
const DECLARATION_ANNOTATIONS: [&str; 6] = [
    "combine",
    "hypothesis",
    "exception",
    "reference",
    "speaker",
    "party",
];

/// What the annotations of a `rel` declaration say.
#[derive(Default)]
struct DeclarationAnnotations {
    combine: Combine,
    hypothesis: Option<String>,
    exception: bool,
    reference: bool,
    speaker: Option<usize>,
    party: bool,
}

impl Lowerer<'_> {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn declare(&mut self, decl: &ast::Decl) {
        let name = &decl.name.text;
        if let Some(&id) = self.ids.get(name) {
            let previous = self.predicates[id.0 as usize].declared_at;
            let mut d = Diagnostic::error(
                "E0105",
                format!("relation `{name}` is declared twice"),
                decl.name.span,
            )
            .with_label("declared again here")
            .with_help("keep one `rel` declaration per relation");
            if let Some(previous) = previous {
                d = d.with_secondary(previous, "first declared here");
            }
            self.error(d);
            return;
        }
        let read = self.read_declaration_annotations(decl);
        let mut kinds = Vec::new();
        let mut columns = Vec::new();
        for column in &decl.columns {
            match kind_of_type(&column.ty.text) {
                Some(kind) => kinds.push(kind),
                None => {
                    let mut d = Diagnostic::error(
                        "E0104",
                        format!("unknown type `{}`", column.ty.text),
                        column.ty.span,
                    )
                    .with_label("not a type");
                    d = match suggest(&column.ty.text, TYPE_NAMES) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_help("types are sym, str, int, float, date and any"),
                    };
                    self.error(d);
                    kinds.push(None);
                }
            }
            columns.push(column.name.as_ref().map(|n| n.text.clone()));
        }
        let id = PredId(self.predicates.len() as u32);
        self.predicates.push(Predicate {
            name: name.clone(),
            arity: decl.columns.len(),
            kinds,
            columns,
            declared_at: Some(decl.name.span),
            doc: decl.doc.clone(),
            derived: false,
            combine: read.combine,
            hypothesis: read.hypothesis,
            exception: read.exception,
            reference: read.reference,
            speaker: read.speaker,
            party: read.party,
            ranking: None,
            warn: None,
        });
        self.first_use.push(decl.name.span);
        self.has_facts.push(false);
        self.ids.insert(name.clone(), id);
    }

    /// Records a use of a relation with `arity` arguments; reports an arity mismatch
    /// against the declaration or first use.
    fn register(&mut self, name: &str, arity: usize, span: Span) -> Option<PredId> {
        if let Some(&id) = self.ids.get(name) {
            let predicate = &self.predicates[id.0 as usize];
            if predicate.arity != arity {
                let (other, what) = match predicate.declared_at {
                    Some(at) => (at, "declared"),
                    None => (self.first_use[id.0 as usize], "first used"),
                };
                let expected = predicate.arity;
                self.error(
                    Diagnostic::error(
                        "E0102",
                        format!(
                            "`{name}` takes {expected} argument{}, but {arity} {} given here",
                            plural(expected),
                            if arity == 1 { "is" } else { "are" }
                        ),
                        span,
                    )
                    .with_label(format!("{arity} argument{}", plural(arity)))
                    .with_secondary(
                        other,
                        format!("{what} with {expected} argument{}", plural(expected)),
                    )
                    .with_help("every use of a relation has the same number of arguments"),
                );
                return None;
            }
            return Some(id);
        }
        let id = PredId(self.predicates.len() as u32);
        self.predicates.push(Predicate {
            name: name.to_string(),
            arity,
            kinds: vec![None; arity],
            columns: vec![None; arity],
            declared_at: None,
            doc: None,
            derived: false,
            combine: Combine::Max,
            hypothesis: None,
            exception: false,
            reference: false,
            speaker: None,
            party: false,
            ranking: None,
            warn: None,
        });
        self.first_use.push(span);
        self.has_facts.push(false);
        self.ids.insert(name.to_string(), id);
        Some(id)
    }

    fn register_clause(&mut self, clause: &ast::Clause) {
        let head = self.register(
            &clause.head.predicate.text,
            clause.head.args.len(),
            clause.head.span,
        );
        if let Some(id) = head {
            if clause.body.is_empty() && !clause.has_arrow {
                self.has_facts[id.0 as usize] = true;
            } else {
                self.heads.insert(clause.head.predicate.text.clone());
            }
        }
        for literal in &clause.body {
            self.register_literal(literal);
        }
    }

    fn register_literal(&mut self, literal: &ast::Literal) {
        match literal {
            ast::Literal::Pos(atom) | ast::Literal::Neg(atom, _) => {
                self.register(&atom.predicate.text, atom.args.len(), atom.span);
            }
            ast::Literal::Agg(agg) => {
                for literal in &agg.body {
                    self.register_literal(literal);
                }
            }
            ast::Literal::Cmp(_) => {}
        }
    }

    /// `@combine(max|noisy_or)`, `@hypothesis("label")`, `@exception`, `@reference`,
    /// `@speaker(column)` and `@party` on a `rel` declaration.
    fn read_declaration_annotations(&mut self, decl: &ast::Decl) -> DeclarationAnnotations {
        let mut read = DeclarationAnnotations::default();
        let annotations = &decl.annotations;
        for annotation in annotations {
            let name = annotation.name.text.as_str();
            match (name, annotation.args.as_slice()) {
                ("combine", [(Value::Text(method), _)]) if &**method == "noisy_or" => {
                    read.combine = Combine::NoisyOr;
                }
                ("combine", [(Value::Text(method), _)]) if &**method == "max" => {
                    read.combine = Combine::Max;
                }
                ("combine", args) => {
                    let span = args.first().map_or(annotation.span, |a| a.1);
                    self.error(
                        Diagnostic::error(
                            "E0107",
                            "`@combine` takes `max` or `noisy_or`",
                            span,
                        )
                        .with_help("`@combine(noisy_or)`: independent derivations of a fact add up; `@combine(max)` (the default): the best one counts"),
                    );
                }
                // Read by `program::lint`.
                ("allow", _) => {}
                // Read by `program::annotate` once every relation is known.
                (name, _) if super::annotate::NAMES.contains(&name) => {}
                ("exception", []) => read.exception = true,
                ("reference", []) => read.reference = true,
                ("reference", _) => self.error(
                    Diagnostic::error("E0130", "`@reference` takes no arguments", annotation.span)
                        .with_help(annotation_example("reference")),
                ),
                ("speaker", [(Value::Text(column), span)]) => {
                    let names: Vec<&str> = decl
                        .columns
                        .iter()
                        .filter_map(|c| c.name.as_ref().map(|n| n.text.as_str()))
                        .collect();
                    match decl.columns.iter().position(|c| {
                        c.name.as_ref().is_some_and(|n| n.text.as_str() == &**column)
                    }) {
                        Some(at) => read.speaker = Some(at),
                        None => {
                            let mut d = Diagnostic::error(
                                "E0131",
                                format!("`@speaker` names the column `{column}`, which the relation does not have"),
                                *span,
                            )
                            .with_label("no such column");
                            d = match suggest(column, names.iter().copied()) {
                                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                                None => d.with_help(
                                    "name the column that says who states each fact, as in `@speaker(source) rel claims(source: sym, ...)`",
                                ),
                            };
                            self.error(d);
                        }
                    }
                }
                ("speaker", _) => self.error(
                    Diagnostic::error(
                        "E0131",
                        "`@speaker` takes one column name",
                        annotation.span,
                    )
                    .with_help(annotation_example("speaker")),
                ),
                ("party", []) if decl.columns.len() == 2 => read.party = true,
                ("party", _) => self.error(
                    Diagnostic::error(
                        "E0132",
                        "`@party` takes no arguments and goes on a relation of two columns",
                        annotation.span,
                    )
                    .with_label(format!("on a relation of {} column{}", decl.columns.len(), plural(decl.columns.len())))
                    .with_help(annotation_example("party")),
                ),
                ("exception", _) => self.error(
                    Diagnostic::error("E0107", "`@exception` takes no arguments", annotation.span)
                        .with_help(annotation_example("exception")),
                ),
                ("hypothesis", []) => read.hypothesis = Some(String::new()),
                ("hypothesis", [(Value::Text(label), _)]) => {
                    read.hypothesis = Some(label.to_string())
                }
                ("hypothesis", _) => self.error(
                    Diagnostic::error(
                        "E0107",
                        "`@hypothesis` takes at most one string, the label of the candidates",
                        annotation.span,
                    )
                    .with_help(annotation_example("hypothesis")),
                ),
                ("explain", _) => self.error(
                    Diagnostic::error(
                        "E0123",
                        "`@explain` goes on rules, not on declarations",
                        annotation.span,
                    )
                    .with_label("a declaration derives nothing to put in words")
                    .with_help("write `@explain(\"...\")` on each rule that derives the relation: its placeholders name that rule's variables"),
                ),
                _ => {
                    let known =
                        RULE_ANNOTATIONS.contains(&name) || FACT_ANNOTATIONS.contains(&name);
                    let mut d = Diagnostic::error(
                        "E0107",
                        if known {
                            format!("`@{name}` does not apply to declarations")
                        } else {
                            format!("unknown annotation `@{name}`")
                        },
                        annotation.span,
                    );
                    d = if RULE_ANNOTATIONS.contains(&name) || FACT_ANNOTATIONS.contains(&name) {
                        d.with_help(format!(
                            "`@{name}` goes on {}; declarations take `@combine`, `@hypothesis`, `@exception`, `@reference`, `@speaker` and `@party`",
                            if RULE_ANNOTATIONS.contains(&name) { "rules" } else { "facts" }
                        ))
                    } else {
                        match suggest(name, DECLARATION_ANNOTATIONS) {
                            Some(s) => d.with_help(format!("did you mean `@{s}`?")),
                            None => d.with_help(
                                "declarations take `@combine(...)`, `@hypothesis(...)`, `@exception`, `@reference`, `@speaker(column)` and `@party`, and a `///` comment for documentation",
                            ),
                        }
                    };
                    self.error(d);
                }
            }
        }
        read
    }

    fn read_annotations(&mut self, annotations: &[ast::Annotation], is_rule: bool) -> Annotations {
        let mut out = Annotations::default();
        for annotation in annotations {
            let name = annotation.name.text.as_str();
            let allowed: &[&str] = if is_rule {
                &RULE_ANNOTATIONS
            } else {
                &FACT_ANNOTATIONS
            };
            if name == "explain" && !is_rule {
                self.error(
                    Diagnostic::error(
                        "E0123",
                        "`@explain` goes on rules, not on facts",
                        annotation.span,
                    )
                    .with_label("a fact has no derivation to put in words")
                    .with_help("to say where the fact comes from, write `@source(\"...\")`; a sentence template belongs on the rule that reads or derives it"),
                );
                continue;
            }
            if !allowed.contains(&name) {
                let other: &[&str] = if is_rule {
                    &FACT_ANNOTATIONS
                } else {
                    &RULE_ANNOTATIONS
                };
                let mut d = if DECLARATION_ANNOTATIONS.contains(&name) {
                    Diagnostic::error(
                        "E0107",
                        format!(
                            "`@{name}` applies to `rel` declarations, not {}",
                            if is_rule { "rules" } else { "facts" }
                        ),
                        annotation.span,
                    )
                } else if other.contains(&name) {
                    Diagnostic::error(
                        "E0107",
                        format!(
                            "`@{name}` applies to {}, not {}",
                            if is_rule { "facts" } else { "rules" },
                            if is_rule { "rules" } else { "facts" }
                        ),
                        annotation.span,
                    )
                } else {
                    Diagnostic::error(
                        "E0107",
                        format!("unknown annotation `@{name}`"),
                        annotation.span,
                    )
                };
                let all = RULE_ANNOTATIONS
                    .iter()
                    .chain(FACT_ANNOTATIONS.iter())
                    .copied();
                d = match suggest(name, all) {
                    _ if DECLARATION_ANNOTATIONS.contains(&name) => d.with_help(format!(
                        "write `@{name}(...)` before the relation's `rel` declaration, as in `@combine(noisy_or) rel supported(incident: sym, group: sym).`"
                    )),
                    Some(s) if !other.contains(&name) => {
                        d.with_help(format!("did you mean `@{s}`?"))
                    }
                    _ => d.with_help(format!(
                        "{} take {}",
                        if is_rule { "rules" } else { "facts" },
                        allowed
                            .iter()
                            .map(|a| format!("`@{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.error(d);
                continue;
            }
            if name == "allow" {
                // Read by `program::lint`.
                continue;
            }
            let arg = match annotation.args.as_slice() {
                [arg] => arg,
                _ => {
                    self.error(
                        Diagnostic::error(
                            "E0107",
                            format!("`@{name}` takes exactly one argument"),
                            annotation.span,
                        )
                        .with_help(annotation_example(name)),
                    );
                    continue;
                }
            };
            match name {
                "explain" => match &arg.0 {
                    Value::Text(text) => out.explain = Some((text.to_string(), arg.1)),
                    _ => self.error(
                        Diagnostic::error("E0107", "`@explain` takes a string", arg.1)
                            .with_label(format!("found {}", arg.0))
                            .with_help(annotation_example(name)),
                    ),
                },
                "name" | "source" => match &arg.0 {
                    Value::Text(text) => {
                        if name == "name" {
                            out.name = Some(text.to_string());
                        } else {
                            out.source = Some(text.to_string());
                        }
                    }
                    _ => self.error(
                        Diagnostic::error("E0107", format!("`@{name}` takes a string"), arg.1)
                            .with_help(annotation_example(name)),
                    ),
                },
                "since" | "until" => match arg.0 {
                    Value::Date(day) => {
                        if name == "since" {
                            out.window.since = Some(day);
                        } else {
                            out.window.until = Some(day);
                        }
                    }
                    _ => self.error(
                        Diagnostic::error("E0107", format!("`@{name}` takes a date"), arg.1)
                            .with_label(format!("found {}", arg.0))
                            .with_help(annotation_example(name)),
                    ),
                },
                "strength" | "confidence" => match arg.0.as_f64() {
                    Some(x) if (0.0..=1.0).contains(&x) => {
                        if name == "strength" {
                            out.strength = Some(x);
                        } else if out.confidence.is_none() {
                            out.confidence = Some(x);
                        }
                    }
                    _ => self.error(
                        Diagnostic::error(
                            "E0107",
                            format!("`@{name}` takes a number between 0 and 1"),
                            arg.1,
                        )
                        .with_label(format!("found {}", arg.0))
                        .with_help(annotation_example(name)),
                    ),
                },
                _ => {
                    let grade = match &arg.0 {
                        Value::Text(t) => admiralty_confidence(t),
                        _ => None,
                    };
                    match grade {
                        Some(c) => {
                            out.grade = Some(match &arg.0 {
                                Value::Text(text) => text.to_string(),
                                other => other.to_string(),
                            });
                            // An explicit `@confidence` wins over the grade's default.
                            let explicit = annotations.iter().any(|a| a.name.text == "confidence");
                            if !explicit {
                                out.confidence = Some(c);
                            }
                        }
                        None => self.error(
                            Diagnostic::error(
                                "E0107",
                                format!("`{}` is not an Admiralty grade", arg.0),
                                arg.1,
                            )
                            .with_help("a grade is a reliability letter A-F and a credibility digit 1-6, as in `@grade(B2)`"),
                        ),
                    }
                }
            }
        }
        out
    }

    fn constant(
        &mut self,
        value: &Value,
        span: Span,
        kind: Option<Kind>,
        relation: &str,
        column: usize,
    ) -> Option<ValueId> {
        self.constant_at(value, || span, kind, relation, column)
    }

    /// [`Lowerer::constant`] with the span computed only for a diagnostic.
    fn constant_at(
        &mut self,
        value: &Value,
        span: impl FnOnce() -> Span,
        kind: Option<Kind>,
        relation: &str,
        column: usize,
    ) -> Option<ValueId> {
        match (kind, value) {
            (Some(Kind::Float), Value::Int(i)) => {
                Some(self.interner.intern(Value::Float(*i as f64)))
            }
            (Some(k), v) if v.kind() != k => {
                self.error(
                    Diagnostic::error(
                        "E0103",
                        format!(
                            "`{relation}` expects {} in column {}, found {} `{v}`",
                            article(k),
                            column + 1,
                            article(v.kind())
                        ),
                        span(),
                    )
                    .with_label(format!("expected {}", k.name()))
                    .with_help(kind_help(k)),
                );
                None
            }
            (_, v) => Some(self.interner.intern_ref(v)),
        }
    }

    fn lower_fact(&mut self, clause: &ast::Clause) -> Option<Fact> {
        let annotations = self.read_annotations(&clause.annotations, false);
        let id = *self.ids.get(&clause.head.predicate.text)?;
        if self.predicates[id.0 as usize].arity != clause.head.args.len() {
            return None;
        }
        let mut tuple = Vec::new();
        for (column, term) in clause.head.args.iter().enumerate() {
            match term {
                ast::Term::Const(value, span) => {
                    let kind = self.predicates[id.0 as usize].kinds[column];
                    tuple.push(self.constant(
                        value,
                        *span,
                        kind,
                        &clause.head.predicate.text,
                        column,
                    ));
                }
                ast::Term::Var(var) => {
                    self.error(
                        Diagnostic::error(
                            "E0202",
                            format!("facts must be ground, but `{}` is a variable", var.text),
                            var.span,
                        )
                        .with_label("variable in a fact")
                        .with_help("a fact names constants; quote text that starts with an upper-case letter (\"APT40\"), or add `:-` and a body to write a rule"),
                    );
                    tuple.push(None);
                }
            }
        }
        if !self.window_ok(annotations.window, "@since", "@until", clause.span) {
            return None;
        }
        let tuple: Option<Vec<ValueId>> = tuple.into_iter().collect();
        Some(
            Fact::new(
                id,
                tuple?.into(),
                annotations.confidence.unwrap_or(1.0),
                annotations.source,
                annotations.window,
                clause.span,
            )
            .with_grade(annotations.grade),
        )
    }

    /// Lowers the rows of a TSV or CSV file as [`Lowerer::lower_input_fact`] lowers
    /// single facts, finding a value's span in the text only to report it.
    fn lower_table(&mut self, mut table: FactTable, sources: &Sources, facts: &mut Vec<Fact>) {
        let Some(&id) = self.ids.get(table.relation()) else {
            return;
        };
        if self.predicates[id.0 as usize].arity != table.arity() {
            return;
        }
        let kinds = self.predicates[id.0 as usize].kinds.clone();
        // The id of each of the table's distinct values once interned, so a value that
        // appears in many rows is looked up once. Values are interned in the order their
        // cells are visited, as if each cell were interned on its own.
        let mut ids = vec![None::<ValueId>; table.distinct().len()];
        // Columns whose every value has the kind the relation takes, as read.
        let fits: Vec<bool> = kinds
            .iter()
            .enumerate()
            .map(|(column, &kind)| kind.is_none() || kind == table.kind(column))
            .collect();
        let mut tuple = Vec::with_capacity(table.arity());
        if fits.iter().all(|&fits| fits) {
            // No cell can be refused: the table's values are interned all at once, in
            // the order of their first cells.
            let mut first = vec![u32::MAX; table.distinct().len()];
            let mut order = Vec::new();
            for row in 0..table.len() {
                for &cell in table.cells(row) {
                    if first[cell as usize] == u32::MAX {
                        first[cell as usize] = order.len() as u32;
                        order.push(cell);
                    }
                }
            }
            let values = order
                .iter()
                .map(|&cell| table.take_distinct(cell))
                .collect();
            let interned = self.interner.intern_all(values, self.threads);
            for row in 0..table.len() {
                tuple.clear();
                tuple.extend(
                    table
                        .cells(row)
                        .iter()
                        .map(|&cell| interned[first[cell as usize] as usize]),
                );
                facts.push(Fact::new(
                    id,
                    tuple.as_slice().into(),
                    1.0,
                    None,
                    Window::default(),
                    table.span(row),
                ));
            }
            return;
        }
        'rows: for row in 0..table.len() {
            tuple.clear();
            for (column, &kind) in kinds.iter().enumerate() {
                let cell = table.cells(row)[column];
                let fits = fits[column]
                    || match ids[cell as usize] {
                        Some(id) => self.interner.value(id).kind(),
                        None => table.distinct()[cell as usize].kind(),
                    } == kind.expect("a column that does not fit declares a kind");
                if fits {
                    let id = match ids[cell as usize] {
                        Some(id) => id,
                        None => {
                            let id = self.interner.intern(table.take_distinct(cell));
                            ids[cell as usize] = Some(id);
                            id
                        }
                    };
                    tuple.push(id);
                    continue;
                }
                // A value its column's kind does not take (or converts): as for one fact.
                let value = match ids[cell as usize] {
                    Some(id) => self.interner.value(id).clone(),
                    None => table.distinct()[cell as usize].clone(),
                };
                let span = || {
                    let text = sources.text(table.source());
                    table.arg_spans(text, row)[column]
                };
                match self.constant_at(&value, span, kind, table.relation(), column) {
                    Some(value) => tuple.push(value),
                    None => continue 'rows,
                }
            }
            facts.push(Fact::new(
                id,
                tuple.as_slice().into(),
                1.0,
                None,
                Window::default(),
                table.span(row),
            ));
        }
    }

    fn lower_input_fact(&mut self, fact: InputFact) -> Option<Fact> {
        let id = *self.ids.get(&fact.relation)?;
        if self.predicates[id.0 as usize].arity != fact.args.len() {
            return None;
        }
        let mut tuple = Vec::with_capacity(fact.args.len());
        for (column, value) in fact.args.iter().enumerate() {
            let span = fact.arg_spans.get(column).copied().unwrap_or(fact.span);
            let kind = self.predicates[id.0 as usize].kinds[column];
            tuple.push(self.constant(value, span, kind, &fact.relation, column)?);
        }
        let window = Window {
            since: fact.since,
            until: fact.until,
        };
        if !self.window_ok(window, "since", "until", fact.span) {
            return None;
        }
        let confidence = fact.confidence.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&confidence) {
            self.error(
                Diagnostic::error(
                    "E0107",
                    format!("confidence {confidence} is outside [0, 1]"),
                    fact.span,
                )
                .with_help("confidences are numbers between 0 and 1"),
            );
            return None;
        }
        let window = Window {
            since: fact.since,
            until: fact.until,
        };
        Some(Fact::new(
            id,
            tuple.into(),
            confidence,
            fact.source,
            window,
            fact.span,
        ))
    }

    /// Reports a window that ends before it starts (`since` and `until` name the
    /// annotations or keys as the user wrote them); false if it does.
    fn window_ok(&mut self, window: Window, since: &str, until: &str, span: Span) -> bool {
        let (Some(first), Some(last)) = (window.since, window.until) else {
            return true;
        };
        if first <= last {
            return true;
        }
        let (first, last) = (Value::Date(first), Value::Date(last));
        let (since_text, until_text) = if since.starts_with('@') {
            (format!("`{since}({first})`"), format!("`{until}({last})`"))
        } else {
            (format!("`{since}` {first}"), format!("`{until}` {last}"))
        };
        self.error(
            Diagnostic::error(
                "E0107",
                format!("{until_text} is before {since_text}: the fact would never hold"),
                span,
            )
            .with_help(format!(
                "`{since}` is the first day the fact holds and `{until}` the last; swap them or correct one"
            )),
        );
        false
    }

    fn lower_rule(&mut self, clause: &ast::Clause, id: RuleId) -> Option<Rule> {
        let annotations = self.read_annotations(&clause.annotations, true);
        if clause.body.is_empty() {
            self.error(
                Diagnostic::error(
                    "E0205",
                    "a rule needs at least one literal after `:-`",
                    clause.span,
                )
                .with_help("to state a fact, drop the `:-`"),
            );
            return None;
        }
        let mut scope = Scope::default();
        let head = self.lower_atom(&clause.head, &mut scope, false);
        let mut body = Vec::new();
        for literal in &clause.body {
            body.push(self.lower_literal(literal, &mut scope));
        }
        let head = head?;
        let mut body: Vec<Literal> = body.into_iter().collect::<Option<_>>()?;
        let ok = self.check_rule(&head, &mut body, &scope);
        self.check_kinds(&head, &body, &scope);
        let template = annotations
            .explain
            .as_ref()
            .and_then(|(text, span)| self.lower_template(text, *span, &body, &scope, ok));
        // A variable written once in the rule but shown by its `@explain` template is used.
        let shown = |index: usize| {
            template.as_ref().is_some_and(|t| {
                t.pieces
                    .iter()
                    .any(|p| matches!(p, template::Piece::Var(v) if v.0 as usize == index))
            })
        };
        for (index, spans) in scope.occurrences.iter().enumerate() {
            let name = &scope.names[index];
            if ok && spans.len() == 1 && !name.starts_with('_') && !shown(index) {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "W0201",
                        format!("variable `{name}` appears only once"),
                        spans[0],
                    )
                    .with_help(format!(
                        "if this is intended, write `_` or `_{name}`; otherwise check the spelling"
                    )),
                );
            }
        }
        if annotations.explain.is_some() && template.is_none() {
            return None;
        }
        ok.then(|| Rule {
            id,
            name: annotations.name,
            template,
            strength: annotations.strength.unwrap_or(1.0),
            doc: clause.doc.clone(),
            head,
            body,
            variables: scope.names,
            span: clause.span,
        })
    }

    /// Resolves an `@explain` template against the rule's variables: reports a malformed
    /// placeholder, a name that is neither a variable of the rule nor an [`template::Extra`],
    /// and (once the rule is known to be `safe`) a variable with no single value per
    /// derivation. `span` is the string literal's; placeholders are reported at their
    /// own columns inside it.
    fn lower_template(
        &mut self,
        text: &str,
        span: Span,
        body: &[Literal],
        scope: &Scope,
        safe: bool,
    ) -> Option<Template> {
        let offsets = template::literal_offsets(&self.sources.text(span.source)[span.range()]);
        // Where a byte range of the template text was written.
        let at = |range: std::ops::Range<usize>| match &offsets {
            Some(offsets) if range.end < offsets.len() => Span::new(
                span.source,
                span.start as usize + offsets[range.start],
                span.start as usize + offsets[range.end],
            ),
            _ => span,
        };
        let raw = match template::parse(text) {
            Ok(raw) => raw,
            Err(error) => {
                let (range, label, help) = match &error {
                    template::SyntaxError::Unclosed { at } => (
                        *at..*at + 1,
                        "no `}` after it",
                        "close the placeholder, as in `{G}`, or write `{{` for a literal brace",
                    ),
                    template::SyntaxError::UnmatchedClose { at } => (
                        *at..*at + 1,
                        "no `{` before it",
                        "write `}}` for a literal brace",
                    ),
                    template::SyntaxError::Empty { range } => (
                        range.clone(),
                        "empty placeholder",
                        "name a variable of the rule, as in `{G}`, or write `{{}}` for literal braces",
                    ),
                };
                self.error(
                    Diagnostic::error(
                        "E0121",
                        format!("malformed sentence template: {error}"),
                        at(range),
                    )
                    .with_label(label)
                    .with_help(help),
                );
                return None;
            }
        };
        let mut pieces = Vec::new();
        let mut ok = true;
        for piece in raw {
            let (name, range) = match piece {
                template::RawPiece::Text(text) => {
                    pieces.push(template::Piece::Text(text));
                    continue;
                }
                template::RawPiece::Placeholder { name, range } => (name, range),
            };
            if let Some(extra) = template::Extra::from_name(&name) {
                pieces.push(template::Piece::Extra(extra));
                continue;
            }
            if name == "_" {
                self.error(
                    Diagnostic::error(
                        "E0122",
                        "`{_}` has no single value in a derivation",
                        at(range),
                    )
                    .with_label("`_` is anonymous: each occurrence is a different variable")
                    .with_help("name the variable in the rule (`G` instead of `_`) to use its value in the sentence"),
                );
                ok = false;
                continue;
            }
            let Some(&var) = scope.ids.get(&name) else {
                self.unknown_placeholder(&name, at(range), scope);
                ok = false;
                continue;
            };
            if safe {
                let aggregate = body.iter().find_map(|literal| match literal {
                    Literal::Agg(agg)
                        if agg.locals.contains(&var) || agg.ignored.contains(&var) =>
                    {
                        Some(agg)
                    }
                    _ => None,
                });
                if let Some(agg) = aggregate {
                    let result = scope.name(agg.result);
                    self.error(
                        Diagnostic::error(
                            "E0122",
                            format!("`{{{name}}}` has no single value in a derivation"),
                            at(range),
                        )
                        .with_label(format!("`{name}` occurs only inside an aggregate"))
                        .with_secondary(
                            agg.span,
                            format!("`{name}` takes one value per solution of this aggregate"),
                        )
                        .with_help(format!(
                            "use the aggregate's result (`{{{result}}}`), or a variable the aggregate shares with the rest of the rule"
                        )),
                    );
                    ok = false;
                    continue;
                }
            }
            pieces.push(template::Piece::Var(var));
        }
        ok.then(|| Template {
            pieces,
            text: text.to_string(),
        })
    }

    fn unknown_placeholder(&mut self, name: &str, span: Span, scope: &Scope) {
        let mut variables: Vec<&str> = scope
            .names
            .iter()
            .map(String::as_str)
            .filter(|n| *n != "_")
            .collect();
        variables.sort_unstable();
        variables.dedup();
        let extras = template::Extra::ALL.map(|(n, _)| n);
        let candidates = variables.iter().copied().chain(extras);
        let similar = candidates
            .clone()
            .find(|c| c.eq_ignore_ascii_case(name))
            .or_else(|| suggest(name, candidates));
        let what = if name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_') {
            format!("`{name}` is not a variable of this rule")
        } else {
            format!("`{{{name}}}` is not a placeholder")
        };
        let mut d = Diagnostic::error("E0120", format!("unknown placeholder `{{{name}}}`"), span)
            .with_label(what);
        d = match similar {
            Some(s) => d.with_help(format!("did you mean `{{{s}}}`?")),
            None => d.with_help(format!(
                "placeholders are the rule's variables ({}) and {}",
                variables
                    .iter()
                    .map(|v| format!("`{{{v}}}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                extras
                    .iter()
                    .map(|v| format!("`{{{v}}}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        self.error(d);
    }

    /// Warns about facts of a relation that no rule reads, no rule derives and no `rel`
    /// declares: most often a fact file whose name is not the relation meant (a TSV or
    /// CSV file's name is its relation), whose rows would otherwise take part in nothing
    /// without a word.
    fn check_unread_facts(&mut self, rules: &[Rule]) {
        fn mark(body: &[Literal], read: &mut [bool]) {
            for literal in body {
                match literal {
                    Literal::Pos(atom) | Literal::Neg(atom) => {
                        read[atom.predicate.0 as usize] = true
                    }
                    Literal::Agg(agg) => mark(&agg.body, read),
                    _ => {}
                }
            }
        }
        let mut read = vec![false; self.predicates.len()];
        for rule in rules {
            mark(&rule.body, &mut read);
        }
        let readable: Vec<&str> = self
            .predicates
            .iter()
            .zip(&read)
            .filter(|(_, &r)| r)
            .map(|(p, _)| p.name.as_str())
            .collect();
        let mut warnings = Vec::new();
        for (index, predicate) in self.predicates.iter().enumerate() {
            if !self.has_facts[index]
                || read[index]
                || predicate.derived
                || predicate.declared_at.is_some()
            {
                continue;
            }
            let name = &predicate.name;
            let help = match suggest(name, readable.iter().copied()) {
                Some(similar) => format!(
                    "did you mean `{similar}`? A TSV or CSV file's name is the relation of its rows"
                ),
                None => format!(
                    "declare it with `rel {name}(...)` if these facts are meant for queries only"
                ),
            };
            warnings.push(
                Diagnostic::warning(
                    "W0202",
                    format!("facts of `{name}`, which no rule reads and no `rel` declares"),
                    self.first_use[index],
                )
                .with_label("these facts take part in no rule")
                .with_help(help),
            );
        }
        self.diagnostics.extend(warnings);
    }

    fn lower_atom(&mut self, atom: &ast::Atom, scope: &mut Scope, in_body: bool) -> Option<Atom> {
        let &id = self.ids.get(&atom.predicate.text)?;
        let index = id.0 as usize;
        if self.predicates[index].arity != atom.args.len() {
            return None;
        }
        if in_body
            && self.predicates[index].declared_at.is_none()
            && !self.has_facts[index]
            && !self.is_head_anywhere(id)
        {
            if self.known_names.is_none() {
                let mut known: Vec<String> = self
                    .predicates
                    .iter()
                    .enumerate()
                    .filter(|(i, p)| p.declared_at.is_some() || self.has_facts[*i])
                    .map(|(_, p)| p.name.clone())
                    .chain(self.heads.iter().cloned())
                    .collect();
                known.sort_unstable();
                known.dedup();
                self.known_names = Some(known);
            }
            let searched = self.suggestions_left > 0;
            let similar = if searched {
                self.suggestions_left -= 1;
                let known = self.known_names.as_deref().unwrap_or_default();
                suggest(&atom.predicate.text, known.iter().map(String::as_str)).map(str::to_owned)
            } else {
                None
            };
            let mut d = Diagnostic::error(
                "E0101",
                format!("unknown relation `{}`", atom.predicate.text),
                atom.predicate.span,
            )
            .with_label("no rule, fact or declaration for this relation");
            d = match similar {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!(
                    "declare it with `rel {}(...)` if its facts come from elsewhere, or add facts or rules for it",
                    atom.predicate.text
                )),
            };
            if !searched {
                d = d.with_note(format!(
                    "no did-you-mean search past the first {SUGGESTION_BUDGET} unknown relations"
                ));
            }
            self.error(d);
        }
        let mut args = Vec::new();
        let mut ok = true;
        for (column, term) in atom.args.iter().enumerate() {
            match term {
                ast::Term::Var(name) => {
                    if !in_body && name.text == "_" {
                        self.error(
                            Diagnostic::error("E0201", "`_` cannot appear in a rule's head", name.span)
                                .with_help("every head argument must be a constant or a variable bound by the body"),
                        );
                        ok = false;
                        continue;
                    }
                    args.push(Term::Var(scope.var(name)));
                }
                ast::Term::Const(value, span) => {
                    let kind = self.predicates[index].kinds[column];
                    match self.constant(value, *span, kind, &atom.predicate.text, column) {
                        Some(v) => args.push(Term::Const(v)),
                        None => ok = false,
                    }
                }
            }
        }
        ok.then_some(Atom {
            predicate: id,
            args,
            span: atom.span,
        })
    }

    fn lower_expr(&mut self, expr: &ast::Expr, scope: &mut Scope) -> Expr {
        match expr {
            ast::Expr::Term(ast::Term::Var(name)) => Expr::Term(Term::Var(scope.var(name))),
            ast::Expr::Term(ast::Term::Const(value, _)) => {
                Expr::Term(Term::Const(self.interner.intern_ref(value)))
            }
            ast::Expr::Bin(left, op, right, _) => Expr::Bin(
                Box::new(self.lower_expr(left, scope)),
                *op,
                Box::new(self.lower_expr(right, scope)),
            ),
        }
    }

    fn lower_literal(&mut self, literal: &ast::Literal, scope: &mut Scope) -> Option<Literal> {
        Some(match literal {
            ast::Literal::Pos(atom) => Literal::Pos(self.lower_atom(atom, scope, true)?),
            ast::Literal::Neg(atom, _) => Literal::Neg(self.lower_atom(atom, scope, true)?),
            ast::Literal::Cmp(cmp) => Literal::Cmp {
                left: self.lower_expr(&cmp.left, scope),
                op: cmp.op,
                right: self.lower_expr(&cmp.right, scope),
                span: cmp.span,
            },
            ast::Literal::Agg(agg) => {
                let result = scope.var(&agg.result);
                let targets: Vec<VarId> = agg.targets.iter().map(|t| scope.var(t)).collect();
                let mut body = Vec::new();
                for literal in &agg.body {
                    body.push(self.lower_literal(literal, scope));
                }
                let body: Vec<Literal> = body.into_iter().collect::<Option<_>>()?;
                if agg.function != ast::AggFn::Count && targets.len() != 1 {
                    self.error(
                        Diagnostic::error(
                            "E0108",
                            format!(
                                "`{}` aggregates exactly one variable",
                                agg.function.as_str()
                            ),
                            agg.span,
                        )
                        .with_help(format!(
                            "write `{} = {}(V : ...)` with one variable V of the body",
                            agg.result.text,
                            agg.function.as_str()
                        )),
                    );
                    return None;
                }
                Literal::Agg(Aggregate {
                    result,
                    function: agg.function,
                    targets,
                    body,
                    locals: Vec::new(),
                    ignored: Vec::new(),
                    span: agg.span,
                })
            }
        })
    }

    fn is_head_anywhere(&self, id: PredId) -> bool {
        self.heads.contains(&self.predicates[id.0 as usize].name)
    }
}

/// Variables of one rule: names, ids, and where each occurs.
#[derive(Default)]
struct Scope {
    names: Vec<String>,
    ids: FxHashMap<String, VarId>,
    occurrences: Vec<Vec<Span>>,
}

impl Scope {
    fn var(&mut self, name: &ast::Name) -> VarId {
        if name.text != "_" {
            if let Some(&id) = self.ids.get(&name.text) {
                self.occurrences[id.0 as usize].push(name.span);
                return id;
            }
        }
        let id = VarId(self.names.len() as u32);
        self.names.push(name.text.clone());
        self.occurrences.push(vec![name.span]);
        if name.text != "_" {
            self.ids.insert(name.text.clone(), id);
        } else {
            // Anonymous variables never trigger the single-use warning.
            self.occurrences[id.0 as usize].push(name.span);
        }
        id
    }

    /// Where `var` occurs inside `within`, else its first occurrence.
    fn span(&self, var: VarId, within: Span) -> Span {
        let spans = &self.occurrences[var.0 as usize];
        spans
            .iter()
            .copied()
            .find(|s| s.source == within.source && s.start >= within.start && s.end <= within.end)
            .unwrap_or(spans[0])
    }

    fn name(&self, var: VarId) -> &str {
        &self.names[var.0 as usize]
    }
}

fn atom_vars(atom: &Atom, out: &mut FxHashSet<VarId>) {
    for term in &atom.args {
        if let Term::Var(v) = term {
            out.insert(*v);
        }
    }
}

fn expr_vars(expr: &Expr, out: &mut FxHashSet<VarId>) {
    expr.visit_vars(&mut |v| {
        out.insert(v);
    });
}

/// Every variable a literal mentions (for aggregates: the result, targets and body).
fn literal_vars(literal: &Literal, out: &mut FxHashSet<VarId>) {
    match literal {
        Literal::Pos(atom) | Literal::Neg(atom) => atom_vars(atom, out),
        Literal::Cmp { left, right, .. } => {
            expr_vars(left, out);
            expr_vars(right, out);
        }
        Literal::Assign { var, expr, .. } => {
            out.insert(*var);
            expr_vars(expr, out);
        }
        Literal::Agg(agg) => {
            out.insert(agg.result);
            out.extend(agg.targets.iter().copied());
            for literal in &agg.body {
                literal_vars(literal, out);
            }
        }
    }
}

fn lone_var(expr: &Expr) -> Option<VarId> {
    match expr {
        Expr::Term(Term::Var(v)) => Some(*v),
        _ => None,
    }
}

/// Resolves `X = expr` into assignments where `X` is bound only there, and returns the
/// variables bound once all literals have been placed. `bound` holds the variables
/// bound on entry.
fn resolve_bindings(body: &mut [Literal], bound: &mut FxHashSet<VarId>) {
    for literal in body.iter() {
        if let Literal::Pos(atom) = literal {
            atom_vars(atom, bound);
        }
    }
    loop {
        let mut progress = false;
        for literal in body.iter_mut() {
            match literal {
                Literal::Cmp {
                    left,
                    op: ast::CmpOp::Eq,
                    right,
                    span,
                } => {
                    let mut right_vars = FxHashSet::default();
                    expr_vars(right, &mut right_vars);
                    let mut left_vars = FxHashSet::default();
                    expr_vars(left, &mut left_vars);
                    let assign = match (lone_var(left), lone_var(right)) {
                        (Some(v), _) if !bound.contains(&v) && right_vars.is_subset(bound) => {
                            Some((v, right.clone()))
                        }
                        (_, Some(v)) if !bound.contains(&v) && left_vars.is_subset(bound) => {
                            Some((v, left.clone()))
                        }
                        _ => None,
                    };
                    if let Some((var, expr)) = assign {
                        bound.insert(var);
                        *literal = Literal::Assign {
                            var,
                            expr,
                            span: *span,
                        };
                        progress = true;
                    }
                }
                Literal::Agg(agg) if !bound.contains(&agg.result) => {
                    // The outer variables of the aggregate are fixed when lowering the
                    // rule; here it is enough that every non-local variable is bound.
                    let mut inner = FxHashSet::default();
                    for literal in &agg.body {
                        literal_vars(literal, &mut inner);
                    }
                    let outer_bound = inner.iter().all(|v| {
                        bound.contains(v) || agg.locals.contains(v) || agg.ignored.contains(v)
                    });
                    if outer_bound {
                        bound.insert(agg.result);
                        progress = true;
                    }
                }
                _ => {}
            }
        }
        if !progress {
            return;
        }
    }
}

impl Lowerer<'_> {
    fn unbound(&mut self, scope: &Scope, var: VarId, context: &str, within: Span) {
        self.error(
            Diagnostic::error(
                "E0201",
                format!("variable `{}` {context} is not bound", scope.name(var)),
                scope.span(var, within),
            )
            .with_label("not bound by a positive atom")
            .with_help(format!(
                "`{}` must appear in a positive atom of the body (or be assigned with `{} = ...`) for the rule to have finitely many answers",
                scope.name(var),
                scope.name(var)
            )),
        );
    }

    /// Checks safety and fills in aggregate locals; returns whether the rule is safe.
    fn check_rule(&mut self, head: &Atom, body: &mut [Literal], scope: &Scope) -> bool {
        // Locals of each aggregate: variables of its body that occur nowhere else.
        // Only aggregates need theirs: computing it for every literal was quadratic in
        // the length of the body.
        let mut outside_counts: Vec<FxHashSet<VarId>> = Vec::new();
        for (index, literal) in body.iter().enumerate() {
            if !matches!(literal, Literal::Agg(_)) {
                outside_counts.push(FxHashSet::default());
                continue;
            }
            let mut outside = FxHashSet::default();
            atom_vars(head, &mut outside);
            for (other, literal) in body.iter().enumerate() {
                if other != index {
                    literal_vars(literal, &mut outside);
                }
            }
            outside_counts.push(outside);
        }
        let mut ok = true;
        for (index, literal) in body.iter_mut().enumerate() {
            if let Literal::Agg(agg) = literal {
                let mut inner = FxHashSet::default();
                for literal in &agg.body {
                    literal_vars(literal, &mut inner);
                }
                if inner.contains(&agg.result) {
                    self.error(
                        Diagnostic::error(
                            "E0108",
                            format!(
                                "the result `{}` of an aggregate is used inside it",
                                scope.name(agg.result)
                            ),
                            agg.span,
                        )
                        .with_help("use a fresh variable for the aggregate's result"),
                    );
                    ok = false;
                }
                // `_` inside a negated atom is never bound: it is no part of a solution.
                let mut positive = FxHashSet::default();
                for literal in &agg.body {
                    if let Literal::Pos(atom) = literal {
                        atom_vars(atom, &mut positive);
                    }
                }
                let (mut locals, mut ignored): (Vec<VarId>, Vec<VarId>) = inner
                    .into_iter()
                    .filter(|v| !outside_counts[index].contains(v))
                    .partition(|v| scope.name(*v) != "_" || positive.contains(v));
                locals.sort();
                ignored.sort();
                agg.ignored = ignored;
                for target in &agg.targets {
                    if !locals.contains(target) {
                        self.error(
                            Diagnostic::error(
                                "E0108",
                                format!(
                                    "aggregated variable `{}` must be bound inside the aggregate and not outside it",
                                    scope.name(*target)
                                ),
                                agg.span,
                            )
                            .with_help("aggregate over a variable that appears in the aggregate's body only"),
                        );
                        ok = false;
                    }
                }
                agg.locals = locals;
            }
        }
        if !ok {
            return false;
        }
        let mut bound = FxHashSet::default();
        resolve_bindings(body, &mut bound);
        let mut reported = FxHashSet::default();
        for literal in body.iter_mut() {
            let within = match literal {
                Literal::Pos(atom) | Literal::Neg(atom) => atom.span,
                Literal::Cmp { span, .. } | Literal::Assign { span, .. } => *span,
                Literal::Agg(agg) => agg.span,
            };
            let (vars, context) = match literal {
                Literal::Pos(_) | Literal::Assign { .. } => continue,
                Literal::Neg(atom) => {
                    // `_` in a negated atom stands for "any value": nothing to bind.
                    let mut vars = FxHashSet::default();
                    atom_vars(atom, &mut vars);
                    vars.retain(|v| scope.name(*v) != "_");
                    (vars, "in a negated atom")
                }
                Literal::Cmp { left, right, .. } => {
                    let mut vars = FxHashSet::default();
                    expr_vars(left, &mut vars);
                    expr_vars(right, &mut vars);
                    (vars, "in a comparison")
                }
                Literal::Agg(agg) => {
                    let mut inner = FxHashSet::default();
                    for literal in &agg.body {
                        literal_vars(literal, &mut inner);
                    }
                    let outer: FxHashSet<VarId> = inner
                        .into_iter()
                        .filter(|v| !agg.locals.contains(v) && !agg.ignored.contains(v))
                        .collect();
                    // Inside the aggregate, locals must be bound by its own atoms.
                    let mut inner_bound = bound.clone();
                    resolve_bindings(&mut agg.body, &mut inner_bound);
                    for inner_literal in &agg.body {
                        let mut vars = FxHashSet::default();
                        match inner_literal {
                            Literal::Neg(atom) => {
                                atom_vars(atom, &mut vars);
                                vars.retain(|v| scope.name(*v) != "_");
                            }
                            Literal::Cmp { left, right, .. } => {
                                expr_vars(left, &mut vars);
                                expr_vars(right, &mut vars);
                            }
                            _ => {}
                        }
                        let mut vars: Vec<VarId> = vars.into_iter().collect();
                        vars.sort();
                        for v in vars {
                            if !inner_bound.contains(&v) && reported.insert(v) {
                                self.unbound(scope, v, "in an aggregate", within);
                                ok = false;
                            }
                        }
                    }
                    (outer, "used by an aggregate")
                }
            };
            let mut vars: Vec<VarId> = vars.into_iter().filter(|v| !bound.contains(v)).collect();
            vars.sort();
            for v in vars {
                if reported.insert(v) {
                    self.unbound(scope, v, context, within);
                    ok = false;
                }
            }
        }
        for term in &head.args {
            if let Term::Var(v) = term {
                if !bound.contains(v) && reported.insert(*v) {
                    self.unbound(scope, *v, "in the head", head.span);
                    ok = false;
                }
            }
        }
        ok
    }

    /// Checks that each variable is used at columns of one declared kind, and that head
    /// columns receive values of their declared kind.
    fn check_kinds(&mut self, head: &Atom, body: &[Literal], scope: &Scope) {
        let mut kinds: FxHashMap<VarId, (Kind, Span, String)> = FxHashMap::default();
        let mut atoms: Vec<&Atom> = Vec::new();
        fn collect<'b>(body: &'b [Literal], atoms: &mut Vec<&'b Atom>) {
            for literal in body {
                match literal {
                    Literal::Pos(atom) | Literal::Neg(atom) => atoms.push(atom),
                    Literal::Agg(agg) => collect(&agg.body, atoms),
                    _ => {}
                }
            }
        }
        collect(body, &mut atoms);
        let mut errors = Vec::new();
        for atom in atoms.iter().copied().chain(std::iter::once(head)) {
            let predicate = &self.predicates[atom.predicate.0 as usize];
            for (column, term) in atom.args.iter().enumerate() {
                let (Term::Var(v), Some(kind)) = (term, predicate.kinds[column]) else {
                    continue;
                };
                let place = format!("`{}` column {}", predicate.name, column + 1);
                match kinds.get(v) {
                    None => {
                        kinds.insert(*v, (kind, atom.span, place));
                    }
                    Some((first, first_span, first_place)) if *first != kind => {
                        let compatible = matches!(
                            (first, kind),
                            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int)
                        );
                        if !compatible {
                            let d = Diagnostic::error(
                                "E0103",
                                format!(
                                    "variable `{}` is {} in {place} but {} in {first_place}",
                                    scope.name(*v),
                                    article(kind),
                                    article(*first)
                                ),
                                atom.span,
                            )
                            .with_label(format!("{} expected here", kind.name()))
                            .with_secondary(*first_span, format!("{} expected here", first.name()))
                            .with_help("a variable holds one value, so the columns it joins must have the same type");
                            errors.push(d);
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        self.diagnostics.extend(errors);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn article(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Int => "an int",
        Kind::Float => "a float",
        Kind::Date => "a date",
    }
}

fn kind_help(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "write a symbol (apt40) or a string (\"APT 40\")",
        Kind::Int => "write an integer such as 42",
        Kind::Float => "write a number such as 0.5",
        Kind::Date => "write a date as YYYY-MM-DD, e.g. 2021-08-01",
    }
}

fn annotation_example(name: &str) -> &'static str {
    match name {
        "name" => "example: `@name(\"official attribution\")`",
        "strength" => "example: `@strength(0.9)`",
        "explain" => "example: `@explain(\"{G} conducted {I} ({likelihood})\")`: placeholders name the rule's variables",
        "source" => "example: `@source(\"GCSB statement 2024-03-26\")`",
        "confidence" => "example: `@confidence(0.95)`",
        "since" => "example: `@since(2024-03-26)`: the fact holds from that day on",
        "until" => "example: `@until(2022-12-31)`: the fact holds up to and including that day",
        "combine" => "example: `@combine(noisy_or)` or `@combine(max)` before `rel`",
        "hypothesis" => "example: `@hypothesis(\"responsible group\")` before `rel`",
        "exception" => "example: `@exception` before `rel false_flag_suspected(...)`",
        "reference" => "example: `@reference` before `rel alias_of(alias: sym, group: sym)`",
        "speaker" => "example: `@speaker(source)` before `rel claims(source: sym, ...)`",
        "party" => "example: `@party` before `rel speaks_for(source: sym, party: sym)`",
        _ => "example: `@grade(B2)`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{delimited, parse_json, Loaded, NoSchema};
    use crate::syntax::parse;

    /// Loads `files` (TSV, CSV or JSON by extension, kinds not checked while loading)
    /// after the rules, lowers them once with TSV and CSV rows as tables and once as
    /// single facts, and checks that both give the same facts and diagnostics; returns
    /// the diagnostics as `code location`.
    fn check_tables_agree(rules: &str, files: &[(&str, &str)]) -> Vec<String> {
        let mut sources = Sources::default();
        let id = sources.add("t.rules", rules);
        let (module, errors) = parse(id, rules);
        assert!(errors.is_empty(), "{errors:?}");
        let mut loaded = Loaded::default();
        for (name, text) in files {
            let source = sources.add(*name, *text);
            let (relation, extension) = name.split_once('.').expect("an extension");
            loaded.absorb(match extension {
                "tsv" => delimited::parse_table(
                    text,
                    source,
                    relation,
                    delimited::Delimiter::Tab,
                    &NoSchema,
                ),
                "csv" => delimited::parse_table(
                    text,
                    source,
                    relation,
                    delimited::Delimiter::Comma,
                    &NoSchema,
                ),
                _ => parse_json(text, source, &NoSchema),
            });
        }
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let modules = [module];
        let singles = lower(&modules, loaded.input_facts(&sources), &sources);
        let tables = lower_with_tables(&modules, loaded.facts, loaded.tables, &sources);
        let facts = |program: &Option<Program>| {
            program.as_ref().map(|p| {
                let interner = p.interner();
                let values: Vec<_> = (0..interner.len() as u32)
                    .map(|id| interner.value(ValueId(id)))
                    .collect();
                format!("{:?} {values:?}", p.facts())
            })
        };
        assert_eq!(facts(&singles.0), facts(&tables.0));
        assert_eq!(format!("{:?}", singles.1), format!("{:?}", tables.1));
        tables
            .1
            .iter()
            .map(|d| {
                let at = d.primary.as_ref().map(|l| sources.location(l.span));
                format!("{} {}", d.code, at.unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn tables_lower_like_single_facts() {
        let files = [
            ("a.json", r#"{"a": [["z", 1]]}"#),
            ("b.tsv", "1\t2021-08-01\n# note\n2\tx\n3\t2021-08-02\n"),
            ("c.csv", "\"q\",1\nr,\"2\"\n"),
            ("d.json", r#"{"b": [[4, "2021-08-03"]]}"#),
        ];
        let rules = "rel b(n: int, d: date).\np(X) :- b(X, _), c(_, X), a(_, X).\n";
        assert_eq!(
            check_tables_agree(rules, &files),
            ["E0103 b.tsv:3:3", "E0103 d.json:1:12"]
        );
        let rules = "p(X) :- b(X), c(X, _).\n";
        assert_eq!(
            check_tables_agree(rules, &files),
            [
                "E0102 b.tsv:1:1",
                "E0102 b.tsv:3:1",
                "E0102 b.tsv:4:1",
                "E0102 d.json:1:8",
                "E0101 t.rules:1:9",
                "W0202 a.json:1:8"
            ]
        );
        let rules = "rel c(x: sym, y: date).\np(X) :- b(X, _), c(X, _).\n";
        assert_eq!(
            check_tables_agree(rules, &files),
            ["E0103 c.csv:1:5", "E0103 c.csv:2:3", "W0202 a.json:1:8"]
        );
        let rules = "p(X) :- b(X, _), c(_, X), a(_, X).\n";
        assert!(check_tables_agree(rules, &files).is_empty());
    }
}
