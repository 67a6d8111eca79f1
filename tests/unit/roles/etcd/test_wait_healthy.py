# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""roles/etcd/templates/apron-etcd-wait-healthy.j2: the health gate's counting rules.

The script is rendered with a stand-in for apron-etcdctl that answers from a list of scripted
states (one per check): a real etcd cluster cannot crash-loop on demand in a unit test. The gate
against real members runs in molecule/etcd and molecule/etcd-scale (side_effect_faults.yml).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
TEMPLATE = REPO / "roles" / "etcd" / "templates" / "apron-etcd-wait-healthy.j2"

STARTED = {"members": [{"name": "etcd-1", "peerURLs": ["https://10.0.0.1:2380"], "clientURLs": ["https://10.0.0.1:2379"]}]}
UNSTARTED = {"members": STARTED["members"] + [{"name": "", "peerURLs": ["https://10.0.0.4:2380"]}]}


@pytest.fixture
def gate(tmp_path):
    """Render the script against a fake etcdctl; return run(states, checks, timeout)."""
    fake = tmp_path / "apron-etcdctl"
    fake.write_text(f"""#!{sys.executable}
import json, sys
from pathlib import Path
state_file = Path({str(tmp_path / 'states.json')!r})
log = Path({str(tmp_path / 'calls')!r})
states = json.loads(state_file.read_text())
with log.open('a') as handle:
    handle.write(' '.join(sys.argv[1:]) + '\\n')
state = states[0]
if 'health' in sys.argv:
    if not state['healthy']:
        state_file.write_text(json.dumps(states[1:] or states[-1:]))  # the check ends here
        print('https://10.0.0.1:2379 is unhealthy', file=sys.stderr)
        sys.exit(1)
    print('[]')
    sys.exit(0)
# member list ends the check: move to the next state
state_file.write_text(json.dumps(states[1:] or states[-1:]))
print(json.dumps(state['members']))
""")
    fake.chmod(0o755)
    script = tmp_path / "apron-etcd-wait-healthy"
    script.write_text(TEMPLATE.read_text().replace("{{ ansible_managed }}", "rendered for a test")
                      .replace("{{ __etcd_etcdctl_wrapper }}", str(fake)))

    def run(states, checks=3, timeout=5.0, endpoints=None, local_pids=None):
        """local_pids: the main process of this host's member at each check ("0": not active),
        answered by a stand-in for systemctl; None: no systemd to ask (as on this test machine)."""
        (tmp_path / "states.json").write_text(json.dumps(states))
        args = [sys.executable, str(script), "overlay", str(checks), "0.01", str(timeout)]
        if endpoints is not None:
            args.append(endpoints)
        env = dict(os.environ)
        if local_pids is not None:
            (tmp_path / "pids.json").write_text(json.dumps(local_pids))
            bin_dir = tmp_path / "bin"
            bin_dir.mkdir(exist_ok=True)
            systemctl = bin_dir / "systemctl"
            systemctl.write_text(f"""#!{sys.executable}
import json
from pathlib import Path
pids = Path({str(tmp_path / 'pids.json')!r})
left = json.loads(pids.read_text())
pids.write_text(json.dumps(left[1:] or left[-1:]))
pid = left[0]
print('LoadState=loaded')
print('ActiveState=' + ('active' if pid != '0' else 'activating'))
print('MainPID=' + pid)
print('NRestarts=0')
""")
            systemctl.chmod(0o755)
            env["PATH"] = "%s:%s" % (bin_dir, env.get("PATH", ""))
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, env=env)
        calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
        return proc, calls

    return run


def _ok():
    return {"healthy": True, "members": STARTED}


def _down():
    return {"healthy": False, "members": STARTED}


def test_passes_after_the_consecutive_healthy_checks(gate):
    proc, calls = gate([_ok(), _ok(), _ok()])
    assert proc.returncode == 0, proc.stdout
    assert "healthy in 3 consecutive checks" in proc.stdout
    assert sum("health" in c for c in calls) == 3
    assert all("--cluster" in c for c in calls if "health" in c)


def test_a_crash_looping_member_never_passes(gate):
    # Healthy for a moment after each start, then gone: never three checks in a row.
    proc, _calls = gate([_ok(), _ok(), _down()] * 50, timeout=6.0)
    assert proc.returncode == 1
    assert "not healthy in 3 consecutive checks" in proc.stdout
    assert "UNHEALTHY: endpoint health" in proc.stdout


def test_a_local_member_restarted_by_systemd_between_checks_never_passes(gate):
    # Every endpoint answers at each check, but this host's member has a new main process every
    # second check (killed and restarted by systemd in between): not a sustained window.
    # 4 s: room for a few checks (each starts fake etcdctl and systemctl processes) on a loaded machine.
    proc, _calls = gate([_ok()] * 1000, timeout=4.0, local_pids=["100", "100", "200", "200", "300", "300"] * 50)
    assert proc.returncode == 1, proc.stdout
    assert "restarted since the last check (main process 100, then 200)" in proc.stdout


def test_a_local_member_not_active_is_not_healthy_and_a_stable_one_passes(gate):
    proc, _calls = gate([_ok()] * 1000, timeout=0.5, local_pids=["0"])
    assert proc.returncode == 1 and "is not active" in proc.stdout
    proc, _calls = gate([_ok()] * 10, local_pids=["0", "100", "100", "100"])
    assert proc.returncode == 0, proc.stdout


def test_an_unhealthy_check_starts_the_count_again(gate):
    proc, calls = gate([_ok(), _down(), _ok(), _ok(), _ok()])
    assert proc.returncode == 0
    assert sum("health" in c for c in calls) == 5


def test_a_registered_member_that_has_not_started_is_not_healthy(gate):
    proc, _calls = gate([{"healthy": True, "members": UNSTARTED}] * 1000, timeout=0.5)
    assert proc.returncode == 1
    assert "members registered but not started: https://10.0.0.4:2380" in proc.stdout


def test_given_endpoints_replace_the_cluster_flag(gate):
    proc, calls = gate([_ok()], checks=1, endpoints="https://10.0.0.1:2379,https://10.0.0.2:2379")
    assert proc.returncode == 0
    assert all("--endpoints=https://10.0.0.1:2379,https://10.0.0.2:2379" in c for c in calls)
    assert not any("--cluster" in c for c in calls)


def test_usage_error(gate, tmp_path):
    script = tmp_path / "apron-etcd-wait-healthy"
    gate([_ok()])  # renders the script
    proc = subprocess.run([sys.executable, str(script), "overlay"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
