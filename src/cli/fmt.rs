//! `ascribe fmt`: rewrites rule and fact files in canonical layout, or with `--check`
//! shows the differences as unified diffs.
//!
//! A file is replaced atomically (a temporary file in the same directory, synced, then
//! renamed over it, keeping its permissions) and only when its text changes, so an
//! unchanged file keeps its modification time. Symbolic links are never followed: a
//! linked file is skipped with a warning. A file with syntax errors is left untouched.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use super::{Out, Session, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::diagnostic::Diagnostic;
use crate::syntax::format::format;

/// `ascribe fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Rule files (.rules), fact files (.facts) or directories (searched recursively,
    /// skipping hidden ones); `-` for standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write nothing: print a unified diff for each file that would change, and exit 1
    /// if any would.
    #[arg(long)]
    pub check: bool,
    /// Format standard input to standard output (as the path `-`).
    #[arg(long)]
    pub stdin: bool,
}

/// What happened to the inputs so far.
#[derive(Default)]
struct Tally {
    changed: usize,
    input_errors: bool,
    io_errors: bool,
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("rules" | "facts")
    )
}

/// A file-level problem: the path, a stable code and advice.
fn file_diagnostic(code: &'static str, warning: bool, message: String, help: &str) -> Diagnostic {
    let mut diagnostic = Diagnostic::error_unplaced(code, message).with_help(help);
    if warning {
        diagnostic.severity = crate::diagnostic::Severity::Warning;
    }
    diagnostic
}

impl Session {
    /// Runs `ascribe fmt`.
    pub(super) fn fmt(&mut self, args: &FmtArgs, out: &mut Out) -> io::Result<i32> {
        let mut paths = args.paths.clone();
        if args.stdin {
            paths.push(PathBuf::from("-"));
        }
        if paths.is_empty() {
            eprintln!("error: no files given\n\nFor example: ascribe fmt rules/ facts/   (or `-` for standard input)");
            return Ok(EXIT_USAGE);
        }
        let mut tally = Tally::default();
        let mut files = Vec::new();
        for path in &paths {
            if path.as_os_str() == "-" {
                files.push(path.clone());
                continue;
            }
            self.collect(path, true, &mut files, &mut tally);
        }
        let mut seen = std::collections::HashSet::new();
        files.retain(|f| seen.insert(f.clone()));
        for file in &files {
            if file.as_os_str() == "-" {
                self.fmt_stdin(args.check, out, &mut tally)?;
            } else {
                self.fmt_file(file, args.check, out, &mut tally)?;
            }
        }
        if args.check && tally.changed > 0 {
            eprintln!(
                "{} file{} would be reformatted",
                tally.changed,
                if tally.changed == 1 { "" } else { "s" }
            );
        }
        Ok(if tally.io_errors {
            EXIT_USAGE
        } else if tally.input_errors || (args.check && tally.changed > 0) {
            EXIT_INPUT
        } else {
            EXIT_OK
        })
    }

