//! The dataflow of a program on one worker: inputs, a scope per stratum, a join chain
//! per rule, and the loop that steps the worker under the limits.
//!
//! A fact is its values and the bits of its confidence; a binding (one partial rule
//! instance) is a register per rule variable and its confidence slots: the running
//! product of strength and premises (in an aggregate's body, the least confidence met),
//! then one factor per negation and aggregate of the rule, multiplied at the head in
//! written order, so that every product is the one the semi-naive engine computes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::collection::concatenate;
use differential_dataflow::input::Input;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::iterate::VecVariable;
use differential_dataflow::{AsCollection, VecCollection};
use rustc_hash::{FxHashMap, FxHashSet};
use timely::dataflow::operators::core::Exchange;
use timely::dataflow::Scope;
use timely::order::Product;
use timely::progress::Timestamp;

use super::{lock, Shared};
use crate::eval::{aggregate as aggregate_of, compare, eval_expr, negation_factor, Limit};
use crate::program::{Aggregate, Atom, Expr, Literal, PredId, Rule, Term, VarId};
use crate::syntax::ast::CmpOp;
use crate::value::ValueId;

/// Values of a tuple, as value ids.
type Row = Vec<u32>;
/// A tuple and the bits of its confidence.
type Fact = (Row, u64);
/// Registers (one per rule variable, [`UNBOUND`] until bound) and confidence slots.
type Binding = (Row, Vec<u64>);
/// A collection of records with counts.
type Coll<'s, T, D> = VecCollection<'s, T, D>;

/// A register no literal has bound yet.
const UNBOUND: u32 = u32::MAX;

/// What the timestamps of every scope here can do.
pub(super) trait Time: Timestamp + Lattice + Ord {}
impl<T: Timestamp + Lattice + Ord> Time for T {}

/// A relation's facts arranged by the values of some columns, for joins.
type ByKey<'s, T> = differential_dataflow::operators::arrange::Arranged<
    's,
    differential_dataflow::operators::arrange::TraceAgent<
        differential_dataflow::trace::implementations::ValSpine<Row, Fact, T, isize>,
    >,
>;

/// Which arrangement a positive atom joins with: its relation, the columns the binding
/// gives, the constants and repeated columns its facts must have.
type Arrangement = (PredId, Vec<usize>, Vec<(usize, u32)>, Vec<(usize, usize)>);

/// The collections a rule body reads in one scope.
struct Rels<'s, T: Time> {
    /// Every relation's facts, each tuple once with its best confidence.
    facts: FxHashMap<PredId, Coll<'s, T, Fact>>,
    /// One record, as the start of a body that begins with no atom.
    unit: Coll<'s, T, ()>,
    /// The arrangements built so far in this scope, shared by every join that reads a
    /// relation the same way.
    arranged: std::cell::RefCell<FxHashMap<Arrangement, ByKey<'s, T>>>,
}

/// How a literal's confidence enters a binding.
#[derive(Clone)]
enum Mode {
    /// A rule body: premises multiply into slot 0; negation and aggregate `i` of the
    /// body set the slot `factors[i]`.
    Rule { factors: Vec<Option<usize>> },
    /// An aggregate's body: slot 0 keeps the least confidence met.
    Weakest,
}

impl Mode {
    fn premise(&self, slots: &mut [u64], confidence: u64) {
        let c = f64::from_bits(confidence);
        let s = f64::from_bits(slots[0]);
        slots[0] = match self {
            Mode::Rule { .. } => s * c,
            Mode::Weakest => s.min(c),
        }
        .to_bits();
    }

    fn factor(&self, slots: &mut [u64], literal: usize, weight: f64) {
        match self {
            Mode::Rule { factors } => {
                let slot = factors[literal].expect("negations and aggregates have a factor slot");
                slots[slot] = weight.to_bits();
            }
            Mode::Weakest => slots[0] = f64::from_bits(slots[0]).min(weight).to_bits(),
        }
    }
}

