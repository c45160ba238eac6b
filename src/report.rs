//! Competing hypotheses: per incident, the candidate conclusions of each `@hypothesis`
//! relation ranked by confidence, with the evidence consistent and inconsistent with
//! each (an analysis-of-competing-hypotheses matrix), and "insufficient evidence" where
//! no candidate reaches the threshold.
//!
//! Candidates are the facts of a hypothesis relation whose first column is the incident,
//! and the instances an exception defeated (a `not` premise that failed). Evidence is
//! the uncertain input facts (confidence below 1; reference data at 1 is not weighed):
//! consistent with a candidate when some derivation of it rests on the fact, and
//! inconsistent when some derivation of what defeated it does.

pub mod ranking;

use std::collections::BTreeSet;
use std::fmt::Write as _;

pub use ranking::{Ranked, RankingReport};

use serde::Serialize;

use crate::eval::{FactId, Model};
use crate::explain::support::Support;
use crate::explain::{defeats, defeats_through, fact_text, likelihood, round, Defeat};
use crate::program::{PredId, Program};
use crate::value::{Value, ValueId};

/// What to report on.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Candidates at or above this confidence are concluded.
    pub threshold: f64,
    /// Hypothesis relations, in order; empty: those declared `@hypothesis`.
    pub hypotheses: Vec<PredId>,
    /// A relation whose first column lists the incidents to report on even when no
    /// candidate names them (the rule set's `incident`, by default).
    pub subjects: Option<PredId>,
    /// Report only on these incidents (all when empty).
    pub only: Vec<ValueId>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The threshold used.
    pub threshold: f64,
    /// The hypothesis relations, in order.
    pub hypotheses: Vec<String>,
    /// One entry per incident, sorted.
    pub incidents: Vec<IncidentReport>,
}

/// Competing hypotheses about one incident.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentReport {
    /// The incident, as written in a rule file.
    pub incident: String,
    /// One entry per hypothesis relation.
    pub levels: Vec<Level>,
    /// The evidence named by the candidates, numbered `E1`, `E2`, ... in order of
    /// first mention.
    pub evidence: Vec<Evidence>,
    /// One entry per `@ranking` relation (none when the program has none): scored
    /// candidates that are not hypotheses, such as groups ranked by shared tradecraft.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rankings: Vec<RankingReport>,
}

/// The candidates of one hypothesis relation for one incident.
#[derive(Clone, Debug, Serialize)]
pub struct Level {
    /// The relation.
    pub relation: String,
    /// Its `@hypothesis` label (the relation's name when none was given).
    pub label: String,
    /// The relation's `///` documentation, on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// No candidate reaches the threshold.
    pub insufficient_evidence: bool,
    /// Concluded candidates first, most confident first; then those below the
    /// threshold; then the defeated ones, by what they would have been worth.
    pub candidates: Vec<Candidate>,
}

/// How a candidate fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Derived at or above the threshold.
    Concluded,
    /// Derived below the threshold.
    BelowThreshold,
    /// Not derived: every derivation was defeated by an exception.
    Defeated,
}

/// One candidate conclusion.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// `H1`, `H2`, ... within the incident.
    pub id: String,
    /// The columns after the incident, e.g. `apt40` (`yes` for a one-column relation).
    pub candidate: String,
    /// The fact, as written in a rule file.
    pub fact: String,
    /// Its confidence; 0 when defeated.
    pub confidence: f64,
    /// The ICD 203 term of the confidence.
    pub likelihood: &'static str,
    /// How it fared.
    pub status: Status,
    /// Its best derivation in words (the `@explain` sentence at the root of its
    /// explanation); `None` for a defeated candidate and where the rule has no template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentence: Option<String>,
    /// For a defeated candidate: the best confidence a defeated instance would have had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_be: Option<f64>,
    /// Evidence ids consistent with it.
    pub consistent: Vec<String>,
    /// Evidence ids inconsistent with it.
    pub inconsistent: Vec<String>,
    /// The facts that defeated some derivation of it, with the rule defeated.
    pub defeated_by: Vec<DefeatedBy>,
    /// For a derived candidate: the least confident input fact of its explanation, the
    /// evidence that limits it most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weakest: Option<crate::explain::Weakest>,
    /// Confidence in the basis of the judgement, apart from its likelihood (ICD 203):
    /// how broad and how firm the evidence under it is.
    pub basis: Basis,
    /// The documented rules that conclude it in its explanation: the root's rule, or
    /// the rules of the counted lines of a combined conclusion.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDoc>,
}

