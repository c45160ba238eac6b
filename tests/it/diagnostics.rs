//! Failing inputs: each fixture's rendered diagnostics (colour off) are snapshotted.

use std::path::{Path, PathBuf};

use ascribe::cli::{load_inputs, render};
use ascribe::diagnostic::Sources;

use crate::common::relative;

/// Rendered diagnostics, and whether a program came out (warnings only).
fn diagnose(paths: &[PathBuf]) -> (String, bool) {
    let mut sources = Sources::default();
    let inputs = load_inputs(&mut sources, paths);
    assert!(
        !inputs.diagnostics.is_empty(),
        "{paths:?} produced no diagnostic"
    );
    (
        render::diagnostics(&sources, &inputs.diagnostics, false),
        inputs.program.is_some(),
    )
}

#[test]
fn fixtures() {
    insta::glob!("../fixtures/fail", "*.rules", |path| {
        let (rendered, evaluates) = diagnose(&[relative(path)]);
        // Only the warnings fixture may still evaluate.
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(evaluates, name.starts_with("singleton"), "{name}");
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn fact_file_errors_render_like_rule_errors() {
    let (rendered, evaluates) = diagnose(&[PathBuf::from("tests/fixtures/fail/fact_files")]);
    assert!(!evaluates);
    insta::assert_snapshot!(rendered);
}

#[test]
fn facts_no_rule_reads_are_named_with_the_relation_meant() {
    let dir = PathBuf::from("tests/fixtures/fail/unread_facts");
    let paths = ["tc.rules", "edges.tsv", "remarks.tsv"].map(|f| dir.join(f));
    let (rendered, evaluates) = diagnose(&paths);
    assert!(evaluates, "a warning only");
    insta::assert_snapshot!(rendered);
}

#[test]
fn every_error_code_has_a_fixture() {
    // The stable codes the front end can emit; each must appear in some snapshot so a
    // change to its wording is reviewed.
    let codes = [
        "E0001", "E0101", "E0102", "E0103", "E0104", "E0105", "E0106", "E0107", "E0108", "E0201",
        "E0202", "E0203", "E0204", "E0205", "E0109", "E0120", "E0121", "E0122", "E0123", "W0201",
        "W0202", "E0303", "E0304", "E0305", "E0002",
    ];
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let mut all = String::new();
    for entry in std::fs::read_dir(&snapshots).expect("snapshots directory exists") {
        let path = entry.expect("readable entry").path();
        if path.to_string_lossy().contains("diagnostics__") {
            all.push_str(&std::fs::read_to_string(&path).expect("readable snapshot"));
        }
    }
    for code in codes {
        assert!(
            all.contains(&format!("[{code}]")),
            "no diagnostics snapshot shows {code}"
        );
    }
}
