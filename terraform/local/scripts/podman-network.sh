#!/usr/bin/env bash
# Lifecycle of the per-cluster podman network (local provider, network stack).
# Usage: podman-network.sh create|destroy   (settings from APRON_* environment variables)
#   APRON_NETWORK  network name (apron-<cluster>)     APRON_CIDR     subnet (the cluster's vpcCIDR)
#   APRON_CLUSTER  cluster name                        APRON_ENVIRONMENT environment name
# create is idempotent: an existing network of this cluster with the same subnet is kept.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require APRON_NETWORK APRON_CLUSTER

case "${1:-}" in
  create)
    require APRON_CIDR APRON_ENVIRONMENT
    if podman network exists "$APRON_NETWORK"; then
      assert_ours network "$APRON_NETWORK" "$APRON_CLUSTER"
      subnet="$(podman network inspect --format '{{ range .Subnets }}{{ .Subnet }} {{ end }}' "$APRON_NETWORK")"
      [ "${subnet% }" = "$APRON_CIDR" ] \
        || die "network $APRON_NETWORK exists with subnet '${subnet% }', the model asks for $APRON_CIDR; destroy the cluster's stacks first"
      log "network $APRON_NETWORK ($APRON_CIDR) already exists"
      exit 0
    fi
    podman network create --driver bridge --subnet "$APRON_CIDR" \
      --label "apron.io/managed-by=$APRON_MANAGED_BY" \
      --label "apron.io/environment=$APRON_ENVIRONMENT" \
      --label "apron.io/cluster=$APRON_CLUSTER" \
      "$APRON_NETWORK" >/dev/null \
      || die "podman network create $APRON_NETWORK --subnet $APRON_CIDR failed (subnet already used by another network?)"
    log "network $APRON_NETWORK ($APRON_CIDR) created"
    ;;
  destroy)
    if ! podman network exists "$APRON_NETWORK"; then
      log "network $APRON_NETWORK is already gone"; exit 0
    fi
    assert_ours network "$APRON_NETWORK" "$APRON_CLUSTER"
    attached="$(podman ps -a --filter "network=$APRON_NETWORK" --format '{{ .Names }}' | tr '\n' ' ')"
    [ -z "${attached// /}" ] \
      || die "network $APRON_NETWORK still has containers attached ($attached); destroy the tools/vault/kubernetes stacks first"
    podman network rm "$APRON_NETWORK" >/dev/null || die "podman network rm $APRON_NETWORK failed"
    log "network $APRON_NETWORK removed"
    ;;
  *) die "usage: $0 create|destroy" ;;
esac
