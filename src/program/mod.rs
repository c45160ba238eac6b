//! The validated program: relations, rules and input facts with ids, ready to evaluate.
//!
//! A [`Program`] exists only if every check passed: all predicates are known with one
//! arity, constants match declared kinds, every rule is safe, and negation and
//! aggregation are stratified. Evaluation relies on these invariants and never re-checks
//! them. Constants are interned in the program's [`Interner`].

pub mod annotate;
mod display;
pub mod lint;
mod lower;
mod stratify;
pub mod template;

pub use display::{write_atom, write_literal, write_rule, Bindings};
pub use lower::{admiralty_confidence, lower, lower_with_tables, lower_with_tables_on};
pub use stratify::Stratum;
pub use template::Template;

use crate::diagnostic::Span;
use crate::syntax::ast::{AggFn, BinOp, CmpOp};
use crate::value::{Interner, Kind, ValueId};

/// Index of a relation in [`Program::predicates`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PredId(pub u32);

/// Index of a rule in [`Program::rules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

/// Index of a variable in its rule's [`Rule::variables`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

/// What the program knows about one relation.
#[derive(Clone, Debug)]
pub struct Predicate {
    /// The relation's name.
    pub name: String,
    /// Number of columns.
    pub arity: usize,
    /// Declared kind per column; `None` for undeclared relations and `any` columns.
    pub kinds: Vec<Option<Kind>>,
    /// Declared column names, where given.
    pub columns: Vec<Option<String>>,
    /// The `rel` declaration, if any.
    pub declared_at: Option<Span>,
    /// The `///` documentation of the declaration.
    pub doc: Option<String>,
    /// Whether some rule has this relation in its head.
    pub derived: bool,
    /// How several derivations of one fact combine (`@combine` on the declaration).
    pub combine: Combine,
    /// `@hypothesis` on the declaration: the relation's facts are candidate conclusions
    /// about their first column (an incident), for `ascribe report`. The label names
    /// what the candidates are ("responsible group").
    pub hypothesis: Option<String>,
    /// `@exception` on the declaration: a fact of this relation under `not` defeats
    /// the conclusions of the rule instances it blocks (see [`crate::explain::defeats`]).
    pub exception: bool,
    /// `@reference` on the declaration: the relation holds reference data (an alias
    /// table, a catalogue), against which lines of evidence are judged. Its facts are
    /// taken as given: they make no line depend on another and add no factor to a
    /// derivation's confidence.
    pub reference: bool,
    /// `@speaker(column)` on the declaration: the column naming who states each fact
    /// (the source of a claim). Lines resting on facts of one speaker, or of speakers
    /// for one party, are not independent.
    pub speaker: Option<usize>,
    /// `@party` on a two-column declaration: its input facts `r(speaker, party)` say
    /// for which party a speaker (a `@speaker` value or a `@source` text) speaks.
    pub party: bool,
    /// `@ranking("label", detail)` on the declaration: the relation's facts rank
    /// candidates about their first column (an incident) by their last column (a
    /// number), for `ascribe report`.
    pub ranking: Option<Ranking>,
    /// `@warn("message")` on the declaration: every fact of the relation is a mistake
    /// in the input, reported as a warning (see [`Warn`]).
    pub warn: Option<Warn>,
}

/// A ranking relation (`@ranking("label", detail)` on its declaration): each fact is
/// one candidate for the incident in its first column, scored by its last column;
/// `detail` names a relation whose facts, matched on the ranking's first two columns,
/// say what the score is made of (the shared items), listed under each candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranking {
    /// What is ranked, for the report's heading.
    pub label: String,
    /// The detail relation, resolved when lowering.
    pub detail: Option<PredId>,
}

/// A warning relation (`@warn("message")`, optionally `@suggest(column, relation)`):
/// after evaluation, each fact of the relation is reported (`W0620`) at the input fact
/// its best derivation rests on, with the message's `{column}` placeholders filled in
/// and, for `@suggest`, the closest value of `relation`'s first column as a did-you-mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warn {
    /// The message, with `{column}` placeholders naming declared columns.
    pub message: String,
    /// The column whose value may be misspelt, and the relation whose first column
    /// holds the values it should have been.
    pub suggest: Option<(usize, PredId)>,
}

/// How the derivations of one fact combine into its confidence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Combine {
    /// The best derivation counts (the max-product semiring): the default.
    #[default]
    Max,
    /// Independent lines of evidence add up: `1 - (1 - c1)(1 - c2)...` over the
    /// derivations that share no uncertain source (`@combine(noisy_or)`).
    NoisyOr,
}

