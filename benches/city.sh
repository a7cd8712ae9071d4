#!/usr/bin/env bash
# City-scale reconciliation benchmark: `mfund reconcile` against the same reconciliation written
# in DuckDB SQL (benches/duckdb_reconcile.sql), on one generated city with planted faults.
#
#   benches/city.sh [UNITS]          default 2000000 units (about 33 million postings, ~2 GB of CSV)
#
# For each side it prints the wall time and peak RSS (from `/usr/bin/time -v`) and the DuckDB /
# mfund ratios, then mfund's postings per second, then the headline figures of both reports side
# by side. Both sides read the same CSV files and write a full report (JSON); DuckDB may use all
# threads. The DuckDB figure includes starting Python and importing duckdb (a fraction of a
# second). Statement matching by amount and date is approximate in SQL (see the .sql file), so a
# difference there is shown but tolerated; any other difference is flagged and the script exits 1.
#
# Needs: cargo, python3 (with venv and pip; PyPI reachable the first time: the duckdb package is
# installed once into $HOME/.cache/mfund-bench-venv), /usr/bin/time (Debian package `time`).
# The city is generated under $TMPDIR (default /tmp) and removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
units="${1:-2000000}"
root="$PWD"

if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing /usr/bin/time (apt-get install -y time)" >&2
    apt-get install -y -q time >/dev/null
  else
    echo "error: /usr/bin/time is missing; install it with: sudo apt-get install -y time" >&2
    exit 2
  fi
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mfund-target}"
cargo build --release --bin mfund -q
mfund="$CARGO_TARGET_DIR/release/mfund"

venv="$HOME/.cache/mfund-bench-venv"
if ! "$venv/bin/python3" -c 'import duckdb' 2>/dev/null; then
  echo "creating $venv with duckdb" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
city="$work/city"

"$mfund" gen --units "$units" --seed 1 --out "$city" --faults > /dev/null
postings=$(( $(wc -l < "$city/journal.csv") - 1 ))
echo "city: $units units, $postings journal postings, $(du -sh "$city" | cut -f1) of CSV"

# mfund: exit status 1 means discrepancies were found (expected: the faults), 2 a failure.
status=0
/usr/bin/time -v -o "$work/mfund.time" \
  "$mfund" reconcile --dir "$city" --report "$city/report.json" > "$work/mfund.out" || status=$?
if (( status > 1 )); then
  cat "$work/mfund.out" "$work/mfund.time" >&2
  echo "error: mfund reconcile failed (exit status $status)" >&2
  exit 2
fi

# DuckDB: the whole reconciliation in SQL, run in the city's folder; writes duckdb_report.json.
/usr/bin/time -v -o "$work/duckdb.time" \
  "$venv/bin/python3" - "$city" "$root/benches/duckdb_reconcile.sql" <<'PY'
import os, sys
import duckdb

city, sql = sys.argv[1], sys.argv[2]
os.chdir(city)
with open(sql, encoding="utf-8") as f:
    duckdb.connect().execute(f.read())
PY

python3 - "$work" "$city" "$postings" <<'PY'
import json, sys

work, city, postings = sys.argv[1], sys.argv[2], int(sys.argv[3])

def measured(name):
    """Wall seconds and peak RSS (MB) from a `/usr/bin/time -v` output file."""
    wall = rss = None
    for line in open(f"{work}/{name}.time"):
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            clock = line.rsplit(" ", 1)[1].split(":")  # h:mm:ss or m:ss.ss
            wall = sum(float(part) * 60 ** i for i, part in enumerate(reversed(clock)))
        elif line.startswith("Maximum resident set size (kbytes):"):
            rss = int(line.rsplit(" ", 1)[1]) / 1024
    return wall, rss

(m_wall, m_rss), (d_wall, d_rss) = measured("mfund"), measured("duckdb")
print()
print(f"{'':20} {'wall s':>10} {'peak RSS MB':>12}")
print(f"{'mfund reconcile':20} {m_wall:10.2f} {m_rss:12.1f}")
print(f"{'DuckDB SQL':20} {d_wall:10.2f} {d_rss:12.1f}")
print(f"{'DuckDB / mfund':20} {d_wall / max(m_wall, 0.01):9.2f}x {d_rss / m_rss:11.2f}x")
print(f"mfund: {postings:,} postings in {m_wall:.2f} s = {postings / max(m_wall, 0.01):,.0f} postings/s")

mfund = json.load(open(f"{city}/report.json"))
duck = json.load(open(f"{city}/duckdb_report.json"))
m_bank, d_bank = mfund["bank_reconciliation"], duck["bank_reconciliation"]
rows = [
    # (label, mfund, DuckDB, must agree)
    ("unbalanced entries", len(mfund["unbalanced_entries"]), len(duck["unbalanced_entries"]), True),
    ("invalid postings", len(mfund["invalid_postings"]), len(duck["invalid_postings"]), True),
    ("unit mismatches", len(mfund["unit_mismatches"]), len(duck["unit_mismatches"]), True),
    ("units missing in bank", len(mfund["units_missing_in_bank"]), len(duck["units_missing_in_bank"]), True),
    ("units unknown to registry", len(mfund["units_unknown_to_registry"]),
     len(duck["units_unknown_to_registry"]), True),
    ("overdrawn units", len(mfund["overdrawn_units"]), len(duck["overdrawn_units"]), True),
    ("top-up required", len(mfund["topup_required"]), len(duck["topup_required"]), True),
    ("statement book total", m_bank["book_total"], d_bank["book_total"], True),
    ("statement total", m_bank["statement_total"], d_bank["statement_total"], True),
    ("matched (SQL approx.)", m_bank["matched"], d_bank["matched"], False),
    ("unmatched ledger", len(m_bank["unmatched_ledger"]), len(d_bank["unmatched_ledger"]), False),
    ("unmatched statement", len(m_bank["unmatched_statement"]), len(d_bank["unmatched_statement"]), False),
    ("discrepancies", mfund["summary"]["discrepancies"], duck["summary"]["discrepancies"], False),
]
disagree = []
print()
print(f"{'':26} {'mfund':>14} {'DuckDB':>14}")
for label, m, d, must in rows:
    note = "" if m == d else ("  << DISAGREE" if must else "  (differs: matching approximate)")
    if m != d and must:
        disagree.append(label)
    print(f"{label:26} {m!s:>14} {d!s:>14}{note}")

# Beyond the headline numbers: every exactly computed part of the two reports, item by item.
approximate = {"matched", "unmatched_ledger", "unmatched_statement", "difference"}
differing = [key for key in mfund if key not in ("summary", "bank_reconciliation") and mfund[key] != duck[key]]
differing += [f"summary.{k}" for k in mfund["summary"] if k != "discrepancies" and mfund["summary"][k] != duck["summary"][k]]
differing += [f"bank_reconciliation.{k}" for k in m_bank if k not in approximate and m_bank[k] != d_bank[k]]
print()
if differing:
    print("reports differ in: " + ", ".join(differing))
    disagree += differing
else:
    print("reports identical in every exactly computed part "
          "(lists, roll-ups, summary, totals)")
if m_bank != d_bank:
    print("statement matching lists differ (DuckDB's step 2 is approximate)")
if disagree:
    print("DISAGREEMENT: " + ", ".join(dict.fromkeys(disagree)))
    sys.exit(1)
PY