/// Input handles of a built dataflow: one per relation that takes facts, and the unit.
struct Built {
    inputs: FxHashMap<PredId, differential_dataflow::input::InputSession<u64, Fact, isize>>,
    unit: differential_dataflow::input::InputSession<u64, (), isize>,
    probe: timely::dataflow::ProbeHandle<u64>,
}

/// Builds the dataflow on `worker`: an input for each relation in `takes`, a scope per
/// stratum, and every relation's changes counted and gathered on worker 0.
fn build(worker: &mut timely::worker::Worker, shared: &Arc<Shared>, takes: &[PredId]) -> Built {
    worker.dataflow::<u64, _, _>(|scope| {
        let mut handles = FxHashMap::default();
        let mut collections = FxHashMap::default();
        for &p in takes {
            let (handle, collection) = scope.new_collection::<Fact, isize>();
            handles.insert(p, handle);
            collections.insert(p, collection);
        }
        let (unit_handle, unit) = scope.new_collection::<(), isize>();
        let done = strata(shared, scope, &collections, unit);
        let probe = timely::dataflow::ProbeHandle::new();
        let mut order: Vec<_> = done.into_iter().collect();
        order.sort_by_key(|(p, _)| *p);
        for (p, collection) in order {
            let counter = Arc::clone(shared);
            let gathered = Arc::clone(shared);
            collection
                .inspect_batch(move |_, updates| {
                    let change: isize = updates.iter().map(|u| u.2).sum();
                    counter.facts_now.fetch_add(change, Ordering::Relaxed);
                })
                .inner
                .exchange(|_| 0)
                .as_collection()
                .inspect_batch(move |_, updates| {
                    let mut results = lock(&gathered.results);
                    results.extend(
                        updates
                            .iter()
                            .map(|((row, c), _, diff)| (p.0, row.clone(), *c, *diff)),
                    );
                })
                .probe_with(&probe);
        }
        Built {
            inputs: handles,
            unit: unit_handle,
            probe,
        }
    })
}

/// The limit reached, if one was: recorded, and every worker told to stop.
fn check_limits(shared: &Shared, started: Instant) -> bool {
    if shared.stop.load(Ordering::Relaxed) {
        return true;
    }
    let reached = match (shared.timeout, shared.max_facts) {
        (Some(t), _) if started.elapsed() > t => Some(Limit::Time(t)),
        (_, Some(m)) if shared.facts_now.load(Ordering::Relaxed) > m as isize => {
            Some(Limit::Facts(m))
        }
        _ => None,
    };
    if let Some(limit) = reached {
        lock(&shared.stopped).get_or_insert(limit);
        shared.stop.store(true, Ordering::Relaxed);
        return true;
    }
    false
}

/// Builds the dataflow on `worker`, feeds it this worker's share of the input facts and
/// steps it until it is done, a limit is reached or another worker stops.
pub(super) fn run_worker(
    worker: &mut timely::worker::Worker,
    shared: &Arc<Shared>,
    started: Instant,
) {
    let index = worker.index();
    let peers = worker.peers();
    let mut with_facts: Vec<PredId> = shared.facts.iter().map(|f| f.0).collect();
    with_facts.sort_unstable();
    with_facts.dedup();
    let Built {
        mut inputs,
        mut unit,
        probe,
    } = build(worker, shared, &with_facts);
    for (i, (p, row, confidence)) in shared.facts.iter().enumerate() {
        if i % peers == index {
            if let Some(handle) = inputs.get_mut(p) {
                handle.insert((row.clone(), *confidence));
            }
        }
    }
    if index == 0 {
        unit.insert(());
    }
    drop(inputs);
    drop(unit);
    while !probe.done() {
        if check_limits(shared, started) {
            break;
        }
        worker.step_or_park(Some(Duration::from_millis(10)));
    }
    stop_if_told(worker, shared);
}

/// Drops this worker's dataflows once some worker stopped, so that it ends at once.
fn stop_if_told(worker: &mut timely::worker::Worker, shared: &Shared) {
    if shared.stop.load(Ordering::Relaxed) {
        for dataflow in worker.installed_dataflows() {
            worker.drop_dataflow(dataflow);
        }
    }
}

