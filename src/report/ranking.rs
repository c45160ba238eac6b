//! Rankings in the report: per incident, the facts of each `@ranking` relation ordered
//! by their score (last column), best first, each with the facts of its detail relation
//! that share its first two columns (what the score is made of).

use serde::Serialize;

use crate::eval::{FactId, Model};
use crate::program::{PredId, Program};
use crate::value::{Value, ValueId};

/// How many candidates of a ranking the report lists; the others are counted.
pub const SHOWN: usize = 10;

/// One ranking relation's candidates for one incident.
#[derive(Clone, Debug, Serialize)]
pub struct RankingReport {
    /// The relation.
    pub relation: String,
    /// Its `@ranking` label.
    pub label: String,
    /// How many candidates the relation has for the incident.
    pub total: usize,
    /// The best [`SHOWN`] of them, best first (ties by candidate text).
    pub candidates: Vec<Ranked>,
}

/// One ranked candidate.
#[derive(Clone, Debug, Serialize)]
pub struct Ranked {
    /// 1 for the best.
    pub rank: usize,
    /// The columns between the incident and the score, separated by spaces.
    pub candidate: String,
    /// The score (the last column).
    pub score: f64,
    /// The detail facts, each as its columns after the first two, most weighty first
    /// (by their last column when it is a number).
    pub items: Vec<String>,
}

/// A value as shown in a ranking: text without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::Text(text) => text.to_string(),
        other => other.to_string(),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// Every `@ranking` relation of the program, in declaration order.
pub fn relations(program: &Program) -> Vec<PredId> {
    (0..program.predicates().len() as u32)
        .map(PredId)
        .filter(|&p| program.predicate(p).ranking.is_some())
        .collect()
}

/// The incidents some ranking fact names.
pub fn incidents(model: &Model, relations: &[PredId]) -> Vec<ValueId> {
    relations
        .iter()
        .flat_map(|&p| model.sorted_facts(p))
        .map(|f| model.tuple(f)[0])
        .collect()
}

/// The rankings of one incident.
pub fn rank(
    program: &Program,
    model: &Model,
    relations: &[PredId],
    incident: ValueId,
) -> Vec<RankingReport> {
    let interner = model.interner();
    relations
        .iter()
        .map(|&p| {
            let predicate = program.predicate(p);
            let ranking = predicate
                .ranking
                .as_ref()
                .expect("ranking relations have `@ranking`");
            let arity = predicate.arity;
            let mut rows: Vec<(f64, String, FactId)> = model
                .sorted_facts(p)
                .into_iter()
                .filter(|&f| model.tuple(f)[0] == incident)
                .map(|f| {
                    let tuple = model.tuple(f);
                    let score = number(interner.value(tuple[arity - 1])).unwrap_or(0.0);
                    let candidate = tuple[1..arity - 1]
                        .iter()
                        .map(|&v| plain(interner.value(v)))
                        .collect::<Vec<_>>()
                        .join(" ");
                    (score, candidate, f)
                })
                .collect();
            rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let total = rows.len();
            let detail_facts: Vec<FactId> = ranking
                .detail
                .map(|d| model.sorted_facts(d))
                .unwrap_or_default();
            let candidates = rows
                .into_iter()
                .take(SHOWN)
                .enumerate()
                .map(|(i, (score, candidate, fact))| {
                    let key = &model.tuple(fact)[..2];
                    let mut items: Vec<(f64, String)> = detail_facts
                        .iter()
                        .map(|&d| model.tuple(d))
                        .filter(|t| &t[..2] == key)
                        .map(|t| {
                            let weight = t
                                .last()
                                .and_then(|&v| number(interner.value(v)))
                                .unwrap_or(0.0);
                            let text = t[2..]
                                .iter()
                                .map(|&v| match interner.value(v) {
                                    Value::Float(x) => format!("{x:.3}"),
                                    other => plain(other),
                                })
                                .collect::<Vec<_>>()
                                .join(" ");
                            (weight, text)
                        })
                        .collect();
                    items.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                    Ranked {
                        rank: i + 1,
                        candidate,
                        score,
                        items: items.into_iter().map(|(_, text)| text).collect(),
                    }
                })
                .collect();
            RankingReport {
                relation: predicate.name.clone(),
                label: ranking.label.clone(),
                total,
                candidates,
            }
        })
        .collect()
}
