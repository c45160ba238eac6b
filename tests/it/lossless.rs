//! Output that loads back as evidence: `run --output DIR` and `run --format json` keep
//! every fact's values, exact confidence and the sources of its best derivation, so that
//! loading what they wrote gives the same facts with the same confidences and sources.

use std::path::{Path, PathBuf};

use ascribe::eval::{evaluate, EvalOptions, Model};
use ascribe::explain::sources::{joined, BestSources};
use ascribe::program::PredId;
use ascribe::Program;

use crate::common::{ascribe, load};

/// One fact exactly: relation, values (`Debug`, so `-0.0` and text `"42"` stay apart
/// from `0.0` and `42`), the confidence's bits and the joined sources.
type Exact = (String, Vec<String>, u64, Option<String>);

/// The facts of the relations `derived_only` selects (derived ones, or all), exactly.
fn exact(program: &Program, model: &Model, derived_only: bool) -> Vec<Exact> {
    let mut sources = BestSources::new(program, model);
    let mut out = Vec::new();
    for (index, predicate) in program.predicates().iter().enumerate() {
        if derived_only && !predicate.derived {
            continue;
        }
        for fact in model.sorted_facts(PredId(index as u32)) {
            let values = model
                .tuple(fact)
                .iter()
                .map(|v| format!("{:?}", model.interner().value(*v)))
                .collect();
            out.push((
                predicate.name.clone(),
                values,
                model.confidence(fact).to_bits(),
                joined(&sources.of(fact)),
            ));
        }
    }
    out.sort();
    out
}

fn loaded(paths: &[PathBuf]) -> Vec<Exact> {
    let (program, _) = load(paths);
    let model = evaluate(&program, &EvalOptions::default());
    exact(&program, &model, false)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lossless-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn ok(output: &std::process::Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The non-empty files of an output directory (an empty relation has an empty file,
/// which loads as no relation at all), with their contents.
fn written(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "facts"))
        .map(|p| {
            let name = p.file_name().expect("named").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("readable"))
        })
        .filter(|(_, text)| !text.is_empty())
        .collect();
    files.sort();
    files
}

/// Runs `inputs` into an output directory and as JSON, loads both back alone, and
/// checks that they hold exactly the derived facts of the original; then writes the
/// reloaded facts again and checks that the files are byte-identical.
fn round_trip(name: &str, inputs: &[PathBuf]) {
    let (program, _) = load(inputs);
    let model = evaluate(&program, &EvalOptions::default());
    let original = exact(&program, &model, true);
    assert!(!original.is_empty(), "{name}: something is derived");

    let dir = scratch(&format!("{name}-run"));
    let out = dir.join("out");
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(inputs.iter().map(|p| text(p)));
    let run = |extra: &[&str]| {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend_from_slice(extra);
        ascribe(&all)
    };
    ok(&run(&["--output", &text(&out)]));
    assert_eq!(
        loaded(std::slice::from_ref(&out)),
        original,
        "{name}: --output loads back"
    );

    let json = run(&["--format", "json"]);
    ok(&json);
    let json_file = dir.join("conclusions.json");
    std::fs::write(&json_file, &json.stdout).expect("write");
    assert_eq!(
        loaded(std::slice::from_ref(&json_file)),
        original,
        "{name}: JSON loads back"
    );

    // Written again from what was loaded, the same bytes.
    let again = dir.join("again");
    ok(&ascribe(&[
        "run",
        "--facts",
        &text(&out),
        "--all",
        "--output",
        &text(&again),
    ]));
    assert_eq!(written(&again), written(&out), "{name}: written twice");
    let json_again = ascribe(&[
        "run",
        "--facts",
        &text(&json_file),
        "--all",
        "--format",
        "json",
    ]);
    ok(&json_again);
    // Relations without facts are not in the file, so not loaded again.
    let non_empty = |bytes: &[u8]| {
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(bytes).expect("JSON");
        object.retain(|_, facts| facts.as_array().is_some_and(|a| !a.is_empty()));
        serde_json::to_string_pretty(&object).expect("JSON")
    };
    assert_eq!(
        non_empty(&json_again.stdout),
        non_empty(&json.stdout),
        "{name}: JSON written twice"
    );
}

#[test]
fn every_example_case_loads_back_with_its_confidences_and_sources() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir("facts")
        .expect("facts/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "tools"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        round_trip(&name, &[PathBuf::from("rules"), case]);
    }
}

