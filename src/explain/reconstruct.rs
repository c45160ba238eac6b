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

use rustc_hash::{FxHashMap, FxHashSet};

use super::support::{Instance, Support};
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
    // The instances that give each fact its confidence, best first, for every fact the
    // roots' trees may reach.
    let mut candidates: FxHashMap<FactId, Vec<Instance>> = FxHashMap::default();
    let mut seen: FxHashSet<FactId> = FxHashSet::default();
    let mut stack: Vec<FactId> = roots.to_vec();
    while let Some(fact) = stack.pop() {
        if !seen.insert(fact) {
            continue;
        }
        if super::budget::tick() {
            return found;
        }
        let confidence = model.confidence(fact);
        let input = support
            .input_indexes(fact)
            .iter()
            .copied()
            .find(|&i| same(program.fact_confidence(&program.facts()[i]), confidence));
        if let Some(index) = input {
            found.insert(fact, Derivation::Input(index));
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
        exact.extend(close);
        for instance in &exact {
            stack.extend(instance.premises.iter().copied());
        }
        candidates.insert(fact, exact);
    }
    // Per candidate instance, its premises not yet settled; per fact, the instances
    // that have it as a premise.
    let mut missing: FxHashMap<(FactId, usize), usize> = FxHashMap::default();
    let mut users: FxHashMap<FactId, Vec<(FactId, usize)>> = FxHashMap::default();
    let mut ready: Vec<(FactId, usize)> = Vec::new();
    for (&fact, instances) in &candidates {
        for (i, instance) in instances.iter().enumerate() {
            let open = instance
                .premises
                .iter()
                .filter(|p| !found.contains_key(p))
                .count();
            if open == 0 {
                ready.push((fact, i));
            } else {
                missing.insert((fact, i), open);
                for premise in instance.premises.iter().filter(|p| !found.contains_key(p)) {
                    users.entry(*premise).or_default().push((fact, i));
                }
            }
        }
    }
    while !ready.is_empty() {
        if super::budget::tick() {
            return found;
        }
        // This wave: each fact not yet settled takes its first ready instance.
        ready.sort_unstable_by_key(|&(fact, i)| (fact, i));
        let mut settled = Vec::new();
        for &(fact, i) in &ready {
            if found.contains_key(&fact) {
                continue;
            }
            let instance = &candidates[&fact][i];
            found.insert(
                fact,
                Derivation::Rule {
                    rule: instance.rule,
                    premises: instance.premises.iter().map(|p| p.row).collect(),
                },
            );
            settled.push(fact);
        }
        ready.clear();
        for fact in settled {
            for user in users.remove(&fact).unwrap_or_default() {
                let open = missing.get_mut(&user).expect("a waiting instance");
                *open -= 1;
                if *open == 0 && !found.contains_key(&user.0) {
                    ready.push(user);
                }
            }
        }
    }
    found
}