/// A period in which an input fact holds: `@since(date)` and `@until(date)`, both
/// inclusive, either open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// First day the fact holds (days since 1970-01-01), if bounded.
    pub since: Option<i32>,
    /// Last day the fact holds, if bounded.
    pub until: Option<i32>,
}

impl Window {
    /// Whether the fact holds on `day`.
    pub fn contains(&self, day: i32) -> bool {
        self.since.is_none_or(|s| s <= day) && self.until.is_none_or(|u| day <= u)
    }

    /// Whether neither end is bounded.
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }
}

/// A variable or an interned constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Term {
    /// A rule variable.
    Var(VarId),
    /// A constant.
    Const(ValueId),
}

/// `pred(t1, ..., tn)` with a known predicate and the right number of terms.
#[derive(Clone, Debug)]
pub struct Atom {
    /// The relation.
    pub predicate: PredId,
    /// One term per column.
    pub args: Vec<Term>,
    /// Where it was written.
    pub span: Span,
}

/// Arithmetic over terms.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A variable or constant.
    Term(Term),
    /// `left op right`.
    Bin(Box<Expr>, BinOp, Box<Expr>),
}

impl Expr {
    /// Calls `f` on every variable in the expression.
    pub fn visit_vars(&self, f: &mut impl FnMut(VarId)) {
        match self {
            Expr::Term(Term::Var(v)) => f(*v),
            Expr::Term(Term::Const(_)) => {}
            Expr::Bin(left, _, right) => {
                left.visit_vars(f);
                right.visit_vars(f);
            }
        }
    }
}

/// An aggregate literal: `result = function(targets : body)`.
#[derive(Clone, Debug)]
pub struct Aggregate {
    /// Variable bound to the result.
    pub result: VarId,
    /// The function.
    pub function: AggFn,
    /// Variables before `:`; exactly one for `sum`, `min` and `max`.
    pub targets: Vec<VarId>,
    /// Literals of the aggregated body (no nested aggregates).
    pub body: Vec<Literal>,
    /// Variables of the body that occur nowhere else in the rule, sorted: a solution of
    /// the body is one distinct assignment of these.
    pub locals: Vec<VarId>,
    /// `_` variables of negated atoms in the body: bound by nothing and part of no
    /// solution (`not f(Y, _)` asks for no `f` fact with any second value).
    pub ignored: Vec<VarId>,
    /// Where it was written.
    pub span: Span,
}

/// A premise of a rule.
#[derive(Clone, Debug)]
pub enum Literal {
    /// A positive atom: binds its variables.
    Pos(Atom),
    /// `not atom`: all variables bound by earlier premises.
    Neg(Atom),
    /// A comparison between bound expressions.
    Cmp {
        /// Left side.
        left: Expr,
        /// Operator.
        op: CmpOp,
        /// Right side.
        right: Expr,
        /// Where it was written.
        span: Span,
    },
    /// `var = expr` where `var` is bound only here.
    Assign {
        /// The variable bound.
        var: VarId,
        /// Its value.
        expr: Expr,
        /// Where it was written.
        span: Span,
    },
    /// An aggregate.
    Agg(Aggregate),
}

/// A rule with resolved predicates and numbered variables.
#[derive(Clone, Debug)]
pub struct Rule {
    /// This rule's id.
    pub id: RuleId,
    /// `@name`, if given.
    pub name: Option<String>,
    /// `@strength`, 1 if not given.
    pub strength: f64,
    /// `@explain`: the sentence that puts a derivation by this rule in words.
    pub template: Option<Template>,
    /// `///` documentation.
    pub doc: Option<String>,
    /// The conclusion.
    pub head: Atom,
    /// Premises in written order.
    pub body: Vec<Literal>,
    /// Variable names by [`VarId`]; anonymous variables are named `_`.
    pub variables: Vec<String>,
    /// The whole rule.
    pub span: Span,
}

impl Rule {
    /// The positive atoms of the body, in written order: the premises a derivation records.
    pub fn positive_atoms(&self) -> impl Iterator<Item = &Atom> {
        self.body.iter().filter_map(|literal| match literal {
            Literal::Pos(atom) => Some(atom),
            _ => None,
        })
    }

    /// A name for messages: the `@name`, else `rule #n`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("rule #{}", self.id.0 + 1),
        }
    }
}

/// The values of an input fact, one per column: up to [`Tuple::INLINE`] of them inline,
/// more in one allocation. Most relations have few columns, and an allocation per fact
/// would be a large part of the memory and load time of a file of a million rows.
#[derive(Clone)]
pub struct Tuple(TupleValues);

#[derive(Clone)]
enum TupleValues {
    /// The first `len` values are the tuple's.
    Inline {
        len: u8,
        values: [ValueId; Tuple::INLINE],
    },
    /// More than [`Tuple::INLINE`] values.
    Heap(Box<[ValueId]>),
}

