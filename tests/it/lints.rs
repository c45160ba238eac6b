//! Lints: each fixture's rendered warnings (colour off) are snapshotted, and `check`'s
//! `--allow` and `--deny warnings` are run through the binary.

use std::path::PathBuf;
use std::process::Output;

use ascribe::cli::{load_inputs, render};
use ascribe::diagnostic::Sources;

use crate::common::{ascribe, relative};

#[test]
fn fixtures() {
    insta::glob!("../fixtures/lint", "*.rules", |path| {
        let mut sources = Sources::default();
        let inputs = load_inputs(&mut sources, &[relative(path)]);
        assert!(
            inputs.program.is_some(),
            "{path:?}: lints never stop evaluation"
        );
        assert!(
            inputs.diagnostics.iter().all(|d| !d.is_error()),
            "{path:?} has errors"
        );
        // The fixture's name is the lint it shows (`allow.rules` shows `@allow`).
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(lint) = ascribe::program::lint::find_lint(name) {
            assert!(
                inputs.diagnostics.iter().any(|d| d.code == lint.code),
                "{name}: no {}",
                lint.code
            );
        }
        insta::assert_snapshot!(render::diagnostics(&sources, &inputs.diagnostics, false));
    });
}

#[test]
fn every_lint_has_a_fixture_and_a_section_in_the_docs() {
    let docs = std::fs::read_to_string("docs/lints.md").expect("docs/lints.md");
    let mut snapshots = String::new();
    for entry in std::fs::read_dir("tests/it/snapshots").expect("snapshots") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().contains("__lints__")
            || path.to_string_lossy().contains("__diagnostics__")
        {
            snapshots.push_str(&std::fs::read_to_string(&path).expect("readable"));
        }
    }
    // W0620 needs an evaluated model, so it is shown by
    // `the_shipped_rules_flag_silent_mistakes_with_a_did_you_mean` instead of a snapshot.
    for lint in ascribe::program::lint::LINTS
        .iter()
        .filter(|lint| lint.code != "W0620")
    {
        assert!(
            snapshots.contains(&format!("warning[{}]", lint.code)),
            "no snapshot shows {}",
            lint.code
        );
        assert!(
            docs.contains(&format!("## {} `{}`", lint.code, lint.name)),
            "docs/lints.md has no section for {} {}",
            lint.code,
            lint.name
        );
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}

fn check(args: &[&str]) -> Output {
    let mut all = vec!["check", "--color", "never"];
    all.extend_from_slice(args);
    ascribe(&all)
}

