//! End-to-end runs of the `ascribe` binary: exit codes, standard output and error.

use std::path::Path;
use std::process::Output;

use crate::common::ascribe;

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}

#[test]
fn run_derives_the_founding_conclusion() {
    let output = ascribe(&["run", "rules/", "--facts", "facts/nz-2021/"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    // The conclusions come first, the hypothesis relations in declaration order; the
    // rest after, and relations without facts are only counted.
    assert!(
        out.starts_with("Conclusions (@hypothesis relations, most confident first)\n\nresponsible group: conducted_by (2 facts)\n  conducted_by(nz_parliamentary_service_2021, apt40)  [0.902 very likely]\n"),
        "{out}"
    );
    let conclusion = out
        .find("sponsoring state: state_sponsored (2 facts)\n  state_sponsored(nz_parliamentary_service_2021, prc)  [0.815 very likely]\n  state_sponsored(nz_pco_2021, prc)  [0.815 very likely]\n")
        .expect("the sponsoring state among the conclusions");
    let rest = out
        .find("\nOther derived relations\n")
        .expect("the other relations");
    assert!(conclusion < rest);
    assert!(!out.contains("(no facts)"), "{out}");
    assert!(
        out.ends_with("\n(42 relations without facts not shown; --empty lists them)\n"),
        "{out}"
    );
    // One line of summary on standard error, so that standard output stays the same
    // for the same input.
    let err = stderr(&output);
    assert!(
        err.starts_with("1,387 input facts loaded, 423 facts in derived relations, in ")
            && err.ends_with(" s\n")
            && err.lines().count() == 1,
        "{err}"
    );
    let quiet = ascribe(&["run", "rules/", "--facts", "facts/nz-2021/", "--quiet"]);
    assert_eq!(quiet.stdout, output.stdout);
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));
    let empty = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--empty",
        "-q",
    ]);
    let empty = stdout(&empty);
    assert_eq!(empty.matches("(no facts)\n").count(), 42, "{empty}");
    assert!(empty.starts_with("Conclusions"), "{empty}");
}

#[test]
fn output_is_byte_identical_across_runs() {
    let first = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--format",
        "json",
    ]);
    let second = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--format",
        "json",
    ]);
    assert_eq!(first.stdout, second.stdout);
    let parsed: serde_json::Value = serde_json::from_slice(&first.stdout).expect("valid JSON");
    let facts = parsed["state_sponsored"]
        .as_array()
        .expect("a list of facts");
    assert!(facts
        .iter()
        .any(|f| f["fact"] == "state_sponsored(nz_pco_2021, prc)"));
}

