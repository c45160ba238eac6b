//! Printing explanations: indented text (the default), JSON, and Graphviz DOT.
//!
//! All three are deterministic: the same tree prints byte for byte the same.

use std::fmt::Write;

use indexmap::IndexMap;
use serde::Serialize;

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

/// A `///` comment on one line: its lines joined by spaces.
pub fn one_line(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Levels of guides drawn before they start again at the left margin: past it, each
/// line begins with the level it continues from, so a line's width does not grow with
/// the tree's depth (a 10,000-step chain would otherwise print gigabytes of guides).
const GUIDE_LEVELS: usize = 24;

/// Writes `node` at `depth` levels below the root; `first` starts its first line,
/// `rest` its other lines.
fn write_node(out: &mut String, node: &Node, first: &str, rest: &str, depth: usize) {
    let graded = match &node.grade {
        Some(grade) => format!(", graded {grade}"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "{first}{}  [{} {}{graded}]",
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
            given_despite,
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
            if let Some(written) = given_despite {
                details.push(format!(
                    "reference data, taken as given (written with confidence {})",
                    confidence(*written)
                ));
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
                let on = if line.sources.is_empty() {
                    "no party or uncertain source".to_string()
                } else {
                    line.sources.join(", ")
                };
                let mut label = match (&line.shares, line.shares_with) {
                    _ if line.counted => {
                        format!("line {}, counted (independent; rests on {on})", i + 1)
                    }
                    (Some(source), Some(with)) => format!(
                        "line {}, not counted (rests on {source}, as line {with} does)",
                        i + 1
                    ),
                    (Some(source), None) => {
                        format!("line {}, not counted (rests on {source})", i + 1)
                    }
                    (None, _) => format!("line {}, not counted", i + 1),
                };
                if line.approximate {
                    label.push_str(" [best choice found, search cut short]");
                }
                label.push_str(": ");
                items.push(Item::Labeled(label, &line.node));
            }
        }
        Via::ShownAbove => details.push("(derivation shown above)".to_string()),
        Via::Deeper { limit } => details.push(format!(
            "(derivation not shown: the explanation stops {limit} levels deep; raise --depth to see more)"
        )),
        Via::Unrecorded => {
            details.push("(derivation not recorded: evaluated with --no-explain)".to_string())
        }
        Via::Rule {
            rule,
            strength,
            instance,
            premises,
            absent,
            defeaters,
            conditions,
            aggregates,
            ..
        } => {
            if let Some(doc) = &node.doc {
                details.push(format!("why: {}", one_line(doc)));
            }
            details.push(format!("by rule \"{rule}\" (strength {strength}):"));
            details.push(format!("  {instance}"));
            items.extend(premises.iter().map(Item::Node));
            for aggregate in aggregates {
                let mut line = format!(
                    "{}  (value {}, confidence {}: its least confident solution)",
                    aggregate.literal,
                    aggregate.value,
                    confidence(aggregate.confidence)
                );
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
            for defeater in defeaters {
                let held: Vec<String> = defeater
                    .facts
                    .iter()
                    .map(|(fact, c)| format!("{fact} holds at {}", confidence(*c)))
                    .collect();
                items.push(Item::Line(format!(
                    "not {}  (weakened, x {}: {})",
                    defeater.atom,
                    confidence(defeater.factor),
                    held.join(", ")
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
        let level = depth + 1;
        let (child_first, child_rest) = if level % GUIDE_LEVELS == 0 {
            let margin = format!("[level {level}] ");
            (format!("{margin}{head}"), format!("{margin}{tail}"))
        } else {
            (format!("{rest}{head}"), format!("{rest}{tail}"))
        };
        match item {
            Item::Node(child) => write_node(out, child, &child_first, &child_rest, level),
            Item::Labeled(label, child) => write_node(
                out,
                child,
                &format!("{child_first}{label}"),
                &child_rest,
                level,
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
    write_node(&mut out, &explanation.root, "", "", 0);
    if let Some(weakest) = &explanation.weakest {
        let graded = match &weakest.grade {
            Some(grade) => format!(", graded {grade}"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "weakest evidence: {}  [{} {}{graded}]  source: {}",
            weakest.fact,
            confidence(weakest.confidence),
            weakest.likelihood(),
            weakest.source
        );
    }
    if let Some(doc) = &explanation.relation_doc {
        let relation = &explanation.root.relation;
        let _ = writeln!(out, "about {relation}: {}", one_line(doc));
    }
    out
}

/// The explanation as pretty-printed JSON (schema in the README). Indentation stops
/// growing past [`JSON_INDENT_LEVELS`] levels, so a deep tree prints in space linear in
/// its size.
pub fn json(explanation: &Explanation) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, CappedPretty::default());
    explanation
        .serialize(&mut serializer)
        .expect("explanations serialise: no maps with non-string keys");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Levels of JSON nesting indented; deeper levels are indented as this one.
pub const JSON_INDENT_LEVELS: usize = 64;

/// serde_json's pretty layout (two spaces a level), with indentation capped at
/// [`JSON_INDENT_LEVELS`] levels: without the cap a 100,000-level tree prints
/// gigabytes of spaces.
#[derive(Default)]
struct CappedPretty {
    level: usize,
    has_value: bool,
}

impl CappedPretty {
    fn indent<W: ?Sized + std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        for _ in 0..self.level.min(JSON_INDENT_LEVELS) {
            writer.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
            self.indent(writer)?;
        }
        writer.write_all(bracket)
    }

    fn item<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(writer)
    }
}

impl serde_json::ser::Formatter for CappedPretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        _writer: &mut W,
    ) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        _writer: &mut W,
    ) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
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
            "  f{id} [shape={shape}, label=\"{}\\n{} {}{}{detail}\"];",
            dot_escape(&node.fact),
            confidence(node.confidence),
            node.likelihood,
            node.grade
                .as_ref()
                .map_or_else(String::new, |grade| format!(", graded {grade}"))
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
            defeaters,
            ..
        } = &node.via
        {
            for (i, defeater) in defeaters.iter().enumerate() {
                let _ = writeln!(
                    nodes,
                    "  f{id}_weak{i} [shape=box, style=dashed, label=\"not {}\\nweakened x {}\"];",
                    dot_escape(&defeater.atom),
                    confidence(defeater.factor)
                );
                let _ = writeln!(
                    edges,
                    "  f{id}_weak{i} -> f{id} [style=dashed, label=\"{}\"];",
                    dot_escape(rule)
                );
            }
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