#[test]
fn deny_warnings_fails_while_a_warning_remains() {
    let fixture = "tests/fixtures/lint/zero_strength.rules";
    let plain = check(&[fixture]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(stderr(&plain).contains("warning[W0608]"));
    let denied = check(&["--deny", "warnings", fixture]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        stderr(&denied).contains("error: 1 warning reported, and `--deny warnings` was given"),
        "{}",
        stderr(&denied)
    );
    // Allowed by code or by name, nothing remains.
    for allow in ["W0608", "zero_strength"] {
        let allowed = check(&["--deny", "warnings", "--allow", allow, fixture]);
        assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
        assert!(stderr(&allowed).is_empty(), "{}", stderr(&allowed));
    }
}

#[test]
fn allow_flags_are_repeatable_and_unknown_ones_are_reported() {
    let fixture = "tests/fixtures/lint/subsumed_rule.rules";
    let output = check(&["--allow", "W0605", "--allow", "W06O5", fixture]);
    assert_eq!(output.status.code(), Some(0));
    let err = stderr(&output);
    assert!(!err.contains("warning[W0605]"), "{err}");
    assert!(
        err.contains("warning[W0601]: --allow W06O5: no lint has this code or name"),
        "{err}"
    );
    assert!(err.contains("did you mean `W0605`?"), "{err}");
    let denied = check(&["--deny", "warnings", "--allow", "subsumed_rules", fixture]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(stderr(&denied).contains("did you mean `subsumed_rule`?"));
    let bad = check(&["--deny", "errors", fixture]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn shipped_rules_are_clean_for_every_case() {
    let clean = check(&["--deny", "warnings", "rules/"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    for entry in std::fs::read_dir("facts").expect("facts/") {
        let case: PathBuf = entry.expect("entry").path();
        if !case.is_dir() || case.ends_with("tools") {
            continue;
        }
        let case = case.to_string_lossy().to_string();
        let output = check(&["--deny", "warnings", "rules/", "--facts", &case]);
        assert_eq!(output.status.code(), Some(0), "{case}: {}", stderr(&output));
    }
}

#[test]
fn other_commands_report_lints_as_warnings() {
    let output = ascribe(&[
        "run",
        "--color",
        "never",
        "tests/fixtures/lint/duplicate_rule.rules",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("warning[W0604]"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn facts_given_make_an_undeclared_relation_hold() {
    let dir = PathBuf::from("tests/fixtures/lint/from_files");
    let codes = |files: &[&str]| {
        let mut sources = Sources::default();
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        let inputs = load_inputs(&mut sources, &paths);
        assert!(inputs.program.is_some());
        inputs
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect::<Vec<_>>()
    };
    // Without `path.tsv`, `path` has no base case; with it, the recursion has facts.
    assert_eq!(codes(&["tc.rules", "e.tsv"]), ["W0602", "W0602"]);
    assert!(codes(&["tc.rules", "e.tsv", "path.tsv"]).is_empty());
}

/// A fresh directory holding one fact file.
fn case_dir(name: &str, facts: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("rule-set-warnings")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("case.facts"), facts).expect("write facts");
    dir
}

/// The four mistakes that used to pass `check` silently, each now a `W0620` from the
/// shipped rule set's `@warn` relations, at the fact's line, with a did-you-mean.
#[test]
fn the_shipped_rules_flag_silent_mistakes_with_a_did_you_mean() {
    let facts = r#"incident(x_2030, "An intrusion").
group(hafnium).
alias_of("HAFNIUM", hafnium).
source_kind(vendor, industry).
speaks_for(vendor, vendor).
grade(vendor, "b", 2).
claims(vendor, conducted_by, x_2030, "Hafnium").
claims(vendor, conducted_bi, x_2030, "HAFNIUM").
claims(vendor, conducted_by, x_2003, "HAFNIUM").
"#;
    let dir = case_dir("four", facts);
    let output = crate::common::ascribe(&[
        "check",
        "--deny",
        "warnings",
        "rules/",
        "--facts",
        dir.to_str().expect("utf-8 path"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for (line, message, help) in [
        (
            6,
            "the grade of vendor has reliability `b`, which is no Admiralty letter: the source is not trusted",
            "did you mean `B`?",
        ),
        (
            7,
            "vendor names the group `Hafnium`, which is neither a known group nor an alias: the claim is not counted",
            "did you mean `HAFNIUM`?",
        ),
        (
            8,
            "vendor claims `conducted_bi`, which no rule reads: the claim is ignored",
            "did you mean `conducted_by`?",
        ),
        (
            9,
            "vendor makes a claim about `x_2003`, which no incident(...) fact declares: the claim is ignored",
            "did you mean `x_2030`?",
        ),
    ] {
        let at = stderr
            .find(&format!("warning[W0620]: {message}"))
            .unwrap_or_else(|| panic!("no warning `{message}` in:\n{stderr}"));
        let rest = &stderr[at..];
        let block = &rest[..rest[1..].find("warning[").map_or(rest.len(), |end| end + 1)];
        assert!(block.contains(&format!("case.facts:{line}:1")), "{block}");
        assert!(block.contains(help), "{block}");
    }
    assert_eq!(stderr.matches("warning[W0620]").count(), 4, "{stderr}");

    // Right as written: `@allow(rule_set_warning)` on the fact silences its warning.
    let allowed = facts.replace(
        r#"claims(vendor, conducted_by, x_2030, "Hafnium")."#,
        r#"claims(vendor, conducted_by, x_2030, "Hafnium") @allow(rule_set_warning)."#,
    );
    let dir = case_dir("allowed", &allowed);
    let output = crate::common::ascribe(&[
        "check",
        "rules/",
        "--facts",
        dir.to_str().expect("utf-8 path"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("warning[W0620]").count(), 3, "{stderr}");
    assert!(!stderr.contains("`Hafnium`"), "{stderr}");
}
