#!/usr/bin/env bash
# Builds the collection tarball and proves it installs and that ansible-doc renders every plugin.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/build/dist"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$ROOT/scripts/copy-collection.sh" "$TMP/src"
mkdir -p "$OUT"
ansible-galaxy collection build --force --output-path "$OUT" "$TMP/src" >/dev/null
TARBALL="$OUT/apron-cluster-$(sed -n 's/^version: *//p' "$ROOT/galaxy.yml").tar.gz"
echo "[build] $TARBALL"
# Install offline: the dependencies come from the ansible bundle already on the path.
ansible-galaxy collection install --force --no-deps -p "$TMP/install" "$TARBALL" >/dev/null
SITE="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
export ANSIBLE_COLLECTIONS_PATH="$TMP/install:$SITE"
fail=0
for type in module inventory connection filter; do
  plugins="$(ansible-doc -t "$type" -l apron.cluster 2>/dev/null | awk '{print $1}')"
  # Every type listed here has plugins in plugins/: an empty list means the install is broken.
  if [ -z "$plugins" ]; then
    echo "[build] ansible-doc -t $type -l apron.cluster listed nothing from the installed tarball"; fail=1
  fi
  for plugin in $plugins; do
    if ansible-doc -t "$type" "$plugin" >/dev/null 2>"$TMP/err"; then
      echo "[build] ansible-doc -t $type $plugin: ok"
    else
      echo "[build] ansible-doc -t $type $plugin FAILED:"; cat "$TMP/err"; fail=1
    fi
  done
done
exit "$fail"
