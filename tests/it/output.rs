//! `run --output DIR` never loses or corrupts data: each test pins one way it used to
//! (previous files left beside new ones, links followed, truncated files after a kill,
//! interleaved concurrent runs, inputs overwritten, partial output on a write error,
//! tabs and `\t` written alike).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::ascribe;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory for one test, with `files` written into it.
fn case(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("output-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write a test file");
    }
    dir
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The regular files of `dir` and their contents, sorted by name.
fn contents(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("readable directory")
        .map(|entry| {
            let path = entry.expect("readable entry").path();
            let name = path
                .file_name()
                .expect("named")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&path).expect("readable file"))
        })
        .collect();
    files.sort();
    files
}

fn names(dir: &Path) -> Vec<String> {
    contents(dir).into_iter().map(|(name, _)| name).collect()
}

const TWO_RULES: &str = "p(X) :- n(X).\nq(X) :- n(X), X > 1.\n";

/// Runs `rules` over `facts` into `out`, with extra arguments.
fn run(rules: &Path, facts: &Path, out: &Path, extra: &[&str]) -> Output {
    let (rules, facts, out) = (text(rules), text(facts), text(out));
    let mut args = vec!["run", &rules, "--facts", &facts, "--output", &out];
    args.extend_from_slice(extra);
    ascribe(&args)
}

