#!/usr/bin/env bash
# Copies the collection's files (tracked plus untracked-but-not-ignored) to DEST, replacing it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$1"
rm -rf "$DEST"
mkdir -p "$DEST"
cd "$ROOT"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | rsync -a --from0 --files-from=- ./ "$DEST/"
