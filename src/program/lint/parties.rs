//! `W0610`: a speaker that speaks for no party, in a program that records parties.
//!
//! Lines of evidence are independent when their speakers speak for different parties
//! (`@speaker`, `@party`). A speaker the `@party` relation does not name counts as a party
//! of its own, so two statements of one government, one of them missing its party fact,
//! count as two governments: the conclusion is overstated and nothing says why.

use rustc_hash::FxHashSet;

use super::super::Program;
use crate::diagnostic::Diagnostic;

/// Warns once per speaker of a `@speaker` relation's input facts that no input fact of
/// a `@party` relation names, at its first fact; nothing when the program declares no
/// `@party` relation.
pub(super) fn check(program: &Program, out: &mut Vec<Diagnostic>) {
    let parties: Vec<&str> = program
        .predicates()
        .iter()
        .filter(|p| p.party)
        .map(|p| p.name.as_str())
        .collect();
    let Some(&party) = parties.first() else {
        return;
    };
    let known: FxHashSet<String> = program
        .facts()
        .iter()
        .filter(|f| program.predicate(f.predicate).party)
        .map(|f| program.value_text(f.tuple[0]))
        .collect();
    let mut warned: FxHashSet<String> = FxHashSet::default();
    for fact in program.facts() {
        let predicate = program.predicate(fact.predicate);
        if predicate.speaker.is_none() {
            continue;
        }
        let speaker = program.fact_speaker(fact);
        if known.contains(&speaker) || !warned.insert(speaker.clone()) {
            continue;
        }
        out.push(
            Diagnostic::warning(
                "W0610",
                format!(
                    "`{speaker}` speaks for no party: its `{}` facts count as a party of their own",
                    predicate.name
                ),
                fact.span,
            )
            .with_label("no party recorded for this speaker")
            .with_note("two sources of one party that are not both recorded count as two independent lines")
            .with_help(format!("record the party, as in `{party}({speaker}, its_party)`, or silence with `@allow(speaker_without_party)` on the fact")),
        );
    }
}