/// A worker of a long-running dataflow: the input facts at time 0, then each batch of
/// changes at the next time, once the previous time is complete everywhere. Worker 0
/// tells the watcher as each time completes; all end when the watcher closes.
pub(super) fn run_watch_worker(
    worker: &mut timely::worker::Worker,
    shared: &Arc<Shared>,
    watch: &super::watch::Channel,
) {
    let index = worker.index();
    let peers = worker.peers();
    let every: Vec<PredId> = (0..shared.arity.len() as u32).map(PredId).collect();
    let Built {
        mut inputs,
        mut unit,
        probe,
    } = build(worker, shared, &every);
    for (i, (p, row, confidence)) in shared.facts.iter().enumerate() {
        if i % peers == index {
            inputs
                .get_mut(p)
                .expect("every relation takes facts")
                .insert((row.clone(), *confidence));
        }
    }
    if index == 0 {
        unit.insert(());
    }
    let started = Instant::now();
    let mut time: u64 = 0;
    'times: loop {
        time += 1;
        for handle in inputs.values_mut() {
            handle.advance_to(time);
            handle.flush();
        }
        unit.advance_to(time);
        unit.flush();
        while probe.less_than(&time) {
            if check_limits(shared, started) {
                break 'times;
            }
            worker.step_or_park(Some(Duration::from_millis(1)));
        }
        if index == 0 {
            watch.completed(time);
        }
        // The next batch, or the end.
        let batch = loop {
            if shared.stop.load(Ordering::Relaxed) {
                break 'times;
            }
            if let Some(batch) = watch.batch(time as usize - 1) {
                break batch;
            }
            if watch.is_closed() {
                break 'times;
            }
            worker.step_or_park(Some(Duration::from_millis(50)));
        };
        for (i, (p, row, confidence, diff)) in batch.iter().enumerate() {
            if i % peers == index {
                inputs
                    .get_mut(p)
                    .expect("every relation takes facts")
                    .update((row.clone(), *confidence), *diff);
            }
        }
    }
    drop(inputs);
    drop(unit);
    while !probe.done() && !shared.stop.load(Ordering::Relaxed) {
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
    stop_if_told(worker, shared);
}

/// Every relation's final collection, stratum by stratum in `scope`.
fn strata<'s>(
    shared: &Arc<Shared>,
    scope: Scope<'s, u64>,
    inputs: &FxHashMap<PredId, Coll<'s, u64, Fact>>,
    unit: Coll<'s, u64, ()>,
) -> FxHashMap<PredId, Coll<'s, u64, Fact>> {
    let mut done: FxHashMap<PredId, Coll<'s, u64, Fact>> = FxHashMap::default();
    for p in 0..shared.arity.len() as u32 {
        let p = PredId(p);
        let facts = match inputs.get(&p) {
            Some(input) => best(input.clone()),
            None => concatenate(scope, Vec::new()),
        };
        done.insert(p, facts);
    }
    for stratum in &shared.strata {
        let rules: Vec<&Rule> = stratum
            .rules
            .iter()
            .map(|r| &shared.rules[r.0 as usize])
            .collect();
        if !stratum.recursive {
            let rels = Rels {
                facts: done.clone(),
                unit: unit.clone(),
                arranged: Default::default(),
            };
            for &p in &stratum.predicates {
                let mut parts: Vec<_> = inputs.get(&p).cloned().into_iter().collect();
                for rule in rules.iter().filter(|r| r.head.predicate == p) {
                    parts.push(rule_output(shared, &rels, rule));
                }
                done.insert(p, best(concatenate(scope, parts)));
            }
            continue;
        }
        let results: Vec<(PredId, Coll<'s, u64, Fact>)> = scope.iterative::<u32, _, _>(|inner| {
            let mut facts = FxHashMap::default();
            let own: FxHashSet<PredId> = stratum.predicates.iter().copied().collect();
            for rule in &rules {
                for p in read_by(&rule.body) {
                    if !own.contains(&p) && !facts.contains_key(&p) {
                        facts.insert(p, done[&p].clone().enter(inner));
                    }
                }
            }
            let mut variables = Vec::new();
            for &p in &stratum.predicates {
                let (variable, collection) =
                    VecVariable::new(inner, Product::new(Default::default(), 1));
                facts.insert(p, collection);
                variables.push((p, variable));
            }
            let rels = Rels {
                facts,
                unit: unit.clone().enter(inner),
                arranged: Default::default(),
            };
            let mut out = Vec::new();
            for (p, variable) in variables {
                let mut parts: Vec<_> = inputs
                    .get(&p)
                    .map(|input| input.clone().enter(inner))
                    .into_iter()
                    .collect();
                for rule in rules.iter().filter(|r| r.head.predicate == p) {
                    parts.push(rule_output(shared, &rels, rule));
                }
                let next = best(concatenate(inner, parts));
                variable.set(next.clone());
                out.push((p, next.leave(scope)));
            }
            out
        });
        done.extend(results);
    }
    done
}

