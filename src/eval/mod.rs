//! Evaluation: from a checked program to the model of every fact it derives, each with
//! its confidence and (unless switched off) its best derivation.
//!
//! Semantics: the least fixpoint of the rules, stratum by stratum, with confidences in
//! the max-product semiring: a derivation's confidence is the rule's strength times the
//! product of its positive premises' confidences, and a fact keeps its best derivation.
//! Recording derivations never changes which facts are derived or their confidences.

mod combine;
mod exec;
mod expr;
mod intersect;
mod plan;
mod profile;
mod provenance;
mod relation;
mod seminaive;

use std::cmp::Ordering;

use crate::program::{PredId, Program, RuleId};
use crate::value::{Interner, ValueId};

pub use combine::{Line, LineOrigin};
pub(crate) use exec::negation_factor;
pub(crate) use expr::{aggregate, compare, eval_expr};
pub(crate) use plan::literal_vars;
pub use profile::{Profile, RuleCost, StratumCost};
use provenance::{Layout, Source};
use relation::{hash_row, Recorded, Relation};

/// How the fixpoint is computed. Both give the same model; naive exists to test that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Each iteration joins only with what changed in the previous one.
    #[default]
    SemiNaive,
    /// Each iteration re-evaluates every rule on everything.
    Naive,
}

/// Settings of one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalOptions {
    /// Record each fact's best derivation, for explanations (on by default).
    pub record_derivations: bool,
    /// Fixpoint strategy.
    pub strategy: Strategy,
    /// Threads the rules run on, the calling thread among them (0 counts as 1). The
    /// model is the same for every number: facts, confidences, derivations, row order
    /// and value ids.
    pub threads: usize,
}

impl Default for EvalOptions {
    /// Derivations recorded, semi-naive, on every core.
    fn default() -> EvalOptions {
        EvalOptions {
            record_derivations: true,
            strategy: Strategy::SemiNaive,
            threads: available_threads(),
        }
    }
}

/// The number of threads that run at once on this machine (1 if it cannot be told).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// A fact of the model: a relation and a row number in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FactId {
    /// The relation.
    pub predicate: PredId,
    /// The row within the relation's tuples (stable for the model's lifetime).
    pub row: u32,
}

/// How a fact of the model was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Derivation {
    /// An input fact: its index in [`Program::facts`].
    Input(usize),
    /// Derived by a rule from these premises, one per positive atom of the rule body.
    Rule {
        /// The rule.
        rule: RuleId,
        /// Row of each premise, in the order of the rule's positive atoms.
        premises: Vec<u32>,
    },
    /// Derived, but derivations were not recorded.
    Unrecorded,
}

/// Rule instances whose arithmetic or aggregate had no value (division by zero,
/// overflow, mixing kinds) and so derived nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArithmeticFailure {
    /// The rule.
    pub rule: RuleId,
    /// How many instances.
    pub count: u64,
}

/// Everything derived from a program.
#[derive(Clone, Debug)]
pub struct Model {
    relations: Vec<Relation>,
    interner: Interner,
    failures: Vec<ArithmeticFailure>,
    iterations: usize,
    recorded: bool,
    /// The lines of each fact of a `@combine(noisy_or)` relation.
    lines: rustc_hash::FxHashMap<FactId, Vec<Line>>,
    /// Source texts by id, for [`Line::sources`].
    source_names: Vec<String>,
    /// Per rule, which premises its derivations store.
    layouts: Vec<Layout>,
    /// Rank of each value in output order, and the values by rank.
    ranks: std::sync::OnceLock<(Vec<u32>, Vec<ValueId>)>,
    /// For a model that recorded no derivations: those found again afterwards.
    found: rustc_hash::FxHashMap<FactId, Derivation>,
    /// Where evaluation spent its time.
    profile: Profile,
}

