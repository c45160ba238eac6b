//! `ascribe test` and `ascribe diff` end to end: expectations that hold and fail with
//! their explanations, golden files written, compared and refused, coverage, report
//! formats, and the library's conclusion text under insta.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::ascribe;

/// A small rule set: an official claim by a trusted source names a group; a group that
/// works for a state makes the state responsible.
const RULES: &str = r#"
rel claims(source: sym, incident: sym, group: sym).
rel trusted(source: sym).
rel works_for(group: sym, state: sym).

@name("official attribution") @strength(0.9)
conducted_by(I, G) :- claims(S, I, G), trusted(S).

@name("state responsibility")
state_sponsored(I, St) :- conducted_by(I, G), works_for(G, St).

@name("never used")
dormant(I) :- claims(_, I, _), works_for(I, _).
"#;

/// A fresh directory holding `attribution.rules` and the given test file.
fn project(name: &str, test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("testing")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("attribution.rules"), RULES).expect("write rules");
    std::fs::write(dir.join("attribution.test"), test).expect("write test");
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ascribe"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}

const FIXTURE: &str = r#"
test "official claim names the group" {
    claims(gcsb, x_2021, apt40) @confidence(0.9).
    trusted(gcsb).
    works_for(apt40, prc).
    expect conducted_by(x_2021, apt40) >= very_likely, rests_on claims(gcsb, _, _).
    expect state_sponsored(x_2021, prc) = 0.81.
    expect not state_sponsored(x_2021, russia).
}

test "wrong expectations" {
    claims(gcsb, x_2021, apt40) @confidence(0.9) @source("GCSB release").
    trusted(gcsb).
    expect conducted_by(x_2021, apt40) >= almost_certain.
    expect state_sponsored(x_2021, prc).
    expect not conducted_by(x_2021, _).
    expect conducted_by(x_2021, apt40) rests_on "NCSC".
}
"#;

