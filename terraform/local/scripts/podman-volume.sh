#!/usr/bin/env bash
# Lifecycle of a stateful podman volume (<instance>-data) of the local provider.
# Usage: podman-volume.sh create|destroy   (settings from APRON_* environment variables)
#   APRON_VOLUME  volume name      APRON_CLUSTER / APRON_ENVIRONMENT / APRON_INSTANCE  labels
# create keeps an existing volume of this cluster (data survives re-creating containers and
# destroying/re-applying the stack). destroy KEEPS the volume unless the caller sets
# APRON_REMOVE_DATA_VOLUMES=yes in terraform's environment (an explicit, per-run decision).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require APRON_VOLUME APRON_CLUSTER

case "${1:-}" in
  create)
    require APRON_ENVIRONMENT APRON_INSTANCE
    if podman volume exists "$APRON_VOLUME"; then
      assert_ours volume "$APRON_VOLUME" "$APRON_CLUSTER"
      log "volume $APRON_VOLUME already exists: its data is kept"
      exit 0
    fi
    podman volume create \
      --label "apron.io/managed-by=$APRON_MANAGED_BY" \
      --label "apron.io/environment=$APRON_ENVIRONMENT" \
      --label "apron.io/cluster=$APRON_CLUSTER" \
      --label "apron.io/instance=$APRON_INSTANCE" \
      --label "apron.io/stateful=true" \
      "$APRON_VOLUME" >/dev/null || die "podman volume create $APRON_VOLUME failed"
    log "volume $APRON_VOLUME created"
    ;;
  destroy)
    if ! podman volume exists "$APRON_VOLUME"; then
      log "volume $APRON_VOLUME is already gone"; exit 0
    fi
    assert_ours volume "$APRON_VOLUME" "$APRON_CLUSTER"
    case "${APRON_REMOVE_DATA_VOLUMES:-no}" in
      yes|true|1)
        podman volume rm "$APRON_VOLUME" >/dev/null \
          || die "podman volume rm $APRON_VOLUME failed (still used by a container?)"
        log "volume $APRON_VOLUME removed (APRON_REMOVE_DATA_VOLUMES=${APRON_REMOVE_DATA_VOLUMES})"
        ;;
      *)
        log "volume $APRON_VOLUME KEPT (stateful data); set APRON_REMOVE_DATA_VOLUMES=yes to remove it on destroy, or: podman volume rm $APRON_VOLUME"
        ;;
    esac
    ;;
  *) die "usage: $0 create|destroy" ;;
esac
