//! Duplicate and subsumed rules: a rule is redundant when another rule with the same
//! head derives everything it derives, with at least its confidence.
//!
//! Rule `a` subsumes rule `b` when a renaming of `a`'s variables (each to a term of `b`)
//! makes `a`'s head `b`'s head and every literal of `a`'s body one of `b`'s, and `a` is
//! at least as strong: whenever `b`'s body holds, `a`'s holds on a subset of the same
//! premises, and a derivation's confidence is its strength times premise confidences of
//! at most 1. Candidates are found without comparing all pairs: rules are grouped by head
//! relation and by the set of relations of their body atoms, and a rule is compared only
//! with the rules of its group whose set is a subset of its own, a bounded number of them,
//! each comparison a bounded search.

use rustc_hash::FxHashMap;

use super::describe;
use crate::diagnostic::Diagnostic;
use crate::program::{Atom, Combine, Expr, Literal, PredId, Program, Rule, RuleId, Term, VarId};

/// Body relation sets with more distinct relations than this are looked up as a whole
/// only (their subsets are not enumerated).
const MAX_SUBSET_RELATIONS: usize = 8;
/// At most this many candidate rules are compared with each rule.
const MAX_CANDIDATES: usize = 64;
/// At most this many matching steps per comparison; past it, no subsumption is claimed.
const MAX_STEPS: usize = 10_000;

/// The relations of a rule's top-level atoms: (negated, relation), sorted, no duplicates.
type Signature = Vec<(bool, PredId)>;

fn signature(rule: &Rule) -> Signature {
    let mut signature: Signature = rule
        .body
        .iter()
        .filter_map(|literal| match literal {
            Literal::Pos(atom) => Some((false, atom.predicate)),
            Literal::Neg(atom) => Some((true, atom.predicate)),
            _ => None,
        })
        .collect();
    signature.sort();
    signature.dedup();
    signature
}

/// `W0604` for each rule that repeats an earlier one, and `W0605` for each rule that
/// another rule with the same head subsumes.
pub(super) fn check(program: &Program, out: &mut Vec<Diagnostic>) {
    let rules = program.rules();
    let signatures: Vec<Signature> = rules.iter().map(signature).collect();
    // Rules by head relation and body signature.
    let mut index: FxHashMap<(PredId, &Signature), Vec<RuleId>> = FxHashMap::default();
    for rule in rules {
        index
            .entry((rule.head.predicate, &signatures[rule.id.0 as usize]))
            .or_default()
            .push(rule.id);
    }
    let mut written: FxHashMap<String, RuleId> = FxHashMap::default();
    for rule in rules {
        // Exact repeats (up to variable names) are found by their text, whatever the
        // size of their group.
        let key = canonical(rule);
        if let Some(&first) = written.get(&key) {
            if program.rule(first).strength == rule.strength {
                out.push(diagnostic(program, rule, program.rule(first), true));
                continue;
            }
        } else {
            written.insert(key, rule.id);
        }
        let head = rule.head.predicate;
        let noisy = program.predicate(head).combine == Combine::NoisyOr;
        let own = &signatures[rule.id.0 as usize];
        let mut checked = 0;
        let mut found: Option<(RuleId, bool)> = None;
        let subsets: Vec<Signature> = if own.len() <= MAX_SUBSET_RELATIONS {
            (0u32..1 << own.len())
                .rev()
                .map(|mask| {
                    own.iter()
                        .enumerate()
                        .filter(|(bit, _)| mask & (1 << bit) != 0)
                        .map(|(_, relation)| *relation)
                        .collect()
                })
                .collect()
        } else {
            vec![own.clone()]
        };
        'search: for subset in &subsets {
            let Some(candidates) = index.get(&(head, subset)) else {
                continue;
            };
            for &other in candidates {
                if other == rule.id {
                    continue;
                }
                if checked == MAX_CANDIDATES {
                    break 'search;
                }
                checked += 1;
                let candidate = program.rule(other);
                if candidate.strength < rule.strength || !subsumes(candidate, rule) {
                    continue;
                }
                let mutual = candidate.strength == rule.strength && subsumes(rule, candidate);
                if mutual {
                    // Two equivalent rules: the later one is the duplicate.
                    if other < rule.id {
                        found = Some((other, true));
                        break 'search;
                    }
                } else if !noisy {
                    // Under noisy-or a weaker or narrower rule still adds a line.
                    found = Some((other, false));
                    break 'search;
                }
            }
        }
        if let Some((other, duplicate)) = found {
            out.push(diagnostic(program, rule, program.rule(other), duplicate));
        }
    }
}

