#!/usr/bin/env bash
# `make run`: the main job. Checks the machine, simulates the marketplace world and runs every pipeline
# stage built so far, printing where the results are. Usage: scripts/run.sh [tiny|demo|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-demo}
LH=.venv/bin/lakehouse
has() { "$LH" --help | grep -qE "^  $1 "; }
started=$(date +%s)

echo "== 1/3 doctor"
"$LH" doctor

echo "== 2/3 simulate ($SCALE)"
if has simulate; then
  "$LH" simulate --scale "$SCALE"
else
  echo "simulator not built yet"
fi

echo "== 3/3 pipeline"
if has ingest; then
  "$LH" ingest
else
  echo "ingestion not built yet"
fi

echo
echo "done in $(( $(date +%s) - started ))s; state lives under:"
"$LH" paths | head -4
