#!/usr/bin/env bash
# Builds the Debian 12 systemd base image used by Molecule and the local provider.
# No registry is reachable, so the image is made with debootstrap and imported.
# Re-running is a no-op while the image exists with the same recipe (label apron.recipe).
set -euo pipefail
IMAGE="${APRON_BASE_IMAGE:-localhost/apron-debian:bookworm}"
MIRROR="${APRON_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,openssh-server,sudo,ca-certificates,procps,netbase"
RECIPE="$(printf '%s\n' "$PACKAGES" "$(cat "$0")" | sha256sum | cut -c1-16)"

current="$(podman image inspect --format '{{ index .Labels "apron.recipe" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$current" = "$RECIPE" ]; then
  echo "[image] $IMAGE is up to date ($RECIPE)"; exit 0
fi

# Serialise concurrent builds (make test and make demo may both ask for the image).
exec 9>"/tmp/apron-base-image.lock"; flock 9
current="$(podman image inspect --format '{{ index .Labels "apron.recipe" }}' "$IMAGE" 2>/dev/null || true)"
[ "$current" = "$RECIPE" ] && exit 0

rootfs="$(mktemp -d /var/tmp/apron-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "[image] debootstrap bookworm into $rootfs"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
  || { tail -n 30 "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
# A container image carries no host keys or machine id of its own: each container makes them at boot.
rm -f "$rootfs"/etc/ssh/ssh_host_* "$rootfs"/etc/machine-id
: > "$rootfs/etc/machine-id"
mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
cat > "$rootfs/etc/systemd/system/ssh.service.d/10-hostkeys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
# Units that make no sense in a container and slow boot down.
for unit in systemd-resolved.service getty@tty1.service console-getty.service systemd-logind.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL apron.recipe=$RECIPE" - "$IMAGE" >/dev/null
echo "[image] built $IMAGE ($RECIPE)"
