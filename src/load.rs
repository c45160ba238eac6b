//! The front end over paths: reads rule files, fact files and directories of them,
//! parses, loads and lowers them into one checked program with every diagnostic found.
//!
//! Used by the command line and by the test runner; the only place besides `io` that
//! reads input files.

use std::io;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, Sources};
use crate::io::{self as fact_io, Schema};
use crate::program::lint;
use crate::program::{lower_with_tables_on, Program};
use crate::syntax::{ast, parse};
use crate::value::Kind;

/// Declared column kinds, from the `rel` declarations of the rule files.
struct Declarations(FxHashMap<String, Vec<Option<Kind>>>);

impl Schema for Declarations {
    fn columns(&self, relation: &str) -> Option<Vec<Option<Kind>>> {
        self.0.get(relation).cloned()
    }
}

fn declarations(modules: &[ast::Module]) -> Declarations {
    let mut map = FxHashMap::default();
    for module in modules {
        for item in &module.items {
            if let ast::Item::Decl(decl) = item {
                let kinds = decl
                    .columns
                    .iter()
                    .map(|c| match c.ty.text.as_str() {
                        "sym" | "str" => Some(Kind::Text),
                        "int" => Some(Kind::Int),
                        "float" => Some(Kind::Float),
                        "date" => Some(Kind::Date),
                        _ => None,
                    })
                    .collect();
                map.entry(decl.name.text.clone()).or_insert(kinds);
            }
        }
    }
    Declarations(map)
}

/// Whether `path` names a rule-language file (`.rules` or `.facts`).
pub fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("rules" | "facts")
    )
}

/// Rule-language files directly inside a directory, sorted by name.
fn rule_files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // Only regular files: the fact loader, given the same directory, refuses a FIFO
        // or other special file named `x.rules` (`E0325`).
        if path.is_file() && is_rule_file(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// What [`load_inputs`] found.
pub struct Inputs {
    /// The checked program, if there was no error.
    pub program: Option<Program>,
    /// Every problem found, errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether some path could not be read at all.
    pub unreadable: bool,
    /// The `@allow` annotations of the files, for warnings found after evaluation.
    pub allows: lint::AllowScopes,
}

/// Reads rule files, fact files and directories of them, then lowers and checks the
/// whole program. Rule-language files (`.rules`, `.facts`, also those found in
/// directories) are read first, so their declarations give the kinds of TSV, CSV and
/// JSON columns. Prints nothing.
pub fn load_inputs(sources: &mut Sources, paths: &[PathBuf]) -> Inputs {
    load_inputs_with(sources, paths, Vec::new())
}

/// [`load_inputs`], with `modules` (already parsed, their texts in `sources`) read
/// before the files, as if they were the first rule files: the test runner's inline
/// facts.
pub fn load_inputs_with(
    sources: &mut Sources,
    paths: &[PathBuf],
    modules: Vec<ast::Module>,
) -> Inputs {
    load_inputs_observed(
        sources,
        paths,
        modules,
        &crate::progress::Silent,
        crate::eval::available_threads(),
    )
}

/// [`load_inputs_with`], telling `progress` after each path is read, reading large fact
/// files on up to `threads` threads (the result does not depend on their number).
pub fn load_inputs_observed(
    sources: &mut Sources,
    paths: &[PathBuf],
    modules: Vec<ast::Module>,
    progress: &dyn crate::progress::Progress,
    threads: usize,
) -> Inputs {
    let mut diagnostics = Vec::new();
    let mut modules = modules;
    let mut unreadable = false;
    let mut rule_paths = Vec::new();
    let mut other_paths = Vec::new();
    for path in paths {
        if path.is_dir() {
            match rule_files_in(path) {
                Ok(files) => rule_paths.extend(files),
                Err(error) => {
                    diagnostics.push(
                        Diagnostic::error_unplaced(
                            "E0301",
                            format!("cannot read directory {}: {error}", path.display()),
                        )
                        .with_help("check the path and its permissions"),
                    );
                    unreadable = true;
                    continue;
                }
            }
            other_paths.push(path.clone());
        } else if is_rule_file(path) {
            rule_paths.push(path.clone());
        } else {
            other_paths.push(path.clone());
        }
    }
    let total = rule_paths.len() + other_paths.len();
    for (done, path) in rule_paths.iter().enumerate() {
        progress.loaded(path, done, total, 0);
        match std::fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => {
                diagnostics.push(fact_io::not_regular(path, &metadata.file_type()).into());
                unreadable = true;
                continue;
            }
            _ => {}
        }
        match fact_io::read_text(path, sources) {
            Ok(id) => {
                let (module, errors) = parse(id, sources.text(id));
                diagnostics.extend(errors);
                modules.push(module);
            }
            Err(diagnostic) => {
                // Not UTF-8 is an error in the input (exit 1); not readable, a usage one.
                if diagnostic.code == "E0301" {
                    unreadable = true;
                    diagnostics.push(diagnostic.with_help("check the path and its permissions"));
                } else {
                    diagnostics.push(*diagnostic);
                }
            }
        }
    }
    let schema = declarations(&modules);
    let mut input = fact_io::Loaded::default();
    for (done, path) in other_paths.iter().enumerate() {
        let facts = input.facts.len() + input.tables.iter().map(|t| t.len()).sum::<usize>();
        progress.loaded(path, rule_paths.len() + done, total, facts);
        let mut loaded = fact_io::load_on(path, sources, &schema, threads);
        unreadable |= loaded
            .diagnostics
            .iter()
            .any(|d| matches!(d.code, "E0301" | "E0325" | "E0331"));
        diagnostics.append(&mut loaded.diagnostics);
        input.absorb(loaded);
    }
    let front_end_errors = diagnostics.iter().any(Diagnostic::is_error);
    let (program, more) =
        lower_with_tables_on(&modules, input.facts, input.tables, sources, threads);
    diagnostics.extend(more);
    if let Some(program) = program.as_ref().filter(|_| !front_end_errors) {
        diagnostics.extend(lint::lint(program, &modules));
    }
    let (allows, unknown) = lint::AllowScopes::from_modules(&modules);
    allows.apply(&mut diagnostics);
    diagnostics.extend(unknown);
    Inputs {
        program: program.filter(|_| !front_end_errors),
        diagnostics,
        unreadable,
        allows,
    }
}
