//! Rendering diagnostics for the terminal: `file:line:col`, the source line with the
//! problem underlined, the stable code, notes and help. Characters that would show as
//! nothing or garble the terminal (controls, zero-width and other invisible or unusual
//! space characters) are named in messages, labels and notes (`U+200B`), never
//! printed raw.

use std::borrow::Cow;

use codespan_reporting::diagnostic::{
    Diagnostic as Report, Label, LabelStyle, Severity as ReportSeverity,
};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::{Ansi, NoColor};
use codespan_reporting::term::{self, Config};

use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, Severity, Sources, Span};

/// A source line longer than this (in bytes) is shown cut around the span.
const MAX_LINE: usize = 300;

/// Characters of context shown on each side of a span in a cut line, and at most of
/// the span itself.
const CONTEXT: usize = 60;

/// Renders diagnostics, in the order given, coloured with ANSI escapes if `color`.
/// A warning repeated with the same code and message is shown once, with a note
/// counting the repeats. A label on a very long source line (a minified JSON bundle)
/// shows only the part of the line around it.
pub fn diagnostics(sources: &Sources, diagnostics: &[Diagnostic], color: bool) -> String {
    // Only the texts a label points into are given to the renderer (it indexes the
    // lines of each); the others stay empty, so that file ids remain source ids.
    let mut used = vec![false; sources.iter().count()];
    for diagnostic in diagnostics {
        for label in diagnostic.primary.iter().chain(&diagnostic.secondary) {
            if let Some(slot) = used.get_mut(label.span.source.0 as usize) {
                *slot = true;
            }
        }
    }
    let mut files = SimpleFiles::new();
    for (id, name, text) in sources.iter() {
        files.add(name, if used[id.0 as usize] { text } else { "" });
    }
    let mut repeats: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    for diagnostic in diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
    {
        *repeats
            .entry((diagnostic.code, diagnostic.message.as_str()))
            .or_default() += 1;
    }
    let mut shown: FxHashMap<(&str, &str), ()> = FxHashMap::default();
    let config = Config::default();
    let mut buffer = Vec::new();
    for diagnostic in diagnostics {
        let key = (diagnostic.code, diagnostic.message.as_str());
        let mut extra_note = None;
        if diagnostic.severity == Severity::Warning {
            if shown.insert(key, ()).is_some() {
                continue;
            }
            let n = repeats.get(&key).copied().unwrap_or(1);
            if n > 1 {
                extra_note = Some(format!(
                    "this warning occurs {} more time{} (only the first is shown)",
                    n - 1,
                    if n == 2 { "" } else { "s" }
                ));
            }
        }
        let long_line = diagnostic
            .primary
            .iter()
            .chain(&diagnostic.secondary)
            .any(|label| line_of(sources, label.span).len() > MAX_LINE);
        if long_line {
            buffer.extend_from_slice(cut(sources, diagnostic, extra_note.as_deref()).as_bytes());
            continue;
        }
        let mut report = Report::new(match diagnostic.severity {
            Severity::Error => ReportSeverity::Error,
            Severity::Warning => ReportSeverity::Warning,
        })
        .with_code(diagnostic.code)
        .with_message(name_invisible(&diagnostic.message));
        let mut labels = Vec::new();
        if let Some(primary) = &diagnostic.primary {
            labels.push(
                Label::new(
                    LabelStyle::Primary,
                    primary.span.source.0 as usize,
                    primary.span.range(),
                )
                .with_message(name_invisible(&primary.message)),
            );
        }
        for secondary in &diagnostic.secondary {
            labels.push(
                Label::new(
                    LabelStyle::Secondary,
                    secondary.span.source.0 as usize,
                    secondary.span.range(),
                )
                .with_message(name_invisible(&secondary.message)),
            );
        }
        report = report.with_labels(labels);
        let mut notes: Vec<String> = diagnostic
            .notes
            .iter()
            .map(|n| format!("note: {}", name_invisible(n)))
            .collect();
        notes.extend(extra_note.map(|n| format!("note: {n}")));
        if let Some(help) = &diagnostic.help {
            notes.push(format!("help: {}", name_invisible(help)));
        }
        report = report.with_notes(notes);
        let result = if color {
            term::emit(&mut Ansi::new(&mut buffer), &config, &files, &report)
        } else {
            term::emit(&mut NoColor::new(&mut buffer), &config, &files, &report)
        };
        if result.is_err() {
            // A span that does not fit its text is an internal error; still say what
            // went wrong rather than nothing.
            buffer.extend_from_slice(format!("{diagnostic}\n").as_bytes());
        }
    }
    String::from_utf8_lossy(&buffer).into_owned()
}

/// The line (without its line end) a span starts on.
fn line_of(sources: &Sources, span: Span) -> &str {
    let text = sources.text(span.source);
    let at = (span.start as usize).min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    text[start..end].trim_end_matches('\r')
}