impl Tuple {
    /// The most values kept without an allocation.
    pub const INLINE: usize = 4;
}

impl std::ops::Deref for Tuple {
    type Target = [ValueId];

    fn deref(&self) -> &[ValueId] {
        match &self.0 {
            TupleValues::Inline { len, values } => &values[..*len as usize],
            TupleValues::Heap(values) => values,
        }
    }
}

impl From<&[ValueId]> for Tuple {
    fn from(values: &[ValueId]) -> Tuple {
        if values.len() <= Tuple::INLINE {
            let mut inline = [ValueId(0); Tuple::INLINE];
            inline[..values.len()].copy_from_slice(values);
            Tuple(TupleValues::Inline {
                len: values.len() as u8,
                values: inline,
            })
        } else {
            Tuple(TupleValues::Heap(values.into()))
        }
    }
}

impl From<Vec<ValueId>> for Tuple {
    fn from(values: Vec<ValueId>) -> Tuple {
        if values.len() <= Tuple::INLINE {
            Tuple::from(values.as_slice())
        } else {
            Tuple(TupleValues::Heap(values.into_boxed_slice()))
        }
    }
}

impl PartialEq for Tuple {
    fn eq(&self, other: &Tuple) -> bool {
        **self == **other
    }
}

impl Eq for Tuple {}

impl std::fmt::Debug for Tuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A ground input fact.
#[derive(Clone, Debug)]
pub struct Fact {
    /// The relation.
    pub predicate: PredId,
    /// One value per column.
    pub tuple: Tuple,
    /// Where the fact was written.
    pub span: Span,
    /// The confidence, source and window, when any differs from the default: boxed,
    /// because most facts (every row of a TSV or CSV file) are certain and have neither.
    annotations: Option<Box<Annotations>>,
}

/// What few input facts have: see [`Fact`].
#[derive(Clone, Debug)]
struct Annotations {
    confidence: f64,
    source: Option<String>,
    window: Window,
    grade: Option<String>,
}

impl Fact {
    /// A fact of `predicate` with the values `tuple`; `source` and `window` as for
    /// [`Fact::source`] and [`Fact::window`].
    pub fn new(
        predicate: PredId,
        tuple: Tuple,
        confidence: f64,
        source: Option<String>,
        window: Window,
        span: Span,
    ) -> Fact {
        let annotations = if confidence == 1.0 && source.is_none() && window.is_open() {
            None
        } else {
            Some(Box::new(Annotations {
                confidence,
                source,
                window,
                grade: None,
            }))
        };
        Fact {
            predicate,
            tuple,
            span,
            annotations,
        }
    }

    /// The same fact with the Admiralty grade (`B2`) its confidence was read from.
    pub fn with_grade(mut self, grade: Option<String>) -> Fact {
        if let Some(grade) = grade {
            let annotations = self.annotations.get_or_insert_with(|| {
                Box::new(Annotations {
                    confidence: 1.0,
                    source: None,
                    window: Window::default(),
                    grade: None,
                })
            });
            annotations.grade = Some(grade);
        }
        self
    }

    /// The Admiralty grade written with `@grade`, if any (whether or not `@confidence`
    /// overrode the number it stands for).
    pub fn grade(&self) -> Option<&str> {
        self.annotations.as_ref()?.grade.as_deref()
    }

    /// Confidence in \[0, 1\], as written (see [`Program::fact_confidence`] for the
    /// confidence evaluation uses).
    pub fn confidence(&self) -> f64 {
        self.annotations.as_ref().map_or(1.0, |a| a.confidence)
    }

    /// `@source` text, or the source a fact file gave (a STIX object); `None` when the
    /// fact's place is all there is to say.
    pub fn source(&self) -> Option<&str> {
        self.annotations.as_ref()?.source.as_deref()
    }

    /// When the fact holds; open unless `@since`/`@until` were given.
    pub fn window(&self) -> Window {
        self.annotations
            .as_ref()
            .map_or(Window::default(), |a| a.window)
    }
}

/// Input facts left out by [`Program::as_of`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAside {
    /// Facts whose window starts after the date.
    pub not_yet: usize,
    /// Facts whose window ended before the date.
    pub expired: usize,
}

/// A checked program.
#[derive(Clone, Debug)]
pub struct Program {
    predicates: Vec<Predicate>,
    rules: Vec<Rule>,
    facts: Vec<Fact>,
    strata: Vec<Stratum>,
    interner: Interner,
    sources: crate::diagnostic::Sources,
}

