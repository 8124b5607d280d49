#!/usr/bin/env bash
# `make run`: the main job. Checks the machine, simulates the marketplace world (once) and runs every
# pipeline stage built so far, printing where the results are. Usage: scripts/run.sh [tiny|demo|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-demo}
LH=.venv/bin/lakehouse
started=$(date +%s)
landing=$("$LH" paths --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["landing"])')

echo "== 1/3 doctor"
"$LH" doctor

echo "== 2/3 simulate ($SCALE)"
if [ -f "$landing/_simulator/ground_truth.json" ]; then
  echo "a simulated world already exists in $landing (kept; 'lakehouse simulate --next-day' adds a day)"
else
  "$LH" simulate --scale "$SCALE"
fi

echo "== 3/3 ingest landing -> bronze"
"$LH" ingest

echo
echo "done in $(( $(date +%s) - started ))s. Query it:"
echo "  .venv/bin/python -c \"from lakehouse import connect; print(connect().sql('select count(*) from bronze.orders'))\""
"$LH" paths | head -5
