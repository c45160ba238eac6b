//! Explanation pages: the derivation tree as nested `<details>`, each input fact with
//! its source, grade and dates, the weakest evidence, and the derivations exceptions
//! defeated; and why-not pages for facts that were not derived.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{confidence_badges, controls, escape, number, page};
use crate::explain::{Defeat, Explanation, Node, Via, WhyNot};

/// Levels of a tree shown open when the page loads: the conclusion, its premises and
/// theirs; deeper nodes wait for a click.
const OPEN_DEPTH: usize = 2;

/// Writes trees into one page, numbering their nodes so that every anchor is unique.
pub(super) struct TreeWriter {
    /// Prefix of this page's anchors (`n`, or `i1-H2-` in a report).
    prefix: String,
    next: usize,
    /// The anchor of each fact's first, expanded occurrence in the current tree.
    first: HashMap<String, String>,
    /// Admiralty grades of sources named in the current tree: see [`grades`].
    grades: HashMap<String, String>,
}

impl TreeWriter {
    pub(super) fn new(prefix: &str) -> TreeWriter {
        TreeWriter {
            prefix: prefix.to_string(),
            next: 0,
            first: HashMap::new(),
            grades: HashMap::new(),
        }
    }

    fn anchor(&mut self) -> String {
        self.next += 1;
        format!("{}n{}", self.prefix, self.next)
    }

    /// The tree of `explanation` as a `<ul class="tree">`, inside an element with the
    /// id `scope` for its buttons.
    pub(super) fn tree(&mut self, explanation: &Explanation, scope: &str) -> String {
        self.first.clear();
        self.grades = grades(&explanation.root);
        let mut out = String::new();
        let _ = write!(out, "<div id=\"{}\">\n{}", escape(scope), controls(scope));
        out.push_str("<ul class=\"tree\">\n");
        self.node(&mut out, &explanation.root, 0, "");
        out.push_str("</ul>\n</div>\n");
        if let Some(weakest) = &explanation.weakest {
            let _ = writeln!(
                out,
                "<p class=\"weakest\">Weakest evidence: <span class=\"fact\">{}</span>{}<br><span class=\"meta\">source: {}</span></p>",
                escape(&weakest.fact),
                confidence_badges(weakest.confidence, weakest.likelihood()),
                escape(&weakest.source)
            );
        }
        out
    }

    /// One `<li>`: a leaf block for an input fact, a `<details>` for a derived one.
    fn node(&mut self, out: &mut String, node: &Node, depth: usize, label: &str) {
        let id = self.anchor();
        let badges = confidence_badges(node.confidence, node.likelihood);
        let label = if label.is_empty() {
            String::new()
        } else {
            format!("<span class=\"line-label\">{}</span>", escape(label))
        };
        let fact = escape(&node.fact);
        match &node.via {
            Via::Input {
                source,
                location,
                since,
                until,
                ..
            } => {
                self.first.entry(node.fact.clone()).or_insert(id.clone());
                let _ = write!(
                    out,
                    "<li><div class=\"leaf\" id=\"{id}\">{label}<span class=\"fact\">{fact}</span>{badges}"
                );
                let grade = node
                    .grade
                    .as_ref()
                    .or_else(|| node.args.first().and_then(|a| self.grades.get(&key(a))));
                if let Some(grade) = grade {
                    let _ = write!(
                        out,
                        "<span class=\"badge grade\" title=\"Admiralty grade of the source\">graded {}</span>",
                        escape(grade)
                    );
                }
                if let Some(dates) = window(since.as_deref(), until.as_deref()) {
                    let _ = write!(
                        out,
                        "<span class=\"badge date\" title=\"when the fact holds\">{}</span>",
                        escape(&dates)
                    );
                }
                let _ = write!(out, "<div class=\"source\">source: {}", escape(source));
                if source != location {
                    let _ = write!(out, " <span class=\"meta\">({})</span>", escape(location));
                }
                out.push_str("</div></div></li>\n");
            }
            Via::ShownAbove => {
                let link = match self.first.get(&node.fact) {
                    Some(first) => format!(" <a href=\"#{}\">(shown above)</a>", escape(first)),
                    None => " <span class=\"shown-above\">(shown above)</span>".to_string(),
                };
                let _ = writeln!(
                    out,
                    "<li><div class=\"shown-above\" id=\"{id}\">{label}<span class=\"fact\">{fact}</span>{badges}{link}</div></li>"
                );
            }
            Via::Unrecorded => {
                let _ = writeln!(
                    out,
                    "<li><div id=\"{id}\">{label}<span class=\"fact\">{fact}</span>{badges} <span class=\"meta\">(derivation not recorded: evaluated with --no-explain)</span></div></li>"
                );
            }
            Via::Deeper { limit } => {
                let _ = writeln!(
                    out,
                    "<li><div id=\"{id}\">{label}<span class=\"fact\">{fact}</span>{badges} <span class=\"meta\">(derivation not shown: the explanation stops {limit} levels deep; raise --depth to see more)</span></div></li>"
                );
            }
            Via::Rule { .. } | Via::Combined { .. } => {
                self.first.entry(node.fact.clone()).or_insert(id.clone());
                let open = if depth < OPEN_DEPTH { " open" } else { "" };
                let _ = writeln!(
                    out,
                    "<li><details id=\"{id}\"{open}><summary>{label}<span class=\"fact\">{fact}</span>{badges}</summary>\n<div class=\"body\">"
                );
                if let Some(sentence) = &node.sentence {
                    let _ = writeln!(out, "<p class=\"sentence\">{}</p>", escape(sentence));
                }
                self.derivation(out, node, depth);
                out.push_str("</div></details></li>\n");
            }
        }
    }

