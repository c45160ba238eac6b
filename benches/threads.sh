#!/usr/bin/env bash
# Wall time and peak RSS of `ascribe run` on the large workloads of ../shared/bench/big/,
# per thread count, with explanations recorded and results written (--output).
#
#   benches/threads.sh [DATA_DIR] [RUNS] [THREADS...]
#   WORKLOADS="andersen" benches/threads.sh ...   # only these workloads
#
# ASCRIBE_BIG names that folder if it is not ../shared/bench/big. DATA_DIR holds <workload>/<relation>.tsv as written by gen_big.py (default:
# target/big-data, generated at full size if missing); each measurement is run RUNS
# times (default 3) and the best wall time is printed with its peak RSS. Needs a release
# build (cargo build --release) and GNU time at /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
big="${ASCRIBE_BIG:-../shared/bench/big}"
data="${1:-target/big-data}"
runs="${2:-3}"
shift $(( $# > 2 ? 2 : $# ))
threads=("${@:-1 2}")
read -r -a threads <<< "${threads[*]}"
read -r -a workloads <<< "${WORKLOADS:-andersen pivot}"
for workload in "${workloads[@]}"; do
    if [[ ! -d "$data/$workload" ]]; then
        python3 "$big/gen_big.py" --out "$data" --only "$workload"
    fi
done
bin=target/release/ascribe
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '| workload | threads | wall s (best of %s) | peak RSS MiB |\n|---|---|---|---|\n' "$runs"
for workload in "${workloads[@]}"; do
    for n in "${threads[@]}"; do
        best=""
        rss=""
        for _ in $(seq "$runs"); do
            rm -rf "$out/result"
            /usr/bin/time -f "%e %M" -o "$out/time" "$bin" run "$big/programs/ascribe/$workload.rules" \
                --facts "$data/$workload" --output "$out/result" --threads "$n" --quiet
            read -r wall kib < "$out/time"
            if [[ -z "$best" ]] || awk "BEGIN { exit !($wall < $best) }"; then
                best=$wall
                rss=$((kib / 1024))
            fi
        done
        printf '| %s | %s | %s | %s |\n' "$workload" "$n" "$best" "$rss"
    done
done
