//! The fixpoint: semi-naive evaluation of each stratum, executing join plans over the
//! relations and merging what they derive.
//!
//! Lifecycle of facts within a stratum (after datafrog's `stable`/`recent`/`to_add`):
//! plans write candidate facts to a per-relation `to_add` buffer, reading only rows that
//! existed when the iteration began; after all plans ran, `merge` appends the new rows
//! and replaces the confidence and derivation of rows that got a strictly better
//! derivation. Both kinds of row form the next iteration's `recent` (the delta). A
//! stratum ends when an iteration makes no row new or better. Because a derivation
//! multiplies confidences no greater than 1, a better derivation never runs through the
//! fact it derives, so recorded derivations form no cycles.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::combine::{combined_predicates, noisy_or, Line, LineOrigin, Lineage, Lines};
use super::exec::{n_factors, Exec, Sink, Tally, ToAdd, Watch};
use super::plan::{plan_rule, IndexKind, Plan, Step, Version};
use super::profile::{Profile, StratumCost};
use super::provenance::Layout;
use super::relation::{hash_row, Index, Merged, Relation, INPUT_BIT};
use super::{derivation_in, Derivation, FactId};
use super::{EvalOptions, Limit, LimitExceeded, Limits, Strategy};
use crate::program::{Literal, PredId, Program, Rule, RuleId, Stratum, Term, VarId};
use crate::value::{Interner, Overlay, ValueId, Values, OVERLAY_BASE};

/// Whether every instance of `rule` derives a different fact: every variable of its
/// positive premises is in the head, so instances that differ in some premise row (rows
/// of a relation are distinct) differ in the head.
fn derives_distinct(rule: &Rule) -> bool {
    let in_head = |var: &VarId| rule.head.args.contains(&Term::Var(*var));
    rule.positive_atoms().all(|atom| {
        atom.args.iter().all(|term| match term {
            Term::Var(var) => in_head(var),
            Term::Const(_) => true,
        })
    })
}

/// Marks the relations `body` (aggregates' bodies included) tests in a negation.
fn mark_negated(body: &[Literal], negated: &mut [bool]) {
    for literal in body {
        match literal {
            Literal::Neg(atom) => negated[atom.predicate.0 as usize] = true,
            Literal::Agg(aggregate) => mark_negated(&aggregate.body, negated),
            _ => {}
        }
    }
}

/// What every plan of one iteration reads: the relations as they were when it began,
/// the rows each version of them covers, and the rules' premise layouts. Shared
/// read-only by the threads of the iteration.
struct Round<'a> {
    program: &'a Program,
    relations: &'a [Relation],
    recent: &'a [Vec<u32>],
    old_end: &'a [usize],
    all_end: &'a [usize],
    premise_predicates: &'a [Vec<PredId>],
    layouts: &'a [Layout],
    n_premises: &'a [usize],
    defeaters: &'a [bool],
    record: bool,
}

impl<'a> Round<'a> {
    /// An interpreter for the plans of `rule_id`, writing candidates to `to_add`.
    fn exec<'e, 'w>(
        &self,
        rule_id: RuleId,
        interner: &'e mut dyn Values,
        to_add: &'e mut ToAdd,
        watch: &'e mut Watch<'w>,
    ) -> Exec<'e, 'w>
    where
        'a: 'e,
    {
        let rule = self.program.rule(rule_id);
        let index = rule_id.0 as usize;
        Exec {
            relations: self.relations,
            recent: self.recent,
            old_end: self.old_end,
            all_end: self.all_end,
            interner,
            to_add,
            head: &rule.head.args,
            head_predicate: rule.head.predicate,
            premise_predicates: &self.premise_predicates[index],
            stored: &self.layouts[index].stored,
            rule: rule_id.0,
            strength: rule.strength,
            record: self.record,
            keep_all: false,
            head_checked: false,
            regs: vec![ValueId(u32::MAX); rule.variables.len()],
            premises: vec![0; self.n_premises[index]],
            tuple: Vec::with_capacity(rule.head.args.len()),
            failures: 0,
            found: Vec::new(),
            values: Vec::new(),
            order: Vec::new(),
            watch,
            outer: None,
            factors: vec![1.0; n_factors(rule)],
            defeaters: self.defeaters,
            depth: 0,
            weakest: 1.0,
        }
    }

    /// How many rows the first step of `plan` visits, when it is a scan (whose key is
    /// then made of constants: nothing is bound before it). `None` for other steps,
    /// whose work is not split.
    fn outer_rows(&self, plan: &Plan) -> Option<usize> {
        let Some(Step::Scan(scan)) = plan.steps.first() else {
            return None;
        };
        let mut key = Vec::with_capacity(scan.key.len());
        for term in &scan.key {
            match term {
                Term::Const(value) => key.push(*value),
                Term::Var(_) => return None,
            }
        }
        let p = scan.predicate.0 as usize;
        let relation = &self.relations[p];
        let end = if scan.version == Version::Old {
            self.old_end[p]
        } else {
            self.all_end[p]
        };
        Some(match (scan.version, scan.index) {
            (Version::Delta, _) => self.recent[p].len(),
            (_, Some(slot)) => relation.indexes[slot]
                .lookup(&relation.data, relation.arity, &key, Index::hash_key(&key))
                .below(end as u32)
                .len(),
            (_, None) if scan.key_columns.len() == relation.arity && relation.arity > 0 => 1,
            (_, None) => end,
        })
    }
}

