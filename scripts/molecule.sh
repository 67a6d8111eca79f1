#!/usr/bin/env bash
# Runs Molecule scenarios: `molecule test -s <scenario>` for each, in lanes, with a summary line.
#
# The sequence is Molecule's own: scenario.test_sequence in .config/molecule/config.yml
# (docs/testing.md):
#
#   destroy (clean start) → create → prepare (fixtures, never in check mode)
#   → check (converge.yml --check --diff on the fresh hosts; must not fail)
#   → converge → check (zero changes) → idempotence → check (zero changes) → verify
#   → side_effect (when the scenario has a side_effect.yml; its plays assert their own results)
#   → destroy
#
# Molecule stops at the first failing action and then runs cleanup and destroy (--destroy=always).
# The zero-change rule of the check actions after a converge is the callback
# apron.cluster.check_no_changes (enabled in the shared config): it fails such a run and names
# every `host: task` that reported a change. What is left here is what Molecule cannot do:
# scenarios in lanes, one lock per scenario, per-action timings (from the time each
# `[<scenario> > <action>] Executing` line of Molecule's log arrives), the log files, the summary.
#
# Usage: scripts/molecule.sh [scenario ...]    (default: every molecule/*/ scenario but NOT_YET_DEFAULT)
# Environment:
#   MOLECULE_SH_LOG_DIR  where the logs go (default tests/output/molecule): <scenario>/molecule.log
#   MOLECULE_SH_KEEP=1   keep the instances after the run (molecule test --destroy=never; the
#                        clean-start destroy still runs, as `molecule destroy` before the test)
#   MOLECULE_SH_VERBOSE=1  stream Molecule's output as well as logging it (use with MOLECULE_SH_JOBS=1)
#   MOLECULE_SH_JOBS=N   scenarios run at the same time (default 2)
# Prints per-action timings, and last a line `molecule: N passed, M failed` (N/M = scenarios).
# Exit status: 0 when every scenario passed, 1 otherwise, 2 on usage errors.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

LOG_DIR="${MOLECULE_SH_LOG_DIR:-$ROOT/tests/output/molecule}"
# Plain, unwrapped, uncoloured output: the logs are read by people and the action lines below.
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
export MOLECULE_COMMAND_BORDERS=false COLUMNS=250 TERM=dumb

# Order: the wiring check first (cheapest, proves the base config), then the longest scenarios
# first so that the lanes finish together, then anything else alphabetically.
PREFERRED_ORDER=(smoke etcd-scale kubernetes etcd vault pki bastion)
# Scenarios that exist but are not yet part of the default run (make test): each is named with the
# reason; run it explicitly with `scripts/molecule.sh <name>`. None today.
NOT_YET_DEFAULT=()

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
  if [ "${#NOT_YET_DEFAULT[@]}" -gt 0 ]; then
    echo "molecule.sh: not in the default run yet (scripts/molecule.sh <name>): ${NOT_YET_DEFAULT[*]}"
  fi
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

# The terminal, for MOLECULE_SH_VERBOSE (each scenario's own stdout goes to <scenario>.out).
exec 7>&1

# log_lines SCENARIO LOG TIMELINE: copies stdin to LOG (and the terminal when verbose); each of
# Molecule's `[SCENARIO > action] ...` lines also goes to TIMELINE with the time it arrived.
log_lines() {
  local s="$1" log="$2" timeline="$3" line
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    [ "${MOLECULE_SH_VERBOSE:-0}" = "1" ] && printf '%s\n' "$line" >&7
    case "$line" in
      *"[$s > "*"] "*) printf '%s\t%s\n' "$EPOCHREALTIME" "$line" >>"$timeline" ;;
    esac
  done
}

