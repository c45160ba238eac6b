//! The command-line interface: reads inputs, runs the library, prints results and
//! diagnostics, and chooses the exit code. The only module that prints.

pub mod args;
#[cfg(feature = "dataflow")]
mod dataflow;
mod direct;
pub mod fmt;
pub mod output;
pub mod output_dir;
mod progress;
pub mod render;
mod stats;
mod stix;
mod test;
#[cfg(feature = "dataflow")]
mod watch;

pub use crate::load::{load_inputs, Inputs};

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use crate::diagnostic::{Diagnostic, Sources};
use crate::eval::{evaluate_observed, EvalOptions, Limit, LimitExceeded, Limits, Model};
use crate::explain::{critical, render as explain_render, why_not};
use crate::program::lint::Allowed;
use crate::program::Program;
use crate::query::Pattern;

use args::{Cli, Color, Command, ExplainFormat};

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the rules or facts had errors, or the asked-for fact does not hold.
pub const EXIT_INPUT: i32 = 1;
/// Exit code: usage error or a file that cannot be read or written.
pub const EXIT_USAGE: i32 = 2;

/// Where output goes; a closed pipe is not an error.
struct Out {
    stdout: io::StdoutLock<'static>,
}

impl Out {
    fn write(&mut self, text: &str) -> io::Result<()> {
        self.stdout.write_all(text.as_bytes())
    }
}

/// Runs the command line given in `args` and returns the exit code.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
            let _ = error.print();
            return code;
        }
    };
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let mut session = Session {
        sources: Sources::default(),
        color,
        allowed: Allowed::default(),
        allows: crate::program::lint::AllowScopes::default(),
        warnings: 0,
        quiet: cli.quiet,
        meter: progress::Meter::stderr(cli.quiet),
        threads: crate::eval::available_threads(),
    };
    let mut out = Out {
        stdout: io::stdout().lock(),
    };
    let result = match cli.command {
        Command::Run(args) => session.run(&args, &mut out),
        Command::Check(args) => session.check(&args, &mut out),
        Command::Explain(args) => session.explain(&args, &mut out),
        Command::Query(args) => session.query(&args, &mut out),
        Command::Report(args) => session.report_command(&args, &mut out),
        Command::Test(args) => session.test(&args, &mut out),
        Command::Diff(args) => session.diff(&args, &mut out),
        Command::Fmt(args) => session.fmt(&args, &mut out),
        #[cfg(feature = "dataflow")]
        Command::Watch(args) => session.watch(&args, &mut out),
    };
    match result {
        Ok(code) => {
            let _ = out.stdout.flush();
            code
        }
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(error) => {
            eprintln!("error: cannot write output: {error}");
            EXIT_USAGE
        }
    }
}

struct Session {
    sources: Sources,
    color: bool,
    /// Lints not to report (`check --allow`).
    allowed: Allowed,
    /// The `@allow` annotations of the files loaded last.
    allows: crate::program::lint::AllowScopes,
    /// Warnings reported so far.
    warnings: usize,
    /// `--quiet`: no progress, no summary.
    quiet: bool,
    /// Progress on standard error while loading and evaluating.
    meter: progress::Meter,
    /// Threads to read fact files on (`--threads` where the command has it).
    threads: usize,
}

/// A program ready to evaluate, or the exit code to stop with.
type Loaded = Result<Program, i32>;

impl Session {
    fn report(&self, diagnostics: &[Diagnostic]) {
        if diagnostics.is_empty() {
            return;
        }
        let text = render::diagnostics(&self.sources, diagnostics, self.color);
        let _ = io::stderr().write_all(text.as_bytes());
    }

    /// Loads and checks the inputs, reports diagnostics, and returns the program or the
    /// exit code to stop with.
    fn load(&mut self, rules: &[PathBuf], facts: &[PathBuf]) -> Loaded {
        self.load_as_of(rules, facts, None)
    }

