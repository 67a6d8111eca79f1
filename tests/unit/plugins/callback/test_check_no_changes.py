# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.check_no_changes: the zero-change rule of the Molecule check steps after a converge.

The decision is tested as pure functions; two real ansible-playbook runs against localhost prove
that the rule ends the run with status 2 naming the task, and that it leaves a clean run alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.callback.check_no_changes import (
    EXIT_CHANGES_IN_CHECK,
    converged_from_state,
    is_scenario_converge,
    rule_applies,
    verdict,
)

REPO = Path(__file__).resolve().parents[4]


def test_converged_is_read_from_molecules_state_file():
    assert converged_from_state("---\nconverged: true\ncreated: true\n") is True
    assert converged_from_state("converged: false\ncreated: true\n") is False
    # destroy resets the state; a missing, empty or broken file never enforces
    assert converged_from_state("") is False
    assert converged_from_state(None) is False
    assert converged_from_state("converged: [\n") is False
    assert converged_from_state("- a list\n") is False
    # only a real boolean counts
    assert converged_from_state("converged: 'true'\n") is False


@pytest.mark.parametrize("mode,check_mode,converged,expected", [
    ("auto", True, True, True),      # check after converge: enforced
    ("auto", True, False, False),    # check on fresh hosts: must only not fail
    ("auto", False, True, False),    # converge / idempotence: not a check run
    ("always", True, False, True),
    ("always", False, True, False),
    ("never", True, True, False),
])
def test_rule_applies(mode, check_mode, converged, expected):
    assert rule_applies(mode, check_mode, converged) is expected


def test_only_the_scenarios_converge_playbook_is_judged_in_auto_mode(tmp_path):
    # a side effect may run `ansible-playbook --check` of another playbook to predict changes
    assert is_scenario_converge(str(tmp_path / "converge.yml"), str(tmp_path)) is True
    assert is_scenario_converge(str(tmp_path / "sub" / ".." / "converge.yml"), str(tmp_path) + "/") is True
    assert is_scenario_converge(str(tmp_path / "faults_role.yml"), str(tmp_path)) is False
    assert is_scenario_converge(str(tmp_path / "converge.yml"), None) is False
    assert is_scenario_converge(None, str(tmp_path)) is False
    assert rule_applies("auto", True, True, scenario_converge=False) is False
    assert rule_applies("always", True, False, scenario_converge=False) is True


def test_changes_on_converged_hosts_fail_and_name_host_and_task():
    counts = {"a": {"changed": 2}, "b": {"changed": 0}, "c": {"changed": 1}}
    tasks = [("a", "pki : Issue the certificate"), ("a", "handler: Restart etcd"),
             ("a", "pki : Issue the certificate"), ("b", "never counted: b has changed=0 in the recap")]
    fails, lines = verdict(True, counts, tasks)
    assert fails is True
    assert lines[0].startswith("apron: FAILED: check mode after converge reported changes")
    assert lines[1:] == [
        "  * a: handler: Restart etcd",
        "  * a: pki : Issue the certificate",
        "  * b: never counted: b has changed=0 in the recap",
        "  * c: changed=1 (no task result named the change)",
    ]


def test_no_change_passes_and_says_so_when_enforced():
    assert verdict(True, {"a": {"changed": 0}}, []) == (
        False, ["apron: check mode after converge: no change (changed=0 on every host)"])


def test_changes_on_fresh_hosts_are_allowed():
    fails, lines = verdict(False, {"a": {"changed": 5}, "b": {"changed": 3}}, [("a", "x")])
    assert fails is False
    assert lines == ["apron: check mode: 2 host(s) would change (allowed: hosts not converged yet)"]
    assert verdict(False, {"a": {"changed": 0}}, []) == (False, [])


PLAYBOOK = """\
- name: Check-mode run on localhost
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A task that is never idempotent
      ansible.builtin.command: /bin/true
      check_mode: false
      changed_when: {changed}
    - name: A task that changes nothing
      ansible.builtin.debug:
        msg: hello
"""


def _run(tmp_path, changed, extra_env, name="converge.yml"):
    playbook = tmp_path / name
    playbook.write_text(PLAYBOOK.format(changed=changed))
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CALLBACKS_ENABLED": "apron.cluster.check_no_changes",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    })
    env.update(extra_env)
    return subprocess.run(
        ["ansible-playbook", "--check", str(playbook)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_ansible_playbook_fails_with_status_2_naming_the_changed_task(tmp_path):
    state = tmp_path / "state.yml"
    state.write_text("converged: true\n")
    run = _run(tmp_path, "true", {"MOLECULE_STATE_FILE": str(state), "MOLECULE_SCENARIO_DIRECTORY": str(tmp_path)})
    out = run.stdout + run.stderr
    assert run.returncode == EXIT_CHANGES_IN_CHECK, out
    assert "  * localhost: A task that is never idempotent" in out
    assert "A task that changes nothing" not in out.split("apron: FAILED")[1]


def test_ansible_playbook_passes_before_converge_and_without_changes(tmp_path):
    state = tmp_path / "state.yml"
    state.write_text("converged: false\n")
    molecule = {"MOLECULE_STATE_FILE": str(state), "MOLECULE_SCENARIO_DIRECTORY": str(tmp_path)}
    fresh = _run(tmp_path, "true", molecule)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "would change (allowed: hosts not converged yet)" in fresh.stdout
    state.write_text("converged: true\n")
    nested = _run(tmp_path, "true", molecule, name="faults_role.yml")
    assert nested.returncode == 0, nested.stdout + nested.stderr
    assert "would change (allowed: not a Molecule scenario's converge.yml)" in nested.stdout
    clean = _run(tmp_path, "false", {"APRON_CHECK_NO_CHANGES": "always"})
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no change (changed=0 on every host)" in clean.stdout
