//! Combining independent lines of evidence: the facts of `@combine(noisy_or)` relations
//! and the uncertain sources each derivation rests on.
//!
//! A *line* is one way a fact holds: an input fact, or one instance of a rule. Its
//! *sources* are those of the input facts it rests on, through the best derivation of
//! each premise (and the counted lines of a combined premise): the parties their
//! speakers speak for (`@speaker`, `@party`), else the speaker, else the `@source`
//! text of an uncertain fact (see [`Lineage::of_input`]). Facts of `@reference`
//! relations and certain facts of no known speaker make no line depend on another:
//! the lines are independent given them. Two lines sharing a source are one party's
//! judgement, or one rests on the other's evidence.
//!
//! The counted lines are the set of lines, pairwise sharing no source, with the largest
//! noisy-or `1 - (1 - c1)(1 - c2)...`: two statements from one report count once, and
//! adding a line never lowers the result, because the best set without it is still a
//! candidate (see [`noisy_or`] for the search and its bound).

use rustc_hash::FxHashMap;

use super::relation::INPUT_BIT;
use super::FactId;
use crate::program::{PredId, Program, RuleId};

/// How one line of evidence holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineOrigin {
    /// An input fact of the relation: its index in [`Program::facts`].
    Input(usize),
    /// An instance of a rule with these premise rows, one per positive atom.
    Rule {
        /// The rule.
        rule: RuleId,
        /// Row of each premise, in the order of the rule's positive atoms.
        premises: Vec<u32>,
    },
}

/// One line of evidence for a fact of a `@combine(noisy_or)` relation.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// How it holds.
    pub origin: LineOrigin,
    /// Its own confidence (strength times premises, or the input fact's).
    pub confidence: f64,
    /// The uncertain sources it rests on, as ids for [`Model::source_name`](super::Model::source_name), sorted.
    pub sources: Vec<u32>,
    /// Whether it counts towards the fact's confidence.
    pub counted: bool,
    /// For a line not counted: a source it shares with a counted line.
    pub shares: Option<u32>,
    /// Whether the search for the best set of lines among those it overlaps with was cut
    /// short (after 2^20 steps, or not run on a group of more than 64 lines): the set
    /// counted is then the best one found, a lower bound of the exact answer.
    pub approximate: bool,
}

impl Line {
    /// A line not yet weighed against the others.
    pub(crate) fn new(origin: LineOrigin, confidence: f64, sources: Vec<u32>) -> Line {
        Line {
            origin,
            confidence,
            sources,
            counted: false,
            shares: None,
            approximate: false,
        }
    }
}

/// Names of sources and the sources each fact rests on, computed on demand.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lineage {
    ids: FxHashMap<String, u32>,
    /// Source texts by id.
    pub names: Vec<String>,
    /// Sources per fact already computed (combined facts are entered when combined).
    memo: FxHashMap<FactId, Vec<u32>>,
    /// The parties each speaker speaks for, read from the `@party` relations once.
    parties: Option<FxHashMap<String, Vec<String>>>,
}

/// The parties each speaker speaks for: the input facts of the `@party` relations,
/// first column the speaker, second the party (sorted, no duplicates).
fn parties(program: &Program) -> FxHashMap<String, Vec<String>> {
    let mut out: FxHashMap<String, Vec<String>> = FxHashMap::default();
    for fact in program.facts() {
        if program.predicate(fact.predicate).party {
            let value = |column: usize| program.value_text(fact.tuple[column]);
            out.entry(value(0)).or_default().push(value(1));
        }
    }
    for of in out.values_mut() {
        of.sort();
        of.dedup();
    }
    out
}

/// Sorted union of two sorted lists.
pub(crate) fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                x
            }
            (Some(&x), Some(&y)) if y < x => {
                j += 1;
                y
            }
            (Some(&x), Some(_)) => {
                i += 1;
                j += 1;
                x
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, Some(&y)) => {
                j += 1;
                y
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
}

