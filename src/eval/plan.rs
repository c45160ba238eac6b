//! Join plans: the order in which a rule's literals are evaluated, and which version of
//! each relation (delta, old, all) each atom reads.
//!
//! A plan places positive atoms greedily (the atom with bound columns first, then the
//! smaller relation) and places every filter, negation, assignment and aggregate as soon
//! as the variables it needs are bound. Every variable is bound before it is read: the
//! program's safety check guarantees a placement exists.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::program::{Atom, Expr, Literal, PredId, Rule, Term, VarId};
use crate::syntax::ast::{AggFn, CmpOp};

/// Which rows of a relation an atom reads in one semi-naive iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// Rows new or improved in the last iteration.
    Delta,
    /// Rows that existed before the last iteration.
    Old,
    /// All rows at the start of this iteration.
    All,
}

/// Read one relation, checking bound columns and binding the rest.
#[derive(Clone, Debug)]
pub(crate) struct Scan {
    pub predicate: PredId,
    /// The atom's arity; when every column is in the key the row is looked up whole.
    pub arity: usize,
    pub version: Version,
    /// Columns whose value is known before the scan (constants and bound variables).
    pub key_columns: Vec<usize>,
    /// The known values of `key_columns`, in the same order.
    pub key: Vec<Term>,
    /// Index slot on `key_columns`; filled in before execution when `key_columns` is
    /// non-empty and the version is not `Delta`.
    pub index: Option<usize>,
    /// Columns that bind a variable for the first time.
    pub binds: Vec<(usize, VarId)>,
    /// Pairs of columns that must be equal (a variable repeated within the atom).
    pub equal: Vec<(usize, usize)>,
    /// Which premise of the rule this atom is (its position among positive atoms), or
    /// `None` inside an aggregate.
    pub slot: Option<usize>,
    /// Rows whose value in a column cannot match a later atom, left out of the index
    /// this scan reads (see [`Semijoin`]).
    pub semijoin: Option<Semijoin>,
}

/// A semijoin with a complete relation, applied when an index is built: a recursive
/// scan binds a variable that a positive atom of an earlier stratum's relation
/// `of` must match later, so only rows whose `column` holds a value in column
/// `of_column` of `of` can take part in a solution. The filtered index holds just those
/// rows; the solutions are the same, found without visiting the rest. In Andersen's
/// points-to `pointsTo(P, O) :- load(P, Q), pointsTo(Q, R), pointsTo(R, O)`, the scan
/// of `pointsTo(Q, R)` by `R` skips every `Q` that is loaded from nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Semijoin {
    /// The scanned atom's column.
    pub column: usize,
    /// The complete relation.
    pub of: PredId,
    /// The column of `of` whose values pass.
    pub of_column: usize,
}

/// A scan that binds one variable fused with the scans right after it that only check
/// that variable (every other column bound): the rows they would find are those whose
/// values of the variable are in every one of their value-sorted index groups, found by
/// one leapfrog intersection instead of one probe per row of `lead`. Matches run in
/// ascending rows of `lead`, as the unfused scans would.
#[derive(Clone, Debug)]
pub(crate) struct Intersect {
    /// The scan binding the variable; its key columns and `column` are all its columns.
    pub lead: Scan,
    /// The column of `lead` binding the variable.
    pub column: usize,
    /// The variable.
    pub var: VarId,
    /// Each checking scan, its key without the variable's column, and that column.
    pub checks: Vec<Check>,
    /// Value-sorted index slot of `lead`, filled in before execution.
    pub index: Option<usize>,
}

/// A scan fused into an [`Intersect`].
#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub scan: Scan,
    /// Columns of the key without the variable's column.
    pub key_columns: Vec<usize>,
    /// The known values of `key_columns`.
    pub key: Vec<Term>,
    /// The column holding the variable.
    pub column: usize,
    /// Value-sorted index slot, filled in before execution.
    pub index: Option<usize>,
}

/// At most this many scans check an intersected variable (the intersection keeps its
/// cursors in a fixed array).
pub(crate) const MAX_CHECKS: usize = 7;