/// The relations `body` reads, aggregates' bodies included.
fn read_by(body: &[Literal]) -> Vec<PredId> {
    let mut out = Vec::new();
    for literal in body {
        match literal {
            Literal::Pos(atom) | Literal::Neg(atom) => out.push(atom.predicate),
            Literal::Agg(aggregate) => out.extend(read_by(&aggregate.body)),
            Literal::Cmp { .. } | Literal::Assign { .. } => {}
        }
    }
    out
}

/// Each tuple once, with the best confidence it was derived with.
fn best<'s, T: Time>(facts: Coll<'s, T, Fact>) -> Coll<'s, T, Fact> {
    facts.reduce(|_row, confidences: &[(&u64, isize)], out| {
        // Confidences are non-negative, so their bits order as the numbers do; values
        // come sorted, the best last.
        let (best, _) = confidences[confidences.len() - 1];
        out.push((*best, 1));
    })
}

/// The facts `rule` derives from the relations of `rels`, with their confidences.
fn rule_output<'s, T: Time>(
    shared: &Arc<Shared>,
    rels: &Rels<'s, T>,
    rule: &Rule,
) -> Coll<'s, T, Fact> {
    let mut factors = vec![None; rule.body.len()];
    let mut slots = 1;
    for (i, literal) in rule.body.iter().enumerate() {
        if matches!(literal, Literal::Neg(_) | Literal::Agg(_)) {
            factors[i] = Some(slots);
            slots += 1;
        }
    }
    let mut initial = vec![1.0f64.to_bits(); slots];
    initial[0] = rule.strength.to_bits();
    let start = Start::Fresh {
        registers: rule.variables.len(),
        slots: initial,
    };
    let solved = body(
        shared,
        rels,
        start,
        &rule.body,
        &Mode::Rule { factors },
        vec![false; rule.variables.len()],
    );
    let head = rule.head.args.clone();
    solved.map(move |(registers, slots)| {
        let tuple = head.iter().map(|t| term(t, &registers)).collect();
        let mut confidence = f64::from_bits(slots[0]);
        for factor in &slots[1..] {
            confidence *= f64::from_bits(*factor);
        }
        (tuple, confidence.to_bits())
    })
}

/// Where a body's bindings begin.
enum Start<'s, T: Time> {
    /// With nothing bound: registers and initial slots of a new binding.
    Fresh { registers: usize, slots: Vec<u64> },
    /// With these bindings.
    From(Coll<'s, T, Binding>),
}

/// The value of `term` under `registers`.
fn term(term: &Term, registers: &[u32]) -> u32 {
    match term {
        Term::Const(v) => v.0,
        Term::Var(v) => registers[v.0 as usize],
    }
}

