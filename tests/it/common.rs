//! Helpers shared by the integration tests: loading inputs, printing models, and the
//! independent checker of explanation trees.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ascribe::cli::{load_inputs, output, render};
use ascribe::diagnostic::Sources;
use ascribe::eval::{evaluate, EvalOptions, Model, Strategy};
use ascribe::explain::{Node, Via};
use ascribe::Program;

/// `path` relative to the package root, so snapshots do not depend on the checkout.
pub fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Loads rule and fact paths; panics with the rendered diagnostics on error.
pub fn load(paths: &[PathBuf]) -> (Program, Sources) {
    let mut sources = Sources::default();
    let inputs = load_inputs(&mut sources, paths);
    match inputs.program {
        Some(program) => (program, sources),
        None => panic!(
            "{paths:?} did not load:\n{}",
            render::diagnostics(&sources, &inputs.diagnostics, false)
        ),
    }
}

/// Every relation with its facts, as the CLI prints them (`run --all`).
pub fn render_all(program: &Program, model: &Model) -> String {
    let selected = output::select(program, &[], true);
    output::facts(
        program,
        model,
        &selected,
        ascribe::cli::args::FactFormat::Text,
    )
}

/// Derived relations only (`run`).
pub fn render_derived(program: &Program, model: &Model) -> String {
    let selected = output::select(program, &[], false);
    output::facts(
        program,
        model,
        &selected,
        ascribe::cli::args::FactFormat::Text,
    )
}

/// Every fact of the model as written, with its exact confidence, in predicate order
/// and then sorted by value.
pub fn facts(program: &Program, model: &Model) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (index, predicate) in program.predicates().iter().enumerate() {
        let id = ascribe::program::PredId(index as u32);
        for fact in model.sorted_facts(id) {
            let values: Vec<String> = model
                .tuple(fact)
                .iter()
                .map(|v| model.interner().value(*v).to_string())
                .collect();
            out.push((
                format!("{}({})", predicate.name, values.join(", ")),
                model.confidence(fact),
            ));
        }
    }
    out
}

/// Every fact with its exact confidence, for comparing two models of one program.
pub fn dump(program: &Program, model: &Model) -> String {
    let mut out = String::new();
    for (fact, confidence) in facts(program, model) {
        let _ = writeln!(out, "{fact} {confidence:?}");
    }
    out
}

/// Evaluates semi-naively with derivations, and checks that naive evaluation and
/// evaluation without recording give exactly the same facts and confidences.
pub fn evaluate_checked(program: &Program) -> Model {
    let model = evaluate(program, &EvalOptions::default());
    let expected = dump(program, &model);
    let naive = evaluate(
        program,
        &EvalOptions {
            strategy: Strategy::Naive,
            ..EvalOptions::default()
        },
    );
    assert_eq!(
        dump(program, &naive),
        expected,
        "naive evaluation differs from semi-naive"
    );
    let unrecorded = evaluate(
        program,
        &EvalOptions {
            record_derivations: false,
            ..EvalOptions::default()
        },
    );
    assert_eq!(
        dump(program, &unrecorded),
        expected,
        "recording derivations changed the result"
    );
    #[cfg(feature = "dataflow")]
    check_dataflow(program, &expected);
    let layout = rows(program, &model);
    for threads in [1, 2, 4] {
        let threaded = evaluate(
            program,
            &EvalOptions {
                threads,
                ..EvalOptions::default()
            },
        );
        assert_eq!(
            rows(program, &threaded),
            layout,
            "evaluation with --threads {threads} differs from the default"
        );
    }
    model
}

#[cfg(feature = "dataflow")]
/// Checks that the dataflow engine, on one worker and on two, derives exactly the facts
/// and confidences of `expected` (a [`dump`]), unless it refuses the program; returns
/// whether it ran.
pub fn check_dataflow(program: &Program, expected: &str) -> bool {
    let limits = ascribe::eval::Limits::default();
    let mut ran = false;
    for workers in [1, 2] {
        let options = ascribe::dataflow::Options {
            workers,
            cluster: None,
        };
        if !ascribe::dataflow::unsupported(program, &limits, &options).is_empty() {
            return false;
        }
        let model = ascribe::dataflow::evaluate(program, &options, &limits)
            .expect("the dataflow engine evaluates what it does not refuse")
            .expect("a single process gathers the model");
        assert_eq!(
            dump(program, &model),
            expected,
            "the dataflow engine on {workers} worker(s) differs from semi-naive evaluation"
        );
        ran = true;
    }
    ran
}

/// Every row of every relation in row order, with its confidence and recorded
/// derivation, then every value by id: what must not depend on the thread count.
pub fn rows(program: &Program, model: &Model) -> String {
    let mut out = String::new();
    for index in 0..program.predicates().len() {
        let predicate = ascribe::program::PredId(index as u32);
        for row in 0..model.len(predicate) as u32 {
            let fact = ascribe::eval::FactId { predicate, row };
            let _ = writeln!(
                out,
                "{index} {row} {:?} {:?} {:?}",
                model.tuple(fact),
                model.confidence(fact),
                model.derivation(program, fact)
            );
        }
    }
    let interner = model.interner();
    for id in 0..interner.len() as u32 {
        let _ = writeln!(out, "{}", interner.value(ascribe::value::ValueId(id)));
    }
    out
}

