//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Rule-based attribution reasoning: derive who did it, with confidence and explanations.
#[derive(Debug, Parser)]
#[command(name = "ascribe", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Show no progress and no summary line on standard error (diagnostics still are).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// Colour choice for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when standard error is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Derive every conclusion and print it (or write one .facts file per relation).
    Run(RunArgs),
    /// Show why a fact holds, as a derivation tree down to sourced evidence.
    Explain(ExplainArgs),
    /// Check rule and fact files and report problems, without evaluating.
    Check(CheckArgs),
    /// Print the derived facts matching a pattern such as 'conducted_by(I, apt40)'.
    Query(QueryArgs),
    /// Rank the competing hypotheses about each incident, with the evidence for and
    /// against each (an ACH matrix).
    Report(ReportArgs),
    /// Run the tests in .test files: expectations, fixtures, golden files of
    /// conclusions, rule coverage.
    Test(super::test::TestArgs),
    /// Show the conclusions that change between two versions of a rule set over the
    /// same facts, each with its explanation before and after.
    Diff(super::test::DiffArgs),
    /// Rewrite rule and fact files in canonical layout (`--check`: show a diff instead).
    Fmt(super::fmt::FmtArgs),
    /// Keep the conclusions up to date as facts are added and retracted on standard
    /// input (`+ fact.`, `- fact.`, a blank line after each batch), printing what
    /// changed; on differential dataflow.
    #[cfg(feature = "dataflow")]
    Watch(WatchArgs),
}

/// `ascribe watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    /// Inputs.
    pub input: InputArgs,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "W", value_parser = parse_workers)]
    pub workers: Option<usize>,
    /// Stop, with an error, when the relations hold more than this many facts.
    #[arg(long, value_name = "N")]
    pub max_facts: Option<usize>,
    /// Print changes to only these relations (repeatable; default: the derived ones).
    #[arg(long = "relation", short = 'r', value_name = "NAME")]
    pub relations: Vec<String>,
    /// Print changes to input relations too.
    #[arg(long)]
    pub all: bool,
    /// Print the conclusions of the input as loaded first, as batch 0.
    #[arg(long)]
    pub initial: bool,
    /// Under each conclusion that appeared or changed, its explanation tree.
    #[arg(long)]
    pub explain: bool,
    /// Which engine keeps the conclusions up to date.
    #[arg(long, value_enum, default_value_t = WatchEngine::Seminaive)]
    pub engine: WatchEngine,
}

/// The engine of `ascribe watch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum WatchEngine {
    /// The default engine, evaluating the whole input again after each batch (faster
    /// than updating the dataflow on every workload measured so far).
    #[default]
    Seminaive,
    /// Differential dataflow, updated from each batch alone.
    Dataflow,
}

/// Rule files and fact files.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Rule files (.rules), fact files (.facts) or directories of them.
    #[arg(value_name = "RULES")]
    pub rules: Vec<PathBuf>,
    /// Fact files or directories: .facts, RELATION.tsv, RELATION.csv, JSON facts,
    /// STIX 2.1 bundles (.json).
    #[arg(long = "facts", short = 'f', value_name = "PATH")]
    pub facts: Vec<PathBuf>,
}

/// `ascribe check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    /// Inputs.
    pub input: InputArgs,
    /// Do not report this lint, by code or name (repeatable), e.g. `--allow W0603`.
    #[arg(long = "allow", value_name = "LINT")]
    pub allow: Vec<String>,
    /// `--deny warnings`: exit with 1 when any warning is reported (for CI).
    #[arg(long = "deny", value_enum, value_name = "LEVEL")]
    pub deny: Option<Deny>,
}

/// What `--deny` turns into a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    /// Every warning that remains after `@allow` and `--allow`.
    Warnings,
}

/// Evaluation switches shared by the commands that evaluate.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Do not record derivations (faster; explanations are then unavailable).
    #[arg(long)]
    pub no_explain: bool,
    #[command(flatten)]
    /// Bounds on evaluation.
    pub limits: LimitArgs,
    /// Reason only with input facts that hold on this date (YYYY-MM-DD): facts
    /// `@since` a later day, or `@until` an earlier one, are set aside.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<i32>,
    /// Evaluate on this many threads (default: one per core; 1 evaluates on this
    /// thread alone). The output is the same for every number.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
}

