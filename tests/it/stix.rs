//! STIX 2.1 straight into the shipped rules: the whole ATT&CK bundle through
//! `rules/stix.rules` gives a case the conclusions its slice gives.

use std::io::Read as _;
use std::path::PathBuf;

use crate::common::{evaluate_checked, facts, load};

/// The relations the attribution rules conclude (not the mapped ATT&CK catalogue).
const CONCLUSIONS: [&str; 10] = [
    "attribution_level",
    "conducted_by",
    "conducted_for",
    "corroborated",
    "corroborated_link",
    "days_to_attribution",
    "denial",
    "partner_reinforcement_reported",
    "state_sponsored",
    "unresolved_group_name",
];

fn conclusions(paths: &[PathBuf]) -> Vec<(String, f64)> {
    let (program, _) = load(paths);
    let model = evaluate_checked(&program);
    facts(&program, &model)
        .into_iter()
        .filter(|(fact, _)| {
            CONCLUSIONS
                .iter()
                .any(|relation| fact.starts_with(&format!("{relation}(")))
        })
        .collect()
}

#[test]
fn the_whole_attack_bundle_feeds_the_nz_case_directly() {
    let mut text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open("tests/data/attack-enterprise-compact.stix21.json.gz")
            .expect("tests/data holds the bundle"),
    )
    .read_to_string(&mut text)
    .expect("gzip-compressed UTF-8");
    let dir = std::env::temp_dir().join(format!("ascribe-stix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let bundle = dir.join("attack-enterprise.json");
    std::fs::write(&bundle, text).expect("write the bundle");
    // The case without its own slice: only its statements, sources and background.
    let mut case: Vec<PathBuf> = ["incident", "claims", "sources", "background"]
        .iter()
        .map(|name| PathBuf::from(format!("facts/nz-2021/{name}.facts")))
        .collect();
    let mut with_bundle = vec![PathBuf::from("rules"), bundle];
    with_bundle.append(&mut case);
    let from_bundle = conclusions(&with_bundle);
    let from_slice = conclusions(&[PathBuf::from("rules"), PathBuf::from("facts/nz-2021")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(from_bundle
        .iter()
        .any(|(fact, c)| fact == "state_sponsored(nz_pco_2021, prc)"
            && (c - 0.81450625).abs() < 1e-9));
    assert_eq!(from_bundle, from_slice);
}