/// Confidence in the analytic basis of a candidate, in ICD 203's three levels (the
/// MISP `estimative-language` taxonomy's confidence-in-analytic-judgment: well
/// corroborated from proven sources, partially corroborated, uncorroborated), with
/// what decided it. High: at least two independent lines somewhere in its explanation
/// (a combined fact with two counted lines), no evidence below 0.8, and nothing
/// against it. Moderate: one of the first two holds and nothing defeated it outright.
/// Low: otherwise, and always for a defeated candidate.
#[derive(Clone, Debug, Serialize)]
pub struct Basis {
    /// `high`, `moderate` or `low`.
    pub level: &'static str,
    /// The most independent lines counted by any combined fact of its explanation (1
    /// when it has none).
    pub independent_lines: usize,
    /// The confidence of its weakest evidence (1 when none is uncertain).
    pub weakest: f64,
    /// Whether some evidence is inconsistent with it or some derivation of it was defeated.
    pub contested: bool,
}

impl Basis {
    fn of(
        explanation: Option<&crate::explain::Explanation>,
        contested: bool,
        defeated: bool,
    ) -> Basis {
        fn breadth(node: &crate::explain::Node) -> usize {
            use crate::explain::Via;
            match &node.via {
                Via::Combined { lines, .. } => {
                    let here = lines.iter().filter(|l| l.counted).count();
                    lines
                        .iter()
                        .map(|l| breadth(&l.node))
                        .fold(here, usize::max)
                }
                Via::Rule { premises, .. } => premises.iter().map(breadth).fold(1, usize::max),
                _ => 1,
            }
        }
        let independent_lines = explanation.map_or(0, |e| breadth(&e.root));
        let weakest = explanation
            .and_then(|e| e.weakest.as_ref())
            .map_or(1.0, |w| w.confidence);
        let broad = independent_lines >= 2;
        let firm = weakest >= 0.8;
        let level = if defeated {
            "low"
        } else if broad && firm && !contested {
            "high"
        } else if broad || firm {
            "moderate"
        } else {
            "low"
        };
        Basis {
            level,
            independent_lines,
            weakest: round(weakest),
            contested,
        }
    }

    /// One line: `high (2 independent lines, weakest evidence 0.950, uncontested)`.
    pub fn text(&self) -> String {
        format!(
            "{} ({} independent line{}, weakest evidence {}, {})",
            self.level,
            self.independent_lines,
            if self.independent_lines == 1 { "" } else { "s" },
            number(self.weakest),
            if self.contested {
                "contested"
            } else {
                "uncontested"
            }
        )
    }
}

/// A fact that defeated a derivation of a candidate.
#[derive(Clone, Debug, Serialize)]
pub struct DefeatedBy {
    /// The rule whose instance was defeated.
    pub rule: String,
    /// The fact that holds and so made its `not` premise fail.
    pub fact: String,
    /// Its confidence.
    pub confidence: f64,
}

/// An item of uncertain evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// `E1`, `E2`, ...
    pub id: String,
    /// The input fact, as written.
    pub fact: String,
    /// Its source.
    pub source: String,
    /// Its confidence.
    pub confidence: f64,
    /// The Admiralty grade its confidence was read from, if written with `@grade`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
}

/// A rule a candidate's best derivation uses at its root, with its `///` documentation.
#[derive(Clone, Debug, Serialize)]
pub struct RuleDoc {
    /// The rule's `@name`, or `rule #n`.
    pub rule: String,
    /// Its `///` documentation, on one line.
    pub doc: String,
}

