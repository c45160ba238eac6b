//! The interpreter of one rule's join plan: scans, intersections, negations and
//! aggregates over the relations, writing candidate facts for the merge.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::OnceLock;

use super::expr::{aggregate, compare, eval_expr, Solutions};
use super::intersect::intersect;
use super::plan::{Intersect, Scan, Step, Version, MAX_CHECKS};
use super::relation::{push_values, GroupBits, HeldPairs, Index, Relation};
use super::{Limit, Limits};
use crate::program::{Literal, PredId, Rule, Term, VarId};
use crate::syntax::ast::AggFn;
use crate::value::{Value, ValueId, Values};

/// Candidate facts for one relation, waiting to be merged.
#[derive(Default)]
pub(super) struct ToAdd {
    /// Values, `arity` per candidate.
    pub(super) tuples: Vec<ValueId>,
    /// Confidence per candidate; empty while every candidate's is 1.
    pub(super) confidence: Vec<f64>,
    /// Runs of consecutive candidates by one rule: the rule and the run's length.
    pub(super) rules: Vec<(u32, u32)>,
    /// The stored premises of each candidate, as many as its rule stores.
    pub(super) premises: Vec<u32>,
    /// Number of candidates.
    pub(super) len: usize,
}

impl ToAdd {
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Notes one more candidate by `rule` with `confidence` (its values and premises
    /// are pushed by the caller).
    #[inline]
    pub(super) fn push(&mut self, rule: u32, confidence: f64) {
        // Non-empty exactly when some candidate so far is below 1.
        if !self.confidence.is_empty() {
            self.confidence.push(confidence);
        } else if confidence != 1.0 {
            self.confidence.resize(self.len, 1.0);
            self.confidence.push(confidence);
        }
        match self.rules.last_mut() {
            Some((last, count)) if *last == rule => *count += 1,
            _ => self.rules.push((rule, 1)),
        }
        self.len += 1;
    }

    /// The confidence of candidate `i`.
    #[inline]
    pub(super) fn confidence(&self, i: usize) -> f64 {
        self.confidence.get(i).copied().unwrap_or(1.0)
    }

    /// Appends the candidates of `other` after these, as if pushed here in turn.
    pub(super) fn append(&mut self, other: ToAdd) {
        if self.len == 0 {
            *self = other;
            return;
        }
        self.tuples.extend_from_slice(&other.tuples);
        if !self.confidence.is_empty() || !other.confidence.is_empty() {
            self.confidence.resize(self.len, 1.0);
            if other.confidence.is_empty() {
                self.confidence.resize(self.len + other.len, 1.0);
            } else {
                self.confidence.extend_from_slice(&other.confidence);
            }
        }
        for &(rule, count) in &other.rules {
            match self.rules.last_mut() {
                Some((last, run)) if *last == rule => *run += count,
                _ => self.rules.push((rule, count)),
            }
        }
        self.premises.extend_from_slice(&other.premises);
        self.len += other.len;
    }
}

/// Where a plan's results go.
pub(super) enum Sink<'s> {
    /// Derive the rule's head.
    Head,
    /// Collect distinct values of these variables (an aggregate's body), each with the
    /// confidence of its best match: the least confident fact of that match.
    Collect(&'s [VarId], &'s mut Solutions),
}

/// How many steps of a plan run between two looks at the limits.
pub(super) const WATCH_EVERY: u32 = 4096;

