#!/usr/bin/env bash
# `make run`: the main job. Checks the machine, simulates the marketplace world (once), starts the services
# (local SMTP, Airflow, Superset) and runs the pipeline through Airflow: it triggers the ingest DAG over the REST
# API and follows the Asset chain ingest -> warehouse build (quality gates, Spark jobs) -> publish -> seller
# reports, then prints the URLs, logins and a summary. Services stay up until `make stop`.
# Usage: scripts/run.sh [tiny|demo|bench]
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

echo "== 3/3 the pipeline through Airflow (lakehouse up, then trigger over REST and follow the DAG runs)"
"$LH" run

echo
echo "done in $(( $(date +%s) - started ))s. Services stay up: 'lakehouse status' shows them, 'make stop' stops them."
