#!/usr/bin/env bash
# Lifecycle of one local-provider instance: a systemd container on the cluster's podman network.
# Usage: podman-instance.sh create|destroy   (settings from APRON_* environment variables,
# filled by terraform/local/modules/instances from the terraform_data resource's own input)
#
#   APRON_NAME, APRON_IMAGE, APRON_NETWORK, APRON_ADDRESS (static IP on the network)
#   APRON_ENVIRONMENT, APRON_CLUSTER, APRON_POOL, APRON_ROLE, APRON_ZONE, APRON_INDEX, APRON_STACK
#   APRON_SPEC        hash of everything that shapes the container (stored as a label)
#   APRON_SSH_USER    admin user (sudo without password)   APRON_SSH_KEYS  its public keys, one a line
#   APRON_SSH_PORT    optional: publish sshd on 127.0.0.1:<port> (bastions only)
#   APRON_VOLUMES     optional: "volume:/mount/path" entries separated by spaces
#   APRON_PRIVILEGED  optional: "true" runs the container --privileged (Kubernetes nodes: containerd)
#   APRON_BOOT_TIMEOUT seconds to wait for systemd and sshd (default 180)
#   APRON_KNOWN_HOSTS optional: known_hosts file in which create records the instance's host keys
#                     (read from the container itself, so no trust-on-first-use is needed and a
#                     re-created instance never trips over its predecessor's keys); destroy
#                     removes them again
#
# create is idempotent: a running container of this cluster with the same spec label is kept
# (only the admin access is re-asserted); one with another spec is replaced; a container of the
# same name that apron did not create for this cluster is an error. create returns only when
# systemd is running and sshd answers (on the instance address, and on the published port).
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require APRON_NAME APRON_CLUSTER
name="$APRON_NAME"
timeout_s="${APRON_BOOT_TIMEOUT:-180}"

running() { [ "$(podman inspect --format '{{ .State.Running }}' "$name" 2>/dev/null)" = "true" ]; }

fail_with_logs() {
  log "last lines of the container journal/log of $name:"
  podman logs --tail 30 "$name" >&2 2>&1 || true   # diagnostics only; the failure is reported below
  die "$*"
}

wait_systemd() {
  local deadline=$((SECONDS + timeout_s)) state=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    running || fail_with_logs "container $name stopped while booting"
    state="$(podman exec "$name" systemctl is-system-running 2>/dev/null)" || true  # non-zero until 'running'
    case "$state" in
      running) return 0 ;;
      degraded)
        log "WARNING: $name booted degraded; failed units:"
        podman exec "$name" systemctl --failed --no-legend >&2 || true  # diagnostics only
        return 0 ;;
    esac
    sleep 0.5
  done
  fail_with_logs "systemd in $name did not reach 'running' within ${timeout_s}s (last state: '${state:-unknown}')"
}

# ssh_answers HOST PORT [in-container]: true when an SSH banner comes back.
ssh_answers() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  local probe='exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t 3 line <&3 && [ "${line#SSH-2.0-}" != "$line" ]'
  if [ "${3:-}" = in-container ]; then
    podman exec "$name" timeout 5 bash -c "$probe" "$1" "$2" 2>/dev/null
  else
    timeout 5 bash -c "$probe" "$1" "$2" 2>/dev/null
  fi
}

wait_ssh() {
  local deadline=$((SECONDS + timeout_s))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ssh_answers "$APRON_ADDRESS" 22 in-container; then
      if [ -z "${APRON_SSH_PORT:-}" ] || ssh_answers 127.0.0.1 "$APRON_SSH_PORT"; then
        return 0
      fi
    fi
    running || fail_with_logs "container $name stopped while waiting for sshd"
    sleep 0.5
  done
  podman exec "$name" systemctl status ssh --no-pager >&2 || true  # diagnostics only
  die "sshd of $name does not answer on $APRON_ADDRESS:22${APRON_SSH_PORT:+ and 127.0.0.1:$APRON_SSH_PORT} within ${timeout_s}s"
}

