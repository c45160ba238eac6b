//! The second backend: a checked program evaluated as one differential dataflow, on
//! timely workers in this process or across several.
//!
//! It reads the same `Program` the semi-naive engine reads (no second language) and
//! gives the same model: the same facts with the same confidences, each confidence the
//! product of the rule's strength, its premises' confidences in written order and its
//! factors in written order, exactly as `eval` multiplies them. Strata become nested
//! scopes: a recursive stratum is an iterative scope whose relations are variables; a
//! relation keeps the best confidence of each tuple by a reduction. What it does not
//! do, `unsupported` names before anything runs.

mod build;
mod net;
pub mod watch;

use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::diagnostic::Diagnostic;
use crate::eval::{Limit, LimitExceeded, Limits, Model};
use crate::program::{Combine, Literal, PredId, Program, Rule};
use crate::value::ValueId;

/// Where the workers run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Worker threads in this process (0 counts as 1).
    pub workers: usize,
    /// Several processes, this one among them; `None` for this process alone.
    pub cluster: Option<Cluster>,
}

/// The processes of one evaluation, each started with the same program and inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// This process's index into `addresses`.
    pub process: usize,
    /// `host:port` of every process, in process order.
    pub addresses: Vec<String>,
}

/// Why a dataflow evaluation has no model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A limit was reached: there is no model, a partial one would look complete.
    #[error("{0}")]
    Limit(LimitExceeded),
    /// The workers could not start, lost a peer or failed.
    #[error("dataflow workers failed: {0}")]
    Workers(String),
}

/// The constructs of `program`, and the limits, that this backend does not evaluate,
/// each as an error naming it; empty when it evaluates everything asked.
pub fn unsupported(program: &Program, limits: &Limits, options: &Options) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for predicate in program.predicates() {
        if predicate.combine != Combine::NoisyOr {
            continue;
        }
        let message = format!(
            "`--engine dataflow` does not combine lines of evidence: `{}` is declared `@combine(noisy_or)`",
            predicate.name
        );
        let d = match predicate.declared_at {
            Some(span) => Diagnostic::error("E0370", message, span)
                .with_label("combined from independent lines of evidence"),
            None => Diagnostic::error_unplaced("E0370", message),
        };
        out.push(d.with_help(
            "run this program on the semi-naive engine (leave out `--engine dataflow`), or declare the relation without `@combine(noisy_or)` to keep the best derivation",
        ));
    }
    if limits.max_memory.is_some() {
        out.push(
            Diagnostic::error_unplaced(
                "E0371",
                "`--max-memory` does not bound `--engine dataflow`: its workers' arrangements are not counted",
            )
            .with_help("bound it with `--max-facts` or `--timeout` instead, or leave out `--engine dataflow`"),
        );
    }
    if options.cluster.is_some() {
        for rule in program.rules() {
            if let Some(what) = computes_values(&rule.body) {
                out.push(
                    Diagnostic::error(
                        "E0372",
                        format!(
                            "rule \"{}\" computes new values ({what}), which processes cannot share: each numbers the values it computes itself",
                            rule.label()
                        ),
                        rule.span,
                    )
                    .with_help("run it on one process (leave out `--hosts`), with as many `--workers` as there are cores"),
                );
            }
        }
    }
    out
}

/// The construct of `body` that makes values no input holds, if any.
fn computes_values(body: &[Literal]) -> Option<&'static str> {
    body.iter().find_map(|literal| match literal {
        Literal::Assign { .. } => Some("arithmetic"),
        Literal::Cmp { left, right, .. }
            if matches!(left, crate::program::Expr::Bin(..))
                || matches!(right, crate::program::Expr::Bin(..)) =>
        {
            Some("arithmetic")
        }
        Literal::Agg(_) => Some("an aggregate"),
        _ => None,
    })
}

/// A change gathered from the workers: relation, values, confidence bits, count.
type Gathered = (u32, Vec<u32>, u64, isize);

/// What every worker of this process reads: the rules, strata and input facts, and the
/// values, which the workers of one process share (arithmetic adds to them).
struct Shared {
    rules: Vec<Rule>,
    strata: Vec<crate::program::Stratum>,
    arity: Vec<usize>,
    exception: Vec<bool>,
    /// Input facts: relation, values, confidence bits. Worker `w` of `n` feeds those at
    /// positions `w`, `w + n`, ...
    facts: Vec<(PredId, Vec<u32>, u64)>,
    interner: Mutex<crate::value::Interner>,
    /// Facts in every relation of this process's workers, as the dataflow changes them.
    facts_now: AtomicIsize,
    /// Set by the first worker to reach a limit or fail; the others stop too.
    stop: AtomicBool,
    /// The limit reached, if one was.
    stopped: Mutex<Option<Limit>>,
    /// Facts gathered on worker 0 of process 0: relation, values, confidence bits, count.
    results: Mutex<Vec<Gathered>>,
    /// `--max-facts` and `--timeout`.
    max_facts: Option<usize>,
    timeout: Option<Duration>,
}

