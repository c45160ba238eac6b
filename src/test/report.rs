//! A test run as text (one line per test, then each failure in full), JSON, or JUnit
//! XML for CI systems. All three are deterministic: no timings, fixed order.

use serde::Serialize;

use super::{indent, Status, TestRun};

/// One line per test, the failures with what accounts for them, orphaned golden files,
/// coverage when counted, and a closing `N passed, M failed` line.
pub fn text(run: &TestRun) -> String {
    let mut out = String::new();
    for outcome in &run.outcomes {
        let mark = match outcome.status {
            Status::Passed => "ok",
            Status::Failed => "FAIL",
        };
        out.push_str(&format!(
            "{mark:<5}  {}  ({}:{})\n",
            outcome.name, outcome.file, outcome.line
        ));
        for path in &outcome.accepted {
            out.push_str(&format!("       wrote {path}\n"));
        }
    }
    let failed: Vec<_> = run
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .collect();
    if !failed.is_empty() {
        out.push_str("\nfailures:\n");
        for outcome in failed {
            out.push_str(&format!(
                "\n---- {} ({}:{}) ----\n",
                outcome.name, outcome.file, outcome.line
            ));
            for failure in &outcome.failures {
                out.push_str(&format!("{}: {}\n", failure.location, failure.message));
                out.push_str(&indent(&failure.detail, "    "));
            }
        }
    }
    if !run.orphans.is_empty() {
        out.push_str(
            "\ngolden files no test names (not deleted; remove them if they are stale):\n",
        );
        for orphan in &run.orphans {
            out.push_str(&format!("  {orphan}\n"));
        }
    }
    if let Some(coverage) = &run.coverage {
        out.push('\n');
        out.push_str(&coverage.text());
    }
    out.push_str(&format!(
        "\n{} passed, {} failed\n",
        run.passed(),
        run.failed()
    ));
    out
}

#[derive(Serialize)]
struct Json<'a> {
    passed: usize,
    failed: usize,
    tests: &'a [super::Outcome],
    orphans: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<&'a super::coverage::Coverage>,
}

/// The run as one JSON object: `passed`, `failed`, `tests` (file, name, line, status,
/// failures with location, message and detail, accepted golden files), `orphans` and
/// `coverage` when counted.
pub fn json(run: &TestRun) -> String {
    let json = Json {
        passed: run.passed(),
        failed: run.failed(),
        tests: &run.outcomes,
        orphans: &run.orphans,
        coverage: run.coverage.as_ref(),
    };
    serde_json::to_string_pretty(&json).expect("test results serialise") + "\n"
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot hold other control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `testsuite` per test file, one `testcase` per test, a `failure`
/// element per failed expectation.
pub fn junit(run: &TestRun) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"ascribe\" tests=\"{}\" failures=\"{}\">\n",
        run.outcomes.len(),
        run.failed()
    ));
    let mut files: Vec<&str> = run.outcomes.iter().map(|o| o.file.as_str()).collect();
    files.dedup();
    for file in files {
        let tests: Vec<_> = run.outcomes.iter().filter(|o| o.file == file).collect();
        let failures = tests.iter().filter(|o| o.status == Status::Failed).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
            xml(file),
            tests.len()
        ));
        for outcome in tests {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
                xml(file),
                xml(&outcome.name),
                xml(file),
                outcome.line
            ));
            if outcome.failures.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for failure in &outcome.failures {
                out.push_str(&format!(
                    "      <failure message=\"{}\">{}: {}\n{}</failure>\n",
                    xml(&failure.message),
                    xml(&failure.location),
                    xml(&failure.message),
                    xml(&failure.detail)
                ));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
