//! The examples in the README load, evaluate and say what the README says.

use std::path::PathBuf;

use crate::common::{evaluate_checked, load, render_derived};

/// The first code block after `marker` in the README.
fn block_after(marker: &str) -> String {
    let readme = std::fs::read_to_string("README.md").expect("README.md exists");
    let start = readme.find(marker).expect("marker in README");
    let rest = &readme[start..];
    let open = rest.find("```\n").expect("a code block follows") + 4;
    let close = rest[open..].find("```").expect("the code block closes");
    rest[open..open + close].to_string()
}

#[test]
fn every_construct_example_evaluates() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-example");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("example.rules");
    std::fs::write(&path, block_after("Every construct, in one file")).expect("write");
    let (program, _) = load(&[path]);
    let model = evaluate_checked(&program);
    insta::assert_snapshot!(render_derived(&program, &model));
}

#[test]
fn why_not_example_is_what_the_engine_prints() {
    let block = block_after("And where the public record stops");
    let mut lines = block.lines();
    let command = lines.next().expect("a command line");
    assert!(command.starts_with("$ ascribe explain rules/ --facts facts/au-parliament-2019/ "));
    let expected: String = lines.map(|l| format!("{l}\n")).collect();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ascribe"))
        .args([
            "explain",
            "rules/",
            "--facts",
            "facts/au-parliament-2019/",
            "state_sponsored(au_parliament_2019, prc)",
        ])
        .output()
        .expect("the binary runs");
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
}

#[test]
fn report_examples_are_what_the_engine_prints() {
    for (marker, args) in [
        (
            "$ ascribe report rules/ --facts facts/nz-2021/ --incident nz_pco_2021",
            vec![
                "report",
                "rules/",
                "--facts",
                "facts/nz-2021/",
                "--incident",
                "nz_pco_2021",
            ],
        ),
        (
            "$ ascribe report rules/ --facts facts/false-flag-example/",
            vec!["report", "rules/", "--facts", "facts/false-flag-example/"],
        ),
    ] {
        let readme = std::fs::read_to_string("README.md").expect("README.md exists");
        let start = readme.find(marker).expect("the example is in the README") + marker.len();
        let end = readme[start..].find("```").expect("the block closes");
        let shown = &readme[start..start + end];
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_ascribe"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("the binary runs");
        let printed = String::from_utf8(output.stdout).expect("UTF-8");
        let mut from = 0;
        for line in shown
            .lines()
            .filter(|l| !l.trim().is_empty() && l.trim() != "...")
        {
            // Every line shown appears in the output, in the same order
            // (`scripts/readme_reports.py` regenerates the blocks).
            let at = printed[from..]
                .find(&format!("{line}\n"))
                .unwrap_or_else(|| panic!("README line not printed (in order): {line:?}"));
            from += at + line.len();
        }
    }
}

/// The output of `ascribe` with `args`, run from the repository root.
fn printed(args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ascribe"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn explain_examples_are_what_the_engine_prints() {
    // The tree is abridged: a line ending in `, ...` is the start of a printed line and
    // a line `...` stands for the lines left out; every other line is printed as shown,
    // in the same order.
    let marker =
        "$ ascribe explain rules/ --facts facts/nz-2021/ 'state_sponsored(nz_pco_2021, prc)'\n";
    let block = block_after("From the published statements, graded by source");
    let start = block.find(marker).expect("the explain example") + marker.len();
    let tree = printed(&[
        "explain",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "state_sponsored(nz_pco_2021, prc)",
    ]);
    let mut lines = tree.lines();
    for shown in block[start..].lines().filter(|l| *l != "...") {
        let found = match shown.strip_suffix(", ...") {
            Some(prefix) => lines.any(|l| l.starts_with(prefix)),
            None => lines.any(|l| l == shown),
        };
        assert!(found, "README line not printed (in order): {shown:?}");
    }

    let block = block_after("`--format prose` writes them");
    let (command, shown) = block.split_once('\n').expect("a command line");
    assert_eq!(
        command,
        "$ ascribe explain rules/ --facts facts/nz-2021/ --format prose 'state_sponsored(nz_pco_2021, prc)'"
    );
    let prose = printed(&[
        "explain",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--format",
        "prose",
        "state_sponsored(nz_pco_2021, prc)",
    ]);
    assert_eq!(shown, prose);
}