    /// [`Session::load`], then keeps only the input facts that hold on `as_of`, saying
    /// on standard error how many were set aside.
    fn load_as_of(&mut self, rules: &[PathBuf], facts: &[PathBuf], as_of: Option<i32>) -> Loaded {
        let paths: Vec<PathBuf> = rules.iter().chain(facts).cloned().collect();
        if paths.is_empty() {
            eprintln!("error: no rule or fact files given\n\nFor example: ascribe run rules/ --facts facts/nz-2021/");
            return Err(EXIT_USAGE);
        }
        let mut inputs = crate::load::load_inputs_observed(
            &mut self.sources,
            &paths,
            Vec::new(),
            &self.meter,
            self.threads,
        );
        self.meter.clear();
        self.allows = std::mem::take(&mut inputs.allows);
        self.allowed.apply(&mut inputs.diagnostics);
        self.warnings += inputs.diagnostics.iter().filter(|d| !d.is_error()).count();
        self.report(&inputs.diagnostics);
        if inputs.unreadable {
            return Err(EXIT_USAGE);
        }
        match inputs.program {
            Some(program) => match as_of {
                None => Ok(program),
                Some(day) => {
                    let (program, set_aside) = program.as_of(day);
                    let date = crate::value::Value::Date(day);
                    eprintln!(
                        "note: as of {date}: {} input fact{} set aside ({} not yet holding, {} no longer holding), {} kept",
                        set_aside.not_yet + set_aside.expired,
                        if set_aside.not_yet + set_aside.expired == 1 { "" } else { "s" },
                        set_aside.not_yet,
                        set_aside.expired,
                        program.facts().len()
                    );
                    Ok(program)
                }
            },
            None => {
                let errors = inputs.diagnostics.iter().filter(|d| d.is_error()).count();
                eprintln!(
                    "error: {errors} error{} in the input; nothing was evaluated",
                    if errors == 1 { "" } else { "s" }
                );
                Err(EXIT_INPUT)
            }
        }
    }

    /// Runs `work` (explaining, reporting) under the command's `--timeout` and
    /// `--max-memory`, counted from `started` and on top of what `model` holds; a limit
    /// reached is an error (exit 1) and what `work` built is dropped unseen.
    fn explaining<T>(
        &self,
        limits: &args::LimitArgs,
        started: Instant,
        model: &Model,
        work: impl FnOnce() -> T,
    ) -> Result<T, i32> {
        let limits = Limits {
            max_facts: None,
            timeout: limits.timeout,
            max_memory: limits.max_memory.map(|mib| mib.saturating_mul(1024 * 1024)),
        };
        let scope = crate::explain::budget::enter(&limits, started, model.heap_bytes());
        let result = work();
        match scope.close() {
            Ok(()) => Ok(result),
            Err(limit) => {
                let what = match limit {
                    Limit::Facts(n) => format!("more than {n} facts (--max-facts)"),
                    Limit::Time(t) => format!("more than {} s (--timeout)", t.as_secs_f64()),
                    Limit::Memory(bytes) => format!(
                        "more than {} MiB with the model (--max-memory)",
                        bytes / (1024 * 1024)
                    ),
                };
                let d = Diagnostic::error_unplaced(
                    "E0501",
                    format!("explaining stopped: it took {what}; no result is printed"),
                )
                .with_help("raise the limit, or ask about a narrower fact (all derivations and critical facts cost far more than the best derivation)");
                self.report(&[d]);
                Err(EXIT_INPUT)
            }
        }
    }