#[test]
fn the_founding_conclusion_keeps_its_number_and_its_sources() {
    let (program, _) = load(&[PathBuf::from("rules"), PathBuf::from("facts/nz-2021")]);
    let model = evaluate(&program, &EvalOptions::default());
    let original = exact(&program, &model, true);
    let founding = original
        .iter()
        .find(|(r, v, _, _)| r == "state_sponsored" && v[0] == "Text(\"nz_pco_2021\")")
        .expect("state_sponsored(nz_pco_2021, prc) is derived");
    assert_eq!(f64::from_bits(founding.2), 0.81450625);
    let sources = founding.3.as_deref().expect("sources");
    assert!(
        sources.starts_with("GCSB NCSC media release, 2024-03-26"),
        "{sources}"
    );
    assert!(
        sources.contains(
            "Background knowledge: the MSS is a ministry of the People's Republic of China"
        ),
        "{sources}"
    );
}

#[test]
fn awkward_values_confidences_and_sources_come_back_exactly() {
    let dir = scratch("values");
    let rules = r##"
rel v(n: int, x: any).
v(1, "tab\there") @confidence(0.1) @source("a \"quoted\" \\ source").
v(2, "back\\slash\\t") @confidence(0.3).
v(3, "99999999999999999999").
v(4, 2021-08-01).
v(5, "2021-08-01").
v(6, 0.1).
v(7, -0.0).
v(8, 0.0).
v(9, 1.0e300).
v(10, 5.0e-324).
v(11, 9223372036854775807).
v(12, -9223372036854775808).
v(13, "42").
v(14, "not").
v(15, "rel").
v(16, "é ü 中 ZWSP").
v(17, "").
v(18, "line\nbreak\r").
v(19, "#hash").
v(20, 1.0).
v(21, 1.0e16).
v(22, "apt40").
v(23, "APT40").
v(24, "count").
@strength(0.7)
w(N, X) :- v(N, X).
u(N, X, Y) :- w(N, X), big(Y).
"##;
    std::fs::write(dir.join("v.rules"), rules.replace("ZWSP", "\u{200b}")).expect("write");
    // A TSV integer past 64 bits stays exact, as text.
    std::fs::write(dir.join("big.tsv"), "123456789012345678901234567890\n").expect("write");
    let inputs = [dir.join("v.rules"), dir.join("big.tsv")];
    round_trip("values", &inputs);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lossless-values-run/out");
    let written = std::fs::read_to_string(out.join("w.facts")).expect("w.facts");
    // Two lines pinned as text: an inexact product keeps all its digits, and a source
    // keeps its quotes and backslashes.
    assert!(
        written.contains(
            "w(1, \"tab\\there\") @confidence(0.06999999999999999) @source(\"a \\\"quoted\\\" \\\\ source\").\n"
        ),
        "{written}"
    );
    assert!(
        written.contains("w(10, 5.0e-324) @confidence(0.7).\n"),
        "{written}"
    );
    assert!(
        written.contains("w(9, 1.0e300) @confidence(0.7).\n"),
        "{written}"
    );
    assert!(
        written.contains("w(5, \"2021-08-01\") @confidence(0.7).\n"),
        "{written}"
    );
    assert!(
        written.contains("w(4, 2021-08-01) @confidence(0.7).\n"),
        "{written}"
    );
}

#[test]
fn without_recorded_derivations_the_loss_of_sources_is_reported() {
    let dir = scratch("unrecorded");
    let rules = dir.join("r.rules");
    std::fs::write(
        &rules,
        "n(1) @source(\"S\") @confidence(0.5).\n@strength(0.5)\np(X) :- n(X).\n",
    )
    .expect("write");
    let rules = text(&rules);
    let output = ascribe(&["run", &rules, "--no-explain", "--format", "json"]);
    ok(&output);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("warning[W0361]: derived facts are written without their sources"),
        "{err}"
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let fact = &parsed["p"][0];
    assert_eq!(fact["confidence"], 0.25);
    assert!(fact.get("source").is_none(), "{fact}");
    let output = ascribe(&["run", &rules, "--format", "json"]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("W0361"));
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(parsed["p"][0]["source"], "S");
    // Printed as text, nothing is lost, so nothing is said.
    let output = ascribe(&["run", &rules, "--no-explain"]);
    ok(&output);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("W0361"));
    // Programs with a `@combine(noisy_or)` relation record derivations anyway.
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--no-explain",
        "--format",
        "json",
    ]);
    ok(&output);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("W0361"));
}
