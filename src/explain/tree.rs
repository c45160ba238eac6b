//! Derivation trees, built on demand from the derivations recorded during evaluation.
//!
//! A tree's root is the fact asked about; each derived fact's node names its rule,
//! shows the rule as written and instantiated, and has one child per positive premise;
//! leaves are input facts with their source. Negated premises, comparisons and
//! aggregates appear on the rule node. A fact that occurs twice in one tree is expanded
//! the first time (depth first, premises in rule order) and marked `shown_above` after.

use rustc_hash::FxHashSet;
use serde::Serialize;

use super::estimative::likelihood;
use super::matcher::{Matcher, Partial};
use crate::eval::{Derivation, FactId, LineOrigin, Model};
use crate::program::{write_atom, write_literal, write_rule, Literal, Program, Rule};
use crate::value::{Interner, Value, ValueId};

/// One node of an explanation: a fact and how it holds.
#[derive(Clone, Debug, Serialize)]
pub struct Node {
    /// The fact as written in a rule file, e.g. `conducted_by(nz_pco_2021, apt40)`.
    pub fact: String,
    /// Its relation.
    pub relation: String,
    /// Its arguments: text as JSON strings, numbers as numbers, dates as `YYYY-MM-DD`.
    pub args: Vec<serde_json::Value>,
    /// Confidence in \[0, 1\].
    pub confidence: f64,
    /// The ICD 203 term for the confidence.
    pub likelihood: &'static str,
    /// For an input fact written with `@grade`: the Admiralty grade (`B2`) its
    /// confidence was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// For a fact derived by a rule: the rule's `///` documentation, why the rule holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The derivation in words: its rule's `@explain` template with its values (for a
    /// combined fact, the best line's rule, with the combined confidence); `None` when
    /// the rule has no template, and for input facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentence: Option<String>,
    /// How the fact holds.
    pub via: Via,
}

/// How a fact holds.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// An input fact.
    Input {
        /// Its `@source`, or where it was loaded from.
        source: String,
        /// `file:line:col`.
        location: String,
        /// `@since`: the first day the fact holds, if bounded.
        #[serde(skip_serializing_if = "Option::is_none")]
        since: Option<String>,
        /// `@until`: the last day the fact holds, if bounded.
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<String>,
        /// For a fact of a `@reference` relation written with a confidence below 1:
        /// that confidence, which evaluation does not use (reference data is taken as
        /// given).
        #[serde(skip_serializing_if = "Option::is_none")]
        given_despite: Option<f64>,
    },
    /// Derived by a rule.
    Rule {
        /// The rule's `@name`, or `rule #n`.
        rule: String,
        /// The rule's strength.
        strength: f64,
        /// The rule as written.
        text: String,
        /// The rule with this derivation's values.
        instance: String,
        /// One node per positive premise.
        premises: Vec<Node>,
        /// Negated premises, instantiated: no such fact was derived.
        absent: Vec<String>,
        /// Negated `@exception` premises that hold with a confidence below 1: each
        /// weakens the derivation instead of defeating it.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        defeaters: Vec<DefeaterNode>,
        /// Comparisons and assignments, instantiated; all hold.
        conditions: Vec<String>,
        /// Aggregates with their value and the facts they counted.
        aggregates: Vec<AggregateNode>,
    },
    /// A fact of a `@combine(noisy_or)` relation: its confidence is
    /// `1 - (1 - c1)(1 - c2)...` over the lines counted.
    Combined {
        /// How the lines combine: `noisy_or`.
        method: &'static str,
        /// The computation, e.g. `1 - (1 - 0.600)(1 - 0.600)`.
        formula: String,
        /// Every line, most confident first.
        lines: Vec<LineNode>,
    },
    /// Expanded earlier in the same tree.
    ShownAbove,
    /// Derived, but not expanded: the tree reached its depth limit here
    /// ([`DEFAULT_DEPTH`] levels unless asked for more; `--depth` on the command line).
    Deeper {
        /// The depth limit, in levels below the root.
        limit: usize,
    },
    /// Derived, but derivations were not recorded (`--no-explain`).
    Unrecorded,
}