    /// The body of a derived node: its rule and premises, or its lines of evidence.
    fn derivation(&mut self, out: &mut String, node: &Node, depth: usize) {
        match &node.via {
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
                let _ = writeln!(
                    out,
                    "<p class=\"rule\">by rule <q>{}</q> (strength {}):</p>\n<code class=\"instance\">{}</code>",
                    escape(rule),
                    strength,
                    escape(instance)
                );
                out.push_str("<ul>\n");
                for premise in premises {
                    self.node(out, premise, depth + 1, "");
                }
                for aggregate in aggregates {
                    let _ = write!(
                        out,
                        "<li class=\"condition\"><code>{}</code> (value {})",
                        escape(&aggregate.literal),
                        escape(&aggregate.value)
                    );
                    if !aggregate.over.is_empty() {
                        out.push_str("<ul>");
                        for fact in &aggregate.over {
                            let _ = write!(out, "<li><code>{}</code></li>", escape(fact));
                        }
                        out.push_str("</ul>");
                    }
                    out.push_str("</li>\n");
                }
                for condition in conditions {
                    let _ = writeln!(
                        out,
                        "<li class=\"condition\"><code>{}</code> (holds)</li>",
                        escape(condition)
                    );
                }
                for atom in absent {
                    let _ = writeln!(
                        out,
                        "<li class=\"absent\">not <span class=\"fact\">{}</span> (no such fact was derived)</li>",
                        escape(atom)
                    );
                }
                out.push_str("</ul>\n");
            }
            Via::Combined { formula, lines, .. } => {
                let counted = lines.iter().filter(|l| l.counted).count();
                let _ = writeln!(
                    out,
                    "<p class=\"rule\">combined (noisy-or) from {counted} independent line{} of {}: <code>{}</code></p>",
                    if counted == 1 { "" } else { "s" },
                    lines.len(),
                    escape(formula)
                );
                out.push_str("<ul>\n");
                for (i, line) in lines.iter().enumerate() {
                    let label = match &line.shares {
                        None if line.counted => format!("line {}, counted:", i + 1),
                        Some(source) => format!(
                            "line {}, not counted (shares the source \u{201c}{source}\u{201d} with a line above):",
                            i + 1
                        ),
                        None => format!("line {}, not counted:", i + 1),
                    };
                    self.node(out, &line.node, depth + 1, &label);
                }
                out.push_str("</ul>\n");
            }
            Via::Input { .. } | Via::ShownAbove | Via::Unrecorded | Via::Deeper { .. } => {}
        }
    }

    /// Defeated derivations, each with the trees of what defeated it.
    pub(super) fn defeats(&mut self, defeats: &[Defeat], scope: &str) -> String {
        let mut out = String::new();
        for (i, defeat) in defeats.iter().enumerate() {
            let through = match &defeat.through {
                Some(premise) => format!(
                    " through its premise <span class=\"fact\">{}</span>",
                    escape(premise)
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "<div class=\"defeat\"><p><span class=\"fact\">{}</span> was defeated{through}{}: rule <q>{}</q> would give {}</p>\n<code class=\"instance\">{}</code>",
                escape(&defeat.conclusion),
                if defeat.holds_anyway { " on one line (it holds by another)" } else { "" },
                escape(&defeat.rule),
                confidence_badges(defeat.would_be, crate::explain::likelihood(defeat.would_be)),
                escape(&defeat.instance)
            );
            for (j, explanation) in defeat.defeated_by.iter().enumerate() {
                out.push_str("<p>defeated by:</p>\n");
                out.push_str(&self.tree(explanation, &format!("{scope}-{}-{}", i + 1, j + 1)));
            }
            out.push_str("</div>\n");
        }
        out
    }
}

