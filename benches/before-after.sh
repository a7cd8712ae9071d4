#!/usr/bin/env bash
# Two mfund binaries on the same city, alternating, in one run: `reconcile --dir` (twice each,
# report compared byte for byte) and an import into a fresh SQLite database (once each), with
# wall time and peak RSS. Used to show a change costs nothing: benches/before-after.sh OLD NEW CITY
set -euo pipefail
old="$1" new="$2" city="$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in 1 2; do
  for side in old new; do
    bin=${!side}
    /usr/bin/time -f "$side reconcile round $round: %e s, peak %M KB" \
      "$bin" reconcile --dir "$city" --report "$work/$side.json" >/dev/null || [ $? = 1 ]
  done
done
cmp -s "$work/old.json" "$work/new.json" && echo "reports byte-identical" || echo "reports DIFFER"
for side in old new; do
  bin=${!side}
  /usr/bin/time -f "$side import into SQLite: %e s, peak %M KB" \
    "$bin" --db "sqlite://$work/$side.db" import --dir "$city" >/dev/null
done
