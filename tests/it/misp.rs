//! MISP import end to end: the real threat-actor galaxy, a MISP event feeding the
//! shipped rules through the mapping in `facts/misp/`, and a diagnostic for every kind of
//! bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ascribe::diagnostic::Sources;
use ascribe::io::{self, NoSchema};
use ascribe::query::Pattern;

use crate::common::{ascribe, evaluate_checked, load};

const GALAXY: &str = "tests/data/misp/clusters-threat-actor.json";
const EVENT: &str = "tests/data/misp/ncsc-nz-pco-2021.misp.json";
const EVENT_UUID: &str = "8f6af4b2-ea7e-4e94-9fb2-ad8b04c662a5";

/// Facts per relation and diagnostic codes of one file, loaded on its own.
fn census(path: &str) -> (BTreeMap<String, usize>, Vec<&'static str>, io::Loaded) {
    let mut sources = Sources::default();
    let loaded = io::load(Path::new(path), &mut sources, &NoSchema);
    let mut relations = BTreeMap::new();
    for fact in &loaded.facts {
        *relations.entry(fact.relation.clone()).or_insert(0) += 1;
    }
    let codes = loaded.diagnostics.iter().map(|d| d.code).collect();
    (relations, codes, loaded)
}

#[test]
fn the_whole_threat_actor_galaxy_loads_with_every_shared_name_reported() {
    let (relations, codes, loaded) = census(GALAXY);
    assert_eq!(relations["misp_cluster"], 1041);
    // Counted from the file: the names listed under `synonyms` once per cluster, the
    // clusters with a country, a suspected sponsor or an attribution confidence.
    assert_eq!(relations["misp_country"], 477);
    assert_eq!(relations["misp_state_sponsor"], 99);
    assert_eq!(relations["misp_attribution_confidence"], 164);
    // 24 names are shared by two clusters and one ("PLA Navy") by three: 25 warnings,
    // and no other diagnostic.
    assert_eq!(codes, vec!["W0341"; 25]);
    let names: std::collections::BTreeSet<&str> = loaded
        .diagnostics
        .iter()
        .filter_map(|d| d.message.split('`').nth(1))
        .collect();
    assert_eq!(names.len(), 24);
    let grizzly = loaded
        .diagnostics
        .iter()
        .find(|d| d.message.starts_with("`Grizzly Steppe`"))
        .expect("Grizzly Steppe is shared");
    assert_eq!(
        grizzly.message,
        "`Grizzly Steppe` names two MISP clusters: `APT28` and `APT29`"
    );
    assert_eq!(
        grizzly.secondary.len(),
        1,
        "the first cluster's name is shown"
    );
    // Every fact names its cluster's uuid.
    assert!(loaded.facts.iter().all(|f| f
        .source
        .as_deref()
        .is_some_and(|s| s.ends_with(')') && s.contains("MISP galaxy threat-actor cluster"))));
}

#[test]
fn the_event_fixture_loads_every_part() {
    let (relations, codes, loaded) = census(EVENT);
    assert!(codes.is_empty(), "{:?}", loaded.diagnostics);
    let expected = [
        ("misp_attribute", 4),
        ("misp_comment", 3),
        ("misp_credibility", 1),
        ("misp_event", 1),
        ("misp_event_date", 1),
        ("misp_event_id", 1),
        ("misp_event_org", 1),
        ("misp_first_seen", 2),
        ("misp_galaxy", 1),
        ("misp_machine_tag", 6),
        ("misp_object", 1),
        ("misp_object_attribute", 2),
        ("misp_reliability", 1),
        ("misp_tag", 6),
        ("misp_to_ids", 3),
    ];
    let found: Vec<(&str, usize)> = relations.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    assert_eq!(found, expected);
    assert!(loaded.facts.iter().all(|f| f
        .source
        .as_deref()
        .is_some_and(|s| s.starts_with("MISP event 1207"))));
}

/// A case directory holding the analyst's part: the incident, the event's tie to it,
/// the organisation's kind, and the MSS link and state as in facts/nz-2021.
fn nz_case() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("misp-nz-case");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let facts = format!(
        r#"incident(nz_pco_2021, "Compromise of the Parliamentary Counsel Office").
misp_reports_on("{EVENT_UUID}", nz_pco_2021).
misp_org_kind("NCSC-NZ", government).
state(prc, "People's Republic of China").
organ(mss, "Ministry of State Security").
organ_of(mss, prc).
source_kind(uk_fcdo_2021_07_19, government).
speaks_for(uk_fcdo_2021_07_19, uk_government).
grade(uk_fcdo_2021_07_19, "B", 2).
claims(uk_fcdo_2021_07_19, operates_for, "APT40", mss) @source("gov.uk, 2021-07-19") @confidence(0.95).
"#
    );
    std::fs::write(dir.join("case.facts"), facts).expect("write facts");
    dir
}

