//! Explanations: why a fact holds, as a tree of derivations down to sourced input facts.
//!
//! Trees are built on demand from the best derivation each fact recorded during
//! evaluation ([`explain`]); [`render`] prints them as indented text, JSON or Graphviz
//! DOT. Building a tree reads the model and never changes it.

pub mod budget;
pub mod critical;
pub mod defeat;
pub mod estimative;
pub mod flagged;
mod matcher;
pub mod reconstruct;
pub mod render;
pub mod sentence;
pub mod sources;
pub mod support;
mod tree;
pub mod why_not;

pub use defeat::{defeats, defeats_through, Defeat};
pub use estimative::likelihood;
pub use tree::{AggregateNode, Explanation, Node, Via, Weakest, DEFAULT_DEPTH, MAX_DEPTH};
pub use why_not::{why_not, Blocked, WhyNot};

pub use tree::LineNode;
pub(crate) use tree::{fact_text, round, value_json};

use crate::eval::{FactId, Model};
use crate::program::Program;

/// The derivation tree of a fact of the model, expanded [`DEFAULT_DEPTH`] levels deep.
pub fn explain(program: &Program, model: &Model, fact: FactId) -> Explanation {
    explain_to_depth(program, model, fact, DEFAULT_DEPTH)
}

/// The derivation tree of a fact of the model, expanded `depth` levels deep (at most
/// [`MAX_DEPTH`]); derived facts at that depth are shown as [`Via::Deeper`].
pub fn explain_to_depth(
    program: &Program,
    model: &Model,
    fact: FactId,
    depth: usize,
) -> Explanation {
    let mut builder = tree::Builder::new(program, model).with_depth(depth);
    let mut explanation = Explanation::new(builder.node(fact));
    explanation.relation_doc = program.predicate(fact.predicate).doc.clone();
    explanation
}

/// Explains many facts of one model: [`explain`] for each, sharing what building a
/// tree prepares (a copy of the model's values, the indexes the matcher builds), which
/// for a large model costs more than the tree itself.
pub struct Explainer<'a> {
    builder: tree::Builder<'a>,
}

impl<'a> Explainer<'a> {
    /// An explainer of facts of `model`, evaluated from `program`.
    pub fn new(program: &'a Program, model: &'a Model) -> Explainer<'a> {
        Explainer {
            builder: tree::Builder::new(program, model),
        }
    }

    /// The derivation tree of `fact`, the same as [`explain`] gives.
    pub fn explain(&mut self, fact: FactId) -> Explanation {
        self.builder.start_tree();
        Explanation::new(self.builder.node(fact))
    }
}

/// The text explanation of a ground fact written as in a rule file, or `None` if the
/// text is not a ground atom of the program or the fact was not derived.
pub fn explain_text(program: &Program, model: &Model, fact: &str) -> Option<String> {
    let pattern = crate::query::Pattern::parse_unchecked(program, model, fact)?;
    let found = pattern.ground_fact(model)?;
    Some(render::text(&explain(program, model, found)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Sources;
    use crate::eval::{evaluate, EvalOptions};

    #[test]
    fn an_explainer_gives_each_tree_as_explain_does() {
        // Two trees sharing a premise: the second must expand it again, not show it
        // as "shown above" from the first.
        let text = r#"
            a(1) @source("A") @confidence(0.9).
            p(X) :- a(X).
            q(X) :- p(X), a(X).
            r(X) :- p(X).
        "#;
        let mut sources = Sources::default();
        let id = sources.add("t.rules", text);
        let (module, errors) = crate::parse(id, text);
        assert!(errors.is_empty(), "{errors:?}");
        let program = Program::from_modules(&[module], Vec::new(), &sources).expect("valid");
        let model = evaluate(&program, &EvalOptions::default());
        let mut explainer = Explainer::new(&program, &model);
        for fact in ["q(1)", "r(1)", "q(1)"] {
            let pattern =
                crate::query::Pattern::parse_unchecked(&program, &model, fact).expect("ground");
            let found = pattern.ground_fact(&model).expect("derived");
            let alone = render::text(&explain(&program, &model, found));
            assert_eq!(render::text(&explainer.explain(found)), alone, "{fact}");
            assert!(!alone.contains("shown above") || fact == "q(1)", "{alone}");
        }
    }
}