    /// Evaluates, reporting arithmetic warnings; a limit reached is an error (exit 1).
    fn evaluate(
        &self,
        program: &Program,
        no_explain: bool,
        limits: &args::LimitArgs,
        threads: Option<usize>,
    ) -> Result<Model, i32> {
        let options = EvalOptions {
            record_derivations: !no_explain,
            threads: threads.unwrap_or_else(crate::eval::available_threads),
            ..EvalOptions::default()
        };
        let limits = Limits {
            max_facts: limits.max_facts,
            timeout: limits.timeout,
            max_memory: limits.max_memory.map(|mib| mib.saturating_mul(1024 * 1024)),
        };
        let evaluated = evaluate_observed(program, &options, &limits, &self.meter);
        self.meter.clear();
        let model = match evaluated {
            Ok(model) => model,
            Err(stopped) => {
                self.report(&[limit_diagnostic(program, &stopped)]);
                return Err(EXIT_INPUT);
            }
        };
        if no_explain && model.recorded() {
            // Combining evidence needs every premise's sources, so evaluation recorded
            // derivations anyway: say so rather than ignore the flag.
            let combined: Vec<&str> = program
                .predicates()
                .iter()
                .filter(|p| p.combine == crate::program::Combine::NoisyOr)
                .map(|p| p.name.as_str())
                .collect();
            let mut warning = Diagnostic::error_unplaced(
                "W0362",
                format!(
                    "`--no-explain` has no effect: the program combines independent lines of evidence (`{}`), which needs every derivation",
                    combined.join("`, `"),
                ),
            );
            warning.severity = crate::diagnostic::Severity::Warning;
            self.report(&[warning.with_help(
                "drop `--no-explain`; derivations are recorded (and explanations available) for programs with `@combine(noisy_or)` relations",
            )]);
        }
        for failure in model.arithmetic_failures() {
            let rule = program.rule(failure.rule);
            let d = Diagnostic::warning(
                "W0401",
                format!(
                    "rule \"{}\": {} instance{} derived nothing because arithmetic had no value",
                    rule.label(),
                    failure.count,
                    if failure.count == 1 { "" } else { "s" }
                ),
                rule.span,
            )
            .with_note("division by zero, integer overflow, or arithmetic on text or mixed kinds")
            .with_help("guard the arithmetic with a comparison, e.g. `Y != 0`");
            self.report(&[d]);
        }
        Ok(model)
    }

    /// `--engine dataflow`, when this binary was built with the `dataflow` feature.
    fn evaluate_dataflow_if_built(
        &self,
        program: &Program,
        args: &args::RunArgs,
    ) -> Result<Option<Model>, i32> {
        #[cfg(feature = "dataflow")]
        {
            self.evaluate_dataflow(program, &args.eval, &args.engine)
        }
        #[cfg(not(feature = "dataflow"))]
        {
            let _ = (program, args);
            self.report(&[Diagnostic::error_unplaced(
                "E0375",
                "this ascribe was built without the dataflow engine",
            )
            .with_help("build it with the default features (`cargo build --release`), or leave out `--engine dataflow`")]);
            Err(EXIT_USAGE)
        }
    }

