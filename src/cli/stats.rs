//! The cost tables of `run --stats`: where evaluation spent its time, by stratum and by
//! rule, costliest first.

use std::fmt::Write as _;
use std::time::Duration;

use super::progress::grouped;
use crate::diagnostic::Sources;
use crate::eval::Model;
use crate::program::Program;

/// Strata shown, costliest first.
const STRATA_SHOWN: usize = 8;
/// Rules shown, costliest first.
const RULES_SHOWN: usize = 12;
/// Relation names shown per stratum.
const NAMES_SHOWN: usize = 4;

fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// The tables for `model` of `program`, whose rules' places `sources` names.
pub(crate) fn cost_tables(program: &Program, model: &Model, sources: &Sources) -> String {
    let profile = model.profile();
    let mut out = String::new();
    let mut strata: Vec<usize> = (0..profile.strata.len()).collect();
    strata.sort_by(|&a, &b| {
        profile.strata[b]
            .total
            .cmp(&profile.strata[a].total)
            .then(a.cmp(&b))
    });
    let _ = writeln!(out, "costliest strata, by wall time:");
    let _ = writeln!(
        out,
        "  {:>7} {:>10} {:>10} {:>10} {:>10}  stratum",
        "passes", "plans", "merge", "indexes", "total"
    );
    for &s in strata.iter().take(STRATA_SHOWN) {
        let cost = &profile.strata[s];
        let names: Vec<&str> = program.strata()[s]
            .predicates
            .iter()
            .map(|&p| program.predicate(p).name.as_str())
            .collect();
        let mut shown = names
            .iter()
            .take(NAMES_SHOWN)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > NAMES_SHOWN {
            let _ = write!(shown, " and {} more", names.len() - NAMES_SHOWN);
        }
        let _ = writeln!(
            out,
            "  {:>7} {:>10} {:>10} {:>10} {:>10}  {}: {}",
            cost.iterations,
            seconds(cost.plans),
            seconds(cost.merge),
            seconds(cost.indexes),
            seconds(cost.total),
            s + 1,
            shown
        );
    }
    let _ = writeln!(out, "costliest rules, by plan time on all threads:");
    let _ = writeln!(
        out,
        "  {:>10} {:>12} {:>12}  rule",
        "time", "candidates", "new facts"
    );
    for r in profile.costliest_rules().into_iter().take(RULES_SHOWN) {
        let cost = &profile.rules[r];
        let rule = &program.rules()[r];
        let _ = writeln!(
            out,
            "  {:>10} {:>12} {:>12}  {} at {}",
            seconds(cost.time),
            grouped(cost.candidates as usize),
            grouped(cost.new as usize),
            program.predicate(rule.head.predicate).name,
            sources.location(rule.span)
        );
    }
    out
}