/// The variables of `literal` that it needs bound before it runs, or `None` for a
/// positive atom (which binds its own).
fn needs(literal: &Literal, bindable: &FxHashSet<VarId>) -> Option<Vec<VarId>> {
    let mut vars = Vec::new();
    match literal {
        Literal::Pos(_) => return None,
        Literal::Neg(atom) => {
            // A variable nothing binds is a wildcard of the negation.
            for arg in &atom.args {
                if let Term::Var(v) = arg {
                    if bindable.contains(v) {
                        vars.push(*v);
                    }
                }
            }
        }
        Literal::Cmp { left, right, .. } => {
            left.visit_vars(&mut |v| vars.push(v));
            right.visit_vars(&mut |v| vars.push(v));
        }
        Literal::Assign { expr, .. } => expr.visit_vars(&mut |v| vars.push(v)),
        Literal::Agg(aggregate) => vars = outer_vars(aggregate),
    }
    Some(vars)
}

/// The variables an aggregate's body shares with the rest of the rule, sorted.
fn outer_vars(aggregate: &Aggregate) -> Vec<VarId> {
    let mut vars = FxHashSet::default();
    for literal in &aggregate.body {
        literal_vars(literal, &mut |v| {
            vars.insert(v);
        });
    }
    let mut out: Vec<VarId> = vars
        .into_iter()
        .filter(|v| !aggregate.locals.contains(v) && !aggregate.ignored.contains(v))
        .collect();
    out.sort_unstable_by_key(|v| v.0);
    out
}

/// Calls `f` on each variable of `literal`.
fn literal_vars(literal: &Literal, f: &mut impl FnMut(VarId)) {
    match literal {
        Literal::Pos(atom) | Literal::Neg(atom) => {
            for arg in &atom.args {
                if let Term::Var(v) = arg {
                    f(*v);
                }
            }
        }
        Literal::Cmp { left, right, .. } => {
            left.visit_vars(f);
            right.visit_vars(f);
        }
        Literal::Assign { var, expr, .. } => {
            f(*var);
            expr.visit_vars(f);
        }
        Literal::Agg(aggregate) => {
            f(aggregate.result);
            for literal in &aggregate.body {
                literal_vars(literal, f);
            }
        }
    }
}

/// The bindings that satisfy `literals`: positive atoms joined in written order (the
/// order their confidences multiply in), each other literal as soon as the variables
/// it needs are bound.
fn body<'s, T: Time>(
    shared: &Arc<Shared>,
    rels: &Rels<'s, T>,
    start: Start<'s, T>,
    literals: &[Literal],
    mode: &Mode,
    mut bound: Vec<bool>,
) -> Coll<'s, T, Binding> {
    let mut bindable: FxHashSet<VarId> = (0..bound.len() as u32)
        .map(VarId)
        .filter(|v| bound[v.0 as usize])
        .collect();
    for literal in literals {
        match literal {
            Literal::Pos(atom) => {
                for arg in &atom.args {
                    if let Term::Var(v) = arg {
                        bindable.insert(*v);
                    }
                }
            }
            Literal::Assign { var, .. } => {
                bindable.insert(*var);
            }
            Literal::Agg(aggregate) => {
                bindable.insert(aggregate.result);
            }
            Literal::Neg(_) | Literal::Cmp { .. } => {}
        }
    }
    let (registers, initial) = match &start {
        Start::Fresh { registers, slots } => (*registers, slots.clone()),
        Start::From(_) => (bound.len(), Vec::new()),
    };
    let mut current = match start {
        Start::Fresh { .. } => None,
        Start::From(bindings) => Some(bindings),
    };
    let mut done = vec![false; literals.len()];
    loop {
        let ready = (0..literals.len()).find(|&i| {
            !done[i]
                && needs(&literals[i], &bindable)
                    .is_some_and(|vars| vars.iter().all(|v| bound[v.0 as usize]))
        });
        let next = ready.or_else(|| {
            (0..literals.len()).find(|&i| !done[i] && matches!(literals[i], Literal::Pos(_)))
        });
        let Some(i) = next else { break };
        done[i] = true;
        if let Literal::Pos(atom) = &literals[i] {
            current = Some(positive(
                rels, current, atom, mode, &mut bound, registers, &initial,
            ));
            continue;
        }
        let bindings = current.take().unwrap_or_else(|| {
            let initial = initial.clone();
            rels.unit
                .clone()
                .map(move |()| (vec![UNBOUND; registers], initial.clone()))
        });
        current = Some(match &literals[i] {
            Literal::Pos(_) => unreachable!("handled above"),
            Literal::Neg(atom) => negative(shared, rels, bindings, atom, mode, i, &bound),
            Literal::Cmp {
                left, op, right, ..
            } => {
                let (left, op, right) = (left.clone(), *op, right.clone());
                let shared = Arc::clone(shared);
                bindings.filter(move |(registers, _)| test(&shared, &left, op, &right, registers))
            }
            Literal::Assign { var, expr, .. } => {
                let (var, expr) = (*var, expr.clone());
                bound[var.0 as usize] = true;
                let shared = Arc::clone(shared);
                bindings.flat_map(move |(mut registers, slots)| {
                    let value = value_of(&shared, &expr, &registers)?;
                    registers[var.0 as usize] = value;
                    Some((registers, slots))
                })
            }
            Literal::Agg(aggregate) => {
                let out = aggregate_step(shared, rels, bindings, aggregate, mode, i, bound.len());
                bound[aggregate.result.0 as usize] = true;
                out
            }
        });
    }
    current.unwrap_or_else(|| {
        rels.unit
            .clone()
            .map(move |()| (vec![UNBOUND; registers], initial.clone()))
    })
}

