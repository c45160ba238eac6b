#!/usr/bin/env bash
# ascribe beside ascent and ascent_par on the large workloads of ../shared/bench/big/, in
# one run on one machine: wall time and peak RSS of each engine per workload, and the
# ratios the targets of the large workloads are stated in.
#
#   benches/big/peers.sh [DATA_DIR] [THREADS]
#   WORKLOADS="andersen pivot" benches/big/peers.sh ...   # only these workloads
#
# ASCRIBE_BIG names the folder of the workloads (default ../shared/bench/big); DATA_DIR
# holds <workload>/<relation>.tsv as written by its gen_big.py (default target/big-data,
# generated at full size if missing); THREADS is the parallel thread count (default 2).
# ascent and ascent_par are built from the workloads' `ascent/` project (ascent 0.8.1,
# fetched from crates.io) into target/big-ascent. ascribe runs as `threads.sh` runs it:
# explanations recorded and every derived relation written with --output; the peers
# count their relations. If `souffle` is on PATH, Soufflé's compiled programs run too
# (-j THREADS); otherwise its column says so. RUNS (default 1) runs of each cell, the
# fastest shown with its peak RSS. Needs a release build of ascribe (cargo build
# --release) and GNU time at /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/../.."
big="${ASCRIBE_BIG:-../shared/bench/big}"
data="${1:-target/big-data}"
threads="${2:-2}"
runs="${RUNS:-1}"
read -r -a workloads <<< "${WORKLOADS:-pivot andersen reach_sparse cspa}"
for workload in "${workloads[@]}"; do
    if [[ ! -d "$data/$workload" ]]; then
        python3 "$big/gen_big.py" --out "$data" --only "$workload"
    fi
done
CARGO_TARGET_DIR="$PWD/target/big-ascent" cargo build --release --quiet \
    --manifest-path "$big/ascent/Cargo.toml"
peer="$PWD/target/big-ascent/release/big-ascent"
bin=target/release/ascribe
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Prints "wall_s rss_mib" of the fastest of $runs runs of the command.
measure() {
    local best="" wall kib
    for ((run = 0; run < runs; run++)); do
        rm -rf "$out/result"
        /usr/bin/time -f "%e %M" -o "$out/time" "$@" > "$out/stdout" 2> "$out/stderr" || {
            cat "$out/stderr" >&2
            return 1
        }
        read -r wall kib < "$out/time"
        if [[ -z "$best" ]] || awk "BEGIN { exit !($wall < ${best%% *}) }"; then
            best="$wall $((kib / 1024))"
        fi
    done
    echo "$best"
}

souffle_cell() {
    local workload=$1
    if ! command -v souffle > /dev/null; then
        echo "not installed"
        return
    fi
    if [[ ! -x "$out/souffle-$workload" ]]; then
        souffle -o "$out/souffle-$workload" "$big/programs/souffle/$workload.dl" > /dev/null
    fi
    read -r wall rss < <(measure "$out/souffle-$workload" -F "$data/$workload" -D "$out" -j "$threads")
    echo "$wall / $rss"
}

printf '| workload | ascribe 1 thread | ascribe %s threads | ascent | ascent_par %s threads | Soufflé -j%s | ascribe %s / ascent_par | ascribe 1 / ascent |\n' \
    "$threads" "$threads" "$threads" "$threads"
printf '|---|---|---|---|---|---|---|---|\n'
for workload in "${workloads[@]}"; do
    rules="$big/programs/ascribe/$workload.rules"
    read -r a1 r1 < <(measure "$bin" run "$rules" --facts "$data/$workload" --output "$out/result" --threads 1 --quiet)
    read -r an rn < <(measure "$bin" run "$rules" --facts "$data/$workload" --output "$out/result" --threads "$threads" --quiet)
    read -r s1 q1 < <(measure "$peer" ascent "$workload" "$data/$workload")
    read -r sn qn < <(RAYON_NUM_THREADS="$threads" measure "$peer" ascent-par "$workload" "$data/$workload")
    souffle=$(souffle_cell "$workload")
    printf '| %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s | %s |\n' "$workload" \
        "$a1" "$r1" "$an" "$rn" "$s1" "$q1" "$sn" "$qn" "$souffle" \
        "$(awk "BEGIN { printf \"%.2fx\", $an / $sn }")" \
        "$(awk "BEGIN { printf \"%.2fx\", $a1 / $s1 }")"
done
