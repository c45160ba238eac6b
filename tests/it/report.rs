//! `ascribe report`: competing hypotheses ranked per incident, defeated candidates with
//! what defeated them, the evidence matrix, and insufficient evidence.

use std::path::PathBuf;

use ascribe::report::{self, Report, ReportOptions, Status};

use crate::common::{ascribe, evaluate_checked, load};

fn report_for(case: &str, threshold: f64) -> Report {
    let (program, _) = load(&[
        PathBuf::from("rules"),
        PathBuf::from(format!("facts/{case}")),
        PathBuf::from("facts/attack"),
    ]);
    let model = evaluate_checked(&program);
    let options = ReportOptions {
        threshold,
        hypotheses: Vec::new(),
        subjects: program.predicate_id("incident"),
        only: Vec::new(),
    };
    report::report(&program, &model, &options).expect("the rule set declares hypotheses")
}

fn level<'r>(report: &'r Report, incident: &str, relation: &str) -> &'r report::Level {
    report
        .incidents
        .iter()
        .find(|i| i.incident == incident)
        .unwrap_or_else(|| panic!("no incident {incident}"))
        .levels
        .iter()
        .find(|l| l.relation == relation)
        .unwrap_or_else(|| panic!("no level {relation}"))
}

#[test]
fn new_zealand_report() {
    let report = report_for("nz-2021", 0.5);
    let group = level(&report, "nz_pco_2021", "conducted_by");
    assert!(!group.insufficient_evidence);
    assert_eq!(group.candidates[0].candidate, "apt40");
    assert_eq!(group.candidates[0].status, Status::Concluded);
    let state = level(&report, "nz_pco_2021", "state_sponsored");
    assert_eq!(state.candidates[0].candidate, "prc");
    assert!((state.candidates[0].confidence - 0.815).abs() < 1e-3);
    // The GCSB's and the minister's statements are consistent with APT40.
    let incident = &report.incidents[1];
    assert_eq!(incident.incident, "nz_pco_2021");
    let gcsb = incident
        .evidence
        .iter()
        .find(|e| {
            e.fact
                .starts_with("claims(gcsb_ncsc_2024_03_26, conducted_by")
        })
        .expect("the GCSB's claim is evidence");
    assert!(group.candidates[0].consistent.contains(&gcsb.id));
    insta::assert_snapshot!("nz_text", report::text(&report));
    insta::assert_snapshot!("nz_markdown", report::markdown(&report));
}

#[test]
fn false_flag_report_ranks_the_costly_evidence_first() {
    let report = report_for("false-flag-example", 0.5);
    let group = level(&report, "ff_intrusion", "conducted_by");
    let names: Vec<(&str, Status)> = group
        .candidates
        .iter()
        .map(|c| (c.candidate.as_str(), c.status))
        .collect();
    assert_eq!(
        names,
        vec![
            ("ff_group_y", Status::Concluded),
            ("ff_group_x", Status::Defeated)
        ]
    );
    let x = &group.candidates[1];
    assert!(x
        .defeated_by
        .iter()
        .any(|d| d.fact == "false_flag_suspected(ff_intrusion, ff_group_x)"));
    assert!(x
        .defeated_by
        .iter()
        .any(|d| d.fact == "outweighed(ff_intrusion, ff_group_x)"));
    // The infrastructure overlap supports Y and counts against X.
    let incident = &report.incidents[0];
    let infrastructure = incident
        .evidence
        .iter()
        .find(|e| e.fact.contains("infrastructure_overlap"))
        .expect("listed");
    assert!(group.candidates[0].consistent.contains(&infrastructure.id));
    assert!(x.inconsistent.contains(&infrastructure.id));
    // Organ and state stay below 0.5: insufficient evidence, candidates still listed.
    let state = level(&report, "ff_intrusion", "state_sponsored");
    assert!(state.insufficient_evidence);
    assert_eq!(state.candidates[0].status, Status::BelowThreshold);
    insta::assert_snapshot!("false_flag_text", report::text(&report));
    let json: serde_json::Value = serde_json::from_str(&report::json(&report)).expect("valid JSON");
    assert_eq!(
        json["incidents"][0]["levels"][0]["candidates"][1]["status"],
        "defeated"
    );
}

