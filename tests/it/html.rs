//! HTML pages of explanations and reports: self-contained, escaped, deterministic, and
//! with every link within the page landing on an element of it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::ascribe;

fn page(args: &[&str], code: i32) -> String {
    let output = ascribe(args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 page")
}

/// The values of `attribute="..."` in `html`.
fn attributes(html: &str, attribute: &str) -> Vec<String> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest[..rest.find('"').expect("attribute closed")].to_string()
        })
        .collect()
}

/// The text between the first `start` and the `end` after it.
fn between<'h>(html: &'h str, start: &str, end: &str) -> &'h str {
    let from = html.find(start).expect("start tag") + start.len();
    &html[from..from + html[from..].find(end).expect("end tag")]
}

/// Checks what every page must be: one document, nothing loaded from outside, ids
/// unique, each `href="#id"` naming an id of the page.
fn check_page(html: &str) {
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
        "{html}"
    );
    assert!(html.ends_with("</html>\n"));
    let style = between(html, "<style>", "</style>");
    let script = between(html, "<script>", "</script>");
    for outside in ["@import", "url("] {
        assert!(
            !style.contains(outside),
            "the style sheet loads something: {outside}"
        );
    }
    for outside in ["fetch(", "XMLHttpRequest", "import("] {
        assert!(
            !script.contains(outside),
            "the script loads something: {outside}"
        );
    }
    // Tags outside the style sheet and the script (where text is escaped, so every `<`
    // opens a tag).
    let markup = html.replace(style, "").replace(script, "");
    for tag in markup.split('<').skip(1) {
        let tag = &tag[..tag.find('>').expect("tag closed")];
        for outside in [
            " src=",
            "href=\"http",
            "href=\"//",
            "link ",
            "iframe",
            "object",
        ] {
            assert!(!tag.contains(outside), "the page loads something: <{tag}>");
        }
    }
    let ids = attributes(html, "id");
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an id is used twice");
    for href in attributes(html, "href") {
        let target = href.strip_prefix('#').expect("only links within the page");
        assert!(
            unique.contains(&target.to_string()),
            "no element has the id {target}"
        );
    }
}

const NZ: &[&str] = &[
    "explain",
    "rules/",
    "--facts",
    "facts/nz-2021/",
    "state_sponsored(nz_pco_2021, prc)",
    "--format",
    "html",
];

#[test]
fn the_nz_explanation_page_shows_sources_grades_and_dates() {
    let html = page(NZ, 0);
    check_page(&html);
    assert!(html.contains("<title>state_sponsored(nz_pco_2021, prc) - explanation</title>"));
    assert!(
        html.contains("<p class=\"verdict\">Very likely (0.815)</p>"),
        "{html}"
    );
    // A leaf: the claim, its source, its speaker's grade from the tree, its date.
    let leaf = html
        .split("<li>")
        .find(|item| {
            item.contains("class=\"leaf\"")
                && item.contains(
                    "claims(gcsb_dg_clark_2024_03_26, operates_for, &quot;APT40&quot;, mss)",
                )
        })
        .expect("the Director-General's claim is a leaf");
    assert!(leaf.contains(">graded B2</span>"), "{leaf}");
    assert!(leaf.contains(">from 2024-03-26</span>"), "{leaf}");
    assert!(
        leaf.contains("source: Andrew Clark, GCSB Director-General, 2024-03-26, as reported by NZ Herald, The Register and EFE"),
        "{leaf}"
    );
    // The root and its premises are open; deeper derivations are closed until clicked.
    assert!(html.contains("<details id=\"n1\" open><summary><span class=\"fact\">state_sponsored(nz_pco_2021, prc)</span>"));
    assert!(html.contains("<details id=\"n27\"><summary><span class=\"fact\">trusted(gcsb_dg_clark_2024_03_26)</span>"), "{html}");
    // A fact shown twice links to where it is expanded.
    assert!(html.contains("<span class=\"fact\">resolves_to(&quot;APT40&quot;, apt40)</span><span class=\"badge conf\" title=\"confidence\">1.000</span><span class=\"badge term\" title=\"ICD 203 likelihood\">almost certain</span> <a href=\"#n"));
    assert!(html.contains("not <span class=\"fact\">deception_suspected(nz_pco_2021)</span> (no such fact was derived)"));
    assert!(html.contains("Weakest evidence: <span class=\"fact\">claims(gcsb_ncsc_2024_03_26, conducted_by, nz_pco_2021, &quot;APT40&quot;)</span>"));
    assert_eq!(html, page(NZ, 0), "the same input gives the same page");
}

fn scratch(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("html-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write a test file");
    }
    dir
}

/// Rules whose facts carry markup in every place a page shows text.
const HOSTILE: &str = r#"
rel incident(incident: sym).
rel claims(source: str, incident: sym, group: str).
@hypothesis("who <b>did</b> it")
rel conducted_by(incident: sym, group: str).
@exception
rel cover_story(incident: sym, group: str).
incident(i1).
claims("<script>alert(1)</script>", i1, "g1") @source("<img src=x onerror=alert(2)>") @grade(C3) @confidence(0.8) @since(2024-01-02).
claims("s2", i1, "g2 & <i>co</i>") @source("it's \"quoted\"") @confidence(0.7).
cover_story(i1, "g2 & <i>co</i>") @source("</details><script>alert(3)</script>").
@name("claim <u>rule</u>") @explain("{G} did {I} per <em>{S}</em>")
conducted_by(I, G) :- claims(S, I, G), not cover_story(I, G).
"#;