#[test]
fn a_new_run_leaves_no_file_of_the_previous_one() {
    let dir = case(
        "previous",
        &[("r.rules", TWO_RULES), ("n.tsv", "1\n2\n3\n")],
    );
    let out = dir.join("out");
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(names(&out), [".ascribe-output", "p.facts", "q.facts"]);
    // Before, `q.tsv` stayed beside the new `p.tsv` (as they were named then), and a later `--facts out` mixed
    // the two runs.
    let output = run(
        &dir.join("r.rules"),
        &dir.join("n.tsv"),
        &out,
        &["--relation", "p"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        contents(&out),
        [
            (
                ".ascribe-output".to_string(),
                "# ascribe output: the files below were written together by one `ascribe run --output`; do not edit\np.facts\n".to_string()
            ),
            ("p.facts".to_string(), "p(1).\np(2).\np(3).\n".to_string())
        ]
    );
    // The manifest is hidden, so the output loads back as facts without a warning.
    let output = ascribe(&["check", &text(&out)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
}

#[test]
fn a_directory_ascribe_did_not_write_is_not_replaced() {
    let dir = case("foreign", &[("r.rules", TWO_RULES), ("n.tsv", "1\n")]);
    let out = dir.join("out");
    std::fs::create_dir(&out).expect("create");
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("error[E0322]"), "{err}");
    assert!(err.contains("`notes.txt`"), "{err}");
    assert_eq!(contents(&out), [("notes.txt".into(), "mine".into())]);
    // An empty directory is fine.
    std::fs::remove_file(out.join("notes.txt")).expect("remove");
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_link_inside_the_output_is_never_followed() {
    let dir = case(
        "link-inside",
        &[("r.rules", TWO_RULES), ("n.tsv", "1\n2\n")],
    );
    let out = dir.join("out");
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Before, the next run wrote through `p.tsv` into the link's target.
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious").expect("write");
    std::fs::remove_file(out.join("p.facts")).expect("remove");
    std::os::unix::fs::symlink(&victim, out.join("p.facts")).expect("symlink");
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("error[E0322]"), "{err}");
    assert!(err.contains("`p.facts` (a symbolic link)"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
    assert!(out.join("p.facts").is_symlink());
}

#[test]
fn an_output_directory_that_is_a_link_is_refused() {
    let dir = case("link-dir", &[("r.rules", TWO_RULES), ("n.tsv", "1\n")]);
    let target = dir.join("elsewhere");
    std::fs::create_dir(&target).expect("create");
    let out = dir.join("out");
    std::os::unix::fs::symlink(&target, &out).expect("symlink");
    for given in [text(&out), format!("{}/", text(&out))] {
        let output = run(
            &dir.join("r.rules"),
            &dir.join("n.tsv"),
            Path::new(&given),
            &[],
        );
        assert_eq!(output.status.code(), Some(2));
        let err = stderr(&output);
        assert!(err.contains("error[E0321]"), "{err}");
        assert!(err.contains("it is a symbolic link"), "{err}");
    }
    assert!(names(&target).is_empty());
}

#[test]
fn writing_into_an_input_is_refused() {
    let dir = case("input", &[]);
    let facts = dir.join("facts");
    std::fs::create_dir(&facts).expect("create");
    std::fs::write(facts.join("n.tsv"), "1\n2\n").expect("write");
    std::fs::write(dir.join("r.rules"), TWO_RULES).expect("write");
    let before = contents(&facts);
    // Before, the output went into the facts directory, and the next run read the
    // derived facts back as evidence, at confidence 1.
    let rules = dir.join("r.rules");
    let cases = [
        (facts.clone(), facts.clone(), "is", facts.clone()),
        (facts.clone(), facts.join("out"), "is inside", facts.clone()),
        (
            facts.join("n.tsv"),
            facts.clone(),
            "contains",
            facts.join("n.tsv"),
        ),
        (facts.clone(), dir.clone(), "contains", rules.clone()),
    ];
    for (input, out, relation, named) in cases {
        let output = run(&rules, &input, &out, &[]);
        assert_eq!(output.status.code(), Some(2), "{out:?}");
        let err = stderr(&output);
        assert!(err.contains("error[E0320]"), "{err}");
        assert!(
            err.contains(&format!(
                "{}: it {relation} the input {}",
                text(&out),
                text(&named)
            )),
            "{err}"
        );
    }
    // The rule file counts as an input too, and paths are compared canonicalized.
    let output = run(
        &dir.join("r.rules"),
        &facts.join("n.tsv"),
        &dir.join("facts/../."),
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error[E0320]"),
        "{}",
        stderr(&output)
    );
    assert_eq!(contents(&facts), before);
    assert!(!facts.join("out").exists());
}

/// `bash -c SCRIPT` with the binary as `$0`-relative `"$@"`.
fn shell(script: &str, args: &[String]) -> Output {
    std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("ascribe")
        .arg(env!("CARGO_BIN_EXE_ascribe"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs")
}

/// Rules and facts whose output is about 40 KB, more than a 1 KiB file size limit.
fn large_case(name: &str) -> PathBuf {
    let rows: String = (0..4000).map(|i| format!("{}\n", 1_000_000 + i)).collect();
    case(name, &[("r.rules", TWO_RULES), ("n.tsv", &rows)])
}

fn run_args(dir: &Path, out: &Path) -> Vec<String> {
    [
        "run".to_string(),
        text(&dir.join("r.rules")),
        "--facts".to_string(),
        text(&dir.join("n.tsv")),
        "--output".to_string(),
        text(out),
    ]
    .to_vec()
}

#[test]
fn a_killed_run_leaves_the_previous_output_whole() {
    let dir = large_case("killed");
    let out = dir.join("out");
    std::fs::create_dir(&out).expect("create");
    std::fs::create_dir(dir.join("small")).expect("create");
    std::fs::write(dir.join("small/n.tsv"), "7\n").expect("write");
    let output = run(&dir.join("r.rules"), &dir.join("small/n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let before = contents(&out);
    // The kernel kills the process (SIGXFSZ) when a file passes 1 KiB: before, `p.tsv`
    // was left truncated after its last whole line, and looked valid.
    let output = shell(r#"ulimit -f 1; exec "$@""#, &run_args(&dir, &out));
    assert_eq!(output.status.code(), None, "killed by a signal");
    assert_eq!(contents(&out), before);
    // The next run is not blocked by the dead one, and clears what it left.
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(out.join("p.facts"))
            .expect("read")
            .lines()
            .count(),
        4000
    );
    assert!(!dir.join(".out.ascribe-new").exists());
}

#[test]
fn a_write_error_names_the_file_and_changes_nothing() {
    let dir = large_case("full");
    let out = dir.join("out");
    std::fs::create_dir(dir.join("small")).expect("create");
    std::fs::write(dir.join("small/n.tsv"), "7\n").expect("write");
    let output = run(&dir.join("r.rules"), &dir.join("small/n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let before = contents(&out);
    // With SIGXFSZ ignored, a write past the limit fails (EFBIG) as on a full disk.
    // Before, the files written until then stayed, and the message named the directory.
    let output = shell(
        r#"trap '' XFSZ; ulimit -f 1; exec "$@""#,
        &run_args(&dir, &out),
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("error[E0324]"), "{err}");
    assert!(
        err.contains(&format!("cannot write {}/p.facts: ", text(&out))),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(contents(&out), before);
    assert!(!dir.join(".out.ascribe-new").exists());
}

#[test]
fn a_too_long_file_name_names_the_file_and_changes_nothing() {
    let long = format!("r{}", "x".repeat(300));
    let rules = format!("a(X) :- n(X).\n{long}(X) :- n(X).\n");
    let dir = case("long-name", &[("r.rules", &rules), ("n.tsv", "1\n")]);
    let out = dir.join("out");
    let output = run(
        &dir.join("r.rules"),
        &dir.join("n.tsv"),
        &out,
        &["--relation", "a"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let before = contents(&out);
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("error[E0324]"), "{err}");
    assert!(
        err.contains(&format!("cannot create {}/{long}.facts: ", text(&out))),
        "{err}"
    );
    assert_eq!(contents(&out), before);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_second_writer_is_refused_at_once() {
    use std::os::unix::io::AsRawFd;
    let dir = case("locked", &[("r.rules", TWO_RULES), ("n.tsv", "1\n")]);
    let out = dir.join("out");
    let lock = std::fs::File::create(dir.join(".out.ascribe-lock")).expect("create");
    // SAFETY: `flock` on a descriptor this test owns.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(locked, 0);
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("error[E0323]"), "{err}");
    assert!(err.contains("another ascribe run is writing it"), "{err}");
    assert!(!out.exists());
    drop(lock);
    let output = run(&dir.join("r.rules"), &dir.join("n.tsv"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn concurrent_runs_never_interleave() {
    let dir = case("concurrent", &[("r.rules", TWO_RULES)]);
    let out = dir.join("out");
    // Each run writes its own rows; before, rows of several runs ended up in one file.
    let mut expected = Vec::new();
    let mut children = Vec::new();
    for run in 0..4 {
        let facts = dir.join(format!("f{run}"));
        std::fs::create_dir(&facts).expect("create");
        let numbers: Vec<i32> = (0..3000).map(|i| run * 10_000 + i).collect();
        let rows: String = numbers.iter().map(|n| format!("{n}\n")).collect();
        std::fs::write(facts.join("n.tsv"), &rows).expect("write");
        expected.push(
            numbers
                .iter()
                .map(|n| format!("p({n}).\n"))
                .collect::<String>(),
        );
        children.push(
            std::process::Command::new(env!("CARGO_BIN_EXE_ascribe"))
                .args(["run", &text(&dir.join("r.rules")), "--facts"])
                .arg(&facts)
                .args(["--relation", "p", "--output"])
                .arg(&out)
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the binary starts"),
        );
    }
    let mut succeeded = 0;
    for child in children {
        let output = child.wait_with_output().expect("the binary runs");
        match output.status.code() {
            Some(0) => succeeded += 1,
            Some(2) => assert!(
                stderr(&output).contains("error[E0323]"),
                "{}",
                stderr(&output)
            ),
            other => panic!("exit {other:?}: {}", stderr(&output)),
        }
    }
    assert!(succeeded >= 1);
    let written = std::fs::read_to_string(out.join("p.facts")).expect("read");
    assert!(expected.contains(&written), "one run's rows, whole");
}

#[test]
fn every_text_loads_back_as_itself() {
    // JSON strings may hold what a TSV field cannot: before, a tab and a backslash
    // followed by `t` were written as the same two bytes.
    let values = [
        "tab\there",
        "tab\\there",
        "two\nlines",
        "two\\nlines",
        "cr\rhere",
        "back\\slash",
        "ends\\",
        "\\\\",
        "#first",
        "in#side",
    ];
    let json_values: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("[{i}, {}]", serde_json::to_string(v).expect("JSON")))
        .collect();
    let note = format!("{{\"note\": [{}]}}", json_values.join(", "));
    let dir = case(
        "escapes",
        &[
            ("note.json", &note),
            (
                "notes.rules",
                "rel note(n: int, text: str).\nsaid(T, N) :- note(N, T).\n",
            ),
            (
                "again.rules",
                "rel said(text: str, n: int).\nkept(T, N) :- said(T, N).\n",
            ),
        ],
    );
    let out = dir.join("out");
    let output = run(&dir.join("notes.rules"), &dir.join("note.json"), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = std::fs::read_to_string(out.join("said.facts")).expect("said.facts written");
    assert_eq!(
        written,
        "said(\"#first\", 8).\nsaid(\"\\\\\\\\\", 7).\nsaid(\"back\\\\slash\", 5).\n\
         said(\"cr\\rhere\", 4).\nsaid(\"ends\\\\\", 6).\nsaid(\"in#side\", 9).\n\
         said(\"tab\\there\", 0).\nsaid(\"tab\\\\there\", 1).\nsaid(\"two\\nlines\", 2).\n\
         said(\"two\\\\nlines\", 3).\n"
    );
    // Read back, the file gives the same values: the same file again, and the same
    // JSON as the values first loaded.
    let out2 = dir.join("out2");
    let output = run(
        &dir.join("again.rules"),
        &out.join("said.facts"),
        &out2,
        &["--quiet"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let reloaded = std::fs::read_to_string(out2.join("kept.facts")).expect("kept.facts written");
    assert_eq!(reloaded, written.replace("said(", "kept("));
    let output = ascribe(&[
        "run",
        &text(&dir.join("again.rules")),
        "--facts",
        &text(&out.join("said.facts")),
        "--format",
        "json",
    ]);
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let mut loaded: Vec<(i64, String)> = parsed["kept"]
        .as_array()
        .expect("kept facts")
        .iter()
        .map(|f| {
            (
                f["args"][1].as_i64().expect("n"),
                f["args"][0].as_str().expect("text").to_owned(),
            )
        })
        .collect();
    loaded.sort();
    let original: Vec<(i64, String)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, v.to_string()))
        .collect();
    assert_eq!(loaded, original);
}