impl Lineage {
    /// The id of a source text.
    fn id(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    /// The sources of input fact `index` for judging independence (none for an index
    /// that names no input fact):
    ///
    /// - none for a fact of a `@reference` relation (reference data is what lines are
    ///   judged against, not a line of evidence);
    /// - the parties its speaker speaks for, as the `@party` relation's input facts
    ///   record them (`party P`), whatever the fact's confidence;
    /// - else, for a relation with a `@speaker` column, the speaker (`speaker S`);
    /// - else its `@source` text (or its place) when its confidence is below 1, and
    ///   none when it is certain.
    pub fn of_input(&mut self, program: &Program, index: usize) -> Vec<u32> {
        let Some(fact) = program.facts().get(index) else {
            return Vec::new();
        };
        let predicate = program.predicate(fact.predicate);
        if predicate.reference {
            return Vec::new();
        }
        let parties = self.parties.get_or_insert_with(|| parties(program));
        let speaker = program.fact_speaker(fact);
        if let Some(of) = parties.get(&speaker) {
            let names: Vec<String> = of.iter().map(|p| format!("party {p}")).collect();
            let mut ids: Vec<u32> = names.into_iter().map(|n| self.id(n)).collect();
            ids.sort_unstable();
            ids.dedup();
            return ids;
        }
        if predicate.speaker.is_some() {
            vec![self.id(format!("speaker {speaker}"))]
        } else if fact.confidence() < 1.0 {
            vec![self.id(format!("source \"{speaker}\""))]
        } else {
            Vec::new()
        }
    }

    /// Records the sources of a combined fact.
    pub fn set(&mut self, fact: FactId, sources: Vec<u32>) {
        self.memo.insert(fact, sources);
    }

    /// The uncertain sources of `fact` through recorded derivations. `derivation`
    /// gives a fact's recorded rule (or `INPUT_BIT | index`) and premise rows.
    pub fn of_fact(
        &mut self,
        program: &Program,
        fact: FactId,
        derivation: &impl Fn(FactId) -> (u32, Vec<u32>),
    ) -> Vec<u32> {
        // Depth first with an explicit stack: derivations can be thousands deep.
        let mut stack = vec![(fact, false)];
        while let Some((at, expanded)) = stack.pop() {
            if self.memo.contains_key(&at) {
                continue;
            }
            let (rule, rows) = derivation(at);
            if rule & INPUT_BIT != 0 {
                let sources = self.of_input(program, (rule & !INPUT_BIT) as usize);
                self.memo.insert(at, sources);
                continue;
            }
            let premises: Vec<FactId> = program
                .rule(RuleId(rule))
                .positive_atoms()
                .zip(&rows)
                .map(|(atom, &row)| FactId {
                    predicate: atom.predicate,
                    row,
                })
                .collect();
            if expanded {
                let mut sources = Vec::new();
                for p in &premises {
                    // A premise still missing is one on a cycle of records (there are
                    // none: see the evaluation's invariants); it adds nothing.
                    if let Some(s) = self.memo.get(p) {
                        sources = union(&sources, s);
                    }
                }
                self.memo.insert(at, sources);
            } else {
                stack.push((at, true));
                for p in premises {
                    if !self.memo.contains_key(&p) {
                        stack.push((p, false));
                    }
                }
            }
        }
        self.memo.get(&fact).cloned().unwrap_or_default()
    }
}

/// The steps the search for the best set of lines may take in one group of overlapping
/// lines before it stops with the best set found.
pub(crate) const SEARCH_BUDGET: u64 = 1 << 20;

/// The most lines a group of overlapping lines may have to be searched; a larger group
/// gets the most-confident-first choice.
pub(crate) const SEARCH_LINES: usize = 64;

/// Chooses the counted lines of one fact and returns its combined confidence.
///
/// Lines are shown most confident first, then those resting on fewer sources, then as
/// given. The counted lines are a set of lines that pairwise share no source and whose
/// noisy-or is the largest such set can give: the best choice, so that adding a line
/// never lowers the result (the best set without the new line is still a candidate).
/// Lines that share no source with any other are always counted; the others fall into
/// groups connected by shared sources, and each group of up to [`SEARCH_LINES`] lines
/// is searched exactly (depth first, pruned by the best product still reachable). A
/// group whose search takes more than [`SEARCH_BUDGET`] steps keeps the best set found
/// by then, which starts as the greedy most-confident-first choice; a larger group gets
/// that greedy choice. Either is never more than the exact answer, and is marked
/// `approximate` on every line of the group.
pub(crate) fn noisy_or(lines: &mut [Line]) -> f64 {
    lines.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.sources.len().cmp(&b.sources.len()))
    });
    for line in lines.iter_mut() {
        line.counted = false;
        line.shares = None;
        line.approximate = false;
    }
    // Groups of lines connected through shared sources (union-find over lines, joined
    // through the first line seen with each source).
    let n = lines.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_with: FxHashMap<u32, usize> = FxHashMap::default();
    for (i, line) in lines.iter().enumerate() {
        for &s in &line.sources {
            match first_with.get(&s) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    first_with.insert(s, i);
                }
            }
        }
    }
    let mut groups: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    for i in 0..n {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    for members in groups.values() {
        if members.len() == 1 {
            lines[members[0]].counted = true;
            continue;
        }
        let group: Vec<&Line> = members.iter().map(|&i| &lines[i]).collect();
        let (chosen, exact) = if group.len() <= SEARCH_LINES {
            best_set(&group)
        } else {
            (greedy(&group), false)
        };
        for (k, &i) in members.iter().enumerate() {
            lines[i].counted = chosen[k];
            lines[i].approximate = !exact;
        }
    }
    // Why each line left out is left out: a source it shares with a counted line.
    let mut taken: FxHashMap<u32, ()> = FxHashMap::default();
    for line in lines.iter().filter(|l| l.counted) {
        taken.extend(line.sources.iter().map(|&s| (s, ())));
    }
    let mut doubt = 1.0;
    for line in lines.iter_mut() {
        if line.counted {
            doubt *= 1.0 - line.confidence;
        } else {
            line.shares = line.sources.iter().find(|s| taken.contains_key(s)).copied();
        }
    }
    1.0 - doubt
}