#[test]
fn a_misp_event_feeds_the_nz_case_to_the_prc() {
    let (program, mut sources) = load(&[
        PathBuf::from("rules"),
        PathBuf::from("facts/misp"),
        PathBuf::from(GALAXY),
        PathBuf::from(EVENT),
        nz_case(),
    ]);
    let model = evaluate_checked(&program);
    let confidence = |sources: &mut Sources, fact: &str| {
        let pattern = Pattern::parse(&program, &model, sources, fact).expect("valid pattern");
        let found = pattern.matches(&model);
        assert_eq!(found.len(), 1, "{fact}");
        model.confidence(found[0])
    };
    // 0.95 (official attribution) x 0.875 (the event's "very likely").
    let group = confidence(&mut sources, "conducted_by(nz_pco_2021, apt40)");
    assert!((group - 0.95 * 0.875).abs() < 1e-9, "{group}");
    // Times 0.95 x 0.95 for the FCDO's MSS link.
    let state = confidence(&mut sources, "state_sponsored(nz_pco_2021, prc)");
    assert!((state - 0.95 * 0.875 * 0.95 * 0.95).abs() < 1e-9, "{state}");
    confidence(&mut sources, &format!("grade(\"{EVENT_UUID}\", \"B\", 2)"));
}

#[test]
fn the_explanation_ends_at_the_misp_event_and_cluster() {
    let case = nz_case();
    let case = case.to_str().expect("UTF-8 path");
    let output = ascribe(&[
        "explain",
        "rules/",
        "facts/misp",
        "--facts",
        GALAXY,
        "--facts",
        EVENT,
        "--facts",
        case,
        "state_sponsored(nz_pco_2021, prc)",
    ]);
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!(
        "source: MISP event 1207 \"Compromise of the Parliamentary Counsel Office network (2021), linked to APT40\" ({EVENT_UUID})"
    )), "{text}");
    assert!(text.contains(&format!("at {EVENT}:")), "{text}");
    assert!(
        text.contains("source: MISP galaxy threat-actor cluster \"APT40\" (5b4b6980-3bc7-11e8-84d6-879aaac37dd9)"),
        "{text}"
    );
}

#[test]
fn the_mapping_and_the_rule_set_check_clean() {
    let output = ascribe(&["check", "--deny", "warnings", "rules/", "facts/misp/"]);
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

/// Runs `check` on one MISP file beside the mapping: exit code and stderr.
fn check_file(name: &str, text: &str) -> (Option<i32>, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("misp-bad");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    let path = path.to_str().expect("UTF-8 path").to_owned();
    let output = ascribe(&["check", "rules/", "facts/misp/", &path]);
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    (output.status.code(), stderr.replace(&path, name))
}

#[test]
fn every_bad_input_gets_a_diagnostic_with_its_position() {
    let cases: &[(&str, &str, i32, &[&str])] = &[
        (
            "truncated.json",
            "{\"Event\": {\"uuid\": \"e1\",\n  \"info\": \"cut short",
            1,
            &["error[E0307]: invalid JSON: string is never closed", "truncated.json:2:11"],
        ),
        (
            "wrong-types.json",
            r#"{"Event": {"uuid": "e1", "Attribute": [{"uuid": "a1", "category": 7, "type": "ip-dst", "value": "x"}], "Tag": "tlp:white"}}"#,
            0,
            &[
                "warning[W0340]: malformed MISP data: an attribute has a `category` that is a number",
                "wrong-types.json:1:67",
                "warning[W0344]: MISP property `Tag` ignored: expected an array, found a string",
            ],
        ),
        (
            "missing-value.json",
            r#"{"type": "threat-actor", "uuid": "g", "values": [{"uuid": "c1", "meta": {}}]}"#,
            0,
            &["warning[W0340]: malformed MISP data: a galaxy cluster has no `value`", "missing-value.json:1:50"],
        ),
        (
            "bad-tag.json",
            r#"{"Event": {"uuid": "e1", "Tag": [{"name": "misp-galaxy:threat-actor=APT40"}]}}"#,
            0,
            &["warning[W0342]: MISP tag `misp-galaxy:threat-actor=APT40` is not a well-formed machine tag", "bad-tag.json:1:43"],
        ),
        (
            "admiralty.json",
            r#"{"Event": {"uuid": "e1", "Tag": [{"name": "admiralty-scale:source-reliability=\"z\""}]}}"#,
            0,
            &["warning[W0343]: MISP tag `admiralty-scale:source-reliability=\"z\"` is not in the admiralty-scale taxonomy", "admiralty.json:1:43"],
        ),
        (
            "shape.json",
            r#"{"response": {"Event": {}}}"#,
            1,
            &["error[E0340]: MISP `response` is not an array of events", "shape.json:1:14"],
        ),
    ];
    for (name, text, code, expected) in cases {
        let (status, stderr) = check_file(name, text);
        assert_eq!(status, Some(*code), "{name}: {stderr}");
        for part in *expected {
            assert!(
                stderr.contains(part),
                "{name}: expected {part:?} in\n{stderr}"
            );
        }
    }
}