/// A share of one iteration's work: a plan, and the positions of the rows of its first
/// scan that it covers (all of them when `None`).
struct Unit {
    plan: usize,
    rows: Option<Range<usize>>,
}

/// An iteration whose plans visit fewer first-scan rows than this runs on the calling
/// thread alone: starting threads costs more than such an iteration (tens of
/// microseconds), and programs evaluated many times over (`explain --critical`) are
/// mostly small.
const MIN_PARALLEL_ROWS: usize = 1024;

/// A plan's rows are split into shares of at least this many rows...
const MIN_SHARE: usize = 16;

/// ...and an iteration into about this many shares per thread, so that a thread that
/// drew heavy rows does not hold up the others for long.
const SHARES_PER_THREAD: usize = 16;

/// The stack of each evaluation thread: as for the `ascribe` command's main thread, a
/// join recurses once per body literal (see [`crate::eval::evaluate`]).
const THREAD_STACK: usize = 1 << 30;

/// The work of `plans` as units, in plan order and, within a plan, in ascending rows of
/// its first scan, so that their candidates put end to end are those of the plans run
/// one after the other; none when the iteration is too small to share.
fn split(round: &Round<'_>, plans: &[(RuleId, Plan)], threads: usize) -> Vec<Unit> {
    let rows: Vec<Option<usize>> = plans
        .iter()
        .map(|(_, plan)| round.outer_rows(plan))
        .collect();
    let total: usize = rows.iter().map(|n| n.unwrap_or(1)).sum();
    if total < MIN_PARALLEL_ROWS {
        return Vec::new();
    }
    let share = (total / (threads * SHARES_PER_THREAD)).max(MIN_SHARE);
    let mut units = Vec::new();
    for (plan, rows) in rows.into_iter().enumerate() {
        match rows {
            Some(n) if n > share => {
                let mut start = 0;
                while start < n {
                    let end = (start + share).min(n);
                    units.push(Unit {
                        plan,
                        rows: Some(start..end),
                    });
                    start = end;
                }
            }
            _ => units.push(Unit { plan, rows: None }),
        }
    }
    units
}

/// What one unit derived: its candidates, the values it made (by provisional id, see
/// [`Overlay`]), and its rule instances whose arithmetic had no value.
struct UnitResult {
    to_add: ToAdd,
    values: Vec<crate::value::Value>,
    failures: u64,
    /// How long the unit ran.
    time: Duration,
}

/// Runs `units` on up to `threads` threads, this one among them, each unit with its own
/// buffer and its own overlay on `interner`, and each thread with a copy of `watch`
/// sharing one tally. Returns each unit's result by unit (`None` for a unit not started
/// because a limit was reached), and the limit reached with the unit that reached it.
fn run_units(
    round: &Round<'_>,
    plans: &[(RuleId, Plan)],
    units: &[Unit],
    interner: &Interner,
    threads: usize,
    watch: &Watch<'_>,
) -> (Vec<Option<UnitResult>>, Option<(Limit, usize)>) {
    let next = AtomicUsize::new(0);
    let tally = Tally::default();
    let work = || {
        let mut watch = Watch {
            tally: Some(&tally),
            ..watch.clone()
        };
        let mut done = Vec::new();
        while tally.stopped.get().is_none() {
            let index = next.fetch_add(1, AtomicOrdering::Relaxed);
            let Some(unit) = units.get(index) else {
                break;
            };
            let (rule_id, plan) = &plans[unit.plan];
            let clock = Instant::now();
            let mut overlay = Overlay::new(interner);
            let mut to_add = ToAdd::default();
            let mut exec = round.exec(*rule_id, &mut overlay, &mut to_add, &mut watch);
            exec.outer = unit.rows.clone();
            exec.run(&plan.steps, &mut Sink::Head);
            let failures = exec.failures;
            if let Some(limit) = watch.stopped {
                // Another thread may have stopped first; its limit is kept.
                let _ = tally.stopped.set((limit, index));
            }
            let values = overlay.into_values();
            done.push((
                index,
                UnitResult {
                    to_add,
                    values,
                    failures,
                    time: clock.elapsed(),
                },
            ));
        }
        done
    };
    let mut results: Vec<Option<UnitResult>> = units.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        // A thread that cannot be started leaves its share to the others.
        let helpers: Vec<_> = (1..threads.min(units.len()))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(THREAD_STACK)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut done = work();
        for helper in helpers {
            match helper.join() {
                Ok(more) => done.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        for (index, result) in done {
            results[index] = Some(result);
        }
    });
    (results, tally.stopped.get().copied())
}