#[test]
fn australia_2019_has_insufficient_evidence_for_any_name() {
    let report = report_for("au-parliament-2019", 0.5);
    for relation in ["conducted_by", "conducted_for", "state_sponsored"] {
        let level = level(&report, "au_parliament_2019", relation);
        assert!(level.insufficient_evidence, "{relation}");
        assert!(level.candidates.is_empty(), "{relation}");
    }
    let actor = level(&report, "au_parliament_2019", "state_actor_involved");
    assert_eq!(actor.candidates[0].candidate, "yes");
    assert_eq!(actor.candidates[0].status, Status::Concluded);
    assert!(report::text(&report).contains("--  insufficient evidence: no candidate reaches 0.500"));
}

#[test]
fn basis_is_reported_apart_from_likelihood() {
    // New Zealand alone attributed the incident: very likely, on a moderate basis.
    let nz = report_for("nz-2021", 0.5);
    let apt40 = &level(&nz, "nz_pco_2021", "conducted_by").candidates[0];
    assert_eq!(apt40.likelihood, "very likely");
    assert_eq!(apt40.basis.level, "moderate");
    assert_eq!(apt40.basis.independent_lines, 1);
    // The EU and the US named Sandworm independently: a high basis.
    let notpetya = report_for("notpetya-2017", 0.5);
    let sandworm = &level(&notpetya, "notpetya_2017", "conducted_by").candidates[0];
    assert_eq!(sandworm.candidate, "sandworm");
    assert_eq!(sandworm.basis.level, "high");
    assert_eq!(sandworm.basis.independent_lines, 2);
    // A defeated candidate has a low basis; the winner of a false flag is not contested.
    let ff = report_for("false-flag-example", 0.5);
    let group = level(&ff, "ff_intrusion", "conducted_by");
    assert_eq!(group.candidates[1].basis.level, "low");
    assert!(!group.candidates[0].basis.contested);
    assert_eq!(group.candidates[0].basis.level, "moderate");
}

#[test]
fn a_high_threshold_leaves_only_insufficient_evidence() {
    let report = report_for("nz-2021", 0.95);
    for incident in &report.incidents {
        for level in &incident.levels {
            assert!(level.insufficient_evidence);
            assert!(level
                .candidates
                .iter()
                .all(|c| c.status == Status::BelowThreshold));
        }
    }
}

#[test]
fn report_command_formats_and_errors() {
    let markdown = ascribe(&[
        "report",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--format",
        "markdown",
        "--incident",
        "nz_pco_2021",
    ]);
    assert_eq!(markdown.status.code(), Some(0));
    let text = String::from_utf8(markdown.stdout).expect("UTF-8");
    assert!(text.starts_with("# Competing hypotheses"), "{text}");
    assert!(!text.contains("nz_parliamentary_service_2021"), "{text}");

    let unknown = ascribe(&["report", "rules/", "--hypothesis", "conducted_bi"]);
    assert_eq!(unknown.status.code(), Some(2));
    let err = String::from_utf8(unknown.stderr).expect("UTF-8");
    assert!(
        err.contains("--hypothesis conducted_bi: no such relation (did you mean `conducted_by`?)"),
        "{err}"
    );

    let none = ascribe(&["report", "tests/fixtures/eval/tc_chain.rules"]);
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8(none.stderr).expect("UTF-8");
    assert!(
        err.contains("no relation is declared `@hypothesis`"),
        "{err}"
    );

    let json = ascribe(&[
        "report",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--format",
        "json",
    ]);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(parsed["threshold"], 0.5);
    assert_eq!(parsed["incidents"].as_array().map(Vec::len), Some(2));
    // Each derived candidate carries its best derivation in words.
    let apt40 = &parsed["incidents"][1]["levels"][0]["candidates"][0];
    assert_eq!(apt40["candidate"], "apt40");
    assert_eq!(
        apt40["sentence"],
        "apt40 conducted nz_pco_2021 (very likely, 0.902): it was officially attributed to APT40, and neither deception nor a false flag is suspected."
    );
}

