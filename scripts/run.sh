#!/usr/bin/env bash
# `make run`: the main job. Checks the machine, simulates the marketplace world (once) and runs every
# pipeline stage built so far, printing where the results are. Usage: scripts/run.sh [tiny|demo|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-demo}
LH=.venv/bin/lakehouse
started=$(date +%s)
landing=$("$LH" paths --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["landing"])')

echo "== 1/5 doctor"
"$LH" doctor

echo "== 2/5 simulate ($SCALE)"
if [ -f "$landing/_simulator/ground_truth.json" ]; then
  echo "a simulated world already exists in $landing (kept; 'lakehouse simulate --next-day' adds a day)"
else
  "$LH" simulate --scale "$SCALE"
fi

echo "== 3/5 ingest landing -> bronze"
"$LH" ingest

echo "== 4/5 build the warehouse, each layer behind its quality gate (dbt tests + Great Expectations); gold = the Spark jobs"
"$LH" check --layer bronze
"$LH" build --layer silver
"$LH" check --layer silver
"$LH" build --layer gold
"$LH" check --layer gold
"$LH" build --layer marts
"$LH" check --layer marts

echo "== 5/5 publish warehouse.duckdb for readers"
"$LH" publish

echo
echo "done in $(( $(date +%s) - started ))s. Query it:"
echo "  .venv/bin/lakehouse sql \"select date_reporting, sum(gmv_reporting) as gmv from kpi_daily group by 1 order by 1 desc limit 7\""
echo "  .venv/bin/lakehouse shell"
"$LH" paths | head -5