#[test]
fn failing_expectations_show_explanations_and_why_not() {
    let dir = project("fixture", FIXTURE);
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn a_filter_runs_only_matching_tests_and_passes() {
    let dir = project("filter", FIXTURE);
    let output = run_in(&dir, &["test", ".", "--filter", "official claim"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        "ok     official claim names the group  (./attribution.test:2)\n\n1 passed, 0 failed\n"
    );
}

#[test]
fn output_is_the_same_for_every_thread_count() {
    let dir = project("threads", FIXTURE);
    let one = run_in(&dir, &["test", ".", "--threads", "1", "--format", "json"]);
    let four = run_in(&dir, &["test", ".", "--threads", "4", "--format", "json"]);
    assert_eq!(stdout(&one), stdout(&four));
    let json: serde_json::Value = serde_json::from_str(&stdout(&one)).expect("JSON");
    assert_eq!(json["passed"], 1);
    assert_eq!(json["failed"], 1);
    assert_eq!(
        json["tests"][1]["failures"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(
        json["tests"][1]["failures"][0]["location"],
        "./attribution.test:14:5"
    );
}

#[test]
fn junit_output_has_one_testcase_per_test() {
    let dir = project("junit", FIXTURE);
    let output = run_in(&dir, &["test", ".", "--format", "junit"]);
    assert_eq!(output.status.code(), Some(1));
    let xml = stdout(&output);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ascribe\" tests=\"2\" failures=\"1\">\n"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<failure message=").count(), 4, "{xml}");
    assert!(
        xml.contains(
            "name=\"official claim names the group\" file=\"./attribution.test\" line=\"2\"/>"
        ),
        "{xml}"
    );
    // Quotes and angle brackets of the messages are escaped.
    assert!(
        xml.contains("expected `state_sponsored(x_2021, prc)` to hold, but it was not derived"),
        "{xml}"
    );
    assert!(!xml.contains("<-"), "{xml}");
}

const SNAPSHOT: &str = r#"
test "case" {
    facts "case.facts".
    snapshot.
}
"#;

const CASE: &str =
    "claims(gcsb, x_2021, apt40) @confidence(0.9).\ntrusted(gcsb).\nworks_for(apt40, prc).\n";

#[test]
fn golden_files_are_written_on_accept_then_compared() {
    let dir = project("golden", SNAPSHOT);
    std::fs::write(dir.join("case.facts"), CASE).expect("write facts");
    let golden = dir.join("snapshots/attribution/case.txt");

    // No golden file yet: the test fails and says how to write one.
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("no golden file ./snapshots/attribution/case.txt yet"),
        "{}",
        stdout(&output)
    );
    assert!(!golden.exists());

    let output = run_in(&dir, &["test", ".", "--accept"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        std::fs::read_to_string(&golden).expect("golden file written"),
        "# ascribe snapshot of test \"case\" in attribution.test; rewrite with `ascribe test --accept`\n\
         conducted_by(x_2021, apt40)  [0.810 very likely]\n\
         state_sponsored(x_2021, prc)  [0.810 very likely]\n"
    );
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));

    // A rule change: the diff names each moved conclusion and explains it.
    std::fs::write(
        dir.join("attribution.rules"),
        RULES.replace("@strength(0.9)", "@strength(0.5)"),
    )
    .expect("write rules");
    std::fs::write(
        dir.join("case.facts"),
        format!("{CASE}works_for(apt40, mss).\n"),
    )
    .expect("write facts");
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("golden_diff", stdout(&output));
    // The golden file is untouched until accepted.
    assert!(std::fs::read_to_string(&golden)
        .expect("golden")
        .contains("[0.810 very likely]"));
}

#[test]
fn golden_files_not_written_by_ascribe_or_behind_links_are_refused() {
    let dir = project("refused", SNAPSHOT);
    std::fs::write(dir.join("case.facts"), CASE).expect("write facts");
    let snapshots = dir.join("snapshots/attribution");
    std::fs::create_dir_all(&snapshots).expect("dir");
    std::fs::write(snapshots.join("case.txt"), "my notes\n").expect("write");
    let output = run_in(&dir, &["test", ".", "--accept"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("./snapshots/attribution/case.txt was not written by ascribe (it does not start with `# ascribe snapshot`); not overwritten"), "{}", stdout(&output));
    assert_eq!(
        std::fs::read_to_string(snapshots.join("case.txt")).expect("kept"),
        "my notes\n"
    );

    #[cfg(unix)]
    {
        std::fs::remove_file(snapshots.join("case.txt")).expect("remove");
        std::fs::write(dir.join("target.txt"), "# ascribe snapshot\nprecious\n").expect("write");
        std::os::unix::fs::symlink(dir.join("target.txt"), snapshots.join("case.txt"))
            .expect("link");
        let output = run_in(&dir, &["test", ".", "--accept"]);
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stdout(&output).contains("is a symbolic link; not overwritten"),
            "{}",
            stdout(&output)
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("target.txt")).expect("kept"),
            "# ascribe snapshot\nprecious\n"
        );
    }
}

#[test]
fn a_malformed_golden_file_is_diagnosed_with_its_line() {
    let dir = project("malformed", SNAPSHOT);
    std::fs::write(dir.join("case.facts"), CASE).expect("write facts");
    let snapshots = dir.join("snapshots/attribution");
    std::fs::create_dir_all(&snapshots).expect("dir");
    std::fs::write(snapshots.join("case.txt"), "# ascribe snapshot\nconducted_by(x_2021, apt40)  [0.810 very likely]\nstate_sponsored(x_2021, prc) 0.81\n").expect("write");
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("golden file ./snapshots/attribution/case.txt is malformed\n    ./snapshots/attribution/case.txt:3:1: error[E0703]: not a line of conclusions"), "{}", stdout(&output));
}

