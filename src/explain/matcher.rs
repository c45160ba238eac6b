//! Matching rule bodies against a finished model, for explanations.
//!
//! Evaluation records only each fact's best derivation (rule and positive premises).
//! Everything else an explanation shows (values of assignments, the facts an aggregate
//! ran over, every other derivation of a fact) is recomputed here on demand by a plain
//! backtracking search over the model, which looks atoms up by their known values (an
//! index per relation and known columns, built on first use). It runs once per
//! explanation, never during evaluation.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::program::PredId;

use crate::eval::{aggregate, compare, eval_expr, FactId, Model};
use crate::program::{Aggregate, Atom, Expr, Literal, Program, Rule, Term, VarId};
use crate::value::{Interner, ValueId};

/// A partial assignment of a rule's variables.
pub(crate) type Partial = Vec<Option<ValueId>>;

/// Searches the model for instances of rule bodies.
pub(crate) struct Matcher<'a> {
    pub program: &'a Program,
    pub model: &'a Model,
    /// A copy of the model's values, extended by arithmetic done while matching.
    pub interner: Interner,
    /// Rows of a relation grouped by the values of some columns, built when a search
    /// first matches an atom with those columns known: per relation and columns, per
    /// key, the rows in ascending order.
    indexes: FxHashMap<(PredId, Vec<usize>), Groups>,
}

/// Rows of one relation by the values of some of its columns, rows ascending.
type Groups = FxHashMap<Vec<ValueId>, Vec<u32>>;

fn expr_ready(expr: &Expr, bindings: &Partial) -> bool {
    let mut ready = true;
    expr.visit_vars(&mut |v| ready &= bindings[v.0 as usize].is_some());
    ready
}

fn regs(bindings: &Partial) -> Vec<ValueId> {
    bindings
        .iter()
        .map(|b| b.unwrap_or(ValueId(u32::MAX)))
        .collect()
}