/// A fact argument as the key of [`grades`]: text without quotes, other values as
/// JSON writes them.
fn key(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The Admiralty grades a tree states: every `grade(S, R, C)` fact in it (the shipped
/// rules' vocabulary: source, reliability letter, credibility digit) gives `S` the grade
/// `RC`, shown beside each input fact whose first column is `S` and that has no
/// `@grade` of its own.
fn grades(root: &Node) -> HashMap<String, String> {
    fn walk(node: &Node, out: &mut HashMap<String, String>) {
        if node.relation == "grade" && node.args.len() == 3 {
            out.entry(key(&node.args[0]))
                .or_insert_with(|| format!("{}{}", key(&node.args[1]), key(&node.args[2])));
        }
        match &node.via {
            Via::Rule { premises, .. } => premises.iter().for_each(|p| walk(p, out)),
            Via::Combined { lines, .. } => lines.iter().for_each(|l| walk(&l.node, out)),
            _ => {}
        }
    }
    let mut out = HashMap::new();
    walk(root, &mut out);
    out
}

/// An input fact's window in words, `None` when it is open.
fn window(since: Option<&str>, until: Option<&str>) -> Option<String> {
    match (since, until) {
        (Some(since), Some(until)) => Some(format!("{since} to {until}")),
        (Some(since), None) => Some(format!("from {since}")),
        (None, Some(until)) => Some(format!("until {until}")),
        (None, None) => None,
    }
}

/// The page of one explanation, with the derivations of the same fact that exceptions
/// defeated.
pub fn explanation_page(explanation: &Explanation, defeats: &[Defeat]) -> String {
    let root = &explanation.root;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header>\n<h1><span class=\"fact\">{}</span></h1>\n<p class=\"verdict\">{} ({})</p>",
        escape(&root.fact),
        escape(&capitalised(root.likelihood)),
        number(root.confidence)
    );
    if let Some(sentence) = &root.sentence {
        let _ = writeln!(body, "<p class=\"lead\">{}</p>", escape(sentence));
    }
    body.push_str("</header>\n<h2>Derivation</h2>\n");
    let mut writer = TreeWriter::new("");
    body.push_str(&writer.tree(explanation, "derivation"));
    if !defeats.is_empty() {
        body.push_str("<h2>Defeated derivations</h2>\n");
        body.push_str(&writer.defeats(defeats, "defeat"));
    }
    page(&format!("{} - explanation", root.fact), &body)
}

/// The page of a why-not answer: the rules that could derive the fact and what blocks
/// each, and the instances exceptions defeated.
pub fn why_not_page(answer: &WhyNot) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header>\n<h1><span class=\"fact\">{}</span></h1>\n<p class=\"verdict\">Not derived.</p>\n</header>\n<h2>Why not</h2>",
        escape(&answer.fact)
    );
    body.push_str(&TreeWriter::new("").why_not(answer, "defeat", "h2"));
    page(&format!("{} - why not", answer.fact), &body)
}

impl TreeWriter {
    /// A why-not answer: a table of the rules and the premise that blocks each, then the
    /// defeated instances under a heading of level `heading`.
    pub(super) fn why_not(&mut self, answer: &WhyNot, scope: &str, heading: &str) -> String {
        let mut out = String::new();
        if answer.rules.is_empty() {
            out.push_str(
                "<p>No rule has a head that matches it, and it is not an input fact.</p>\n",
            );
        } else {
            out.push_str(
                "<table>\n<tr><th>rule</th><th>first premise that fails</th><th>why</th></tr>\n",
            );
            for blocked in &answer.rules {
                let why = match blocked.reason {
                    "fact_present" => "holds, so the negation fails",
                    "condition_fails" => "is false",
                    _ => "has no matching fact",
                };
                let shown = blocked
                    .missing
                    .strip_prefix("not ")
                    .unwrap_or(&blocked.missing);
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{why}</td></tr>",
                    escape(&blocked.rule),
                    escape(shown)
                );
            }
            out.push_str("</table>\n");
        }
        if !answer.defeated.is_empty() {
            let _ = writeln!(out, "<{heading}>Defeated derivations</{heading}>");
            out.push_str(&self.defeats(&answer.defeated, scope));
        }
        out
    }
}

/// `very likely` as `Very likely`.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
