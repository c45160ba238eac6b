//! Golden files of conclusions: the stable text of a model's derived facts, one fact a
//! line with its confidence and ICD 203 term, read back and compared.
//!
//! The text is sorted (relations by name, facts by value, as `ascribe run` prints them)
//! so that a change to a rule set shows in a review as the lines it adds, removes or
//! changes. [`conclusions`] is the same text for a Rust user's own `insta` snapshots.

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, SourceId, Span};
use crate::eval::Model;
use crate::explain::render::confidence;
use crate::explain::{fact_text, likelihood};
use crate::program::{PredId, Program};

/// The first line of every golden file ascribe writes; a file without it was not
/// written by ascribe and is never overwritten.
pub const HEADER: &str = "# ascribe snapshot";

/// The derived facts of `relations` (every derived relation when empty), one a line:
/// `fact  [0.857 very likely]`, relations by name, facts by value.
pub fn conclusions(program: &Program, model: &Model, relations: &[PredId]) -> String {
    let mut selected: Vec<PredId> = if relations.is_empty() {
        (0..program.predicates().len() as u32)
            .map(PredId)
            .filter(|&p| program.predicate(p).derived)
            .collect()
    } else {
        relations.to_vec()
    };
    selected.sort_by(|a, b| program.predicate(*a).name.cmp(&program.predicate(*b).name));
    selected.dedup();
    let mut out = String::new();
    for predicate in selected {
        for fact in model.sorted_facts(predicate) {
            let c = model.confidence(fact);
            out.push_str(&fact_text(
                program,
                model.interner(),
                predicate,
                model.tuple(fact),
            ));
            out.push_str("  [");
            out.push_str(&confidence(c));
            out.push(' ');
            out.push_str(likelihood(c));
            out.push_str("]\n");
        }
    }
    out
}

/// One line of a golden file: a fact and how it was concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The fact as written in a rule file.
    pub fact: String,
    /// `0.857 very likely`.
    pub confidence: String,
    /// 1-based line number in the file it was read from.
    pub line: usize,
}

/// Splits conclusion text into lines keyed by fact; comment (`#`) and blank lines are
/// skipped. A line that is not `fact  [confidence term]` is an `E0703` diagnostic.
pub fn parse(source: SourceId, text: &str) -> (BTreeMap<String, Line>, Vec<Diagnostic>) {
    let mut lines = BTreeMap::new();
    let mut diagnostics = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line
            .rsplit_once("  [")
            .and_then(|(fact, rest)| Some((fact, rest.strip_suffix(']')?)))
            .filter(|(fact, rest)| {
                fact.ends_with(')')
                    && fact.contains('(')
                    && rest.split_once(' ').is_some_and(|(number, term)| {
                        number.parse::<f64>().is_ok() && TERMS.contains(&term)
                    })
            });
        match parsed {
            Some((fact, rest)) => {
                let entry = Line {
                    fact: fact.to_string(),
                    confidence: rest.to_string(),
                    line: index + 1,
                };
                if let Some(first) = lines.insert(fact.to_string(), entry) {
                    diagnostics.push(
                        Diagnostic::error(
                            "E0703",
                            format!("`{fact}` is listed twice"),
                            Span::new(source, start, start + line.len()),
                        )
                        .with_note(format!("first listed on line {}", first.line))
                        .with_help(
                            "remove one line, or rewrite the file with `ascribe test --accept`",
                        ),
                    );
                }
            }
            None => diagnostics.push(
                Diagnostic::error(
                    "E0703",
                    "not a line of conclusions",
                    Span::new(source, start, start + line.len()),
                )
                .with_label("expected `fact(args)  [0.857 very likely]`")
                .with_help("fix the line, or rewrite the file with `ascribe test --accept`"),
            ),
        }
    }
    (lines, diagnostics)
}

/// The seven ICD 203 terms, least likely first.
pub const TERMS: [&str; 7] = [
    "almost no chance",
    "very unlikely",
    "unlikely",
    "roughly even chance",
    "likely",
    "very likely",
    "almost certain",
];

