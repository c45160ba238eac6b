//! Sentences: a rule's `@explain` template filled in with the values of one derivation,
//! and the prose form of an explanation, its sentences from the conclusion down to the
//! sourced evidence.
//!
//! Values read as they would in prose: text (symbols and strings) as it is, without
//! quotes; dates as `YYYY-MM-DD`; numbers as written in a rule file. `{confidence}` has
//! three decimals, like every confidence printed, and `{likelihood}` is its ICD 203 term.

use std::fmt::Write as _;

use super::estimative::likelihood;
use super::tree::{Explanation, Node, Via};
use crate::program::template::{Extra, Piece};
use crate::program::{Bindings, Template};
use crate::value::{Interner, Value};

/// `template` with this derivation's values: `bindings` by variable, `confidence` the
/// derived fact's. A variable without a value (which lowering rules out for a recorded
/// derivation) is written as its placeholder.
pub fn render(
    template: &Template,
    variables: &[String],
    bindings: &Bindings,
    interner: &Interner,
    confidence: f64,
) -> String {
    let mut out = String::new();
    for piece in &template.pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Var(var) => match bindings.get(var.0 as usize).copied().flatten() {
                Some(value) => write_value(&mut out, interner.value(value)),
                None => {
                    let _ = write!(out, "{{{}}}", variables[var.0 as usize]);
                }
            },
            Piece::Extra(Extra::Confidence) => {
                let _ = write!(out, "{}", super::render::confidence(confidence));
            }
            Piece::Extra(Extra::Likelihood) => out.push_str(likelihood(confidence)),
        }
    }
    out
}

/// A value as it reads in a sentence.
fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Text(text) => out.push_str(text),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// The explanation as one paragraph: the sentence of every node derived by a rule with a
/// template, depth first from the conclusion (a fact already put in words is not said
/// again), each followed by the sources of the uncertain input facts it rests on through
/// premises that have no sentence of their own. A conclusion whose rule has no template
/// is stated as the fact with its likelihood and confidence.
pub fn prose(explanation: &Explanation) -> String {
    let mut sentences = Vec::new();
    let root = &explanation.root;
    if root.sentence.is_none() {
        let mut sources = Vec::new();
        evidence(root, &mut sources, true);
        sentences.push(with_sources(
            format!(
                "{} holds ({}, {}).",
                root.fact,
                root.likelihood,
                super::render::confidence(root.confidence)
            ),
            &sources,
        ));
    }
    said(root, &mut sentences);
    let mut out = sentences.join(" ");
    out.push('\n');
    out
}

/// Appends the sentences of `node` and of the nodes below it.
fn said(node: &Node, sentences: &mut Vec<String>) {
    if let Some(sentence) = &node.sentence {
        let mut sources = Vec::new();
        evidence(node, &mut sources, true);
        sentences.push(with_sources(sentence.clone(), &sources));
    }
    match &node.via {
        Via::Rule { premises, .. } => premises.iter().for_each(|p| said(p, sentences)),
        Via::Combined { lines, .. } => {
            for (i, line) in lines.iter().enumerate().filter(|(_, l)| l.counted) {
                // The best line's sentence is the combined fact's own, said above with
                // the combined confidence; the other lines follow with their own.
                if i > 0 || node.sentence.is_none() {
                    if let Some(sentence) = &line.node.sentence {
                        let mut sources = Vec::new();
                        evidence(&line.node, &mut sources, true);
                        sentences.push(with_sources(sentence.clone(), &sources));
                    }
                }
                if let Via::Rule { premises, .. } = &line.node.via {
                    premises.iter().for_each(|p| said(p, sentences));
                }
            }
        }
        _ => {}
    }
}

/// The sources of the uncertain input facts under `node` reached through nodes without
/// a sentence (`top`: `node` itself is the one being said), in tree order, once each.
/// A fact already expanded above adds nothing: its sources were given there.
fn evidence(node: &Node, sources: &mut Vec<String>, top: bool) {
    if !top && node.sentence.is_some() {
        return;
    }
    match &node.via {
        Via::Input { source, .. } => {
            // A graded fact says so beside its source: the grade is what the number was.
            let source = match &node.grade {
                Some(grade) => format!("{source} (graded {grade}, {:.3})", node.confidence),
                None => source.clone(),
            };
            if node.confidence < 1.0 && !sources.contains(&source) {
                sources.push(source);
            }
        }
        Via::Rule { premises, .. } => premises.iter().for_each(|p| evidence(p, sources, false)),
        // A combined fact's sentence is its best line's: so is its evidence.
        Via::Combined { lines, .. } if top => {
            if let Some(best) = lines.first() {
                evidence(&best.node, sources, true);
            }
        }
        Via::Combined { .. } | Via::ShownAbove | Via::Unrecorded | Via::Deeper { .. } => {}
    }
}

/// `sentence` followed by `Source: ...` (or `Sources: a; b.`) when there are any.
fn with_sources(sentence: String, sources: &[String]) -> String {
    if sources.is_empty() {
        return sentence;
    }
    let list = sources.join("; ");
    let end = if list.ends_with('.') { "" } else { "." };
    format!(
        "{sentence} Source{}: {list}{end}",
        if sources.len() == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Sources;
    use crate::eval::{evaluate, EvalOptions};
    use crate::program::lower;
    use crate::query::Pattern;
    use crate::syntax::parse;

    /// Evaluates `rules`, explains `fact` and compares the sentence at its root.
    fn check(rules: &str, fact: &str, expected: Option<&str>) {
        let mut sources = Sources::default();
        let id = sources.add("t.rules", rules);
        let (module, errors) = parse(id, rules);
        assert!(errors.is_empty(), "{errors:?}");
        let (program, diagnostics) = lower(&[module], Vec::new(), &sources);
        let program = program.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let model = evaluate(&program, &EvalOptions::default());
        let pattern = Pattern::parse(&program, &model, &mut sources, fact).expect("a fact");
        let found = pattern.ground_fact(&model).expect("derived");
        let explanation = crate::explain::explain(&program, &model, found);
        assert_eq!(explanation.root.sentence.as_deref(), expected, "{fact}");
    }

    #[test]
    fn values_read_as_prose() {
        let rules = r#"
            claims(gcsb, "APT 40", 2024-03-26, 3) @confidence(0.9).
            @explain("{G} did it, said {S} on {D} ({N} times; {likelihood}, {confidence}; {{sic}})")
            did(S, G, D, N) :- claims(S, G, D, N).
        "#;
        check(
            rules,
            r#"did(gcsb, "APT 40", 2024-03-26, 3)"#,
            Some("APT 40 did it, said gcsb on 2024-03-26 (3 times; very likely, 0.900; {sic})"),
        );
    }

    #[test]
    fn assignment_and_aggregate_results_have_values() {
        let rules = r#"
            seen(a, 1.5). seen(a, 2.0). seen(b, 4.0).
            @explain("{X} was seen {N} times, {T} in all, twice that {D}")
            total(X, N, T, D) :- seen(X, _), N = count(V : seen(X, V)), T = sum(W : seen(X, W)),
                                 D = T * 2.
        "#;
        check(
            rules,
            "total(a, 2, 3.5, 7.0)",
            Some("a was seen 2 times, 3.5 in all, twice that 7.0"),
        );
    }

    #[test]
    fn a_rule_without_template_has_no_sentence() {
        check("p(a). q(X) :- p(X).", "q(a)", None);
    }
}