/// Regression (issue 13, item 7): evidence counted by an aggregate was missing from the
/// matrix, and a graded fact's grade was not shown beside its confidence.
#[test]
fn counted_evidence_is_in_the_matrix_with_its_grade() {
    let dir = std::env::temp_dir().join(format!("ascribe-report-counted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("counted.rules");
    std::fs::write(
        &path,
        r#"
/// The group that did the incident.
@hypothesis("responsible group")
rel overlap(incident: sym, group: sym).
rel incident(incident: sym).
incident(x).
named(x, g) @source("vendor report") @grade(B2).
seen(x, t1) @source("IR report, section 2") @confidence(0.6).
seen(x, t2) @source("IR report, section 3") @confidence(0.7).
/// Named, and at least two techniques seen.
@name("named with techniques")
overlap(I, G) :- named(I, G), N = count(T : seen(I, T)), N >= 2.
"#,
    )
    .expect("write");
    let (program, _) = load(&[path]);
    let model = evaluate_checked(&program);
    let options = ReportOptions {
        threshold: 0.1,
        hypotheses: Vec::new(),
        subjects: program.predicate_id("incident"),
        only: Vec::new(),
    };
    let report = report::report(&program, &model, &options).expect("a hypothesis");
    let incident = &report.incidents[0];
    let candidate = &incident.levels[0].candidates[0];
    // 0.81 (B2) x 0.6 (the least certain technique counted).
    assert!(
        (candidate.confidence - 0.486).abs() < 1e-9,
        "{}",
        candidate.confidence
    );
    let facts: Vec<&str> = incident.evidence.iter().map(|e| e.fact.as_str()).collect();
    assert_eq!(facts, ["named(x, g)", "seen(x, t1)", "seen(x, t2)"]);
    assert_eq!(candidate.consistent, ["E1", "E2", "E3"]);
    assert_eq!(incident.evidence[0].grade.as_deref(), Some("B2"));
    let text = report::text(&report);
    assert!(text.contains("E1    B2 0.810  named(x, g)"), "{text}");
    assert!(
        text.contains("  about: The group that did the incident."),
        "{text}"
    );
    assert!(
        text.contains(
            "      rule \"named with techniques\": Named, and at least two techniques seen."
        ),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

fn ranking<'r>(report: &'r Report, incident: &str) -> &'r report::RankingReport {
    let incident = report
        .incidents
        .iter()
        .find(|i| i.incident == incident)
        .unwrap_or_else(|| panic!("no incident {incident}"));
    assert_eq!(
        incident.rankings.len(),
        1,
        "one @ranking relation in rules/"
    );
    &incident.rankings[0]
}

/// Exchange 2021: the groups whose ATT&CK records share the incident's techniques and
/// software, weighted by rarity over all 172 ATT&CK groups. China Chopper (S0020) is
/// used by 9 groups and weighs 1/9; T1190 by 42 and weighs 1/42.
#[test]
fn exchange_ranks_attack_groups_by_rare_shared_tradecraft() {
    let report = report_for("exchange-2021", 0.5);
    let ranked = ranking(&report, "exchange_2021");
    assert_eq!(ranked.relation, "tradecraft_score");
    assert_eq!(ranked.total, 82);
    assert_eq!(ranked.candidates.len(), report::ranking::SHOWN);
    let best = &ranked.candidates[0];
    assert_eq!(best.candidate, "G0125 HAFNIUM");
    assert_eq!(format!("{:.3}", best.score), "0.343");
    assert_eq!(best.items[0], "S0020 China Chopper 0.111");
    assert_eq!(best.items.len(), 7, "{:?}", best.items);
    assert!(best
        .items
        .contains(&"T1190 Exploit Public-Facing Application 0.024".to_string()));
    // Scores never increase down the list.
    for pair in ranked.candidates.windows(2) {
        assert!(pair[0].score >= pair[1].score, "{pair:?}");
    }
    let text = report::text(&report);
    assert!(text.contains("ATT&CK tradecraft overlap, weighted by rarity (tradecraft_score): best 10 of 82 candidates\n   1. G0125 HAFNIUM"), "{text}");
    let markdown = report::markdown(&report);
    assert!(
        markdown.contains("| 1 | G0125 HAFNIUM | 0.343 | S0020 China Chopper 0.111; "),
        "{markdown}"
    );
    let json = report::json(&report);
    assert!(json.contains("\"rankings\": ["), "{json}");
}

/// The founding case published no technique: the ranking is shown, and says so.
#[test]
fn new_zealand_report_shows_an_empty_ranking() {
    let report = report_for("nz-2021", 0.5);
    let ranked = ranking(&report, "nz_pco_2021");
    assert_eq!(ranked.total, 0);
    let text = report::text(&report);
    assert!(
        text.contains("ATT&CK tradecraft overlap, weighted by rarity (tradecraft_score): no candidate\n  --  nothing to rank: no fact of `tradecraft_score` names nz_pco_2021"),
        "{text}"
    );
}