/// The value of `expr` under `registers`, interning a computed one; `None` when the
/// arithmetic has no value.
fn value_of(shared: &Shared, expr: &Expr, registers: &[u32]) -> Option<u32> {
    if let Expr::Term(t) = expr {
        return Some(term(t, registers));
    }
    let registers: Vec<ValueId> = registers.iter().map(|&v| ValueId(v)).collect();
    let mut interner = lock(&shared.interner);
    eval_expr(expr, &registers, &mut *interner).map(|v| v.0)
}

/// Whether `left op right` holds under `registers`.
fn test(shared: &Shared, left: &Expr, op: CmpOp, right: &Expr, registers: &[u32]) -> bool {
    let (Some(a), Some(b)) = (
        value_of(shared, left, registers),
        value_of(shared, right, registers),
    ) else {
        return false;
    };
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        _ => compare(op, ValueId(a), ValueId(b), &*lock(&shared.interner)),
    }
}

/// How a positive atom's columns meet the bindings.
struct Columns {
    /// Columns whose value the binding gives (a bound variable).
    key: Vec<(usize, VarId)>,
    /// Columns that must hold a constant.
    constant: Vec<(usize, u32)>,
    /// Columns that bind a new variable, at its first column.
    new: Vec<(usize, VarId)>,
    /// Columns that repeat a new variable: this column and its first.
    repeat: Vec<(usize, usize)>,
}

impl Columns {
    fn of(atom: &Atom, bound: &[bool]) -> Columns {
        let mut columns = Columns {
            key: Vec::new(),
            constant: Vec::new(),
            new: Vec::new(),
            repeat: Vec::new(),
        };
        for (c, arg) in atom.args.iter().enumerate() {
            match arg {
                Term::Const(v) => columns.constant.push((c, v.0)),
                Term::Var(v) if bound[v.0 as usize] => columns.key.push((c, *v)),
                Term::Var(v) => match columns.new.iter().find(|(_, w)| w == v) {
                    Some(&(first, _)) => columns.repeat.push((c, first)),
                    None => columns.new.push((c, *v)),
                },
            }
        }
        columns
    }

    /// Whether `row` has the constants and repeats of the atom.
    fn matches(&self, row: &[u32]) -> bool {
        self.constant.iter().all(|&(c, v)| row[c] == v)
            && self.repeat.iter().all(|&(c, first)| row[c] == row[first])
    }

    fn row_key(&self, row: &[u32]) -> Row {
        self.key.iter().map(|&(c, _)| row[c]).collect()
    }

    fn binding_key(&self, registers: &[u32]) -> Row {
        self.key
            .iter()
            .map(|&(_, v)| registers[v.0 as usize])
            .collect()
    }

    fn bind(&self, registers: &mut [u32], row: &[u32]) {
        for &(c, v) in &self.new {
            registers[v.0 as usize] = row[c];
        }
    }
}