impl Program {
    /// Lowers parsed modules and loaded facts; the program, or every error found
    /// (warnings are dropped: use [`lower`] to see them).
    pub fn from_modules(
        modules: &[crate::syntax::ast::Module],
        facts: Vec<crate::io::InputFact>,
        sources: &crate::diagnostic::Sources,
    ) -> Result<Program, Vec<crate::diagnostic::Diagnostic>> {
        match lower(modules, facts, sources) {
            (Some(program), _) => Ok(program),
            (None, diagnostics) => Err(diagnostics.into_iter().filter(|d| d.is_error()).collect()),
        }
    }

    /// Relations by [`PredId`].
    pub fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }

    /// One relation.
    pub fn predicate(&self, id: PredId) -> &Predicate {
        &self.predicates[id.0 as usize]
    }

    /// The id of a relation by name.
    pub fn predicate_id(&self, name: &str) -> Option<PredId> {
        self.predicates
            .iter()
            .position(|p| p.name == name)
            .map(|i| PredId(i as u32))
    }

    /// Rules by [`RuleId`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// One rule.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0 as usize]
    }

    /// Input facts, in load order.
    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// Strata in evaluation order.
    pub fn strata(&self) -> &[Stratum] {
        &self.strata
    }

    /// The constants of the program.
    pub fn interner(&self) -> &Interner {
        &self.interner
    }

    /// The texts the program was read from, for locating facts and rules.
    pub fn sources(&self) -> &crate::diagnostic::Sources {
        &self.sources
    }

    /// `file:line:col` of an input fact.
    pub fn fact_location(&self, fact: &Fact) -> String {
        self.sources.location(fact.span)
    }

    /// What to show as an input fact's source: its `@source`, else its location.
    pub fn fact_source(&self, fact: &Fact) -> String {
        fact.source()
            .map_or_else(|| self.fact_location(fact), str::to_owned)
    }

    /// The confidence evaluation gives an input fact: as written, except that facts of
    /// `@reference` relations are taken as given (1).
    pub fn fact_confidence(&self, fact: &Fact) -> f64 {
        if self.predicate(fact.predicate).reference {
            1.0
        } else {
            fact.confidence()
        }
    }

    /// A value as plain text: text without quotes, anything else as written.
    pub fn value_text(&self, value: ValueId) -> String {
        match self.interner.value(value) {
            crate::value::Value::Text(text) => text.to_string(),
            other => other.to_string(),
        }
    }

    /// Who states an input fact, for judging independence: the value of its
    /// `@speaker` column, or else its source (see [`Program::fact_source`]).
    pub fn fact_speaker(&self, fact: &Fact) -> String {
        match self.predicate(fact.predicate).speaker {
            Some(column) => self.value_text(fact.tuple[column]),
            None => self.fact_source(fact),
        }
    }

    /// The same program without the input fact at `index` of [`Program::facts`], for
    /// asking what a conclusion rests on.
    pub fn without_fact(&self, index: usize) -> Program {
        let mut reduced = self.clone();
        reduced.facts.remove(index);
        reduced
    }

    /// Keeps only the input facts for which `keep` holds, in order (a test's `without`).
    pub fn retain_facts(&mut self, keep: impl FnMut(&Fact) -> bool) {
        self.facts.retain(keep);
    }

    /// The program as of `day`: only the input facts whose window contains it, and how
    /// many were set aside because they did not hold yet or no longer held.
    pub fn as_of(&self, day: i32) -> (Program, SetAside) {
        let mut reduced = self.clone();
        let mut set_aside = SetAside::default();
        reduced.facts.retain(|fact| {
            if fact.window().since.is_some_and(|s| day < s) {
                set_aside.not_yet += 1;
                false
            } else if fact.window().until.is_some_and(|u| u < day) {
                set_aside.expired += 1;
                false
            } else {
                true
            }
        });
        (reduced, set_aside)
    }

    /// Adds input facts read from texts that `sources` holds (the program's own texts
    /// and more), for a watcher keeping its program in step with its input.
    #[cfg(feature = "dataflow")]
    pub(crate) fn add_facts(
        &mut self,
        facts: impl IntoIterator<Item = Fact>,
        sources: crate::diagnostic::Sources,
    ) {
        self.facts.extend(facts);
        self.sources = sources;
    }

    /// Mutable access to the constants, for interning query constants.
    pub fn interner_mut(&mut self) -> &mut Interner {
        &mut self.interner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_keep_their_values_inline_or_not() {
        for len in 0..=Tuple::INLINE + 2 {
            let values: Vec<ValueId> = (0..len as u32).map(|v| ValueId(v + 7)).collect();
            let from_vec = Tuple::from(values.clone());
            let from_slice = Tuple::from(values.as_slice());
            assert_eq!(*from_vec, *values);
            assert_eq!(from_vec, from_slice);
            assert_eq!(format!("{from_vec:?}"), format!("{values:?}"));
        }
    }
}