# action_table SCENARIO TIMELINE END: one line per action Molecule ran, with its status (the text of
# Molecule's `Executed:` line; FAILED when an action has none) and its time (until the next action
# starts or the run ends). A repeated action is numbered: `check #2` is the second check.
action_table() {
  awk -F '\t' -v s="$1" -v end="$3" '
    function flush(t) {
      if (n == 0) return
      printf "  %-8s %-14s %-8s %6.1fs%s\n", s, label, (status == "" ? "FAILED" : status), t - start, note
    }
    {
      line = $2
      gsub(/\033\[[0-9;]*m/, "", line)
      if (line !~ /\] Executing$/ && line !~ /\] Executed: /) next
      act = line; sub(/^.*\[[^]]* > /, "", act); sub(/\].*$/, "", act)
      if (line ~ /\] Executing$/) {
        flush($1); n++; name = act; seen[act]++; start = $1; status = ""; note = ""
        label = act (seen[act] > 1 ? " #" seen[act] : "")
      } else if (act == name) {
        text = line; sub(/^.*\] Executed: /, "", text)
        if (text ~ /^Successful/) status = "ok"
        else if (text ~ /^Failed/) status = "FAILED"
        else if (text ~ /^Missing playbook/) { status = "-"; note = "  (no playbook)" }
        else { status = "-"; note = "  (" text ")" }
      }
    }
    END { flush(end) }
  ' "$2"
}

run_scenario() {
  local s="$1" dir="$LOG_DIR/$1" rc=0 start log timeline table failed_action err_line
  mkdir -p "$dir"
  rm -f "$dir"/*.log "$dir"/timeline.tsv
  log="$dir/molecule.log"
  timeline="$dir/timeline.tsv"
  : >"$timeline"
  start="$(now)"
  echo "== scenario $s"
  # One run per scenario at a time on this machine (instance names are per scenario).
  exec 8>"/tmp/apron-molecule-$s.lock"
  if ! flock -w 1800 8; then
    echo "  $s: another run of this scenario holds /tmp/apron-molecule-$s.lock" >&2
    return 1
  fi
  local test_cmd=(molecule test -s "$s")
  if [ "${MOLECULE_SH_KEEP:-0}" = "1" ]; then
    # --destroy=never skips every destroy of the sequence, the clean start too: do that one here.
    echo "### $(date -u +%FT%TZ) molecule destroy -s $s (clean start; MOLECULE_SH_KEEP=1)" >>"$log"
    molecule destroy -s "$s" 2>&1 | log_lines "$s" "$log" "$timeline"
    test_cmd+=(--destroy=never)
  fi
  echo "### $(date -u +%FT%TZ) ${test_cmd[*]}" >>"$log"
  "${test_cmd[@]}" 2>&1 | log_lines "$s" "$log" "$timeline"
  rc="${PIPESTATUS[0]}"
  table="$(action_table "$s" "$timeline" "$EPOCHREALTIME")"
  printf '%s\n' "$table"
  if [ "$rc" -ne 0 ]; then
    # The first FAILED row is the failing action; the log lines before Molecule's error line say
    # why (for a check after a converge: the callback's list of `host: task` that changed).
    failed_action="$(printf '%s\n' "$table" | awk '/ FAILED / { sub(/^ *[^ ]+ +/, ""); sub(/ +FAILED .*$/, ""); print; exit }')"
    echo "  $s: FAILED in action '${failed_action:-?}' (molecule exit status $rc); log: ${log#"$ROOT"/}"
    # The 40 lines up to Molecule's error line (the whole log's last 40 when there is none).
    err_line="$(grep -nE 'An error occurred during the test sequence action' "$log" | tail -n 1 | cut -d: -f1)"
    head -n "${err_line:-$(wc -l <"$log")}" "$log" | tail -n 40 | sed 's/^/      | /'
  fi
  if [ "${MOLECULE_SH_KEEP:-0}" = "1" ]; then
    echo "  $s: MOLECULE_SH_KEEP=1, instances kept (molecule destroy -s $s to remove them)"
  fi
  flock -u 8
  if [ "$rc" -eq 0 ]; then
    echo "== scenario $s: PASSED in $(elapsed "$start" "$(now)")s"
  else
    echo "== scenario $s: FAILED in $(elapsed "$start" "$(now)")s (log: ${log#"$ROOT"/})"
  fi
  [ "$rc" -eq 0 ]
}

# Scenarios run in MOLECULE_SH_JOBS lanes (default 2): their steps mostly wait on podman and
# systemd inside the containers, so two at a time use this 2-core machine better than one.
# Each scenario's action lines are printed together when it ends.
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
