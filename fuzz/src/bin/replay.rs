//! Runs fuzz targets over files and directories without libFuzzer, on a stable toolchain:
//!
//! ```sh
//! cargo run --release --no-default-features --bin replay -- TARGET PATH...
//! cargo run --release --no-default-features --bin replay -- all   # every fuzz/corpus/<target>/
//! ```
//!
//! Each input runs in turn; a panic is reported with the input's path and the replay
//! goes on. Exits 1 if any input panicked. Prints the slowest inputs, to find hangs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ascribe_fuzz::targets::TARGETS;

fn inputs(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
            .map(|entry| entry.expect("readable entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            inputs(&entry, out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

fn replay(name: &str, target: fn(&[u8]), paths: &[PathBuf]) -> usize {
    let mut files = Vec::new();
    for path in paths {
        inputs(path, &mut files);
    }
    let mut failed = 0;
    let mut slowest: Vec<(Duration, PathBuf)> = Vec::new();
    let start = Instant::now();
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let one = Instant::now();
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            eprintln!("{name}: {} panicked", file.display());
            failed += 1;
        }
        slowest.push((one.elapsed(), file.clone()));
    }
    slowest.sort();
    let worst = slowest
        .last()
        .map(|(t, p)| format!("; slowest {} ({:.3}s)", p.display(), t.as_secs_f64()))
        .unwrap_or_default();
    println!(
        "{name}: {} inputs, {failed} panicked, {:.2}s{worst}",
        files.len(),
        start.elapsed().as_secs_f64()
    );
    failed
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, paths)) = args.split_first() else {
        eprintln!("usage: replay TARGET PATH... | replay all");
        std::process::exit(2);
    };
    let failed = if name == "all" {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        TARGETS
            .iter()
            .map(|(name, target)| replay(name, *target, &[corpus.join(name)]))
            .sum()
    } else {
        let Some((_, target)) = TARGETS.iter().find(|(n, _)| n == name) else {
            eprintln!("unknown target {name}; targets: rules delimited json stix eval");
            std::process::exit(2);
        };
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        replay(name, *target, &paths)
    };
    std::process::exit(i32::from(failed > 0));
}
