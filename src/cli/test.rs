//! `ascribe test` and `ascribe diff`: the test runner and the conclusions that change
//! between two versions of a rule set, as commands.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::args::{parse_confidence_percent, LimitArgs};
use super::{render, Out, Session, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::diagnostic::Sources;
use crate::eval::Limits;
use crate::test::{self as runner, snapshot};

/// Test report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// One line per test, then each failure with its explanation.
    Text,
    /// One JSON object (schema in docs/testing.md).
    Json,
    /// JUnit XML, for CI systems.
    Junit,
}

/// `ascribe test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files (.test) or directories searched for them.
    #[arg(value_name = "PATHS", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Run only the tests whose `file: name` contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
    /// Rewrite the golden files of snapshots that differ or are missing (review the
    /// diff before committing).
    #[arg(long, alias = "learn")]
    pub accept: bool,
    /// Report how many instances of each rule the tests produced, and the rules none
    /// exercises.
    #[arg(long)]
    pub coverage: bool,
    /// Fail (exit 1) when fewer than this percentage of rules are exercised; implies
    /// --coverage.
    #[arg(long, value_name = "PERCENT", value_parser = parse_confidence_percent)]
    pub min_coverage: Option<f64>,
    /// Tests run at once (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    /// Bounds on each test's evaluation.
    pub limits: LimitArgs,
}

/// `ascribe diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The rule set before the change: a rule file or a directory of them.
    #[arg(value_name = "OLD_RULES")]
    pub old: PathBuf,
    /// The rule set after the change.
    #[arg(value_name = "NEW_RULES")]
    pub new: PathBuf,
    /// Fact files or directories, read with both rule sets.
    #[arg(long = "facts", short = 'f', value_name = "PATH")]
    pub facts: Vec<PathBuf>,
    /// Compare only these relations (repeatable); default: every derived relation.
    #[arg(long = "relation", short = 'r', value_name = "NAME")]
    pub relations: Vec<String>,
    #[command(flatten)]
    /// Bounds on evaluation.
    pub limits: LimitArgs,
}

fn limits(args: &LimitArgs) -> Limits {
    Limits {
        max_facts: args.max_facts,
        timeout: args.timeout,
        max_memory: args.max_memory.map(|mib| mib.saturating_mul(1024 * 1024)),
    }
}

impl Session {
    pub(super) fn test(&mut self, args: &TestArgs, out: &mut Out) -> io::Result<i32> {
        let options = runner::Options {
            filter: args.filter.clone(),
            accept: args.accept,
            coverage: args.coverage || args.min_coverage.is_some(),
            threads: args.threads,
            limits: limits(&args.limits),
        };
        let run = runner::run(&args.paths, &options);
        if !run.diagnostics.is_empty() {
            let text = render::diagnostics(&run.sources, &run.diagnostics, self.color);
            let _ = io::stderr().write_all(text.as_bytes());
        }
        let text = match args.format {
            TestFormat::Text => runner::report::text(&run),
            TestFormat::Json => runner::report::json(&run),
            TestFormat::Junit => runner::report::junit(&run),
        };
        out.write(&text)?;
        let below = match (&run.coverage, args.min_coverage) {
            (Some(coverage), Some(min)) if coverage.percent < min => {
                eprintln!(
                    "error: rule coverage {:.1}% is below --min-coverage {min}",
                    coverage.percent
                );
                true
            }
            _ => false,
        };
        if run.outcomes.is_empty()
            && run
                .diagnostics
                .iter()
                .any(|d| d.code == "E0704" || d.code == "E0705")
        {
            return Ok(EXIT_USAGE);
        }
        Ok(if run.ok() && !below {
            EXIT_OK
        } else {
            EXIT_INPUT
        })
    }

    pub(super) fn diff(&mut self, args: &DiffArgs, out: &mut Out) -> io::Result<i32> {
        let old = match self.load(std::slice::from_ref(&args.old), &args.facts) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let new = match self.load(std::slice::from_ref(&args.new), &args.facts) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let old_model = match self.evaluate(&old, false, &args.limits, None) {
            Ok(m) => m,
            Err(code) => return Ok(code),
        };
        let new_model = match self.evaluate(&new, false, &args.limits, None) {
            Ok(m) => m,
            Err(code) => return Ok(code),
        };
        let select = |program: &crate::program::Program| -> Result<Vec<_>, String> {
            args.relations
                .iter()
                .filter_map(|name| match program.predicate_id(name) {
                    Some(p) => Some(Ok(p)),
                    None if old.predicate_id(name).is_some()
                        || new.predicate_id(name).is_some() =>
                    {
                        None
                    }
                    None => Some(Err(name.clone())),
                })
                .collect()
        };
        let (old_relations, new_relations) = match (select(&old), select(&new)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(name), _) | (_, Err(name)) => {
                eprintln!("error: --relation {name}: neither rule set has this relation");
                return Ok(EXIT_USAGE);
            }
        };
        // A relation named but absent from one side compares against nothing there.
        let restrict = !args.relations.is_empty();
        let before_text = if restrict && old_relations.is_empty() {
            String::new()
        } else {
            snapshot::conclusions(&old, &old_model, &old_relations)
        };
        let now_text = if restrict && new_relations.is_empty() {
            String::new()
        } else {
            snapshot::conclusions(&new, &new_model, &new_relations)
        };
        let mut sources = Sources::default();
        let (before, _) = snapshot::parse(sources.add("old", before_text.clone()), &before_text);
        let (now, _) = snapshot::parse(sources.add("new", now_text.clone()), &now_text);
        let changes = snapshot::diff(&before, &now);
        let mut text = format!(
            "{} conclusion{} change{} from {} to {}\n",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
            if changes.len() == 1 { "s" } else { "" },
            args.old.display(),
            args.new.display()
        );
        for change in &changes {
            text.push('\n');
            text.push_str(&change.line());
            text.push('\n');
            match change {
                snapshot::Change::Removed { fact, .. } => {
                    text.push_str("    before:\n");
                    text.push_str(&runner::indent(
                        &runner::account_for(&old, &old_model, fact),
                        "      ",
                    ));
                    text.push_str("    now:\n");
                    text.push_str(&runner::indent(
                        &runner::account_for(&new, &new_model, fact),
                        "      ",
                    ));
                }
                snapshot::Change::Changed { fact, .. } => {
                    text.push_str("    before:\n");
                    text.push_str(&runner::indent(
                        &runner::account_for(&old, &old_model, fact),
                        "      ",
                    ));
                    text.push_str("    now:\n");
                    text.push_str(&runner::indent(
                        &runner::account_for(&new, &new_model, fact),
                        "      ",
                    ));
                }
                snapshot::Change::Added { fact, .. } => {
                    text.push_str("    now:\n");
                    text.push_str(&runner::indent(
                        &runner::account_for(&new, &new_model, fact),
                        "      ",
                    ));
                }
            }
        }
        out.write(&text)?;
        Ok(if changes.is_empty() {
            EXIT_OK
        } else {
            EXIT_INPUT
        })
    }
}