/// The time and memory limits, checked while a plan runs (every [`WATCH_EVERY`] rows
/// visited or candidates found): a join whose filter never holds, or a cartesian
/// product, can run far past a limit within one iteration. Fact counts are checked
/// between iterations only, since candidates repeat facts.
///
/// Each thread of an iteration has its own watch; with a [`Tally`], each check adds
/// what its thread buffered since the last one to the tally and weighs the totals, and a
/// limit one thread reaches stops the others at their next check.
#[derive(Clone)]
pub(super) struct Watch<'t> {
    pub(super) countdown: u32,
    pub(super) started: std::time::Instant,
    pub(super) timeout: Option<std::time::Duration>,
    pub(super) max_bytes: Option<usize>,
    /// Bytes the relations held when the iteration began.
    pub(super) base_bytes: usize,
    /// Bytes of the candidates buffered since (by this thread).
    pub(super) buffered: usize,
    pub(super) max_facts: Option<usize>,
    /// Facts the relations held when the iteration began.
    pub(super) base_facts: usize,
    /// Candidate facts buffered since, by this thread (duplicates among them not yet
    /// removed).
    pub(super) candidates: usize,
    /// The limit reached, once one is.
    pub(super) stopped: Option<Limit>,
    /// The counts of all threads of the iteration, when there are several.
    pub(super) tally: Option<&'t Tally>,
    /// `buffered` and `candidates` as last added to the tally.
    pub(super) told: (usize, usize),
}

/// What the threads of one iteration buffered together, and the first limit one of
/// them reached.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) buffered: AtomicUsize,
    pub(super) candidates: AtomicUsize,
    /// The limit, and the unit of work whose thread reached it.
    pub(super) stopped: OnceLock<(Limit, usize)>,
}

impl<'t> Watch<'t> {
    pub(super) fn new(
        limits: &Limits,
        started: std::time::Instant,
        base_bytes: usize,
        base_facts: usize,
    ) -> Watch<'t> {
        Watch {
            max_facts: limits.max_facts,
            base_facts,
            candidates: 0,
            countdown: WATCH_EVERY,
            started,
            timeout: limits.timeout,
            max_bytes: limits.max_memory,
            base_bytes,
            buffered: 0,
            stopped: None,
            tally: None,
            told: (0, 0),
        }
    }

    /// Counts one step; whether evaluation must stop. `interner` holds the values made
    /// so far (text built by arithmetic counts against the memory limit).
    #[inline]
    pub(super) fn tick(&mut self, interner: &(impl Values + ?Sized)) -> bool {
        if self.stopped.is_some() {
            return true;
        }
        self.countdown -= 1;
        if self.countdown == 0 {
            self.countdown = WATCH_EVERY;
            return self.check(interner.heap_bytes());
        }
        false
    }

    /// Adds to the tally what this thread buffered since it last did; returns the
    /// bytes and candidates buffered by all threads.
    pub(super) fn tell(&mut self) -> (usize, usize) {
        let Some(tally) = self.tally else {
            return (self.buffered, self.candidates);
        };
        let bytes = self.buffered - self.told.0;
        let candidates = self.candidates - self.told.1;
        self.told = (self.buffered, self.candidates);
        (
            tally.buffered.fetch_add(bytes, AtomicOrdering::Relaxed) + bytes,
            tally
                .candidates
                .fetch_add(candidates, AtomicOrdering::Relaxed)
                + candidates,
        )
    }

    #[cold]
    pub(super) fn check(&mut self, value_bytes: usize) -> bool {
        if let Some(&(limit, _)) = self.tally.and_then(|tally| tally.stopped.get()) {
            self.stopped = Some(limit);
            return true;
        }
        let (buffered, candidates) = self.tell();
        if self.timeout.is_some_and(|t| self.started.elapsed() > t) {
            self.stopped = self.timeout.map(Limit::Time);
        } else if self
            .max_bytes
            .is_some_and(|max| self.base_bytes + buffered + value_bytes > max)
        {
            self.stopped = self.max_bytes.map(Limit::Memory);
        } else if self
            .max_facts
            .is_some_and(|max| self.base_facts.saturating_add(candidates) > max)
        {
            // Candidates may repeat each other, so this stops a little early at worst:
            // it bounds what the iteration holds, which is what the limit is for.
            self.stopped = self.max_facts.map(Limit::Facts);
        }
        self.stopped.is_some()
    }
}