/// Bounds on one evaluation, for programs that do not terminate on their own (arithmetic
/// that keeps producing new values). Checked after every iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Stop once the model holds more facts than this.
    pub max_facts: Option<usize>,
    /// Stop once evaluation has run this long.
    pub timeout: Option<std::time::Duration>,
    /// Stop once fact storage, indexes, derivation records and values (text included)
    /// take more bytes than this.
    pub max_memory: Option<usize>,
}

/// Which limit stopped an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_facts`].
    Facts(usize),
    /// [`Limits::timeout`].
    Time(std::time::Duration),
    /// [`Limits::max_memory`], in bytes.
    Memory(usize),
}

/// An evaluation stopped by a limit. There is no model: a partial one would look complete.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("evaluation stopped by a limit ({limit:?}) after {iterations} iterations")]
pub struct LimitExceeded {
    /// The limit reached.
    pub limit: Limit,
    /// Iterations run, over all strata.
    pub iterations: usize,
    /// Facts in the model when it stopped.
    pub facts: usize,
    /// The rule that derived the most new facts in the last iteration, and how many:
    /// the rule that is growing. When the limit was reached inside an iteration, the
    /// rule then running and the candidates it had found.
    pub growing: Option<(RuleId, u64)>,
    /// Whether the limit was reached while a rule ran (time or memory, checked every
    /// few thousand rows) rather than between iterations.
    pub within_rule: bool,
}

/// Evaluates a checked program to its model.
///
/// A rule's join recurses once per body literal, so the stack it needs grows with the
/// longest rule body (a few hundred bytes a literal): the `ascribe` command runs on a
/// 1 GiB stack, and a caller evaluating rules of thousands of atoms should too.
pub fn evaluate(program: &Program, options: &EvalOptions) -> Model {
    evaluate_limited(program, options, &Limits::default())
        .expect("an evaluation without limits is never stopped")
}

/// Evaluates a checked program to its model, or stops at the first limit reached.
pub fn evaluate_limited(
    program: &Program,
    options: &EvalOptions,
    limits: &Limits,
) -> Result<Model, LimitExceeded> {
    evaluate_observed(program, options, limits, &crate::progress::Silent)
}

/// [`evaluate_limited`], telling `progress` as each stratum starts and after each
/// iteration.
pub fn evaluate_observed<'p>(
    program: &'p Program,
    options: &EvalOptions,
    limits: &Limits,
    progress: &'p dyn crate::progress::Progress,
) -> Result<Model, LimitExceeded> {
    let mut state = seminaive::State::new(program, *options);
    state.limits = *limits;
    state.progress = progress;
    state.run();
    if let Some(stopped) = state.stopped.take() {
        return Err(stopped);
    }
    let mut failures: Vec<ArithmeticFailure> = state
        .failures
        .iter()
        .map(|(&rule, &count)| ArithmeticFailure { rule, count })
        .collect();
    failures.sort_by_key(|f| f.rule);
    for relation in &mut state.relations {
        relation.drop_indexes();
    }
    Ok(Model {
        recorded: state.options.record_derivations,
        lines: std::mem::take(&mut state.lines),
        source_names: std::mem::take(&mut state.lineage.names),
        relations: state.relations,
        interner: state.interner,
        failures,
        iterations: state.iterations,
        layouts: state.layouts,
        ranks: std::sync::OnceLock::new(),
        found: rustc_hash::FxHashMap::default(),
        profile: std::mem::take(&mut state.profile),
    })
}

impl Model {
    /// The model of `program` made of `facts` (relation, values, confidence), computed by
    /// another engine: no derivations recorded, no arithmetic failures counted. A tuple
    /// given more than once keeps its highest confidence. Values are ids of `interner`,
    /// which holds every value of the program's and any computed since.
    pub fn from_facts(
        program: &Program,
        interner: Interner,
        facts: impl IntoIterator<Item = (PredId, Vec<ValueId>, f64)>,
        iterations: usize,
    ) -> Model {
        let mut relations: Vec<Relation> = program
            .predicates()
            .iter()
            .map(|p| Relation::new(p.arity, Vec::new(), 0, false, false))
            .collect();
        for (predicate, tuple, confidence) in facts {
            let relation = &mut relations[predicate.0 as usize];
            relation.insert(&tuple, hash_row(&tuple), confidence, 0, &[]);
        }
        Model {
            relations,
            interner,
            failures: Vec::new(),
            iterations,
            recorded: false,
            lines: rustc_hash::FxHashMap::default(),
            source_names: Vec::new(),
            layouts: vec![Layout::default(); program.rules().len()],
            ranks: std::sync::OnceLock::new(),
            found: rustc_hash::FxHashMap::default(),
            profile: Profile::default(),
        }
    }

