//! The bundled examples: every case in `facts/` evaluated with the rule set in `rules/`,
//! its conclusions snapshotted, and what each case must and must not conclude checked.

use std::path::PathBuf;

use ascribe::explain::render;
use ascribe::query::Pattern;

use crate::common::{check_all_explanations, evaluate_checked, load, render_derived};

fn cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir("facts")
        .expect("facts/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "tools"))
        .map(|p| p.file_name().expect("named").to_string_lossy().to_string())
        .collect();
    cases.sort();
    cases
}

fn holds(case: &str, facts: &[&str], absent: &[&str]) {
    let (program, mut sources) = load(&[
        PathBuf::from("rules"),
        PathBuf::from(format!("facts/{case}")),
    ]);
    let model = evaluate_checked(&program);
    for fact in facts {
        let pattern = Pattern::parse(&program, &model, &mut sources, fact).expect("valid pattern");
        assert!(
            !pattern.matches(&model).is_empty(),
            "{case}: expected {fact}"
        );
    }
    for fact in absent {
        let pattern = Pattern::parse(&program, &model, &mut sources, fact).expect("valid pattern");
        assert!(
            pattern.matches(&model).is_empty(),
            "{case}: must not conclude {fact}"
        );
    }
}

#[test]
fn every_case_evaluates_and_every_explanation_checks_out() {
    let cases = cases();
    assert!(cases.len() >= 3, "{cases:?}");
    for case in cases {
        let (program, _) = load(&[
            PathBuf::from("rules"),
            PathBuf::from(format!("facts/{case}")),
        ]);
        let model = evaluate_checked(&program);
        assert!(check_all_explanations(&program, &model) > 0);
        insta::assert_snapshot!(
            format!("conclusions_{case}"),
            render_derived(&program, &model)
        );
    }
}

#[test]
fn new_zealand_reaches_the_prc_through_apt40_and_the_mss() {
    holds(
        "nz-2021",
        &[
            "conducted_by(nz_pco_2021, apt40)",
            "conducted_by(nz_parliamentary_service_2021, apt40)",
            "conducted_for(nz_pco_2021, mss)",
            "state_sponsored(nz_pco_2021, prc)",
            "state_sponsored(nz_parliamentary_service_2021, prc)",
        ],
        &["conducted_by(nz_pco_2021, apt31)", "deception_suspected(_)"],
    );
}

#[test]
fn australia_2019_stops_at_an_unnamed_state_actor() {
    holds(
        "au-parliament-2019",
        &["state_actor_involved(au_parliament_2019)"],
        &[
            "conducted_by(_, _)",
            "conducted_for(_, _)",
            "state_sponsored(_, _)",
            "attributed_to_state(_, _)",
        ],
    );
}

#[test]
fn suspected_deception_blocks_the_attribution() {
    holds(
        "deception-example",
        &[
            "deception_suspected(example_intrusion)",
            "consistent_with(example_intrusion, example_group)",
        ],
        &["conducted_by(_, _)", "state_sponsored(_, _)"],
    );
}

#[test]
fn the_founding_explanation_rests_on_graded_official_statements() {
    let (program, mut sources) = load(&[PathBuf::from("rules"), PathBuf::from("facts/nz-2021")]);
    let model = evaluate_checked(&program);
    let pattern = Pattern::parse(
        &program,
        &model,
        &mut sources,
        "state_sponsored(nz_pco_2021, prc)",
    )
    .expect("valid fact");
    let fact = pattern.ground_fact(&model).expect("derived");
    let text = render::text(&ascribe::explain(&program, &model, fact));
    assert!(text.contains("source: "), "leaves carry sources");
    assert!(
        text.contains("GCSB"),
        "the GCSB's statement is among the leaves"
    );
    assert!(text.contains("grade("), "source grades are premises");
    insta::assert_snapshot!(text);
}