/// Everything a plan reads and writes while it runs.
pub(super) struct Exec<'a, 'w> {
    pub(super) relations: &'a [Relation],
    pub(super) recent: &'a [Vec<u32>],
    pub(super) old_end: &'a [usize],
    pub(super) all_end: &'a [usize],
    /// The interner, or an overlay on it when several threads share it.
    pub(super) interner: &'a mut dyn Values,
    pub(super) to_add: &'a mut ToAdd,
    pub(super) head: &'a [Term],
    pub(super) head_predicate: PredId,
    /// The relation of each positive body atom, in written order.
    pub(super) premise_predicates: &'a [PredId],
    /// The positive body atoms whose rows a derivation stores.
    pub(super) stored: &'a [usize],
    pub(super) rule: u32,
    pub(super) strength: f64,
    pub(super) record: bool,
    /// Keep every derivation, also those no better than the fact's present one (to
    /// list the lines of a combined relation).
    pub(super) keep_all: bool,
    /// The plan's last scan has just found the head absent (see [`TailProbe`]), so the
    /// candidate needs no second look.
    pub(super) head_checked: bool,
    pub(super) regs: Vec<ValueId>,
    pub(super) premises: Vec<u32>,
    pub(super) tuple: Vec<ValueId>,
    /// Rule instances whose arithmetic had no value.
    pub(super) failures: u64,
    /// Buffers of [`Exec::run_intersect`], kept between calls.
    pub(super) found: Vec<u32>,
    pub(super) values: Vec<u32>,
    pub(super) order: Vec<usize>,
    /// Limits checked as the plan runs.
    pub(super) watch: &'a mut Watch<'w>,
    /// The positions of the first step's rows to visit (in the rows that scan would
    /// visit), when the plan's work is split between threads; taken by that scan.
    pub(super) outer: Option<Range<usize>>,
    /// The factor each negation and aggregate of the rule body puts on the current
    /// derivation, by slot (written order): `1 - c` per fact a negation finds (their
    /// product), an aggregate's confidence.
    pub(super) factors: Vec<f64>,
    /// How many aggregates the plan is inside (0 or 1).
    pub(super) depth: u32,
    /// Per relation: whether it is declared `@exception`, so that its facts under `not`
    /// weaken a derivation by their confidence instead of defeating it outright.
    pub(super) defeaters: &'a [bool],
    /// Inside an aggregate: the least confidence among the facts of the current match.
    pub(super) weakest: f64,
}

/// The rows of `rows` at the positions of `part` (all of them without one).
pub(super) fn within<'r>(rows: &'r [u32], part: &Option<Range<usize>>) -> &'r [u32] {
    match part {
        Some(range) => &rows[range.start.min(rows.len())..range.end.min(rows.len())],
        None => rows,
    }
}

/// The number of negations and aggregates in the body of `rule`: its factor slots.
pub(super) fn n_factors(rule: &Rule) -> usize {
    rule.body
        .iter()
        .filter(|l| matches!(l, Literal::Neg(_) | Literal::Agg(_)))
        .count()
}

/// The factor `not` puts on a derivation when facts of an `@exception` relation it
/// negates hold with these confidences: 0 (defeated) when one of them is at least
/// [`DEFEAT_THRESHOLD`], else the chance that none of them holds, `(1 - c1)(1 - c2)...`,
/// multiplied in ascending order so that the product does not depend on row order.
pub(crate) fn negation_factor(mut confidences: Vec<f64>) -> f64 {
    if confidences.iter().any(|&c| c >= DEFEAT_THRESHOLD) {
        return 0.0;
    }
    confidences.sort_by(f64::total_cmp);
    confidences.iter().fold(1.0, |factor, c| factor * (1.0 - c))
}

/// An exception that holds at least this likely (more likely than not) defeats what it
/// negates; below it, it weakens by its confidence.
pub(crate) const DEFEAT_THRESHOLD: f64 = 0.5;