/// One step of a plan.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    Scan(Scan),
    Intersect(Intersect),
    /// Succeeds when no row matches; `key_columns` may be a subset of the columns when
    /// the atom has anonymous variables.
    Neg {
        predicate: PredId,
        /// The atom's arity: when every column is in the key, the row is looked up whole.
        arity: usize,
        key_columns: Vec<usize>,
        key: Vec<Term>,
        index: Option<usize>,
        /// Where the factor this negation puts on the derivation goes: its position
        /// among the rule body's negations and aggregates, in written order; `None`
        /// inside an aggregate, where it lowers the solution's confidence instead.
        factor: Option<usize>,
    },
    Filter {
        left: Expr,
        op: CmpOp,
        right: Expr,
    },
    Assign {
        var: VarId,
        expr: Expr,
    },
    Agg {
        result: VarId,
        function: AggFn,
        targets: Vec<VarId>,
        locals: Vec<VarId>,
        steps: Vec<Step>,
        /// As for [`Step::Neg`]: the slot of the aggregate's confidence.
        factor: usize,
    },
}

/// Which kind of index a step reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IndexKind {
    /// Rows grouped by key, every row.
    Hash,
    /// Rows grouped by key, only those passing a semijoin.
    Filtered(Semijoin),
    /// Rows grouped by key, each group sorted by the value of this column.
    SortedBy(usize),
}

/// A rule's literals in evaluation order.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// Calls `f` on every step that reads an index, to fill in its slot; the index is on
    /// the given columns, sorted by the value of a column if one is given, and holds
    /// only the rows passing the semijoin if one is given.
    pub fn for_each_indexed(&mut self, f: &mut impl FnMut(PredId, &[usize], IndexKind) -> usize) {
        fn walk(steps: &mut [Step], f: &mut impl FnMut(PredId, &[usize], IndexKind) -> usize) {
            for step in steps {
                match step {
                    Step::Intersect(fused) => {
                        let lead = &fused.lead;
                        fused.index = Some(f(
                            lead.predicate,
                            &lead.key_columns,
                            IndexKind::SortedBy(fused.column),
                        ));
                        for check in &mut fused.checks {
                            check.index = Some(f(
                                check.scan.predicate,
                                &check.key_columns,
                                IndexKind::SortedBy(check.column),
                            ));
                        }
                    }
                    // A scan with every column bound probes the deduplicating table.
                    Step::Scan(scan)
                        if !scan.key_columns.is_empty()
                            && scan.key_columns.len() < scan.arity
                            && scan.version != Version::Delta =>
                    {
                        let kind = match scan.semijoin {
                            Some(semijoin) => IndexKind::Filtered(semijoin),
                            None => IndexKind::Hash,
                        };
                        scan.index = Some(f(scan.predicate, &scan.key_columns, kind));
                    }
                    // A fully bound negation probes the deduplicating table instead.
                    Step::Neg {
                        predicate,
                        key_columns,
                        index,
                        arity,
                        ..
                    } if key_columns.len() < *arity => {
                        *index = Some(f(*predicate, key_columns, IndexKind::Hash));
                    }
                    Step::Agg { steps, .. } => walk(steps, f),
                    _ => {}
                }
            }
        }
        walk(&mut self.steps, f);
    }
}

fn is_anonymous(rule: &Rule, var: VarId) -> bool {
    rule.variables[var.0 as usize] == "_"
}

fn expr_bound(expr: &Expr, bound: &FxHashSet<VarId>) -> bool {
    let mut ok = true;
    expr.visit_vars(&mut |v| ok &= bound.contains(&v));
    ok
}

/// Plans `literals` given variables already `bound`.
///
/// `version_of(i)` gives the version read by the `i`-th positive atom of `literals`;
/// `slots` says whether scans
/// record premises (top level) or not (inside an aggregate).
/// What a plan needs to know besides the literals.
struct Context<'c> {
    rule: &'c Rule,
    /// Estimated size of a relation, for join ordering.
    size_of: &'c dyn Fn(PredId) -> usize,
}

