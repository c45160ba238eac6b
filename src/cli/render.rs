//! Rendering diagnostics for the terminal: `file:line:col`, the source line with the
//! problem underlined, the stable code, notes and help.

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
        .with_message(&diagnostic.message);
        let mut labels = Vec::new();
        if let Some(primary) = &diagnostic.primary {
            labels.push(
                Label::new(
                    LabelStyle::Primary,
                    primary.span.source.0 as usize,
                    primary.span.range(),
                )
                .with_message(&primary.message),
            );
        }
        for secondary in &diagnostic.secondary {
            labels.push(
                Label::new(
                    LabelStyle::Secondary,
                    secondary.span.source.0 as usize,
                    secondary.span.range(),
                )
                .with_message(&secondary.message),
            );
        }
        report = report.with_labels(labels);
        let mut notes: Vec<String> = diagnostic
            .notes
            .iter()
            .map(|n| format!("note: {n}"))
            .collect();
        if let Some(help) = &diagnostic.help {
            notes.push(format!("help: {help}"));
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
