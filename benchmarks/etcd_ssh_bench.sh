#!/usr/bin/env bash
# etcd role over SSH, the way users run it: wall time of the first converge, of no-change
# re-runs and of a `--check --diff` run of molecule/etcd's playbooks on three systemd
# containers reached by OpenSSH (ControlMaster/ControlPersist and pipelining on, the settings of
# the project's ansible.cfg), three etcd clusters (k8s-main, k8s-events, overlay) on each.
# Every re-run and the check run must report changed=0. Writes benchmarks/results/etcd-ssh.md
# and, next to it, etcd-ssh-profile.txt (ansible.posix.profile_tasks of one extra no-op run).
#
# Usage: source scripts/env.sh && bash benchmarks/etcd_ssh_bench.sh [repetitions of the re-run, default 3]
# Environment: APRON_BENCH_KEEP_LOGS=1 keeps the logs directory (printed at the end).
#   APRON_BENCH_BEFORE=<dir>: a collections directory holding another apron.cluster (for example
#   `git archive <commit>` unpacked into <dir>/ansible_collections/apron/cluster); after the runs
#   above, no-op re-runs alternate between it and this checkout on the same hosts, so that both
#   are measured under the same load (the machine is shared).
#   APRON_BENCH_PREFIX: container/network name prefix (default apron-bench-etcd-ssh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh
REPEAT="${1:-3}"
IMAGE=localhost/apron-debian:bookworm
PREFIX="${APRON_BENCH_PREFIX:-apron-bench-etcd-ssh}"
NETWORK="$PREFIX"
HOSTS=("$PREFIX-1" "$PREFIX-2" "$PREFIX-3")
OUT="$ROOT/benchmarks/results/etcd-ssh.md"
PROFILE_OUT="$ROOT/benchmarks/results/etcd-ssh-profile.txt"
WORK="$(mktemp -d /tmp/apron-etcd-ssh-bench.XXXXXX)"
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

podman image exists "$IMAGE" || { echo "etcd_ssh_bench: $IMAGE is missing (scripts/build-base-image.sh)" >&2; exit 1; }

