//! Rule coverage: how many rule instances each rule contributed across all tests, and
//! the rules no test exercises.
//!
//! An instance is one way a rule derives a fact of the model (every derivation, not
//! only the best one), found by re-running the rule's body with its head bound; a rule
//! whose conclusions were all reached better by another rule still counts as fired.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::eval::{FactId, Model};
use crate::explain::support::Support;
use crate::program::{PredId, Program};

/// Instance counts by rule, keyed by where the rule is written.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    rules: BTreeMap<(String, usize, usize), (String, u64)>,
}

/// Counts the instances of every rule of `program` in `model` (0 for rules that never
/// fired, so that they are listed).
pub fn count(program: &Program, model: &Model) -> Counts {
    let mut counts = Counts::default();
    let mut by_rule = vec![0u64; program.rules().len()];
    let mut support = Support::new(program, model);
    for p in 0..program.predicates().len() as u32 {
        let predicate = PredId(p);
        if !program.predicate(predicate).derived {
            continue;
        }
        for row in 0..model.len(predicate) as u32 {
            let fact = FactId { predicate, row };
            for instance in support.instances(fact) {
                by_rule[instance.rule.0 as usize] += 1;
            }
        }
    }
    let sources = program.sources();
    for (rule, n) in program.rules().iter().zip(by_rule) {
        let (line, column) = sources.line_col(rule.span.source, rule.span.start);
        let key = (sources.name(rule.span.source).to_string(), line, column);
        let entry = counts.rules.entry(key).or_insert((rule.label(), 0));
        entry.1 += n;
    }
    counts
}

impl Counts {
    /// Adds another test's counts.
    pub fn absorb(&mut self, other: Counts) {
        for (key, (label, n)) in other.rules {
            self.rules.entry(key).or_insert((label, 0)).1 += n;
        }
    }

    /// The report.
    pub fn finish(self) -> Coverage {
        let rules: Vec<RuleCoverage> = self
            .rules
            .into_iter()
            .map(|((file, line, column), (rule, instances))| RuleCoverage {
                location: format!("{file}:{line}:{column}"),
                rule,
                instances,
            })
            .collect();
        let covered = rules.iter().filter(|r| r.instances > 0).count();
        let percent = if rules.is_empty() {
            100.0
        } else {
            (covered as f64 * 1000.0 / rules.len() as f64).round() / 10.0
        };
        Coverage {
            covered,
            total: rules.len(),
            percent,
            rules,
        }
    }
}

/// Coverage of the rules read by the tests.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    /// Rules with at least one instance.
    pub covered: usize,
    /// Rules read by some test.
    pub total: usize,
    /// `covered / total`, in percent, one decimal.
    pub percent: f64,
    /// Every rule, in file and line order.
    pub rules: Vec<RuleCoverage>,
}

/// One rule's count.
#[derive(Clone, Debug, Serialize)]
pub struct RuleCoverage {
    /// `file:line:col`.
    pub location: String,
    /// The rule's `@name`, or `rule #n`.
    pub rule: String,
    /// Instances across all tests.
    pub instances: u64,
}

impl Coverage {
    /// As text: a summary line, every rule with its count, then those never exercised.
    pub fn text(&self) -> String {
        let mut out = format!(
            "coverage: {} of {} rules exercised ({:.1}%)\n",
            self.covered, self.total, self.percent
        );
        let width = self
            .rules
            .iter()
            .map(|r| r.location.len())
            .max()
            .unwrap_or(0);
        for rule in &self.rules {
            out.push_str(&format!(
                "  {:>7}  {:width$}  \"{}\"\n",
                rule.instances, rule.location, rule.rule
            ));
        }
        let missing: Vec<&RuleCoverage> = self.rules.iter().filter(|r| r.instances == 0).collect();
        if !missing.is_empty() {
            out.push_str(&format!("not exercised by any test ({}):\n", missing.len()));
            for rule in missing {
                out.push_str(&format!("  {}  \"{}\"\n", rule.location, rule.rule));
            }
        }
        out
    }
}
