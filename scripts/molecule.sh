#!/usr/bin/env bash
# Runs Molecule scenarios through the full apron.cluster sequence (docs/testing.md):
#
#   destroy (clean start) → create → prepare (fixtures, never in check mode)
#   → converge --check --diff (fresh host; must not fail)
#   → converge → converge --check --diff (zero changes) → idempotence
#   → converge --check --diff (zero changes) → verify → side-effect (when the scenario
#   has a side_effect.yml; its plays assert their own results) → destroy (always)
#
# Usage: scripts/molecule.sh [scenario ...]    (default: every molecule/*/ scenario but NOT_YET_DEFAULT)
# Environment:
#   MOLECULE_SH_LOG_DIR  where the per-step logs go (default tests/output/molecule)
#   MOLECULE_SH_KEEP=1   keep the instances after the run (skip the final destroy)
#   MOLECULE_SH_VERBOSE=1  stream Molecule's output as well as logging it (use with MOLECULE_SH_JOBS=1)
#   MOLECULE_SH_JOBS=N   scenarios run at the same time (default 2)
# Prints per-step timings, and last a line `molecule: N passed, M failed` (N/M = scenarios).
# Exit status: 0 when every scenario passed, 1 otherwise, 2 on usage errors.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

LOG_DIR="${MOLECULE_SH_LOG_DIR:-$ROOT/tests/output/molecule}"
# Plain, unwrapped, uncoloured output: the recap parser below reads it line by line.
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
export MOLECULE_COMMAND_BORDERS=false COLUMNS=250 TERM=dumb

# Order: the wiring check first (cheapest, proves the base config), then the longest scenarios
# first so that the lanes finish together, then anything else alphabetically.
PREFERRED_ORDER=(smoke etcd-scale etcd vault pki bastion)
# Scenarios that exist but are not yet part of the default run (make test): each is named with the
# reason; run it explicitly with `scripts/molecule.sh <name>`.
#   kubernetes: the master + worker roles; its full sequence has not passed yet (issue 10).
NOT_YET_DEFAULT=(kubernetes)

usage() { sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }

scenarios=()
if [ "$#" -gt 0 ]; then
  for arg in "$@"; do
    case "$arg" in
      -h|--help) usage; exit 0 ;;
      -*) echo "molecule.sh: unknown option $arg" >&2; usage >&2; exit 2 ;;
    esac
    if [ ! -f "molecule/$arg/molecule.yml" ]; then
      echo "molecule.sh: no scenario molecule/$arg/molecule.yml" >&2; exit 2
    fi
    scenarios+=("$arg")
  done
