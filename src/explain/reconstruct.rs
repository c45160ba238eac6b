//! Best derivations found again over a model that recorded none, such as one computed
//! by the dataflow engine, so that its facts can be explained like any other.
//!
//! A fact's best derivation is a rule instance (or an input fact) whose confidence is
//! the fact's own. Over the final model such an instance can be circular (a derivation
//! of `reach(a, b)` through `reach(a, b)` itself at confidence 1), so derivations are
//! settled bottom up, in waves as evaluation finds them: input facts first, then each
//! fact with an instance whose premises were all settled in earlier waves, taking its
//! first such instance (those giving the confidence bit for bit before those equal up
//! to rounding, then in rule order). What is settled is acyclic and read by the
//! explanation trees exactly as recorded derivations are. Every fact whose instances
//! are looked at is looked at once: the search is linear in the instances it finds.

use rustc_hash::FxHashMap;

use super::support::Support;
use super::tree::Builder;
use crate::eval::{Derivation, FactId, Model};
use crate::program::Program;

/// Whether two confidences are one, up to the rounding of multiplying in another order.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The best derivations of `roots` and of every fact their trees reach, found in
/// `model`; facts with no derivation found (a limit on explaining was reached) are left
/// out. Give the result to [`Model::with_derivations`].
pub fn best_derivations(
    program: &Program,
    model: &Model,
    roots: &[FactId],
) -> FxHashMap<FactId, Derivation> {
    let mut support = Support::new(program, model);
    let mut builder = Builder::new(program, model);
    let mut found: FxHashMap<FactId, Derivation> = FxHashMap::default();
    // Every fact the roots' trees may reach, numbered; the instances that give each its
    // confidence, best first, flat: instance `k` derives `owner[k]` by `rule[k]` from
    // the facts `premises[start[k]..start[k + 1]]` (numbers).
    let mut number: FxHashMap<FactId, u32> = FxHashMap::default();
    let mut facts: Vec<FactId> = Vec::new();
    let mut owner: Vec<u32> = Vec::new();
    let mut rule_of: Vec<crate::program::RuleId> = Vec::new();
    let mut start: Vec<u32> = vec![0];
    let mut premises: Vec<u32> = Vec::new();
    let mut numbered = |fact: FactId, facts: &mut Vec<FactId>| -> u32 {
        *number.entry(fact).or_insert_with(|| {
            facts.push(fact);
            facts.len() as u32 - 1
        })
    };
    for &root in roots {
        numbered(root, &mut facts);
    }
    let mut next = 0;
    while next < facts.len() {
        let fact = facts[next];
        let index = next as u32;
        next += 1;
        if super::budget::tick() {
            return found;
        }
        let confidence = model.confidence(fact);
        let input = support
            .input_indexes(fact)
            .iter()
            .copied()
            .find(|&i| same(program.fact_confidence(&program.facts()[i]), confidence));
        if let Some(input) = input {
            found.insert(fact, Derivation::Input(input));
            continue;
        }
        let mut exact = Vec::new();
        let mut close = Vec::new();
        for instance in support.instances(fact) {
            let rule = program.rule(instance.rule);
            let bindings = builder.bindings(rule, fact, &instance.premises);
            // In the order evaluation multiplies: strength, premises, factors.
            let mut gives = rule.strength;
            for premise in &instance.premises {
                gives *= model.confidence(*premise);
            }
            gives *= builder.matcher.body_factors(rule, &bindings);
            if gives == confidence {
                exact.push(instance);
            } else if same(gives, confidence) {
                close.push(instance);
            }
        }
        for instance in exact.into_iter().chain(close) {
            owner.push(index);
            rule_of.push(instance.rule);
            for premise in instance.premises {
                let n = numbered(premise, &mut facts);
                premises.push(n);
            }
            start.push(premises.len() as u32);
        }
    }
    // Per instance, its premises not yet settled; per fact, the instances that have it
    // as a premise (once per occurrence).
    let settled_at_start: Vec<bool> = facts.iter().map(|f| found.contains_key(f)).collect();
    let mut missing: Vec<u32> = Vec::with_capacity(owner.len());
    let mut uses: Vec<u32> = vec![0; facts.len() + 1];
    for k in 0..owner.len() {
        let range = start[k] as usize..start[k + 1] as usize;
        let open = premises[range.clone()]
            .iter()
            .filter(|&&p| !settled_at_start[p as usize])
            .count();
        missing.push(open as u32);
        for &p in &premises[range] {
            if !settled_at_start[p as usize] {
                uses[p as usize + 1] += 1;
            }
        }
    }
    for i in 1..uses.len() {
        uses[i] += uses[i - 1];
    }
    let mut users: Vec<u32> = vec![0; uses[facts.len()] as usize];
    let mut filled = uses.clone();
    for k in 0..owner.len() {
        for &p in &premises[start[k] as usize..start[k + 1] as usize] {
            if !settled_at_start[p as usize] {
                users[filled[p as usize] as usize] = k as u32;
                filled[p as usize] += 1;
            }
        }
    }
    drop(filled);
    let mut settled = settled_at_start;
    let mut ready: Vec<u32> = (0..owner.len() as u32)
        .filter(|&k| missing[k as usize] == 0)
        .collect();
    while !ready.is_empty() {
        if super::budget::tick() {
            return found;
        }
        // This wave: each fact not yet settled takes its first ready instance (instances
        // are numbered fact by fact, best first).
        ready.sort_unstable_by_key(|&k| (facts[owner[k as usize] as usize], k));
        let mut wave = Vec::new();
        for &k in &ready {
            let fact = owner[k as usize] as usize;
            if settled[fact] {
                continue;
            }
            settled[fact] = true;
            let range = start[k as usize] as usize..start[k as usize + 1] as usize;
            found.insert(
                facts[fact],
                Derivation::Rule {
                    rule: rule_of[k as usize],
                    premises: premises[range]
                        .iter()
                        .map(|&p| facts[p as usize].row)
                        .collect(),
                },
            );
            wave.push(fact);
        }
        ready.clear();
        for fact in wave {
            for &k in &users[uses[fact] as usize..uses[fact + 1] as usize] {
                missing[k as usize] -= 1;
                if missing[k as usize] == 0 && !settled[owner[k as usize] as usize] {
                    ready.push(k);
                }
            }
        }
    }
    found
}