/// How one conclusion moved between a golden file (or an old rule set) and now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Concluded now, not before.
    Added {
        /// The fact.
        fact: String,
        /// Its confidence and term now.
        now: String,
    },
    /// Concluded before, not now.
    Removed {
        /// The fact.
        fact: String,
        /// Its confidence and term before.
        before: String,
    },
    /// Concluded both times with another confidence.
    Changed {
        /// The fact.
        fact: String,
        /// Before.
        before: String,
        /// Now.
        now: String,
    },
}

impl Change {
    /// The fact that moved.
    pub fn fact(&self) -> &str {
        match self {
            Change::Added { fact, .. }
            | Change::Removed { fact, .. }
            | Change::Changed { fact, .. } => fact,
        }
    }

    /// One line: `+ fact  [now]`, `- fact  [before]`, `~ fact  [before] -> [now]`.
    pub fn line(&self) -> String {
        match self {
            Change::Added { fact, now } => format!("+ {fact}  [{now}]"),
            Change::Removed { fact, before } => format!("- {fact}  [{before}]"),
            Change::Changed { fact, before, now } => format!("~ {fact}  [{before}] -> [{now}]"),
        }
    }
}

/// The changes from `before` to `now`, in fact order.
pub fn diff(before: &BTreeMap<String, Line>, now: &BTreeMap<String, Line>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (fact, old) in before {
        match now.get(fact) {
            None => changes.push(Change::Removed {
                fact: fact.clone(),
                before: old.confidence.clone(),
            }),
            Some(new) if new.confidence != old.confidence => changes.push(Change::Changed {
                fact: fact.clone(),
                before: old.confidence.clone(),
                now: new.confidence.clone(),
            }),
            Some(_) => {}
        }
    }
    for (fact, new) in now {
        if !before.contains_key(fact) {
            changes.push(Change::Added {
                fact: fact.clone(),
                now: new.confidence.clone(),
            });
        }
    }
    changes.sort_by(|a, b| a.fact().cmp(b.fact()));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Sources;

    fn lines(text: &str) -> BTreeMap<String, Line> {
        let mut sources = Sources::default();
        let id = sources.add("g.txt", text);
        let (lines, diagnostics) = parse(id, text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        lines
    }

    #[test]
    fn diff_names_added_removed_and_changed_facts() {
        let before = lines("# ascribe snapshot\np(a)  [0.900 very likely]\np(b)  [0.500 roughly even chance]\nq(x, \"y z\")  [1.000 almost certain]\n");
        let now = lines("p(a)  [0.700 likely]\nq(x, \"y z\")  [1.000 almost certain]\nr(c)  [0.100 very unlikely]\n");
        let changes: Vec<String> = diff(&before, &now).iter().map(Change::line).collect();
        assert_eq!(
            changes,
            [
                "~ p(a)  [0.900 very likely] -> [0.700 likely]",
                "- p(b)  [0.500 roughly even chance]",
                "+ r(c)  [0.100 very unlikely]",
            ]
        );
    }

    #[test]
    fn malformed_lines_are_diagnosed_with_their_place() {
        let text = "# ascribe snapshot\np(a)  [0.9 very likely]\np(a) 0.9\np(b)  [0.9 sure]\np(a)  [0.5 unlikely]\n";
        let mut sources = Sources::default();
        let id = sources.add("g.txt", text);
        let (lines, diagnostics) = parse(id, text);
        assert_eq!(lines.len(), 1);
        let found: Vec<String> = diagnostics
            .iter()
            .map(|d| {
                let span = d.primary.as_ref().expect("placed").span;
                format!("{} {}", sources.location(span), d.message)
            })
            .collect();
        assert_eq!(
            found,
            [
                "g.txt:3:1 not a line of conclusions",
                "g.txt:4:1 not a line of conclusions",
                "g.txt:5:1 `p(a)` is listed twice",
            ]
        );
    }
}