/// Evaluation state shared by all strata.
pub(crate) struct State<'p> {
    pub program: &'p Program,
    pub relations: Vec<Relation>,
    pub interner: Interner,
    pub options: EvalOptions,
    /// Rule instances whose arithmetic had no value, per rule.
    pub failures: FxHashMap<RuleId, u64>,
    pub iterations: usize,
    /// Per rule, how many positive body atoms it has.
    n_premises: Vec<usize>,
    /// Per rule, which premises a derivation stores.
    pub layouts: Vec<Layout>,
    /// Per rule, the relation of each positive body atom in written order.
    premise_predicates: Vec<Vec<PredId>>,
    /// Bounds checked after every iteration.
    pub limits: Limits,
    /// Set when a limit stopped evaluation.
    pub stopped: Option<LimitExceeded>,
    started: std::time::Instant,
    /// New facts per rule in the last merge.
    growth: FxHashMap<RuleId, u64>,
    /// Per relation: declared `@exception` (see [`Exec`]).
    defeaters: Vec<bool>,
    /// Relations declared `@combine(noisy_or)`.
    combined: Vec<PredId>,
    /// Sources per fact, for combining.
    pub lineage: Lineage,
    /// The lines of each fact of a combined relation.
    pub lines: Lines,
    /// Told as each stratum starts and after each iteration.
    pub progress: &'p dyn crate::progress::Progress,
    /// The stratum being evaluated, 1-based, for `progress`.
    stratum_number: usize,
    /// Where the time went, per stratum and per rule.
    pub profile: Profile,
}

