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

use crate::diagnostic::{Diagnostic, Severity, Sources};

/// Renders diagnostics, in the order given, coloured with ANSI escapes if `color`.
pub fn diagnostics(sources: &Sources, diagnostics: &[Diagnostic], color: bool) -> String {
    let mut files = SimpleFiles::new();
    for (_, name, text) in sources.iter() {
        files.add(name.to_string(), text.to_string());
    }
    let config = Config::default();
    let mut buffer = Vec::new();
    for diagnostic in diagnostics {
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
}