    fn run(&mut self, args: &args::RunArgs, out: &mut Out) -> io::Result<i32> {
        let start = Instant::now();
        if args.format == args::FactFormat::Stix && (!args.relations.is_empty() || args.all) {
            self.report(&[stix::usage(
                "E0360",
                "`--relation` and `--all` choose relations to print; `--format stix` exports the hypotheses instead",
                "leave out `--relation` and `--all`, or choose another `--format`",
            )]);
            return Ok(EXIT_USAGE);
        }
        self.threads = args.eval.threads.unwrap_or(self.threads);
        let program = match self.load_as_of(&args.input.rules, &args.input.facts, args.eval.as_of) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let loaded = start.elapsed();
        // The output directory is checked and locked before evaluating, so that a run
        // that cannot write its result stops at once.
        let staging = match &args.output {
            Some(dir) => {
                let inputs: Vec<PathBuf> = args
                    .input
                    .rules
                    .iter()
                    .chain(&args.input.facts)
                    .cloned()
                    .collect();
                match output_dir::Staging::begin(dir, &inputs) {
                    Ok(staging) => Some(staging),
                    Err(error) => {
                        self.report(&[error.to_diagnostic()]);
                        return Ok(EXIT_USAGE);
                    }
                }
            }
            None => None,
        };
        let dataflow = args.engine.engine == args::Engine::Dataflow;
        if !dataflow && (args.engine.workers.is_some() || args.engine.hosts.is_some()) {
            eprintln!("error: --workers and --hosts place the workers of `--engine dataflow`\n\nAdd `--engine dataflow`, or leave them out (`--threads` sets the threads of the default engine).");
            return Ok(EXIT_USAGE);
        }
        let evaluated = if dataflow {
            self.evaluate_dataflow_if_built(&program, args)
        } else {
            self.evaluate(
                &program,
                args.eval.no_explain,
                &args.eval.limits,
                args.eval.threads,
            )
            .map(Some)
        };
        let model = match evaluated {
            Ok(Some(model)) => model,
            // A process of a cluster other than the first: the first prints the result.
            Ok(None) => return Ok(EXIT_OK),
            Err(code) => return Ok(code),
        };
        let evaluated = start.elapsed();
        if !known_relations(&program, &args.relations) {
            return Ok(EXIT_USAGE);
        }
        let selected = output::select(&program, &args.relations, args.all);
        let writes_sources = staging.is_some() || args.format == args::FactFormat::Json;
        let with_sources = writes_sources || args.format == args::FactFormat::Stix;
        // The dataflow records no derivations: the best ones are found again for what
        // is written with its sources.
        let found_again = dataflow && with_sources && !args.eval.no_explain;
        let model = if found_again {
            let derived: Vec<crate::program::PredId> = (0..program.predicates().len() as u32)
                .map(crate::program::PredId)
                .filter(|&p| program.predicate(p).derived)
                .collect();
            let roots: Vec<crate::eval::FactId> = derived
                .iter()
                .flat_map(|&p| model.sorted_facts(p))
                .collect();
            let found = match self.explaining(&args.eval.limits, start, &model, || {
                crate::explain::reconstruct::best_derivations(&program, &model, &roots)
            }) {
                Ok(found) => found,
                Err(code) => return Ok(code),
            };
            model.with_derivations(found)
        } else {
            model
        };
        if args.format == args::FactFormat::Stix {
            return self.run_stix(args, &program, &model, staging, out);
        }
        if !model.recorded() && !found_again && writes_sources {
            let mut warning = Diagnostic::error_unplaced(
                "W0361",
                "derived facts are written without their sources: `--no-explain` records no derivations",
            );
            warning.severity = crate::diagnostic::Severity::Warning;
            self.report(&[warning
                .with_note("loaded back, a derived fact keeps its confidence but names no source")
                .with_help(
                    "leave out `--no-explain` to keep the sources of each fact's best derivation",
                )]);
        }

        if let Some(staging) = staging {
            if let Err(error) = output::write_dir(
                &program,
                &model,
                &selected,
                staging,
                args.eval
                    .threads
                    .unwrap_or_else(crate::eval::available_threads),
            ) {
                self.report(&[error.to_diagnostic()]);
                return Ok(EXIT_USAGE);
            }
        } else {
            let text = match args.format {
                // The default view leads with the conclusions; a relation asked for by
                // name is printed even when it is empty.
                args::FactFormat::Text if args.relations.is_empty() => {
                    output::conclusions(&program, &model, args.all, args.empty)
                }
                format => output::facts(&program, &model, &selected, format),
            };
            out.write(&text)?;
        }
        if !self.quiet && !args.stats {
            let derived: usize = (0..program.predicates().len() as u32)
                .map(crate::program::PredId)
                .filter(|&p| program.predicate(p).derived)
                .map(|p| model.len(p))
                .sum();
            eprintln!(
                "{} input fact{} loaded, {} fact{} in derived relations, in {:.2} s",
                progress::grouped(program.facts().len()),
                if program.facts().len() == 1 { "" } else { "s" },
                progress::grouped(derived),
                if derived == 1 { "" } else { "s" },
                start.elapsed().as_secs_f64()
            );
        }
        if args.stats {
            eprintln!(
                "{} facts ({} input) in {} relations; {} iterations; load {:.3}s, evaluate {:.3}s, output {:.3}s; {:.1} MiB of fact storage",
                model.total_facts(),
                program.facts().len(),
                program.predicates().len(),
                model.iterations(),
                loaded.as_secs_f64(),
                (evaluated - loaded).as_secs_f64(),
                (start.elapsed() - evaluated).as_secs_f64(),
                model.heap_bytes() as f64 / (1024.0 * 1024.0)
            );
            eprint!("{}", stats::cost_tables(&program, &model, &self.sources));
        }
        Ok(EXIT_OK)
    }

