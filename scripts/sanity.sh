#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection laid out as ansible_collections/apron/cluster
# (ansible-test requires that path). Extra arguments go to ansible-test, e.g. --test pylint.
# Each test's pinned requirements go into a venv of ansible-test's own; the pip bootstrap it
# needs for that is put in place by scripts/bootstrap.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Outside the repository: inside it, git would report the copy as ignored and ansible-test would skip everything.
BASE="${APRON_SANITY_DIR:-/var/tmp/apron-sanity}/ansible_collections"
DEST="$BASE/apron/cluster"
"$ROOT/scripts/copy-collection.sh" "$DEST"

# The collections we depend on, from the ansible bundle in .venv, next to ours.
SITE="$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for dep in community/general community/crypto ansible/posix containers/podman amazon/aws kubernetes/core community/hashi_vault; do
  mkdir -p "$BASE/${dep%/*}"
  ln -sfn "$SITE/ansible_collections/$dep" "$BASE/$dep"
done

cd "$DEST"
ansible-test sanity --local --python 3.11 --color no "$@"