#[test]
fn explain_prints_the_tree_and_exits_one_when_the_fact_does_not_hold() {
    let output = ascribe(&[
        "explain",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "state_sponsored(nz_pco_2021, prc)",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("state_sponsored(nz_pco_2021, prc)  ["));
    let output = ascribe(&[
        "explain",
        "rules/attribution.rules",
        "--facts",
        "facts/au-parliament-2019",
        "state_sponsored(au_parliament_2019, prc)",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).starts_with("state_sponsored(au_parliament_2019, prc) was not derived.")
    );
}

#[test]
fn explain_formats() {
    for (format, start) in [("json", "{"), ("dot", "digraph explanation {")] {
        let output = ascribe(&[
            "explain",
            "rules/",
            "--facts",
            "facts/nz-2021",
            "--format",
            format,
            "conducted_by(nz_pco_2021, apt40)",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stdout(&output).starts_with(start), "{format}");
    }
}

#[test]
fn query_lists_matching_facts() {
    let output = ascribe(&[
        "query",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "conducted_by(I, apt40)",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().all(|l| l.starts_with("conducted_by(nz_")),
        "{out}"
    );
    let output = ascribe(&[
        "query",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "conducted_bye(I, apt40)",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("did you mean `conducted_by`?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_reports_errors_with_exit_code_one() {
    let output = ascribe(&["check", "tests/fixtures/fail/unknown_relation.rules"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("error[E0101]: unknown relation `claimz`"),
        "{err}"
    );
    assert!(
        err.contains("tests/fixtures/fail/unknown_relation.rules:3:23"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
    let output = ascribe(&["check", "rules/"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("ok: "));
}

#[test]
fn usage_and_unreadable_paths_exit_two() {
    assert_eq!(ascribe(&["run", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(ascribe(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(ascribe(&["run"]).status.code(), Some(2));
    let output = ascribe(&["run", "rules/", "--facts", "no/such/dir"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no/such/dir"),
        "{}",
        stderr(&output)
    );
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--relation",
        "conducted_bi",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("did you mean `conducted_by`?"));
}

#[test]
fn output_dir_gets_one_facts_file_per_derived_relation() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-output");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_text = dir.to_string_lossy().to_string();
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--output",
        &dir_text,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let written = std::fs::read_to_string(dir.join("state_sponsored.facts"))
        .expect("state_sponsored.facts written");
    let sources = "GCSB NCSC media release, 2024-03-26 (Andrew Clark: 'confidently link the actor to ... APT40'); \
        GCSB NCSC media release 'NCSC's response to the Parliamentary Counsel Office and Parliamentary Service cyber incident', 2024-03-26; \
        ncsc.govt.nz news release, 2024-03-26; Analyst grading (ascribe example); \
        MITRE ATT&CK G0065 Leviathan (intrusion-set--7113eaa5-ba79-4fb3-b68a-398ee9cd698e); Case naming: apt40 is ATT&CK G0065 Leviathan; \
        STIX alias lists (rules/stix.rules): vendors' names for clusters that only roughly coincide; \
        Andrew Clark, GCSB Director-General, 2024-03-26, as reported by NZ Herald, The Register and EFE; \
        Background knowledge: a ministry of the PRC State Council; GCSB press conference, 2024-03-26; \
        Background knowledge: the MSS is a ministry of the People's Republic of China";
    assert_eq!(
        written,
        format!(
            "state_sponsored(nz_parliamentary_service_2021, prc) @confidence(0.81450625) @source(\"{sources}\").\n\
             state_sponsored(nz_pco_2021, prc) @confidence(0.81450625) @source(\"{sources}\").\n"
        )
    );
    assert!(
        !dir.join("claims.facts").exists(),
        "input relations are not written"
    );
}

#[test]
fn tsv_directories_load_as_facts() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tsv");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("edge.tsv"), "1\t2\n2\t3\n").expect("write");
    std::fs::write(
        dir.join("tc.rules"),
        "path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).\n",
    )
    .expect("write");
    let dir_text = dir.to_string_lossy().to_string();
    let output = ascribe(&["run", &dir_text, "--format", "tsv"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "path\t1\t2\t1.000\npath\t1\t3\t1.000\npath\t2\t3\t1.000\n"
    );
}

#[test]
fn limits_stop_growing_programs_without_printing_a_partial_result() {
    for limit in [
        ["--max-facts", "500"],
        ["--timeout", "0.2"],
        ["--max-memory", "1"],
    ] {
        let output = ascribe(&[
            "run",
            "tests/fixtures/limits/unbounded.rules",
            limit[0],
            limit[1],
        ]);
        assert_eq!(output.status.code(), Some(1), "{limit:?}");
        assert!(
            stdout(&output).is_empty(),
            "{limit:?}: a partial result was printed"
        );
        let err = stderr(&output);
        assert!(
            err.contains("error[E0501]: evaluation stopped after"),
            "{err}"
        );
        assert!(err.contains(limit[0]), "{err}");
        assert!(
            err.contains("rule \"successor\" was still growing"),
            "{err}"
        );
        assert!(
            err.contains("tests/fixtures/limits/unbounded.rules:4:1"),
            "{err}"
        );
    }
    assert_eq!(
        ascribe(&[
            "run",
            "tests/fixtures/limits/unbounded.rules",
            "--timeout",
            "-1"
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn as_of_reasons_only_with_what_held_on_that_day() {
    // Before the 2024 statements, New Zealand had not attributed the incident.
    let before = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--as-of",
        "2022-01-01",
        "-r",
        "state_sponsored",
        "-r",
        "operates_for",
    ]);
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
    let out = stdout(&before);
    assert!(out.contains("state_sponsored (no facts)"), "{out}");
    // What APT40 is was public in 2021 (US, UK, NZ statements of 2021-07-19).
    assert!(out.contains("operates_for(apt40, mss)"), "{out}");
    assert!(
        // 75 of the 87 are facts of ATT&CK objects and relationships created after that
        // day (a STIX `created` timestamp starts its facts' window), 12 the case's own.
        stderr(&before).contains("note: as of 2022-01-01: 87 input facts set aside (87 not yet holding, 0 no longer holding), 1300 kept"),
        "{}",
        stderr(&before)
    );
    let after = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--as-of",
        "2024-04-01",
        "-r",
        "state_sponsored",
    ]);
    assert!(stdout(&after).contains("state_sponsored(nz_pco_2021, prc)  [0.815 very likely]"));

    // Windows close as well as open: an old alias stops resolving.
    let at = |day: &str| {
        let output = ascribe(&[
            "run",
            "tests/fixtures/time/windows.rules",
            "--as-of",
            day,
            "-r",
            "named",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        stdout(&output)
    };
    assert_eq!(
        at("2018-06-01"),
        "named (1 fact)\n  named(incident_b, apt40)  [1.000 almost certain]\n"
    );
    assert_eq!(at("2020-01-01"), "named (no facts)\n");
    assert_eq!(
        at("2024-03-26"),
        "named (1 fact)\n  named(incident_a, apt40)  [1.000 almost certain]\n"
    );
    // Without --as-of every fact counts, whatever its window.
    let all = ascribe(&["run", "tests/fixtures/time/windows.rules", "-r", "named"]);
    assert!(stdout(&all).contains("named (2 facts)"));

    let bad = ascribe(&["run", "rules/", "--as-of", "2022-13-01"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("`2022-13-01` is not a date: write YYYY-MM-DD"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn explanations_show_windows() {
    let output = ascribe(&[
        "explain",
        "tests/fixtures/time/windows.rules",
        "--as-of",
        "2024-06-01",
        "named(incident_a, apt40)",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("holds from 2019-03-04"), "{out}");
    assert!(out.contains("holds from 2024-03-26"), "{out}");
}

/// `--timeout 1e30` used to panic converting the seconds to a duration.
#[test]
fn a_timeout_too_long_for_a_duration_is_a_usage_error() {
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--timeout",
        "1e30",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`1e30` seconds is too long a timeout"),
        "{}",
        stderr(&output)
    );
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--timeout",
        "1e15",
        "-r",
        "state_sponsored",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// Stratification used to filter every rule once per stratum: a chain of 10^5 rules,
/// each its own stratum, took 21 s in a release build (0.7 s since).
#[test]
fn a_chain_of_a_hundred_thousand_rules_is_checked() {
    let mut text = String::from("p0(a).\n");
    for i in 1..=100_000 {
        text.push_str(&format!("p{i}(X) :- p{}(X).\n", i - 1));
    }
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chain.rules");
    std::fs::write(&path, text).expect("write rules");
    let output = ascribe(&["check", path.to_str().expect("UTF-8 path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "ok: 100000 rules, 1 facts, 100001 relations in 100000 strata\n"
    );
}
/// A fresh directory for one test, with `files` written into it.
fn scratch(name: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, bytes) in files {
        std::fs::write(dir.join(file), bytes).expect("write a test file");
    }
    dir
}

fn path_text(dir: &Path, file: &str) -> String {
    dir.join(file).to_string_lossy().into_owned()
}

#[test]
fn integers_past_64_bits_stay_two_values() {
    // Before, both became the float 1.2345678901234567e19 and joined two records.
    let dir = scratch(
        "big-integers",
        &[
            (
                "id.tsv",
                b"12345678901234567890\ta\n12345678901234567891\tb\n",
            ),
            (
                "id.json",
                b"{\"id\": [[12345678901234567890, \"a\"], [12345678901234567891, \"b\"]]}",
            ),
            (
                "r.rules",
                b"both(X) :- id(X, a), id(X, b).\nn(X) :- id(X, _).\n",
            ),
        ],
    );
    for facts in ["id.tsv", "id.json"] {
        let output = ascribe(&[
            "run",
            &path_text(&dir, "r.rules"),
            "--facts",
            &path_text(&dir, facts),
            "--empty",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let out = stdout(&output);
        assert!(out.contains("both (no facts)"), "{facts}: {out}");
        assert!(out.contains("n(\"12345678901234567890\")"), "{out}");
        assert!(out.contains("n(\"12345678901234567891\")"), "{out}");
        assert_eq!(stderr(&output).matches("warning[W0321]").count(), 2);
    }
}

#[test]
fn negative_zero_prints_the_same_whatever_the_fact_order() {
    // Before, the one interned value printed as whichever fact came first.
    let dir = scratch(
        "negative-zero",
        &[
            ("a.facts", b"v(-0.0).\nv(0.0).\n"),
            ("b.facts", b"v(0.0).\nv(-0.0).\n"),
            ("r.rules", b"w(X) :- v(X).\n"),
        ],
    );
    for facts in ["a.facts", "b.facts"] {
        let output = ascribe(&["run", &path_text(&dir, "r.rules"), &path_text(&dir, facts)]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(
            stdout(&output),
            "Derived relations\n\nw (1 fact)\n  w(0.0)  [1.000 almost certain]\n"
        );
    }
}

#[test]
fn dates_past_9999_have_no_value() {
    // Before, 9999-12-31 + 1 gave 10000-01-01, which cannot be loaded back.
    let dir = scratch(
        "late-dates",
        &[(
            "r.rules",
            b"base(9999-12-30).\nbase(9999-12-31).\nnext(X) :- base(D), X = D + 1.\n",
        )],
    );
    let output = ascribe(&["run", &path_text(&dir, "r.rules")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Derived relations\n\nnext (1 fact)\n  next(9999-12-31)  [1.000 almost certain]\n"
    );
    assert!(
        stderr(&output).contains("warning[W0401]"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rule_files_may_start_with_a_byte_order_mark() {
    // Before, the mark was a syntax error; fact loaders already skipped it.
    let dir = scratch(
        "bom",
        &[("r.rules", "\u{feff}p(x).\nq(X) :- p(X).\n".as_bytes())],
    );
    let output = ascribe(&["check", &path_text(&dir, "r.rules")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn invalid_utf8_in_a_rule_file_names_line_and_column() {
    // Before: "cannot read", with no position.
    let dir = scratch("not-utf8", &[("r.rules", b"p(x).\nq(\"caf\xe9\").\n")]);
    let output = ascribe(&["check", &path_text(&dir, "r.rules")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("error[E0302]"), "{err}");
    assert!(err.contains("r.rules:2:7"), "{err}");
}

#[test]
fn invisible_characters_are_named_in_diagnostics() {
    // Before, the zero-width space was printed raw: "found ``".
    let dir = scratch(
        "invisible",
        &[("r.rules", "p(x).\nq(X) :- p(X),\u{200b} p(X).\n".as_bytes())],
    );
    let output = ascribe(&["check", &path_text(&dir, "r.rules")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    let first = err.lines().next().expect("a diagnostic");
    assert!(first.contains("U+200B"), "{err}");
    assert!(!first.contains('\u{200b}'), "{err}");
}

#[test]
fn a_fifo_is_refused_not_read() {
    // Before, reading it blocked forever, even with --timeout.
    let dir = scratch("fifo", &[("r.rules", b"p(X) :- n(X).\n")]);
    for fifo in ["n.tsv", "x.rules"] {
        let made = std::process::Command::new("mkfifo")
            .arg(dir.join(fifo))
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
    }
    for args in [
        vec![
            "run".to_string(),
            path_text(&dir, "r.rules"),
            "--facts".into(),
            path_text(&dir, "n.tsv"),
        ],
        vec!["run".to_string(), path_text(&dir, "x.rules")],
        vec!["check".to_string(), dir.to_string_lossy().into_owned()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = ascribe(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("error[E0325]"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn an_unclosed_csv_quote_is_an_error_not_the_rest_of_the_file() {
    let dir = scratch(
        "csv-quote",
        &[
            ("m.csv", b"a,1\nb,\"oops\nc,3\n"),
            ("r.rules", b"q(X, Y) :- m(X, Y).\n"),
        ],
    );
    let output = ascribe(&[
        "run",
        &path_text(&dir, "r.rules"),
        "--facts",
        &path_text(&dir, "m.csv"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("error[E0306]: a quoted field is never closed"),
        "{err}"
    );
    assert!(err.contains("m.csv:2:3"), "{err}");
}

/// The did-you-mean search compared every unknown relation with every known one, and
/// rebuilt the list of known ones each time: 20,000 misspellings took 5.5 minutes in a
/// release build (3 s since); 5,000 took 20 s.
#[test]
fn five_thousand_misspelt_relations_are_reported_quickly() {
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&format!("rel known_relation_{i}(x: sym).\n"));
    }
    for i in 0..5_000 {
        text.push_str(&format!("h{i}(X) :- knwn_relation_{i}(X).\n"));
    }
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("typos.rules");
    std::fs::write(&path, text).expect("write rules");
    let output = ascribe(&[
        "check",
        "--color",
        "never",
        path.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.matches("error[E0101]").count(), 5_000);
    assert!(
        err.contains("help: did you mean `known_relation_0`?"),
        "first suggestions kept"
    );
    assert!(err.contains("no did-you-mean search past the first 200 unknown relations"));
    assert!(err.ends_with("error: 5000 errors in the input; nothing was evaluated\n"));
}

/// Limits were checked only between iterations, so a join whose condition never holds
/// (20,000 x 20,000 pairs) or a cartesian product ran far past `--timeout` and
/// `--max-memory` within its one iteration.
#[test]
fn limits_stop_a_rule_while_it_runs() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("limits-within");
    std::fs::create_dir_all(&dir).expect("dir");
    let numbers: String = (0..20_000).map(|i| format!("{i}\n")).collect();
    std::fs::write(dir.join("n.tsv"), numbers).expect("write facts");
    std::fs::write(
        dir.join("never.rules"),
        "rel n(x: int).\nnever(X, Y) :- n(X), n(Y), X + Y < 0.\n",
    )
    .expect("write rules");
    std::fs::write(
        dir.join("pairs.rules"),
        "rel n(x: int).\npair(X, Y) :- n(X), n(Y).\n",
    )
    .expect("write rules");
    let facts = dir.join("n.tsv");
    let facts = facts.to_str().expect("UTF-8 path");
    let never = dir.join("never.rules");
    let output = ascribe(&[
        "run",
        never.to_str().expect("UTF-8"),
        "--facts",
        facts,
        "--timeout",
        "0.2",
        "--color",
        "never",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("more than 0.2 s (--timeout); no result is printed"),
        "{err}"
    );
    assert!(
        err.contains(
            "rule \"rule #1\" was running, with 0 candidate facts found in this iteration"
        ),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
    let pairs = dir.join("pairs.rules");
    let output = ascribe(&[
        "run",
        pairs.to_str().expect("UTF-8"),
        "--facts",
        facts,
        "--max-memory",
        "16",
        "--color",
        "never",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("more than 16 MiB of facts (--max-memory)"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
}

/// Noisy-or merged the sources of each counted line into a fresh sorted list, twice per
/// fact: 10^5 independent lines of one fact took 11 s in a release build (0.75 s since).
#[test]
fn a_hundred_thousand_independent_lines_combine() {
    let mut text = String::from(
        "rel claim(source: sym, incident: sym).\n@combine(noisy_or) rel attributed(incident: sym).\nattributed(I) :- claim(_, I).\n",
    );
    for i in 0..100_000 {
        text.push_str(&format!("claim(s{i}, x) @confidence(0.00001).\n"));
    }
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lines.rules");
    std::fs::write(&path, text).expect("write rules");
    let output = ascribe(&[
        "run",
        path.to_str().expect("UTF-8 path"),
        "-r",
        "attributed",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // 1 - (1 - 10^-5)^(10^5) = 0.632...
    assert_eq!(
        stdout(&output),
        "attributed (1 fact)\n  attributed(x)  [0.632 likely]\n"
    );
}

/// Planning chose each next atom by scanning every atom left, and safety checking
/// gathered the variables outside every literal: one rule of 20,000 body atoms took
/// 6 s in a release build, 10^5 atoms minutes (0.16 s and 1.7 s since).
#[test]
fn a_rule_of_twenty_thousand_atoms_is_planned_quickly() {
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!("q{i}(a).\n"));
    }
    let body: Vec<String> = (0..20_000).map(|i| format!("q{i}(X)")).collect();
    text.push_str(&format!("p(X) :- {}.\n", body.join(", ")));
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wide.rules");
    std::fs::write(&path, text).expect("write rules");
    let output = ascribe(&["run", path.to_str().expect("UTF-8 path"), "-r", "p"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "p (1 fact)\n  p(a)  [1.000 almost certain]\n"
    );
}

/// The longest line of `text`, in characters.
fn widest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Explaining a 100,000-step chain printed nothing in two minutes: every level of the
/// text tree drew the guides of all the levels above it (a 10,000-step chain printed
/// 1.25 GB), pretty JSON indented the same way (23 GB, then an out-of-memory kill), and
/// building and printing recursed once per step. Trees now stop at `--depth` (1,000
/// levels unless asked), text guides start again at the margin every 24 levels, and JSON
/// indentation stops growing at 64.
#[test]
fn a_twenty_thousand_step_derivation_is_explained_in_linear_space() {
    let next: String = (0..20_000).map(|i| format!("{i}\t{}\n", i + 1)).collect();
    let dir = scratch(
        "deep-chain",
        &[
            (
                "chain.rules",
                b"reach(0).\nreach(N) :- reach(M), next(M, N).\n",
            ),
            ("next.tsv", next.as_bytes()),
        ],
    );
    let (rules, facts) = (path_text(&dir, "chain.rules"), path_text(&dir, "next.tsv"));
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", &rules, "--facts", &facts, "reach(20000)"];
        args.extend_from_slice(extra);
        let output = ascribe(&args);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        stdout(&output)
    };

    let text = explain(&[]);
    assert!(
        text.starts_with("reach(20000)  [1.000 almost certain]\n"),
        "{text}"
    );
    assert!(
        text.contains("(derivation not shown: the explanation stops 1000 levels deep; raise --depth to see more)"),
        "the cut is said where it is"
    );
    assert!(
        text.contains("\n[level 984] "),
        "deep lines name their level"
    );
    assert!(widest_line(&text) < 200, "{}", widest_line(&text));

    let text = explain(&["--depth", "20000"]);
    assert!(
        text.contains("reach(0)  [1.000 almost certain]"),
        "the whole chain"
    );
    assert!(!text.contains("derivation not shown"));
    assert!(widest_line(&text) < 200, "{}", widest_line(&text));
    assert_eq!(text.matches("input fact at").count(), 20_001);

    let json = explain(&["--depth", "20000", "--format", "json"]);
    // Locations name the scratch directory, whose length depends on the checkout.
    let dir_text = dir.to_string_lossy().to_string();
    let indented = json.replace(&dir_text, "DIR");
    assert!(widest_line(&indented) < 200, "{}", widest_line(&indented));
    assert_eq!(json.matches("\"kind\": \"input\"").count(), 20_001);
    assert!(json.ends_with("}\n"));
}

#[test]
fn a_depth_outside_its_range_is_a_usage_error() {
    let dir = scratch("depth-range", &[("p.rules", b"p(1).\n")]);
    let rules = path_text(&dir, "p.rules");
    for depth in ["0", "100001", "deep"] {
        let output = ascribe(&["explain", &rules, "p(1)", "--depth", depth]);
        assert_eq!(output.status.code(), Some(2), "--depth {depth}");
        assert!(
            stderr(&output).contains("give a number of levels from 1 to 100000"),
            "{}",
            stderr(&output)
        );
    }
}

/// Limits held only while evaluating: listing all derivations, finding critical facts
/// and answering why-not ran on past `--timeout` and `--max-memory` (and finding the
/// derivations compared each new one with all found before: 10^5 derivations took
/// minutes).
#[test]
fn limits_hold_while_explaining() {
    let mut many = String::from("p(x) :- q(x, _).\n");
    let q: String = (0..100_000).map(|i| format!("x\t{i}\n")).collect();
    let mut wide = String::new();
    for i in 0..1_500 {
        wide.push_str(&format!("a{i}(1) @confidence(0.9).\n"));
    }
    let body: Vec<String> = (0..1_500).map(|i| format!("a{i}(1)")).collect();
    wide.push_str(&format!("top(1) :- {}.\n", body.join(", ")));
    many.push_str("rel q(x: sym, n: int).\n");
    let dir = scratch(
        "explain-limits",
        &[
            ("many.rules", many.as_bytes()),
            ("q.tsv", q.as_bytes()),
            ("wide.rules", wide.as_bytes()),
        ],
    );
    let (many, q, wide) = (
        path_text(&dir, "many.rules"),
        path_text(&dir, "q.tsv"),
        path_text(&dir, "wide.rules"),
    );

    // Without a limit, all 10^5 derivations are listed.
    let output = ascribe(&["explain", &many, "--facts", &q, "p(x)", "--all"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).matches("by rule \"rule #1\"").count(),
        100_000
    );

    let stopped = |args: &[&str], what: &str| {
        let output = ascribe(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        assert!(
            err.contains("error[E0501]: explaining stopped: it took more than"),
            "{err}"
        );
        assert!(err.contains(what), "{err}");
        assert!(stdout(&output).is_empty(), "no partial answer");
    };
    stopped(
        &[
            "explain",
            &many,
            "--facts",
            &q,
            "p(x)",
            "--all",
            "--max-memory",
            "8",
        ],
        "MiB with the model (--max-memory); no result is printed",
    );
    // 1,500 inputs: as many evaluations of the program without one of them.
    stopped(
        &["explain", &wide, "top(1)", "--critical", "--timeout", "0.3"],
        "more than 0.3 s (--timeout); no result is printed",
    );
}

/// `--max-facts` was checked only between iterations, so one iteration of a cartesian
/// product ran to its end (4 x 10^8 pairs) whatever the limit.
#[test]
fn max_facts_stops_a_rule_while_it_runs() {
    let numbers: String = (0..20_000).map(|i| format!("{i}\n")).collect();
    let dir = scratch(
        "max-facts-within",
        &[
            ("n.tsv", numbers.as_bytes()),
            (
                "pairs.rules",
                b"rel n(x: int).\npair(X, Y) :- n(X), n(Y).\n",
            ),
        ],
    );
    let output = ascribe(&[
        "run",
        &path_text(&dir, "pairs.rules"),
        "--facts",
        &path_text(&dir, "n.tsv"),
        "--max-facts",
        "100000",
        "--color",
        "never",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("more than 100000 facts (--max-facts)"),
        "{err}"
    );
    assert!(err.contains("rule \"rule #1\" was running"), "{err}");
    assert!(stdout(&output).is_empty());
}

/// Text was not counted against `--max-memory`: a rule doubling a string each
/// iteration ran on past the limit until the machine ran out of memory.
#[test]
fn text_built_by_arithmetic_counts_against_max_memory() {
    let dir = scratch(
        "string-doubling",
        &[("double.rules", b"s(\"ab\").\ns(X) :- s(Y), X = Y + Y.\n")],
    );
    let output = ascribe(&[
        "run",
        &path_text(&dir, "double.rules"),
        "--max-memory",
        "64",
        "--color",
        "never",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("(--max-memory); no result is printed"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
}

/// Regression: the HTML report page, which explains every candidate, was written outside
/// the limits; a page of 7 MB passed `--max-memory 8` while the text report needs little.
#[test]
fn the_html_report_page_counts_against_max_memory() {
    let mut rules = String::from(
        "@hypothesis(\"responsible group\")\nrel h(incident: sym, group: int).\nrel incident(incident: sym).\nincident(x).\nstep(0, 0).\nstep(N1, D1) :- step(N, D), N < 200, N1 = N + 1, D1 = D + 1.\nh(x, G) :- step(200, _), cand(G).\n",
    );
    for g in 0..60 {
        rules.push_str(&format!(
            "cand({g}) @source(\"candidate list, entry {g}\").\n"
        ));
    }
    let dir = scratch("html-report-limits", &[("deep.rules", rules.as_bytes())]);
    let rules = path_text(&dir, "deep.rules");
    let text = ascribe(&["report", &rules, "--max-memory", "8"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let page = ascribe(&["report", &rules, "--format", "html", "--max-memory", "8"]);
    assert_eq!(page.status.code(), Some(1), "{}", stderr(&page));
    assert!(
        stderr(&page).contains("error[E0501]: explaining stopped: it took more than 8 MiB with the model (--max-memory); no result is printed"),
        "{}",
        stderr(&page)
    );
    assert!(page.stdout.is_empty(), "no partial page");
    let page = ascribe(&["report", &rules, "--format", "html", "--max-memory", "16"]);
    assert_eq!(page.status.code(), Some(0), "{}", stderr(&page));
    assert!(page.stdout.len() > 7_000_000, "{}", page.stdout.len());
}

/// Regression: `--no-explain` was silently ignored for programs that combine evidence
/// (`@combine(noisy_or)` needs every derivation); it is now a warning naming the
/// relations, and the output is the same as without the flag.
#[test]
fn no_explain_with_combined_evidence_is_a_warning() {
    let with = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--no-explain",
        "-q",
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    assert!(
        stderr(&with).starts_with("warning[W0362]: `--no-explain` has no effect: the program combines independent lines of evidence (`technical_link`, `conducted_by`, `official_attribution`), which needs every derivation"),
        "{}",
        stderr(&with)
    );
    let without = ascribe(&["run", "rules/", "--facts", "facts/nz-2021/", "-q"]);
    assert_eq!(with.stdout, without.stdout);
    let plain = scratch(
        "no-explain-plain",
        &[("p.rules", b"p(1).\nq(X) :- p(X).\n")],
    );
    let plain = ascribe(&["run", &path_text(&plain, "p.rules"), "--no-explain", "-q"]);
    assert_eq!(plain.status.code(), Some(0));
    assert!(stderr(&plain).is_empty(), "{}", stderr(&plain));
}

#[test]
fn stats_show_the_costliest_strata_and_rules_with_their_counts() {
    let dir = scratch(
        "stats",
        &[(
            "reach.rules",
            b"rel edge(a: sym, b: sym).\n\
              edge(a, b).\n\
              edge(b, c).\n\
              edge(c, d).\n\
              rel reach(a: sym, b: sym).\n\
              reach(X, Y) :- edge(X, Y).\n\
              reach(X, Z) :- reach(X, Y), edge(Y, Z).\n",
        )],
    );
    let rules = path_text(&dir, "reach.rules");
    for threads in ["1", "2"] {
        let output = ascribe(&["run", &rules, "--stats", "--threads", threads]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = stderr(&output);
        assert!(text.contains("costliest strata, by wall time:"), "{text}");
        let stratum = text
            .lines()
            .find(|line| line.ends_with(": reach"))
            .unwrap_or_else(|| panic!("a line for the stratum of reach in:\n{text}"));
        // One pass derives the edges' pairs, two more the longer paths, and a last one
        // finds nothing new.
        assert_eq!(stratum.split_whitespace().next(), Some("4"), "{stratum}");
        // time, "s", candidates, new facts, head, "at", place
        let counts = |place: &str| -> Vec<String> {
            let line = text
                .lines()
                .find(|line| line.ends_with(&format!(" at {rules}:{place}")))
                .unwrap_or_else(|| panic!("a line for the rule at {place} in:\n{text}"));
            line.split_whitespace()
                .skip(2)
                .take(3)
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(counts("6:1"), ["3", "3", "reach"]);
        assert_eq!(counts("7:1"), ["3", "3", "reach"]);
    }
}