    /// `run --format stix`: the bundle of the declared hypotheses, printed or written
    /// into the output directory already checked and locked.
    fn run_stix(
        &mut self,
        args: &args::RunArgs,
        program: &Program,
        model: &Model,
        staging: Option<output_dir::Staging>,
        out: &mut Out,
    ) -> io::Result<i32> {
        let options = crate::report::ReportOptions {
            threshold: crate::program::lint::REPORT_THRESHOLD,
            hypotheses: Vec::new(),
            subjects: program.predicate_id("incident"),
            only: Vec::new(),
        };
        let bundle = match stix::bundle(program, model, &options, args.eval.as_of) {
            Ok(bundle) => bundle,
            Err(diagnostic) => {
                self.report(&[*diagnostic]);
                return Ok(EXIT_USAGE);
            }
        };
        match staging {
            Some(mut staging) => {
                let written = (|| {
                    let mut file = staging.create(stix::BUNDLE_FILE)?;
                    file.write_all(bundle.as_bytes())?;
                    file.finish()?;
                    staging.commit()
                })();
                if let Err(error) = written {
                    self.report(&[error.to_diagnostic()]);
                    return Ok(EXIT_USAGE);
                }
            }
            None => out.write(&bundle)?,
        }
        Ok(EXIT_OK)
    }

    fn check(&mut self, args: &args::CheckArgs, out: &mut Out) -> io::Result<i32> {
        let (allowed, unknown) = Allowed::from_flags(&args.allow);
        self.allowed = allowed;
        self.warnings += unknown.len();
        self.report(&unknown);
        let loaded = self.load(&args.input.rules, &args.input.facts);
        // The rule set's own checks (`@warn` relations) need the model.
        if let Ok(program) = &loaded {
            if program.predicates().iter().any(|p| p.warn.is_some()) {
                match self.evaluate(program, false, &args::LimitArgs::default(), None) {
                    Ok(model) => self.report_flagged(program, &model),
                    Err(code) => return Ok(code),
                }
            }
        }
        match loaded {
            Ok(_) if args.deny.is_some() && self.warnings > 0 => {
                eprintln!(
                    "error: {} warning{} reported, and `--deny warnings` was given",
                    self.warnings,
                    if self.warnings == 1 { "" } else { "s" }
                );
                Ok(EXIT_INPUT)
            }
            Ok(program) => {
                out.write(&format!(
                    "ok: {} rules, {} facts, {} relations in {} strata\n",
                    program.rules().len(),
                    program.facts().len(),
                    program.predicates().len(),
                    program.strata().len()
                ))?;
                Ok(EXIT_OK)
            }
            Err(code) => Ok(code),
        }
    }

    /// Reports the warnings the rule set derives (`@warn` relations), less those
    /// silenced by `@allow` and `--allow`.
    fn report_flagged(&mut self, program: &Program, model: &Model) {
        let mut flagged = crate::explain::flagged::flagged(program, model);
        self.allows.apply(&mut flagged);
        self.allowed.apply(&mut flagged);
        self.warnings += flagged.len();
        self.report(&flagged);
    }

    /// Splits `RULES... LAST` positional arguments.
    fn split(positional: &[String]) -> (Vec<PathBuf>, &str) {
        let (last, rules) = positional
            .split_last()
            .expect("clap requires at least one positional argument");
        (rules.iter().map(PathBuf::from).collect(), last)
    }

