//! `ascribe watch` and the dataflow watcher: after every batch of added and retracted
//! facts, exactly the facts and confidences a fresh evaluation of the changed input
//! derives; the changes printed, explained, and every bad batch refused whole.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ascribe::dataflow::watch::{Update, Watcher};
use ascribe::dataflow::Options;
use ascribe::eval::{evaluate, EvalOptions, Limits};
use ascribe::program::Program;

use crate::common::{dump, load};
use crate::dataflow::{big_small_data, CONFIDENCES};

/// What a fresh semi-naive evaluation of `program` derives.
fn fresh(program: &Program) -> String {
    let model = evaluate(
        program,
        &EvalOptions {
            record_derivations: false,
            ..EvalOptions::default()
        },
    );
    dump(program, &model)
}

/// Retracts every `step`-th input fact of `program` in one batch, then adds them back in
/// another, on a watcher with `workers` workers; after each, the watcher's facts are
/// those of a fresh evaluation of the input as it then is.
fn retract_and_restore(name: &str, program: &Program, step: usize, workers: usize) {
    let options = Options {
        workers,
        cluster: None,
    };
    let mut watcher =
        Watcher::start(program, &options, &Limits::default()).expect("the watcher starts");
    let full = fresh(program);
    assert_eq!(
        dump(program, &watcher.model(program)),
        full,
        "{name}: initial"
    );
    let chosen: Vec<usize> = (0..program.facts().len())
        .filter(|i| i % step == step - 1)
        .collect();
    assert!(!chosen.is_empty(), "{name}: nothing to retract");
    let retract: Vec<Update> = chosen
        .iter()
        .map(|&i| {
            let fact = &program.facts()[i];
            Update::Retract(fact.predicate, fact.tuple.to_vec())
        })
        .collect();
    let applied = watcher.apply(&retract).expect("the batch applies");
    let mut reduced = program.clone();
    let gone: std::collections::HashSet<_> = chosen
        .iter()
        .map(|&i| {
            (
                program.facts()[i].predicate,
                program.facts()[i].tuple.to_vec(),
            )
        })
        .collect();
    reduced.retain_facts(|f| !gone.contains(&(f.predicate, f.tuple.to_vec())));
    let expected = fresh(&reduced);
    assert_ne!(expected, full, "{name}: retracting changed nothing to test");
    assert_eq!(
        dump(program, &watcher.model(program)),
        expected,
        "{name}: after retracting"
    );
    assert!(
        applied.absent.is_empty(),
        "{name}: every retracted tuple was an input"
    );
    // Every change reported is the difference between the two evaluations.
    for change in &applied.changes {
        assert_eq!(
            watcher.confidence(change.predicate, &change.tuple),
            change.after,
            "{name}: a change that is not the state after"
        );
        assert_ne!(change.before, change.after);
    }
    let changed_lines = full
        .lines()
        .filter(|l| !expected.contains(&format!("{l}\n")))
        .count()
        + expected
            .lines()
            .filter(|l| !full.contains(&format!("{l}\n")))
            .count();
    let confidence_changes = applied
        .changes
        .iter()
        .filter(|c| c.before.is_some() && c.after.is_some())
        .count();
    assert_eq!(
        applied.changes.len() + confidence_changes,
        changed_lines,
        "{name}: the changes are not the difference of the two evaluations"
    );
    let restore: Vec<Update> = chosen
        .iter()
        .map(|&i| {
            let fact = &program.facts()[i];
            Update::Add(
                fact.predicate,
                fact.tuple.to_vec(),
                program.fact_confidence(fact),
            )
        })
        .collect();
    let restored = watcher.apply(&restore).expect("the batch applies");
    assert_eq!(
        dump(program, &watcher.model(program)),
        full,
        "{name}: after restoring"
    );
    assert_eq!(
        restored.changes.len(),
        applied.changes.len(),
        "{name}: undone"
    );
    watcher.close().expect("the workers stop");
}

