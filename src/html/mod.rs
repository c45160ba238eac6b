//! Self-contained HTML pages of explanations, why-not answers and reports, for people
//! to read in a browser.
//!
//! A page is one file: its style sheet and a few lines of script are inline, and it
//! loads nothing (no network, no fonts, no external scripts). Derivation trees are
//! nested `<details>` elements, so they fold and unfold without the script; the script
//! only opens the node a page address names (`page.html#n12`) and adds "open all" and
//! "close all" buttons. Every text taken from rules or facts is escaped ([`escape`]),
//! and the same input gives the same page byte for byte: anchors are numbered in tree
//! order, nothing depends on the clock.
//!
//! This stage sits after `report`: it reads explanations, defeats and reports and
//! writes text, and knows nothing of files or terminals.

mod explain;
mod report;

pub use explain::{explanation_page, why_not_page};
pub use report::report_page;

use std::fmt::Write as _;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// `text` with `&`, `<`, `>`, `"` and `'` written as character references, safe both
/// between tags and inside a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already HTML), titled `title` (text).
fn page(title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + 512);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}\
         <footer>Written by ascribe {}.</footer>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title),
        env!("CARGO_PKG_VERSION"),
    );
    out
}

/// A confidence as shown: three decimals.
fn number(x: f64) -> String {
    format!("{x:.3}")
}

/// The confidence and ICD 203 term badges of a fact.
fn confidence_badges(confidence: f64, likelihood: &str) -> String {
    format!(
        "<span class=\"badge conf\" title=\"confidence\">{}</span><span class=\"badge term\" title=\"ICD 203 likelihood\">{}</span>",
        number(confidence),
        escape(likelihood)
    )
}

/// "Open all" and "close all" buttons for the `<details>` inside the element `scope`.
fn controls(scope: &str) -> String {
    format!(
        "<div class=\"controls\"><button type=\"button\" data-open=\"all\" data-scope=\"{0}\">Open all</button>\
         <button type=\"button\" data-open=\"none\" data-scope=\"{0}\">Close all</button></div>\n",
        escape(scope)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain text, 2024-03-26"), "plain text, 2024-03-26");
    }

    #[test]
    fn a_page_is_self_contained() {
        let html = page("t <1>", "<p>x</p>\n");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>t &lt;1&gt;</title>"));
        for external in ["src=", "href=\"http", "@import", "url("] {
            assert!(
                !html.contains(external),
                "page refers outside itself: {external}"
            );
        }
    }
}
