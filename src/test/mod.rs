//! The test runner: finds `.test` files, runs each test's rule set over its case
//! folders and inline facts, checks its expectations and snapshots, and counts which
//! rules the tests exercise.
//!
//! Tests are independent: each builds its own program and model, so they run in
//! parallel and a failing test never stops the others. Results come back in file and
//! test order whatever the thread count, so the output is deterministic. Nothing here
//! prints; golden files are written only with `accept`, each to a temporary file
//! renamed into place.

pub mod coverage;
pub mod report;
pub mod snapshot;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::diagnostic::{suggest, Diagnostic, Sources, Span};
use crate::eval::{evaluate_limited, EvalOptions, FactId, Limits, Model};
use crate::explain::render as explain_render;
use crate::explain::{explain, fact_text, likelihood, why_not, Node, Via};
use crate::load::load_inputs_with;
use crate::program::Program;
use crate::query::Pattern;
use crate::syntax::ast::{self, CmpOp};
use crate::syntax::test_file::{
    parse_tests, Bound, ExpectKind, Expectation, Level, RestsOn, Statement, TestBlock, TestModule,
};

/// How to run tests.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Run only tests whose name (or `file: name`) contains this text.
    pub filter: Option<String>,
    /// Rewrite golden files that differ or are missing instead of failing.
    pub accept: bool,
    /// Count rule instances for a coverage report.
    pub coverage: bool,
    /// Threads; 0 means one per core.
    pub threads: usize,
    /// Bounds on each test's evaluation.
    pub limits: Limits,
}

/// Whether a test passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every expectation held and every snapshot matched (or was accepted).
    Passed,
    /// Something did not hold; see the failures.
    Failed,
}

/// One thing a test expected that did not hold.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// `file:line:col` of the statement.
    pub location: String,
    /// What was expected and what was found.
    pub message: String,
    /// The explanation, why-not, report excerpt or snapshot diff that accounts for it.
    pub detail: String,
}

/// The result of one test.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The test file.
    pub file: String,
    /// The test's name.
    pub name: String,
    /// The line of `test` in the file.
    pub line: usize,
    /// Passed or failed.
    pub status: Status,
    /// Why it failed; empty when it passed.
    pub failures: Vec<Failure>,
    /// Golden files written for it (with `accept`).
    pub accepted: Vec<String>,
}

/// The result of a whole run.
#[derive(Debug, Default)]
pub struct TestRun {
    /// One outcome per test run, in file order then test order.
    pub outcomes: Vec<Outcome>,
    /// Problems with the test files themselves (syntax, duplicate names, unreadable
    /// paths); their tests did not run.
    pub diagnostics: Vec<Diagnostic>,
    /// The texts the diagnostics point into.
    pub sources: Sources,
    /// Rule coverage, when asked for.
    pub coverage: Option<coverage::Coverage>,
    /// Golden files in a snapshot folder that no test of its file names (never
    /// deleted: reported so that a reviewer can remove them).
    pub orphans: Vec<String>,
}

impl TestRun {
    /// Tests that passed.
    pub fn passed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Passed)
            .count()
    }

    /// Tests that failed.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }

    /// Whether the run succeeded: no failed test and no error in a test file.
    pub fn ok(&self) -> bool {
        self.failed() == 0 && !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A parsed test file, with the rule set its tests read by default.
struct TestFile {
    path: PathBuf,
    display: String,
    module: TestModule,
    /// `rules` paths of the file, or the `.rules` files beside it.
    rules: Vec<PathBuf>,
}

/// The `.test` files named by `paths` (files, or directories searched recursively,
/// skipping hidden directories and `target`), sorted; a path that does not exist is a
/// diagnostic.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut found = BTreeSet::new();
    let mut diagnostics = Vec::new();
    for path in paths {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut found, &mut diagnostics),
            Ok(_) => {
                found.insert(path.clone());
            }
            Err(error) => diagnostics.push(
                Diagnostic::error_unplaced(
                    "E0704",
                    format!("cannot read {}: {error}", path.display()),
                )
                .with_help("name a test file or a directory holding `.test` files"),
            ),
        }
    }
    (found.into_iter().collect(), diagnostics)
}

fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics.push(Diagnostic::error_unplaced(
                "E0704",
                format!("cannot read directory {}: {error}", dir.display()),
            ));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Ok(meta) = std::fs::symlink_metadata(&child) else {
            continue;
        };
        if meta.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&child, found, diagnostics);
            }
        } else if meta.is_file() && name.ends_with(".test") {
            found.insert(child);
        }
    }
}

/// A file-name form of a test name: lower-case letters, digits and `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Where the golden file of a test lives: `snapshots/<file stem>/<slug>.txt` beside the
/// test file.
pub fn golden_path(test_file: &Path, name: &str) -> PathBuf {
    let stem = test_file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("tests");
    test_file
        .parent()
        .unwrap_or(Path::new("."))
        .join("snapshots")
        .join(stem)
        .join(format!("{}.txt", slug(name)))
}

/// `path` read relative to the directory of `base`, with `..` taken lexically so that
/// explanations name `facts/nz-2021/claims.facts`, not `rules/../facts/...`.
fn relative(base: &Path, path: &str) -> PathBuf {
    use std::path::Component;
    let joined = base.parent().unwrap_or(Path::new(".")).join(path);
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Reads and checks the test files: syntax, unique names, rule paths.
fn prepare(paths: &[PathBuf], sources: &mut Sources) -> (Vec<TestFile>, Vec<Diagnostic>) {
    let (found, mut diagnostics) = discover(paths);
    if found.is_empty() && diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::error_unplaced(
                "E0705",
                format!(
                    "no test files found in {}",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_help("tests live in `.test` files, e.g. rules/attribution.test"),
        );
    }
    let mut files = Vec::new();
    for path in found {
        let display = path.display().to_string();
        let id = match crate::io::read_text(&path, sources) {
            Ok(id) => id,
            Err(diagnostic) => {
                diagnostics.push(*diagnostic);
                continue;
            }
        };
        let (module, mut errors) = parse_tests(id, sources.text(id));
        let mut names: BTreeMap<String, Span> = BTreeMap::new();
        for test in &module.tests {
            let key = slug(&test.name);
            if key.is_empty() {
                errors.push(
                    Diagnostic::error(
                        "E0702",
                        "a test needs a name with a letter or digit",
                        test.name_span,
                    )
                    .with_help(
                        "name the test after what it checks, e.g. \"nz-2021 names the MSS\"",
                    ),
                );
            } else if let Some(first) = names.get(&key) {
                errors.push(
                    Diagnostic::error(
                        "E0702",
                        format!("two tests of this file are named \"{}\"", test.name),
                        test.name_span,
                    )
                    .with_secondary(*first, "first named here")
                    .with_note("names are compared as file names: letters and digits, case ignored")
                    .with_help("give each test a name of its own"),
                );
            } else {
                names.insert(key, test.name_span);
            }
        }
        let failed = errors.iter().any(Diagnostic::is_error);
        diagnostics.append(&mut errors);
        if failed {
            continue;
        }
        let rules: Vec<PathBuf> = if module.rules.is_empty() {
            let dir = path.parent().unwrap_or(Path::new("."));
            let mut beside: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|e| e == "rules") && p.is_file())
                        .collect()
                })
                .unwrap_or_default();
            beside.sort();
            beside
        } else {
            module
                .rules
                .iter()
                .flat_map(|r| r.paths.iter().map(|(p, _)| relative(&path, p)))
                .collect()
        };
        files.push(TestFile {
            path,
            display,
            module,
            rules,
        });
    }
    (files, diagnostics)
}

