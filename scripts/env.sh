# Sourced by the Makefile and by developers: puts the venv and the collection on the paths.
# shellcheck shell=bash
APRON_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export APRON_ROOT
export VIRTUAL_ENV="${APRON_VENV:-$APRON_ROOT/.venv}"
export PATH="$VIRTUAL_ENV/bin:$PATH"
_apron_site="$("$VIRTUAL_ENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)"
export ANSIBLE_COLLECTIONS_PATH="$APRON_ROOT/.collections${_apron_site:+:$_apron_site}"
export ANSIBLE_CONFIG="$APRON_ROOT/ansible.cfg"
export ANSIBLE_ROLES_PATH="$APRON_ROOT/roles"
export PYTHONPATH="$APRON_ROOT/.collections${PYTHONPATH:+:$PYTHONPATH}"
unset _apron_site
# A TF_CLI_CONFIG_FILE naming a missing file makes terraform warn on every call.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -e "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
