#!/usr/bin/env bash
# Fuzzes the targets in fuzz/ one after another, then shrinks the committed corpus.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   # fuzz each target SECONDS (default 300), then merge
#   scripts/fuzz.sh merge [TARGET...]       # only merge the last runs into fuzz/corpus/
#   scripts/fuzz.sh replay                  # run fuzz/corpus/ through every target, on stable
#   scripts/fuzz.sh ci [SECONDS]            # fuzz each target SECONDS (default 10), keep
#                                           # nothing, fail on the first crash or hang
#
# Targets: rules delimited json stix eval (default: all). cargo-fuzz needs a nightly
# compiler; RUSTC_BOOTSTRAP=1 lets the stable one build it. Builds are release with
# debug assertions (overflow checks) and no sanitizer: ascribe has no unsafe code.
# New inputs go to target/fuzz-corpus/<target>/ (the committed corpus is only read),
# crashes to fuzz/artifacts/<target>/, each run's log to target/fuzz-logs/<target>.log,
# which ends with libFuzzer's "Done N runs in S second(s)".
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
flags=(-O -a -s none)
logs=../target/fuzz-logs

max_len() {
    case "$1" in
        eval) echo 1024 ;;
        *) echo 8192 ;;
    esac
}

dict() {
    case "$1" in
        rules | eval) echo -dict=rules.dict ;;
        json | stix) echo -dict=json.dict ;;
        *) echo -runs=-1 ;; # a no-op flag: no dictionary
    esac
}

fuzz() {
    local target="$1" seconds="$2"
    local work="../target/fuzz-corpus/$target"
    mkdir -p "$work" "corpus/$target" "$logs"
    cargo fuzz build "${flags[@]}" "$target"
    cargo fuzz run "${flags[@]}" "$target" "$work" "corpus/$target" -- \
        "$(dict "$target")" -max_total_time="$seconds" -max_len="$(max_len "$target")" \
        -timeout=10 -print_final_stats=1 >"$logs/$target.log" 2>&1 \
        || { echo "$target: crash or hang, see $logs/$target.log and artifacts/$target/"; return 1; }
    grep -E '^Done [0-9]+ runs' "$logs/$target.log" | sed "s/^/$target: /" || true
}

# Keeps a small corpus: of the committed corpus and the last run's finds (at most 1 KiB
# each), the inputs that reach code no smaller input reaches. libFuzzer's merge runs the
# inputs smallest first and records, per input, the coverage edges it reached first;
# keeping those inputs keeps every edge (some hundreds of files, well under 1 MB).
merge() {
    local target="$1"
    local work="../target/fuzz-corpus/$target" scratch="../target/fuzz-corpus/$target.merge"
    mkdir -p "$work" "$logs" "corpus/$target"
    rm -rf "$scratch" && mkdir -p "$scratch/out"
    cargo fuzz run "${flags[@]}" "$target" "$scratch/out" "corpus/$target" "$work" -- \
        -merge=1 -max_len=1024 -timeout=10 -merge_control_file="$scratch/control" \
        >"$logs/$target.merge.log" 2>&1
    mkdir -p "$scratch/keep"
    python3 - "$scratch/control" "$scratch/keep" <<'PY'
import shutil, sys
control, keep = sys.argv[1], sys.argv[2]
lines = open(control).read().splitlines()
files = lines[2:2 + int(lines[0])]
for line in lines[2 + len(files):]:
    fields = line.split()
    if fields[0] == "COV" and len(fields) > 2:
        path = files[int(fields[1])]
        shutil.copy(path, keep)
PY
    rm -rf "corpus/$target" && mv "$scratch/keep" "corpus/$target" && rm -rf "$scratch"
    echo "$target: corpus $(ls "corpus/$target" | wc -l) files, $(cat "corpus/$target"/* | wc -c) bytes"
}

mode=fuzz
seconds=300
case "${1:-}" in
    replay) exec cargo run --quiet --release --no-default-features --bin replay -- all ;;
    merge) mode=merge; shift ;;
    ci) mode=ci; shift; seconds="${1:-10}"; [[ $# -gt 0 ]] && shift ;;
    [0-9]*) seconds="$1"; shift ;;
esac
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(rules delimited json stix eval)
fi
command -v cargo-fuzz >/dev/null || cargo install --quiet --locked cargo-fuzz
if [[ "$mode" == ci ]]; then
    # A short run on every target: new inputs stay in target/, a crash fails the run
    # (its input is in fuzz/artifacts/<target>/ and the log is printed).
    failed=0
    for target in "${targets[@]}"; do
        if ! fuzz "$target" "$seconds"; then
            tail -n 40 "$logs/$target.log"
            failed=1
        fi
    done
    exit "$failed"
fi
for target in "${targets[@]}"; do
    if [[ "$mode" == fuzz ]]; then
        fuzz "$target" "$seconds" || true
    fi
    merge "$target"
done