/// One line of evidence of a combined fact.
#[derive(Clone, Debug, Serialize)]
pub struct LineNode {
    /// Whether it counts towards the fact's confidence: the counted lines are the set of
    /// lines sharing no source with the largest noisy-or.
    pub counted: bool,
    /// Why not: a source it shares with a counted line (`party P`, `speaker S` or
    /// `source "text"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<String>,
    /// The counted line it shares that source with (1-based, in the order shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares_with: Option<usize>,
    /// Whether the choice of lines among those it overlaps with is the best found by a
    /// search cut short rather than the best there is.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
    /// What the line's independence is judged by: the parties, speakers and sources of
    /// the evidence it rests on (reference data and certain facts of no known speaker
    /// are not among them).
    pub sources: Vec<String>,
    /// The fact as this line derives it: its confidence is the line's own.
    pub node: Node,
}

/// A negated `@exception` premise whose facts hold with a confidence below 1.
#[derive(Clone, Debug, Serialize)]
pub struct DefeaterNode {
    /// The negated atom with this derivation's values.
    pub atom: String,
    /// The facts it matches, with their confidences.
    pub facts: Vec<(String, f64)>,
    /// The factor it puts on the derivation: `(1 - c1)(1 - c2)...` over those facts.
    pub factor: f64,
}

/// An aggregate premise of a derivation.
#[derive(Clone, Debug, Serialize)]
pub struct AggregateNode {
    /// The aggregate literal with this derivation's values.
    pub literal: String,
    /// Its value.
    pub value: String,
    /// Its confidence, a factor of the derivation's: that of the least confident
    /// solution it counts (each solution as confident as its least confident fact),
    /// 1 when it counts none.
    pub confidence: f64,
    /// The facts of each distinct solution of its body (one instance per solution).
    pub over: Vec<String>,
}

/// The explanation of one fact.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The `///` documentation of the root fact's relation: what the conclusion means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_doc: Option<String>,
    /// The root node.
    pub root: Node,
    /// The least confident input fact of the tree: the evidence that limits the
    /// conclusion most (the first in tree order among equals). `None` if the tree has
    /// no input fact with a confidence below 1.
    pub weakest: Option<Weakest>,
}

/// The input fact that limits a conclusion most.
#[derive(Clone, Debug, Serialize)]
pub struct Weakest {
    /// The fact, as written.
    pub fact: String,
    /// Its confidence.
    pub confidence: f64,
    /// Its source.
    pub source: String,
    /// The Admiralty grade its confidence was read from, if written with `@grade`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
}

impl Weakest {
    /// The ICD 203 term of its confidence.
    pub fn likelihood(&self) -> &'static str {
        likelihood(self.confidence)
    }
}

impl Explanation {
    /// An explanation of `root`, finding its weakest input fact.
    pub fn new(root: Node) -> Explanation {
        fn walk<'n>(node: &'n Node, best: &mut Option<(&'n Node, &'n str)>) {
            match &node.via {
                Via::Input { source, .. } => {
                    if node.confidence < 1.0
                        && best.is_none_or(|(b, _)| node.confidence < b.confidence)
                    {
                        *best = Some((node, source));
                    }
                }
                Via::Rule { premises, .. } => premises.iter().for_each(|p| walk(p, best)),
                Via::Combined { lines, .. } => lines
                    .iter()
                    .filter(|l| l.counted)
                    .for_each(|l| walk(&l.node, best)),
                Via::ShownAbove | Via::Unrecorded | Via::Deeper { .. } => {}
            }
        }
        let mut best = None;
        walk(&root, &mut best);
        let weakest = best.map(|(node, source)| Weakest {
            fact: node.fact.clone(),
            confidence: node.confidence,
            source: source.to_string(),
            grade: node.grade.clone(),
        });
        Explanation {
            relation_doc: None,
            root,
            weakest,
        }
    }
}

/// A value as JSON.
pub(crate) fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Text(s) => serde_json::Value::String(s.to_string()),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Date(_) => serde_json::Value::String(value.to_string()),
    }
}