    /// This model with derivations found after evaluation (see
    /// [`crate::explain::reconstruct`]) for facts that recorded none: explanations of
    /// those facts then show them.
    pub fn with_derivations(mut self, found: rustc_hash::FxHashMap<FactId, Derivation>) -> Model {
        self.found.extend(found);
        self
    }
}

/// How a fact was obtained, read from the relations' records: stored premises as
/// recorded, the others found again by the values their rule's layout gives.
pub(crate) fn derivation_in(
    relations: &[Relation],
    layouts: &[Layout],
    program: &Program,
    fact: FactId,
) -> Derivation {
    let relation = &relations[fact.predicate.0 as usize];
    let recorded = relation.recorded(fact.row as usize, |rule| {
        layouts[rule as usize].stored.len()
    });
    match recorded {
        None => Derivation::Unrecorded,
        Some(Recorded::Input(index)) => Derivation::Input(index as usize),
        Some(Recorded::Rule(rule, stored)) => {
            let id = RuleId(rule);
            let layout = &layouts[rule as usize];
            let atoms: Vec<PredId> = program
                .rule(id)
                .positive_atoms()
                .map(|a| a.predicate)
                .collect();
            let mut premises = vec![0; atoms.len()];
            for (&position, &row) in layout.stored.iter().zip(&stored) {
                premises[position] = row;
            }
            let head = relation.row(fact.row as usize);
            let mut tuple = Vec::new();
            for (position, sources) in &layout.rebuilt {
                tuple.clear();
                tuple.extend(sources.iter().map(|source| match *source {
                    Source::Const(value) => value,
                    Source::Head(column) => head[column],
                    Source::Stored(k, column) => {
                        let predicate = atoms[layout.stored[k]];
                        relations[predicate.0 as usize].row(stored[k] as usize)[column]
                    }
                }));
                premises[*position] = relations[atoms[*position].0 as usize]
                    .find(&tuple, hash_row(&tuple))
                    .expect("a premise implied by a recorded derivation is in the model");
            }
            Derivation::Rule { rule: id, premises }
        }
    }
}

impl Model {
    /// All values, including those computed by arithmetic during evaluation.
    pub fn interner(&self) -> &Interner {
        &self.interner
    }

    /// Number of facts of a relation.
    pub fn len(&self, predicate: PredId) -> usize {
        self.relations[predicate.0 as usize].len()
    }

    /// Whether a relation has no facts.
    pub fn is_empty(&self, predicate: PredId) -> bool {
        self.len(predicate) == 0
    }

    /// Total number of facts in all relations.
    pub fn total_facts(&self) -> usize {
        self.relations.iter().map(Relation::len).sum()
    }

    /// The values of a fact.
    pub fn tuple(&self, fact: FactId) -> &[ValueId] {
        self.relations[fact.predicate.0 as usize].row(fact.row as usize)
    }

    /// The confidence of a fact.
    pub fn confidence(&self, fact: FactId) -> f64 {
        self.relations[fact.predicate.0 as usize].confidence(fact.row as usize)
    }

    /// The fact with exactly these values, if derived.
    pub fn find(&self, predicate: PredId, tuple: &[ValueId]) -> Option<FactId> {
        let relation = self.relations.get(predicate.0 as usize)?;
        if relation.arity != tuple.len() {
            return None;
        }
        relation
            .find(tuple, hash_row(tuple))
            .map(|row| FactId { predicate, row })
    }