fn plan_literals(
    context: &Context<'_>,
    literals: &[Literal],
    bound: &mut FxHashSet<VarId>,
    version_of: &dyn Fn(usize) -> Version,
    first: Option<usize>,
    slots: bool,
) -> Vec<Step> {
    let rule = context.rule;
    let size_of = context.size_of;
    let atoms: Vec<(usize, &Atom)> = literals
        .iter()
        .filter_map(|l| match l {
            Literal::Pos(atom) => Some(atom),
            _ => None,
        })
        .enumerate()
        .collect();
    let mut atom_done = vec![false; atoms.len()];
    // The literals other than positive atoms not yet placed, in written order.
    let mut pending: Vec<usize> = (0..literals.len())
        .filter(|&i| !matches!(literals[i], Literal::Pos(_)))
        .collect();
    // The atoms not yet placed, by the key that chooses the next one (see below), kept
    // up to date as variables become bound: choosing by a scan of every atom was
    // quadratic in the length of the body.
    let key = |i: usize, atom: &Atom, bound: &FxHashSet<VarId>| {
        let bound_columns = atom
            .args
            .iter()
            .filter(|t| match t {
                Term::Const(_) => true,
                Term::Var(v) => bound.contains(v),
            })
            .count();
        // Most selective first: any bound column beats none, then the smaller
        // relation, then more bound columns, then written order.
        (
            bound_columns == 0,
            size_of(atom.predicate),
            usize::MAX - bound_columns,
            i,
        )
    };
    let mut keys: Vec<(bool, usize, usize, usize)> =
        atoms.iter().map(|&(i, atom)| key(i, atom, bound)).collect();
    let mut queue: std::collections::BTreeSet<(bool, usize, usize, usize)> =
        keys.iter().copied().collect();
    let mut atoms_of: FxHashMap<VarId, Vec<usize>> = FxHashMap::default();
    for &(i, atom) in &atoms {
        for term in &atom.args {
            if let Term::Var(v) = term {
                let list = atoms_of.entry(*v).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
    }
    let mut newly_bound: Vec<VarId> = Vec::new();
    let mut steps = Vec::new();
    loop {
        // Place every non-atom literal whose inputs are bound, in written order,
        // repeating because an assignment can enable another literal.
        let mut progress = true;
        while progress {
            progress = false;
            let mut at = 0;
            while at < pending.len() {
                let index = pending[at];
                let literal = &literals[index];
                // The literal's slot among the body's negations and aggregates.
                let factor = literals[..index]
                    .iter()
                    .filter(|l| matches!(l, Literal::Neg(_) | Literal::Agg(_)))
                    .count();
                let step = match literal {
                    Literal::Pos(_) => unreachable!("positive atoms are marked done above"),
                    Literal::Neg(atom) => {
                        let ready = atom.args.iter().all(|t| match t {
                            Term::Var(v) => bound.contains(v) || is_anonymous(rule, *v),
                            Term::Const(_) => true,
                        });
                        ready.then(|| {
                            let (key_columns, key): (Vec<usize>, Vec<Term>) = atom
                                .args
                                .iter()
                                .enumerate()
                                .filter(
                                    |(_, t)| !matches!(t, Term::Var(v) if is_anonymous(rule, *v)),
                                )
                                .map(|(c, t)| (c, *t))
                                .unzip();
                            Step::Neg {
                                predicate: atom.predicate,
                                arity: atom.args.len(),
                                key_columns,
                                key,
                                index: None,
                                factor: slots.then_some(factor),
                            }
                        })
                    }
                    Literal::Cmp {
                        left, op, right, ..
                    } => (expr_bound(left, bound) && expr_bound(right, bound)).then(|| {
                        Step::Filter {
                            left: left.clone(),
                            op: *op,
                            right: right.clone(),
                        }
                    }),
                    Literal::Assign { var, expr, .. } => {
                        expr_bound(expr, bound).then(|| Step::Assign {
                            var: *var,
                            expr: expr.clone(),
                        })
                    }
                    Literal::Agg(agg) => {
                        let mut inner = FxHashSet::default();
                        for l in &agg.body {
                            crate::eval::plan::literal_vars(l, &mut inner);
                        }
                        let ready = inner.iter().all(|v| {
                            bound.contains(v) || agg.locals.contains(v) || agg.ignored.contains(v)
                        });
                        ready.then(|| {
                            let mut inner_bound = bound.clone();
                            let steps = plan_literals(
                                context,
                                &agg.body,
                                &mut inner_bound,
                                &|_| Version::All,
                                None,
                                false,
                            );
                            Step::Agg {
                                result: agg.result,
                                function: agg.function,
                                targets: agg.targets.clone(),
                                locals: agg.locals.clone(),
                                steps,
                                factor,
                            }
                        })
                    }
                };
                if let Some(step) = step {
                    if let Step::Assign { var, .. } = &step {
                        if bound.insert(*var) {
                            newly_bound.push(*var);
                        }
                    }
                    if let Step::Agg { result, .. } = &step {
                        if bound.insert(*result) {
                            newly_bound.push(*result);
                        }
                    }
                    steps.push(step);
                    pending.remove(at);
                    progress = true;
                } else {
                    at += 1;
                }
            }
        }
        // Re-key the atoms that mention a variable bound since the last choice.
        for v in newly_bound.drain(..) {
            for i in atoms_of.remove(&v).unwrap_or_default() {
                if !atom_done[i] {
                    queue.remove(&keys[i]);
                    keys[i] = key(i, atoms[i].1, bound);
                    queue.insert(keys[i]);
                }
            }
        }
        // Choose the next atom.
        let next = match first.filter(|&f| !atom_done[f]) {
            Some(f) => Some(f),
            None => queue.first().map(|&(_, _, _, i)| i),
        };
        let Some(next) = next else {
            break;
        };
        queue.remove(&keys[next]);
        atom_done[next] = true;
        let atom = atoms[next].1;
        let mut scan = Scan {
            predicate: atom.predicate,
            arity: atom.args.len(),
            version: version_of(next),
            key_columns: Vec::new(),
            key: Vec::new(),
            index: None,
            binds: Vec::new(),
            equal: Vec::new(),
            slot: slots.then_some(next),
            semijoin: None,
        };
        let mut first_column: Vec<(VarId, usize)> = Vec::new();
        for (column, term) in atom.args.iter().enumerate() {
            match term {
                Term::Const(_) => {
                    scan.key_columns.push(column);
                    scan.key.push(*term);
                }
                Term::Var(v) if bound.contains(v) => {
                    scan.key_columns.push(column);
                    scan.key.push(*term);
                }
                Term::Var(v) => match first_column.iter().find(|(w, _)| w == v) {
                    Some(&(_, earlier)) => scan.equal.push((column, earlier)),
                    None => {
                        first_column.push((*v, column));
                        // Inside an aggregate `_` is part of a solution, so it is bound
                        // there; elsewhere nothing reads it.
                        if !is_anonymous(rule, *v) || !slots {
                            scan.binds.push((column, *v));
                        }
                    }
                },
            }
        }
        for (v, _) in first_column {
            if bound.insert(v) {
                newly_bound.push(v);
            }
        }
        steps.push(Step::Scan(scan));
    }
    steps
}

/// Every variable a literal mentions.
pub(crate) fn literal_vars(literal: &Literal, out: &mut FxHashSet<VarId>) {
    let add_atom = |atom: &Atom, out: &mut FxHashSet<VarId>| {
        for t in &atom.args {
            if let Term::Var(v) = t {
                out.insert(*v);
            }
        }
    };
    match literal {
        Literal::Pos(atom) | Literal::Neg(atom) => add_atom(atom, out),
        Literal::Cmp { left, right, .. } => {
            left.visit_vars(&mut |v| {
                out.insert(v);
            });
            right.visit_vars(&mut |v| {
                out.insert(v);
            });
        }
        Literal::Assign { var, expr, .. } => {
            out.insert(*var);
            expr.visit_vars(&mut |v| {
                out.insert(v);
            });
        }
        Literal::Agg(agg) => {
            out.insert(agg.result);
            out.extend(agg.targets.iter().copied());
            for l in &agg.body {
                literal_vars(l, out);
            }
        }
    }
}

/// Plans a whole rule. `delta` is the positive atom reading the delta, if any; atoms of
/// relations in the current stratum (`recursive`) before it read `Old`, after it `All`.
pub(crate) fn plan_rule(
    rule: &Rule,
    delta: Option<usize>,
    recursive: &dyn Fn(PredId) -> bool,
    size_of: &dyn Fn(PredId) -> usize,
) -> Plan {
    let atoms: Vec<PredId> = rule.positive_atoms().map(|a| a.predicate).collect();
    let version_of = |i: usize| match delta {
        Some(d) if recursive(atoms[i]) => match i.cmp(&d) {
            std::cmp::Ordering::Less => Version::Old,
            std::cmp::Ordering::Equal => Version::Delta,
            std::cmp::Ordering::Greater => Version::All,
        },
        _ => Version::All,
    };
    let mut bound = FxHashSet::default();
    let context = Context { rule, size_of };
    let steps = plan_literals(&context, &rule.body, &mut bound, &version_of, delta, true);
    let mut steps = fuse_intersections(steps, recursive);
    add_semijoins(rule, &mut steps, recursive);
    Plan { steps }
}

/// Gives each indexed scan of a relation in the stratum being evaluated the semijoin
/// (see [`Semijoin`]) with the first positive atom, in written order, of a relation
/// outside it that mentions a variable the scan binds. A scan by delta reads no index,
/// and one with no key no index either.
fn add_semijoins(rule: &Rule, steps: &mut [Step], recursive: &dyn Fn(PredId) -> bool) {
    for step in steps {
        let Step::Scan(scan) = step else {
            continue;
        };
        if scan.key_columns.is_empty()
            || scan.key_columns.len() >= scan.arity
            || scan.version == Version::Delta
            || !recursive(scan.predicate)
        {
            continue;
        }
        scan.semijoin = rule
            .positive_atoms()
            .filter(|atom| !recursive(atom.predicate))
            .find_map(|atom| {
                scan.binds.iter().find_map(|&(column, var)| {
                    let of_column = atom.args.iter().position(|t| *t == Term::Var(var))?;
                    Some(Semijoin {
                        column,
                        of: atom.predicate,
                        of_column,
                    })
                })
            });
    }
}

/// Fuses each scan that binds one variable with the fully bound scans right after it
/// that check that variable (see [`Intersect`]). Only relations outside the stratum
/// being evaluated take part: their value-sorted indexes are built once.
fn fuse_intersections(steps: Vec<Step>, recursive: &dyn Fn(PredId) -> bool) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    let mut steps = steps.into_iter().peekable();
    while let Some(step) = steps.next() {
        let lead = match step {
            Step::Scan(scan)
                if scan.version != Version::Delta
                    && !recursive(scan.predicate)
                    && !scan.key_columns.is_empty()
                    && scan.binds.len() == 1
                    && scan.equal.is_empty()
                    && scan.key_columns.len() + 1 == scan.arity =>
            {
                scan
            }
            other => {
                out.push(other);
                continue;
            }
        };
        let (column, var) = lead.binds[0];
        let mut checks = Vec::new();
        while let Some(Step::Scan(next)) = steps.peek() {
            let positions: Vec<usize> = next
                .key
                .iter()
                .enumerate()
                .filter(|(_, t)| **t == Term::Var(var))
                .map(|(i, _)| i)
                .collect();
            let fits = checks.len() < MAX_CHECKS
                && next.version != Version::Delta
                && !recursive(next.predicate)
                && next.key_columns.len() == next.arity
                && next.binds.is_empty()
                && next.equal.is_empty()
                && positions.len() == 1;
            if !fits {
                break;
            }
            let Some(Step::Scan(next)) = steps.next() else {
                unreachable!("peeked a scan");
            };
            let at = positions[0];
            let mut key_columns = next.key_columns.clone();
            let mut key = next.key.clone();
            let column = key_columns.remove(at);
            key.remove(at);
            checks.push(Check {
                scan: next,
                key_columns,
                key,
                column,
                index: None,
            });
        }
        if checks.is_empty() {
            out.push(Step::Scan(lead));
        } else {
            out.push(Step::Intersect(Intersect {
                lead,
                column,
                var,
                checks,
                index: None,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Sources;
    use crate::program::{lower, Program};
    use crate::syntax::parse;

    fn program(text: &str) -> Program {
        let mut sources = Sources::default();
        let id = sources.add("t.rules", text);
        let (module, errors) = parse(id, text);
        assert!(errors.is_empty(), "{errors:?}");
        lower(&[module], Vec::new(), &sources)
            .0
            .expect("valid program")
    }

    fn describe(program: &Program, rule: &Rule, steps: &[Step]) -> Vec<String> {
        let var = |v: &VarId| rule.variables[v.0 as usize].clone();
        steps
            .iter()
            .map(|step| match step {
                Step::Scan(scan) => format!(
                    "scan {} {:?} key {:?} binds {:?}{}",
                    program.predicate(scan.predicate).name,
                    scan.version,
                    scan.key_columns,
                    scan.binds.iter().map(|(_, v)| var(v)).collect::<Vec<_>>(),
                    scan.semijoin.map_or(String::new(), |s| format!(
                        " where column {} in {}.{}",
                        s.column,
                        program.predicate(s.of).name,
                        s.of_column
                    ))
                ),
                Step::Neg {
                    predicate,
                    key_columns,
                    ..
                } => {
                    format!(
                        "not {} key {key_columns:?}",
                        program.predicate(*predicate).name
                    )
                }
                Step::Intersect(fused) => format!(
                    "intersect {} key {:?} with {} on {}",
                    program.predicate(fused.lead.predicate).name,
                    fused.lead.key_columns,
                    fused
                        .checks
                        .iter()
                        .map(|c| format!(
                            "{} key {:?}",
                            program.predicate(c.scan.predicate).name,
                            c.key_columns
                        ))
                        .collect::<Vec<_>>()
                        .join(", "),
                    var(&fused.var)
                ),
                Step::Filter { .. } => "filter".to_string(),
                Step::Assign { var: v, .. } => format!("assign {}", var(v)),
                Step::Agg { result, .. } => format!("aggregate {}", var(result)),
            })
            .collect()
    }

    /// Plans the last rule of `text`; `delta` as in `plan_rule`; relations named in
    /// `recursive` read versions.
    fn check(text: &str, delta: Option<usize>, recursive: &[&str], expected: &[&str]) {
        let program = program(text);
        let rule = program.rules().last().expect("a rule");
        let recursive_ids: Vec<PredId> = recursive
            .iter()
            .map(|n| program.predicate_id(n).expect("known"))
            .collect();
        let plan = plan_rule(rule, delta, &|p| recursive_ids.contains(&p), &|_| 10);
        assert_eq!(describe(&program, rule, &plan.steps), expected);
    }

    #[test]
    fn delta_atom_goes_first_and_joins_use_bound_columns() {
        check(
            "edge(1, 2).\npath(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).",
            Some(0),
            &["path"],
            &[
                "scan path Delta key [] binds [\"X\", \"Y\"]",
                "scan edge All key [0] binds [\"Z\"]",
            ],
        );
    }

    #[test]
    fn recursive_atoms_before_the_delta_read_old_rows() {
        check(
            "e(1, 2).\nr(X, Y) :- e(X, Y).\nr(X, Z) :- r(X, Y), r(Y, Z).",
            Some(1),
            &["r"],
            &[
                "scan r Delta key [] binds [\"Y\", \"Z\"]",
                "scan r Old key [1] binds [\"X\"]",
            ],
        );
    }

    #[test]
    fn filters_negations_and_assignments_come_as_soon_as_bound() {
        check(
            "a(1). b(1, 2). c(3).\np(X, W) :- a(X), b(X, Y), X > 0, not c(Y), W = Y + 1.",
            None,
            &[],
            &[
                "scan a All key [] binds [\"X\"]",
                "filter",
                "scan b All key [0] binds [\"Y\"]",
                "not c key [0]",
                "assign W",
            ],
        );
    }

    #[test]
    fn anonymous_variables_in_negation_narrow_the_key() {
        check(
            "p(a). m(a, b).\nq(X) :- p(X), not m(X, _).",
            None,
            &[],
            &["scan p All key [] binds [\"X\"]", "not m key [0]"],
        );
    }

    #[test]
    fn a_cyclic_join_intersects_the_closing_atom() {
        check(
            "e(1, 2).\nt(X, Y, Z) :- e(X, Y), e(Y, Z), e(Z, X).",
            None,
            &[],
            &[
                "scan e All key [] binds [\"X\", \"Y\"]",
                "intersect e key [0] with e key [1] on Z",
            ],
        );
        // Relations of the stratum being evaluated grow: no value-sorted index for them.
        check(
            "e(1, 2).\nt(X, Y) :- e(X, Y).\nt(X, Z) :- t(X, Y), e(Y, Z), t(Z, X).",
            Some(0),
            &["t"],
            &[
                "scan t Delta key [] binds [\"X\", \"Y\"]",
                "scan e All key [0] binds [\"Z\"]",
                "scan t All key [0, 1] binds []",
            ],
        );
    }

    #[test]
    fn constants_are_key_columns() {
        check(
            "claims(a, b, c).\nq(S) :- claims(S, conducted_by, apt40).",
            None,
            &[],
            &["scan claims All key [1, 2] binds [\"S\"]"],
        );
    }

    const ANDERSEN: &str = "addressOf(1, 2). assign(1, 2). load(1, 2). store(1, 2).
pointsTo(P, O) :- addressOf(P, O).
pointsTo(P, O) :- assign(P, Q), pointsTo(Q, O).
pointsTo(R, O) :- store(P, Q), pointsTo(P, R), pointsTo(Q, O).
pointsTo(P, O) :- load(P, Q), pointsTo(Q, R), pointsTo(R, O).";

    #[test]
    fn a_recursive_index_keeps_only_rows_a_later_complete_atom_can_match() {
        // By the delta of pointsTo(R, O): pointsTo(Q, R) is read by R and binds Q, which
        // load(P, Q) must match.
        check(
            ANDERSEN,
            Some(2),
            &["pointsTo"],
            &[
                "scan pointsTo Delta key [] binds [\"R\", \"O\"]",
                "scan pointsTo Old key [1] binds [\"Q\"] where column 0 in load.1",
                "scan load All key [1] binds [\"P\"]",
            ],
        );
        // By the delta of pointsTo(Q, R): the scan of pointsTo(R, O) binds O, which no
        // atom of an earlier stratum mentions; load's own scan needs no filter.
        check(
            ANDERSEN,
            Some(1),
            &["pointsTo"],
            &[
                "scan pointsTo Delta key [] binds [\"Q\", \"R\"]",
                "scan load All key [1] binds [\"P\"]",
                "scan pointsTo All key [0] binds [\"O\"]",
            ],
        );
        // Outside the stratum nothing grows, and a relation of an earlier stratum is
        // never filtered: there every relation reads All without a semijoin.
        check(
            ANDERSEN,
            None,
            &[],
            &[
                "scan load All key [] binds [\"P\", \"Q\"]",
                "scan pointsTo All key [0] binds [\"R\"]",
                "scan pointsTo All key [0] binds [\"O\"]",
            ],
        );
    }

    #[test]
    fn a_semijoin_takes_the_first_complete_atom_that_mentions_a_bound_variable() {
        check(
            "a(1). b(1, 2). c(2).\nr(X, Y) :- b(X, Y).\n\
             r(X, Z) :- r(X, Y), r(Z, Y), c(Z), b(Z, X).",
            Some(0),
            &["r"],
            &[
                "scan r Delta key [] binds [\"X\", \"Y\"]",
                "scan r All key [1] binds [\"Z\"] where column 0 in c.0",
                "scan b All key [0, 1] binds []",
                "scan c All key [0] binds []",
            ],
        );
    }
}