/// Why a report cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// No relation is marked `@hypothesis` and none was named.
    #[error("no relation is declared `@hypothesis`; mark the candidate relations in the rules, or name them with --hypothesis")]
    NoHypotheses,
    /// A hypothesis relation has no column for the incident.
    #[error("`{0}` has no columns, so it cannot name an incident")]
    NoIncidentColumn(String),
}

/// Builds the report.
pub fn report(
    program: &Program,
    model: &Model,
    options: &ReportOptions,
) -> Result<Report, ReportError> {
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
    // Every candidate and defeat, per relation.
    let facts: Vec<Vec<FactId>> = hypotheses.iter().map(|&p| model.sorted_facts(p)).collect();
    let defeated: Vec<Vec<Defeat>> = hypotheses
        .iter()
        .map(|&p| {
            let mut all = defeats(program, model, p, None);
            all.extend(defeats_through(program, model, p));
            all
        })
        .collect();
    let mut incidents: BTreeSet<Key> = BTreeSet::new();
    let key = |v: ValueId| Key(model.interner().value(v).clone(), v);
    for list in &facts {
        incidents.extend(list.iter().map(|f| key(model.tuple(*f)[0])));
    }
    for list in &defeated {
        incidents.extend(list.iter().map(|d| key(d.tuple[0])));
    }
    let rankings = ranking::relations(program);
    incidents.extend(ranking::incidents(model, &rankings).into_iter().map(key));
    if let Some(subjects) = options.subjects {
        if program.predicate(subjects).arity > 0 {
            for f in model.sorted_facts(subjects) {
                incidents.insert(key(model.tuple(f)[0]));
            }
        }
    }
    let mut support = Support::new(program, model);
    let mut out = Vec::new();
    for Key(_, incident) in incidents {
        if !options.only.is_empty() && !options.only.contains(&incident) {
            continue;
        }
        let mut builder = IncidentBuilder {
            program,
            model,
            support: &mut support,
            evidence: Vec::new(),
            evidence_position: Default::default(),
            next_candidate: 0,
        };
        let mut levels = Vec::new();
        for (i, &p) in hypotheses.iter().enumerate() {
            levels.push(builder.level(p, incident, &facts[i], &defeated[i], options.threshold));
        }
        let evidence = std::mem::take(&mut builder.evidence)
            .into_iter()
            .enumerate()
            .map(|(i, index)| {
                let fact = &program.facts()[index];
                Evidence {
                    id: format!("E{}", i + 1),
                    fact: fact_text(program, program.interner(), fact.predicate, &fact.tuple),
                    source: program.fact_source(fact),
                    confidence: round(program.fact_confidence(fact)),
                    grade: fact.grade().map(str::to_owned),
                }
            })
            .collect();
        out.push(IncidentReport {
            incident: model.interner().value(incident).to_string(),
            levels,
            evidence,
            rankings: ranking::rank(program, model, &rankings, incident),
        });
    }
    Ok(Report {
        threshold: options.threshold,
        hypotheses: hypotheses
            .iter()
            .map(|&p| program.predicate(p).name.clone())
            .collect(),
        incidents: out,
    })
}

/// Incidents in value order.
struct Key(Value, ValueId);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.1 == other.1
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.0.sort_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// A candidate while a level is built.
struct Row<'d> {
    confidence: f64,
    status: Status,
    tuple: Vec<ValueId>,
    /// For a defeated candidate, what its best defeated instance would have given.
    would_be: Option<f64>,
    /// The defeats of instances that would derive it.
    against: Vec<&'d Defeat>,
}

struct IncidentBuilder<'r, 'a> {
    program: &'a Program,
    model: &'a Model,
    support: &'r mut Support<'a>,
    /// Input fact indexes, in order of first mention.
    evidence: Vec<usize>,
    /// Position of each input fact in `evidence`.
    evidence_position: rustc_hash::FxHashMap<usize, usize>,
    next_candidate: usize,
}