/// Writes `relation(v1, ..., vn)`.
pub(crate) fn fact_text(
    program: &Program,
    interner: &Interner,
    predicate: crate::program::PredId,
    tuple: &[ValueId],
) -> String {
    let mut out = program.predicate(predicate).name.clone();
    out.push('(');
    for (i, v) in tuple.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&interner.value(*v).to_string());
    }
    out.push(')');
    out
}

/// How an input fact holds: its source, place and window.
fn input_via(program: &Program, input: &crate::program::Fact) -> Via {
    let day = |d: Option<i32>| d.map(|d| Value::Date(d).to_string());
    let reference = program.predicate(input.predicate).reference;
    Via::Input {
        source: program.fact_source(input),
        location: program.fact_location(input),
        since: day(input.window().since),
        until: day(input.window().until),
        given_despite: (reference && input.confidence() < 1.0).then(|| round(input.confidence())),
    }
}

/// Rounds a confidence for output so that printing is stable.
pub(crate) fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Levels below the root that an explanation expands unless asked for more: deep
/// enough for any attribution argument, shallow enough that text, JSON and the tools
/// that read them cope.
pub const DEFAULT_DEPTH: usize = 1_000;

/// The most levels an explanation can be asked to expand: building and printing a tree
/// take stack in proportion to its depth.
pub const MAX_DEPTH: usize = 100_000;

pub(crate) struct Builder<'a> {
    pub matcher: Matcher<'a>,
    shown: FxHashSet<FactId>,
    /// Levels below the root of the node being built.
    depth: usize,
    /// Nodes at this depth are not expanded ([`Via::Deeper`]).
    max_depth: usize,
}

