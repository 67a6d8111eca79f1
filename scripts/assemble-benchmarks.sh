#!/usr/bin/env bash
# Writes docs/benchmarks.md from benchmarks/results/*.md (one section per area).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$ROOT/docs/benchmarks.md"
{
  echo "# Benchmarks"
  echo
  echo "Measured with the scripts in \`benchmarks/\` (run them all with \`make bench\`) on the"
  echo "project's machine kind: 2 cores, 24 GiB, Debian 12, Python 3.11. Each section was written"
  echo "by its script; numbers are medians of repeated runs unless the section says otherwise."
  for f in "$ROOT"/benchmarks/results/*.md; do
    [ -e "$f" ] || continue
    echo
    sed 's/^#/##/' "$f"  # each section one level below the page title
  done
} > "$out"
echo "[bench] wrote $out"