    /// How a fact was obtained.
    pub fn derivation(&self, program: &Program, fact: FactId) -> Derivation {
        match derivation_in(&self.relations, &self.layouts, program, fact) {
            Derivation::Unrecorded => self
                .found
                .get(&fact)
                .cloned()
                .unwrap_or(Derivation::Unrecorded),
            recorded => recorded,
        }
    }

    /// The rank of every value in [`Value::sort_cmp`](crate::value::Value::sort_cmp)
    /// order, computed once (on up to `threads` threads): sorting facts then compares
    /// integers.
    fn ranks(&self, threads: usize) -> &(Vec<u32>, Vec<ValueId>) {
        self.ranks.get_or_init(|| {
            let n = self.interner.len();
            let value = |id: u32| self.interner.value(ValueId(id));
            // Keys in the items: most comparisons read no value (a text's bytes are
            // elsewhere in memory).
            let keyed: Vec<(u64, u32)> =
                (0..n as u32).map(|id| (value(id).sort_key(), id)).collect();
            let compare = |&(ka, a): &(u64, u32), &(kb, b): &(u64, u32)| {
                // Ids break ties, so the ranks do not depend on how the sort was split.
                ka.cmp(&kb)
                    .then_with(|| value(a).sort_cmp(value(b)))
                    .then(a.cmp(&b))
            };
            let keyed = sort_items(keyed, threads, &compare);
            let mut ranks = vec![0u32; n];
            for (rank, &(_, id)) in keyed.iter().enumerate() {
                ranks[id as usize] = rank as u32;
            }
            (
                ranks,
                keyed.into_iter().map(|(_, id)| ValueId(id)).collect(),
            )
        })
    }

    /// Calls `f` with the values of each fact of a relation, sorted by value. Uses less
    /// memory than [`Model::sorted_facts`] for relations of two columns: it sorts the
    /// first values, then the second values of one first value at a time.
    pub fn for_each_sorted(&self, predicate: PredId, mut f: impl FnMut(&[ValueId])) {
        let relation = &self.relations[predicate.0 as usize];
        let Some(firsts) = relation.pair_firsts() else {
            for row in self.sorted_rows(predicate, 1) {
                f(relation.row(row as usize));
            }
            return;
        };
        let (ranks, by_rank) = self.ranks(1);
        let rank = |v: ValueId| ranks[v.0 as usize];
        let mut groups: Vec<(u32, u32)> = firsts
            .into_iter()
            .map(|(first, group)| (rank(first), group))
            .collect();
        groups.sort_unstable_by_key(|&(r, _)| r);
        let mut seconds: Vec<u32> = Vec::new();
        for (first, group) in groups {
            seconds.clear();
            relation.pair_group(group, |second| seconds.push(rank(second)));
            seconds.sort_unstable();
            for &second in &seconds {
                f(&[by_rank[first as usize], by_rank[second as usize]]);
            }
        }
    }

    /// The facts of a relation, sorted by value (column by column), for output.
    pub fn sorted_facts(&self, predicate: PredId) -> Vec<FactId> {
        self.sorted_rows(predicate, 1)
            .into_iter()
            .map(|row| FactId { predicate, row })
            .collect()
    }

