//! Wide and deep inputs: each benchmark is one of the quadratic (or worse) corners found
//! in the front end, evaluation and explanation, at the size that used to break it, so
//! that a change that brings one back shows here. Correctness at these sizes is pinned
//! by the regression tests in `tests/it/cli.rs`; this file only times them.
//!
//! `cargo bench --bench scale` (about two minutes); `cargo test --bench scale` runs each
//! once.

use std::path::PathBuf;
use std::time::Duration;

use ascribe::cli::load_inputs;
use ascribe::diagnostic::Sources;
use ascribe::eval::{FactId, Model};
use ascribe::value::Value;
use ascribe::{evaluate, EvalOptions, Program};
use criterion::Criterion;

/// Writes `text` to a file of its own under the bench directory.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("ascribe-bench-scale");
    std::fs::create_dir_all(&dir).expect("bench directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("bench input");
    path
}

/// Loads and checks `paths`; the number of diagnostics, and the program if it loaded.
fn load(paths: &[PathBuf]) -> (usize, Option<Program>) {
    let mut sources = Sources::default();
    let inputs = load_inputs(&mut sources, paths);
    (inputs.diagnostics.len(), inputs.program)
}

fn program(paths: &[PathBuf]) -> Program {
    let (n, program) = load(paths);
    program.unwrap_or_else(|| panic!("{paths:?} did not load ({n} diagnostics)"))
}

fn model(program: &Program) -> Model {
    evaluate(program, &EvalOptions::default())
}

/// The fact `relation(values...)`, which must hold.
fn fact(program: &Program, model: &Model, relation: &str, values: &[Value]) -> FactId {
    let predicate = program
        .predicate_id(relation)
        .expect("a relation of the program");
    let ids: Vec<_> = values
        .iter()
        .map(|v| model.interner().get(v).expect("a value of the model"))
        .collect();
    model.find(predicate, &ids).expect("the fact holds")
}

fn front_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    // 10^5 strata: stratification filtered every rule once per stratum (over a minute).
    let mut chain = String::from("p0(a).\n");
    for i in 0..100_000 {
        chain.push_str(&format!("p{}(X) :- p{i}(X).\n", i + 1));
    }
    let chain = file("chain.rules", &chain);
    assert!(load(std::slice::from_ref(&chain)).1.is_some());
    group.bench_function("check_1e5_strata", |b| {
        b.iter(|| load(std::slice::from_ref(&chain)))
    });

    // 5,000 misspelt relations: each did-you-mean searched every name (5 min for 20,000).
    let mut misspelt = String::new();
    for i in 0..5_000 {
        misspelt.push_str(&format!("rel known{i}(x: int).\nq(X) :- knwon{i}(X).\n"));
    }
    let misspelt = file("misspelt.rules", &misspelt);
    assert!(load(std::slice::from_ref(&misspelt)).0 > 0);
    group.bench_function("did_you_mean_5000", |b| {
        b.iter(|| load(std::slice::from_ref(&misspelt)))
    });

    // 10^6 nested parentheses overflowed the stack; now one E0002 at level 257.
    let nested = format!(
        "p(X) :- q(X), X = {}1{}.\n",
        "(".repeat(1_000_000),
        ")".repeat(1_000_000)
    );
    let nested = file("nested.rules", &nested);
    assert!(load(std::slice::from_ref(&nested)).1.is_none());
    group.bench_function("parse_1e6_nested_parentheses", |b| {
        b.iter(|| load(std::slice::from_ref(&nested)))
    });
    group.finish();
}

fn evaluation(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    // One rule of 20,000 atoms: planning scanned every atom left per choice (6 s).
    let mut wide = String::new();
    for i in 0..20_000 {
        wide.push_str(&format!("q{i}(a).\n"));
    }
    let body: Vec<String> = (0..20_000).map(|i| format!("q{i}(X)")).collect();
    wide.push_str(&format!("p(X) :- {}.\n", body.join(", ")));
    let wide = file("wide.rules", &wide);
    group.bench_function("load_and_evaluate_20000_atom_rule", |b| {
        b.iter(|| model(&program(std::slice::from_ref(&wide))))
    });

    // 10^5 independent lines of one noisy-or fact (11 s).
    let mut lines = String::from(
        "rel claim(source: sym, incident: sym).\n@combine(noisy_or) rel attributed(incident: sym).\nattributed(I) :- claim(_, I).\n",
    );
    for i in 0..100_000 {
        lines.push_str(&format!("claim(s{i}, x) @confidence(0.00001).\n"));
    }
    let lines = program(&[file("lines.rules", &lines)]);
    group.bench_function("noisy_or_1e5_lines", |b| b.iter(|| model(&lines)));
    group.finish();
}

fn explaining(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    // A 10,000-step chain: the text tree was quadratic in its depth (1.25 GB).
    let next: String = (0..10_000).map(|i| format!("{i}\t{}\n", i + 1)).collect();
    let chain = program(&[
        file(
            "reach.rules",
            "reach(0).\nreach(N) :- reach(M), next(M, N).\n",
        ),
        file("next.tsv", &next),
    ]);
    let chain_model = model(&chain);
    let end = fact(&chain, &chain_model, "reach", &[Value::Int(10_000)]);
    group.bench_function("explain_10000_steps_text", |b| {
        b.iter(|| {
            let tree = ascribe::explain::explain_to_depth(&chain, &chain_model, end, 10_000);
            ascribe::explain::render::text(&tree).len()
        })
    });
    group.bench_function("explain_10000_steps_json", |b| {
        b.iter(|| {
            let tree = ascribe::explain::explain_to_depth(&chain, &chain_model, end, 10_000);
            ascribe::explain::render::json(&tree).len()
        })
    });

    // 10^5 derivations of one fact: each new one was compared with all found before.
    let q: String = (0..100_000).map(|i| format!("x\t{i}\n")).collect();
    let many = program(&[
        file("many.rules", "rel q(x: sym, n: int).\np(x) :- q(x, _).\n"),
        file("q.tsv", &q),
    ]);
    let many_model = model(&many);
    let p = fact(&many, &many_model, "p", &[Value::text("x")]);
    group.bench_function("all_derivations_1e5", |b| {
        b.iter(|| ascribe::explain::support::all_derivations(&many, &many_model, p).len())
    });

    // A report over 300 candidates each resting on the same 300 uncertain facts.
    let mut report = String::from(
        "@hypothesis(\"responsible group\")\nrel cand(incident: sym, group: sym).\ncand(inc, G) :- group(G), ev(_E).\n",
    );
    for i in 0..300 {
        report.push_str(&format!("group(g{i}).\nev(e{i}) @confidence(0.5).\n"));
    }
    let report = program(&[file("report.rules", &report)]);
    let report_model = model(&report);
    let options = ascribe::report::ReportOptions {
        threshold: 0.5,
        hypotheses: Vec::new(),
        subjects: None,
        only: Vec::new(),
    };
    group.bench_function("report_300_candidates_300_evidence", |b| {
        b.iter(|| {
            let built = ascribe::report::report(&report, &report_model, &options).expect("report");
            ascribe::report::text(&built).len()
        })
    });
    group.finish();
}

fn main() {
    // Evaluation recurses once per body atom and explanation once per level, as the
    // command does on its own 1 GiB stack (`cli::main_with_large_stack`).
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| {
            let mut criterion = Criterion::default().configure_from_args();
            front_end(&mut criterion);
            evaluation(&mut criterion);
            explaining(&mut criterion);
            criterion.final_summary();
        })
        .expect("spawning the bench thread")
        .join()
        .expect("the benches ran");
}