#[test]
fn text_from_facts_and_rules_is_shown_as_text() {
    let dir = scratch("hostile", &[("case.rules", HOSTILE)]);
    let rules = dir.join("case.rules");
    let rules = rules.to_str().expect("UTF-8 path");
    let html = page(
        &[
            "explain",
            rules,
            "conducted_by(i1, \"g1\")",
            "--format",
            "html",
        ],
        0,
    );
    check_page(&html);
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script: {html}"
    );
    assert!(
        html.contains("claims(&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;, i1, g1)"),
        "{html}"
    );
    assert!(
        html.contains("source: &lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    // The fact's own `@grade` (its confidence is the explicit one).
    assert!(html.contains("<span class=\"badge conf\" title=\"confidence\">0.800</span><span class=\"badge term\" title=\"ICD 203 likelihood\">very likely</span><span class=\"badge grade\" title=\"Admiralty grade of the source\">graded C3</span><span class=\"badge date\" title=\"when the fact holds\">from 2024-01-02</span>"), "{html}");
    assert!(
        html.contains("g1 did i1 per &lt;em&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/em&gt;"),
        "{html}"
    );
    assert!(
        html.contains("by rule <q>claim &lt;u&gt;rule&lt;/u&gt;</q>"),
        "{html}"
    );

    // Not derived: the why-not page names the defeating fact's source, escaped.
    let why_not = page(
        &[
            "explain",
            rules,
            "conducted_by(i1, \"g2 & <i>co</i>\")",
            "--format",
            "html",
        ],
        1,
    );
    check_page(&why_not);
    assert_eq!(why_not.matches("<script>").count(), 1, "{why_not}");
    assert!(why_not.contains("<p class=\"verdict\">Not derived.</p>"));
    assert!(
        why_not.contains("source: &lt;/details&gt;&lt;script&gt;alert(3)&lt;/script&gt;"),
        "{why_not}"
    );
    assert!(
        why_not.contains("conducted_by(i1, &quot;g2 &amp; &lt;i&gt;co&lt;/i&gt;&quot;)"),
        "{why_not}"
    );

    let report = page(&["report", rules, "--format", "html"], 0);
    check_page(&report);
    assert_eq!(report.matches("<script>").count(), 1, "{report}");
    assert!(
        report.contains("<h3>who &lt;b&gt;did&lt;/b&gt; it"),
        "{report}"
    );
    assert!(
        report.contains("source: &lt;/details&gt;&lt;script&gt;alert(3)&lt;/script&gt;"),
        "{report}"
    );
}

#[test]
fn the_report_page_links_each_candidate_to_its_explanation() {
    let args = [
        "report",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "--format",
        "html",
    ];
    let html = page(&args, 0);
    check_page(&html);
    // nz_pco_2021 is the second incident; H4 is its sponsoring state.
    let row = html
        .split("<tr ")
        .find(|row| row.starts_with("id=\"i2-H4\""))
        .expect("a row for H4 of the second incident");
    assert!(
        row.contains("<code>prc</code><br><a href=\"#i2-H4-explanation\">explanation</a>"),
        "{row}"
    );
    assert!(
        row.contains("<span class=\"badge concluded\">concluded</span>"),
        "{row}"
    );
    assert!(html.contains("<details class=\"explanation\" id=\"i2-H4-explanation\"><summary>H4 <code>state_sponsored(nz_pco_2021, prc)</code>"));
    assert!(html.contains("<a href=\"#i2-H4\">back to the table</a>"));
    // The ACH matrix: one column per candidate, a cell per item of evidence.
    let second = &html[html.find("<section id=\"i2\">").expect("a second incident")..];
    let matrix = &second[second.find("<table class=\"ach\">").expect("an ACH table")..];
    let matrix = &matrix[..matrix.find("</table>").expect("closed")];
    assert!(
        matrix
            .contains("<th title=\"state_sponsored(nz_pco_2021, prc)\"><a href=\"#i2-H4\">H4</a>"),
        "{matrix}"
    );
    assert!(matrix.contains("<td>E1 <code>claims(gcsb_ncsc_2024_03_26, conducted_by, nz_pco_2021, &quot;APT40&quot;)</code><br><span class=\"meta\">GCSB NCSC media release, 2024-03-26 (Andrew Clark: &#39;confidently link the actor to ... APT40&#39;)</span></td><td class=\"num\">0.950</td><td class=\"cell c\">C</td>"), "{matrix}");
    assert_eq!(html, page(&args, 0));
}

#[test]
fn html_with_all_or_critical_is_a_usage_error() {
    let mut args = NZ.to_vec();
    args.push("--all");
    let output = ascribe(&args);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("--format html shows the tree of the best derivation"));
}