/// Runs every test under `paths`.
pub fn run(paths: &[PathBuf], options: &Options) -> TestRun {
    let mut sources = Sources::default();
    let (files, diagnostics) = prepare(paths, &mut sources);
    let mut jobs = Vec::new();
    for (f, file) in files.iter().enumerate() {
        for (t, test) in file.module.tests.iter().enumerate() {
            let full = format!("{}: {}", file.display, test.name);
            if options
                .filter
                .as_ref()
                .is_none_or(|filter| full.contains(filter.as_str()))
            {
                jobs.push((f, t));
            }
        }
    }
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
    .clamp(1, jobs.len().max(1));
    // Tests run side by side; each evaluates on its share of the cores, so that the
    // two levels of threads do not oversubscribe them (output is the same either way).
    let eval_threads = (crate::eval::available_threads() / threads).max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Ran>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            std::thread::Builder::new()
                // Explanations of long derivation chains recurse deeply.
                .stack_size(256 << 20)
                .spawn_scoped(scope, || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(f, t)) = jobs.get(i) else { break };
                    let file = &files[f];
                    let ran =
                        run_test(file, &file.module.tests[t], &sources, options, eval_threads);
                    results
                        .lock()
                        .expect("no test thread panics holding the lock")[i] = Some(ran);
                })
                .expect("spawning a test thread");
        }
    });
    let results = results.into_inner().expect("no test thread panicked");
    let mut outcomes = Vec::new();
    let mut counts = coverage::Counts::default();
    for ran in results.into_iter().map(|r| r.expect("every job ran")) {
        let mut outcome = ran.outcome;
        if let Some(c) = ran.coverage {
            counts.absorb(c);
        }
        for (path, text) in ran.writes {
            match write_golden(&path, &text) {
                Ok(()) => outcome.accepted.push(path.display().to_string()),
                Err(message) => {
                    outcome.status = Status::Failed;
                    outcome.failures.push(Failure {
                        location: format!("{}:{}", outcome.file, outcome.line),
                        message,
                        detail: String::new(),
                    });
                }
            }
        }
        outcomes.push(outcome);
    }
    let orphans = if options.filter.is_none() {
        orphans(&files)
    } else {
        Vec::new()
    };
    TestRun {
        outcomes,
        diagnostics,
        sources,
        coverage: options.coverage.then(|| counts.finish()),
        orphans,
    }
}

/// Golden files in each test file's snapshot folder that none of its tests names.
fn orphans(files: &[TestFile]) -> Vec<String> {
    let mut out = Vec::new();
    for file in files {
        let named: BTreeSet<PathBuf> = file
            .module
            .tests
            .iter()
            .map(|t| golden_path(&file.path, &t.name))
            .collect();
        let Some(dir) = golden_path(&file.path, "x").parent().map(Path::to_path_buf) else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .filter(|p| !named.contains(p))
            .collect();
        found.sort();
        out.extend(found.iter().map(|p| p.display().to_string()));
    }
    out
}

/// Writes a golden file all at once: a temporary file beside it, then a rename. Refuses
/// a symbolic link and a file that ascribe did not write.
fn write_golden(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{} is a symbolic link; not overwritten (golden files are written in place, never through a link)",
                path.display()
            ));
        }
        let old = std::fs::read_to_string(path).unwrap_or_default();
        if !old.starts_with(snapshot::HEADER) {
            return Err(format!(
                "{} was not written by ascribe (it does not start with `{}`); not overwritten",
                path.display(),
                snapshot::HEADER
            ));
        }
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("snapshot");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// What one test produced.
#[derive(Clone)]
struct Ran {
    outcome: Outcome,
    coverage: Option<coverage::Counts>,
    writes: Vec<(PathBuf, String)>,
}

/// Diagnostics as plain lines, for a failure's detail.
fn plain(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let place = d
            .primary
            .as_ref()
            .map(|l| format!("{}: ", sources.location(l.span)))
            .unwrap_or_default();
        out.push_str(&format!(
            "{place}{}[{}]: {}\n",
            if d.is_error() { "error" } else { "warning" },
            d.code,
            d.message
        ));
        if let Some(help) = &d.help {
            out.push_str(&format!("  help: {help}\n"));
        }
    }
    out
}