#[test]
fn after_each_batch_the_watcher_holds_what_a_fresh_evaluation_derives() {
    let data = big_small_data();
    for (workload, step) in [("reach_sparse", 20), ("cspa", 25)] {
        let (program, _) = load(&[
            PathBuf::from(format!("benches/big/programs/{workload}.rules")),
            data.join(workload),
        ]);
        retract_and_restore(workload, &program, step, 2);
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("watch-confidences");
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let rules = dir.join("confidences.rules");
    std::fs::write(&rules, CONFIDENCES).expect("rules written");
    let (program, _) = load(&[rules]);
    // Each input fact in turn: recursion that loses its best path, exceptions that stop
    // defeating, aggregates whose groups shrink to nothing.
    for step in 1..=3 {
        retract_and_restore(&format!("confidences/{step}"), &program, step, 1);
    }
}

const RULES: &str = r#"
rel edge(a: sym, b: sym).
rel reach(a: sym, b: sym).
/// A link is a path.
@name("step") reach(X, Y) :- edge(X, Y).
@name("trans") reach(X, Z) :- reach(X, Y), edge(Y, Z).
"#;

const FACTS: &str = "edge(a, b).\nedge(b, c) @confidence(0.5) @source(\"a note\").\n";

/// Runs `ascribe watch ARGS` on the two-rule program, with `input` on standard input.
fn watch(args: &[&str], input: &str) -> (String, String, i32) {
    // A directory of its own: the tests run at once, and rewriting a file another is
    // reading would hand it a truncated one.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("watch-cli-{call}"));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    std::fs::write(dir.join("reach.rules"), RULES).expect("rules written");
    std::fs::write(dir.join("edges.facts"), FACTS).expect("facts written");
    let mut command = Command::new(env!("CARGO_BIN_EXE_ascribe"));
    command
        .current_dir(&dir)
        .args([
            "watch",
            "reach.rules",
            "--facts",
            "edges.facts",
            "--color",
            "never",
        ])
        .args(args);
    feed(command, input)
}

/// Runs `command` with `input` on its standard input: standard output, standard error
/// and the exit code.
fn feed(mut command: Command, input: &str) -> (String, String, i32) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ascribe starts");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(input.as_bytes())
        .expect("input written");
    let out = child.wait_with_output().expect("ascribe ends");
    (
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn each_batch_prints_what_appeared_disappeared_and_changed() {
    for engine in ["dataflow", "seminaive"] {
        let input = "+ edge(c, d).\n\n- edge(a, b).\n+ edge(a, x)\n    @confidence(0.9).\n\n+ edge(a, b) @confidence(0.3).\n+ edge(x, b).\n\n";
        let (stdout, stderr, code) =
            watch(&["--engine", engine, "--quiet", "--workers", "2"], input);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            stdout,
            "batch 1: 1 added, 0 retracted; 3 appeared, 0 disappeared, 0 changed
+ reach(a, d)  [0.500]
+ reach(b, d)  [0.500]
+ reach(c, d)  [1.000]

batch 2: 1 added, 1 retracted; 1 appeared, 3 disappeared, 0 changed
- reach(a, b)  [was 1.000]
- reach(a, c)  [was 0.500]
- reach(a, d)  [was 0.500]
+ reach(a, x)  [0.900]

batch 3: 2 added, 0 retracted; 6 appeared, 0 disappeared, 0 changed
+ reach(a, b)  [0.900]
+ reach(a, c)  [0.450]
+ reach(a, d)  [0.450]
+ reach(x, b)  [1.000]
+ reach(x, c)  [0.500]
+ reach(x, d)  [0.500]

"
        );
        assert_eq!(stderr, "");
        // Lowering the confidence of the only path: a change, not an appearance.
        let (stdout, _, code) = watch(
            &["--engine", engine, "--quiet"],
            "- edge(b, c).\n+ edge(b, c) @confidence(0.25).\n\n",
        );
        assert_eq!(code, 0);
        assert_eq!(
            stdout,
            "batch 1: 1 added, 1 retracted; 0 appeared, 0 disappeared, 2 changed
~ reach(a, c)  [0.500 -> 0.250]
~ reach(b, c)  [0.500 -> 0.250]

"
        );
    }
}

#[test]
fn initial_conclusions_and_explanations_name_the_batch_a_fact_came_in() {
    for engine in ["dataflow", "seminaive"] {
        let (stdout, stderr, code) = watch(
            &["--engine", engine, "--quiet", "--initial", "--explain"],
            "+ edge(c, d).\n\n",
        );
        assert_eq!(code, 0, "{stderr}");
        let (initial, batch) = stdout.split_once("\n\nbatch 1").expect("two batches");
        assert!(
            initial.starts_with("batch 0: the input as loaded\n+ reach(a, b)  [1.000]\n"),
            "{initial}"
        );
        assert!(initial.contains("+ reach(b, c)  [0.500]\n"), "{initial}");
        assert!(
            initial.contains("          source: a note\n          at edges.facts:2:1\n"),
            "{initial}"
        );
        // reach(a, d): through reach(a, c), whose best derivation goes through reach(a, b);
        // the new edge is shown at the batch and line it came in.
        assert!(batch.contains("+ reach(a, d)  [0.500]\n    reach(a, d)  [0.500 roughly even chance]\n    │  by rule \"trans\" (strength 1):\n    │    reach(a, d) :- reach(a, c), edge(c, d).\n"), "{batch}");
        assert!(batch.contains("    └─ edge(c, d)  [1.000 almost certain]\n          input fact at <stdin batch 1, from line 1>:1:3\n"), "{batch}");
        assert!(
            batch.contains("    │  │    reach(a, c) :- reach(a, b), edge(b, c).\n"),
            "{batch}"
        );
    }
}

#[test]
fn a_bad_batch_changes_nothing_and_the_next_one_applies() {
    for engine in ["dataflow", "seminaive"] {
        let input = "+ edge(a, b, c).\n\n+ nodes(a).\n\n+ edge(X, y).\n\nedge(q, r).\n\n+ reach(X, Y) :- edge(Y, X).\n\n- edge(q, q).\n+ edge(c, d).\n\n";
        let (stdout, stderr, code) = watch(&["--engine", engine, "--quiet"], input);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            stdout,
            "batch 1: not applied, nothing changed

batch 2: not applied, nothing changed

batch 3: not applied, nothing changed

batch 4: not applied, nothing changed

batch 5: not applied, nothing changed

batch 6: 1 added, 0 retracted; 3 appeared, 0 disappeared, 0 changed
+ reach(a, d)  [0.500]
+ reach(b, d)  [0.500]
+ reach(c, d)  [1.000]

"
        );
        for expected in [
        "error[E0102]: `edge` takes 2 arguments, but 3 are given here\n  ┌─ <stdin batch 1, from line 1>:1:3\n",
        "error[E0376]: `nodes` is not a relation of the rules\n  ┌─ <stdin batch 2, from line 3>:1:3\n",
        "error[E0202]: facts must be ground, but `X` is a variable\n  ┌─ <stdin batch 3, from line 5>:1:8\n",
        "error[E0376]: this fact has no `+` or `-` before it\n  ┌─ <stdin batch 4, from line 7>:1:1\n",
        "error[E0377]: a batch of changes holds facts, not rules\n  ┌─ <stdin batch 5, from line 9>:1:3\n",
        "warning[W0378]: nothing to retract: this `edge` fact is not an input fact\n  ┌─ <stdin batch 6, from line 11>:1:3\n",
    ] {
        assert!(stderr.contains(expected), "{expected}\nnot in:\n{stderr}");
    }
    }
}