    /// Adds the rule-language files at `path` to `files`: the file itself, or those
    /// found under a directory, sorted by name. Symbolic links are skipped.
    fn collect(&mut self, path: &Path, named: bool, files: &mut Vec<PathBuf>, tally: &mut Tally) {
        let metadata = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => {
                self.report(&[file_diagnostic(
                    "E0902",
                    false,
                    format!("cannot read {}: {error}", path.display()),
                    "check the path and its permissions",
                )]);
                tally.io_errors = true;
                return;
            }
        };
        if metadata.file_type().is_symlink() {
            self.report(&[file_diagnostic(
                "W0901",
                true,
                format!("{} is a symbolic link; skipped", path.display()),
                "format the file it points to by its own path",
            )]);
        } else if metadata.is_dir() {
            let entries = match std::fs::read_dir(path).and_then(|dir| {
                dir.map(|e| e.map(|e| e.path()))
                    .collect::<io::Result<Vec<_>>>()
            }) {
                Ok(entries) => entries,
                Err(error) => {
                    self.report(&[file_diagnostic(
                        "E0902",
                        false,
                        format!("cannot read directory {}: {error}", path.display()),
                        "check the path and its permissions",
                    )]);
                    tally.io_errors = true;
                    return;
                }
            };
            let mut entries = entries;
            entries.sort();
            for entry in entries {
                let hidden = entry
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                let is_dir = std::fs::symlink_metadata(&entry).is_ok_and(|m| m.is_dir());
                if !hidden && (is_dir || is_rule_file(&entry)) {
                    self.collect(&entry, false, files, tally);
                }
            }
        } else if named && !is_rule_file(path) {
            self.report(&[file_diagnostic(
                "W0902",
                true,
                format!("{} is not a .rules or .facts file; skipped", path.display()),
                "`ascribe fmt` formats the rule language only",
            )]);
        } else {
            files.push(path.to_path_buf());
        }
    }

    /// Formats `text` registered under `name`; reports and returns `None` on errors.
    fn format_text(&mut self, name: String, text: String, tally: &mut Tally) -> Option<String> {
        let id = self.sources.add(name, text);
        match format(id, self.sources.text(id)) {
            Ok(formatted) => Some(formatted),
            Err(diagnostics) => {
                self.report(&diagnostics);
                tally.input_errors = true;
                None
            }
        }
    }

    fn fmt_file(
        &mut self,
        path: &Path,
        check: bool,
        out: &mut Out,
        tally: &mut Tally,
    ) -> io::Result<()> {
        let name = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.report(&[file_diagnostic(
                    "E0902",
                    false,
                    format!("cannot read {name}: {error}"),
                    "check the path and its permissions",
                )]);
                tally.io_errors = true;
                return Ok(());
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            self.report(&[file_diagnostic(
                "E0903",
                false,
                format!("{name} is not UTF-8; left as it is"),
                "rule and fact files are UTF-8 text",
            )]);
            tally.input_errors = true;
            return Ok(());
        };
        let Some(formatted) = self.format_text(name.clone(), text.clone(), tally) else {
            return Ok(());
        };
        if formatted == text {
            return Ok(());
        }
        tally.changed += 1;
        if check {
            out.write(&diff(&name, &text, &formatted))?;
            return Ok(());
        }
        match replace(path, &formatted) {
            Ok(()) => out.write(&format!("reformatted {name}\n"))?,
            Err(error) => {
                self.report(&[file_diagnostic(
                    "E0904",
                    false,
                    format!("cannot write {name}: {error}; left as it was"),
                    "check that the file and its directory are writable",
                )]);
                tally.io_errors = true;
            }
        }
        Ok(())
    }

    fn fmt_stdin(&mut self, check: bool, out: &mut Out, tally: &mut Tally) -> io::Result<()> {
        let mut text = String::new();
        if let Err(error) = io::stdin().read_to_string(&mut text) {
            self.report(&[file_diagnostic(
                "E0902",
                false,
                format!("cannot read <stdin>: {error}"),
                "standard input must be UTF-8 text",
            )]);
            tally.io_errors = true;
            return Ok(());
        }
        let Some(formatted) = self.format_text("<stdin>".to_string(), text.clone(), tally) else {
            return Ok(());
        };
        if check {
            if formatted != text {
                tally.changed += 1;
                out.write(&diff("<stdin>", &text, &formatted))?;
            }
        } else {
            out.write(&formatted)?;
        }
        Ok(())
    }
}

/// A unified diff from `before` to `after`, both named `name`.
fn diff(name: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}

/// Replaces the file at `path` with `text` atomically: writes a temporary file beside
/// it with the same permissions, syncs it, and renames it over `path` (replacing the
/// directory entry, never writing through a link).
fn replace(path: &Path, text: &str) -> io::Result<()> {
    let permissions = std::fs::symlink_metadata(path)?.permissions();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{file_name}.fmt-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.set_permissions(permissions)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)?;
        // Make the rename durable too; not every platform can sync a directory.
        if let Ok(dir) = std::fs::File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_names_the_file() {
        let text = diff("a.rules", "p(1) .\n", "p(1).\n");
        assert_eq!(
            text,
            "--- a.rules\n+++ a.rules\n@@ -1 +1 @@\n-p(1) .\n+p(1).\n"
        );
    }
}