/// The rule as text with its variables numbered in order of first occurrence: equal
/// for two rules that differ only in variable names (and `@name`, strength).
fn canonical(rule: &Rule) -> String {
    use std::fmt::Write as _;
    fn term(term: &Term, numbers: &mut FxHashMap<VarId, usize>, out: &mut String) {
        match term {
            Term::Var(v) => {
                let next = numbers.len();
                let n = *numbers.entry(*v).or_insert(next);
                let _ = write!(out, "v{n},");
            }
            Term::Const(c) => {
                let _ = write!(out, "c{},", c.0);
            }
        }
    }
    fn atom(atom: &Atom, numbers: &mut FxHashMap<VarId, usize>, out: &mut String) {
        let _ = write!(out, "p{}(", atom.predicate.0);
        for t in &atom.args {
            term(t, numbers, out);
        }
        out.push(')');
    }
    fn expr(e: &Expr, numbers: &mut FxHashMap<VarId, usize>, out: &mut String) {
        match e {
            Expr::Term(t) => term(t, numbers, out),
            Expr::Bin(a, op, b) => {
                out.push('(');
                expr(a, numbers, out);
                out.push_str(op.as_str());
                expr(b, numbers, out);
                out.push(')');
            }
        }
    }
    fn literals(body: &[Literal], numbers: &mut FxHashMap<VarId, usize>, out: &mut String) {
        for literal in body {
            match literal {
                Literal::Pos(a) => atom(a, numbers, out),
                Literal::Neg(a) => {
                    out.push('!');
                    atom(a, numbers, out);
                }
                Literal::Cmp {
                    left, op, right, ..
                } => {
                    expr(left, numbers, out);
                    out.push_str(op.as_str());
                    expr(right, numbers, out);
                }
                Literal::Assign { var, expr: e, .. } => {
                    term(&Term::Var(*var), numbers, out);
                    out.push_str(":=");
                    expr(e, numbers, out);
                }
                Literal::Agg(agg) => {
                    let _ = write!(out, "{}[", agg.function.as_str());
                    term(&Term::Var(agg.result), numbers, out);
                    for t in &agg.targets {
                        term(&Term::Var(*t), numbers, out);
                    }
                    out.push(':');
                    literals(&agg.body, numbers, out);
                    out.push(']');
                }
            }
            out.push(';');
        }
    }
    let mut numbers = FxHashMap::default();
    let mut out = String::new();
    atom(&rule.head, &mut numbers, &mut out);
    out.push_str(":-");
    literals(&rule.body, &mut numbers, &mut out);
    out
}

fn diagnostic(program: &Program, rule: &Rule, other: &Rule, duplicate: bool) -> Diagnostic {
    let name = &program.predicate(rule.head.predicate).name;
    if duplicate {
        Diagnostic::warning(
            "W0604",
            format!("{} repeats {}", describe(rule), describe(other)),
            rule.head.span,
        )
        .with_label("this rule says again what an earlier rule says")
        .with_secondary(other.head.span, "first written here")
        .with_help(format!(
            "remove one of the two rules for `{name}`; if both are meant, make them differ"
        ))
    } else {
        let strength = if other.strength == rule.strength {
            "the same strength".to_string()
        } else {
            format!(
                "a greater strength ({} > {})",
                other.strength, rule.strength
            )
        };
        Diagnostic::warning(
            "W0605",
            format!(
                "{} derives nothing that {} does not already derive",
                describe(rule),
                describe(other)
            ),
            rule.head.span,
        )
        .with_label("subsumed rule")
        .with_secondary(
            other.head.span,
            format!("this rule needs only some of the premises, with {strength}"),
        )
        .with_note("every instance of the subsumed rule is an instance of the other one with at least its confidence, so removing it changes no conclusion")
        .with_help("remove the subsumed rule, or give it a greater strength than the general one if the extra premises should count for more")
    }
}

/// A renaming of the general rule's variables under construction, with an undo trail.
struct Matcher<'a> {
    general: &'a Rule,
    specific: &'a Rule,
    binding: Vec<Option<Term>>,
    trail: Vec<VarId>,
    steps: usize,
}

