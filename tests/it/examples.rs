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
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n != "tools" && n != "attack" && n != "misp")
        })
        .map(|p| p.file_name().expect("named").to_string_lossy().to_string())
        .collect();
    cases.sort();
    cases
}

fn holds(case: &str, facts: &[&str], absent: &[&str]) {
    let (program, mut sources) = load(&[
        PathBuf::from("rules"),
        PathBuf::from(format!("facts/{case}")),
        PathBuf::from("facts/attack"),
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
    // The cases are independent and each is evaluated seven ways: on every core at once.
    let rendered = crate::common::on_every_core(cases.len(), |i| {
        let case = &cases[i];
        let (program, _) = load(&[
            PathBuf::from("rules"),
            PathBuf::from(format!("facts/{case}")),
            PathBuf::from("facts/attack"),
        ]);
        let model = evaluate_checked(&program);
        assert!(check_all_explanations(&program, &model) > 0, "{case}");
        (case.clone(), render_derived(&program, &model))
    });
    for (case, text) in rendered {
        insta::assert_snapshot!(format!("conclusions_{case}"), text);
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
fn notpetya_reaches_russia_through_sandworm_and_gru_unit_74455() {
    holds(
        "notpetya-2017",
        &[
            "conducted_by(notpetya_2017, sandworm)",
            "corroborated_attribution(notpetya_2017, sandworm)",
            "conducted_for(notpetya_2017, gru_unit_74455)",
            "conducted_for(notpetya_2017, gru)",
            "conducted_for(notpetya_2017, russian_military)",
            "state_sponsored(notpetya_2017, russia)",
            "attributed_to_state(notpetya_2017, russia)",
            "days_to_attribution(notpetya_2017, sandworm, 1129)",
            "unconfirmed_claim(wapo_2018_01_12, organ_responsible, notpetya_2017, gru)",
            "denial(notpetya_2017, russia)",
        ],
        &[
            "deception_suspected(_)",
            "unnamed_state_actor_only(_)",
            "unresolved_group_name(_, _)",
        ],
    );
}

#[test]
fn ukraine_grid_2015_is_attributed_only_in_2020() {
    holds(
        "ukraine-grid-2015",
        &[
            "conducted_by(ua_grid_2015, sandworm)",
            "corroborated_attribution(ua_grid_2015, sandworm)",
            "conducted_for(ua_grid_2015, gru_unit_74455)",
            "state_sponsored(ua_grid_2015, russia)",
            "days_to_attribution(ua_grid_2015, sandworm, 1681)",
        ],
        &[
            "attributed_to_state(_, _)",
            "deception_suspected(_)",
            "unnamed_state_actor_only(_)",
        ],
    );
}

#[test]
fn wannacry_reaches_north_korea_through_lazarus_and_the_rgb() {
    holds(
        "wannacry-2017",
        &[
            "conducted_by(wannacry_2017, lazarus)",
            "corroborated(wannacry_2017, lazarus, 3)",
            "conducted_for(wannacry_2017, rgb)",
            "attributed_to_state(wannacry_2017, dprk)",
            "state_sponsored(wannacry_2017, dprk)",
            "days_to_attribution(wannacry_2017, lazarus, 221)",
            "unconfirmed_claim(wapo_2017_06_14, conducted_by, wannacry_2017, _)",
        ],
        &[
            "deception_suspected(_)",
            "unnamed_state_actor_only(_)",
            "unresolved_group_name(_, _)",
        ],
    );
}

#[test]
fn sony_pictures_is_a_state_attribution_first_and_one_party_throughout() {
    holds(
        "sony-pictures-2014",
        &[
            "attributed_to_state(sony_pictures_2014, dprk)",
            "state_sponsored(sony_pictures_2014, dprk)",
            "conducted_by(sony_pictures_2014, lazarus)",
            "corroborated(sony_pictures_2014, lazarus, 1)",
            "conducted_for(sony_pictures_2014, rgb)",
            "days_to_attribution(sony_pictures_2014, lazarus, 1376)",
            "unconfirmed_claim(gop_persona_2014_11_24, conducted_by, sony_pictures_2014, _)",
            "denial(sony_pictures_2014, dprk)",
        ],
        &[
            "corroborated_attribution(_, _)",
            "deception_suspected(_)",
            "unnamed_state_actor_only(_)",
        ],
    );
}

#[test]
fn solarwinds_names_the_svr_officially_and_apt29_only_through_industry() {
    holds(
        "solarwinds-2020",
        &[
            "conducted_for(solarwinds_2020, svr)",
            "state_sponsored(solarwinds_2020, russia)",
            "attributed_to_state(solarwinds_2020, russia)",
            "conducted_by(solarwinds_2020, apt29)",
            "corroborated(solarwinds_2020, apt29, 1)",
            "corroborated_link(apt29, svr, 2)",
        ],
        &[
            "first_attributed(solarwinds_2020, _, _)",
            "corroborated_attribution(_, _)",
            "deception_suspected(_)",
            "unnamed_state_actor_only(_)",
        ],
    );
}

#[test]
fn opcw_2018_stops_at_gru_unit_26165_and_names_no_group() {
    holds(
        "opcw-2018",
        &[
            "conducted_for(opcw_2018, gru_unit_26165)",
            "conducted_for(opcw_2018, gru)",
            "state_sponsored(opcw_2018, russia)",
            "operates_for(apt28, gru)",
            "denial(opcw_2018, russia)",
        ],
        &[
            "conducted_by(_, _)",
            "attribution_level(opcw_2018, group)",
            "attributed_to_state(_, _)",
            "deception_suspected(_)",
            "unnamed_state_actor_only(_)",
        ],
    );
}

#[test]
fn exchange_2021_reaches_the_prc_through_hafnium_and_the_mss() {
    holds(
        "exchange-2021",
        &[
            "conducted_by(exchange_2021, hafnium)",
            "corroborated(exchange_2021, hafnium, 3)",
            "conducted_for(exchange_2021, mss)",
            "conducted_for(exchange_2021, shanghai_ssb)",
            "state_sponsored(exchange_2021, prc)",
            "attributed_to_state(exchange_2021, prc)",
            "days_to_attribution(exchange_2021, hafnium, 169)",
            "claims(eu_hr_2021_07_19, from_territory, exchange_2021, prc)",
        ],
        &[
            "operates_for(hafnium, _)",
            "deception_suspected(_)",
            "unnamed_state_actor_only(_)",
        ],
    );
}

#[test]
fn dnc_2016_reaches_two_groups_and_the_gru() {
    holds(
        "dnc-2016",
        &[
            "conducted_by(dnc_2016, apt28)",
            "conducted_by(dnc_2016, apt29)",
            "corroborated_attribution(dnc_2016, apt28)",
            "conducted_for(dnc_2016, gru_unit_26165)",
            "conducted_for(dnc_2016, gru_unit_74455)",
            "conducted_for(dnc_2016, gru)",
            "state_sponsored(dnc_2016, russia)",
            "days_to_attribution(dnc_2016, apt28, 198)",
            "unresolved_group_name(guccifer2_2016_06_15, _)",
        ],
        &["deception_suspected(_)", "unnamed_state_actor_only(_)"],
    );
}

#[test]
fn australia_2020_stops_at_an_unnamed_state_actor() {
    holds(
        "au-copy-paste-2020",
        &[
            "state_actor_involved(au_copy_paste_2020)",
            "unnamed_state_actor_only(au_copy_paste_2020)",
            "unconfirmed_claim(reuters_2020_06_19, state_actor_responsible, au_copy_paste_2020, prc)",
        ],
        &[
            "conducted_by(_, _)",
            "conducted_for(_, _)",
            "state_sponsored(_, _)",
            "attributed_to_state(_, _)",
            "consistent_with(_, _)",
        ],
    );
}

#[test]
fn planted_evidence_blocks_the_attribution_to_the_group_it_implicates() {
    holds(
        "deception-example",
        &[
            "false_flag_suspected(example_intrusion, example_group)",
            "attribution_withheld(example_intrusion, example_group)",
            "consistent_with(example_intrusion, example_group)",
        ],
        &[
            "conducted_by(_, _)",
            "state_sponsored(_, _)",
            // The planted artefact names its target, so nothing else is held back.
            "deception_suspected(_)",
        ],
    );
}

#[test]
fn a_false_flag_points_to_x_but_the_engine_concludes_y() {
    // Cheap indicators (strings, Rich header) and an early vendor claim point to
    // GROUP-X; infrastructure and unique code point to GROUP-Y.
    holds(
        "false-flag-example",
        &[
            "conducted_by(ff_intrusion, ff_group_y)",
            "technical_link(ff_intrusion, ff_group_y)",
            "conducted_for(ff_intrusion, ff_state_y_unit)",
            "state_sponsored(ff_intrusion, ff_state_y)",
            "outweighed(ff_intrusion, ff_group_x)",
            "false_flag_suspected(ff_intrusion, ff_group_x)",
        ],
        &[
            "conducted_by(ff_intrusion, ff_group_x)",
            "technical_link(ff_intrusion, ff_group_x)",
            "conducted_for(ff_intrusion, ff_state_x_service)",
            "state_sponsored(ff_intrusion, ff_state_x)",
            "outweighed(ff_intrusion, ff_group_y)",
        ],
    );
}

#[test]
fn olympic_destroyer_reaches_the_gru_and_sets_the_planted_trails_aside() {
    holds(
        "olympic-destroyer-2018",
        &[
            "conducted_by(olympic_destroyer_2018, sandworm)",
            "corroborated_attribution(olympic_destroyer_2018, sandworm)",
            "conducted_for(olympic_destroyer_2018, gru_unit_74455)",
            "state_sponsored(olympic_destroyer_2018, russia)",
            "false_flag_suspected(olympic_destroyer_2018, lazarus)",
            "outweighed(olympic_destroyer_2018, lazarus)",
            "outweighed(olympic_destroyer_2018, apt3)",
            "outweighed(olympic_destroyer_2018, apt10)",
            "cheap_only(olympic_destroyer_2018, apt3)",
        ],
        &[
            "conducted_by(olympic_destroyer_2018, lazarus)",
            "conducted_by(olympic_destroyer_2018, apt3)",
            "conducted_by(olympic_destroyer_2018, apt10)",
            "technical_link(olympic_destroyer_2018, _)",
            "deception_suspected(_)",
            "attributed_to_state(_, _)",
            "unnamed_state_actor_only(_)",
        ],
    );
}

#[test]
fn colonial_pipeline_is_located_in_russia_but_not_russias_operation() {
    holds(
        "colonial-pipeline-2021",
        &[
            "conducted_by(colonial_pipeline_2021, darkside)",
            "located_in(darkside, russia)",
            "located_without_sponsorship(colonial_pipeline_2021, darkside, russia)",
        ],
        &[
            "state_sponsored(_, _)",
            "conducted_for(_, _)",
            "attributed_to_state(_, _)",
            "state_actor_involved(_)",
            "state_backed(_, _)",
        ],
    );
}

#[test]
fn without_the_forgery_finding_costly_evidence_still_outweighs_cheap() {
    let (program, mut sources) = load(&[
        PathBuf::from("rules"),
        PathBuf::from("facts/false-flag-example"),
    ]);
    let index = program
        .facts()
        .iter()
        .position(|f| program.predicate(f.predicate).name == "deception_indicator")
        .expect("the case has a deception indicator");
    let reduced = program.without_fact(index);
    let model = evaluate_checked(&reduced);
    let count = |text: &str, sources: &mut ascribe::diagnostic::Sources| {
        Pattern::parse(&reduced, &model, sources, text)
            .expect("valid pattern")
            .matches(&model)
            .len()
    };
    // The technical case for GROUP-X is still outweighed...
    assert_eq!(
        count("technical_link(ff_intrusion, ff_group_x)", &mut sources),
        0
    );
    assert_eq!(
        count("outweighed(ff_intrusion, ff_group_x)", &mut sources),
        1
    );
    assert_eq!(
        count("technical_link(ff_intrusion, ff_group_y)", &mut sources),
        1
    );
    // ...but the vendor's early claim for GROUP-X now stands beside GROUP-Y, weaker.
    let y = Pattern::parse(
        &reduced,
        &model,
        &mut sources,
        "conducted_by(ff_intrusion, ff_group_y)",
    )
    .expect("valid")
    .ground_fact(&model)
    .expect("GROUP-Y concluded");
    let x = Pattern::parse(
        &reduced,
        &model,
        &mut sources,
        "conducted_by(ff_intrusion, ff_group_x)",
    )
    .expect("valid")
    .ground_fact(&model)
    .expect("the vendor claim stands");
    assert!(model.confidence(y) > model.confidence(x));
}

#[test]
fn why_not_names_what_defeated_the_false_flag_target() {
    let (program, _) = load(&[
        PathBuf::from("rules"),
        PathBuf::from("facts/false-flag-example"),
    ]);
    let model = evaluate_checked(&program);
    let group = program.predicate_id("conducted_by").expect("defined");
    let values = [
        ascribe::value::Value::text("ff_intrusion"),
        ascribe::value::Value::text("ff_group_x"),
    ];
    let answer = ascribe::explain::why_not(&program, &model, group, &values);
    let text = answer.text();
    assert!(
        text.contains(
            "conducted_by(ff_intrusion, ff_group_x) was defeated: rule \"industry attribution\""
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "technical_link(ff_intrusion, ff_group_x) was defeated: rule \"cheap indicator\""
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "defeated by:\n    false_flag_suspected(ff_intrusion, ff_group_x)  [0.850 very likely]"
        ),
        "{text}"
    );
    assert!(
        text.contains("defeated by:\n    outweighed(ff_intrusion, ff_group_x)  [0.720 likely]"),
        "{text}"
    );
    insta::assert_snapshot!(text);
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
