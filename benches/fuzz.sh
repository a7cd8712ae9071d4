#!/usr/bin/env bash
# Fuzz bench: the CSV scanner, the journal reader and import checker, the registry and bank
# readers, the amount parser and the parallel cut of the reconciliation scanner, on mutated
# valid files (ledger-core/src/fuzz.rs), in release mode.
#
#   benches/fuzz.sh [INPUTS]         default 1000000 inputs in total, shared among the targets
#
# Prints each target's count and the total. Any panic, accepted unbalanced entry or difference
# between the parallel and the sequential fold fails the run with the smallest failing input.
set -euo pipefail
cd "$(dirname "$0")/.."
total="${1:-1000000}"
targets=5
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mfund-target}"
export MFUND_FUZZ_CASES=$(( (total + targets - 1) / targets ))
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --release -q -p ledger-core --lib fuzz --no-run
start=$(date +%s.%N)
cargo test --release -q -p ledger-core --lib fuzz -- --nocapture 2>&1 | tee "$log"
end=$(date +%s.%N)
ran=$(grep -E '^fuzz [a-z_]+: [0-9]+ inputs$' "$log" | awk '{ sum += $3 } END { print sum + 0 }')
found=$(grep -cE '^fuzz [a-z_]+: [0-9]+ inputs$' "$log" || true)
[ "$found" -eq "$targets" ] || { echo "expected $targets fuzz targets, found $found" >&2; exit 2; }
printf 'fuzzed %s inputs in %.0f s (%s per target asked, %s targets)\n' \
  "$ran" "$(echo "$end - $start" | bc)" "$MFUND_FUZZ_CASES" "$targets"