fn run_test(
    file: &TestFile,
    test: &TestBlock,
    base: &Sources,
    options: &Options,
    eval_threads: usize,
) -> Ran {
    let mut sources = base.clone();
    let line = base.line_col(test.name_span.source, test.name_span.start).0;
    let mut outcome = Outcome {
        file: file.display.clone(),
        name: test.name.clone(),
        line,
        status: Status::Passed,
        failures: Vec::new(),
        accepted: Vec::new(),
    };
    let mut ran = Ran {
        outcome: outcome.clone(),
        coverage: None,
        writes: Vec::new(),
    };
    let fail = |outcome: &mut Outcome, span: Span, message: String, detail: String| {
        outcome.status = Status::Failed;
        outcome.failures.push(Failure {
            location: base.location(span),
            message,
            detail,
        });
    };
    let mut rules: Vec<PathBuf> = Vec::new();
    let mut facts: Vec<PathBuf> = Vec::new();
    let mut fixture = ast::Module::default();
    for statement in &test.statements {
        match statement {
            Statement::Rules(paths) => {
                rules.extend(paths.paths.iter().map(|(p, _)| relative(&file.path, p)))
            }
            Statement::Facts(paths) => {
                facts.extend(paths.paths.iter().map(|(p, _)| relative(&file.path, p)))
            }
            Statement::Fact(clause) => fixture.items.push(ast::Item::Clause(clause.clone())),
            _ => {}
        }
    }
    if rules.is_empty() {
        rules = file.rules.clone();
    }
    if rules.is_empty() {
        fail(
            &mut outcome,
            test.name_span,
            "no rules to test: no `rules` statement and no .rules file beside the test file"
                .to_string(),
            "add `rules \"../rules/\".` at the top of the test file".to_string(),
        );
        ran.outcome = outcome;
        return ran;
    }
    let paths: Vec<PathBuf> = rules.iter().chain(&facts).cloned().collect();
    let inputs = load_inputs_with(&mut sources, &paths, vec![fixture]);
    let errors: Vec<Diagnostic> = inputs
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    let Some(mut program) = inputs.program.filter(|_| !inputs.unreadable) else {
        fail(
            &mut outcome,
            test.name_span,
            format!(
                "the test's rules and facts have {} error{}; nothing was evaluated",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ),
            plain(&sources, &errors),
        );
        ran.outcome = outcome;
        return ran;
    };
    // Remove the facts of `without` statements.
    let mut remove = vec![false; program.facts().len()];
    for statement in &test.statements {
        let Statement::Without(atom, span) = statement else {
            continue;
        };
        match Pattern::resolve(&program, program.interner(), atom) {
            Err(d) => fail(
                &mut outcome,
                *span,
                d.message.clone(),
                plain(&sources, &[*d]),
            ),
            Ok(pattern) => {
                let mut n = 0;
                for (i, fact) in program.facts().iter().enumerate() {
                    if fact.predicate == pattern.predicate() && pattern.matches_tuple(&fact.tuple) {
                        remove[i] = true;
                        n += 1;
                    }
                }
                if n == 0 {
                    fail(
                        &mut outcome,
                        *span,
                        format!(
                            "`without {}` matches no input fact",
                            sources.snippet(atom.span)
                        ),
                        "check the relation and values against the case's fact files".to_string(),
                    );
                }
            }
        }
    }
    if remove.iter().any(|&r| r) {
        let mut index = 0;
        program.retain_facts(|_| {
            index += 1;
            !remove[index - 1]
        });
    }
    let eval = EvalOptions {
        threads: eval_threads,
        ..EvalOptions::default()
    };
    let model = match evaluate_limited(&program, &eval, &options.limits) {
        Ok(model) => model,
        Err(stopped) => {
            fail(
                &mut outcome,
                test.name_span,
                format!(
                    "evaluation stopped by a limit after {} iterations with {} facts",
                    stopped.iterations, stopped.facts
                ),
                "raise --timeout, --max-facts or --max-memory, or bound the growing rule"
                    .to_string(),
            );
            ran.outcome = outcome;
            return ran;
        }
    };
    for statement in &test.statements {
        match statement {
            Statement::Expect(expectation) => {
                if let Some((message, detail)) =
                    check_expectation(&program, &model, &sources, expectation)
                {
                    fail(&mut outcome, expectation.span, message, detail);
                }
            }
            Statement::Snapshot(relations, span) => {
                let mut selected = Vec::new();
                for name in relations {
                    match program.predicate_id(&name.text) {
                        Some(p) => selected.push(p),
                        None => fail(
                            &mut outcome,
                            name.span,
                            format!("no relation `{}`", name.text),
                            suggest(
                                &name.text,
                                program.predicates().iter().map(|p| p.name.as_str()),
                            )
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_default(),
                        ),
                    }
                }
                let path = golden_path(&file.path, &test.name);
                let body = snapshot::conclusions(&program, &model, &selected);
                let text = format!(
                    "{} of test \"{}\" in {}; rewrite with `ascribe test --accept`\n{body}",
                    snapshot::HEADER,
                    test.name,
                    file.path.file_name().and_then(|n| n.to_str()).unwrap_or("")
                );
                match compare_golden(&program, &model, &path, &text) {
                    Ok(()) => {}
                    Err(_) if options.accept => ran.writes.push((path, text)),
                    Err((message, detail)) => fail(&mut outcome, *span, message, detail),
                }
            }
            _ => {}
        }
    }
    if options.coverage {
        ran.coverage = Some(coverage::count(&program, &model));
    }
    ran.outcome = outcome;
    ran
}