/// `ascribe watch ARGS` on the New Zealand case, `input` on standard input.
fn watch_nz(args: &[&str], input: &str) -> (String, String, i32) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ascribe"));
    command
        .args([
            "watch",
            "rules/",
            "--facts",
            "facts/nz-2021",
            "--facts",
            "facts/attack",
        ])
        .args(["--color", "never"])
        .args(args);
    feed(command, input)
}

#[test]
fn the_founding_case_is_watched_on_the_default_engine() {
    // Both statements that named APT40 for the PCO intrusion withdrawn, then the
    // minister's restored at a lower confidence.
    let input = "- claims(gcsb_ncsc_2024_03_26, conducted_by, nz_pco_2021, \"APT40\").
- claims(nz_minister_collins_2024_03_26, conducted_by, nz_pco_2021, \"APT40\").

+ claims(nz_minister_collins_2024_03_26, conducted_by, nz_pco_2021, \"APT40\")
    @source(\"a later statement\") @confidence(0.6).

";
    let (stdout, stderr, code) = watch_nz(&["--explain"], input);
    assert_eq!(code, 0, "{stderr}");
    let (first, second) = stdout.split_once("\nbatch 2").expect("two batches");
    assert!(
        first.starts_with("batch 1: 0 added, 2 retracted; 0 appeared, 17 disappeared, 0 changed\n"),
        "{first}"
    );
    for line in [
        "- conducted_by(nz_pco_2021, apt40)  [was 0.902]\n",
        "- state_sponsored(nz_pco_2021, prc)  [was 0.815]\n",
    ] {
        assert!(first.contains(line), "{line} not in:\n{first}");
    }
    // The other incident keeps its attribution.
    assert!(!first.contains("nz_parliamentary_service_2021"), "{first}");
    assert!(
        second.starts_with(": 1 added, 0 retracted; 17 appeared, 0 disappeared, 0 changed\n"),
        "{second}"
    );
    let conducted = second
        .split("\n+ ")
        .find(|block| block.starts_with("conducted_by(nz_pco_2021, apt40)"))
        .expect("the attribution is back");
    assert!(
        conducted.contains("source: a later statement\n"),
        "{conducted}"
    );
    assert!(
        conducted.contains("at <stdin batch 2, from line 4>:1:3\n"),
        "{conducted}"
    );
    // Asked for, the dataflow engine refuses the rules by name.
    let (stdout, stderr, code) = watch_nz(&["--engine", "dataflow"], "");
    assert_eq!((stdout.as_str(), code), ("", 1), "{stderr}");
    assert!(
        stderr.contains("error[E0370]: `--engine dataflow` does not combine lines of evidence"),
        "{stderr}"
    );
}

#[test]
fn both_engines_print_the_same_changes() {
    // The last batch adds a fact and retracts it again.
    let input = "+ edge(c, d).\n\n- edge(a, b).\n+ edge(a, x)\n    @confidence(0.9).\n\n+ edge(a, b) @confidence(0.3).\n+ edge(x, b).\n\n- edge(b, c).\n+ edge(b, c) @confidence(0.25).\n\n+ edge(q, r).\n- edge(q, r).\n+ edge(d, e).\n\n";
    for flags in [&["--quiet"][..], &["--quiet", "--initial", "--explain"][..]] {
        let dataflow = watch(&[flags, &["--engine", "dataflow"]].concat(), input);
        let seminaive = watch(&[flags, &["--engine", "seminaive"]].concat(), input);
        assert_eq!(dataflow.2, 0, "{}", dataflow.1);
        assert_eq!(dataflow.0, seminaive.0, "{flags:?}");
    }
    let (stdout, _, code) = watch(&["--quiet", "--relation", "reech"], "");
    assert_eq!((stdout.as_str(), code), ("", 2));
    // A large workload: every 5th input fact retracted, then restored.
    let data = big_small_data().join("cspa");
    let rules = "benches/big/programs/cspa.rules";
    let batches = Command::new("python3")
        .args(["benches/big/updates.py", rules])
        .arg(&data)
        .arg("5")
        .stderr(Stdio::null())
        .output()
        .expect("python3 runs benches/big/updates.py");
    assert!(batches.status.success());
    let batches = String::from_utf8(batches.stdout).expect("UTF-8");
    assert!(batches.lines().count() > 20, "{batches}");
    let outputs: Vec<String> = ["dataflow", "seminaive"]
        .iter()
        .map(|engine| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_ascribe"));
            command
                .args(["watch", rules, "--facts"])
                .arg(&data)
                .args(["--quiet", "--engine", engine]);
            let (stdout, stderr, code) = feed(command, &batches);
            assert_eq!(code, 0, "{stderr}");
            stdout
        })
        .collect();
    assert!(outputs[0].lines().count() > 20, "{}", outputs[0]);
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn a_batch_past_the_fact_limit_stops_the_watcher_with_no_partial_result() {
    for engine in ["dataflow", "seminaive"] {
        let (stdout, stderr, code) = watch(
            &["--engine", engine, "--quiet", "--max-facts", "10"],
            "+ edge(c, d).\n\n+ edge(d, e).\n+ edge(e, f).\n\n+ edge(f, g).\n\n",
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(stdout.starts_with("batch 1: 1 added"), "{stdout}");
        assert!(
            !stdout.contains("batch 2"),
            "a partial batch was printed:\n{stdout}"
        );
        assert!(stderr.contains("error[E0501]"), "{stderr}");
    }
}
