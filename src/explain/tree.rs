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
    /// Derived, but derivations were not recorded (`--no-explain`).
    Unrecorded,
}

/// One line of evidence of a combined fact.
#[derive(Clone, Debug, Serialize)]
pub struct LineNode {
    /// Whether it counts towards the fact's confidence.
    pub counted: bool,
    /// Why not: a source it shares with a line counted before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<String>,
    /// The uncertain sources the line rests on.
    pub sources: Vec<String>,
    /// The fact as this line derives it: its confidence is the line's own.
    pub node: Node,
}

/// An aggregate premise of a derivation.
#[derive(Clone, Debug, Serialize)]
pub struct AggregateNode {
    /// The aggregate literal with this derivation's values.
    pub literal: String,
    /// Its value.
    pub value: String,
    /// The facts of each distinct solution of its body (one instance per solution).
    pub over: Vec<String>,
}

/// The explanation of one fact.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
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
                Via::ShownAbove | Via::Unrecorded => {}
            }
        }
        let mut best = None;
        walk(&root, &mut best);
        let weakest = best.map(|(node, source)| Weakest {
            fact: node.fact.clone(),
            confidence: node.confidence,
            source: source.to_string(),
        });
        Explanation { root, weakest }
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
    Via::Input {
        source: program.fact_source(input),
        location: program.fact_location(input),
        since: day(input.window().since),
        until: day(input.window().until),
    }
}

/// Rounds a confidence for output so that printing is stable.
pub(crate) fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub(crate) struct Builder<'a> {
    pub matcher: Matcher<'a>,
    shown: FxHashSet<FactId>,
}

impl<'a> Builder<'a> {
    pub fn new(program: &'a Program, model: &'a Model) -> Builder<'a> {
        Builder {
            matcher: Matcher::new(program, model),
            shown: FxHashSet::default(),
        }
    }

    fn leaf(&self, fact: FactId, via: Via) -> Node {
        let (program, model) = (self.matcher.program, self.matcher.model);
        let tuple = model.tuple(fact);
        let confidence = model.confidence(fact);
        Node {
            fact: fact_text(program, model.interner(), fact.predicate, tuple),
            relation: program.predicate(fact.predicate).name.clone(),
            args: tuple
                .iter()
                .map(|v| value_json(model.interner().value(*v)))
                .collect(),
            confidence: round(confidence),
            likelihood: likelihood(confidence),
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
                self.leaf(fact, input_via(program, input))
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
            let via = match &line.origin {
                LineOrigin::Input(index) => {
                    let input = &program.facts()[*index];
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
                    via
                }
            };
            let mut node = self.leaf(fact, via);
            node.sentence = sentence;
            node.confidence = round(line.confidence);
            node.likelihood = likelihood(line.confidence);
            if line.counted {
                factors.push(format!("(1 - {:.3})", line.confidence));
            }
            nodes.push(LineNode {
                counted: line.counted,
                shares: line.shares.map(|s| model.source_name(s).to_string()),
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
                    absent.push(s);
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
                    aggregates.push(AggregateNode {
                        literal: s,
                        value,
                        over,
                    });
                }
            }
        }
        let children = premises.iter().map(|p| self.node(*p)).collect();
        let via = Via::Rule {
            rule: rule.label(),
            strength: rule.strength,
            text,
            instance,
            premises: children,
            absent,
            conditions,
            aggregates,
        };
        (via, sentence)
    }
}