/// Re-checks an explanation tree without trusting the engine: every rule node's
/// confidence is its strength times its premises' confidences, its instance starts
/// with the node's fact, input leaves carry a source, and every node's fact and
/// confidence agree with the model. Returns the number of nodes checked.
pub fn check_tree(node: &Node, model_confidence: &dyn Fn(&str) -> Option<f64>) -> usize {
    let recorded =
        model_confidence(&node.fact).unwrap_or_else(|| panic!("{} is not in the model", node.fact));
    assert!(
        (recorded - node.confidence).abs() < 1e-6,
        "{}: confidence differs from the model",
        node.fact
    );
    check_via(node, model_confidence)
}

/// [`check_tree`] without comparing the node's own confidence with the model (the
/// lines of a combined fact carry their own).
fn check_via(node: &Node, model_confidence: &dyn Fn(&str) -> Option<f64>) -> usize {
    match &node.via {
        Via::Combined { lines, .. } => {
            let doubt: f64 = lines
                .iter()
                .filter(|l| l.counted)
                .map(|l| 1.0 - l.node.confidence)
                .product();
            assert!(
                (1.0 - doubt - node.confidence).abs() < 1e-5,
                "{}: noisy-or of the counted lines is {} not {}",
                node.fact,
                1.0 - doubt,
                node.confidence
            );
            let mut taken: Vec<&String> = Vec::new();
            for line in lines {
                assert_eq!(line.node.fact, node.fact, "a line derives its fact");
                match &line.shares {
                    None => {
                        assert!(
                            line.counted,
                            "{}: a line left out names no shared source",
                            node.fact
                        );
                        assert!(
                            line.sources.iter().all(|s| !taken.contains(&s)),
                            "{}: counted lines share a source",
                            node.fact
                        );
                        taken.extend(&line.sources);
                    }
                    Some(shared) => {
                        assert!(!line.counted);
                        assert!(line.sources.contains(shared) && taken.contains(&shared));
                    }
                }
            }
            1 + lines
                .iter()
                .map(|l| check_via(&l.node, model_confidence))
                .sum::<usize>()
        }
        Via::Input {
            source, location, ..
        } => {
            assert!(
                !source.is_empty() && !location.is_empty(),
                "{}: input without a source",
                node.fact
            );
            1
        }
        Via::ShownAbove | Via::Deeper { .. } => 1,
        Via::Unrecorded => panic!("{}: derivation not recorded", node.fact),
        Via::Rule {
            strength,
            premises,
            instance,
            defeaters,
            aggregates,
            ..
        } => {
            assert!(
                instance.starts_with(&format!("{} :- ", node.fact)),
                "{}: instance {instance}",
                node.fact
            );
            // Positive premises, the factors of uncertain defeaters and the confidences
            // of aggregates.
            let product: f64 = premises.iter().map(|p| p.confidence).product::<f64>()
                * defeaters.iter().map(|d| d.factor).product::<f64>()
                * aggregates.iter().map(|a| a.confidence).product::<f64>();
            for defeater in defeaters {
                let expected: f64 = defeater.facts.iter().map(|(_, c)| 1.0 - c).product();
                assert!(
                    defeater.facts.iter().all(|(_, c)| *c < 0.5),
                    "{}: defeater {} at 0.5 or more does not defeat",
                    node.fact,
                    defeater.atom
                );
                assert!(
                    (expected - defeater.factor).abs() < 1e-5 && defeater.factor > 0.0,
                    "{}: defeater {} weighs {} not {expected}",
                    node.fact,
                    defeater.atom,
                    defeater.factor
                );
            }
            assert!(
                (strength * product - node.confidence).abs() < 1e-5,
                "{}: {} x {} != {}",
                node.fact,
                strength,
                product,
                node.confidence
            );
            for premise in premises {
                assert!(
                    instance.contains(&premise.fact),
                    "{}: premise {} not in {instance}",
                    node.fact,
                    premise.fact
                );
            }
            1 + premises
                .iter()
                .map(|p| check_tree(p, model_confidence))
                .sum::<usize>()
        }
    }
}

/// Checks the explanation of every fact of the model; returns the number of nodes.
pub fn check_all_explanations(program: &Program, model: &Model) -> usize {
    let by_text: std::collections::HashMap<String, f64> =
        facts(program, model).into_iter().collect();
    let lookup = |fact: &str| by_text.get(fact).copied();
    let mut nodes = 0;
    for index in 0..program.predicates().len() {
        let id = ascribe::program::PredId(index as u32);
        for fact in model.sorted_facts(id) {
            let explanation = ascribe::explain(program, model, fact);
            nodes += check_tree(&explanation.root, &lookup);
        }
    }
    nodes
}

/// Runs the `ascribe` binary in the repository root with colours off.
pub fn ascribe(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ascribe"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// `f(0), f(1), ... f(n - 1)` on every core at once, the results in index order; a
/// panic in one is this function's panic.
pub fn on_every_core<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..ascribe::eval::available_threads().min(n.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            return out;
                        }
                        out.push((i, f(i)));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            match worker.join() {
                Ok(part) => all.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, t)| t).collect()
}