/// Compares the conclusions with the golden file; on a difference, the message and the
/// diff with an explanation or why-not per changed fact.
fn compare_golden(
    program: &Program,
    model: &Model,
    path: &Path,
    text: &str,
) -> Result<(), (String, String)> {
    let mut sources = Sources::default();
    let now_id = sources.add("<now>", text.to_string());
    let (now, _) = snapshot::parse(now_id, text);
    let old = match std::fs::read_to_string(path) {
        Ok(old) => old,
        Err(_) => {
            return Err((
                format!("no golden file {} yet", path.display()),
                format!(
                "{} conclusions; run `ascribe test --accept` to write them, then review the file",
                now.len()
            ),
            ))
        }
    };
    if old == text {
        return Ok(());
    }
    let old_id = sources.add(path.display().to_string(), old.clone());
    let (before, errors) = snapshot::parse(old_id, &old);
    if !errors.is_empty() {
        return Err((
            format!("golden file {} is malformed", path.display()),
            plain(&sources, &errors),
        ));
    }
    let changes = snapshot::diff(&before, &now);
    if changes.is_empty() {
        // Only comments or order differ.
        return Err((
            format!("golden file {} differs only in layout", path.display()),
            "run `ascribe test --accept` to rewrite it".to_string(),
        ));
    }
    let (added, removed, changed) =
        changes
            .iter()
            .fold((0, 0, 0), |(a, r, c), change| match change {
                snapshot::Change::Added { .. } => (a + 1, r, c),
                snapshot::Change::Removed { .. } => (a, r + 1, c),
                snapshot::Change::Changed { .. } => (a, r, c + 1),
            });
    let mut detail = String::new();
    for (i, change) in changes.iter().enumerate() {
        detail.push_str(&change.line());
        detail.push('\n');
        if i < EXPLAINED {
            detail.push_str(&indent(&account_for(program, model, change.fact()), "    "));
        }
    }
    if changes.len() > EXPLAINED {
        detail.push_str(&format!(
            "(the first {EXPLAINED} changes are explained; `ascribe explain` explains any other)\n"
        ));
    }
    detail.push_str("accept the new conclusions with `ascribe test --accept`\n");
    Err((
        format!(
            "conclusions differ from {}: {added} added, {removed} removed, {changed} changed",
            path.display()
        ),
        detail,
    ))
}

/// How many changes of a snapshot diff get their explanation: enough to review a rule
/// change, few enough to read.
const EXPLAINED: usize = 10;

/// Why a fact holds now (its explanation) or does not (why-not).
pub fn account_for(program: &Program, model: &Model, fact: &str) -> String {
    let Some(pattern) = Pattern::parse_unchecked(program, model, fact) else {
        return format!("{fact}: the relation is no longer in the rule set\n");
    };
    match pattern.ground_fact(model) {
        Some(found) => explain_render::text(&explain(program, model, found)),
        None => match pattern.values() {
            Some(values) => why_not(program, model, pattern.predicate(), &values).text(),
            None => String::new(),
        },
    }
}

/// Indents every line of `text`.
pub(crate) fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

fn icd_rank(term: &str) -> Option<usize> {
    let term = term.replace('_', " ").to_ascii_lowercase();
    snapshot::TERMS.iter().position(|t| *t == term)
}

fn compare<T: PartialOrd>(op: CmpOp, left: T, right: T) -> bool {
    match op {
        CmpOp::Eq => left == right,
        CmpOp::Ne => left != right,
        CmpOp::Lt => left < right,
        CmpOp::Le => left <= right,
        CmpOp::Gt => left > right,
        CmpOp::Ge => left >= right,
    }
}