# Runs inside the container: admin user, sudo, authorized keys (stdin), sshd baseline hardening.
# Idempotent: files are only rewritten (and sshd only reloaded) when their content differs.
# shellcheck disable=SC2016  # runs inside the container
CONFIGURE='
set -euo pipefail
user="$APRON_SSH_USER"
id -u "$user" >/dev/null 2>&1 || useradd --create-home --user-group --shell /bin/bash "$user"
home="$(getent passwd "$user" | cut -d: -f6)"
install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
keys="$(mktemp)"; cat > "$keys"
[ -s "$keys" ] || { echo "no SSH public key given for $user" >&2; exit 1; }
cmp -s "$keys" "$home/.ssh/authorized_keys" || install -m 0600 -o "$user" -g "$user" "$keys" "$home/.ssh/authorized_keys"
rm -f "$keys"
sudoers="/etc/sudoers.d/90-apron-$user"
want="$user ALL=(ALL) NOPASSWD:ALL"
if [ "$(cat "$sudoers" 2>/dev/null)" != "$want" ]; then
  printf "%s\n" "$want" > "$sudoers.tmp"; chmod 0440 "$sudoers.tmp"
  visudo -cqf "$sudoers.tmp"; mv "$sudoers.tmp" "$sudoers"
fi
conf=/etc/ssh/sshd_config.d/10-apron.conf
new="$(mktemp)"
cat > "$new" <<CONF
# Managed by apron.cluster (local provider); the bastion role hardens further.
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitEmptyPasswords no
X11Forwarding no
AllowAgentForwarding no
MaxAuthTries 4
LoginGraceTime 30
CONF
if ! cmp -s "$new" "$conf"; then
  install -m 0644 "$new" "$conf"; sshd -t
  systemctl reload-or-restart ssh.service
fi
rm -f "$new"
systemctl is-active --quiet ssh.service || systemctl start ssh.service
'

configure() {
  printf '%s\n' "$APRON_SSH_KEYS" | podman exec -i -e "APRON_SSH_USER=$APRON_SSH_USER" "$name" bash -c "$CONFIGURE" \
    || fail_with_logs "configuring the admin user '$APRON_SSH_USER' and sshd in $name failed"
}

# known_hosts names of the instance: its address, and [127.0.0.1]:<port> for bastions.
known_names() {
  printf '%s\n' "$APRON_ADDRESS"
  [ -z "${APRON_SSH_PORT:-}" ] || printf '[127.0.0.1]:%s\n' "$APRON_SSH_PORT"
}

# update_known_hosts [KEYS]: drop the instance's entries, then add KEYS ("type base64" lines) for
# each of its names. Serialised with flock: the instances of a stack are created in parallel.
update_known_hosts() {
  [ -n "${APRON_KNOWN_HOSTS:-}" ] || return 0
  local keys="${1:-}" dir names tmp
  dir="$(dirname "$APRON_KNOWN_HOSTS")"
  mkdir -p "$dir" || die "cannot create $dir for the known_hosts file"
  names="$(known_names)"
  (
    flock 9 || die "cannot lock $APRON_KNOWN_HOSTS.lock"
    tmp="$(mktemp "$APRON_KNOWN_HOSTS.XXXXXX")"
    if [ -f "$APRON_KNOWN_HOSTS" ]; then
      awk -v names="$names" 'BEGIN { n = split(names, drop, "\n"); for (i = 1; i <= n; i++) skip[drop[i]] = 1 }
        { keep = 1; m = split($1, hosts, ","); for (i = 1; i <= m; i++) if (hosts[i] in skip) keep = 0 }
        keep' "$APRON_KNOWN_HOSTS" > "$tmp" || die "cannot filter $APRON_KNOWN_HOSTS"
    fi
    if [ -n "$keys" ]; then
      local host
      while IFS= read -r host; do
        printf '%s\n' "$keys" | awk -v host="$host" 'NF >= 2 { print host, $1, $2 }' >> "$tmp"
      done <<< "$names"
    fi
    { chmod 0600 "$tmp" && mv "$tmp" "$APRON_KNOWN_HOSTS"; } || die "cannot write $APRON_KNOWN_HOSTS"
  ) 9>>"$APRON_KNOWN_HOSTS.lock"
}