/// The bindings extended by each fact of `atom`'s relation that agrees with them.
fn positive<'s, T: Time>(
    rels: &Rels<'s, T>,
    current: Option<Coll<'s, T, Binding>>,
    atom: &Atom,
    mode: &Mode,
    bound: &mut [bool],
    registers: usize,
    initial: &[u64],
) -> Coll<'s, T, Binding> {
    let columns = Arc::new(Columns::of(atom, bound));
    for &(_, v) in &columns.new {
        bound[v.0 as usize] = true;
    }
    let facts = rels.facts[&atom.predicate].clone();
    let mode = mode.clone();
    match current {
        None => {
            let initial = initial.to_vec();
            facts.flat_map(move |(row, confidence)| {
                if !columns.matches(&row) {
                    return None;
                }
                let mut registers = vec![UNBOUND; registers];
                columns.bind(&mut registers, &row);
                let mut slots = initial.clone();
                mode.premise(&mut slots, confidence);
                Some((registers, slots))
            })
        }
        Some(bindings) => {
            let which: Arrangement = (
                atom.predicate,
                columns.key.iter().map(|&(c, _)| c).collect(),
                columns.constant.clone(),
                columns.repeat.clone(),
            );
            let arranged = rels
                .arranged
                .borrow_mut()
                .entry(which)
                .or_insert_with(|| {
                    let columns = Arc::clone(&columns);
                    facts
                        .flat_map(move |(row, confidence)| {
                            columns
                                .matches(&row)
                                .then(|| (columns.row_key(&row), (row, confidence)))
                        })
                        .arrange_by_key()
                })
                .clone();
            let keyed = {
                let columns = Arc::clone(&columns);
                bindings.map(move |binding| (columns.binding_key(&binding.0), binding))
            };
            keyed.arrange_by_key().join_core(
                arranged,
                move |_, (registers, slots): &Binding, (row, confidence): &Fact| {
                    let mut registers = registers.clone();
                    columns.bind(&mut registers, row);
                    let mut slots = slots.clone();
                    mode.premise(&mut slots, *confidence);
                    Some((registers, slots))
                },
            )
        }
    }
}

/// The bindings for which no fact of `atom` holds; for an `@exception` relation, those
/// whose matching facts do not defeat them, weakened by [`negation_factor`].
fn negative<'s, T: Time>(
    shared: &Arc<Shared>,
    rels: &Rels<'s, T>,
    bindings: Coll<'s, T, Binding>,
    atom: &Atom,
    mode: &Mode,
    literal: usize,
    bound: &[bool],
) -> Coll<'s, T, Binding> {
    // Wildcards are unbound variables: they constrain nothing.
    let mut key = Vec::new();
    let mut constant = Vec::new();
    for (c, arg) in atom.args.iter().enumerate() {
        match arg {
            Term::Const(v) => constant.push((c, v.0)),
            Term::Var(v) if bound[v.0 as usize] => key.push((c, *v)),
            Term::Var(_) => {}
        }
    }
    let key = Arc::new(key);
    let facts = {
        let key = Arc::clone(&key);
        rels.facts[&atom.predicate]
            .clone()
            .flat_map(move |(row, confidence)| {
                constant.iter().all(|&(c, v)| row[c] == v).then(|| {
                    (
                        key.iter().map(|&(c, _)| row[c]).collect::<Row>(),
                        confidence,
                    )
                })
            })
    };
    let keyed = bindings.map(move |binding| {
        let k: Row = key.iter().map(|&(_, v)| binding.0[v.0 as usize]).collect();
        (k, binding)
    });
    if !shared.exception[atom.predicate.0 as usize] {
        let present = facts.map(|(k, _)| k).distinct();
        return keyed.antijoin(present).map(|(_, binding)| binding);
    }
    let weights = facts.reduce(|_key, confidences: &[(&u64, isize)], out| {
        let mut all = Vec::new();
        for &(c, count) in confidences {
            for _ in 0..count.max(0) {
                all.push(f64::from_bits(*c));
            }
        }
        out.push((negation_factor(all).to_bits(), 1));
    });
    let mode = mode.clone();
    let weakened = keyed
        .clone()
        .join_map(weights.clone(), |_, binding, weight| {
            (binding.clone(), *weight)
        })
        .flat_map(move |((registers, mut slots), weight)| {
            let weight = f64::from_bits(weight);
            (weight > 0.0).then(|| {
                mode.factor(&mut slots, literal, weight);
                (registers, slots)
            })
        });
    let untouched = keyed
        .antijoin(weights.map(|(k, _)| k))
        .map(|(_, binding)| binding);
    weakened.concat(untouched)
}