/// Whether a fact meets a bound; `Err` for a bound that cannot be checked.
fn meets(
    program: &Program,
    model: &Model,
    fact: FactId,
    bound: &Bound,
) -> Result<bool, (String, String)> {
    let c = model.confidence(fact);
    match bound {
        Bound::Confidence(op, Level::Number(x), _) => Ok(if *op == CmpOp::Eq {
            (c - x).abs() < 0.0005
        } else if *op == CmpOp::Ne {
            (c - x).abs() >= 0.0005
        } else {
            compare(*op, c, *x)
        }),
        Bound::Confidence(op, Level::Term(term), _) => match icd_rank(term) {
            Some(rank) => Ok(compare(
                *op,
                icd_rank(likelihood(c)).expect("likelihood gives an ICD 203 term"),
                rank,
            )),
            None => {
                let names: Vec<String> = snapshot::TERMS
                    .iter()
                    .map(|t| t.replace(' ', "_"))
                    .collect();
                let hint = suggest(term, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                Err((
                    format!("`{term}` is not an ICD 203 term"),
                    format!("{hint}the terms: {}", names.join(", ")),
                ))
            }
        },
        Bound::RestsOn(rests_on, _) => {
            let explanation = explain(program, model, fact);
            let mut leaves = Vec::new();
            collect_leaves(&explanation.root, &mut leaves);
            Ok(match rests_on {
                RestsOn::Source(text) => leaves.iter().any(|leaf| match &leaf.via {
                    Via::Input { source, .. } => source.contains(text.as_str()),
                    _ => false,
                }),
                RestsOn::Fact(atom) => {
                    let pattern = Pattern::resolve(program, model.interner(), atom)
                        .map_err(|d| (d.message.clone(), d.help.clone().unwrap_or_default()))?;
                    let wanted: BTreeSet<String> = pattern
                        .matches(model)
                        .into_iter()
                        .map(|f| fact_text(program, model.interner(), f.predicate, model.tuple(f)))
                        .collect();
                    leaves.iter().any(|leaf| wanted.contains(&leaf.fact))
                }
            })
        }
    }
}

/// The input facts of an explanation (of the counted lines of combined facts).
fn collect_leaves<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    match &node.via {
        Via::Input { .. } => out.push(node),
        Via::Rule { premises, .. } => premises.iter().for_each(|p| collect_leaves(p, out)),
        Via::Combined { lines, .. } => lines
            .iter()
            .filter(|l| l.counted)
            .for_each(|l| collect_leaves(&l.node, out)),
        Via::ShownAbove | Via::Unrecorded | Via::Deeper { .. } => {}
    }
}