/// Where a value of the head comes from in a plan's last scan.
#[derive(Clone, Copy)]
pub(super) enum Source {
    /// Known before the scan.
    Fixed(ValueId),
    /// This column of the scanned row.
    Column(usize),
}

/// For a plan's last scan deriving a pair of a relation whose rows are all certain:
/// whether the pair a row gives is held already, which makes the row's candidate one
/// the merge would keep out (see [`Relation::holds_at_least`]). Asked before anything
/// else is done for the row; the pair's group is found once when the first value is
/// known before the scan.
pub(super) struct TailProbe<'r> {
    pub(super) held: HeldPairs<'r>,
    pub(super) first: Source,
    pub(super) second: Source,
    /// With a fixed first value: its group, if it has one.
    pub(super) group: Option<Option<u32>>,
}

impl TailProbe<'_> {
    #[inline]
    pub(super) fn holds(&self, values: &[ValueId]) -> bool {
        let value = |source: Source| match source {
            Source::Fixed(v) => v,
            Source::Column(c) => values[c],
        };
        let second = value(self.second);
        match self.group {
            Some(Some(group)) => self.held.group_holds(group, second),
            Some(None) => false,
            None => self.held.holds(value(self.first), second),
        }
    }
}

/// Rows ahead of the one being scanned whose next lookup is prefetched: first where the
/// group starts, then, nearer, its first entries. Far enough for the fetches to arrive
/// (a few hundred nanoseconds of work per row), near enough to stay in the cache.
const FETCH_FAR: usize = 16;
const FETCH_NEAR: usize = 8;

/// For a scan of new rows whose next step looks a group up in a frozen index by one
/// value of the scanned row: that index and the column, so that the groups of rows a
/// little ahead can be fetched into the cache while this one is worked on. Scans of
/// new rows read rows at random places of the indexes they probe, and on relations far
/// larger than the caches each lookup otherwise waits on memory twice.
pub(super) struct Ahead<'r> {
    index: &'r Index,
    column: usize,
}

impl Ahead<'_> {
    /// Prefetches for the rows `FETCH_FAR` and `FETCH_NEAR` after row `i` of `rows`.
    #[inline]
    fn fetch(&self, relation: &Relation, rows: &[u32], i: usize) {
        if let Some(&far) = rows.get(i + FETCH_FAR) {
            self.index
                .prefetch(relation.row(far as usize)[self.column], false);
        }
        if let Some(&near) = rows.get(i + FETCH_NEAR) {
            self.index
                .prefetch(relation.row(near as usize)[self.column], true);
        }
    }
}

