//! `run --format stix` and `report --format stix`: one STIX 2.1 bundle of the
//! conclusions, identical on every export, loadable again by the STIX loader, and
//! written all or nothing. Every bundle these tests export is left in
//! `ASCRIBE_STIX_DIR` (default `target/tmp/stix-export`), where `scripts/test.sh` runs
//! OASIS's validator over it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use ascribe::eval::{evaluate, EvalOptions};

use crate::common::{ascribe, load};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ok(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
}

/// Where exported bundles are kept for the validator.
fn export_dir() -> PathBuf {
    let dir = std::env::var_os("ASCRIBE_STIX_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("stix-export"));
    std::fs::create_dir_all(&dir).expect("export directory");
    dir
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stix-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir("facts")
        .expect("facts/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n != "tools" && n != "attack" && n != "misp")
        })
        .map(|p| p.file_name().expect("named").to_string_lossy().into_owned())
        .collect();
    cases.sort();
    cases
}

fn bundle(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("a JSON bundle")
}

fn objects<'b>(bundle: &'b serde_json::Value, kind: &str) -> Vec<&'b serde_json::Value> {
    bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["type"] == kind)
        .collect()
}

#[test]
fn every_case_exports_twice_to_the_same_bytes() {
    let dir = export_dir();
    for case in cases() {
        let facts = format!("facts/{case}");
        let run = || ascribe(&["run", "rules/", "--facts", &facts, "--format", "stix"]);
        let (first, second) = (run(), run());
        ok(&first);
        assert_eq!(first.stdout, second.stdout, "{case}: two exports differ");
        let report = ascribe(&["report", "rules/", "--facts", &facts, "--format", "stix"]);
        ok(&report);
        assert_eq!(
            report.stdout, first.stdout,
            "{case}: run and report export alike"
        );
        std::fs::write(dir.join(format!("run-{case}.json")), &first.stdout).expect("write");
        // `--as-of` dates the objects.
        let dated = ascribe(&[
            "report",
            "rules/",
            "--facts",
            &facts,
            "--format",
            "stix",
            "--as-of",
            "2030-01-01",
        ]);
        ok(&dated);
        let dated_bundle = bundle(&dated);
        assert_eq!(
            objects(&dated_bundle, "incident")[0]["created"],
            "2030-01-01T00:00:00.000Z"
        );
        std::fs::write(dir.join(format!("report-as-of-{case}.json")), &dated.stdout)
            .expect("write");
        let bundle = bundle(&first);
        let identity = objects(&bundle, "identity")
            .into_iter()
            .find(|o| o["name"] == "ascribe")
            .expect("ascribe's identity");
        for object in bundle["objects"].as_array().expect("objects") {
            if object["id"] != identity["id"] {
                assert_eq!(object["created_by_ref"], identity["id"], "{object}");
            }
        }
        assert!(
            !objects(&bundle, "incident").is_empty(),
            "{case}: incidents"
        );
    }
}

