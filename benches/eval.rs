//! ascribe and its peers (datafrog, ascent, crepe) on the standard Datalog workloads, in
//! one run so their times can be read as ratios.
//!
//! Each benchmark `eval/<engine>/<dataset>` times the whole job: read the dataset's TSV
//! files, evaluate, and (ascribe) write the output relation as TSV or (peers) count it.
//! `ascribe` records derivations (the default); `ascribe-no-explain` does not. Every
//! count is checked against `common::DATASETS` before its first timing.
//!
//! - `cargo bench --bench eval`: full-size data (several minutes; criterion filters work,
//!   e.g. `cargo bench --bench eval -- tc_chain4000`).
//! - `ASCRIBE_BENCH_SMALL=1 cargo bench --bench eval`: the `--small` data, group
//!   `eval_small`. Runs without `--bench` (`cargo test --benches`) use it too.
//! - `ASCRIBE_PEER_ONCE=<engine>/<dataset> <bench executable>`: one checked run, no
//!   criterion, for measuring peak memory under `/usr/bin/time -v`.

mod common;
#[path = "peers/mod.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ascribe::cli::{load_inputs, output, output_dir};
use ascribe::diagnostic::Sources;
use ascribe::{evaluate, EvalOptions};
use common::{Dataset, Size, Workload, DATASETS};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use peers::{Peer, PEERS};

/// ascribe's whole job: load the rules and the TSV files, evaluate, write the output
/// relation to `out`; returns its size.
fn run_ascribe(workload: Workload, dir: &Path, record: bool, out: &Path) -> usize {
    let mut paths = vec![workload.rules_path()];
    paths.extend(
        workload
            .inputs()
            .iter()
            .map(|r| dir.join(format!("{r}.tsv"))),
    );
    let mut sources = Sources::default();
    let inputs = load_inputs(&mut sources, &paths);
    let program = inputs
        .program
        .unwrap_or_else(|| panic!("{paths:?} did not load: {:?}", inputs.diagnostics));
    let options = EvalOptions {
        record_derivations: record,
        ..EvalOptions::default()
    };
    let model = evaluate(&program, &options);
    let output = program
        .predicate_id(workload.output())
        .expect("the output relation is declared");
    let staging = output_dir::Staging::begin(out, &[]).expect("writable output directory");
    output::write_dir(&program, &model, &[output], staging, 1).expect("writable output directory");
    model.len(output)
}

/// The ascribe variants benchmarked beside the peers.
const ASCRIBE: [(&str, bool); 2] = [("ascribe", true), ("ascribe-no-explain", false)];

/// Where results are written: a directory only ascribe writes (each run replaces it whole).
fn output_dir() -> PathBuf {
    std::env::temp_dir()
        .join("ascribe-bench-output")
        .join("out")
}

/// Reads the dataset's input relations from `dir` and returns the peer's output count.
fn run(peer: &Peer, workload: Workload, dir: &Path) -> usize {
    match workload {
        Workload::Tc => (peer.tc)(&common::read_pairs(dir, "edge")),
        Workload::Sg => (peer.sg)(&common::read_pairs(dir, "parent")),
        Workload::Neg => (peer.neg)(
            &common::read_pairs(dir, "edge"),
            &common::read_singles(dir, "bad"),
            &common::read_pairs(dir, "guard"),
        ),
        Workload::Tri => (peer.tri)(&common::read_pairs(dir, "edge")),
    }
}

/// Runs the job once and panics unless the count is the expected one.
fn check(peer: &Peer, dataset: &Dataset, size: Size) {
    let count = run(peer, dataset.workload, &dataset.dir(size));
    let expected = dataset.expected(size);
    assert_eq!(
        count,
        expected,
        "{} on {} ({size:?} data) derived {count} `{}` tuples, expected {expected}",
        peer.name,
        dataset.name,
        dataset.workload.output(),
    );
}

/// `ASCRIBE_BENCH_SMALL` set to anything but `0`, or not running as `cargo bench`.
fn size_from_env() -> Size {
    let small = std::env::var("ASCRIBE_BENCH_SMALL").is_ok_and(|value| value != "0");
    let bench_mode = std::env::args().any(|arg| arg == "--bench");
    if small || !bench_mode {
        Size::Small
    } else {
        Size::Full
    }
}

fn bench_all(criterion: &mut Criterion, size: Size) {
    let mut group = criterion.benchmark_group(match size {
        Size::Full => "eval",
        Size::Small => "eval_small",
    });
    // Full-size jobs take up to seconds each: one run per sample, ten samples.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    let out = output_dir();
    for dataset in &DATASETS {
        let dir = dataset.dir(size);
        for (name, record) in ASCRIBE {
            let mut checked = false;
            group.bench_function(BenchmarkId::new(name, dataset.name), |bencher| {
                if !checked {
                    let count = run_ascribe(dataset.workload, &dir, record, &out);
                    assert_eq!(count, dataset.expected(size), "{name} on {}", dataset.name);
                    checked = true;
                }
                bencher.iter(|| run_ascribe(dataset.workload, &dir, record, &out));
            });
        }
        for peer in &PEERS {
            let mut checked = false;
            group.bench_function(BenchmarkId::new(peer.name, dataset.name), |bencher| {
                // Criterion calls this closure for warm-up and for every sample, and only
                // when the benchmark passes the command-line filter.
                if !checked {
                    check(peer, dataset, size);
                    checked = true;
                }
                bencher.iter(|| run(peer, dataset.workload, &dir));
            });
        }
    }
    group.finish();
}

/// `ASCRIBE_PEER_ONCE=<peer>/<dataset>`: one checked run on full-size data
/// (`ASCRIBE_BENCH_SMALL=1` for small).
fn run_once(job: &str) {
    let (peer_name, dataset_name) = job
        .split_once('/')
        .unwrap_or_else(|| panic!("ASCRIBE_PEER_ONCE={job}: expected <peer>/<dataset>"));
    let dataset =
        common::dataset(dataset_name).unwrap_or_else(|| panic!("unknown dataset {dataset_name:?}"));
    let size = if std::env::var("ASCRIBE_BENCH_SMALL").is_ok_and(|value| value != "0") {
        Size::Small
    } else {
        Size::Full
    };
    if let Some(&(_, record)) = ASCRIBE.iter().find(|(name, _)| *name == peer_name) {
        // As the `ascribe` command does; the timed runs share one process with the
        // peers and keep glibc's defaults.
        ascribe::cli::keep_large_blocks_mapped();
        let count = run_ascribe(dataset.workload, &dataset.dir(size), record, &output_dir());
        assert_eq!(
            count,
            dataset.expected(size),
            "{peer_name} on {dataset_name}"
        );
        return;
    }
    let peer = PEERS
        .iter()
        .find(|peer| peer.name == peer_name)
        .unwrap_or_else(|| panic!("unknown engine {peer_name:?}"));
    check(peer, dataset, size);
}

fn main() {
    if let Ok(job) = std::env::var("ASCRIBE_PEER_ONCE") {
        run_once(&job);
        return;
    }
    let size = size_from_env();
    let mut criterion = Criterion::default().configure_from_args();
    bench_all(&mut criterion, size);
    criterion.final_summary();
}
