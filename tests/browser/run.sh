#!/usr/bin/env bash
# The browser test: the real `mfund serve` on SQLite, the street office's page in Debian's
# headless Chromium driven by playwright-core, then checks of the database and the journal.
# Installs Chromium (Debian package) and playwright-core (npm registry) when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mfund="${MFUND_BIN:?set MFUND_BIN to the mfund binary}"

if [ ! -x /usr/bin/chromium ]; then
  echo "browser test: installing Debian's chromium" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent >/dev/null)
fi

work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export MFUND_DB="sqlite://$work/browser.db"
"$mfund" gen --units 60 --seed 5 --out "$work/city" >/dev/null
"$mfund" import --dir "$work/city" >/dev/null
building=$(sed -n 2p "$work/city/buildings.csv" | cut -d, -f1)
office=$(python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1]))); print(r[1][3])' "$work/city/estates.csv")
token=$("$mfund" user add --name browser-office --role street_office --scope "$office" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
"$mfund" drawdown apply --id WEB1 --estate E00001 --building "$building" --category water_supply \
  --estimate 8000 --contractor C5 --description "二次供水泵停机" --applicant 物业 --green-channel >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$mfund" serve --addr "127.0.0.1:$port" 2>"$work/serve.log" &
server=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

node "$here/approve.mjs" "http://127.0.0.1:$port" "$token" WEB1

# What the click did, read back from the database: the state, who decided and why, and an
# untouched journal.
shown=$("$mfund" drawdown show --id WEB1 --json)
python3 - "$shown" "$office" <<'PY'
import json, sys
view, office = json.loads(sys.argv[1]), sys.argv[2]
assert view["state"] == "approved", view["state"]
decision = view["events"][-1]
assert decision["action"] == "approve" and decision["role"] == "street_office" and decision["actor"] == "browser-office" and decision["office"] == office, decision
assert decision["reason"] == "现场核实，同意抢修", decision
PY
"$mfund" verify >/dev/null
echo "browser test: 1 passed, 0 failed"