record_host_keys() {
  [ -n "${APRON_KNOWN_HOSTS:-}" ] || return 0
  local keys
  keys="$(podman exec "$name" sh -c 'cat /etc/ssh/ssh_host_*_key.pub')" \
    || die "cannot read the SSH host keys of $name"
  [ -n "$keys" ] || die "$name has no SSH host keys"
  update_known_hosts "$keys"
  log "$name host keys recorded in $APRON_KNOWN_HOSTS"
}

create() {
  require APRON_IMAGE APRON_NETWORK APRON_ADDRESS APRON_ENVIRONMENT APRON_POOL APRON_ROLE \
    APRON_ZONE APRON_INDEX APRON_SPEC APRON_SSH_USER APRON_SSH_KEYS
  if podman container exists "$name"; then
    assert_ours container "$name" "$APRON_CLUSTER"
    if [ "$(label_of container "$name" apron.io/spec)" = "$APRON_SPEC" ]; then
      if running; then
        log "$name already exists with the same spec"
      else
        log "$name exists with the same spec but is stopped: starting it"
        podman start "$name" >/dev/null || die "podman start $name failed"
      fi
    else
      log "$name exists with another spec: replacing it"
      podman rm --force --time 15 "$name" >/dev/null || die "podman rm $name failed"
    fi
  fi
  if ! podman container exists "$name"; then
    podman image exists "$APRON_IMAGE" \
      || die "image $APRON_IMAGE not found: build it with 'make image' (scripts/build-base-image.sh)"
    podman network exists "$APRON_NETWORK" \
      || die "network $APRON_NETWORK not found: apply the network stack first"
    local -a args=(
      run --detach --name "$name" --hostname "$name" --pull never
      --systemd always --stop-timeout 15
      --network "$APRON_NETWORK" --ip "$APRON_ADDRESS"
      --label "apron.io/managed-by=$APRON_MANAGED_BY" --label "apron.io/spec=$APRON_SPEC"
      --label "apron.io/environment=$APRON_ENVIRONMENT" --label "apron.io/cluster=$APRON_CLUSTER"
      --label "apron.io/pool=$APRON_POOL" --label "apron.io/role=$APRON_ROLE"
      --label "apron.io/zone=$APRON_ZONE" --label "apron.io/index=$APRON_INDEX"
      --label "apron.io/stack=${APRON_STACK:-}"
    )
    [ -z "${APRON_SSH_PORT:-}" ] || args+=(--publish "127.0.0.1:${APRON_SSH_PORT}:22")
    [ "${APRON_PRIVILEGED:-}" != "true" ] || args+=(--privileged)
    local vol
    for vol in ${APRON_VOLUMES:-}; do
      podman volume exists "${vol%%:*}" || die "volume ${vol%%:*} of $name does not exist"
      args+=(--volume "$vol")
    done
    podman "${args[@]}" "$APRON_IMAGE" /sbin/init >/dev/null \
      || die "podman run $name failed (address $APRON_ADDRESS or port ${APRON_SSH_PORT:-none} already in use?)"
    log "$name started ($APRON_ADDRESS on $APRON_NETWORK${APRON_SSH_PORT:+, ssh on 127.0.0.1:$APRON_SSH_PORT})"
  fi
  wait_systemd
  configure
  wait_ssh
  record_host_keys
  log "$name is ready"
}

destroy() {
  if podman container exists "$name"; then
    assert_ours container "$name" "$APRON_CLUSTER"
    podman rm --force --time 15 "$name" >/dev/null || die "podman rm $name failed"
    log "$name removed"
  else
    log "$name is already gone"
  fi
  [ -z "${APRON_ADDRESS:-}" ] || update_known_hosts ""
}

case "${1:-}" in
  create) create ;;
  destroy) destroy ;;
  *) die "usage: $0 create|destroy" ;;
esac
