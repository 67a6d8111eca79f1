# Sourced by the Makefile and by developers: puts the venv and the collection on the paths.
# shellcheck shell=bash
#
# Which copy of apron.cluster Ansible uses: by default the checkout itself (.collections links
# ansible_collections/apron/cluster to it). To use an installed tarball instead, point
# APRON_COLLECTIONS_PATH at the directory it was (or will be) installed into before sourcing:
#   export APRON_COLLECTIONS_PATH=$HOME/apron-collections && source scripts/env.sh
#   ansible-galaxy collection install build/dist/apron-cluster-0.1.0.tar.gz   # installs there
# The checkout is never put on PYTHONPATH: Ansible scans sys.path for collections, so a
# PYTHONPATH entry would shadow the installed copy. Tests add .collections to sys.path themselves.
APRON_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export APRON_ROOT
export VIRTUAL_ENV="${APRON_VENV:-$APRON_ROOT/.venv}"
export PATH="$VIRTUAL_ENV/bin:$PATH"
_apron_site="$("$VIRTUAL_ENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)"
export ANSIBLE_COLLECTIONS_PATH="${APRON_COLLECTIONS_PATH:-$APRON_ROOT/.collections}${_apron_site:+:$_apron_site}"
export ANSIBLE_CONFIG="$APRON_ROOT/ansible.cfg"
export ANSIBLE_ROLES_PATH="$APRON_ROOT/roles"
# Drop the checkout from a PYTHONPATH an older version of this script exported.
if [ -n "${PYTHONPATH:-}" ]; then
  PYTHONPATH="$(printf '%s' "$PYTHONPATH" | tr ':' '\n' | grep -vxF "$APRON_ROOT/.collections" | paste -sd: - || true)"
  if [ -n "$PYTHONPATH" ]; then export PYTHONPATH; else unset PYTHONPATH; fi
fi
unset _apron_site
# A TF_CLI_CONFIG_FILE naming a missing file makes terraform warn on every call.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -e "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