#[test]
fn the_founding_case_attributes_with_confidences_terms_sources_and_explanations() {
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--format",
        "stix",
    ]);
    ok(&output);
    let bundle = bundle(&output);
    let by_id = |id: &serde_json::Value| {
        bundle["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| &o["id"] == id)
            .unwrap_or_else(|| panic!("{id} is in the bundle"))
    };
    let mut seen = BTreeSet::new();
    for relationship in objects(&bundle, "relationship") {
        assert_eq!(relationship["relationship_type"], "attributed-to");
        let incident = by_id(&relationship["source_ref"]);
        let candidate = by_id(&relationship["target_ref"]);
        assert_eq!(incident["type"], "incident");
        seen.insert((
            incident["name"].as_str().expect("name").to_owned(),
            candidate["type"].as_str().expect("type").to_owned(),
            candidate["name"].as_str().expect("name").to_owned(),
            relationship["confidence"].as_i64().expect("an integer"),
            relationship["x_ascribe_likelihood"]
                .as_str()
                .expect("a term")
                .to_owned(),
        ));
    }
    let expected: BTreeSet<(String, String, String, i64, String)> = [
        ("intrusion-set", "apt40", 90, "very likely"),
        ("threat-actor", "hainan_ssd", 81, "very likely"),
        ("threat-actor", "mss", 81, "very likely"),
        ("identity", "prc", 81, "very likely"),
    ]
    .into_iter()
    .flat_map(|(kind, name, confidence, term)| {
        ["nz_parliamentary_service_2021", "nz_pco_2021"].map(|incident| {
            (
                incident.to_owned(),
                kind.to_owned(),
                name.to_owned(),
                confidence,
                term.to_owned(),
            )
        })
    })
    .collect();
    assert_eq!(seen, expected);

    let sponsored = objects(&bundle, "relationship")
        .into_iter()
        .find(|r| r["x_ascribe_fact"] == "state_sponsored(nz_pco_2021, prc)")
        .expect("the founding conclusion");
    assert_eq!(sponsored["x_ascribe_confidence"], 0.81450625);
    assert_eq!(
        sponsored["description"],
        "sponsoring state: prc (very likely, 0.815; state_sponsored(nz_pco_2021, prc))."
    );
    let references = sponsored["external_references"]
        .as_array()
        .expect("sources");
    assert_eq!(
        references[0]["source_name"],
        "GCSB NCSC media release, 2024-03-26 (Andrew Clark: 'confidently link the actor to ... APT40')"
    );
    assert_eq!(references.len(), 11);
    let note = objects(&bundle, "note")
        .into_iter()
        .find(|n| n["object_refs"][0] == sponsored["id"])
        .expect("a note explains it");
    let content = note["content"].as_str().expect("content");
    assert!(
        content.starts_with("state_sponsored(nz_pco_2021, prc)"),
        "{content}"
    );
    assert!(
        content.contains("conducted_by(nz_pco_2021, apt40)"),
        "{content}"
    );
    assert_eq!(note["object_refs"][1], sponsored["source_ref"]);
    assert_eq!(note["object_refs"][2], sponsored["target_ref"]);
    // Timestamps: the latest date among the inputs (here the `modified` day of an
    // object in the case's ATT&CK slice).
    assert_eq!(
        objects(&bundle, "incident")[0]["created"],
        "2025-05-22T00:00:00.000Z"
    );
}

