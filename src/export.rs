//! Conclusions gathered from a model for the writers of [`crate::io::export`]: the stage
//! after `explain` and `report` that turns facts and explanations into plain data.
//!
//! [`stix`] collects, per incident, the facts of each `@hypothesis` relation about it
//! (the candidates `ascribe report` ranks) with their exact confidence, ICD 203 term,
//! the sources of their best derivation and their explanation, and hands them to
//! [`crate::io::export::stix::bundle`]. Everything comes from the model in value order,
//! so the same model gives the same bundle.

use std::collections::BTreeSet;

use crate::eval::{FactId, Model};
use crate::explain::sources::BestSources;
use crate::explain::{likelihood, render, Explainer};
use crate::io::export::stix::{Attribution, CandidateKind, Conclusions, Incident};
use crate::program::{PredId, Program};
use crate::report::{ReportError, ReportOptions};
use crate::value::{Value, ValueId};

/// A value as a name: text as it is, other values as written.
fn name(value: &Value) -> String {
    match value {
        Value::Text(text) => text.to_string(),
        other => other.to_string(),
    }
}

/// The day the conclusions hold when no `--as-of` is given: the latest date any input
/// fact mentions (a date among its values, its `@since` or its `@until`), else
/// 1970-01-01. Derived from the inputs only, so exporting twice gives the same bundle.
pub fn latest_day(program: &Program) -> i32 {
    let mut latest = 0;
    for fact in program.facts() {
        for &v in fact.tuple.iter() {
            if let Value::Date(day) = program.interner().value(v) {
                latest = latest.max(*day);
            }
        }
        let window = fact.window();
        for day in [window.since, window.until].into_iter().flatten() {
            latest = latest.max(day);
        }
    }
    latest
}

/// The conclusions a STIX bundle exports: per incident (those `options` select, in
/// value order), every derived fact of each hypothesis relation with at least two
/// columns (the candidate is the rest of the columns; its STIX type follows the
/// declared name of the second column, see [`CandidateKind::for_column`]). A
/// one-column hypothesis (`state_actor_involved(I)`) has no candidate to attribute to:
/// its facts are named in the incident's description only.
pub fn stix(
    program: &Program,
    model: &Model,
    options: &ReportOptions,
    as_of: i32,
) -> Result<Conclusions, ReportError> {
    let hypotheses: Vec<PredId> = if options.hypotheses.is_empty() {
        (0..program.predicates().len() as u32)
            .map(PredId)
            .filter(|&p| program.predicate(p).hypothesis.is_some())
            .collect()
    } else {
        options.hypotheses.clone()
    };
    if hypotheses.is_empty() {
        return Err(ReportError::NoHypotheses);
    }
    if let Some(&p) = hypotheses
        .iter()
        .find(|&&p| program.predicate(p).arity == 0)
    {
        return Err(ReportError::NoIncidentColumn(
            program.predicate(p).name.clone(),
        ));
    }
    let facts: Vec<Vec<FactId>> = hypotheses.iter().map(|&p| model.sorted_facts(p)).collect();
    let mut incidents: BTreeSet<(Rank, ValueId)> = BTreeSet::new();
    let rank = |v: ValueId| Rank(model.interner().value(v).clone());
    for list in &facts {
        incidents.extend(list.iter().map(|f| {
            let v = model.tuple(*f)[0];
            (rank(v), v)
        }));
    }
    if let Some(subjects) = options.subjects {
        if program.predicate(subjects).arity > 0 {
            for f in model.sorted_facts(subjects) {
                let v = model.tuple(f)[0];
                incidents.insert((rank(v), v));
            }
        }
    }
    let mut sources = BestSources::new(program, model);
    let mut explainer = Explainer::new(program, model);
    let mut out = Vec::new();
    for (_, incident) in incidents {
        if !options.only.is_empty() && !options.only.contains(&incident) {
            continue;
        }
        let mut attributions = Vec::new();
        let mut findings = Vec::new();
        for (i, &p) in hypotheses.iter().enumerate() {
            let predicate = program.predicate(p);
            for &fact in &facts[i] {
                let tuple = model.tuple(fact);
                if tuple[0] != incident {
                    continue;
                }
                let confidence = model.confidence(fact);
                let explanation = explainer.explain(fact);
                let fact_text = explanation.root.fact.clone();
                if tuple.len() == 1 {
                    findings.push(format!(
                        "{fact_text} {} ({confidence:.3})",
                        likelihood(confidence)
                    ));
                    continue;
                }
                let candidate = tuple[1..]
                    .iter()
                    .map(|v| name(model.interner().value(*v)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let column = predicate.columns.get(1).and_then(|c| c.as_deref());
                attributions.push(Attribution {
                    relation: predicate.name.clone(),
                    label: predicate
                        .hypothesis
                        .clone()
                        .unwrap_or_else(|| predicate.name.clone()),
                    candidate,
                    kind: CandidateKind::for_column(column),
                    fact: fact_text,
                    confidence,
                    likelihood: likelihood(confidence).to_owned(),
                    status: if confidence >= options.threshold {
                        "concluded"
                    } else {
                        "below_threshold"
                    }
                    .to_owned(),
                    sources: sources.of(fact).into_iter().map(str::to_owned).collect(),
                    sentence: explanation.root.sentence.clone(),
                    explanation: render::text(&explanation),
                });
            }
        }
        out.push(Incident {
            name: name(model.interner().value(incident)),
            attributions,
            findings,
        });
    }
    Ok(Conclusions {
        as_of,
        incidents: out,
    })
}

/// Orders incidents by value (the pair with the id is what decides equality).
struct Rank(Value);

impl PartialEq for Rank {
    fn eq(&self, other: &Rank) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Rank {}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Rank) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rank {
    fn cmp(&self, other: &Rank) -> std::cmp::Ordering {
        self.0.sort_cmp(&other.0)
    }
}