impl<'a> Matcher<'a> {
    pub fn new(program: &'a Program, model: &'a Model) -> Matcher<'a> {
        Matcher {
            program,
            model,
            interner: model.interner().clone(),
            indexes: FxHashMap::default(),
        }
    }

    /// Binds `atom`'s variables to `tuple`; false if a constant or bound variable differs.
    pub fn unify(atom: &Atom, tuple: &[ValueId], bindings: &mut Partial) -> bool {
        Self::unify_noting(atom, tuple, bindings, &mut Vec::new())
    }

    /// [`Matcher::unify`] that notes in `newly` each variable it binds, so that the
    /// caller can unbind them (also when unifying fails half-way).
    fn unify_noting(
        atom: &Atom,
        tuple: &[ValueId],
        bindings: &mut Partial,
        newly: &mut Vec<usize>,
    ) -> bool {
        for (term, value) in atom.args.iter().zip(tuple) {
            match term {
                Term::Const(c) if c != value => return false,
                Term::Const(_) => {}
                Term::Var(v) => match bindings[v.0 as usize] {
                    Some(bound) if bound != *value => return false,
                    Some(_) => {}
                    None => {
                        bindings[v.0 as usize] = Some(*value);
                        newly.push(v.0 as usize);
                    }
                },
            }
        }
        true
    }

    /// The rows of `atom`'s relation that agree with its constants and bound variables,
    /// ascending (all rows when none is known), through an index built on first use.
    fn candidate_rows(&mut self, atom: &Atom, bindings: &Partial) -> Vec<u32> {
        let mut columns = Vec::new();
        let mut key = Vec::new();
        for (column, term) in atom.args.iter().enumerate() {
            let value = match term {
                Term::Const(c) => Some(*c),
                Term::Var(v) => bindings[v.0 as usize],
            };
            if let Some(value) = value {
                columns.push(column);
                key.push(value);
            }
        }
        let predicate = atom.predicate;
        if columns.is_empty() {
            return (0..self.model.len(predicate) as u32).collect();
        }
        let model = self.model;
        let index = self
            .indexes
            .entry((predicate, columns))
            .or_insert_with_key(|(_, columns)| {
                let mut groups = Groups::default();
                for row in 0..model.len(predicate) as u32 {
                    let tuple = model.tuple(FactId { predicate, row });
                    let key = columns.iter().map(|&c| tuple[c]).collect();
                    groups.entry(key).or_default().push(row);
                }
                groups
            });
        index.get(&key).cloned().unwrap_or_default()
    }

    /// The values of `atom` if every argument is a constant or a bound variable.
    fn bound_tuple(atom: &Atom, bindings: &Partial) -> Option<Vec<ValueId>> {
        atom.args
            .iter()
            .map(|t| match t {
                Term::Const(c) => Some(*c),
                Term::Var(v) => bindings[v.0 as usize],
            })
            .collect()
    }

    fn is_anonymous(rule: &Rule, var: VarId) -> bool {
        rule.variables[var.0 as usize] == "_"
    }

    /// The facts that match `atom` under `bindings` (unbound variables match anything),
    /// ascending by row.
    pub fn matching(&self, atom: &Atom, bindings: &Partial) -> Vec<FactId> {
        let predicate = atom.predicate;
        if let Some(tuple) = Self::bound_tuple(atom, bindings) {
            return self.model.find(predicate, &tuple).into_iter().collect();
        }
        let mut trial = bindings.clone();
        let mut newly = Vec::new();
        (0..self.model.len(predicate) as u32)
            .map(|row| FactId { predicate, row })
            .filter(|&fact| {
                let matched =
                    Self::unify_noting(atom, self.model.tuple(fact), &mut trial, &mut newly);
                for v in newly.drain(..) {
                    trial[v] = None;
                }
                matched
            })
            .collect()
    }

    /// The factor `not atom` puts on a derivation under `bindings`, as evaluation
    /// computes it: 1 when no fact matches; for an `@exception` relation 0 when one of
    /// the matching facts holds at 0.5 or more, else the chance that none of them
    /// holds, `(1 - c1)(1 - c2)...`; otherwise 0 (defeated).
    pub fn negation_weight(&self, atom: &Atom, bindings: &Partial) -> f64 {
        let found = self.matching(atom, bindings);
        if found.is_empty() {
            return 1.0;
        }
        if !self.program.predicate(atom.predicate).exception {
            return 0.0;
        }
        let confidences: Vec<f64> = found.iter().map(|f| self.model.confidence(*f)).collect();
        crate::eval::negation_factor(confidences)
    }

    /// Calls `found` for each instance of `literals` extending `bindings`, with the
    /// positive premises used; stops early when `found` returns false. Positive atoms
    /// are matched first, in written order; the other literals as soon as they can be.
    pub fn solve(
        &mut self,
        rule: &Rule,
        literals: &[&Literal],
        bindings: &mut Partial,
        premises: &mut Vec<FactId>,
        found: &mut dyn FnMut(&Partial, &[FactId]) -> bool,
    ) -> bool {
        // Under a limit on explaining, every step counts; a limit reached stops the search.
        if super::budget::tick() {
            return false;
        }
        // Pick the next literal: a positive atom, or any other literal whose inputs are bound.
        let ready = |literal: &Literal, bindings: &Partial| match literal {
            Literal::Pos(_) => true,
            Literal::Neg(atom) => atom.args.iter().all(|t| match t {
                Term::Var(v) => bindings[v.0 as usize].is_some() || Self::is_anonymous(rule, *v),
                Term::Const(_) => true,
            }),
            Literal::Cmp { left, right, .. } => {
                expr_ready(left, bindings) && expr_ready(right, bindings)
            }
            Literal::Assign { expr, .. } => expr_ready(expr, bindings),
            Literal::Agg(agg) => {
                let mut inner = FxHashSet::default();
                for l in &agg.body {
                    crate::eval::literal_vars(l, &mut inner);
                }
                inner.iter().all(|v| {
                    bindings[v.0 as usize].is_some()
                        || agg.locals.contains(v)
                        || agg.ignored.contains(v)
                })
            }
        };
        let Some(position) = literals
            .iter()
            .position(|l| !matches!(l, Literal::Pos(_)) && ready(l, bindings))
            .or_else(|| literals.iter().position(|l| matches!(l, Literal::Pos(_))))
        else {
            return match literals.first() {
                // Nothing can be placed although literals remain: an unbound input.
                Some(_) => true,
                None => found(bindings, premises),
            };
        };
        let literal = literals[position];
        let rest: Vec<&Literal> = literals
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != position)
            .map(|(_, l)| *l)
            .collect();
        match literal {
            Literal::Pos(atom) => {
                let predicate = atom.predicate;
                // Every argument known: the one fact with those values, if any.
                if let Some(tuple) = Self::bound_tuple(atom, bindings) {
                    let Some(fact) = self.model.find(predicate, &tuple) else {
                        return true;
                    };
                    premises.push(fact);
                    let go_on = self.solve(rule, &rest, bindings, premises, found);
                    premises.pop();
                    return go_on;
                }
                // `solve` leaves `bindings` as it found them, so undoing what each row
                // bound restores them.
                let mut newly = Vec::new();
                for row in self.candidate_rows(atom, bindings) {
                    let fact = FactId { predicate, row };
                    let matched =
                        Self::unify_noting(atom, self.model.tuple(fact), bindings, &mut newly);
                    let go_on = !matched || {
                        premises.push(fact);
                        let go_on = self.solve(rule, &rest, bindings, premises, found);
                        premises.pop();
                        go_on
                    };
                    for v in newly.drain(..) {
                        bindings[v] = None;
                    }
                    if !go_on {
                        return false;
                    }
                }
                true
            }
            Literal::Neg(atom) => {
                if self.negation_weight(atom, bindings) == 0.0 {
                    true
                } else {
                    self.solve(rule, &rest, bindings, premises, found)
                }
            }
            Literal::Cmp {
                left, op, right, ..
            } => {
                let values = regs(bindings);
                let a = eval_expr(left, &values, &mut self.interner);
                let b = eval_expr(right, &values, &mut self.interner);
                match (a, b) {
                    (Some(a), Some(b)) if compare(*op, a, b, &self.interner) => {
                        self.solve(rule, &rest, bindings, premises, found)
                    }
                    _ => true,
                }
            }
            Literal::Assign { var, expr, .. } => {
                let values = regs(bindings);
                let Some(value) = eval_expr(expr, &values, &mut self.interner) else {
                    return true;
                };
                self.bind_and_continue(rule, *var, value, &rest, bindings, premises, found)
            }
            Literal::Agg(agg) => {
                let solutions = self.aggregate_solutions(rule, agg, bindings);
                let set: FxHashSet<Vec<ValueId>> = solutions.into_iter().map(|(s, _)| s).collect();
                match aggregate(
                    agg.function,
                    &agg.targets,
                    &agg.locals,
                    set.iter().map(Vec::as_slice),
                    &self.interner,
                ) {
                    Some(Ok(value)) => {
                        let value = self.interner.intern(value);
                        self.bind_and_continue(
                            rule, agg.result, value, &rest, bindings, premises, found,
                        )
                    }
                    _ => true,
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_and_continue(
        &mut self,
        rule: &Rule,
        var: VarId,
        value: ValueId,
        rest: &[&Literal],
        bindings: &mut Partial,
        premises: &mut Vec<FactId>,
        found: &mut dyn FnMut(&Partial, &[FactId]) -> bool,
    ) -> bool {
        match bindings[var.0 as usize] {
            Some(bound) if bound != value => true,
            Some(_) => self.solve(rule, rest, bindings, premises, found),
            None => {
                bindings[var.0 as usize] = Some(value);
                let go_on = self.solve(rule, rest, bindings, premises, found);
                bindings[var.0 as usize] = None;
                go_on
            }
        }
    }

    /// The distinct solutions of an aggregate's body (values of its locals) under
    /// `bindings`, each with the positive facts of one instance that produced it.
    pub fn aggregate_solutions(
        &mut self,
        rule: &Rule,
        agg: &Aggregate,
        bindings: &Partial,
    ) -> Vec<(Vec<ValueId>, Vec<FactId>)> {
        let mut inner = bindings.clone();
        for local in &agg.locals {
            inner[local.0 as usize] = None;
        }
        let literals: Vec<&Literal> = agg.body.iter().collect();
        let mut seen: FxHashSet<Vec<ValueId>> = FxHashSet::default();
        let mut out = Vec::new();
        let locals = agg.locals.clone();
        self.solve(
            rule,
            &literals,
            &mut inner,
            &mut Vec::new(),
            &mut |b, premises| {
                let solution: Vec<ValueId> = locals
                    .iter()
                    .map(|l| b[l.0 as usize].expect("aggregate locals are bound by its body"))
                    .collect();
                if seen.insert(solution.clone()) {
                    out.push((solution, premises.to_vec()));
                }
                true
            },
        );
        out
    }

    /// The factors a derivation of `rule` under complete `bindings` gets from its
    /// negations and aggregates, multiplied in written order as evaluation does.
    pub fn body_factors(&mut self, rule: &Rule, bindings: &Partial) -> f64 {
        let mut factor = 1.0;
        for literal in &rule.body {
            match literal {
                Literal::Neg(atom) => factor *= self.negation_weight(atom, bindings),
                Literal::Agg(agg) => factor *= self.aggregate_confidence(rule, agg, bindings),
                _ => {}
            }
        }
        factor
    }

    /// The confidence of an aggregate under `bindings`, as evaluation computes it: the
    /// least, over its distinct solutions, of the best instance of each, an instance
    /// being as confident as its least confident fact (and `@exception` negation); 1
    /// when it counts nothing.
    pub fn aggregate_confidence(
        &mut self,
        rule: &Rule,
        agg: &Aggregate,
        bindings: &Partial,
    ) -> f64 {
        let mut inner = bindings.clone();
        for local in &agg.locals {
            inner[local.0 as usize] = None;
        }
        let literals: Vec<&Literal> = agg.body.iter().collect();
        let mut best: rustc_hash::FxHashMap<Vec<ValueId>, f64> = Default::default();
        let locals = agg.locals.clone();
        let mut instances: Vec<(Vec<ValueId>, Partial, Vec<FactId>)> = Vec::new();
        self.solve(
            rule,
            &literals,
            &mut inner,
            &mut Vec::new(),
            &mut |b, premises| {
                let solution: Vec<ValueId> = locals
                    .iter()
                    .map(|l| b[l.0 as usize].expect("aggregate locals are bound by its body"))
                    .collect();
                instances.push((solution, b.clone(), premises.to_vec()));
                true
            },
        );
        for (solution, b, premises) in instances {
            let mut weakest = premises
                .iter()
                .map(|f| self.model.confidence(*f))
                .fold(1.0, f64::min);
            for literal in &agg.body {
                if let Literal::Neg(atom) = literal {
                    if self.program.predicate(atom.predicate).exception {
                        weakest = weakest.min(self.negation_weight(atom, &b));
                    }
                }
            }
            let entry = best.entry(solution).or_insert(0.0);
            *entry = entry.max(weakest);
        }
        best.values().copied().fold(1.0, f64::min)
    }
}
