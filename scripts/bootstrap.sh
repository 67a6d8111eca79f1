#!/usr/bin/env bash
# Installs everything apron's demo and test suite need on a Debian 12 machine:
# Debian packages, the podman settings this kernel needs, a Python venv with pinned
# requirements, and a link that makes this checkout importable as apron.cluster.
# Safe to re-run: every step checks before it changes anything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${APRON_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

APT_PACKAGES=(podman runc debootstrap uidmap slirp4netns fuse-overlayfs
              etcd-server etcd-client openssh-client sshpass rsync git make ca-certificates shellcheck)

log() { printf '[bootstrap] %s\n' "$*"; }

install_apt_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root or install them first)"; exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The etcd-server package starts a default member on 2379; apron runs its own units.
  if command -v systemctl >/dev/null && systemctl is-active -q etcd 2>/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
}

configure_podman() {
  # crun cannot run on this kernel's cgroup v1 hybrid, and the default rlimits cannot be raised.
  local conf=/etc/containers/containers.conf desired
  desired="$(cat "$ROOT/scripts/files/containers.conf")"
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$desired" ]; then
    [ "$(id -u)" -eq 0 ] || { log "cannot write $conf as non-root"; return 0; }
    log "writing $conf"
    mkdir -p /etc/containers
    printf '%s\n' "$desired" > "$conf"
  fi
}

create_venv() {
  local req="$ROOT/requirements/test.txt" stamp="$VENV/.apron-requirements.sha256" want
  want="$(cat "$req" "$ROOT/requirements/constraints.txt" | sha256sum | cut -d' ' -f1)"
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python requirements into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip wheel
    "$VENV/bin/pip" install -q -r "$req" -c "$ROOT/requirements/constraints.txt"
    echo "$want" > "$stamp"
  fi
}

create_checkov_venv() {
  # checkov pins dependencies that clash with ansible-lint's, so it gets a venv of its own.
  local venv="$ROOT/.venv-checkov" stamp="$ROOT/.venv-checkov/.apron-requirements.sha256" want
  want="$(cat "$ROOT/requirements/checkov.txt" "$ROOT/requirements/checkov-constraints.txt" | sha256sum | cut -d' ' -f1)"
  [ -x "$venv/bin/python" ] || { log "creating $venv"; "$PYTHON" -m venv "$venv"; }
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing checkov into $venv"
    "$venv/bin/pip" install -q -r "$ROOT/requirements/checkov.txt" -c "$ROOT/requirements/checkov-constraints.txt"
    echo "$want" > "$stamp"
  fi
}

install_ansible_test_pip_bootstrap() {
  # ansible-test makes a venv per sanity test and bootstraps pip in it with a get-pip.py
  # downloaded from a host this machine cannot reach; give it an equivalent it can run.
  local pip_version cache
  pip_version="$(grep -oP "pip='\K[0-9.]+" "$VENV"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1)"
  cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  if ! cmp -s "$ROOT/scripts/files/ansible-test-get-pip.py" "$cache"; then
    mkdir -p "$(dirname "$cache")"
    cp "$ROOT/scripts/files/ansible-test-get-pip.py" "$cache"
  fi
}

link_collection() {
  local dir="$ROOT/.collections/ansible_collections/apron"
  mkdir -p "$dir"
  [ -L "$dir/cluster" ] || ln -sfn "$ROOT" "$dir/cluster"
}

install_apt_packages
configure_podman
create_venv
create_checkov_venv
install_ansible_test_pip_bootstrap
link_collection
log "ready: source scripts/env.sh (make does this for you)"