/// A diagnostic whose labels stand on very long lines, in the renderer's layout but
/// with each line cut to [`CONTEXT`] characters around its label, marked `…`.
fn cut(sources: &Sources, diagnostic: &Diagnostic, extra_note: Option<&str>) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!(
        "{severity}[{}]: {}\n",
        diagnostic.code,
        name_invisible(&diagnostic.message)
    );
    let labels: Vec<(&crate::diagnostic::Label, char)> = diagnostic
        .primary
        .iter()
        .map(|l| (l, '^'))
        .chain(diagnostic.secondary.iter().map(|l| (l, '-')))
        .collect();
    for (label, mark) in labels {
        let span = label.span;
        let (line, column) = sources.line_col(span.source, span.start);
        let text = line_of(sources, span);
        let line_start = sources
            .text(span.source)
            .get(..span.start as usize)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        let from = (span.start as usize)
            .saturating_sub(line_start)
            .min(text.len());
        let to = (span.end as usize)
            .saturating_sub(line_start)
            .clamp(from, text.len());
        let piece = |range: std::ops::Range<usize>| -> Vec<char> {
            text.get(range).unwrap_or("").chars().collect()
        };
        let before = piece(0..from);
        let inside = piece(from..to);
        let after = piece(to..text.len());
        let shown_before: String = before[before.len().saturating_sub(CONTEXT)..]
            .iter()
            .collect();
        let shown_inside: String = inside.iter().take(2 * CONTEXT).collect();
        let rest_start = inside.len().min(2 * CONTEXT);
        let shown_after: String = if rest_start < inside.len() {
            String::new()
        } else {
            after.iter().take(CONTEXT).collect()
        };
        let open = if before.len() > CONTEXT { "…" } else { "" };
        let close = if rest_start < inside.len() || after.len() > CONTEXT {
            "…"
        } else {
            ""
        };
        let clean = |s: &str| s.replace('\t', " ");
        let number = line.to_string();
        let gutter = " ".repeat(number.len());
        out.push_str(&format!(
            "{gutter} ┌─ {}:{line}:{column}\n{gutter} │\n{number} │ {open}{}{}{}{close}\n",
            sources.name(span.source),
            clean(&shown_before),
            clean(&shown_inside),
            clean(&shown_after),
        ));
        let pad = open.chars().count() + shown_before.chars().count();
        let marks = shown_inside.chars().count().max(1);
        out.push_str(&format!(
            "{gutter} │ {}{} {}\n",
            " ".repeat(pad),
            mark.to_string().repeat(marks),
            name_invisible(&label.message)
        ));
        out.push_str(&format!("{gutter} │\n"));
    }
    for note in &diagnostic.notes {
        out.push_str(&format!("  = note: {}\n", name_invisible(note)));
    }
    if let Some(note) = extra_note {
        out.push_str(&format!("  = note: {note}\n"));
    }
    if let Some(help) = &diagnostic.help {
        out.push_str(&format!("  = help: {}\n", name_invisible(help)));
    }
    out.push('\n');
    out
}

/// Whether `c` would show as nothing, as a space that is not one, or as a terminal
/// control: controls other than the line feed, format characters (zero-width spaces
/// and joiners, direction marks and overrides, the byte-order mark, soft hyphen, tags),
/// variation selectors, and space characters other than the ASCII space.
fn is_invisible(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{00a0}'
                | '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{1680}'
                | '\u{180e}'
                | '\u{2000}'..='\u{200f}'
                | '\u{2028}'..='\u{202f}'
                | '\u{205f}'..='\u{206f}'
                | '\u{3000}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// `text` with every invisible character (see [`is_invisible`]) replaced by its code
/// point, `U+200B`.
fn name_invisible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_invisible) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_invisible(c) {
            out.push_str(&format!("U+{:04X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_named() {
        assert_eq!(
            name_invisible("found `\u{200b}`, `\u{7}`, `\u{1b}[31m` and `\u{202e}`"),
            "found `U+200B`, `U+0007`, `U+001B[31m` and `U+202E`"
        );
        assert_eq!(name_invisible("plain, é and\nlines"), "plain, é and\nlines");
    }

    #[test]
    fn long_lines_are_cut_around_the_span_and_repeats_grouped() {
        // Before, each warning on a minified 26 MB bundle printed the whole line.
        let mut sources = Sources::default();
        let line = format!("{}needle{}", "a".repeat(10_000), "b".repeat(10_000));
        let id = sources.add("big.json", format!("first\n{line}\n"));
        let span = Span::new(id, 6 + 10_000, 6 + 10_006);
        let warning = Diagnostic::warning("W0202", "same message", span).with_label("here");
        let rendered = diagnostics(
            &sources,
            &[warning.clone(), warning.clone(), warning],
            false,
        );
        let expected = format!(
            "warning[W0202]: same message\n  ┌─ big.json:2:10001\n  │\n2 │ …{}needle{}…\n  │ {}^^^^^^ here\n  │\n  = note: this warning occurs 2 more times (only the first is shown)\n\n",
            "a".repeat(CONTEXT),
            "b".repeat(CONTEXT),
            " ".repeat(CONTEXT + 1)
        );
        assert_eq!(rendered, expected);
    }
}