/// The best set of pairwise disjoint lines of one group (lines most confident first):
/// which are chosen, and whether the search finished.
fn best_set(lines: &[&Line]) -> (Vec<bool>, bool) {
    let n = lines.len();
    let conflicts: Vec<Vec<bool>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| i != j && shares_any(&lines[i].sources, &lines[j].sources))
                .collect()
        })
        .collect();
    // Start from the greedy choice, so a search cut short is never worse than it.
    let mut best = vec![false; n];
    let mut best_doubt = 1.0;
    for i in 0..n {
        if (0..i).all(|j| !(best[j] && conflicts[i][j])) {
            best[i] = true;
            best_doubt *= 1.0 - lines[i].confidence;
        }
    }
    // suffix[i]: the product of (1 - c) over lines i.., the lowest doubt they could add.
    let mut suffix = vec![1.0; n + 1];
    for i in (0..n).rev() {
        suffix[i] = suffix[i + 1] * (1.0 - lines[i].confidence);
    }
    struct Search<'s> {
        lines: &'s [&'s Line],
        conflicts: &'s [Vec<bool>],
        suffix: &'s [f64],
        current: Vec<bool>,
        best: Vec<bool>,
        best_doubt: f64,
        steps: u64,
    }
    impl Search<'_> {
        /// Decides lines `at..` given the doubt of those chosen so far; false when the
        /// budget ran out.
        fn walk(&mut self, at: usize, doubt: f64) -> bool {
            self.steps += 1;
            if self.steps > SEARCH_BUDGET {
                return false;
            }
            if at == self.lines.len() {
                if doubt < self.best_doubt {
                    self.best_doubt = doubt;
                    self.best = self.current.clone();
                }
                return true;
            }
            // Even every remaining line could not beat the best: prune.
            if doubt * self.suffix[at] >= self.best_doubt {
                return true;
            }
            let free = (0..at).all(|j| !(self.current[j] && self.conflicts[at][j]));
            if free {
                self.current[at] = true;
                let more = self.walk(at + 1, doubt * (1.0 - self.lines[at].confidence));
                self.current[at] = false;
                if !more {
                    return false;
                }
            }
            self.walk(at + 1, doubt)
        }
    }
    let mut search = Search {
        lines,
        conflicts: &conflicts,
        suffix: &suffix,
        current: vec![false; n],
        best,
        best_doubt,
        steps: 0,
    };
    let exact = search.walk(0, 1.0);
    let mut chosen = search.best;
    // A line of confidence 0 adds nothing but may still be free: count it, so that every
    // line left out shares a source with a counted one.
    for i in 0..n {
        if !chosen[i] && (0..n).all(|j| !(chosen[j] && conflicts[i][j])) {
            chosen[i] = true;
        }
    }
    (chosen, exact)
}

