//! Explanations: why a fact holds, as a tree of derivations down to sourced input facts.
//!
//! Trees are built on demand from the best derivation each fact recorded during
//! evaluation ([`explain`]); [`render`] prints them as indented text, JSON or Graphviz
//! DOT. Building a tree reads the model and never changes it.

pub mod critical;
pub mod defeat;
pub mod estimative;
pub mod flagged;
mod matcher;
pub mod render;
pub mod sentence;
pub mod support;
mod tree;
pub mod why_not;

pub use defeat::{defeats, defeats_through, Defeat};
pub use estimative::likelihood;
pub use tree::{AggregateNode, Explanation, Node, Via, Weakest};
pub use why_not::{why_not, Blocked, WhyNot};

pub use tree::LineNode;
pub(crate) use tree::{fact_text, round, value_json};

use crate::eval::{FactId, Model};
use crate::program::Program;

/// The derivation tree of a fact of the model.
pub fn explain(program: &Program, model: &Model, fact: FactId) -> Explanation {
    let mut builder = tree::Builder::new(program, model);
    Explanation::new(builder.node(fact))
}

/// The text explanation of a ground fact written as in a rule file, or `None` if the
/// text is not a ground atom of the program or the fact was not derived.
pub fn explain_text(program: &Program, model: &Model, fact: &str) -> Option<String> {
    let pattern = crate::query::Pattern::parse_unchecked(program, model, fact)?;
    let found = pattern.ground_fact(model)?;
    Some(render::text(&explain(program, model, found)))
}