/// Whether `general` subsumes `specific` (ignoring strengths).
fn subsumes(general: &Rule, specific: &Rule) -> bool {
    if general.body.len() > specific.body.len() {
        // Literals may match the same one, but a longer body is seldom more general and
        // would make the search longer; such pairs are not reported.
        return false;
    }
    let mut matcher = Matcher {
        general,
        specific,
        binding: vec![None; general.variables.len()],
        trail: Vec::new(),
        steps: 0,
    };
    matcher.atom(&general.head, &specific.head, false) && matcher.body(0)
}

impl Matcher<'_> {
    fn is_anonymous(rule: &Rule, var: VarId) -> bool {
        rule.variables.get(var.0 as usize).is_some_and(|n| n == "_")
    }

    fn bind(&mut self, var: VarId, term: Term) -> bool {
        match self.binding[var.0 as usize] {
            Some(bound) => bound == term,
            None => {
                self.binding[var.0 as usize] = Some(term);
                self.trail.push(var);
                true
            }
        }
    }

    fn undo(&mut self, mark: usize) {
        for var in self.trail.drain(mark..) {
            self.binding[var.0 as usize] = None;
        }
    }

    /// Terms in a negated atom: `_` there means "any value", so it matches only `_`.
    fn term(&mut self, general: Term, specific: Term, negated: bool) -> bool {
        match (general, specific) {
            (Term::Const(a), Term::Const(b)) => a == b,
            (Term::Const(_), Term::Var(_)) => false,
            (Term::Var(v), specific) => {
                if negated {
                    let general_anonymous = Self::is_anonymous(self.general, v);
                    let specific_anonymous = match specific {
                        Term::Var(w) => Self::is_anonymous(self.specific, w),
                        Term::Const(_) => false,
                    };
                    if general_anonymous && !specific_anonymous {
                        return false;
                    }
                }
                self.bind(v, specific)
            }
        }
    }

    fn atom(&mut self, general: &Atom, specific: &Atom, negated: bool) -> bool {
        general.predicate == specific.predicate
            && general
                .args
                .iter()
                .zip(&specific.args)
                .all(|(a, b)| self.term(*a, *b, negated))
    }

    fn expr(&mut self, general: &Expr, specific: &Expr) -> bool {
        match (general, specific) {
            (Expr::Term(a), Expr::Term(b)) => self.term(*a, *b, false),
            (Expr::Bin(a, op, b), Expr::Bin(c, op2, d)) => {
                op == op2 && self.expr(a, c) && self.expr(b, d)
            }
            _ => false,
        }
    }

    /// One literal against another, structurally; binds on success, and may leave
    /// bindings behind on failure (the caller undoes them).
    fn literal(&mut self, general: &Literal, specific: &Literal) -> bool {
        match (general, specific) {
            (Literal::Pos(a), Literal::Pos(b)) => self.atom(a, b, false),
            (Literal::Neg(a), Literal::Neg(b)) => self.atom(a, b, true),
            (
                Literal::Cmp {
                    left, op, right, ..
                },
                Literal::Cmp {
                    left: left2,
                    op: op2,
                    right: right2,
                    ..
                },
            ) => op == op2 && self.expr(left, left2) && self.expr(right, right2),
            (
                Literal::Assign { var, expr, .. },
                Literal::Assign {
                    var: var2,
                    expr: expr2,
                    ..
                },
            ) => self.bind(*var, Term::Var(*var2)) && self.expr(expr, expr2),
            (Literal::Agg(a), Literal::Agg(b)) => {
                a.function == b.function
                    && a.targets.len() == b.targets.len()
                    && a.body.len() == b.body.len()
                    && self.bind(a.result, Term::Var(b.result))
                    && a.targets
                        .iter()
                        .zip(&b.targets)
                        .all(|(x, y)| self.bind(*x, Term::Var(*y)))
                    && a.body.iter().zip(&b.body).all(|(x, y)| self.literal(x, y))
            }
            _ => false,
        }
    }

    /// Matches the general body from literal `at` on, backtracking over the choices.
    fn body(&mut self, at: usize) -> bool {
        let Some(general) = self.general.body.get(at) else {
            return true;
        };
        for specific in &self.specific.body {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return false;
            }
            let mark = self.trail.len();
            if self.literal(general, specific) && self.body(at + 1) {
                return true;
            }
            self.undo(mark);
        }
        false
    }
}