/// The most-confident-first choice among `lines` (most confident first): each line
/// counted unless it shares a source with one counted before it. Linear in the sources.
fn greedy(lines: &[&Line]) -> Vec<bool> {
    let mut taken: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
    lines
        .iter()
        .map(|line| {
            let free = line.sources.iter().all(|s| !taken.contains(s));
            if free {
                taken.extend(line.sources.iter().copied());
            }
            free
        })
        .collect()
}

/// Whether two sorted lists have an element in common.
fn shares_any(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Every line of the facts of one combined relation, with their rows.
pub(crate) type Lines = FxHashMap<FactId, Vec<Line>>;

/// The relations of `program` declared `@combine(noisy_or)`.
pub(crate) fn combined_predicates(program: &Program) -> Vec<PredId> {
    program
        .predicates()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.combine == crate::program::Combine::NoisyOr)
        .map(|(i, _)| PredId(i as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(confidence: f64, sources: &[u32]) -> Line {
        Line {
            origin: LineOrigin::Input(0),
            confidence,
            sources: sources.to_vec(),
            counted: false,
            shares: None,
            approximate: false,
        }
    }

    #[test]
    fn independent_lines_add_up_and_shared_ones_count_once() {
        let mut lines = vec![line(0.6, &[1]), line(0.6, &[2])];
        assert!((noisy_or(&mut lines) - 0.84).abs() < 1e-12);
        assert!(lines.iter().all(|l| l.counted));

        let mut lines = vec![line(0.6, &[1]), line(0.7, &[1, 3]), line(0.5, &[2])];
        let c = noisy_or(&mut lines);
        assert!((c - (1.0 - 0.3 * 0.5)).abs() < 1e-12);
        assert_eq!(lines[0].confidence, 0.7);
        assert!(!lines[1].counted);
        assert_eq!(lines[1].shares, Some(1));
        assert!(lines[2].counted);
    }

    #[test]
    fn among_equals_lines_with_fewer_sources_go_first() {
        // Taking the line with two sources first would block both others: 0.6.
        let mut lines = vec![line(0.6, &[1, 2]), line(0.6, &[1]), line(0.6, &[2])];
        let c = noisy_or(&mut lines);
        assert!((c - 0.84).abs() < 1e-12);
        assert_eq!(lines[2].sources, vec![1, 2]);
        assert!(!lines[2].counted);
    }

    #[test]
    fn lines_resting_on_certain_facts_only_are_independent() {
        let mut lines = vec![line(0.5, &[]), line(0.5, &[])];
        assert_eq!(noisy_or(&mut lines), 0.75);
    }

    #[test]
    fn a_line_resting_on_two_others_does_not_displace_them() {
        // Regression (issue 13, item 8): greedy most-confident-first took the joint
        // line of 0.6 and dropped both lines of 0.5, giving 0.60 instead of 0.75.
        let mut lines = vec![line(0.5, &[1]), line(0.5, &[2])];
        assert_eq!(noisy_or(&mut lines), 0.75);
        let mut lines = vec![line(0.5, &[1]), line(0.5, &[2]), line(0.6, &[1, 2])];
        assert_eq!(noisy_or(&mut lines), 0.75);
        assert_eq!(lines[0].confidence, 0.6);
        assert!(!lines[0].counted);
        assert_eq!(lines[0].shares, Some(1));
        assert!(lines[1].counted && lines[2].counted);
        assert!(lines.iter().all(|l| !l.approximate));
    }

    /// A tiny deterministic generator (splitmix64), so the property runs the same cases
    /// every time.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_line(rng: &mut Rng) -> Line {
        let confidence = rng.below(101) as f64 / 100.0;
        let mut sources: Vec<u32> = (0..rng.below(4)).map(|_| rng.below(6) as u32).collect();
        sources.sort_unstable();
        sources.dedup();
        line(confidence, &sources)
    }

    /// The best noisy-or over every subset of pairwise disjoint lines.
    fn brute_force(lines: &[Line]) -> f64 {
        let n = lines.len();
        let mut best: f64 = 0.0;
        for mask in 0u32..(1 << n) {
            let chosen: Vec<&Line> = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| &lines[i])
                .collect();
            let disjoint = chosen.iter().enumerate().all(|(k, a)| {
                chosen[k + 1..]
                    .iter()
                    .all(|b| !shares_any(&a.sources, &b.sources))
            });
            if disjoint {
                best = best.max(1.0 - chosen.iter().map(|l| 1.0 - l.confidence).product::<f64>());
            }
        }
        best
    }

    #[test]
    fn adding_a_line_never_lowers_the_result_and_the_result_is_the_best_set() {
        let mut rng = Rng(13);
        for _ in 0..3000 {
            let n = 1 + rng.below(9) as usize;
            let lines: Vec<Line> = (0..n).map(|_| random_line(&mut rng)).collect();
            let before = noisy_or(&mut lines.clone());
            assert!((before - brute_force(&lines)).abs() < 1e-12, "{lines:?}");
            let mut more = lines.clone();
            more.push(random_line(&mut rng));
            let after = noisy_or(&mut more.clone());
            assert!(
                after >= before - 1e-12,
                "{before} then {after} with {more:?}"
            );
            // The counted lines share no source, and every other line shares one with
            // them.
            let mut chosen = more.clone();
            let c = noisy_or(&mut chosen);
            let counted: Vec<&Line> = chosen.iter().filter(|l| l.counted).collect();
            for (k, a) in counted.iter().enumerate() {
                for b in &counted[k + 1..] {
                    assert!(!shares_any(&a.sources, &b.sources));
                }
            }
            for l in chosen.iter().filter(|l| !l.counted) {
                let s = l.shares.expect("a line left out names a shared source");
                assert!(counted.iter().any(|c| c.sources.contains(&s)));
            }
            let product: f64 = counted.iter().map(|l| 1.0 - l.confidence).product();
            assert!((c - (1.0 - product)).abs() < 1e-12);
        }
    }

    #[test]
    fn a_large_group_of_overlapping_lines_gets_the_greedy_choice_quickly() {
        // 100,000 lines all resting on source 1: one group, far past the search limit.
        let mut lines: Vec<Line> = (0..100_000)
            .map(|i| line(0.5 + (i % 7) as f64 / 100.0, &[1, 2 + i as u32]))
            .collect();
        let c = noisy_or(&mut lines);
        assert!((c - 0.56).abs() < 1e-12);
        assert_eq!(lines.iter().filter(|l| l.counted).count(), 1);
        assert!(lines.iter().all(|l| l.approximate));
    }

    #[test]
    fn union_merges_sorted_lists() {
        assert_eq!(union(&[1, 3, 5], &[2, 3, 6]), vec![1, 2, 3, 5, 6]);
        assert_eq!(union(&[], &[4]), vec![4]);
    }
}
