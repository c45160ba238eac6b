//! The report page: per incident, the candidates of each hypothesis relation, the ACH
//! matrix as a table, and each derived candidate's explanation further down the page,
//! linked both ways.

use std::fmt::Write as _;

use super::explain::TreeWriter;
use super::{confidence_badges, escape, number, page};
use crate::eval::Model;
use crate::explain::{defeats, explain, why_not};
use crate::program::Program;
use crate::query::Pattern;
use crate::report::{Candidate, IncidentReport, Report, Status};

/// The report as a page. The explanations are built here, from the model the report
/// was made from: one per derived candidate, with the derivations of it that exceptions
/// defeated.
pub fn report_page(program: &Program, model: &Model, report: &Report) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header>\n<h1>Competing hypotheses</h1>\n<p class=\"meta\">{} incident{}, threshold {}; hypotheses: {}.</p>\n</header>",
        report.incidents.len(),
        if report.incidents.len() == 1 { "" } else { "s" },
        number(report.threshold),
        report
            .hypotheses
            .iter()
            .map(|h| format!("<code>{}</code>", escape(h)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if report.incidents.len() > 1 {
        body.push_str("<nav class=\"toc\">Incidents: ");
        for (k, incident) in report.incidents.iter().enumerate() {
            let _ = write!(
                body,
                "<a href=\"#i{}\"><code>{}</code></a>",
                k + 1,
                escape(&incident.incident)
            );
        }
        body.push_str("</nav>\n");
    }
    for (k, incident) in report.incidents.iter().enumerate() {
        write_incident(
            &mut body,
            program,
            model,
            report,
            incident,
            &format!("i{}", k + 1),
        );
    }
    page("Competing hypotheses", &body)
}

fn status_badge(candidate: &Candidate, threshold: f64) -> String {
    match candidate.status {
        Status::Concluded => "<span class=\"badge concluded\">concluded</span>".to_string(),
        Status::BelowThreshold => {
            format!(
                "<span class=\"badge below\">below {}</span>",
                number(threshold)
            )
        }
        Status::Defeated => format!(
            "<span class=\"badge defeated\">defeated (would be {})</span>",
            number(candidate.would_be.unwrap_or(0.0))
        ),
    }
}

fn write_incident(
    out: &mut String,
    program: &Program,
    model: &Model,
    report: &Report,
    incident: &IncidentReport,
    anchor: &str,
) {
    let _ = writeln!(
        out,
        "<section id=\"{anchor}\">\n<h2><code>{}</code></h2>",
        escape(&incident.incident)
    );
    // Candidates whose explanation is on the page, by id.
    let mut explained: Vec<(&Candidate, String)> = Vec::new();
    for level in &incident.levels {
        let _ = writeln!(
            out,
            "<h3>{} <span class=\"meta\">(<code>{}</code>)</span></h3>",
            escape(&level.label),
            escape(&level.relation)
        );
        if level.insufficient_evidence {
            let _ = writeln!(
                out,
                "<p><strong>Insufficient evidence</strong>: no candidate reaches {}.</p>",
                number(report.threshold)
            );
        }
        if level.candidates.is_empty() {
            continue;
        }
        out.push_str("<table class=\"candidates\">\n<tr><th></th><th>candidate</th><th>confidence</th><th>status</th><th>basis</th><th>in words</th><th>weakest evidence</th><th>defeated by</th></tr>\n");
        for c in &level.candidates {
            let row = format!("{anchor}-{}", c.id);
            explained.push((c, row.clone()));
            let link = match c.status {
                Status::Defeated => format!("<br><a href=\"#{row}-explanation\">why not</a>"),
                _ => format!("<br><a href=\"#{row}-explanation\">explanation</a>"),
            };
            let basis = match c.status {
                Status::Defeated => String::new(),
                _ => escape(&c.basis.text()),
            };
            let weakest = c
                .weakest
                .as_ref()
                .map(|w| {
                    format!(
                        "<code>{}</code> ({})",
                        escape(&w.fact),
                        number(w.confidence)
                    )
                })
                .unwrap_or_default();
            let defeated_by: Vec<String> = c
                .defeated_by
                .iter()
                .map(|d| {
                    format!(
                        "<code>{}</code> ({}, rule <q>{}</q>)",
                        escape(&d.fact),
                        number(d.confidence),
                        escape(&d.rule)
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "<tr id=\"{row}\"><td>{}</td><td><code>{}</code>{link}</td><td>{}</td><td>{}</td><td>{basis}</td><td>{}</td><td>{weakest}</td><td>{}</td></tr>",
                escape(&c.id),
                escape(&c.candidate),
                confidence_badges(c.confidence, c.likelihood),
                status_badge(c, report.threshold),
                escape(c.sentence.as_deref().unwrap_or("")),
                defeated_by.join("<br>")
            );
        }
        out.push_str("</table>\n");
    }
    write_matrix(out, incident, anchor);
    if !explained.is_empty() {
        out.push_str("<h3>Explanations</h3>\n");
    }
    for (c, row) in explained {
        let before = out.len();
        let Some(pattern) = Pattern::parse_unchecked(program, model, &c.fact) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<details class=\"explanation\" id=\"{row}-explanation\"><summary>{} <code>{}</code>{} <a href=\"#{row}\">back to the table</a></summary>",
            escape(&c.id),
            escape(&c.fact),
            match c.status {
                Status::Defeated => status_badge(c, report.threshold),
                _ => confidence_badges(c.confidence, c.likelihood),
            }
        );
        let mut writer = TreeWriter::new(&format!("{row}-"));
        match pattern.ground_fact(model) {
            Some(fact) => {
                let explanation = explain(program, model, fact);
                let defeated = defeats(program, model, fact.predicate, Some(model.tuple(fact)));
                out.push_str(&writer.tree(&explanation, &format!("{row}-tree")));
                if !defeated.is_empty() {
                    out.push_str("<h4>Defeated derivations</h4>\n");
                    out.push_str(&writer.defeats(&defeated, &format!("{row}-defeat")));
                }
            }
            None => {
                let values = pattern.values().expect("a candidate is a ground fact");
                let answer = why_not(program, model, pattern.predicate(), &values);
                out.push_str(&writer.why_not(&answer, &format!("{row}-defeat"), "h4"));
            }
        }
        out.push_str("</details>\n");
        // The page counts against `--max-memory` as it grows (the caller's budget
        // scope); once a limit is reached the rest is not written, and the caller
        // drops the page.
        if crate::explain::budget::charge(out.len() - before) {
            break;
        }
    }
    out.push_str("</section>\n");
}

/// The ACH matrix: one row per item of evidence, one column per candidate.
fn write_matrix(out: &mut String, incident: &IncidentReport, anchor: &str) {
    let candidates: Vec<&Candidate> = incident
        .levels
        .iter()
        .flat_map(|l| l.candidates.iter())
        .collect();
    if candidates.is_empty() || incident.evidence.is_empty() {
        return;
    }
    out.push_str("<h3>Evidence against hypotheses</h3>\n<p class=\"meta\">C: consistent (some derivation rests on it); I: inconsistent (it supports what defeated the candidate).</p>\n<table class=\"ach\">\n<tr><th>evidence</th><th>confidence</th>");
    for c in &candidates {
        let _ = write!(
            out,
            "<th title=\"{}\"><a href=\"#{anchor}-{}\">{}</a><br><code>{}</code></th>",
            escape(&c.fact),
            escape(&c.id),
            escape(&c.id),
            escape(&c.candidate)
        );
    }
    out.push_str("</tr>\n");
    for e in &incident.evidence {
        let _ = write!(
            out,
            "<tr id=\"{anchor}-{}\"><td>{} <code>{}</code><br><span class=\"meta\">{}</span></td><td class=\"num\">{}</td>",
            escape(&e.id),
            escape(&e.id),
            escape(&e.fact),
            escape(&e.source),
            number(e.confidence)
        );
        for c in &candidates {
            let (class, text) = match (c.consistent.contains(&e.id), c.inconsistent.contains(&e.id))
            {
                (true, true) => ("ci", "C/I"),
                (true, false) => ("c", "C"),
                (false, true) => ("i", "I"),
                (false, false) => ("none", "."),
            };
            let _ = write!(out, "<td class=\"cell {class}\">{text}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}
