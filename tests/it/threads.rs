//! Evaluation on several threads: `--threads 1`, `2` and `4` give byte-identical output
//! (facts, confidences, sources of best derivations, explanations, reports) on every
//! shipped case and on a recursive workload with confidences, arithmetic that makes new
//! values (thousands in one iteration, so threads make them at once), an aggregate and
//! a negation.

use std::path::{Path, PathBuf};

use crate::common::ascribe;

/// The outputs of `args` run with `--threads 1`, `2` and `4`, each checked to succeed.
fn outputs_by_threads(args: &[&str]) -> Vec<Vec<u8>> {
    ["1", "2", "4"]
        .iter()
        .map(|threads| {
            let mut with = args.to_vec();
            with.extend(["--threads", threads, "--quiet"]);
            let output = ascribe(&with);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{with:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        })
        .collect()
}

fn assert_same_for_every_thread_count(args: &[&str]) {
    let outputs = outputs_by_threads(args);
    assert!(!outputs[0].is_empty(), "{args:?} printed nothing");
    for (output, threads) in outputs.iter().zip([1, 2, 4]).skip(1) {
        assert!(
            *output == outputs[0],
            "{args:?}: the output on {threads} threads differs from the output on one"
        );
    }
}

fn cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir("facts")
        .expect("facts/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "tools"))
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_shipped_case_gives_the_same_output_on_any_number_of_threads() {
    for case in cases() {
        assert_same_for_every_thread_count(&[
            "run", "rules/", "--facts", &case, "--format", "json",
        ]);
        assert_same_for_every_thread_count(&["run", "rules/", "--facts", &case, "--all"]);
        assert_same_for_every_thread_count(&[
            "report", "rules/", "--facts", &case, "--format", "json",
        ]);
    }
}

/// A deterministic random graph of `nodes` nodes and `edges` edges, each with a
/// confidence, as a `.facts` file, and 20 start nodes.
fn graph(nodes: u64, edges: u64) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let mut text = String::new();
    for node in 0..nodes {
        text.push_str(&format!("node({node}).\n"));
    }
    for _ in 0..edges {
        let (from, to) = (next(nodes), next(nodes));
        let confidence = 50 + next(50);
        text.push_str(&format!(
            "edge({from}, {to}) @confidence(0.{confidence}).\n"
        ));
    }
    for start in 0..20 {
        text.push_str(&format!("start({}).\n", start * 7));
    }
    text
}

const RULES: &str = "\
rel node(x: int).
rel edge(x: int, y: int).
rel start(x: int).

@strength(0.95)
reach(S, Y) :- start(S), edge(S, Y).
@strength(0.95)
reach(S, Z) :- reach(S, Y), edge(Y, Z).
dist(S, Y, D) :- start(S), edge(S, Y), D = 100001.
dist(S, Z, E) :- dist(S, Y, D), edge(Y, Z), D < 100006, E = D + 1.
near(S, Y) :- dist(S, Y, _).
far(S, Y) :- reach(S, Y), not near(S, Y).
fanout(S, N) :- start(S), N = count(Y : reach(S, Y)).
score(S, T) :- fanout(S, N), T = N * 1000 + 7.
tag(S, Y, T) :- reach(S, Y), T = S * 100000 + Y + 7000000.
";

fn write_workload(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("threads-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("graph.rules"), RULES).expect("write rules");
    std::fs::write(dir.join("graph.facts"), graph(400, 900)).expect("write facts");
    dir
}

/// The files of an output directory, by name, with their bytes.
fn read_dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("output directory")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p.file_name().expect("named").to_string_lossy().to_string();
            (name, std::fs::read(&p).expect("readable output"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_recursive_workload_gives_the_same_output_on_any_number_of_threads() {
    let dir = write_workload("recursive");
    let rules = dir.join("graph.rules").to_string_lossy().to_string();
    let facts = dir.join("graph.facts").to_string_lossy().to_string();
    // In process: the same rows in the same order, derivations and value ids.
    let (program, _) = crate::common::load(&[dir.join("graph.rules"), dir.join("graph.facts")]);
    crate::common::evaluate_checked(&program);
    assert_same_for_every_thread_count(&["run", &rules, "--facts", &facts, "--format", "json"]);
    assert_same_for_every_thread_count(&[
        "run",
        &rules,
        "--facts",
        &facts,
        "--format",
        "tsv",
        "--no-explain",
    ]);
    assert_same_for_every_thread_count(&["explain", &rules, "--facts", &facts, "far(7, 2)"]);
    assert_same_for_every_thread_count(&[
        "explain",
        &rules,
        "--facts",
        &facts,
        "score(7, 355007)",
        "--format",
        "json",
    ]);

    // The files `--output` writes, each fact with its confidence and sources.
    let mut written = Vec::new();
    for threads in ["1", "2", "4"] {
        let out = dir.join(format!("out-{threads}"));
        let out_text = out.to_string_lossy().to_string();
        let output = ascribe(&[
            "run",
            &rules,
            "--facts",
            &facts,
            "--output",
            &out_text,
            "--threads",
            threads,
            "--quiet",
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        written.push(read_dir_files(&out));
    }
    assert!(written[0].len() > 5, "every derived relation is written");
    assert!(written[1] == written[0], "--output differs on 2 threads");
    assert!(written[2] == written[0], "--output differs on 4 threads");
}

#[test]
fn a_number_of_threads_that_is_not_one_or_more_is_a_usage_error() {
    for threads in ["0", "1.5", "many", ""] {
        let output = ascribe(&["run", "rules/", "--threads", threads]);
        assert_eq!(output.status.code(), Some(2), "--threads {threads:?}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(
            err.contains("is not a number of threads: give a whole number from 1 up"),
            "{err}"
        );
    }
}

/// Rules whose `--output` holds relations of a few facts beside relations of tens of
/// thousands (cut into pieces formatted on several threads), with confidences, text
/// that needs quoting, and sources.
const WIDE_RULES: &str = "\
rel node(x: int, name: str).
rel edge(x: int, y: int).

@strength(0.9)
pair(X, Y) :- node(X, _), node(Y, _).
named(X, Y, N) :- edge(X, Y), node(Y, N).
@strength(0.8)
hop(X, Z) :- edge(X, Y), edge(Y, Z).
label(X, T) :- node(X, _), T = X * 7.
lonely(X) :- node(X, _), not edge(X, _).
";

fn wide_facts(nodes: u64) -> String {
    let mut text = String::new();
    for node in 0..nodes {
        text.push_str(&format!(
            "node({node}, \"n\\\"{node}\\\"\\tx\") @source(\"list {}\").\n",
            node % 3
        ));
    }
    for node in 0..nodes {
        for step in [1, 7, 31] {
            let to = (node * step + 11) % nodes;
            if node % 13 != 0 {
                text.push_str(&format!(
                    "edge({node}, {to}) @confidence(0.{}).\n",
                    50 + node % 50
                ));
            }
        }
    }
    text
}

#[test]
fn output_directories_are_the_same_bytes_on_any_number_of_threads() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("threads-wide");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("wide.rules"), WIDE_RULES).expect("write rules");
    std::fs::write(dir.join("wide.facts"), wide_facts(300)).expect("write facts");
    let rules = dir.join("wide.rules").to_string_lossy().to_string();
    let facts = dir.join("wide.facts").to_string_lossy().to_string();
    let mut written = Vec::new();
    for threads in ["1", "2", "4"] {
        let out = dir.join(format!("out-{threads}"));
        let out_text = out.to_string_lossy().to_string();
        let output = ascribe(&[
            "run",
            &rules,
            "--facts",
            &facts,
            "--all",
            "--output",
            &out_text,
            "--threads",
            threads,
            "--quiet",
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        written.push(read_dir_files(&out));
    }
    let files = &written[0];
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names.contains(&"pair.facts") && names.contains(&"lonely.facts"),
        "{names:?}"
    );
    let lines = |name: &str| {
        let (_, bytes) = files.iter().find(|(n, _)| n == name).expect("written");
        bytes.iter().filter(|&&b| b == b'\n').count()
    };
    // 90 000 facts: several pieces, the last one short.
    assert_eq!(lines("pair.facts"), 300 * 300);
    assert!(lines("lonely.facts") > 0 && lines("lonely.facts") < 100);
    let named = &files
        .iter()
        .find(|(n, _)| n == "named.facts")
        .expect("written")
        .1;
    assert!(
        String::from_utf8_lossy(named).contains("@source(\"list "),
        "sources are written"
    );
    for (other, threads) in written.iter().zip([1, 2, 4]).skip(1) {
        assert_eq!(
            other.len(),
            files.len(),
            "the same files on {threads} threads"
        );
        for ((name, bytes), (other_name, other_bytes)) in files.iter().zip(other) {
            assert_eq!(name, other_name);
            assert!(
                bytes == other_bytes,
                "{name} differs on {threads} threads from one thread"
            );
        }
    }
}
