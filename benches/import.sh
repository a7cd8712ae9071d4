#!/usr/bin/env bash
# Import benchmark: postings per second that `mfund import` writes into SQLite and PostgreSQL,
# end to end (reading the CSV files, checking every entry against the registry, hashing the
# chain, writing in one transaction).
#
#   benches/import.sh [UNITS]        default 200000 units (about 3 million postings)
#
# PostgreSQL: MFUND_BENCH_PG (default postgres://postgres@127.0.0.1:5432/postgres) must accept
# CREATE DATABASE; a database of its own is created and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
units="${1:-200000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mfund-target}"
cargo build --release --bin mfund -q
mfund="$CARGO_TARGET_DIR/release/mfund"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
admin="${MFUND_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
bench_db="mfund_bench_$$"

"$mfund" gen --units "$units" --seed 1 --out "$work/city" --json > "$work/gen.json"
postings=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["postings"])' "$work/gen.json")
echo "city: $units units, $postings postings, $(du -sh "$work/city" | cut -f1) of CSV"

run() {
  local name="$1" url="$2"
  local start end
  start=$(date +%s.%N)
  "$mfund" --db "$url" import --dir "$work/city" --json > "$work/$name.json"
  end=$(date +%s.%N)
  python3 - "$name" "$postings" "$start" "$end" <<'PY'
import sys
name, postings, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
wall = end - start
print(f"{name:>10}: {wall:6.2f} s wall, {postings / wall:,.0f} postings/s")
PY
}

run sqlite "sqlite://$work/bench.db"
psql "$admin" -qc "CREATE DATABASE $bench_db" >/dev/null
run postgres "${admin%/*}/$bench_db"
psql "$admin" -qc "DROP DATABASE $bench_db WITH (FORCE)" >/dev/null