impl Shared {
    /// The state of an evaluation of `program`'s rules over `facts`, nothing derived yet.
    fn new(
        program: &Program,
        facts: Vec<(PredId, Vec<u32>, u64)>,
        max_facts: Option<usize>,
        timeout: Option<Duration>,
    ) -> Shared {
        Shared {
            rules: program.rules().to_vec(),
            strata: program.strata().to_vec(),
            arity: program.predicates().iter().map(|p| p.arity).collect(),
            exception: program.predicates().iter().map(|p| p.exception).collect(),
            facts,
            interner: Mutex::new(program.interner().clone()),
            facts_now: AtomicIsize::new(0),
            stop: AtomicBool::new(false),
            stopped: Mutex::new(None),
            results: Mutex::new(Vec::new()),
            max_facts,
            timeout,
        }
    }
}

/// Evaluates `program` on differential dataflow. `Ok(None)` on a process other than the
/// first of a cluster: the model is gathered on the first.
///
/// Call [`unsupported`] first: constructs it names are not evaluated faithfully.
pub fn evaluate(
    program: &Program,
    options: &Options,
    limits: &Limits,
) -> Result<Option<Model>, Error> {
    let started = Instant::now();
    let facts = program
        .facts()
        .iter()
        .map(|fact| {
            (
                fact.predicate,
                fact.tuple.iter().map(|v| v.0).collect(),
                program.fact_confidence(fact).to_bits(),
            )
        })
        .collect();
    let shared = Arc::new(Shared::new(
        program,
        facts,
        limits.max_facts,
        limits.timeout,
    ));
    let workers = options.workers.max(1);
    let first = options.cluster.as_ref().is_none_or(|c| c.process == 0);
    let worker_shared = Arc::clone(&shared);
    let work = move |worker: &mut timely::worker::Worker| {
        build::run_worker(worker, &worker_shared, started);
    };
    let guards = match &options.cluster {
        None => {
            let communication = if workers == 1 {
                timely::CommunicationConfig::Thread
            } else {
                timely::CommunicationConfig::Process(workers)
            };
            let config = timely::Config {
                communication,
                worker: timely::WorkerConfig::default(),
            };
            timely::execute(config, work)
        }
        // Timely's own connecting prints to standard output and waits for ever; this
        // one is silent and gives up after a while.
        Some(cluster) => {
            let (builders, guard) = net::connect(cluster, workers).map_err(Error::Workers)?;
            timely::execute::execute_from(builders, guard, timely::WorkerConfig::default(), work)
        }
    }
    .map_err(Error::Workers)?;
    // Dropping the guards joins timely's network threads, and panics if one of them
    // did (a peer process that went away): that is a failure like a worker's.
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || guards.join()));
    let mut failed = Vec::new();
    match joined {
        Ok(results) => failed.extend(results.into_iter().filter_map(Result::err)),
        Err(_) => failed.push("the connection to a peer process was lost".to_string()),
    }
    let limit = *lock(&shared.stopped);
    if let Some(limit) = limit {
        return Err(Error::Limit(LimitExceeded {
            limit,
            iterations: 0,
            facts: shared.facts_now.load(Ordering::Relaxed).max(0) as usize,
            growing: None,
            within_rule: false,
        }));
    }
    if !failed.is_empty() {
        return Err(Error::Workers(failed.join("; ")));
    }
    if !first {
        return Ok(None);
    }
    let shared = Arc::into_inner(shared)
        .ok_or_else(|| Error::Workers("a worker still holds the evaluation's state".to_string()))?;
    let mut results = shared
        .results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // The gathered changes, consolidated: each fact's count sums to one.
    results.sort_unstable();
    let mut facts: Vec<(PredId, Vec<ValueId>, f64)> = Vec::new();
    let mut current: Option<Gathered> = None;
    for (predicate, row, confidence, diff) in results {
        match &mut current {
            Some((p, r, c, d)) if *p == predicate && *r == row && *c == confidence => *d += diff,
            _ => {
                if let Some(done) = current.take() {
                    push_fact(&mut facts, done)?;
                }
                current = Some((predicate, row, confidence, diff));
            }
        }
    }
    if let Some(done) = current {
        push_fact(&mut facts, done)?;
    }
    if let Some(max) = limits.max_facts {
        if facts.len() > max {
            return Err(Error::Limit(LimitExceeded {
                limit: Limit::Facts(max),
                iterations: 0,
                facts: facts.len(),
                growing: None,
                within_rule: false,
            }));
        }
    }
    let interner = shared
        .interner
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(Some(Model::from_facts(program, interner, facts, 0)))
}

/// Adds a consolidated fact: present once, or absent (its changes cancelled).
fn push_fact(
    facts: &mut Vec<(PredId, Vec<ValueId>, f64)>,
    (predicate, row, confidence, diff): Gathered,
) -> Result<(), Error> {
    match diff {
        0 => Ok(()),
        1 => {
            facts.push((
                PredId(predicate),
                row.into_iter().map(ValueId).collect(),
                f64::from_bits(confidence),
            ));
            Ok(())
        }
        n => Err(Error::Workers(format!(
            "a fact of relation {predicate} was gathered {n} times; the dataflow did not settle"
        ))),
    }
}

/// The value under `mutex`, even if a worker panicked while holding it (the panic is
/// reported through the worker's result).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