/// The bindings with the aggregate's result bound: its body solved once per distinct
/// value of the variables it shares with the rule, its confidence the least among the
/// solutions it counts (each solution's best), 1 when it counts none.
fn aggregate_step<'s, T: Time>(
    shared: &Arc<Shared>,
    rels: &Rels<'s, T>,
    bindings: Coll<'s, T, Binding>,
    aggregate: &Aggregate,
    mode: &Mode,
    literal: usize,
    width: usize,
) -> Coll<'s, T, Binding> {
    let outer = Arc::new(outer_vars(aggregate));
    let keyed = {
        let outer = Arc::clone(&outer);
        bindings.map(move |binding| {
            let k: Row = outer.iter().map(|v| binding.0[v.0 as usize]).collect();
            (k, binding)
        })
    };
    let keys = keyed.clone().map(|(k, _)| k).distinct();
    let start = {
        let outer = Arc::clone(&outer);
        keys.clone().map(move |k| {
            let mut registers = vec![UNBOUND; width];
            for (v, value) in outer.iter().zip(&k) {
                registers[v.0 as usize] = *value;
            }
            (registers, vec![1.0f64.to_bits()])
        })
    };
    let mut bound = vec![false; width];
    for v in outer.iter() {
        bound[v.0 as usize] = true;
    }
    let solved = body(
        shared,
        rels,
        Start::From(start),
        &aggregate.body,
        &Mode::Weakest,
        bound,
    );
    let locals = aggregate.locals.clone();
    let solutions = {
        let outer = Arc::clone(&outer);
        solved
            .map(move |(registers, slots)| {
                let k: Row = outer.iter().map(|v| registers[v.0 as usize]).collect();
                let l: Row = locals.iter().map(|v| registers[v.0 as usize]).collect();
                ((k, l), slots[0])
            })
            .reduce(|_, weakest: &[(&u64, isize)], out| {
                out.push((*weakest[weakest.len() - 1].0, 1));
            })
    };
    let grouped = solutions
        .map(|((k, l), weakest)| (k, Some((l, weakest))))
        .concat(keys.map(|k| (k, None)));
    let (function, targets, locals) = (
        aggregate.function,
        aggregate.targets.clone(),
        aggregate.locals.clone(),
    );
    let values = {
        let shared = Arc::clone(shared);
        grouped.reduce(move |_, members: &[(&Option<(Row, u64)>, isize)], out| {
            let mut found: Vec<Vec<ValueId>> = Vec::new();
            let mut least = 1.0f64;
            for (member, _) in members {
                if let Some((l, weakest)) = member {
                    found.push(l.iter().map(|&v| ValueId(v)).collect());
                    least = least.min(f64::from_bits(*weakest));
                }
            }
            let mut interner = lock(&shared.interner);
            if let Some(Ok(value)) = aggregate_of(
                function,
                &targets,
                &locals,
                found.iter().map(Vec::as_slice),
                &*interner,
            ) {
                let id = interner.intern(value);
                out.push(((id.0, least.to_bits()), 1));
            }
        })
    };
    let result = aggregate.result;
    let mode = mode.clone();
    keyed.join_map(values, move |_, (registers, slots), &(value, factor)| {
        let mut registers = registers.clone();
        registers[result.0 as usize] = value;
        let mut slots = slots.clone();
        mode.factor(&mut slots, literal, f64::from_bits(factor));
        (registers, slots)
    })
}
