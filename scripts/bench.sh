#!/usr/bin/env bash
# Runs every benchmark (scripts, not timed tests) and assembles docs/benchmarks.md from the
# per-area results each one writes to benchmarks/results/<area>.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p benchmarks/results
for bench in benchmarks/*_bench.py; do
  echo "== $bench"; python "$bench"
done
for bench in benchmarks/*_bench.sh; do
  echo "== $bench"; bash "$bench"
done
scripts/assemble-benchmarks.sh