cleanup() {
  # The SSH masters this benchmark started (ControlPersist keeps them for 120 s otherwise).
  for ip in "${ADDRS[@]:-}"; do
    if [ -n "$ip" ]; then
      ssh -F /dev/null -o ControlPath="$WORK/cp/%C" -O exit "root@$ip" >/dev/null 2>&1 || true
    fi
  done
  for h in "${HOSTS[@]}"; do podman rm -f -t 0 "$h" >/dev/null 2>&1 || true; done
  podman network rm -f "$NETWORK" >/dev/null 2>&1 || true
  if [ "${APRON_BENCH_KEEP_LOGS:-0}" = 1 ]; then echo "etcd_ssh_bench: logs in $WORK"; else rm -rf "$WORK"; fi
}
ADDRS=()
trap cleanup EXIT

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# Sum of changed=N over the PLAY RECAP lines of a log.
changed() { awk 'match($0, /^[^ ].* : ok=[0-9]+ +changed=[0-9]+/) { sub(/.*changed=/, ""); n += $1 } END { print n + 0 }' "$1"; }
failed() { awk 'match($0, /^[^ ].* : ok=[0-9]+ +changed=[0-9]+ +unreachable=[0-9]+ +failed=[0-9]+/) { s = $0; sub(/.*unreachable=/, "", s); u += s + 0; sub(/.*failed=/, ""); n += $1 } END { print n + u }' "$1"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# --- hosts: three systemd containers on a network of their own, sshd with the benchmark's key
for h in "${HOSTS[@]}"; do podman rm -f -t 0 "$h" >/dev/null 2>&1 || true; done
podman network rm -f "$NETWORK" >/dev/null 2>&1 || true
podman network create "$NETWORK" >/dev/null
mkdir -p "$WORK/cp" "$WORK/ca"
ssh-keygen -q -t ed25519 -N '' -C apron-bench -f "$WORK/id_ed25519"
for i in 1 2 3; do
  podman run -d --name "${HOSTS[i-1]}" --hostname "etcd-$i" --network "$NETWORK" \
    --systemd=always "$IMAGE" /sbin/init >/dev/null
done
for h in "${HOSTS[@]}"; do
  # The base image ships openssh-server (host keys made at boot by a drop-in of ssh.service).
  podman exec -i "$h" sh -c 'install -d -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys' \
    < "$WORK/id_ed25519.pub"
  ADDRS+=("$(podman inspect -f "{{ (index .NetworkSettings.Networks \"$NETWORK\").IPAddress }}" "$h")")
done

cat > "$WORK/inventory.yml" <<EOF
etcd:
  hosts:
$(for i in 0 1 2; do printf '    %s:\n      ansible_host: %s\n' "${HOSTS[i]}" "${ADDRS[i]}"; done)
  vars:
    ansible_connection: ansible.builtin.ssh
    ansible_user: root
    ansible_ssh_private_key_file: $WORK/id_ed25519
    ansible_ssh_common_args: -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=$WORK/known_hosts
    # The same role variables as molecule/etcd (CA on the controller, in this run's directory).
    pki_ca_dir: "$WORK/ca/{{ pki_cluster }}"
    pki_cluster: bench
    etcd_backup_keep: 2
EOF
# The settings users run with (the project's ansible.cfg sets the same): pipelining, and one
# SSH master per host kept between tasks and between runs.
export ANSIBLE_PIPELINING=true
export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=120s -o PreferredAuthentications=publickey"
export ANSIBLE_SSH_CONTROL_PATH="$WORK/cp/%%C"
play() { ansible-playbook -i "$WORK/inventory.yml" "$@"; }

# Wait for sshd, then for systemd (molecule/etcd's prepare playbook).
for ip in "${ADDRS[@]}"; do
  for _ in $(seq 60); do
    ssh -F /dev/null -i "$WORK/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile="$WORK/known_hosts" \
      -o BatchMode=yes -o ConnectTimeout=2 "root@$ip" true 2>/dev/null && break
    sleep 1
  done
done
play molecule/etcd/prepare.yml >"$WORK/prepare.log" 2>&1 || { tail -n 40 "$WORK/prepare.log"; exit 1; }

# --check --diff on the fresh hosts: must not fail, and must predict changes.
start="$(now)"
play molecule/etcd/converge.yml --check --diff >"$WORK/check-fresh.log" 2>&1 || { tail -n 60 "$WORK/check-fresh.log"; exit 1; }
fresh_check="$(seconds "$start" "$(now)")"
fresh_check_changed="$(changed "$WORK/check-fresh.log")"

load_before="$(load)"
start="$(now)"
play molecule/etcd/converge.yml >"$WORK/converge-1.log" 2>&1 || { tail -n 60 "$WORK/converge-1.log"; exit 1; }
first="$(seconds "$start" "$(now)")" first_load="$(load)"
first_changed="$(changed "$WORK/converge-1.log")"

reruns=() rerun_changed=() rerun_loads=()
for i in $(seq "$REPEAT"); do
  start="$(now)"
  play molecule/etcd/converge.yml >"$WORK/converge-re-$i.log" 2>&1 || { tail -n 60 "$WORK/converge-re-$i.log"; exit 1; }
  reruns+=("$(seconds "$start" "$(now)")")
  rerun_changed+=("$(changed "$WORK/converge-re-$i.log")")
  rerun_loads+=("$(load | cut -d' ' -f1)")
done
start="$(now)"
play molecule/etcd/converge.yml --check --diff >"$WORK/check.log" 2>&1 || { tail -n 60 "$WORK/check.log"; exit 1; }
check="$(seconds "$start" "$(now)")" check_load="$(load)"
check_changed="$(changed "$WORK/check.log")"
# One more no-op run, with the per-task profile (not part of the timings above).
ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=40 \
  play molecule/etcd/converge.yml >"$WORK/profile.log" 2>&1 || { tail -n 60 "$WORK/profile.log"; exit 1; }
profile_changed="$(changed "$WORK/profile.log")"
# Interleaved no-op re-runs: the other collection (APRON_BENCH_BEFORE), then this checkout.
ab_before=() ab_after=() ab_changed=() ab_loads=()
if [ -n "${APRON_BENCH_BEFORE:-}" ]; then
  site="${ANSIBLE_COLLECTIONS_PATH#*:}"
  for i in $(seq "$REPEAT"); do
    start="$(now)"
    ANSIBLE_COLLECTIONS_PATH="$APRON_BENCH_BEFORE:$site" play molecule/etcd/converge.yml >"$WORK/ab-before-$i.log" 2>&1 \
      || { tail -n 60 "$WORK/ab-before-$i.log"; exit 1; }
    ab_before+=("$(seconds "$start" "$(now)")")
    start="$(now)"
    play molecule/etcd/converge.yml >"$WORK/ab-after-$i.log" 2>&1 || { tail -n 60 "$WORK/ab-after-$i.log"; exit 1; }
    ab_after+=("$(seconds "$start" "$(now)")")
    ab_changed+=("$(changed "$WORK/ab-before-$i.log")" "$(changed "$WORK/ab-after-$i.log")")
    ab_loads+=("$(load | cut -d' ' -f1)")
  done
fi
load_after="$(load)"
tasks="$(grep -cE '^TASK \[' "$WORK/converge-re-1.log" || true)"
med="$(median "${reruns[@]}")"

mkdir -p "$(dirname "$OUT")"
{
  echo "# etcd role over SSH: converge, no-change re-run and \`--check\`"
  echo
  echo "Generated by \`benchmarks/etcd_ssh_bench.sh\` on $(date -u '+%Y-%m-%d %H:%M') UTC ($(nproc) CPUs, $(ansible --version | head -n1), $(ssh -V 2>&1))."
  echo "molecule/etcd's prepare and converge playbooks on three podman systemd containers reached by"
  echo "OpenSSH (\`ansible.builtin.ssh\`, pipelining on, ControlMaster=auto, ControlPersist=120s),"
  echo "three etcd clusters (k8s-main, k8s-events, overlay) on each, CA on the controller. Load average"
  echo "(1/5/15 min) before the first converge: $load_before; after it: $first_load; after the check run: $check_load;"
  echo "after the profile run: $load_after. 1-minute load after each re-run: ${rerun_loads[*]}."
  echo
  echo "| run | wall time (s) | tasks reported changed |"
  echo "| --- | ---: | ---: |"
  echo "| \`--check --diff\` on the fresh hosts (must predict changes) | $fresh_check | $fresh_check_changed |"
  echo "| first converge (fresh hosts) | $first | $first_changed |"
  echo "| no-change re-run, median of $REPEAT (${reruns[*]}) | $med | ${rerun_changed[*]} |"
  echo "| \`--check --diff\` after converge | $check | $check_changed |"
  if [ "${#ab_before[@]}" -gt 0 ]; then
    echo
    echo "Interleaved on the same hosts (before = \`$APRON_BENCH_BEFORE\`, after = this checkout; 1-minute load"
    echo "after each pair: ${ab_loads[*]}; changed per run: ${ab_changed[*]}):"
    echo
    echo "| no-op re-run | runs (s) | median (s) |"
    echo "| --- | --- | ---: |"
    echo "| before | ${ab_before[*]} | $(median "${ab_before[@]}") |"
    echo "| after | ${ab_after[*]} | $(median "${ab_after[@]}") |"
  fi
  echo
  echo "The re-run executes $tasks task headers. Top tasks of one more no-op run (changed=$profile_changed;"
  echo "\`ansible.posix.profile_tasks\`, full list in \`benchmarks/results/etcd-ssh-profile.txt\`):"
  echo
  echo '```'
  awk '/^=+ *$/ { p = 1; next } p && /[0-9]+\.[0-9]+s *$/' "$WORK/profile.log" | head -n 12
  echo '```'
} >"$OUT"
{
  echo "# ansible.posix.profile_tasks of one no-op run of molecule/etcd/converge.yml over SSH"
  echo "# $(date -u '+%Y-%m-%d %H:%M') UTC, load after: $load_after"
  awk '/^PLAY RECAP/ { p = 1 } p' "$WORK/profile.log"
} >"$PROFILE_OUT"
cat "$OUT"
[ "$fresh_check_changed" -gt 0 ] || { echo "etcd_ssh_bench: --check on fresh hosts predicted no change; logs kept in $WORK" >&2; APRON_BENCH_KEEP_LOGS=1; exit 1; }
for c in "${rerun_changed[@]}" "$check_changed" "$profile_changed" "${ab_changed[@]}"; do
  [ "$c" = "0" ] || { echo "etcd_ssh_bench: a re-run reported $c changed task(s); logs kept in $WORK" >&2; APRON_BENCH_KEEP_LOGS=1; exit 1; }
done