    fn explain(&mut self, args: &args::ExplainArgs, out: &mut Out) -> io::Result<i32> {
        let started = Instant::now();
        let (rules, fact) = Self::split(&args.positional);
        self.threads = args.threads.unwrap_or(self.threads);
        let program = match self.load_as_of(&rules, &args.facts, args.as_of) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let model = match self.evaluate(&program, false, &args.limits, args.threads) {
            Ok(model) => model,
            Err(code) => return Ok(code),
        };
        let pattern = match Pattern::parse(&program, &model, &mut self.sources, fact) {
            Ok(p) => p,
            Err(diagnostics) => {
                self.report(&diagnostics);
                return Ok(EXIT_USAGE);
            }
        };
        if !pattern.is_ground() {
            eprintln!("error: explain needs a fact without variables; to list matching facts use `ascribe query`");
            return Ok(EXIT_USAGE);
        }
        if args.format == ExplainFormat::Html && (args.all || args.critical) {
            eprintln!("error: --format html shows the tree of the best derivation; with --all or --critical use --format text or json");
            return Ok(EXIT_USAGE);
        }
        match pattern.ground_fact(&model) {
            Some(found) if args.all => {
                let ways = match self.explaining(&args.limits, started, &model, || {
                    crate::explain::support::all_derivations(&program, &model, found)
                }) {
                    Ok(ways) => ways,
                    Err(code) => return Ok(code),
                };
                let text = match args.format {
                    ExplainFormat::Json => {
                        serde_json::to_string_pretty(&ways).expect("derivations serialise") + "\n"
                    }
                    _ => crate::explain::support::text(fact.trim(), &ways),
                };
                out.write(&text)?;
                Ok(EXIT_OK)
            }
            Some(found) if args.critical => {
                let sensitivities = match self.explaining(&args.limits, started, &model, || {
                    critical::critical(&program, &model, found, args.threshold)
                }) {
                    Ok(sensitivities) => sensitivities,
                    Err(code) => return Ok(code),
                };
                let text = match args.format {
                    ExplainFormat::Json => {
                        serde_json::to_string_pretty(&sensitivities)
                            .expect("sensitivities serialise")
                            + "\n"
                    }
                    _ => critical::text(fact.trim(), &sensitivities, args.threshold),
                };
                out.write(&text)?;
                Ok(EXIT_OK)
            }
            Some(found) => {
                let explanation = match self.explaining(&args.limits, started, &model, || {
                    crate::explain::explain_to_depth(&program, &model, found, args.depth)
                }) {
                    Ok(explanation) => explanation,
                    Err(code) => return Ok(code),
                };
                let text = match args.format {
                    ExplainFormat::Text => explain_render::text(&explanation),
                    ExplainFormat::Json => explain_render::json(&explanation) + "\n",
                    ExplainFormat::Dot => explain_render::dot(&explanation),
                    ExplainFormat::Prose => crate::explain::sentence::prose(&explanation),
                    ExplainFormat::Html => {
                        let defeated = crate::explain::defeats(
                            &program,
                            &model,
                            found.predicate,
                            Some(model.tuple(found)),
                        );
                        crate::html::explanation_page(&explanation, &defeated)
                    }
                };
                out.write(&text)?;
                Ok(EXIT_OK)
            }
            None => {
                let values = pattern
                    .values()
                    .expect("the pattern is ground (checked above)");
                let answer = match self.explaining(&args.limits, started, &model, || {
                    why_not(&program, &model, pattern.predicate(), &values)
                }) {
                    Ok(answer) => answer,
                    Err(code) => return Ok(code),
                };
                let text = match args.format {
                    ExplainFormat::Json => {
                        serde_json::to_string_pretty(&answer).expect("why-not answers serialise")
                            + "\n"
                    }
                    ExplainFormat::Html => crate::html::why_not_page(&answer),
                    _ => answer.text(),
                };
                out.write(&text)?;
                Ok(EXIT_INPUT)
            }
        }
    }

