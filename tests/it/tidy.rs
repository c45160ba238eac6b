//! Repository hygiene: module headers, whitespace, leftovers, printing only in the CLI,
//! and fixtures and snapshots that pair up.

use std::path::{Path, PathBuf};

fn files(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            files(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["src", "tests", "benches"] {
        files(Path::new(dir), "rs", &mut out);
    }
    out.sort();
    out
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    for path in rust_files() {
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(
            text.starts_with("//!"),
            "{} does not start with a `//!` line",
            path.display()
        );
    }
}

#[test]
fn no_trailing_whitespace_or_leftovers() {
    let leftovers = [
        concat!("db", "g!("),
        concat!("to", "do!("),
        concat!("unimpl", "emented!("),
        concat!("#[ig", "nore"),
    ];
    let mut checked = rust_files();
    files(Path::new("rules"), "rules", &mut checked);
    for path in checked {
        let text = std::fs::read_to_string(&path).expect("readable");
        for (number, line) in text.lines().enumerate() {
            assert!(
                line.trim_end() == line,
                "{}:{}: trailing whitespace",
                path.display(),
                number + 1
            );
            for leftover in leftovers {
                assert!(
                    !line.contains(leftover),
                    "{}:{}: {leftover}",
                    path.display(),
                    number + 1
                );
            }
        }
    }
}

#[test]
fn only_main_and_the_cli_print() {
    let printing = [
        concat!("print", "ln!("),
        concat!("eprint", "ln!("),
        concat!("print", "!("),
        concat!("eprint", "!("),
    ];
    let mut sources = Vec::new();
    files(Path::new("src"), "rs", &mut sources);
    for path in sources {
        let allowed = path.starts_with("src/cli") || path.ends_with("main.rs");
        if allowed {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        for printer in printing {
            assert!(
                !text.contains(printer),
                "{} prints ({printer})",
                path.display()
            );
        }
    }
}

#[test]
fn snapshots_have_fixtures_and_none_are_pending() {
    let mut snapshots = Vec::new();
    files(Path::new("tests/it/snapshots"), "snap", &mut snapshots);
    let mut pending = Vec::new();
    files(Path::new("tests"), "new", &mut pending);
    assert!(pending.is_empty(), "unreviewed snapshots: {pending:?}");
    for snapshot in snapshots {
        let name = snapshot
            .file_name()
            .expect("named")
            .to_string_lossy()
            .to_string();
        // Glob snapshots are named `<module>__<test>@<fixture>.snap`.
        if let Some((prefix, fixture)) = name.strip_suffix(".snap").and_then(|n| n.split_once('@'))
        {
            let dir = match prefix {
                "it__eval__fixtures" => "tests/fixtures/eval",
                "it__explain__fixtures" => "tests/fixtures/explain",
                "it__diagnostics__fixtures" => "tests/fixtures/fail",
                "it__lints__fixtures" => "tests/fixtures/lint",
                other => panic!("unexpected glob snapshot {other}"),
            };
            assert!(
                Path::new(dir).join(fixture).exists(),
                "orphan snapshot {name}"
            );
        }
        if let Some(case) = name
            .strip_prefix("it__examples__conclusions_")
            .and_then(|n| n.strip_suffix(".snap"))
        {
            assert!(
                Path::new("facts").join(case).is_dir(),
                "orphan snapshot {name}"
            );
        }
    }
}