impl<'a> Builder<'a> {
    pub fn new(program: &'a Program, model: &'a Model) -> Builder<'a> {
        Builder {
            matcher: Matcher::new(program, model),
            shown: FxHashSet::default(),
            depth: 0,
            max_depth: DEFAULT_DEPTH,
        }
    }

    /// Expands at most `max_depth` levels below the root (at most [`MAX_DEPTH`]).
    pub fn with_depth(mut self, max_depth: usize) -> Builder<'a> {
        self.max_depth = max_depth.min(MAX_DEPTH);
        self
    }

    fn leaf(&self, fact: FactId, via: Via) -> Node {
        let (program, model) = (self.matcher.program, self.matcher.model);
        let tuple = model.tuple(fact);
        let confidence = model.confidence(fact);
        let text = fact_text(program, model.interner(), fact.predicate, tuple);
        // The node's own text, and as much again for its rule and instance.
        super::budget::charge(3 * text.len() + 64);
        Node {
            fact: text,
            relation: program.predicate(fact.predicate).name.clone(),
            args: tuple
                .iter()
                .map(|v| value_json(model.interner().value(*v)))
                .collect(),
            confidence: round(confidence),
            likelihood: likelihood(confidence),
            grade: None,
            doc: None,
            sentence: None,
            via,
        }
    }

    /// Forgets which facts were shown, so that the next tree starts afresh (the
    /// matcher's copy of the interner and its indexes are kept).
    pub fn start_tree(&mut self) {
        self.shown.clear();
    }

    /// The tree of `fact`, iteratively deepened through recorded derivations.
    pub fn node(&mut self, fact: FactId) -> Node {
        let (program, model) = (self.matcher.program, self.matcher.model);
        if self.depth >= self.max_depth
            && !matches!(model.derivation(program, fact), Derivation::Input(_))
        {
            return self.leaf(
                fact,
                Via::Deeper {
                    limit: self.max_depth,
                },
            );
        }
        // Once a limit on explaining is reached the tree is thrown away: stop expanding.
        if super::budget::tick() {
            return self.leaf(fact, Via::Unrecorded);
        }
        if !self.shown.insert(fact) {
            return self.leaf(fact, Via::ShownAbove);
        }
        // A combined fact with one line is shown as that line's derivation (the one
        // recorded), without the combining step.
        if let Some(lines) = model.lines(fact).filter(|lines| lines.len() > 1) {
            return self.combined(fact, lines);
        }
        match model.derivation(program, fact) {
            Derivation::Input(index) => {
                let input = &program.facts()[index];
                let mut node = self.leaf(fact, input_via(program, input));
                node.grade = input.grade().map(str::to_owned);
                node
            }
            Derivation::Unrecorded => self.leaf(fact, Via::Unrecorded),
            Derivation::Rule { rule, premises } => {
                let rule = program.rule(rule);
                let premise_facts: Vec<FactId> = rule
                    .positive_atoms()
                    .zip(&premises)
                    .map(|(atom, &row)| FactId {
                        predicate: atom.predicate,
                        row,
                    })
                    .collect();
                let (via, sentence) =
                    self.rule_via(rule, fact, &premise_facts, model.confidence(fact));
                let mut node = self.leaf(fact, via);
                node.sentence = sentence;
                node.doc = rule.doc.clone();
                node
            }
        }
    }

    /// The node of a combined fact: one child per line.
    fn combined(&mut self, fact: FactId, lines: &[crate::eval::Line]) -> Node {
        let (program, model) = (self.matcher.program, self.matcher.model);
        let mut nodes = Vec::new();
        let mut factors = Vec::new();
        let mut best_sentence = None;
        for (i, line) in lines.iter().enumerate() {
            let mut sentence = None;
            let mut grade = None;
            let mut doc = None;
            let via = match &line.origin {
                LineOrigin::Input(index) => {
                    let input = &program.facts()[*index];
                    grade = input.grade().map(str::to_owned);
                    input_via(program, input)
                }
                LineOrigin::Rule { rule, premises } => {
                    let rule = program.rule(*rule);
                    let premise_facts: Vec<FactId> = rule
                        .positive_atoms()
                        .zip(premises)
                        .map(|(atom, &row)| FactId {
                            predicate: atom.predicate,
                            row,
                        })
                        .collect();
                    if i == 0 {
                        best_sentence =
                            self.sentence(rule, fact, &premise_facts, model.confidence(fact));
                    }
                    let (via, line_sentence) =
                        self.rule_via(rule, fact, &premise_facts, line.confidence);
                    sentence = line_sentence;
                    doc = rule.doc.clone();
                    via
                }
            };
            let mut node = self.leaf(fact, via);
            node.sentence = sentence;
            node.grade = grade;
            node.doc = doc;
            node.confidence = round(line.confidence);
            node.likelihood = likelihood(line.confidence);
            if line.counted {
                factors.push(format!("(1 - {:.3})", line.confidence));
            }
            let shares_with = line.shares.and_then(|s| {
                lines
                    .iter()
                    .position(|other| other.counted && other.sources.contains(&s))
                    .map(|k| k + 1)
            });
            nodes.push(LineNode {
                counted: line.counted,
                shares: line.shares.map(|s| model.source_name(s).to_string()),
                shares_with,
                approximate: line.approximate,
                sources: line
                    .sources
                    .iter()
                    .map(|&s| model.source_name(s).to_string())
                    .collect(),
                node,
            });
        }
        let mut node = self.leaf(
            fact,
            Via::Combined {
                method: "noisy_or",
                formula: format!("1 - {}", factors.join("")),
                lines: nodes,
            },
        );
        node.sentence = best_sentence;
        node
    }

    /// The sentence of one derivation of `fact` by `rule`, if the rule has a template,
    /// with `confidence` for `{confidence}` and `{likelihood}`.
    fn sentence(
        &mut self,
        rule: &Rule,
        fact: FactId,
        premises: &[FactId],
        confidence: f64,
    ) -> Option<String> {
        let template = rule.template.as_ref()?;
        let bindings = self.bindings(rule, fact, premises);
        Some(super::sentence::render(
            template,
            &rule.variables,
            &bindings,
            &self.matcher.interner,
            confidence,
        ))
    }

    /// Bindings of one derivation: the head unified with the fact, each positive atom
    /// with its premise, then assignments and aggregates recomputed.
    pub fn bindings(&mut self, rule: &Rule, fact: FactId, premises: &[FactId]) -> Partial {
        let model = self.matcher.model;
        let mut bindings: Partial = vec![None; rule.variables.len()];
        let unified = Matcher::unify(&rule.head, model.tuple(fact), &mut bindings)
            && rule
                .positive_atoms()
                .zip(premises)
                .all(|(atom, premise)| Matcher::unify(atom, model.tuple(*premise), &mut bindings));
        debug_assert!(unified, "a recorded derivation matches its rule");
        let rest: Vec<&Literal> = rule
            .body
            .iter()
            .filter(|l| !matches!(l, Literal::Pos(_)))
            .collect();
        let mut complete = bindings.clone();
        self.matcher
            .solve(rule, &rest, &mut bindings, &mut Vec::new(), &mut |b, _| {
                complete = b.clone();
                false
            });
        complete
    }

    /// How `fact` holds by this derivation, and its sentence (with `confidence`).
    fn rule_via(
        &mut self,
        rule: &Rule,
        fact: FactId,
        premises: &[FactId],
        confidence: f64,
    ) -> (Via, Option<String>) {
        let program = self.matcher.program;
        let bindings = self.bindings(rule, fact, premises);
        let sentence = rule.template.as_ref().map(|template| {
            super::sentence::render(
                template,
                &rule.variables,
                &bindings,
                &self.matcher.interner,
                confidence,
            )
        });
        let mut text = String::new();
        write_rule(&mut text, program, rule, None, &self.matcher.interner);
        let mut instance = String::new();
        write_rule(
            &mut instance,
            program,
            rule,
            Some(&bindings),
            &self.matcher.interner,
        );
        let mut absent = Vec::new();
        let mut defeaters = Vec::new();
        let mut conditions = Vec::new();
        let mut aggregates = Vec::new();
        let instantiate = |literal: &Literal, interner: &Interner| {
            let mut s = String::new();
            write_literal(&mut s, program, rule, literal, Some(&bindings), interner);
            s
        };
        for literal in &rule.body {
            match literal {
                Literal::Pos(_) => {}
                Literal::Neg(atom) => {
                    let mut s = String::new();
                    write_atom(
                        &mut s,
                        program,
                        rule,
                        atom,
                        Some(&bindings),
                        &self.matcher.interner,
                    );
                    let found = self.matcher.matching(atom, &bindings);
                    if found.is_empty() {
                        absent.push(s);
                    } else {
                        let model = self.matcher.model;
                        defeaters.push(DefeaterNode {
                            atom: s,
                            facts: found
                                .iter()
                                .map(|f| {
                                    (
                                        fact_text(
                                            program,
                                            model.interner(),
                                            f.predicate,
                                            model.tuple(*f),
                                        ),
                                        round(model.confidence(*f)),
                                    )
                                })
                                .collect(),
                            factor: round(self.matcher.negation_weight(atom, &bindings)),
                        });
                    }
                }
                Literal::Cmp { .. } | Literal::Assign { .. } => {
                    conditions.push(instantiate(literal, &self.matcher.interner))
                }
                Literal::Agg(agg) => {
                    let s = instantiate(literal, &self.matcher.interner);
                    let value = bindings[agg.result.0 as usize]
                        .map(|v| self.matcher.interner.value(v).to_string())
                        .unwrap_or_default();
                    let solutions = self.matcher.aggregate_solutions(rule, agg, &bindings);
                    let model = self.matcher.model;
                    let mut over: Vec<String> = solutions
                        .iter()
                        .map(|(_, facts)| {
                            facts
                                .iter()
                                .map(|f| {
                                    fact_text(
                                        program,
                                        model.interner(),
                                        f.predicate,
                                        model.tuple(*f),
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .collect();
                    over.sort();
                    let confidence = self.matcher.aggregate_confidence(rule, agg, &bindings);
                    aggregates.push(AggregateNode {
                        literal: s,
                        value,
                        confidence: round(confidence),
                        over,
                    });
                }
            }
        }
        self.depth += 1;
        let children = premises.iter().map(|p| self.node(*p)).collect();
        self.depth -= 1;
        let via = Via::Rule {
            rule: rule.label(),
            strength: rule.strength,
            text,
            instance,
            premises: children,
            absent,
            defeaters,
            conditions,
            aggregates,
        };
        (via, sentence)
    }
}