    /// [`Model::sorted_facts`] sorted on up to `threads` threads, with the rank of each
    /// value of each fact (see [`SortedFacts`]). The order is the same for every
    /// `threads`: the facts of a relation are distinct tuples, so sorted by value they
    /// have exactly one order.
    pub fn sorted_facts_ranked(&self, predicate: PredId, threads: usize) -> SortedFacts {
        let relation = &self.relations[predicate.0 as usize];
        let (ranks, _) = self.ranks(threads);
        let rank = |row: u32, column: usize| ranks[relation.row(row as usize)[column].0 as usize];
        // Ranks of two columns packed in one word, the first in the high half.
        let two = |row: u32, column: usize| {
            let second = if column + 1 < relation.arity {
                rank(row, column + 1)
            } else {
                0
            };
            (u64::from(rank(row, column)) << 32) | u64::from(second)
        };
        let n = relation.len() as u32;
        let arity = relation.arity;
        let order = match arity {
            0 => Order::Narrow((0..n).map(|r| (0, r)).collect()),
            1 => {
                let keyed = (0..n).map(|r| (u64::from(rank(r, 0)), r)).collect();
                Order::Narrow(sort_items(keyed, threads, &|a, b| a.cmp(b)))
            }
            2 => {
                let keyed = (0..n).map(|r| (two(r, 0), r)).collect();
                Order::Narrow(sort_items(keyed, threads, &|a, b| a.cmp(b)))
            }
            3 => {
                let keyed = (0..n).map(|r| (two(r, 0), rank(r, 2), r)).collect();
                Order::Three(sort_items(keyed, threads, &|a, b| a.cmp(b)))
            }
            4 => {
                let keyed = (0..n).map(|r| (two(r, 0), two(r, 2), r)).collect();
                Order::Wide(sort_items(keyed, threads, &|a, b| a.cmp(b)))
            }
            _ => {
                let compare = |a: &u32, b: &u32| {
                    (0..arity)
                        .map(|c| rank(*a, c).cmp(&rank(*b, c)))
                        .find(|o| o.is_ne())
                        .unwrap_or(Ordering::Equal)
                };
                Order::Rows(sort_items((0..n).collect(), threads, &compare))
            }
        };
        SortedFacts {
            predicate,
            arity,
            order,
        }
    }

    /// The rank of every value (by value id) in output order, and the values by rank,
    /// computed once on up to `threads` threads.
    pub fn value_ranks(&self, threads: usize) -> (&[u32], &[ValueId]) {
        let (ranks, by_rank) = self.ranks(threads);
        (ranks, by_rank)
    }

    /// The rows of a relation, sorted by value (column by column), on up to `threads`
    /// threads.
    fn sorted_rows(&self, predicate: PredId, threads: usize) -> Vec<u32> {
        let sorted = self.sorted_facts_ranked(predicate, threads);
        (0..sorted.len()).map(|i| sorted.fact(i).row).collect()
    }

    /// Rules whose arithmetic had no value for some instances, sorted by rule.
    pub fn arithmetic_failures(&self) -> &[ArithmeticFailure] {
        &self.failures
    }

    /// Number of fixpoint iterations over all strata.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Where evaluation spent its time, per stratum and rule; empty for a model made
    /// by another engine ([`Model::from_facts`]).
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Whether derivations were recorded.
    pub fn recorded(&self) -> bool {
        self.recorded
    }

    /// The lines of evidence of a fact of a `@combine(noisy_or)` relation, most
    /// confident first; `None` for other facts.
    pub fn lines(&self, fact: FactId) -> Option<&[Line]> {
        self.lines.get(&fact).map(Vec::as_slice)
    }

    /// The text of a source id of [`Line::sources`].
    pub fn source_name(&self, id: u32) -> &str {
        &self.source_names[id as usize]
    }

    /// Approximate bytes of fact storage, indexes, derivation records and values.
    pub fn heap_bytes(&self) -> usize {
        self.relations
            .iter()
            .map(Relation::heap_bytes)
            .sum::<usize>()
            + self.interner.heap_bytes()
    }
}

/// Items fewer than this are sorted on one thread: below it, starting threads costs
/// more than it saves.
const PARALLEL_SORT_ITEMS: usize = 1 << 16;

/// The most parts [`sort_items`] cuts its items into.
const MAX_SORT_RUNS: usize = 8;

/// `items` in the order `compare` gives, which must be total over distinct items so
/// that the result does not depend on `threads`: on up to `threads` threads, in place.
fn sort_items<T: Copy + Send>(
    mut items: Vec<T>,
    threads: usize,
    compare: &(impl Fn(&T, &T) -> Ordering + Sync),
) -> Vec<T> {
    sort_in_place(&mut items, threads.min(MAX_SORT_RUNS), compare);
    items
}

