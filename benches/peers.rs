//! Peer engines (datafrog, ascent, crepe) on the standard Datalog workloads, TSV to count.
//!
//! Each benchmark `peers/<peer>/<dataset>` times the whole job, as the peer table in
//! `benches/README.md` does: read the dataset's TSV files, evaluate, count the output
//! relation. Every count is checked against `common::DATASETS` before its first timing.
//!
//! - `cargo bench --bench peers`: full-size data (a few minutes; criterion filters work,
//!   e.g. `cargo bench --bench peers -- tc_chain4000`).
//! - `ASCRIBE_BENCH_SMALL=1 cargo bench --bench peers`: the `--small` data, group
//!   `peers_small`. Runs without `--bench` (`cargo test --benches`) use it too.
//! - `ASCRIBE_PEER_ONCE=<peer>/<dataset> <bench executable>`: one checked run, no
//!   criterion, for measuring a peer's peak memory under `/usr/bin/time -v`.

mod common;
#[path = "peers/mod.rs"]
mod peers;

use std::path::Path;
use std::time::Duration;

use common::{Dataset, Size, Workload, DATASETS};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use peers::{Peer, PEERS};

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

fn bench_peers(criterion: &mut Criterion, size: Size) {
    let mut group = criterion.benchmark_group(match size {
        Size::Full => "peers",
        Size::Small => "peers_small",
    });
    // Full-size jobs take up to seconds each: one run per sample, ten samples.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    for dataset in &DATASETS {
        let dir = dataset.dir(size);
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
    let peer = PEERS
        .iter()
        .find(|peer| peer.name == peer_name)
        .unwrap_or_else(|| panic!("unknown peer {peer_name:?}"));
    let dataset =
        common::dataset(dataset_name).unwrap_or_else(|| panic!("unknown dataset {dataset_name:?}"));
    let size = if std::env::var("ASCRIBE_BENCH_SMALL").is_ok_and(|value| value != "0") {
        Size::Small
    } else {
        Size::Full
    };
    check(peer, dataset, size);
}

fn main() {
    if let Ok(job) = std::env::var("ASCRIBE_PEER_ONCE") {
        run_once(&job);
        return;
    }
    let size = size_from_env();
    let mut criterion = Criterion::default().configure_from_args();
    bench_peers(&mut criterion, size);
    criterion.final_summary();
}