impl<'p> State<'p> {
    pub fn new(program: &'p Program, mut options: EvalOptions) -> State<'p> {
        // Combining needs the sources of every premise, so derivations are recorded.
        let combined = combined_predicates(program);
        options.record_derivations |= !combined.is_empty();
        let record = options.record_derivations;
        let n = program.predicates().len();
        // Premises of the head's own stratum are stored only when no smaller set of
        // premises does without them: rows of earlier strata are fewer, and may fit
        // narrow slots.
        let mut stratum_of = vec![usize::MAX; n];
        for (index, stratum) in program.strata().iter().enumerate() {
            for p in &stratum.predicates {
                stratum_of[p.0 as usize] = index;
            }
        }
        let layouts: Vec<Layout> = program
            .rules()
            .iter()
            .map(|rule| {
                let head = stratum_of[rule.head.predicate.0 as usize];
                let atoms: Vec<PredId> = rule.positive_atoms().map(|a| a.predicate).collect();
                Layout::preferring(rule, |i| stratum_of[atoms[i].0 as usize] == head)
            })
            .collect();
        let mut stride = vec![0usize; n];
        let mut rules: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (rule, layout) in program.rules().iter().zip(&layouts) {
            let p = rule.head.predicate.0 as usize;
            stride[p] = stride[p].max(layout.stored.len());
            rules[p].push(rule.id.0);
        }
        let mut negated = vec![false; n];
        for rule in program.rules() {
            mark_negated(&rule.body, &mut negated);
        }
        let mut relations: Vec<Relation> = program
            .predicates()
            .iter()
            .zip(rules)
            .zip(&stride)
            .zip(negated)
            .map(|(((p, rules), &stride), negated)| {
                Relation::new(p.arity, rules, stride, record, negated)
            })
            .collect();
        for (index, fact) in program.facts().iter().enumerate() {
            let relation = &mut relations[fact.predicate.0 as usize];
            let hash = hash_row(&fact.tuple);
            // Duplicated input facts keep the most confident one.
            relation.insert(
                &fact.tuple,
                hash,
                program.fact_confidence(fact),
                INPUT_BIT | index as u32,
                &[],
            );
        }
        let n_premises = program
            .rules()
            .iter()
            .map(|r| r.positive_atoms().count())
            .collect();
        let premise_predicates = program
            .rules()
            .iter()
            .map(|r| r.positive_atoms().map(|a| a.predicate).collect())
            .collect();
        State {
            program,
            relations,
            interner: program.interner().clone(),
            options,
            failures: FxHashMap::default(),
            iterations: 0,
            n_premises,
            layouts,
            premise_predicates,
            limits: Limits::default(),
            stopped: None,
            started: std::time::Instant::now(),
            growth: FxHashMap::default(),
            combined,
            lineage: Lineage::default(),
            defeaters: program.predicates().iter().map(|p| p.exception).collect(),
            lines: Lines::default(),
            progress: &crate::progress::Silent,
            stratum_number: 0,
            profile: Profile::new(program.strata().len(), program.rules().len()),
        }
    }

    /// Tells `progress` where evaluation is.
    fn report_progress(&self) {
        let relations = &self.relations;
        self.progress.evaluating(
            self.stratum_number,
            self.program.strata().len(),
            self.iterations,
            &|| relations.iter().map(Relation::len).sum(),
        );
    }

    /// Evaluates every stratum in order.
    pub fn run(&mut self) {
        for p in self.combined.clone() {
            if !self.program.predicate(p).derived {
                self.combine(p, &[]);
            }
        }
        for (index, stratum) in self.program.strata().iter().enumerate() {
            self.stratum_number = index + 1;
            self.report_progress();
            self.run_stratum(stratum);
            if self.stopped.is_some() {
                return;
            }
            // A combined relation is never recursive, so it is alone in its stratum
            // and complete here; later strata read its combined confidences.
            for p in &stratum.predicates {
                if self.combined.contains(p) {
                    self.combine(*p, &stratum.rules);
                    if self.stopped.is_some() {
                        return;
                    }
                }
            }
        }
    }

    /// Lists every line of every fact of relation `p` (its input facts and every
    /// instance of `rules`), counts the independent ones, and sets each fact's
    /// confidence to their noisy-or.
    fn combine(&mut self, p: PredId, rules: &[RuleId]) {
        let program = self.program;
        let mut lines: Vec<(u32, Line)> = Vec::new();
        for (index, fact) in program.facts().iter().enumerate() {
            if fact.predicate != p {
                continue;
            }
            let relation = &self.relations[p.0 as usize];
            if let Some(row) = relation.find(&fact.tuple, hash_row(&fact.tuple)) {
                let sources = self.lineage.of_input(program, index);
                lines.push((
                    row,
                    Line::new(
                        LineOrigin::Input(index),
                        program.fact_confidence(fact),
                        sources,
                    ),
                ));
            }
        }
        let all_end: Vec<usize> = self.relations.iter().map(Relation::len).collect();
        let recent: Vec<Vec<u32>> = vec![Vec::new(); self.relations.len()];
        let base_bytes = self.heap_bytes_if_limited();
        let mut watch = Watch::new(&self.limits, self.started, base_bytes, self.n_facts());
        for &rule_id in rules {
            let rule = program.rule(rule_id);
            let sizes = |q: PredId| self.relations[q.0 as usize].len();
            let mut plan = plan_rule(rule, None, &|_| false, &sizes);
            let relations = &mut self.relations;
            plan.for_each_indexed(&mut |q, columns, kind| {
                ensure_index(relations, q, columns, kind, true)
            });
            let mut buffer = ToAdd::default();
            // Every premise of each line, not only those a derivation stores.
            let every: Vec<usize> = (0..self.n_premises[rule_id.0 as usize]).collect();
            let mut exec = Exec {
                relations: &self.relations,
                recent: &recent,
                old_end: &all_end,
                all_end: &all_end,
                interner: &mut self.interner,
                to_add: &mut buffer,
                head: &rule.head.args,
                head_predicate: p,
                premise_predicates: &self.premise_predicates[rule_id.0 as usize],
                stored: &every,
                rule: rule_id.0,
                strength: rule.strength,
                record: true,
                keep_all: true,
                head_checked: false,
                regs: vec![ValueId(u32::MAX); rule.variables.len()],
                premises: vec![0; self.n_premises[rule_id.0 as usize]],
                tuple: Vec::with_capacity(rule.head.args.len()),
                failures: 0,
                found: Vec::new(),
                values: Vec::new(),
                order: Vec::new(),
                watch: &mut watch,
                outer: None,
                factors: vec![1.0; n_factors(rule)],
                defeaters: &self.defeaters,
                depth: 0,
                weakest: 1.0,
            };
            exec.run(&plan.steps, &mut Sink::Head);
            if let Some(limit) = watch.stopped {
                self.stop(limit, Some((rule_id, buffer.len as u64)));
                return;
            }
            let n = self.n_premises[rule_id.0 as usize];
            let arity = rule.head.args.len();
            for i in 0..buffer.len {
                let tuple = &buffer.tuples[i * arity..(i + 1) * arity];
                let Some(row) = self.relations[p.0 as usize].find(tuple, hash_row(tuple)) else {
                    continue;
                };
                let premises = buffer.premises[i * n..(i + 1) * n].to_vec();
                let mut sources = Vec::new();
                for (atom, &premise_row) in rule.positive_atoms().zip(&premises) {
                    let fact = FactId {
                        predicate: atom.predicate,
                        row: premise_row,
                    };
                    let (relations, layouts) = (&self.relations, &self.layouts);
                    let derivation = |f: FactId| match derivation_in(relations, layouts, program, f)
                    {
                        Derivation::Rule { rule, premises } => (rule.0, premises),
                        Derivation::Input(index) => (INPUT_BIT | index as u32, Vec::new()),
                        // Combining forces recording, so every fact has its record.
                        Derivation::Unrecorded => (INPUT_BIT | u32::MAX >> 1, Vec::new()),
                    };
                    let s = self.lineage.of_fact(program, fact, &derivation);
                    sources = super::combine::union(&sources, &s);
                }
                let origin = LineOrigin::Rule {
                    rule: rule_id,
                    premises,
                };
                lines.push((row, Line::new(origin, buffer.confidence(i), sources)));
            }
        }
        // Group by row; within a row, order by a key made of values only (not row
        // numbers, which depend on evaluation order), so that equal lines are weighed in
        // the same order whatever the input order or strategy.
        let interner = &self.interner;
        let relations = &self.relations;
        let key = |line: &Line| -> String {
            match &line.origin {
                LineOrigin::Input(index) => {
                    format!("0\u{1}{}", program.fact_source(&program.facts()[*index]))
                }
                LineOrigin::Rule { rule, premises } => {
                    let mut key = format!("1\u{1}{:010}", rule.0);
                    for (atom, &row) in program.rule(*rule).positive_atoms().zip(premises) {
                        key.push('\u{1}');
                        key.push_str(&atom.predicate.0.to_string());
                        for v in relations[atom.predicate.0 as usize].row(row as usize) {
                            key.push('\u{2}');
                            key.push_str(&interner.value(*v).to_string());
                        }
                    }
                    key
                }
            }
        };
        let mut keyed: Vec<(u32, String, Line)> = lines
            .into_iter()
            .map(|(row, line)| (row, key(&line), line))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let lines: Vec<(u32, Line)> = keyed
            .into_iter()
            .map(|(row, _, line)| (row, line))
            .collect();
        let mut start = 0;
        while start < lines.len() {
            let row = lines[start].0;
            let end = start + lines[start..].iter().take_while(|(r, _)| *r == row).count();
            let mut group: Vec<Line> = lines[start..end].iter().map(|(_, l)| l.clone()).collect();
            let confidence = noisy_or(&mut group);
            let fact = FactId { predicate: p, row };
            // Gathered and sorted once: merging line by line was quadratic in the lines.
            let mut sources: Vec<u32> = group
                .iter()
                .filter(|l| l.counted)
                .flat_map(|l| l.sources.iter().copied())
                .collect();
            sources.sort_unstable();
            sources.dedup();
            self.lineage.set(fact, sources);
            self.relations[p.0 as usize].set_confidence(row as usize, confidence);
            self.lines.insert(fact, group);
            start = end;
        }
    }

    /// The bytes the relations hold, when a memory limit needs them (0 otherwise).
    /// Facts in all relations.
    fn n_facts(&self) -> usize {
        self.relations.iter().map(Relation::len).sum()
    }

    fn heap_bytes_if_limited(&self) -> usize {
        if self.limits.max_memory.is_some() {
            self.relations.iter().map(Relation::heap_bytes).sum()
        } else {
            0
        }
    }

    /// Records that `limit` stopped evaluation inside an iteration, while `growing`
    /// (a rule and the candidates it had found) ran.
    fn stop(&mut self, limit: Limit, growing: Option<(RuleId, u64)>) {
        self.stopped = Some(LimitExceeded {
            limit,
            iterations: self.iterations,
            facts: self.relations.iter().map(Relation::len).sum(),
            growing,
            within_rule: true,
        });
    }

    /// Checks the limits after an iteration; records why evaluation must stop.
    fn check_limits(&mut self) -> bool {
        let facts: usize = self.relations.iter().map(Relation::len).sum();
        let limit = if self.limits.max_facts.is_some_and(|max| facts > max) {
            self.limits.max_facts.map(Limit::Facts)
        } else if self
            .limits
            .timeout
            .is_some_and(|t| self.started.elapsed() > t)
        {
            self.limits.timeout.map(Limit::Time)
        } else if let Some(max) = self.limits.max_memory {
            let bytes: usize = self
                .relations
                .iter()
                .map(Relation::heap_bytes)
                .sum::<usize>()
                + self.interner.heap_bytes();
            (bytes > max).then_some(Limit::Memory(max))
        } else {
            None
        };
        let Some(limit) = limit else {
            return false;
        };
        let growing = self
            .growth
            .iter()
            .map(|(&rule, &count)| (rule, count))
            .max_by_key(|&(rule, count)| (count, std::cmp::Reverse(rule)));
        self.stopped = Some(LimitExceeded {
            limit,
            iterations: self.iterations,
            facts,
            growing,
            within_rule: false,
        });
        true
    }

    fn plans(
        &self,
        stratum: &Stratum,
        in_stratum: &[bool],
        first: bool,
        recent: &[Vec<u32>],
    ) -> Vec<(RuleId, Plan)> {
        let sizes = |p: PredId| self.relations[p.0 as usize].len();
        let recursive = |p: PredId| in_stratum[p.0 as usize];
        let mut plans = Vec::new();
        for &rule_id in &stratum.rules {
            let rule = self.program.rule(rule_id);
            if self.options.strategy == Strategy::Naive {
                plans.push((rule_id, plan_rule(rule, None, &|_| false, &sizes)));
                continue;
            }
            let recursive_atoms: Vec<usize> = rule
                .positive_atoms()
                .enumerate()
                .filter(|(_, a)| recursive(a.predicate))
                .map(|(i, _)| i)
                .collect();
            if recursive_atoms.is_empty() {
                if first {
                    plans.push((rule_id, plan_rule(rule, None, &recursive, &sizes)));
                }
                continue;
            }
            let atoms: Vec<PredId> = rule.positive_atoms().map(|a| a.predicate).collect();
            for d in recursive_atoms {
                if !recent[atoms[d].0 as usize].is_empty() {
                    plans.push((rule_id, plan_rule(rule, Some(d), &recursive, &sizes)));
                }
            }
        }
        plans
    }

    fn run_stratum(&mut self, stratum: &Stratum) {
        let started = Instant::now();
        let mut cost = StratumCost::default();
        self.run_iterations(stratum, &mut cost);
        let clock = Instant::now();
        for p in &stratum.predicates {
            self.relations[p.0 as usize].freeze_indexes();
        }
        cost.indexes += clock.elapsed();
        cost.total = started.elapsed();
        if let Some(slot) = self
            .profile
            .strata
            .get_mut(self.stratum_number.wrapping_sub(1))
        {
            *slot = cost;
        }
    }

    /// The iterations of [`State::run_stratum`], until nothing changes or a limit
    /// stops evaluation, timed into `cost`.
    fn run_iterations(&mut self, stratum: &Stratum, cost: &mut StratumCost) {
        let n = self.relations.len();
        let mut in_stratum = vec![false; n];
        for p in &stratum.predicates {
            in_stratum[p.0 as usize] = true;
        }
        // Rows present on entry (input facts of these relations) are the first delta.
        let mut recent: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut old_end = vec![0usize; n];
        for p in &stratum.predicates {
            let len = self.relations[p.0 as usize].len();
            recent[p.0 as usize] = (0..len as u32).collect();
        }
        for (i, relation) in self.relations.iter().enumerate() {
            if !in_stratum[i] {
                old_end[i] = relation.len();
            }
        }
        if self.options.record_derivations {
            self.narrow_premises(stratum, &in_stratum);
        }
        let adoptable = self.adoptable(stratum);
        let mut first = true;
        loop {
            self.iterations += 1;
            if !first {
                self.report_progress();
            }
            let all_end: Vec<usize> = self.relations.iter().map(Relation::len).collect();
            cost.iterations += 1;
            let mut plans = self.plans(stratum, &in_stratum, first, &recent);
            let clock = Instant::now();
            for (_, plan) in &mut plans {
                let relations = &mut self.relations;
                plan.for_each_indexed(&mut |p, columns, kind| {
                    ensure_index(relations, p, columns, kind, !in_stratum[p.0 as usize])
                });
            }
            cost.indexes += clock.elapsed();
            let clock = Instant::now();
            let derived = self.derive(&plans, &recent, &old_end, &all_end);
            cost.plans += clock.elapsed();
            let Some(mut to_add) = derived else {
                return;
            };
            let clock = Instant::now();
            // Merge in predicate order so row numbers do not depend on hashing.
            let mut heads: Vec<PredId> = to_add.keys().copied().collect();
            heads.sort();
            let mut changed = false;
            for p in &heads {
                old_end[p.0 as usize] = all_end[p.0 as usize];
            }
            for p in &stratum.predicates {
                old_end[p.0 as usize] = all_end[p.0 as usize];
                recent[p.0 as usize].clear();
            }
            self.growth.clear();
            let mut merges = Vec::new();
            for p in heads {
                let Some(parts) = to_add.remove(&p) else {
                    continue;
                };
                if parts.iter().all(ToAdd::is_empty) {
                    continue;
                }
                if adoptable.contains(&p) {
                    // The stratum's only pass: nothing reads its delta.
                    let mut parts = parts.into_iter();
                    let mut buffer = parts.next().unwrap_or_default();
                    for part in parts {
                        buffer.append(part);
                    }
                    self.adopt(p, buffer);
                    changed = true;
                    continue;
                }
                merges.push((p, parts));
            }
            let record = self.options.record_derivations;
            let layouts = &self.layouts;
            let stored = |rule: u32| {
                if record {
                    layouts[rule as usize].stored.len()
                } else {
                    0
                }
            };
            let threads = self.options.threads.max(1);
            for (p, merged) in merge_all(&mut self.relations, merges, &stored, threads) {
                for (rule, new) in merged.growth {
                    *self.growth.entry(RuleId(rule)).or_default() += new;
                }
                changed |= !merged.rows.is_empty();
                recent[p.0 as usize] = merged.rows;
            }
            cost.merge += clock.elapsed();
            for (rule, &new) in &self.growth {
                self.profile.rules[rule.0 as usize].new += new;
            }
            first = false;
            if self.check_limits() {
                return;
            }
            if !changed || (!stratum.recursive && self.options.strategy == Strategy::SemiNaive) {
                break;
            }
        }
    }

    /// Runs `plans` over the relations as they are, on `options.threads` threads;
    /// returns each head relation's candidates, in parts to be merged in order, or
    /// `None` once a limit stopped evaluation.
    ///
    /// With several threads the plans' work is split into [`Unit`]s, each buffering its
    /// own candidates and interning new values into its own [`Overlay`]. The parts are
    /// then taken in unit order, their values interned in that order: the candidates,
    /// their order and every value's id are those one thread running the units in turn
    /// finds, since a unit reads only the relations as the iteration found them. So
    /// the model does not depend on the number of threads.
    fn derive(
        &mut self,
        plans: &[(RuleId, Plan)],
        recent: &[Vec<u32>],
        old_end: &[usize],
        all_end: &[usize],
    ) -> Option<FxHashMap<PredId, Vec<ToAdd>>> {
        let round = Round {
            program: self.program,
            relations: &self.relations,
            recent,
            old_end,
            all_end,
            premise_predicates: &self.premise_predicates,
            layouts: &self.layouts,
            n_premises: &self.n_premises,
            defeaters: &self.defeaters,
            record: self.options.record_derivations,
        };
        let base_bytes = if self.limits.max_memory.is_some() {
            self.relations.iter().map(Relation::heap_bytes).sum()
        } else {
            0
        };
        let base_facts = self.relations.iter().map(Relation::len).sum();
        let mut watch = Watch::new(&self.limits, self.started, base_bytes, base_facts);
        let mut to_add: FxHashMap<PredId, Vec<ToAdd>> = FxHashMap::default();
        let threads = self.options.threads.max(1);
        let units = if threads > 1 {
            split(&round, plans, threads)
        } else {
            Vec::new()
        };
        let mut stopped = None;
        if units.len() > 1 {
            let (results, limit) =
                run_units(&round, plans, &units, &self.interner, threads, &watch);
            for (unit, result) in units.iter().zip(results) {
                let Some(mut result) = result else {
                    continue;
                };
                if !result.values.is_empty() {
                    let ids = self.interner.absorb(result.values);
                    for value in &mut result.to_add.tuples {
                        if let Some(local) = value.0.checked_sub(OVERLAY_BASE) {
                            *value = ids[local as usize];
                        }
                    }
                }
                let rule_id = plans[unit.plan].0;
                let rule_cost = &mut self.profile.rules[rule_id.0 as usize];
                rule_cost.time += result.time;
                rule_cost.candidates += result.to_add.len as u64;
                if result.failures > 0 {
                    *self.failures.entry(rule_id).or_default() += result.failures;
                }
                let head = self.program.rule(rule_id).head.predicate;
                to_add.entry(head).or_default().push(result.to_add);
            }
            stopped = limit.map(|(limit, index)| (limit, plans[units[index].plan].0));
        } else {
            for (rule_id, plan) in plans {
                let head = self.program.rule(*rule_id).head.predicate;
                let parts = to_add.entry(head).or_default();
                if parts.is_empty() {
                    parts.push(ToAdd::default());
                }
                let before = parts[0].len;
                let clock = Instant::now();
                let mut exec = round.exec(*rule_id, &mut self.interner, &mut parts[0], &mut watch);
                exec.run(&plan.steps, &mut Sink::Head);
                let failures = exec.failures;
                let rule_cost = &mut self.profile.rules[rule_id.0 as usize];
                rule_cost.time += clock.elapsed();
                rule_cost.candidates += (parts[0].len - before) as u64;
                if failures > 0 {
                    *self.failures.entry(*rule_id).or_default() += failures;
                }
                if let Some(limit) = watch.stopped {
                    stopped = Some((limit, *rule_id));
                    break;
                }
            }
        }
        if let Some((limit, rule_id)) = stopped {
            let head = self.program.rule(rule_id).head.predicate;
            let candidates = to_add
                .get(&head)
                .map_or(0, |parts| parts.iter().map(|part| part.len as u64).sum());
            self.stop(limit, Some((rule_id, candidates)));
            return None;
        }
        Some(to_add)
    }

    /// The relations of `stratum` whose candidates can become their rows as they are:
    /// the stratum runs one pass (it is not recursive, evaluation is semi-naive), the
    /// relation starts empty, and one rule derives it, each instance a different fact
    /// ([`derives_distinct`]).
    fn adoptable(&self, stratum: &Stratum) -> Vec<PredId> {
        if stratum.recursive || self.options.strategy != Strategy::SemiNaive {
            return Vec::new();
        }
        stratum
            .predicates
            .iter()
            .copied()
            .filter(|&p| {
                let mut rules = stratum
                    .rules
                    .iter()
                    .map(|&id| self.program.rule(id))
                    .filter(|rule| rule.head.predicate == p);
                let only = match (rules.next(), rules.next()) {
                    (Some(rule), None) => derives_distinct(rule),
                    _ => false,
                };
                only && self.relations[p.0 as usize].can_adopt()
            })
            .collect()
    }

    /// Makes the candidates of `buffer` the rows of relation `p` (see
    /// [`State::adoptable`]).
    fn adopt(&mut self, p: PredId, buffer: ToAdd) {
        let [(rule, count)] = buffer.rules[..] else {
            unreachable!("one rule derives an adoptable relation");
        };
        let stored = if self.options.record_derivations {
            self.layouts[rule as usize].stored.len()
        } else {
            0
        };
        self.relations[p.0 as usize].adopt(
            buffer.tuples,
            count as usize,
            buffer.confidence,
            rule,
            buffer.premises,
            stored,
        );
        *self.growth.entry(RuleId(rule)).or_default() += u64::from(count);
    }

    /// Gives 16-bit premise slots to each relation of `stratum` whose rules store only
    /// rows of finished relations (of earlier strata) of at most 65,536 rows.
    fn narrow_premises(&mut self, stratum: &Stratum, in_stratum: &[bool]) {
        for p in &stratum.predicates {
            let small = stratum
                .rules
                .iter()
                .map(|&id| self.program.rule(id))
                .filter(|rule| rule.head.predicate == *p)
                .all(|rule| {
                    let atoms = &self.premise_predicates[rule.id.0 as usize];
                    self.layouts[rule.id.0 as usize].stored.iter().all(|&i| {
                        let q = atoms[i].0 as usize;
                        !in_stratum[q] && self.relations[q].len() <= 1 << 16
                    })
                });
            if small {
                self.relations[p.0 as usize].narrow_premises();
            }
        }
    }
}

/// Merges candidates into `relation`, part after part; returns the rows that are new or
/// better, and the number of new rows per rule (in the order first met). `stored` gives
/// the premises each rule's candidates carry.
fn merge(relation: &mut Relation, parts: &[ToAdd], stored: &dyn Fn(u32) -> usize) -> Merge {
    let arity = relation.arity;
    let first_new = relation.len() as u32;
    let mut improved = Vec::new();
    let mut growth: Vec<(u32, u64)> = Vec::new();
    for buffer in parts {
        let mut premise_at = 0usize;
        let mut i = 0usize;
        for &(rule, run) in &buffer.rules {
            let count = stored(rule);
            let mut new = 0u64;
            for _ in 0..run {
                let tuple = &buffer.tuples[i * arity..(i + 1) * arity];
                let premises = &buffer.premises[premise_at..premise_at + count];
                premise_at += count;
                let merged = relation.insert(
                    tuple,
                    relation.hash(tuple),
                    buffer.confidence(i),
                    rule,
                    premises,
                );
                match merged {
                    Merged::Improved(row) if row < first_new => improved.push(row),
                    Merged::New => new += 1,
                    _ => {}
                }
                i += 1;
            }
            if new > 0 {
                match growth.iter_mut().find(|(r, _)| *r == rule) {
                    Some((_, n)) => *n += new,
                    None => growth.push((rule, new)),
                }
            }
        }
    }
    improved.sort_unstable();
    improved.dedup();
    improved.extend(first_new..relation.len() as u32);
    Merge {
        rows: improved,
        growth,
    }
}

/// What [`merge`] did to one relation.
struct Merge {
    /// The rows that are new or better: the relation's next delta.
    rows: Vec<u32>,
    /// New rows per rule.
    growth: Vec<(u32, u64)>,
}

/// Candidates an iteration must have in all before its relations are merged on several
/// threads, one relation per thread at a time.
const MIN_PARALLEL_MERGE: usize = 1 << 16;

/// One relation of a lane of [`merge_all`]: its position in the merges, the relation,
/// and its candidates.
type MergeJob<'r, 'c> = (usize, &'r mut Relation, &'c [ToAdd]);

/// Merges each relation's candidates (`merges`, by relation, in ascending order), on up
/// to `threads` threads: the relations are shared out in lanes balanced by candidates,
/// largest first. A relation's rows do not depend on the others', so neither do they on
/// the lanes. Returns each relation's [`Merge`], in the order given.
fn merge_all(
    relations: &mut [Relation],
    merges: Vec<(PredId, Vec<ToAdd>)>,
    stored: &(dyn Fn(u32) -> usize + Sync),
    threads: usize,
) -> Vec<(PredId, Merge)> {
    let size = |parts: &[ToAdd]| parts.iter().map(|part| part.len).sum::<usize>();
    let total: usize = merges.iter().map(|(_, parts)| size(parts)).sum();
    if threads <= 1 || merges.len() < 2 || total < MIN_PARALLEL_MERGE {
        return merges
            .into_iter()
            .map(|(p, parts)| (p, merge(&mut relations[p.0 as usize], &parts, stored)))
            .collect();
    }
    // Borrow each merged relation on its own, in the order of `merges`.
    let mut wanted: Vec<Option<&mut Relation>> = Vec::with_capacity(merges.len());
    let mut rest = relations;
    let mut offset = 0;
    for (p, _) in &merges {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(p.0 as usize - offset);
        let (relation, tail) = tail.split_first_mut().expect("a merged relation exists");
        wanted.push(Some(relation));
        rest = tail;
        offset = p.0 as usize + 1;
    }
    let n_lanes = threads.min(merges.len());
    let mut order: Vec<usize> = (0..merges.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(size(&merges[i].1)), i));
    let mut lanes: Vec<(usize, Vec<MergeJob<'_, '_>>)> =
        (0..n_lanes).map(|_| (0, Vec::new())).collect();
    for i in order {
        let lane = (0..n_lanes)
            .min_by_key(|&l| (lanes[l].0, l))
            .expect("at least one lane");
        lanes[lane].0 += size(&merges[i].1);
        let relation = wanted[i].take().expect("each relation goes to one lane");
        lanes[lane].1.push((i, relation, &merges[i].1));
    }
    let mut done: Vec<Option<Merge>> = merges.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|(_, lane)| {
                scope.spawn(move || {
                    lane.into_iter()
                        .map(|(i, relation, parts)| (i, merge(relation, parts, stored)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(merged) => {
                    for (i, merge) in merged {
                        done[i] = Some(merge);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    merges
        .iter()
        .zip(done)
        .map(|((p, _), merge)| (*p, merge.expect("every relation was merged")))
        .collect()
}

/// The slot of the index of `p`'s relation on `columns` of the given kind, created if
/// needed and brought up to date. A filtered index reads the values its semijoin lets
/// pass from the other relation once, when it is created: that relation belongs to an
/// earlier stratum and no longer changes.
fn ensure_index(
    relations: &mut [Relation],
    p: PredId,
    columns: &[usize],
    kind: IndexKind,
    finished: bool,
) -> usize {
    let relation = p.0 as usize;
    let slot = match kind {
        IndexKind::Hash if finished => return relations[relation].ensure_frozen_index(columns),
        IndexKind::Hash => relations[relation].ensure_index(columns),
        IndexKind::SortedBy(by) => return relations[relation].ensure_any_index(columns, Some(by)),
        IndexKind::Filtered(semijoin) => {
            match relations[relation].filtered_index(columns, semijoin) {
                Some(slot) => slot,
                None => {
                    let bits = relations[semijoin.of.0 as usize].column_bits(semijoin.of_column);
                    relations[relation].add_filtered_index(columns, semijoin, bits)
                }
            }
        }
    };
    if finished {
        relations[relation].freeze_index(slot);
    }
    slot
}