/// A `YYYY-MM-DD` date as days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<i32, String> {
    match crate::value::Value::parse_date(text) {
        Some(crate::value::Value::Date(day)) => Ok(day),
        _ => Err(format!(
            "`{text}` is not a date: write YYYY-MM-DD, e.g. 2022-01-01"
        )),
    }
}

/// Bounds for programs that do not terminate on their own. Reaching one is an error:
/// no partial result is printed.
#[derive(Debug, Default, Args)]
pub struct LimitArgs {
    /// Stop when the model holds more than this many facts.
    #[arg(long, value_name = "N")]
    pub max_facts: Option<usize>,
    /// Stop when evaluation has run this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,
    /// Stop when facts, indexes, derivations and values take more than this many MiB.
    #[arg(long, value_name = "MIB")]
    pub max_memory: Option<usize>,
}

/// A number of threads: a whole number from 1 up.
pub fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of threads: give a whole number from 1 up, e.g. --threads 2"
        )),
    }
}

/// A positive number of seconds.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => {
            std::time::Duration::try_from_secs_f64(x).map_err(|_| {
                format!(
                    "`{text}` seconds is too long a timeout: give at most 10^19 seconds, or none"
                )
            })
        }
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

/// Output formats of `run` and `query`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FactFormat {
    /// One fact per line with its confidence and ICD 203 term.
    Text,
    /// A JSON object of relations.
    Json,
    /// Tab-separated values, relation name first.
    Tsv,
    /// `run` only: one STIX 2.1 bundle of the conclusions (incidents, candidates,
    /// `attributed-to` relationships with confidences, explanations as notes).
    Stix,
}

/// `ascribe run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    /// Inputs.
    pub input: InputArgs,
    #[command(flatten)]
    /// Evaluation switches.
    pub eval: EvalArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FactFormat::Text)]
    pub format: FactFormat,
    /// Write one RELATION.facts per derived relation (each fact with its confidence
    /// and sources, loadable with --facts) into this directory instead of printing;
    /// with --format stix, the bundle as conclusions.stix.json.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Print only these relations (repeatable).
    #[arg(long = "relation", short = 'r', value_name = "NAME")]
    pub relations: Vec<String>,
    /// Print input relations too, not only derived ones.
    #[arg(long)]
    pub all: bool,
    /// Print relations that have no facts too (text output).
    #[arg(long)]
    pub empty: bool,
    /// Print evaluation statistics to standard error: counts, timings, and the
    /// costliest strata and rules.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    /// Which engine evaluates, and where.
    pub engine: EngineArgs,
}

/// The engine of `ascribe run`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The semi-naive fixpoint, with derivations recorded for explanations.
    #[default]
    Seminaive,
    /// Differential dataflow on timely workers, in this process or across several
    /// (`--hosts`); derives the same facts and confidences, records no derivations.
    Dataflow,
}

/// `--engine` and where its workers run.
#[derive(Debug, Default, Args)]
pub struct EngineArgs {
    /// The evaluation engine.
    #[arg(long, value_enum, default_value_t = Engine::Seminaive)]
    pub engine: Engine,
    /// With `--engine dataflow`: worker threads in this process (default: --threads,
    /// else one per core).
    #[arg(long, value_name = "W", value_parser = parse_workers)]
    pub workers: Option<usize>,
    /// With `--engine dataflow`: a file of `host:port` lines, one per process, all
    /// started with the same arguments but `--process`.
    #[arg(long, value_name = "FILE", requires = "process")]
    pub hosts: Option<PathBuf>,
    /// With `--hosts`: this process's line in the hosts file, from 0.
    #[arg(long, value_name = "I", requires = "hosts")]
    pub process: Option<usize>,
}

/// A positive number of dataflow workers.
fn parse_workers(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a number of workers: give a whole number from 1 up, e.g. --workers 2"
        )),
    }
}

/// Explanation formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// An indented tree.
    Text,
    /// JSON (schema in the README).
    Json,
    /// Graphviz DOT.
    Dot,
    /// One paragraph: the `@explain` sentences from the conclusion down, each with the
    /// sources of its evidence.
    Prose,
    /// One self-contained HTML page: the tree folds open and closed, each input fact
    /// with its source, grade and dates, and the defeated derivations.
    Html,
}