    fn query(&mut self, args: &args::QueryArgs, out: &mut Out) -> io::Result<i32> {
        if args.format == args::FactFormat::Stix {
            self.report(&[stix::usage(
                "E0362",
                "`query` prints matching facts; `--format stix` is for `run` and `report`",
                "use `--format text`, `json` or `tsv`, or export with `ascribe run --format stix`",
            )]);
            return Ok(EXIT_USAGE);
        }
        let (rules, text) = Self::split(&args.positional);
        self.threads = args.eval.threads.unwrap_or(self.threads);
        let program = match self.load_as_of(&rules, &args.facts, args.eval.as_of) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let model = match self.evaluate(
            &program,
            args.eval.no_explain,
            &args.eval.limits,
            args.eval.threads,
        ) {
            Ok(model) => model,
            Err(code) => return Ok(code),
        };
        let pattern = match Pattern::parse(&program, &model, &mut self.sources, text) {
            Ok(p) => p,
            Err(diagnostics) => {
                self.report(&diagnostics);
                return Ok(EXIT_USAGE);
            }
        };
        let facts = pattern.matches(&model);
        let text = output::fact_list(&program, &model, pattern.predicate(), &facts, args.format);
        out.write(&text)?;
        Ok(EXIT_OK)
    }
}

impl Session {
    fn report_command(&mut self, args: &args::ReportArgs, out: &mut Out) -> io::Result<i32> {
        let started = Instant::now();
        if args.output.is_some() && args.format != args::ReportFormat::Stix {
            self.report(&[stix::usage(
                "E0363",
                "`report --output DIR` writes a STIX bundle; it needs `--format stix`",
                "add `--format stix`, or leave out `--output` to print the report",
            )]);
            return Ok(EXIT_USAGE);
        }
        self.threads = args.threads.unwrap_or(self.threads);
        let program = match self.load_as_of(&args.input.rules, &args.input.facts, args.as_of) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let relation = |name: &str, flag: &str| -> Result<crate::program::PredId, i32> {
            program.predicate_id(name).ok_or_else(|| {
                let names = program.predicates().iter().map(|p| p.name.as_str());
                let hint = crate::diagnostic::suggest(name, names)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                eprintln!("error: {flag} {name}: no such relation{hint}");
                EXIT_USAGE
            })
        };
        let mut hypotheses = Vec::new();
        for name in &args.hypotheses {
            match relation(name, "--hypothesis") {
                Ok(p) => hypotheses.push(p),
                Err(code) => return Ok(code),
            }
        }
        let subjects = match &args.subjects {
            Some(name) => match relation(name, "--subjects") {
                Ok(p) => Some(p),
                Err(code) => return Ok(code),
            },
            None => program.predicate_id("incident"),
        };
        let model = match self.evaluate(&program, false, &args.limits, args.threads) {
            Ok(model) => model,
            Err(code) => return Ok(code),
        };
        self.report_flagged(&program, &model);
        let mut only = Vec::new();
        for name in &args.incidents {
            let value = crate::value::Value::text(name);
            match model.interner().get(&value) {
                Some(id) => only.push(id),
                None => {
                    eprintln!("error: --incident {name}: no fact mentions it");
                    return Ok(EXIT_USAGE);
                }
            }
        }
        let options = crate::report::ReportOptions {
            threshold: args.threshold,
            hypotheses,
            subjects,
            only,
        };
        if args.format == args::ReportFormat::Stix {
            let bundle = match stix::bundle(&program, &model, &options, args.as_of) {
                Ok(bundle) => bundle,
                Err(diagnostic) => {
                    self.report(&[*diagnostic]);
                    return Ok(EXIT_USAGE);
                }
            };
            return match &args.output {
                Some(dir) => {
                    let inputs: Vec<PathBuf> = args
                        .input
                        .rules
                        .iter()
                        .chain(&args.input.facts)
                        .cloned()
                        .collect();
                    match stix::write(dir, &inputs, &bundle) {
                        Ok(()) => Ok(EXIT_OK),
                        Err(error) => {
                            self.report(&[error.to_diagnostic()]);
                            Ok(EXIT_USAGE)
                        }
                    }
                }
                None => {
                    out.write(&bundle)?;
                    Ok(EXIT_OK)
                }
            };
        }
        let report = match self.explaining(&args.limits, started, &model, || {
            crate::report::report(&program, &model, &options)
        }) {
            Err(code) => return Ok(code),
            Ok(Ok(report)) => report,
            Ok(Err(error)) => {
                eprintln!("error: {error}");
                return Ok(EXIT_USAGE);
            }
        };
        let text = match args.format {
            args::ReportFormat::Text => crate::report::text(&report),
            args::ReportFormat::Markdown => crate::report::markdown(&report),
            args::ReportFormat::Json => crate::report::json(&report),
            // The page explains every candidate: under the limits like the report.
            args::ReportFormat::Html => match self.explaining(&args.limits, started, &model, || {
                crate::html::report_page(&program, &model, &report)
            }) {
                Ok(page) => page,
                Err(code) => return Ok(code),
            },
            args::ReportFormat::Stix => unreachable!("exported above"),
        };
        out.write(&text)?;
        Ok(EXIT_OK)
    }
}

