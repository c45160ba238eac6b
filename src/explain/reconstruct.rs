//! Best derivations found again over a model that recorded none, such as one computed
//! by the dataflow engine, so that its facts can be explained like any other.
//!
//! A fact's best derivation is a rule instance (or an input fact) whose confidence is
//! the fact's own. Over the final model such an instance can be circular (a derivation
//! of `reach(a, b)` through `reach(a, b)` itself at confidence 1), so the search is
//! depth first with the facts on the current path excluded, and a fact is recorded only
//! once all its premises are: what is recorded is acyclic, bottom up, and read by the
//! explanation trees exactly as recorded derivations are.

use rustc_hash::{FxHashMap, FxHashSet};

use super::support::Support;
use super::tree::Builder;
use crate::eval::{Derivation, FactId, Model};
use crate::program::Program;

/// Premise chains followed at most this deep; a fact whose only derivations are deeper
/// stays unexplained (and its tree says so) rather than exhausting the stack.
const MAX_CHAIN: usize = 2_000;

/// Whether two confidences are one, up to the rounding of multiplying in another order.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The best derivations of `roots` and of every fact their trees reach, found in
/// `model`; facts with no derivation found (a limit on explaining was reached, or the
/// chain is too deep) are left out. Give the result to [`Model::with_derivations`].
pub fn best_derivations(
    program: &Program,
    model: &Model,
    roots: &[FactId],
) -> FxHashMap<FactId, Derivation> {
    let mut search = Search {
        program,
        model,
        support: Support::new(program, model),
        builder: Builder::new(program, model),
        found: FxHashMap::default(),
        path: FxHashSet::default(),
    };
    for &root in roots {
        search.prove(root);
    }
    search.found
}

struct Search<'a> {
    program: &'a Program,
    model: &'a Model,
    support: Support<'a>,
    builder: Builder<'a>,
    found: FxHashMap<FactId, Derivation>,
    path: FxHashSet<FactId>,
}

impl Search<'_> {
    /// Whether `fact` now has a recorded derivation, searching for one if not.
    fn prove(&mut self, fact: FactId) -> bool {
        if self.found.contains_key(&fact) {
            return true;
        }
        if self.path.len() >= MAX_CHAIN || super::budget::tick() {
            return false;
        }
        let (program, model) = (self.program, self.model);
        let confidence = model.confidence(fact);
        let input = self
            .support
            .input_indexes(fact)
            .iter()
            .copied()
            .find(|&i| same(program.fact_confidence(&program.facts()[i]), confidence));
        if let Some(index) = input {
            self.found.insert(fact, Derivation::Input(index));
            return true;
        }
        if !self.path.insert(fact) {
            return false;
        }
        // Instances that give the fact's confidence, multiplied in the order evaluation
        // multiplies (strength, premises, factors): those giving it bit for bit first,
        // then those equal up to rounding.
        let mut exact = Vec::new();
        let mut close = Vec::new();
        for instance in self.support.instances(fact) {
            if instance.premises.iter().any(|p| self.path.contains(p)) {
                continue;
            }
            let rule = program.rule(instance.rule);
            let bindings = self.builder.bindings(rule, fact, &instance.premises);
            let mut gives = rule.strength;
            for premise in &instance.premises {
                gives *= model.confidence(*premise);
            }
            gives *= self.builder.matcher.body_factors(rule, &bindings);
            if gives == confidence {
                exact.push(instance);
            } else if same(gives, confidence) {
                close.push(instance);
            }
        }
        let mut proved = false;
        for instance in exact.into_iter().chain(close) {
            if instance.premises.iter().all(|&p| self.prove(p)) {
                let premises = instance.premises.iter().map(|p| p.row).collect();
                self.found.insert(
                    fact,
                    Derivation::Rule {
                        rule: instance.rule,
                        premises,
                    },
                );
                proved = true;
                break;
            }
        }
        self.path.remove(&fact);
        proved
    }
}
