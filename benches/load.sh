#!/usr/bin/env bash
# API load benchmark on loopback, bounded in time: balance reads, and full
# apply → approve → advance cycles, against `mfund serve` on SQLite and on PostgreSQL; then the
# same cycles in-process through the store, without HTTP.
#
#   benches/load.sh [SECONDS]        default 10 s per measurement
#
# PostgreSQL: MFUND_BENCH_PG (default postgres://postgres@127.0.0.1:5432/postgres) must accept
# CREATE DATABASE; a database of its own is created and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mfund-target}"
cargo build --release -q --bin mfund -p ledger-cli
cargo build --release -q --bin load -p mfund-benches
mfund="$CARGO_TARGET_DIR/release/mfund"
load="$CARGO_TARGET_DIR/release/load"
work=$(mktemp -d)
server=""
admin="${MFUND_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
bench_db="mfund_load_$$"
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  psql "$admin" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$mfund" gen --units 2000 --seed 3 --out "$work/city" >/dev/null
unit=$(sed -n 2p "$work/city/units.csv" | cut -d, -f1)
building=$(sed -n 2p "$work/city/buildings.csv" | cut -d, -f1)
office=$(python3 -c 'import csv,sys; print(list(csv.reader(open(sys.argv[1])))[1][3])' "$work/city/estates.csv")
token() { python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }

run() {
  local name="$1" url="$2"
  export MFUND_DB="$url"
  "$mfund" import --dir "$work/city" >/dev/null
  local clerk office_token
  clerk=$("$mfund" user add --name "clerk-$name" --role clerk --json | token)
  office_token=$("$mfund" user add --name "office-$name" --role street_office --scope "$office" --json | token)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$mfund" serve --addr "127.0.0.1:$port" 2>/dev/null &
  server=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  echo "== $name"
  "$load" "127.0.0.1:$port" balance "$unit" "$clerk" 32 "$seconds"
  "$load" "127.0.0.1:$port" cycle E00001 "$building" "$clerk" "$office_token" 16 "$seconds"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  # The same cycle in-process, without HTTP: how much of it is the database writer's.
  "$load" "$url" store-cycle E00001 "$building" "$office" 16 "$seconds"
}

run sqlite "sqlite://$work/load.db"
psql "$admin" -qc "CREATE DATABASE $bench_db" >/dev/null
run postgres "${admin%/*}/$bench_db"