fn bound_text(sources: &Sources, bounds: &[Bound]) -> String {
    bounds
        .iter()
        .map(|b| match b {
            Bound::Confidence(_, _, span) | Bound::RestsOn(_, span) => sources.snippet(*span),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_confidence(program: &Program, model: &Model, fact: FactId) -> String {
    let c = model.confidence(fact);
    format!(
        "{}  [{} {}]",
        fact_text(program, model.interner(), fact.predicate, model.tuple(fact)),
        explain_render::confidence(c),
        likelihood(c)
    )
}

/// `None` when the expectation holds, else what failed and what accounts for it.
fn check_expectation(
    program: &Program,
    model: &Model,
    sources: &Sources,
    expectation: &Expectation,
) -> Option<(String, String)> {
    let written = sources.snippet(expectation.atom.span);
    let pattern = match Pattern::resolve(program, model.interner(), &expectation.atom) {
        Ok(p) => p,
        Err(d) => return Some((d.message.clone(), d.help.clone().unwrap_or_default())),
    };
    let matches = pattern.matches(model);
    let mut meeting = Vec::new();
    for &fact in &matches {
        let mut all = true;
        for bound in &expectation.bounds {
            match meets(program, model, fact, bound) {
                Ok(true) => {}
                Ok(false) => {
                    all = false;
                    break;
                }
                Err(problem) => return Some(problem),
            }
        }
        if all {
            meeting.push(fact);
        }
    }
    let bounds = bound_text(sources, &expectation.bounds);
    let missing = || -> String {
        match pattern.values() {
            Some(values) => why_not(program, model, pattern.predicate(), &values).text(),
            None => {
                let all = model.sorted_facts(pattern.predicate());
                let mut text = format!(
                    "{} holds for {} fact{}",
                    program.predicate(pattern.predicate()).name,
                    all.len(),
                    if all.len() == 1 { "" } else { "s" }
                );
                text.push_str(if all.is_empty() { "\n" } else { ":\n" });
                for &fact in all.iter().take(10) {
                    text.push_str(&format!("  {}\n", with_confidence(program, model, fact)));
                }
                text
            }
        }
    };
    match expectation.kind {
        ExpectKind::Holds if meeting.is_empty() => {
            if let Some(&first) = matches.first() {
                Some((
                    format!(
                        "expected `{written}` with {bounds}, but it holds as {}",
                        with_confidence(program, model, first)
                    ),
                    explain_render::text(&explain(program, model, first)),
                ))
            } else {
                Some((
                    format!("expected `{written}` to hold, but it was not derived"),
                    missing(),
                ))
            }
        }
        ExpectKind::Holds => None,
        ExpectKind::Not => meeting.first().map(|&fact| {
            let what = if bounds.is_empty() {
                String::new()
            } else {
                format!(" with {bounds}")
            };
            (
                format!(
                    "expected no `{written}`{what}, but {} holds",
                    with_confidence(program, model, fact)
                ),
                explain_render::text(&explain(program, model, fact)),
            )
        }),
        ExpectKind::Top => check_top(
            program, model, &pattern, written, &meeting, &matches, missing,
        ),
    }
}

fn check_top(
    program: &Program,
    model: &Model,
    pattern: &Pattern,
    written: &str,
    meeting: &[FactId],
    matches: &[FactId],
    missing: impl Fn() -> String,
) -> Option<(String, String)> {
    let Some(&first) = matches.first() else {
        return Some((
            format!("expected `{written}` to rank first, but it was not derived"),
            missing(),
        ));
    };
    let incident = model.tuple(first)[0];
    let options = crate::report::ReportOptions {
        threshold: 0.5,
        hypotheses: vec![pattern.predicate()],
        subjects: None,
        only: vec![incident],
    };
    let report = match crate::report::report(program, model, &options) {
        Ok(report) => report,
        Err(error) => return Some((format!("cannot rank `{written}`: {error}"), String::new())),
    };
    let relation = &program.predicate(pattern.predicate()).name;
    let level = report
        .incidents
        .iter()
        .flat_map(|i| &i.levels)
        .find(|l| &l.relation == relation);
    let Some(level) = level else {
        return Some((
            format!("the report has no candidates for `{written}`"),
            String::new(),
        ));
    };
    let ranking: String = level
        .candidates
        .iter()
        .map(|c| {
            format!(
                "{}  {}  {} {}  {:?}\n",
                c.id,
                c.fact,
                explain_render::confidence(c.confidence),
                c.likelihood,
                c.status
            )
        })
        .collect();
    let wanted: BTreeSet<String> = meeting
        .iter()
        .map(|&f| fact_text(program, model.interner(), f.predicate, model.tuple(f)))
        .collect();
    match level.candidates.first() {
        Some(top)
            if wanted.contains(&top.fact) && top.status == crate::report::Status::Concluded =>
        {
            None
        }
        Some(top) if wanted.contains(&top.fact) => Some((
            format!("`{written}` ranks first, but below the report's threshold of 0.5"),
            ranking,
        )),
        _ => Some((
            format!("expected `{written}` to rank first among the candidates of its incident"),
            ranking,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(
            slug("nz-2021: the PRC, through the MSS!"),
            "nz-2021-the-prc-through-the-mss"
        );
        assert_eq!(slug("  "), "");
        assert_eq!(
            golden_path(Path::new("rules/attribution.test"), "NZ 2021"),
            Path::new("rules/snapshots/attribution/nz-2021.txt")
        );
    }

    #[test]
    fn paths_are_read_beside_the_test_file() {
        assert_eq!(
            relative(Path::new("rules/attribution.test"), "../facts/nz-2021"),
            Path::new("facts/nz-2021")
        );
        assert_eq!(relative(Path::new("a.test"), "../x"), Path::new("../x"));
        assert_eq!(relative(Path::new("rules/a.test"), "."), Path::new("rules"));
    }

    #[test]
    fn terms_rank_as_written_with_underscores_or_spaces() {
        assert_eq!(icd_rank("very_likely"), Some(5));
        assert_eq!(icd_rank("Roughly even chance"), Some(3));
        assert_eq!(icd_rank("sure"), None);
    }
}