#[test]
fn orphaned_golden_files_are_listed_not_deleted() {
    let dir = project("orphan", SNAPSHOT);
    std::fs::write(dir.join("case.facts"), CASE).expect("write facts");
    assert_eq!(
        run_in(&dir, &["test", ".", "--accept"]).status.code(),
        Some(0)
    );
    let old = dir.join("snapshots/attribution/renamed-test.txt");
    std::fs::write(&old, "# ascribe snapshot\n").expect("write");
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("golden files no test names (not deleted; remove them if they are stale):\n  ./snapshots/attribution/renamed-test.txt\n"), "{}", stdout(&output));
    assert!(old.exists());
}

#[test]
fn coverage_lists_rules_no_test_exercises_and_can_fail_the_run() {
    let dir = project("coverage", FIXTURE);
    let output = run_in(&dir, &["test", ".", "--filter", "official", "--coverage"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).ends_with(
            "coverage: 2 of 3 rules exercised (66.7%)\n        \
         1  ./attribution.rules:6:1   \"official attribution\"\n        \
         1  ./attribution.rules:9:1   \"state responsibility\"\n        \
         0  ./attribution.rules:12:1  \"never used\"\n\
         not exercised by any test (1):\n  \
         ./attribution.rules:12:1  \"never used\"\n\n1 passed, 0 failed\n"
        ),
        "{}",
        stdout(&output)
    );
    let output = run_in(
        &dir,
        &["test", ".", "--filter", "official", "--min-coverage", "70"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: rule coverage 66.7% is below --min-coverage 70\n"
    );
}

#[test]
fn a_broken_test_file_gets_diagnostics_with_its_place() {
    let dir = project(
        "broken",
        "test \"a\" {\n    expect p(x) >= 1.5.\n    expect conducted_by(x, y)\n}\n",
    );
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("broken_test_file", stderr(&output));
}

#[test]
fn no_test_files_is_a_usage_error() {
    let dir = project("empty", "");
    std::fs::remove_file(dir.join("attribution.test")).expect("remove");
    let output = run_in(&dir, &["test", "."]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error[E0705]: no test files found in ."),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_shipped_rules_pass_their_tests() {
    let output = ascribe(&["test", "rules/"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    // Every test file under rules/ runs: the 32 of attribution.test, the 8 of
    // independence.test, the 3 of stix.test and the 13 of misp.test.
    assert!(
        stdout(&output).ends_with("\n56 passed, 0 failed\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn diff_shows_the_conclusions_a_rule_change_moves() {
    let dir = project("diff", SNAPSHOT);
    std::fs::write(dir.join("case.facts"), CASE).expect("write facts");
    std::fs::create_dir_all(dir.join("new")).expect("dir");
    std::fs::write(
        dir.join("new/attribution.rules"),
        RULES.replace("works_for(G, St).", "works_for(G, St), G != apt40."),
    )
    .expect("write");
    let output = run_in(
        &dir,
        &["diff", "attribution.rules", "new", "--facts", "case.facts"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("diff", stdout(&output));
    let same = run_in(
        &dir,
        &[
            "diff",
            "attribution.rules",
            "attribution.rules",
            "--facts",
            "case.facts",
        ],
    );
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(
        stdout(&same),
        "0 conclusions change from attribution.rules to attribution.rules\n"
    );
}

/// The same stable text `ascribe test` compares, for a Rust user's own snapshots.
#[test]
fn library_users_snapshot_conclusions_with_insta() {
    use ascribe::diagnostic::Sources;
    let mut sources = Sources::default();
    let text = format!("{RULES}\n{CASE}");
    let id = sources.add("example.rules", text.clone());
    let (module, errors) = ascribe::parse(id, &text);
    assert!(errors.is_empty());
    let program = ascribe::Program::from_modules(&[module], Vec::new(), &sources).expect("valid");
    let model = ascribe::evaluate(&program, &ascribe::EvalOptions::default());
    insta::assert_snapshot!(ascribe::test::snapshot::conclusions(&program, &model, &[]), @r"
    conducted_by(x_2021, apt40)  [0.810 very likely]
    state_sponsored(x_2021, prc)  [0.810 very likely]
    ");
}
