#!/usr/bin/env bash
# `make run`: the main job. Checks the machine, simulates the marketplace world (once) and runs every
# pipeline stage built so far, printing where the results are. Usage: scripts/run.sh [tiny|demo|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-demo}
LH=.venv/bin/lakehouse
started=$(date +%s)
landing=$("$LH" paths --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["landing"])')

echo "== 1/6 doctor"
"$LH" doctor

echo "== 2/6 simulate ($SCALE)"
if [ -f "$landing/_simulator/ground_truth.json" ]; then
  echo "a simulated world already exists in $landing (kept; 'lakehouse simulate --next-day' adds a day)"
else
  "$LH" simulate --scale "$SCALE"
fi

echo "== 3/6 ingest landing -> bronze"
"$LH" ingest

echo "== 4/6 build the warehouse, each layer behind its quality gate (dbt tests + Great Expectations); gold = the Spark jobs"
"$LH" check --layer bronze
"$LH" build --layer silver
"$LH" check --layer silver
"$LH" build --layer gold
"$LH" check --layer gold
"$LH" build --layer marts
"$LH" check --layer marts

echo "== 5/6 publish warehouse.duckdb for readers"
"$LH" publish

echo "== 6/6 Superset dashboards (first start creates its metadata database, ~20 s)"
"$LH" superset up

echo
echo "done in $(( $(date +%s) - started ))s. Query it:"
echo "  .venv/bin/lakehouse sql \"select date_reporting, sum(gmv_reporting) as gmv from kpi_daily group by 1 order by 1 desc limit 7\""
echo "  .venv/bin/lakehouse shell"
echo "Dashboards: $("$LH" credentials --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["superset"]["url"])')" \
  "(logins: .venv/bin/lakehouse credentials; stored in $("$LH" paths --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["credentials_file"])'));" \
  "stop with 'make stop'"
"$LH" paths | head -5