/// The diagnostic for an evaluation stopped by a limit, pointing at the growing rule.
/// Whether every `--relation` name is a relation of `program`; says which is not,
/// with a did-you-mean, if one is not.
fn known_relations(program: &Program, names: &[String]) -> bool {
    for name in names {
        if program.predicate_id(name).is_none() {
            let all = program.predicates().iter().map(|p| p.name.as_str());
            let hint = crate::diagnostic::suggest(name, all)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            eprintln!("error: --relation {name}: no such relation{hint}");
            return false;
        }
    }
    true
}

fn limit_diagnostic(program: &Program, stopped: &LimitExceeded) -> Diagnostic {
    let what = match stopped.limit {
        Limit::Facts(n) => format!("more than {n} facts (--max-facts)"),
        Limit::Time(t) => format!("more than {} s (--timeout)", t.as_secs_f64()),
        Limit::Memory(bytes) => format!(
            "more than {} MiB of facts (--max-memory)",
            bytes / (1024 * 1024)
        ),
    };
    let message = format!(
        "evaluation stopped after {} iterations with {} facts: {what}; no result is printed",
        stopped.iterations, stopped.facts
    );
    match stopped.growing {
        Some((rule, count)) if stopped.within_rule => {
            let rule = program.rule(rule);
            Diagnostic::error("E0501", message, rule.span)
                .with_label(format!(
                    "rule \"{}\" was running, with {count} candidate facts found in this iteration",
                    rule.label()
                ))
                .with_help("a join that nothing narrows (premises sharing no variable, or a condition that rarely holds) grows with the product of its relations; join through shared variables, or raise the limit")
        }
        Some((rule, count)) => {
            let rule = program.rule(rule);
            Diagnostic::error("E0501", message, rule.span)
                .with_label(format!(
                    "rule \"{}\" was still growing: {count} new facts in the last iteration",
                    rule.label()
                ))
                .with_help("bound the rule's arithmetic with a comparison (e.g. `N < 100`), or raise the limit")
        }
        None => Diagnostic::error_unplaced("E0501", message).with_help("raise the limit"),
    }
}

/// Entry point used by `main`: runs on a thread with a large stack, since explanations
/// of long derivation chains recurse deeply.
pub fn main_with_large_stack() -> i32 {
    keep_large_blocks_mapped();
    let handle = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| run(std::env::args_os()))
        .expect("spawning the main thread");
    handle.join().unwrap_or(EXIT_USAGE)
}

/// Serves every allocation of 128 KiB or more from its own memory mapping (glibc; a
/// no-op elsewhere). By default glibc raises that threshold to the size of the largest
/// mapped block freed so far: once the rows read from a large TSV file are freed, the
/// buffers evaluation grows come from the heap instead, each growth copies, and the
/// copies left behind stay resident (a fifth of the peak memory of `tri_rand2000`).
/// Call before other threads start.
pub fn keep_large_blocks_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` sets one parameter of the allocator; no other thread is
    // allocating yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_split_takes_the_last_as_the_fact() {
        let args = vec![
            "rules/".to_string(),
            "a.facts".to_string(),
            "p(x)".to_string(),
        ];
        let (rules, fact) = Session::split(&args);
        assert_eq!(
            rules,
            vec![PathBuf::from("rules/"), PathBuf::from("a.facts")]
        );
        assert_eq!(fact, "p(x)");
    }
}