else
  all=()
  for f in molecule/*/molecule.yml; do
    [ -f "$f" ] && all+=("$(basename "$(dirname "$f")")")
  done
  for s in "${PREFERRED_ORDER[@]}"; do
    for a in "${all[@]}"; do [ "$a" = "$s" ] && scenarios+=("$s"); done
  done
  for a in "${all[@]}"; do
    case " ${PREFERRED_ORDER[*]} ${NOT_YET_DEFAULT[*]} " in *" $a "*) ;; *) scenarios+=("$a") ;; esac
  done
  echo "molecule.sh: not in the default run yet (scripts/molecule.sh <name>): ${NOT_YET_DEFAULT[*]}"
fi
if [ "${#scenarios[@]}" -eq 0 ]; then
  echo "molecule.sh: no scenarios found under molecule/" >&2; exit 2
fi

# The base image every scenario uses (no-op when it is up to date).
if ! "$ROOT/scripts/build-base-image.sh"; then
  echo "molecule.sh: could not build the base image" >&2
  echo "molecule: 0 passed, ${#scenarios[@]} failed"
  exit 1
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# check_no_changes LOG: fail (listing the changed tasks) unless every PLAY RECAP line says
# changed=0. Same rule as Molecule's idempotence step.
check_no_changes() {
  local log="$1" recap changed
  recap="$(grep -E '^[^ ].* : ok=[0-9]+ +changed=[0-9]+' "$log" || true)"
  if [ -z "$recap" ]; then
    echo "      no PLAY RECAP found in $log"
    return 1
  fi
  if ! grep -qvE 'changed=0( |$)' <<<"$recap"; then
    return 0
  fi
  echo "      changes reported in check mode after converge:"
  # The TASK header that precedes each `changed:` result names the task.
  changed="$(awk '
    /^TASK \[/ { task = $0; sub(/^TASK \[/, "", task); sub(/\] \**$/, "", task); next }
    /^RUNNING HANDLER \[/ { task = $0; sub(/^RUNNING HANDLER \[/, "handler: ", task); sub(/\] \**$/, "", task); next }
    /^changed: \[/ { host = $2; gsub(/[\[\]]/, "", host); print "        * " host ": " task }
  ' "$log" | sort -u)"
  printf '%s\n' "${changed:-        (could not attribute the changes to tasks; see $log)}"
  return 1
}

# run_step SCENARIO NAME LOG -- COMMAND...: runs and times one step.
run_step() {
  local scenario="$1" name="$2" log="$3" start rc=0 t
  shift 4
  start="$(now)"
  {
    echo "### $(date -u +%FT%TZ) $*"
  } >"$log"
  if [ "${MOLECULE_SH_VERBOSE:-0}" = "1" ]; then
    "$@" 2>&1 | tee -a "$log"; rc="${PIPESTATUS[0]}"
  else
    "$@" >>"$log" 2>&1 || rc=$?
  fi
  if [ "$rc" -eq 0 ] && [[ "$name" == check-after-* ]]; then
    check_no_changes "$log" || rc=1
  fi
  t="$(elapsed "$start" "$(now)")"
  if [ "$rc" -eq 0 ]; then
    printf '  %-8s %-24s ok      %6ss\n' "$scenario" "$name" "$t"
  else
    printf '  %-8s %-24s FAILED  %6ss  (log: %s)\n' "$scenario" "$name" "$t" "${log#"$ROOT"/}"
    if [[ "$name" != check-after-* ]] || ! grep -q 'PLAY RECAP' "$log"; then
      tail -n 40 "$log" | sed 's/^/      | /'
    fi
  fi
  return "$rc"
}

run_scenario() {
  local s="$1" dir="$LOG_DIR/$1" failed=0 start
  mkdir -p "$dir"
  rm -f "$dir"/*.log
  start="$(now)"
  echo "== scenario $s"
  # One run per scenario at a time on this machine (instance names are per scenario).
  exec 8>"/tmp/apron-molecule-$s.lock"
  if ! flock -w 1800 8; then
    echo "  $s: another run of this scenario holds /tmp/apron-molecule-$s.lock" >&2
    return 1
  fi
  local steps=(
    "destroy-before|molecule destroy -s $s"
    "create|molecule create -s $s"
    "prepare|molecule prepare -s $s"
    "check-fresh|molecule converge -s $s -- --check --diff"
    "converge|molecule converge -s $s -- --diff"
    "check-after-converge|molecule converge -s $s -- --check --diff"
    "idempotence|molecule idempotence -s $s"
    "check-after-idempotence|molecule converge -s $s -- --check --diff"
    "verify|molecule verify -s $s"
  )
  # A scenario with a side_effect.yml exercises change paths (reissue, scaling, restore) after
  # the verifier has seen the converged state; its plays assert their own outcome.
  if [ -f "molecule/$s/side_effect.yml" ]; then
    steps+=("side-effect|molecule side-effect -s $s")
  fi
  local i=0 entry name cmd
  for entry in "${steps[@]}"; do
    i=$((i + 1))
    name="${entry%%|*}"
    cmd="${entry#*|}"
    # shellcheck disable=SC2086  # the command strings above are word-split on purpose
    if ! run_step "$s" "$name" "$dir/$(printf '%02d' "$i")-$name.log" -- $cmd; then
      failed=1
      break
    fi
  done
  if [ "${MOLECULE_SH_KEEP:-0}" = "1" ]; then
    echo "  $s: MOLECULE_SH_KEEP=1, instances kept (molecule destroy -s $s to remove them)"
  else
    run_step "$s" "destroy" "$dir/99-destroy.log" -- molecule destroy -s "$s" || failed=1
  fi
  flock -u 8
  if [ "$failed" -eq 0 ]; then
    echo "== scenario $s: PASSED in $(elapsed "$start" "$(now)")s"
  else
    echo "== scenario $s: FAILED in $(elapsed "$start" "$(now)")s (logs: ${dir#"$ROOT"/}/)"
  fi
  return "$failed"
}

# Scenarios run in MOLECULE_SH_JOBS lanes (default 2): their steps mostly wait on podman and
# systemd inside the containers, so two at a time use this 2-core machine better than one.
# Each scenario's step lines are printed together when it ends.
JOBS="${MOLECULE_SH_JOBS:-2}"
case "$JOBS" in ''|*[!0-9]*|0) echo "molecule.sh: MOLECULE_SH_JOBS must be a positive number" >&2; exit 2 ;; esac
declare -A running=()   # pid -> scenario
passed=0 failed=0 failed_names=()

on_interrupt() {
  echo "molecule.sh: interrupted" >&2
  local pid
  for pid in "${!running[@]}"; do
    kill "$pid" 2>/dev/null || true
    if [ "${MOLECULE_SH_KEEP:-0}" != "1" ]; then
      molecule destroy -s "${running[$pid]}" >/dev/null 2>&1 || true
    fi
  done
  echo "molecule: $passed passed, $((failed + ${#running[@]})) failed"
  exit 130
}
trap on_interrupt INT TERM

# reap: wait for one running scenario, print its output, count it.
reap() {
  local pid rc=0 s
  wait -n -p pid "${!running[@]}" || rc=$?
  s="${running[$pid]}"
  unset "running[$pid]"
  cat "$LOG_DIR/$s.out"
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("$s")
  fi
}

mkdir -p "$LOG_DIR"
for s in "${scenarios[@]}"; do
  while [ "${#running[@]}" -ge "$JOBS" ]; do reap; done
  run_scenario "$s" >"$LOG_DIR/$s.out" 2>&1 &
  running[$!]="$s"
done
while [ "${#running[@]}" -gt 0 ]; do reap; done
[ "$failed" -gt 0 ] && echo "failed scenarios: ${failed_names[*]}"
echo "molecule: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
