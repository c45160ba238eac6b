//! The sources a conclusion rests on: the `@source` texts of the input facts at the
//! leaves of its best derivation, for output that keeps them (`run --output`, JSON,
//! STIX export).
//!
//! Each fact's list is computed once and shared by every fact that reads it, so a whole
//! model costs one pass over its recorded derivations. Lists keep the order in which a
//! depth-first walk of the derivation tree (premises in rule order) first meets each
//! source, without repeats. Input facts without an `@source` (a row of a TSV file)
//! contribute nothing: their place in a file is not a source.

use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::eval::{Derivation, FactId, Model};
use crate::program::Program;

/// The `@source`s of the best derivation of facts of one model, computed on demand
/// and remembered.
pub struct BestSources<'a> {
    program: &'a Program,
    model: &'a Model,
    /// Each fact's sources, as indexes into `names`.
    memo: FxHashMap<FactId, Rc<[u32]>>,
    /// The distinct source texts met so far, and their indexes.
    names: Vec<&'a str>,
    index: FxHashMap<&'a str, u32>,
    /// Whether some input fact has a source: without one every list is empty, and no
    /// derivation is read (a model of TSV rows has millions).
    sourced: bool,
    /// The empty list, shared.
    none: Rc<[u32]>,
}

impl<'a> BestSources<'a> {
    /// An empty memo over `model`, evaluated from `program`.
    pub fn new(program: &'a Program, model: &'a Model) -> BestSources<'a> {
        BestSources {
            program,
            model,
            memo: FxHashMap::default(),
            names: Vec::new(),
            index: FxHashMap::default(),
            sourced: program.facts().iter().any(|fact| fact.source().is_some()),
            none: Rc::new([]),
        }
    }

    /// The sources of `fact`'s best derivation, in tree order. Empty for a derived fact
    /// when derivations were not recorded.
    pub fn of(&mut self, fact: FactId) -> Vec<&'a str> {
        let ids = self.ids(fact);
        ids.iter().map(|&i| self.names[i as usize]).collect()
    }

    fn name_id(&mut self, name: &'a str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name);
        self.index.insert(name, id);
        id
    }

    fn ids(&mut self, fact: FactId) -> Rc<[u32]> {
        if !self.sourced {
            return self.none.clone();
        }
        if let Some(ids) = self.memo.get(&fact) {
            return ids.clone();
        }
        let (program, model) = (self.program, self.model);
        let ids: Rc<[u32]> = match model.derivation(program, fact) {
            Derivation::Input(index) => match program.facts()[index].source() {
                Some(name) => Rc::new([self.name_id(name)]),
                None => Rc::new([]),
            },
            Derivation::Unrecorded => Rc::new([]),
            Derivation::Rule { rule, premises } => {
                let premise_facts: Vec<FactId> = program
                    .rule(rule)
                    .positive_atoms()
                    .zip(&premises)
                    .map(|(atom, &row)| FactId {
                        predicate: atom.predicate,
                        row,
                    })
                    .collect();
                let mut all: Vec<u32> = Vec::new();
                let mut only: Option<Rc<[u32]>> = None;
                for premise in premise_facts {
                    let ids = self.ids(premise);
                    if ids.is_empty() {
                        continue;
                    }
                    match &only {
                        // One premise with sources: share its list.
                        None if all.is_empty() => only = Some(ids),
                        _ => {
                            if let Some(first) = only.take() {
                                all.extend(first.iter());
                            }
                            for id in ids.iter() {
                                if !all.contains(id) {
                                    all.push(*id);
                                }
                            }
                        }
                    }
                }
                match only {
                    Some(ids) => ids,
                    None => all.into(),
                }
            }
        };
        self.memo.insert(fact, ids.clone());
        ids
    }
}

/// Sources joined into the one `@source` text a loaded fact carries: `"; "` between
/// them; `None` when there are none.
pub fn joined(sources: &[&str]) -> Option<String> {
    (!sources.is_empty()).then(|| sources.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Sources;
    use crate::eval::{evaluate, EvalOptions};

    fn check(text: &str, fact: &str, expected: &[&str]) {
        let mut sources = Sources::default();
        let id = sources.add("t.rules", text);
        let (module, errors) = crate::parse(id, text);
        assert!(errors.is_empty(), "{errors:?}");
        let program = Program::from_modules(&[module], Vec::new(), &sources).expect("valid");
        let model = evaluate(&program, &EvalOptions::default());
        let pattern =
            crate::query::Pattern::parse_unchecked(&program, &model, fact).expect("a ground atom");
        let found = pattern.ground_fact(&model).expect("derived");
        let mut best = BestSources::new(&program, &model);
        assert_eq!(best.of(found), expected);
        // Asked again, from the memo.
        assert_eq!(best.of(found), expected);
    }

    #[test]
    fn sources_follow_the_tree_without_repeats() {
        let rules = r#"
            a(1) @source("A").
            b(1) @source("B") @confidence(0.5).
            c(1).
            d(1) @source("A").
            p(X) :- a(X), b(X), c(X), d(X).
            q(X) :- p(X), b(X).
            r(X) :- c(X).
        "#;
        check(rules, "p(1)", &["A", "B"]);
        check(rules, "q(1)", &["A", "B"]);
        check(rules, "r(1)", &[]);
        check(rules, "b(1)", &["B"]);
    }

    #[test]
    fn the_best_derivation_is_the_one_followed() {
        check(
            r#"
            weak(1) @source("W") @confidence(0.3).
            strong(1) @source("S") @confidence(0.9).
            p(X) :- weak(X).
            p(X) :- strong(X).
            "#,
            "p(1)",
            &["S"],
        );
    }
}
