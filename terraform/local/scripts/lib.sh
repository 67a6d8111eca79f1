# Shared helpers for the local-provider lifecycle scripts (sourced, not executed).
# shellcheck shell=bash
set -euo pipefail

APRON_MANAGED_BY="apron.cluster"

log() { printf '[apron-local] %s\n' "$*" >&2; }
die() { printf '[apron-local] ERROR: %s\n' "$*" >&2; exit 1; }

# require VAR...: fail with a clear message when a required environment variable is empty.
require() {
  local var
  for var in "$@"; do
    [ -n "${!var:-}" ] || die "$0: environment variable $var is required (set by the terraform stack)"
  done
}

command -v podman >/dev/null 2>&1 || die "podman is not installed or not on PATH (the local provider needs it)"

# label_of KIND NAME LABEL: print a label of an existing podman object (empty when unset).
label_of() {
  local kind="$1" name="$2" label="$3" field=".Labels" value
  [ "$kind" = container ] && field=".Config.Labels"
  value="$(podman "$kind" inspect --format "{{ index $field \"$label\" }}" "$name")" \
    || die "podman $kind inspect $name failed"
  [ "$value" = "<no value>" ] && value=""
  printf '%s\n' "$value"
}

# assert_ours KIND NAME CLUSTER: refuse to touch an object another cluster or tool created.
assert_ours() {
  local kind="$1" name="$2" cluster="$3" managed owner
  managed="$(label_of "$kind" "$name" apron.io/managed-by)"
  owner="$(label_of "$kind" "$name" apron.io/cluster)"
  if [ "$managed" != "$APRON_MANAGED_BY" ] || [ "$owner" != "$cluster" ]; then
    die "podman $kind '$name' exists but is not managed by apron.cluster for cluster '$cluster' (labels: managed-by='$managed' cluster='$owner'); remove or rename it first"
  fi
}
