#!/usr/bin/env bash
# The whole test suite: `cargo test`, the documentation built without warnings, then a
# short fuzz run of every target, then a CI-sized comparison of random programs with
# clingo (300 programs, a few seconds).
#
#   scripts/test.sh                  # what CI runs
#   scripts/test.sh --long [COUNT]   # COUNT random programs (default 20000), checked in
#                                    # process and against clingo, with a release build;
#                                    # a few minutes
#
# Installs what the tests need beyond the Rust toolchain into a virtualenv of its own,
# target/venv (the system Python is never changed): the Python packages listed in
# scripts/requirements.txt (clingo; stix2-validator, which checks every exported STIX
# bundle; medallion, the TAXII 2.1 server for the TAXII tests); and Debian's chromium,
# with apt-get, when it is missing. Starts the TAXII server on a free local port and stops
# it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/venv
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import sys" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv" \
        || { echo "error: cannot create a Python virtualenv in $venv (is python3-venv installed?)" >&2; exit 1; }
fi
if ! cmp -s scripts/requirements.txt "$venv/requirements.installed"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt \
        || { echo "error: cannot install the Python packages of scripts/requirements.txt" >&2; exit 1; }
    cp scripts/requirements.txt "$venv/requirements.installed"
fi
export PATH="$PWD/$venv/bin:$PATH"
# Headless Chromium for the browser checks of the HTML pages (Debian's package; CI runs
# as root on a clean machine).
if ! command -v chromium >/dev/null 2>&1; then
    { apt-get update && apt-get install -y chromium; } \
        || { echo "error: cannot install Debian's chromium package (the HTML pages are checked in it)" >&2; exit 1; }
fi

if [[ "${1:-}" == "--long" ]]; then
    count="${2:-20000}"
    seed="${ASCRIBE_DIFF_SEED:-100001}"
    dir=target/differential/long
    rm -rf "$dir"
    cargo build --release --quiet
    ASCRIBE_DIFF_COUNT="$count" ASCRIBE_DIFF_SEED="$seed" \
        cargo test --release --quiet --test it differential::random_programs_agree_with_themselves
    ASCRIBE_DIFF_DIR="$PWD/$dir" ASCRIBE_DIFF_COUNT="$count" ASCRIBE_DIFF_SEED="$seed" \
        cargo test --release --quiet --test it differential::random_programs_export
    exec python3 tests/differential/compare_clingo.py --dataflow --ascribe target/release/ascribe "$dir"
fi

# A real TAXII 2.1 server (medallion) on a free local port, holding the APT40 slice as
# one collection, for tests/it/taxii.rs; stopped when this script ends.
taxii_dir=target/taxii
rm -rf "$taxii_dir"
taxii_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ASCRIBE_TAXII_URL=$(python3 scripts/taxii_server.py --bundle tests/data/attack-apt40-G0065.stix21.json \
    --dir "$taxii_dir" --port "$taxii_port")
export ASCRIBE_TAXII_URL
medallion --host 127.0.0.1 --port "$taxii_port" "$taxii_dir/config.json" >"$taxii_dir/medallion.log" 2>&1 &
taxii_pid=$!
trap 'kill "$taxii_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$taxii_port" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$taxii_pid" 2>/dev/null; then
        echo "error: the TAXII server did not start:" >&2
        cat "$taxii_dir/medallion.log" >&2
        exit 1
    fi
    sleep 0.1
done

cargo test
# The HTML pages in a real browser: a node opened from the address, a source found in
# the DOM, screenshots neither empty nor blank.
python3 tests/browser/check_pages.py --ascribe target/debug/ascribe
# The shipped rule set's own tests: expectations and golden files of every case in
# facts/, with a floor on rule coverage.
cargo run --quiet -- test rules/ --min-coverage 85
# The shipped rule and fact files are in the formatter's layout.
cargo run --quiet -- fmt --check rules/ facts/
# The shipped rules are lint-clean, alone and with each case's facts (and the ATT&CK
# reference tables every case shares, facts/attack/).
cargo run --quiet -- check --deny warnings rules/
cargo run --quiet -- check --deny warnings rules/ --facts facts/attack
# The MISP mapping beside the rule set.
cargo run --quiet -- check --deny warnings rules/ facts/misp/
for case in facts/*/; do
    if compgen -G "$case*.facts" >/dev/null; then
        cargo run --quiet -- check --deny warnings rules/ --facts "$case" --facts facts/attack
    fi
done
# Every STIX bundle the tests export (each case in facts/ through rules/, by `run` and
# `report`) passes OASIS's validator.
stix=target/stix/ci
rm -rf "$stix"
ASCRIBE_STIX_DIR="$PWD/$stix" cargo test --quiet --test it stix_export
python3 scripts/validate_stix.py "$stix"
# Public items are documented and the documentation links resolve.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
# A short fuzz run of every target (cargo-fuzz, installed when missing): a crash or
# hang fails the suite.
bash scripts/fuzz.sh ci 5
dir=target/differential/ci
rm -rf "$dir"
ASCRIBE_DIFF_DIR="$PWD/$dir" ASCRIBE_DIFF_COUNT=300 \
    cargo test --quiet --test it differential::random_programs_export
python3 tests/differential/compare_clingo.py --dataflow --ascribe target/debug/ascribe \
    "$dir" tests/fixtures/eval tests/fixtures/explain tests/fixtures/differential