/// Sorts `items` on up to `parts` threads: the median is put in its place with the
/// smaller items before it and the larger after (one pass over the items), then each
/// side is sorted on its share of the threads. No second copy of the items is made.
fn sort_in_place<T: Send>(
    items: &mut [T],
    parts: usize,
    compare: &(impl Fn(&T, &T) -> Ordering + Sync),
) {
    if parts <= 1 || items.len() < PARALLEL_SORT_ITEMS {
        items.sort_unstable_by(compare);
        return;
    }
    let mid = items.len() / 2;
    items.select_nth_unstable_by(mid, compare);
    let (low, high) = items.split_at_mut(mid);
    std::thread::scope(|scope| {
        scope.spawn(|| sort_in_place(low, parts / 2, compare));
        sort_in_place(&mut high[1..], parts - parts / 2, compare);
    });
}

/// The facts of one relation in output order, each with the ranks of its values (see
/// [`Model::value_ranks`]) where the sort kept them: for up to four columns.
pub struct SortedFacts {
    predicate: PredId,
    arity: usize,
    order: Order,
}

/// The sorted keys of [`SortedFacts`].
enum Order {
    /// Up to two columns: their ranks packed (the first in the high half), and the row.
    Narrow(Vec<(u64, u32)>),
    /// Four columns: two words of packed ranks, and the row.
    Wide(Vec<(u64, u64, u32)>),
    /// Three columns: the first two ranks packed, the third, and the row: 16 bytes a
    /// fact, where [`Order::Wide`] takes 24.
    Three(Vec<(u64, u32, u32)>),
    /// More columns: the rows only.
    Rows(Vec<u32>),
}

impl SortedFacts {
    /// Number of facts.
    pub fn len(&self) -> usize {
        match &self.order {
            Order::Narrow(keys) => keys.len(),
            Order::Wide(keys) => keys.len(),
            Order::Three(keys) => keys.len(),
            Order::Rows(rows) => rows.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th fact.
    #[inline]
    pub fn fact(&self, i: usize) -> FactId {
        let row = match &self.order {
            Order::Narrow(keys) => keys[i].1,
            Order::Wide(keys) => keys[i].2,
            Order::Three(keys) => keys[i].2,
            Order::Rows(rows) => rows[i],
        };
        FactId {
            predicate: self.predicate,
            row,
        }
    }

    /// The ranks of the values of the `i`-th fact, column by column, written into
    /// `ranks`; `None` for a relation of more than four columns.
    #[inline]
    pub fn ranks<'a>(&self, i: usize, ranks: &'a mut [u32; 4]) -> Option<&'a [u32]> {
        let halves = |word: u64| [(word >> 32) as u32, word as u32];
        match &self.order {
            Order::Narrow(keys) => {
                let [high, low] = halves(keys[i].0);
                // One column: the whole key is its rank.
                *ranks = if self.arity == 1 {
                    [low, 0, 0, 0]
                } else {
                    [high, low, 0, 0]
                };
            }
            Order::Three(keys) => {
                let [a, b] = halves(keys[i].0);
                *ranks = [a, b, keys[i].1, 0];
            }
            Order::Wide(keys) => {
                let ([a, b], [c, d]) = (halves(keys[i].0), halves(keys[i].1));
                *ranks = [a, b, c, d];
            }
            Order::Rows(_) => return None,
        }
        Some(&ranks[..self.arity])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sort_items` gives the one sorted order for every number of threads, runs of
    /// unequal length included.
    #[test]
    fn rows_sort_the_same_on_any_number_of_threads() {
        let mut state: u64 = 7;
        let items: Vec<(u64, u32)> = (0..(PARALLEL_SORT_ITEMS as u32 * 3 + 5))
            .map(|row| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                ((state >> 40) % 5000, row)
            })
            .collect();
        let mut expected = items.clone();
        expected.sort_unstable();
        for threads in [1, 2, 3, 4, 7, 16] {
            let sorted = sort_items(items.clone(), threads, &|a, b| a.cmp(b));
            assert_eq!(sorted, expected, "{threads} threads");
        }
    }
}
