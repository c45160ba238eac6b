//! TAXII 2.1 against a real server: OASIS's medallion, which `scripts/test.sh` starts on
//! a free local port with the APT40 slice as one collection (`scripts/taxii_server.py`)
//! and names in `ASCRIBE_TAXII_URL`. With the variable set, every test here needs the
//! server: one that cannot be reached fails them.

use std::path::PathBuf;

use ascribe::cli::{load_inputs, render};
use ascribe::diagnostic::{Diagnostic, Sources};

use crate::common::{evaluate_checked, facts};

/// The collection's URL, with credentials; `None` outside `scripts/test.sh` (CI runs
/// that script, so there the variable must be set).
fn collection() -> Option<String> {
    match std::env::var("ASCRIBE_TAXII_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("ASCRIBE_TAXII_URL is not set: CI runs scripts/test.sh, which starts the TAXII server")
        }
        Err(_) => None,
    }
}

/// nz-2021's statements without its ATT&CK slice, and `extra` before them.
fn case_with(extra: &str) -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("rules"), PathBuf::from(extra)];
    paths.extend(
        ["incident", "claims", "sources", "background"]
            .iter()
            .map(|name| PathBuf::from(format!("facts/nz-2021/{name}.facts"))),
    );
    paths
}

/// Loads `paths`; the program if there was no error, and every diagnostic rendered.
fn try_load(paths: &[PathBuf]) -> (Option<ascribe::Program>, Vec<Diagnostic>, String) {
    let mut sources = Sources::default();
    let inputs = load_inputs(&mut sources, paths);
    let rendered = render::diagnostics(&sources, &inputs.diagnostics, false);
    (inputs.program, inputs.diagnostics, rendered)
}

fn count(program: &ascribe::Program, relation: &str) -> usize {
    let model = evaluate_checked(program);
    facts(program, &model)
        .iter()
        .filter(|(fact, _)| fact.starts_with(&format!("{relation}(")))
        .count()
}

#[test]
fn a_collection_pages_into_the_nz_case() {
    let Some(url) = collection() else { return };
    let (program, diagnostics, rendered) = try_load(&case_with(&url));
    let program = program.unwrap_or_else(|| panic!("the collection did not load:\n{rendered}"));
    assert!(diagnostics.is_empty(), "{rendered}");
    // 256 objects in pages of at most 100: the 117 mapped objects of the slice, all there.
    assert_eq!(count(&program, "stix_object"), 117);
    let model = evaluate_checked(&program);
    let from_taxii: Vec<(String, f64)> = facts(&program, &model)
        .into_iter()
        .filter(|(fact, _)| {
            fact.starts_with("state_sponsored(") || fact.starts_with("conducted_by(")
        })
        .collect();
    let from_slice: Vec<(String, f64)> = {
        let (program, _) =
            crate::common::load(&[PathBuf::from("rules"), PathBuf::from("facts/nz-2021")]);
        let model = evaluate_checked(&program);
        facts(&program, &model)
            .into_iter()
            .filter(|(fact, _)| {
                fact.starts_with("state_sponsored(") || fact.starts_with("conducted_by(")
            })
            .collect()
    };
    assert_eq!(from_taxii.len(), 4);
    assert_eq!(from_taxii, from_slice);
}

#[test]
fn added_after_loads_only_what_the_server_added_later() {
    let Some(url) = collection() else { return };
    // scripts/taxii_server.py dates the slice's objects at odd positions 2025-01-01.
    let slice: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/data/attack-apt40-G0065.stix21.json").expect("the slice"),
    )
    .expect("JSON");
    let objects = slice["objects"].as_array().expect("objects");
    let mapped = [
        "intrusion-set",
        "campaign",
        "attack-pattern",
        "malware",
        "tool",
        "identity",
    ];
    let later = objects
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|o| mapped.contains(&o["type"].as_str().unwrap_or("")))
        .count();
    assert!(later > 0 && later < 117);
    let (program, diagnostics, rendered) = try_load(&[
        PathBuf::from("rules"),
        PathBuf::from(format!("{url}?added_after=2024-06-01T00:00:00Z")),
    ]);
    let program = program.unwrap_or_else(|| panic!("the update did not load:\n{rendered}"));
    // An update refers to objects sent before: warned about, never an error.
    assert!(
        diagnostics
            .iter()
            .all(|d| matches!(d.code, "W0302" | "W0331")),
        "{rendered}"
    );
    assert_eq!(count(&program, "stix_object"), later);
}

/// `url` with its collection id replaced.
fn other_collection(url: &str) -> String {
    let (base, _) = url
        .trim_end_matches('/')
        .rsplit_once("/collections/")
        .expect("a collection URL");
    format!("{base}/collections/91f8c7a2-0000-4000-8000-000000000000/")
}

#[test]
fn the_real_server_refuses_a_missing_collection_and_a_wrong_password() {
    let Some(url) = collection() else { return };
    let (program, diagnostics, rendered) = try_load(&[PathBuf::from(other_collection(&url))]);
    assert!(program.is_none());
    assert_eq!(diagnostics.len(), 1, "{rendered}");
    assert_eq!(diagnostics[0].code, "E0332");
    assert!(rendered.contains("answered 404"), "{rendered}");
    assert!(
        rendered.contains(
            "/collections/91f8c7a2-0000-4000-8000-000000000000/objects/?limit=500` (page 1)"
        ),
        "{rendered}"
    );

    let wrong = url.replacen(":ascribe-test@", ":wrong@", 1);
    assert_ne!(wrong, url, "the test server's URL carries its password");
    let (program, diagnostics, rendered) = try_load(&[PathBuf::from(wrong)]);
    assert!(program.is_none());
    assert_eq!(diagnostics[0].code, "E0332");
    assert!(rendered.contains("answered 401"), "{rendered}");
    assert!(rendered.contains("ASCRIBE_TAXII_PASSWORD"), "{rendered}");
    assert!(
        !rendered.contains("wrong"),
        "the password is shown: {rendered}"
    );
}

#[test]
fn a_closed_port_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("bound").port()
    };
    let url = format!("taxii://127.0.0.1:{port}/api1/collections/c/");
    let (program, diagnostics, rendered) = try_load(&[PathBuf::from("rules"), PathBuf::from(&url)]);
    assert!(program.is_none());
    assert_eq!(diagnostics.len(), 1, "{rendered}");
    assert_eq!(diagnostics[0].code, "E0331");
    assert!(
        rendered.contains(&format!("cannot reach the TAXII server for `http://127.0.0.1:{port}/api1/collections/c/objects/?limit=500`")),
        "{rendered}"
    );
    assert!(
        rendered.contains("nothing from this collection was loaded"),
        "{rendered}"
    );
}