impl IncidentBuilder<'_, '_> {
    /// Ids of the uncertain inputs among `inputs`, numbering new ones.
    fn ids(&mut self, inputs: &BTreeSet<usize>) -> Vec<String> {
        let mut ids = Vec::new();
        for &index in inputs {
            let fact = &self.program.facts()[index];
            if self.program.fact_confidence(fact) >= 1.0 {
                continue;
            }
            let next = self.evidence.len();
            let position = *self.evidence_position.entry(index).or_insert(next);
            if position == next {
                self.evidence.push(index);
            }
            ids.push(position + 1);
        }
        ids.sort_unstable();
        ids.into_iter().map(|i| format!("E{i}")).collect()
    }

    fn level(
        &mut self,
        p: PredId,
        incident: ValueId,
        facts: &[FactId],
        defeated: &[Defeat],
        threshold: f64,
    ) -> Level {
        let (program, model) = (self.program, self.model);
        let predicate = program.predicate(p);
        let describe = |tuple: &[ValueId]| -> String {
            if tuple.len() == 1 {
                "yes".to_string()
            } else {
                tuple[1..]
                    .iter()
                    .map(|v| model.interner().value(*v).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut rows: Vec<Row<'_>> = Vec::new();
        for &fact in facts {
            let tuple = model.tuple(fact);
            if tuple[0] != incident {
                continue;
            }
            let confidence = model.confidence(fact);
            let status = if confidence >= threshold {
                Status::Concluded
            } else {
                Status::BelowThreshold
            };
            rows.push(Row {
                confidence,
                status,
                tuple: tuple.to_vec(),
                would_be: None,
                against: defeated.iter().filter(|d| d.tuple == tuple).collect(),
            });
        }
        for defeat in defeated
            .iter()
            .filter(|d| !d.holds_anyway && d.tuple[0] == incident)
        {
            match rows.iter_mut().find(|r| r.tuple == defeat.tuple) {
                Some(row) => {
                    row.would_be = Some(row.would_be.unwrap_or(0.0).max(defeat.would_be));
                    row.against.push(defeat);
                }
                None => rows.push(Row {
                    confidence: 0.0,
                    status: Status::Defeated,
                    tuple: defeat.tuple.clone(),
                    would_be: Some(defeat.would_be),
                    against: vec![defeat],
                }),
            }
        }
        let rank = |s: Status| match s {
            Status::Concluded => 0,
            Status::BelowThreshold => 1,
            Status::Defeated => 2,
        };
        rows.sort_by(|a, b| {
            rank(a.status)
                .cmp(&rank(b.status))
                .then(b.confidence.total_cmp(&a.confidence))
                .then(
                    b.would_be
                        .unwrap_or(0.0)
                        .total_cmp(&a.would_be.unwrap_or(0.0)),
                )
                .then_with(|| describe(&a.tuple).cmp(&describe(&b.tuple)))
        });
        let mut candidates = Vec::new();
        for Row {
            confidence,
            status,
            tuple,
            would_be,
            against,
        } in rows
        {
            let consistent_inputs = match model.find(p, &tuple) {
                Some(fact) => self.support.inputs(fact),
                None => {
                    let mut inputs = BTreeSet::new();
                    for defeat in &against {
                        for premise in &defeat.premises {
                            inputs.extend(self.support.inputs(*premise));
                        }
                    }
                    inputs
                }
            };
            let mut against_inputs = BTreeSet::new();
            let mut defeated_by = Vec::new();
            for defeat in &against {
                for (blocker, explanation) in defeat.blockers.iter().zip(&defeat.defeated_by) {
                    against_inputs.extend(self.support.inputs(*blocker));
                    let entry = DefeatedBy {
                        rule: match &defeat.through {
                            Some(premise) => format!("{}\" through \"{premise}", defeat.rule),
                            None => defeat.rule.clone(),
                        },
                        fact: explanation.root.fact.clone(),
                        confidence: explanation.root.confidence,
                    };
                    if !defeated_by
                        .iter()
                        .any(|d: &DefeatedBy| d.rule == entry.rule && d.fact == entry.fact)
                    {
                        defeated_by.push(entry);
                    }
                }
            }
            // Evidence a candidate rests on is consistent with it, even where what
            // defeated it rests on the same evidence (cheap indicators are the premise
            // of their own outweighing).
            let against_inputs: BTreeSet<usize> = against_inputs
                .difference(&consistent_inputs)
                .copied()
                .collect();
            let consistent = self.ids(&consistent_inputs);
            let inconsistent = self.ids(&against_inputs);
            let explanation = model
                .find(p, &tuple)
                .map(|fact| crate::explain::explain(program, model, fact));
            let basis = Basis::of(
                explanation.as_ref(),
                !inconsistent.is_empty() || !defeated_by.is_empty(),
                status == Status::Defeated,
            );
            let sentence = explanation.as_ref().and_then(|e| e.root.sentence.clone());
            let rules = explanation
                .as_ref()
                .map_or_else(Vec::new, |e| rule_docs(&e.root));
            let weakest = explanation.and_then(|e| e.weakest);
            self.next_candidate += 1;
            candidates.push(Candidate {
                id: format!("H{}", self.next_candidate),
                candidate: describe(&tuple),
                fact: fact_text(program, model.interner(), p, &tuple),
                confidence: round(confidence),
                likelihood: likelihood(confidence),
                status,
                sentence,
                would_be,
                consistent,
                inconsistent,
                defeated_by,
                weakest,
                basis,
                rules,
            });
        }
        Level {
            relation: predicate.name.clone(),
            doc: predicate
                .doc
                .as_deref()
                .map(crate::explain::render::one_line),
            label: match predicate.hypothesis.as_deref() {
                Some(label) if !label.is_empty() => label.to_string(),
                _ => predicate.name.clone(),
            },
            insufficient_evidence: !candidates.iter().any(|c| c.status == Status::Concluded),
            candidates,
        }
    }
}

/// The documented rules at the root of an explanation: the root's own, or those of
/// the counted lines of a combined root; each once, in order.
fn rule_docs(root: &crate::explain::Node) -> Vec<RuleDoc> {
    use crate::explain::Via;
    let nodes: Vec<&crate::explain::Node> = match &root.via {
        Via::Combined { lines, .. } => lines
            .iter()
            .filter(|l| l.counted)
            .map(|l| &l.node)
            .collect(),
        _ => vec![root],
    };
    let mut out: Vec<RuleDoc> = Vec::new();
    for node in nodes {
        if let (Via::Rule { rule, .. }, Some(doc)) = (&node.via, &node.doc) {
            if !out.iter().any(|r| &r.rule == rule) {
                out.push(RuleDoc {
                    rule: rule.clone(),
                    doc: crate::explain::render::one_line(doc),
                });
            }
        }
    }
    out
}

/// A confidence as printed, after the Admiralty grade it was read from if any.
fn graded(x: f64, grade: Option<&str>) -> String {
    match grade {
        Some(grade) => format!("{grade} {}", number(x)),
        None => number(x),
    }
}

/// A confidence as printed.
fn number(x: f64) -> String {
    format!("{x:.3}")
}

fn status_text(candidate: &Candidate, threshold: f64) -> String {
    match candidate.status {
        Status::Concluded => "concluded".to_string(),
        Status::BelowThreshold => format!("below {}", number(threshold)),
        Status::Defeated => format!(
            "defeated (would be {})",
            number(candidate.would_be.unwrap_or(0.0))
        ),
    }
}

/// The ACH matrix rows: per evidence item, one cell per candidate of the incident.
fn matrix(incident: &IncidentReport) -> (Vec<&Candidate>, Vec<(&Evidence, Vec<&'static str>)>) {
    let candidates: Vec<&Candidate> = incident
        .levels
        .iter()
        .flat_map(|l| l.candidates.iter())
        .collect();
    // Each candidate's evidence as sets: the matrix is candidates times evidence, and a
    // list search per cell would make it cubic.
    type Ids<'c> = rustc_hash::FxHashSet<&'c str>;
    let sets: Vec<(Ids<'_>, Ids<'_>)> = candidates
        .iter()
        .map(|c| {
            (
                c.consistent.iter().map(String::as_str).collect(),
                c.inconsistent.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let rows = incident
        .evidence
        .iter()
        .map(|e| {
            let cells = sets
                .iter()
                .map(|(consistent, inconsistent)| {
                    match (
                        consistent.contains(e.id.as_str()),
                        inconsistent.contains(e.id.as_str()),
                    ) {
                        (true, true) => "C/I",
                        (true, false) => "C",
                        (false, true) => "I",
                        (false, false) => ".",
                    }
                })
                .collect();
            (e, cells)
        })
        .collect();
    (candidates, rows)
}

/// The report as text.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Competing hypotheses: {} incident{}, threshold {} (hypotheses: {})",
        report.incidents.len(),
        if report.incidents.len() == 1 { "" } else { "s" },
        number(report.threshold),
        report.hypotheses.join(", ")
    );
    for incident in &report.incidents {
        let _ = writeln!(out, "\n== {} ==", incident.incident);
        for level in &incident.levels {
            let _ = writeln!(out, "\n{} ({})", level.label, level.relation);
            if let Some(doc) = &level.doc {
                let _ = writeln!(out, "  about: {doc}");
            }
            if level.insufficient_evidence {
                let _ = writeln!(
                    out,
                    "  --  insufficient evidence: no candidate reaches {}",
                    number(report.threshold)
                );
            }
            for c in &level.candidates {
                let _ = writeln!(
                    out,
                    "  {:<3} {:<24} {}  {:<22} {}",
                    c.id,
                    c.candidate,
                    number(c.confidence),
                    c.likelihood,
                    status_text(c, report.threshold)
                );
                if let Some(sentence) = &c.sentence {
                    let _ = writeln!(out, "      {sentence}");
                }
                if c.status != Status::Defeated {
                    let _ = writeln!(out, "      basis: {}", c.basis.text());
                }
                for r in &c.rules {
                    let _ = writeln!(out, "      rule \"{}\": {}", r.rule, r.doc);
                }
                if let Some(w) = &c.weakest {
                    let _ = writeln!(
                        out,
                        "      weakest evidence: {}  [{}]",
                        w.fact,
                        graded(w.confidence, w.grade.as_deref())
                    );
                }
                for d in &c.defeated_by {
                    let _ = writeln!(
                        out,
                        "      rule \"{}\" defeated by {}  [{}]",
                        d.rule,
                        d.fact,
                        number(d.confidence)
                    );
                }
            }
        }
        ranking_text(&mut out, incident);
        let (candidates, rows) = matrix(incident);
        if candidates.is_empty() || rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\nEvidence against hypotheses (C: consistent, some derivation rests on it; I: inconsistent, it supports what defeated one)"
        );
        let mut header = String::from("       ");
        for c in &candidates {
            let _ = write!(header, " {:>4}", c.id);
        }
        let _ = writeln!(out, "{}", header.trim_end());
        for (e, cells) in &rows {
            let mut line = format!("  {:<5}", e.id);
            for cell in cells {
                let _ = write!(line, " {cell:>4}");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let _ = writeln!(out);
        for e in &incident.evidence {
            let _ = writeln!(
                out,
                "  {:<5} {}  {}",
                e.id,
                graded(e.confidence, e.grade.as_deref()),
                e.fact
            );
            let _ = writeln!(out, "              source: {}", e.source);
        }
    }
    out
}

/// A ranking's heading line: its label, relation and how many candidates are shown.
fn ranking_heading(ranking: &RankingReport) -> String {
    let shown = ranking.candidates.len();
    let count = match ranking.total {
        0 => "no candidate".to_string(),
        n if n == shown => format!("{n} candidate{}", if n == 1 { "" } else { "s" }),
        n => format!("best {shown} of {n} candidates"),
    };
    format!("{} ({}): {count}", ranking.label, ranking.relation)
}

fn ranking_text(out: &mut String, incident: &IncidentReport) {
    for ranking in &incident.rankings {
        let _ = writeln!(out, "\n{}", ranking_heading(ranking));
        if ranking.total == 0 {
            let _ = writeln!(
                out,
                "  --  nothing to rank: no fact of `{}` names {}",
                ranking.relation, incident.incident
            );
        }
        for c in &ranking.candidates {
            let _ = writeln!(
                out,
                "  {:>2}. {:<40} {}",
                c.rank,
                c.candidate,
                number(c.score)
            );
            for item in &c.items {
                let _ = writeln!(out, "        {item}");
            }
        }
    }
}

fn ranking_markdown(out: &mut String, incident: &IncidentReport) {
    for ranking in &incident.rankings {
        let _ = writeln!(out, "\n### {}\n", md_escape(&ranking_heading(ranking)));
        if ranking.candidates.is_empty() {
            let _ = writeln!(
                out,
                "Nothing to rank: no fact of `{}` names `{}`.",
                ranking.relation, incident.incident
            );
            continue;
        }
        let _ = writeln!(
            out,
            "| rank | candidate | score | made of |\n|---|---|---|---|"
        );
        for c in &ranking.candidates {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                c.rank,
                md_escape(&c.candidate),
                number(c.score),
                md_escape(&c.items.join("; "))
            );
        }
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The report as Markdown: a table of candidates per hypothesis and the ACH matrix.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Competing hypotheses\n\nThreshold {}; hypotheses: {}.",
        number(report.threshold),
        report
            .hypotheses
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for incident in &report.incidents {
        let _ = writeln!(out, "\n## `{}`", incident.incident);
        for level in &incident.levels {
            let _ = writeln!(out, "\n### {} (`{}`)\n", level.label, level.relation);
            if level.insufficient_evidence {
                let _ = writeln!(
                    out,
                    "**Insufficient evidence**: no candidate reaches {}.\n",
                    number(report.threshold)
                );
            }
            if level.candidates.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "| | candidate | confidence | likelihood | basis | status | weakest evidence | defeated by |\n|---|---|---|---|---|---|---|---|"
            );
            for c in &level.candidates {
                let defeated: Vec<String> = c
                    .defeated_by
                    .iter()
                    .map(|d| format!("`{}` (rule \"{}\")", md_escape(&d.fact), md_escape(&d.rule)))
                    .collect();
                let weakest = c
                    .weakest
                    .as_ref()
                    .map(|w| {
                        format!(
                            "`{}` ({})",
                            md_escape(&w.fact),
                            graded(w.confidence, w.grade.as_deref())
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {} | {} | {} | {} |",
                    c.id,
                    md_escape(&c.candidate),
                    number(c.confidence),
                    c.likelihood,
                    c.basis.level,
                    status_text(c, report.threshold),
                    weakest,
                    defeated.join("; ")
                );
            }
            // The candidates in words, below the table that weighs them.
            let mut said = level
                .candidates
                .iter()
                .filter_map(|c| Some((c, c.sentence.as_deref()?)))
                .peekable();
            if said.peek().is_some() {
                out.push('\n');
            }
            for (c, sentence) in said {
                let _ = writeln!(out, "- {}: {sentence}", c.id);
            }
        }
        ranking_markdown(&mut out, incident);
        let (candidates, rows) = matrix(incident);
        if candidates.is_empty() || rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n### Evidence\n\nC: consistent (some derivation rests on it); I: inconsistent (it supports what defeated the candidate).\n"
        );
        let mut header = String::from("| evidence | confidence |");
        let mut rule = String::from("|---|---|");
        for c in &candidates {
            let _ = write!(header, " {} `{}` |", c.id, md_escape(&c.candidate));
            rule.push_str("---|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for (e, cells) in &rows {
            let mut line = format!(
                "| {} `{}`<br>{} | {} |",
                e.id,
                md_escape(&e.fact),
                md_escape(&e.source),
                graded(e.confidence, e.grade.as_deref())
            );
            for cell in cells {
                let _ = write!(line, " {} |", if *cell == "." { "" } else { cell });
            }
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The report as pretty-printed JSON (schema in the README).
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("reports serialise") + "\n"
}
