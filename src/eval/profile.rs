//! Where evaluation spent its time: per stratum, the wall time of its plans, merges and
//! indexes; per rule, the time its plans ran (summed over threads), the candidates they
//! made and the facts that were new. Read by `run --stats`.

use std::time::Duration;

/// The cost of one stratum.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StratumCost {
    /// Iterations run.
    pub iterations: usize,
    /// Wall time running the stratum's plans (on every thread at once).
    pub plans: Duration,
    /// Wall time merging candidates into the relations.
    pub merge: Duration,
    /// Wall time building, extending and freezing indexes.
    pub indexes: Duration,
    /// Wall time of the whole stratum, the above and what lies between them.
    pub total: Duration,
}

/// The cost of one rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleCost {
    /// Time its plans ran, summed over the threads that ran them.
    pub time: Duration,
    /// Candidate facts its plans made (before duplicates were removed).
    pub candidates: u64,
    /// Facts it made that were new, or better than the fact held.
    pub new: u64,
}

/// Evaluation's costs, by stratum (in evaluation order) and by rule id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// Per stratum, in the order of [`Program::strata`](crate::program::Program::strata).
    pub strata: Vec<StratumCost>,
    /// Per rule, by rule id.
    pub rules: Vec<RuleCost>,
}

impl Profile {
    /// An empty profile for `strata` strata and `rules` rules.
    pub(crate) fn new(strata: usize, rules: usize) -> Profile {
        Profile {
            strata: vec![StratumCost::default(); strata],
            rules: vec![RuleCost::default(); rules],
        }
    }

    /// Rule ids by decreasing time, then ascending id, leaving out rules that never ran.
    pub fn costliest_rules(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = (0..self.rules.len())
            .filter(|&r| self.rules[r].candidates > 0 || !self.rules[r].time.is_zero())
            .collect();
        ids.sort_by(|&a, &b| self.rules[b].time.cmp(&self.rules[a].time).then(a.cmp(&b)));
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costliest_rules_come_first_and_idle_rules_are_left_out() {
        let mut profile = Profile::new(1, 4);
        profile.rules[0].time = Duration::from_millis(5);
        profile.rules[0].candidates = 3;
        profile.rules[2].time = Duration::from_millis(9);
        profile.rules[3].candidates = 1;
        assert_eq!(profile.costliest_rules(), vec![2, 0, 3]);
    }
}