#[test]
fn an_exported_bundle_loads_back_with_its_attributions() {
    let dir = scratch("round-trip");
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--format",
        "stix",
    ]);
    ok(&output);
    let file = dir.join("nz.json");
    std::fs::write(&file, &output.stdout).expect("write");

    // What was exported: the attributions to groups and organs (states are STIX
    // identities, which the loader does not read).
    let (program, _) = load(&[PathBuf::from("rules"), PathBuf::from("facts/nz-2021")]);
    let model = evaluate(&program, &EvalOptions::default());
    let mut expected = BTreeSet::new();
    for relation in ["conducted_by", "conducted_for"] {
        let p = program.predicate_id(relation).expect("relation");
        for fact in model.sorted_facts(p) {
            let tuple: Vec<String> = model
                .tuple(fact)
                .iter()
                .map(|v| model.interner().value(*v).to_string())
                .collect();
            let confidence = (model.confidence(fact) * 100.0).round() / 100.0;
            expected.insert((tuple[0].clone(), tuple[1].clone(), confidence.to_bits()));
        }
    }
    assert_eq!(expected.len(), 6);

    let (loaded, _) = load(&[file]);
    let model = evaluate(&loaded, &EvalOptions::default());
    let name = |key: ascribe::value::ValueId| -> String {
        let objects = loaded.predicate_id("stix_object").expect("stix_object");
        model
            .sorted_facts(objects)
            .into_iter()
            .map(|f| model.tuple(f))
            .find(|t| t[0] == key)
            .map(|t| model.interner().value(t[2]).to_string())
            .expect("every end is a named object")
    };
    let attributed = loaded.predicate_id("attributed_to").expect("attributed_to");
    let found: BTreeSet<(String, String, u64)> = model
        .sorted_facts(attributed)
        .into_iter()
        .map(|f| {
            let t = model.tuple(f);
            (name(t[0]), name(t[1]), model.confidence(f).to_bits())
        })
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn output_directories_get_the_bundle_all_or_nothing() {
    let dir = scratch("output");
    let printed = ascribe(&[
        "report",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--format",
        "stix",
    ]);
    ok(&printed);
    for command in ["run", "report"] {
        let out = dir.join(command);
        let output = ascribe(&[
            command,
            "rules/",
            "--facts",
            "facts/nz-2021",
            "--format",
            "stix",
            "--output",
            &text(&out),
        ]);
        ok(&output);
        assert!(output.stdout.is_empty());
        let written = std::fs::read(out.join("conclusions.stix.json")).expect("the bundle");
        assert_eq!(written, printed.stdout, "{command}");
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .expect("readable")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".ascribe-output", "conclusions.stix.json"]);
        // The directory loads back as the bundle.
        let check = ascribe(&["check", &text(&out)]);
        ok(&check);
    }
    // Into an input: refused, nothing written.
    let output = ascribe(&[
        "report",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--format",
        "stix",
        "--output",
        "facts/nz-2021",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error[E0320]"),
        "{}",
        stderr(&output)
    );
    assert!(!Path::new("facts/nz-2021/conclusions.stix.json").exists());
    // A directory ascribe did not write: refused, left as it was.
    let foreign = dir.join("foreign");
    std::fs::create_dir(&foreign).expect("create");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    let output = ascribe(&[
        "run",
        "rules/",
        "--facts",
        "facts/nz-2021",
        "--format",
        "stix",
        "--output",
        &text(&foreign),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error[E0322]"),
        "{}",
        stderr(&output)
    );
    assert!(!foreign.join("conclusions.stix.json").exists());
}

#[test]
fn misuse_of_the_stix_format_is_diagnosed() {
    let dir = scratch("misuse");
    let rules = dir.join("plain.rules");
    std::fs::write(&rules, "p(1).\nq(X) :- p(X).\n").expect("write");
    let cases: [(&[&str], &str, i32); 5] = [
        (
            &[
                "run",
                "rules/",
                "--facts",
                "facts/nz-2021",
                "--format",
                "stix",
                "--relation",
                "conducted_by",
            ],
            "error[E0360]: `--relation` and `--all` choose relations to print",
            2,
        ),
        (
            &[
                "run",
                "rules/",
                "--facts",
                "facts/nz-2021",
                "--format",
                "stix",
                "--all",
            ],
            "error[E0360]",
            2,
        ),
        (
            &["run", &text(&rules), "--format", "stix"],
            "error[E0361]: cannot export STIX: no relation is declared `@hypothesis`",
            2,
        ),
        (
            &[
                "query",
                "rules/",
                "--facts",
                "facts/nz-2021",
                "--format",
                "stix",
                "conducted_by(I, G)",
            ],
            "error[E0362]: `query` prints matching facts",
            2,
        ),
        (
            &[
                "report",
                "rules/",
                "--facts",
                "facts/nz-2021",
                "--output",
                &text(&dir.join("out")),
            ],
            "error[E0363]: `report --output DIR` writes a STIX bundle; it needs `--format stix`",
            2,
        ),
    ];
    for (args, message, code) in cases {
        let output = ascribe(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}: nothing printed");
    }
    assert!(!dir.join("out").exists());
    // `report` names the missing hypotheses the same way.
    let output = ascribe(&["report", &text(&rules), "--format", "stix"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error[E0361]"),
        "{}",
        stderr(&output)
    );
}