/// `ascribe explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule files or directories, then the fact to explain, e.g.
    /// 'state_sponsored(nz_pco_2021, prc)'.
    #[arg(value_name = "RULES... FACT", required = true, num_args = 1..)]
    pub positional: Vec<String>,
    /// Fact files or directories.
    #[arg(long = "facts", short = 'f', value_name = "PATH")]
    pub facts: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
    /// Instead of the tree, list the input facts whose removal makes the fact fail (or
    /// fall below --threshold).
    #[arg(long)]
    pub critical: bool,
    /// Instead of the tree of the best derivation, list every derivation of the fact
    /// (input facts and rule instances) with what each alone gives.
    #[arg(long, conflicts_with = "critical")]
    pub all: bool,
    #[command(flatten)]
    /// Bounds on evaluation.
    pub limits: LimitArgs,
    /// Levels of the derivation tree to expand below the fact; deeper derived facts are
    /// marked, not expanded.
    #[arg(long, value_name = "LEVELS", default_value_t = crate::explain::DEFAULT_DEPTH, value_parser = parse_depth)]
    pub depth: usize,
    /// With --critical: a confidence below which the conclusion counts as lost.
    #[arg(long, value_name = "CONFIDENCE", default_value_t = 0.0, value_parser = parse_confidence)]
    pub threshold: f64,
    /// Reason only with input facts that hold on this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<i32>,
    /// Evaluate on this many threads (default: one per core; 1 evaluates on this
    /// thread alone). The output is the same for every number.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
}

/// A depth of explanation: 1 to [`crate::explain::MAX_DEPTH`] levels.
fn parse_depth(text: &str) -> Result<usize, String> {
    let max = crate::explain::MAX_DEPTH;
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a depth: give a number of levels from 1 to {max}"
        )),
    }
}

/// A confidence argument: a number in [0, 1].
fn parse_confidence(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{text}` is not a number between 0 and 1")),
    }
}

/// A percentage in [0, 100].
pub fn parse_confidence_percent(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=100.0).contains(&x) => Ok(x),
        _ => Err(format!("`{text}` is not a percentage between 0 and 100")),
    }
}

/// `ascribe query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Rule files or directories, then the pattern, e.g. 'conducted_by(I, apt40)'.
    #[arg(value_name = "RULES... PATTERN", required = true, num_args = 1..)]
    pub positional: Vec<String>,
    /// Fact files or directories.
    #[arg(long = "facts", short = 'f', value_name = "PATH")]
    pub facts: Vec<PathBuf>,
    #[command(flatten)]
    /// Evaluation switches.
    pub eval: EvalArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FactFormat::Text)]
    pub format: FactFormat,
}

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Plain text.
    Text,
    /// Markdown tables.
    Markdown,
    /// JSON (schema in the README).
    Json,
    /// One self-contained HTML page: the candidates, the ACH matrix as a table, and
    /// each derived candidate's explanation, linked from its row.
    Html,
    /// One STIX 2.1 bundle: incidents, candidates, `attributed-to` relationships with
    /// confidences, explanations as notes.
    Stix,
}

/// `ascribe report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    /// Inputs.
    pub input: InputArgs,
    /// Candidates at or above this confidence are concluded; when none is, the
    /// hypothesis is reported as insufficient evidence.
    #[arg(long, value_name = "CONFIDENCE", default_value_t = crate::program::lint::REPORT_THRESHOLD, value_parser = parse_confidence)]
    pub threshold: f64,
    /// Hypothesis relations to report (repeatable); default: those declared
    /// `@hypothesis`.
    #[arg(long = "hypothesis", value_name = "RELATION")]
    pub hypotheses: Vec<String>,
    /// The relation whose first column lists the incidents (default: `incident`, if the
    /// rules have it).
    #[arg(long, value_name = "RELATION")]
    pub subjects: Option<String>,
    /// Report only on this incident (repeatable).
    #[arg(long = "incident", value_name = "INCIDENT")]
    pub incidents: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// With --format stix: write the bundle as conclusions.stix.json into this
    /// directory (all or nothing) instead of printing it.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    /// Bounds on evaluation.
    pub limits: LimitArgs,
    /// Reason only with input facts that hold on this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<i32>,
    /// Evaluate on this many threads (default: one per core; 1 evaluates on this
    /// thread alone). The output is the same for every number.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
}
