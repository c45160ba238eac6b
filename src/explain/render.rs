//! Printing explanations: indented text (the default), JSON, and Graphviz DOT.
//!
//! All three are deterministic: the same tree prints byte for byte the same.

use std::fmt::Write;

use indexmap::IndexMap;

use super::tree::{Explanation, Node, Via};

/// A confidence as printed: three decimals.
pub fn confidence(x: f64) -> String {
    format!("{x:.3}")
}

enum Item<'a> {
    Node(&'a Node),
    Line(String),
    /// A node printed after a label (a line of a combined fact).
    Labeled(String, &'a Node),
}

fn write_node(out: &mut String, node: &Node, first: &str, rest: &str) {
    let _ = writeln!(
        out,
        "{first}{}  [{} {}]",
        node.fact,
        confidence(node.confidence),
        node.likelihood
    );
    let mut items: Vec<Item<'_>> = Vec::new();
    // The sentence first, for the reader; the rule and its instance after, for the
    // auditor.
    let mut details: Vec<String> = node.sentence.iter().cloned().collect();
    match &node.via {
        Via::Input {
            source,
            location,
            since,
            until,
            ..
        } => {
            if source == location {
                details.push(format!("input fact at {location}"));
            } else {
                details.push(format!("source: {source}"));
                details.push(format!("at {location}"));
            }
            match (since, until) {
                (Some(since), Some(until)) => {
                    details.push(format!("holds from {since} to {until}"))
                }
                (Some(since), None) => details.push(format!("holds from {since}")),
                (None, Some(until)) => details.push(format!("holds until {until}")),
                (None, None) => {}
            }
        }
        Via::Combined { formula, lines, .. } => {
            let counted = lines.iter().filter(|l| l.counted).count();
            details.push(format!(
                "combined (noisy-or) from {counted} independent line{} of {}: {formula}",
                if counted == 1 { "" } else { "s" },
                lines.len()
            ));
            for (i, line) in lines.iter().enumerate() {
                let label = match &line.shares {
                    None if line.counted => format!("line {}, counted: ", i + 1),
                    Some(source) => format!(
                        "line {}, not counted (shares the source \"{source}\" with a line above): ",
                        i + 1
                    ),
                    None => format!("line {}, not counted: ", i + 1),
                };
                items.push(Item::Labeled(label, &line.node));
            }
        }
        Via::ShownAbove => details.push("(derivation shown above)".to_string()),
        Via::Unrecorded => {
            details.push("(derivation not recorded: evaluated with --no-explain)".to_string())
        }
        Via::Rule {
            rule,
            strength,
            instance,
            premises,
            absent,
            conditions,
            aggregates,
            ..
        } => {
            details.push(format!("by rule \"{rule}\" (strength {strength}):"));
            details.push(format!("  {instance}"));
            items.extend(premises.iter().map(Item::Node));
            for aggregate in aggregates {
                let mut line = format!("{}  (value {})", aggregate.literal, aggregate.value);
                for fact in &aggregate.over {
                    let _ = write!(line, "\n- {fact}");
                }
                items.push(Item::Line(line));
            }
            for condition in conditions {
                items.push(Item::Line(format!("{condition}  (holds)")));
            }
            for atom in absent {
                items.push(Item::Line(format!(
                    "not {atom}  (no such fact was derived)"
                )));
            }
        }
    }
    let bar = if items.is_empty() { "   " } else { "│  " };
    for detail in details {
        let _ = writeln!(out, "{rest}{bar}{detail}");
    }
    let count = items.len();
    for (i, item) in items.into_iter().enumerate() {
        let last = i + 1 == count;
        let (head, tail) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        match item {
            Item::Node(child) => write_node(
                out,
                child,
                &format!("{rest}{head}"),
                &format!("{rest}{tail}"),
            ),
            Item::Labeled(label, child) => write_node(
                out,
                child,
                &format!("{rest}{head}{label}"),
                &format!("{rest}{tail}"),
            ),
            Item::Line(text) => {
                let mut lines = text.lines();
                if let Some(first_line) = lines.next() {
                    let _ = writeln!(out, "{rest}{head}{first_line}");
                }
                for line in lines {
                    let _ = writeln!(out, "{rest}{tail}  {line}");
                }
            }
        }
    }
}

/// The explanation as an indented tree.
pub fn text(explanation: &Explanation) -> String {
    let mut out = String::new();
    write_node(&mut out, &explanation.root, "", "");
    if let Some(weakest) = &explanation.weakest {
        let _ = writeln!(
            out,
            "weakest evidence: {}  [{} {}]  source: {}",
            weakest.fact,
            confidence(weakest.confidence),
            weakest.likelihood(),
            weakest.source
        );
    }
    out
}

/// The explanation as pretty-printed JSON (schema in the README).
pub fn json(explanation: &Explanation) -> String {
    serde_json::to_string_pretty(explanation)
        .expect("explanations serialise: no maps with non-string keys")
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `text` broken into lines of at most `width` characters where it has spaces (a longer
/// word keeps its own line), for a DOT label.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        let length = word.chars().count();
        if line > 0 && line + 1 + length > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += length;
    }
    out
}

/// The explanation as a Graphviz digraph: one box per fact, edges from premises to
/// conclusions labelled with the rule.
pub fn dot(explanation: &Explanation) -> String {
    let mut ids: IndexMap<String, usize> = IndexMap::new();
    let mut nodes = String::new();
    let mut edges = String::new();
    fn walk(
        node: &Node,
        ids: &mut IndexMap<String, usize>,
        nodes: &mut String,
        edges: &mut String,
    ) -> usize {
        if let Some(&id) = ids.get(&node.fact) {
            return id;
        }
        let id = ids.len();
        ids.insert(node.fact.clone(), id);
        let detail = match (&node.via, &node.sentence) {
            (Via::Input { source, .. }, _) => format!("\\n{}", dot_escape(source)),
            (_, Some(sentence)) => format!("\\n{}", dot_escape(&wrap(sentence, 48))),
            _ => String::new(),
        };
        let shape = if matches!(node.via, Via::Input { .. }) {
            "note"
        } else {
            "box"
        };
        let _ = writeln!(
            nodes,
            "  f{id} [shape={shape}, label=\"{}\\n{} {}{detail}\"];",
            dot_escape(&node.fact),
            confidence(node.confidence),
            node.likelihood
        );
        if let Via::Combined { lines, .. } = &node.via {
            for (i, line) in lines.iter().enumerate() {
                if let Via::Rule { rule, premises, .. } = &line.node.via {
                    for premise in premises {
                        let child = walk(premise, ids, nodes, edges);
                        let style = if line.counted { "solid" } else { "dotted" };
                        let _ = writeln!(
                            edges,
                            "  f{child} -> f{id} [style={style}, label=\"line {}: {}\"];",
                            i + 1,
                            dot_escape(rule)
                        );
                    }
                }
            }
        }
        if let Via::Rule {
            rule,
            premises,
            absent,
            ..
        } = &node.via
        {
            for premise in premises {
                let child = walk(premise, ids, nodes, edges);
                let _ = writeln!(
                    edges,
                    "  f{child} -> f{id} [label=\"{}\"];",
                    dot_escape(rule)
                );
            }
            for (i, atom) in absent.iter().enumerate() {
                let _ = writeln!(
                    nodes,
                    "  f{id}_not{i} [shape=box, style=dashed, label=\"not {}\"];",
                    dot_escape(atom)
                );
                let _ = writeln!(
                    edges,
                    "  f{id}_not{i} -> f{id} [style=dashed, label=\"{}\"];",
                    dot_escape(rule)
                );
            }
        }
        id
    }
    walk(&explanation.root, &mut ids, &mut nodes, &mut edges);
    format!("digraph explanation {{\n  rankdir=BT;\n  node [fontname=\"Helvetica\"];\n{nodes}{edges}}}\n")
}