impl<'a> Exec<'a, '_> {
    /// The prefetching for a scan of new rows followed by `rest`, when it pays.
    fn ahead(&self, scan: &Scan, rest: &[Step]) -> Option<Ahead<'a>> {
        let Some(Step::Scan(next)) = rest.first() else {
            return None;
        };
        let (Some(slot), [Term::Var(var)]) = (next.index, next.key.as_slice()) else {
            return None;
        };
        if next.version == Version::Delta {
            return None;
        }
        let &(column, _) = scan.binds.iter().find(|(_, v)| v == var)?;
        let index = &self.relations[next.predicate.0 as usize].indexes[slot];
        index.prefetches().then_some(Ahead { index, column })
    }

    /// The probe for `scan` as the last step of the plan, if the head is a pair of a
    /// relation whose rows are all certain.
    pub(super) fn tail_probe(&self, scan: &Scan) -> Option<TailProbe<'a>> {
        if self.head.len() != 2 {
            return None;
        }
        let held = self.relations[self.head_predicate.0 as usize].held_pairs()?;
        let source = |term: &Term| match term {
            Term::Const(v) => Source::Fixed(*v),
            Term::Var(v) => match scan.binds.iter().find(|(_, w)| w == v) {
                Some(&(column, _)) => Source::Column(column),
                None => Source::Fixed(self.regs[v.0 as usize]),
            },
        };
        let first = source(&self.head[0]);
        let group = match first {
            Source::Fixed(v) => Some(held.group(v)),
            Source::Column(_) => None,
        };
        Some(TailProbe {
            held,
            first,
            second: source(&self.head[1]),
            group,
        })
    }

    #[inline]
    pub(super) fn term(&self, term: &Term) -> ValueId {
        match term {
            Term::Const(v) => *v,
            Term::Var(v) => self.regs[v.0 as usize],
        }
    }

    pub(super) fn run(&mut self, steps: &[Step], sink: &mut Sink<'_>) {
        let Some((step, rest)) = steps.split_first() else {
            self.finish(sink);
            return;
        };
        match step {
            Step::Scan(scan) => {
                let relations = self.relations;
                let relation = &relations[scan.predicate.0 as usize];
                let arity = relation.arity;
                let mut key = [ValueId(0); 16];
                let n_key = scan.key.len();
                let mut key_vec;
                let key: &[ValueId] = if n_key <= key.len() {
                    for (slot, term) in key.iter_mut().zip(&scan.key) {
                        *slot = self.term(term);
                    }
                    &key[..n_key]
                } else {
                    key_vec = Vec::with_capacity(n_key);
                    for term in &scan.key {
                        key_vec.push(self.term(term));
                    }
                    &key_vec
                };
                let p = scan.predicate.0 as usize;
                let held = if rest.is_empty()
                    && matches!(sink, Sink::Head)
                    && !self.keep_all
                    && self.depth == 0
                {
                    self.tail_probe(scan)
                } else {
                    None
                };
                let mut visit = |this: &mut Self, row: u32, values: &[ValueId]| {
                    if this.watch.tick(&*this.interner) {
                        return;
                    }
                    if scan.equal.iter().any(|&(a, b)| values[a] != values[b]) {
                        return;
                    }
                    if held.as_ref().is_some_and(|held| held.holds(values)) {
                        return;
                    }
                    for &(column, var) in &scan.binds {
                        this.regs[var.0 as usize] = values[column];
                    }
                    if let Some(slot) = scan.slot {
                        this.premises[slot] = row;
                    }
                    if this.depth > 0 {
                        let saved = this.weakest;
                        this.weakest = saved.min(relation.confidence(row as usize));
                        this.run(rest, sink);
                        this.weakest = saved;
                    } else {
                        this.run(rest, sink);
                    }
                };
                // The probe answers for every row the scan passes on to the head.
                self.head_checked = held.is_some();
                // Only the plan's first step, when its rows are split between threads.
                let part = self.outer.take();
                match (scan.version, scan.index) {
                    (Version::Delta, _) => {
                        let rows = within(&self.recent[p], &part);
                        let ahead = self.ahead(scan, rest);
                        for (i, &row) in rows.iter().enumerate() {
                            if let Some(ahead) = &ahead {
                                ahead.fetch(relation, rows, i);
                            }
                            let values = relation.row(row as usize);
                            if scan
                                .key_columns
                                .iter()
                                .zip(key)
                                .all(|(&c, k)| values[c] == *k)
                            {
                                visit(self, row, values);
                            }
                        }
                    }
                    (version, Some(slot)) => {
                        let end = if version == Version::Old {
                            self.old_end[p]
                        } else {
                            self.all_end[p]
                        } as u32;
                        let index = &relation.indexes[slot];
                        let rows = index
                            .lookup(&relation.data, arity, key, Index::hash_key(key))
                            .below(end);
                        let rows = match &part {
                            Some(range) => {
                                let n = rows.len();
                                rows.slice(range.start.min(n)..range.end.min(n))
                            }
                            None => rows,
                        };
                        if rows.is_paired() {
                            // Each row's values are the key's and the one beside it.
                            let key_first = index.columns[0] == 0;
                            for i in 0..rows.len() {
                                let other = rows.other(i).expect("a paired group");
                                let values = if key_first {
                                    [key[0], other]
                                } else {
                                    [other, key[0]]
                                };
                                visit(self, rows.row(i), &values);
                            }
                        } else {
                            for row in rows.rows() {
                                visit(self, row, relation.row(row as usize));
                            }
                        }
                    }
                    (version, None) if scan.key_columns.len() == arity && arity > 0 => {
                        let end = if version == Version::Old {
                            self.old_end[p]
                        } else {
                            self.all_end[p]
                        } as u32;
                        if let Some(row) = relation.find(key, relation.hash(key)) {
                            if row < end && part.as_ref().is_none_or(|range| range.contains(&0)) {
                                visit(self, row, relation.row(row as usize));
                            }
                        }
                    }
                    (version, None) => {
                        let end = if version == Version::Old {
                            self.old_end[p]
                        } else {
                            self.all_end[p]
                        };
                        let rows = match &part {
                            Some(range) => range.start.min(end)..range.end.min(end),
                            None => 0..end,
                        };
                        for row in rows {
                            visit(self, row as u32, relation.row(row));
                        }
                    }
                }
                self.head_checked = false;
            }
            Step::Intersect(fused) => self.run_intersect(fused, rest, sink),
            Step::Neg {
                predicate,
                arity,
                key_columns,
                key,
                index,
                factor,
            } => {
                let relation = &self.relations[predicate.0 as usize];
                let mut buffer = [ValueId(0); 16];
                let owned: Vec<ValueId>;
                let values: &[ValueId] = if key.len() <= buffer.len() {
                    for (slot, term) in buffer.iter_mut().zip(key) {
                        *slot = self.term(term);
                    }
                    &buffer[..key.len()]
                } else {
                    owned = key.iter().map(|t| self.term(t)).collect();
                    &owned
                };
                // The facts the negation finds, by their confidences: a certain one
                // defeats the derivation, uncertain ones weaken it.
                let found: Vec<f64> = if key_columns.len() == *arity {
                    relation
                        .find(values, relation.hash(values))
                        .map(|row| relation.confidence(row as usize))
                        .into_iter()
                        .collect()
                } else {
                    let slot = index.expect("plan: negation index slot filled before execution");
                    relation.indexes[slot]
                        .lookup(
                            &relation.data,
                            relation.arity,
                            values,
                            Index::hash_key(values),
                        )
                        .rows()
                        .map(|row| relation.confidence(row as usize))
                        .collect()
                };
                // An ordinary negation is crisp: any fact found defeats. Only a fact of
                // an `@exception` relation is a defeater that weighs by its confidence.
                let weight = if self.defeaters[predicate.0 as usize] {
                    negation_factor(found)
                } else if found.is_empty() {
                    1.0
                } else {
                    0.0
                };
                if weight > 0.0 {
                    match factor {
                        Some(slot) => {
                            self.factors[*slot] = weight;
                            self.run(rest, sink);
                        }
                        None => {
                            let saved = self.weakest;
                            self.weakest = saved.min(weight);
                            self.run(rest, sink);
                            self.weakest = saved;
                        }
                    }
                }
            }
            Step::Filter { left, op, right } => {
                let a = eval_expr(left, &self.regs, &mut *self.interner);
                let b = eval_expr(right, &self.regs, &mut *self.interner);
                match (a, b) {
                    (Some(a), Some(b)) => {
                        if compare(*op, a, b, &*self.interner) {
                            self.run(rest, sink);
                        }
                    }
                    _ => self.failures += 1,
                }
            }
            Step::Assign { var, expr } => match eval_expr(expr, &self.regs, &mut *self.interner) {
                Some(value) => {
                    self.regs[var.0 as usize] = value;
                    self.run(rest, sink);
                }
                None => self.failures += 1,
            },
            Step::Agg {
                result,
                function,
                targets,
                locals,
                steps,
                factor,
            } => {
                if let Some((count, weakest)) = self.count_rows(*function, targets, locals, steps) {
                    self.factors[*factor] = weakest;
                    self.regs[result.0 as usize] = self.interner.intern(Value::Int(count as i64));
                    self.run(rest, sink);
                    return;
                }
                let mut solutions = Solutions::new(locals.len());
                let (depth, weakest) = (self.depth, self.weakest);
                self.depth += 1;
                self.weakest = 1.0;
                self.run(steps, &mut Sink::Collect(locals, &mut solutions));
                (self.depth, self.weakest) = (depth, weakest);
                let value = aggregate(
                    *function,
                    targets,
                    locals,
                    solutions.iter(),
                    &*self.interner,
                );
                match value {
                    Some(Ok(value)) => {
                        // As certain as the least certain solution it counts (1 when it
                        // counts none): min and max do not depend on the order found.
                        self.factors[*factor] = solutions.weakest();
                        self.regs[result.0 as usize] = self.interner.intern(value);
                        self.run(rest, sink);
                    }
                    Some(Err(())) => self.failures += 1,
                    None => {}
                }
            }
        }
    }

    /// A count whose body is one indexed scan binding exactly the aggregate's locals,
    /// each once, in every column the key leaves: its solutions are then the rows of
    /// the index group (rows are distinct), so the count is their number and its
    /// confidence that of the least confident row. `None` when the body is anything else.
    pub(super) fn count_rows(
        &self,
        function: AggFn,
        targets: &[VarId],
        locals: &[VarId],
        steps: &[Step],
    ) -> Option<(usize, f64)> {
        let [Step::Scan(scan)] = steps else {
            return None;
        };
        let slot = scan.index?;
        let whole = function == AggFn::Count
            && self.outer.is_none()
            && scan.version != Version::Delta
            && scan.equal.is_empty()
            && scan.key_columns.len() + scan.binds.len() == scan.arity
            && scan.binds.len() == locals.len()
            && locals
                .iter()
                .all(|l| scan.binds.iter().any(|(_, v)| v == l))
            && (targets.is_empty() || locals.iter().all(|l| targets.contains(l)));
        if !whole || scan.key.len() > 16 {
            return None;
        }
        let p = scan.predicate.0 as usize;
        let relation = &self.relations[p];
        let mut buffer = [ValueId(0); 16];
        for (value, term) in buffer.iter_mut().zip(&scan.key) {
            *value = self.term(term);
        }
        let key = &buffer[..scan.key.len()];
        let end = if scan.version == Version::Old {
            self.old_end[p]
        } else {
            self.all_end[p]
        } as u32;
        let rows = relation.indexes[slot]
            .lookup(&relation.data, scan.arity, key, Index::hash_key(key))
            .below(end);
        let weakest = if relation.all_certain() {
            1.0
        } else {
            rows.rows()
                .map(|r| relation.confidence(r as usize))
                .fold(1.0, f64::min)
        };
        Some((rows.len(), weakest))
    }

    /// Runs `rest` for each row of the fused scans, in the order the unfused scans would
    /// find them (ascending rows of the lead scan).
    pub(super) fn run_intersect(&mut self, fused: &Intersect, rest: &[Step], sink: &mut Sink<'_>) {
        let relations = self.relations;
        let mut lists: [&[(u32, u32)]; MAX_CHECKS + 1] = [&[]; MAX_CHECKS + 1];
        let mut sets: [Option<&GroupBits>; MAX_CHECKS + 1] = [None; MAX_CHECKS + 1];
        let mut ends = [0u32; MAX_CHECKS + 1];
        // Whether every row of every list counts (no list reaches past its end).
        let mut whole = true;
        let mut key: Vec<ValueId> = Vec::new();
        let scans = std::iter::once((&fused.lead, &fused.lead.key, fused.index)).chain(
            fused
                .checks
                .iter()
                .map(|check| (&check.scan, &check.key, check.index)),
        );
        let mut n = 0;
        for (scan, terms, index) in scans {
            let p = scan.predicate.0 as usize;
            let relation = &relations[p];
            key.clear();
            key.extend(terms.iter().map(|term| self.term(term)));
            let slot = index.expect("plan: sorted index slot filled before execution");
            (lists[n], sets[n]) = relation.sorted[slot].lookup(
                &relation.data,
                relation.arity,
                &key,
                Index::hash_key(&key),
            );
            ends[n] = if scan.version == Version::Old {
                self.old_end[p]
            } else {
                self.all_end[p]
            } as u32;
            whole &= ends[n] as usize >= relation.len();
            n += 1;
        }
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        let dense = whole && (0..n).all(|i| sets[i].is_some() && !lists[i].is_empty());
        if dense {
            // Every group as a bitset: intersect 64 values at a time, then find the
            // rows of each common value (the lead's always, for the order; a check's
            // only if its premise is stored).
            let mut values = std::mem::take(&mut self.values);
            values.clear();
            GroupBits::intersect(&sets[..n], &mut values);
            let row_of = |list: &[(u32, u32)], value: u32| {
                let at = list.partition_point(|&(v, _)| v < value);
                list[at].1
            };
            for &value in &values {
                found.push(value);
                found.push(row_of(lists[0], value));
                for (i, check) in fused.checks.iter().enumerate() {
                    found.push(match check.scan.slot {
                        Some(_) => row_of(lists[i + 1], value),
                        None => 0,
                    });
                }
            }
            self.values = values;
        } else {
            intersect(&lists[..n], &ends[..n], &mut found);
        }
        let stride = n + 1;
        let count = found.len() / stride;
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..count);
        order.sort_unstable_by_key(|&m| found[m * stride + 1]);
        for &m in &order {
            if self.watch.tick(&*self.interner) {
                break;
            }
            let entry = &found[m * stride..(m + 1) * stride];
            self.regs[fused.var.0 as usize] = ValueId(entry[0]);
            if let Some(slot) = fused.lead.slot {
                self.premises[slot] = entry[1];
            }
            for (check, &row) in fused.checks.iter().zip(&entry[2..]) {
                if let Some(slot) = check.scan.slot {
                    self.premises[slot] = row;
                }
            }
            self.run(rest, sink);
        }
        self.found = found;
        self.order = order;
    }

    pub(super) fn finish(&mut self, sink: &mut Sink<'_>) {
        match sink {
            Sink::Collect(vars, out) => {
                self.tuple.clear();
                self.tuple
                    .extend(vars.iter().map(|v| self.regs[v.0 as usize]));
                out.add(&self.tuple, self.weakest);
            }
            Sink::Head => {
                self.tuple.clear();
                for i in 0..self.head.len() {
                    let value = self.term(&self.head[i]);
                    self.tuple.push(value);
                }
                // Multiply in the rule's written order, never in join order: floating
                // point products depend on order, and the result must not depend on
                // the plan (naive and semi-naive plans differ).
                let mut confidence = self.strength;
                for (predicate, &row) in self.premise_predicates.iter().zip(&self.premises) {
                    confidence *= self.relations[predicate.0 as usize].confidence(row as usize);
                }
                for factor in &self.factors {
                    confidence *= factor;
                }
                let relation = &self.relations[self.head_predicate.0 as usize];
                if !self.keep_all
                    && !self.head_checked
                    && relation.holds_at_least(&self.tuple, relation.hash(&self.tuple), confidence)
                {
                    return;
                }
                // Values, confidence, rule code and stored premises, as buffered.
                self.watch.buffered += 4 * (self.tuple.len() + self.stored.len()) + 12;
                self.watch.candidates += 1;
                let to_add = &mut *self.to_add;
                push_values(&mut to_add.tuples, &self.tuple);
                to_add.push(self.rule, confidence);
                if self.record {
                    to_add
                        .premises
                        .extend(self.stored.iter().map(|&atom| self.premises[atom]));
                }
            }
        }
    }
}
