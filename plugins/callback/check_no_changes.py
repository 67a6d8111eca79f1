# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: check_no_changes
type: aggregate
short_description: Fails a check-mode run on converged hosts that reports changes, naming the tasks
version_added: 0.1.0
author:
  - apron maintainers (@apron-io)
description:
  - "Watches runs in check mode (C(--check)). When the zero-change rule applies, a run in which any
    task or handler reports a change ends with exit status 2 after the play recap, and the callback
    prints every C(host: task) that reported the change (changed=N in the recap is not enough to
    debug)."
  - "With O(mode=auto) (the default) the rule applies to a check run of the scenario's converge
    playbook (C(converge.yml) in E(MOLECULE_SCENARIO_DIRECTORY)) when Molecule's state file
    (E(MOLECULE_STATE_FILE)) says C(converged: true). Molecule sets both variables for every playbook
    it runs, writes C(converged: true) after a successful C(converge) action and resets it on
    C(destroy): the C(check) action of a test sequence may report changes on fresh hosts (it must
    only not fail) and must report none after a converge. Other playbooks, such as an
    C(ansible-playbook --check) that a side effect runs and that is meant to predict changes, and
    runs outside Molecule are not judged."
  - "The shared Molecule config (C(.config/molecule/config.yml)) enables it for every scenario."
  - "Ansible has no API for a callback to set the exit status of C(ansible-playbook), so the callback
    ends the process with status 2 (the status for failed hosts) by raising C(SystemExit) in
    C(v2_playbook_on_stats), after the stdout callback has printed the recap."
requirements:
  - enabled with C(callbacks_enabled) in ansible.cfg or C(ANSIBLE_CALLBACKS_ENABLED)
options:
  mode:
    description:
      - V(auto) enforces the rule on check runs when the Molecule state file says the hosts are converged.
      - V(always) enforces it on every check run, V(never) only reports.
    type: str
    choices: [auto, always, never]
    default: auto
    env:
      - name: APRON_CHECK_NO_CHANGES
    ini:
      - section: callback_check_no_changes
        key: mode
  state_file:
    description: Molecule's state file of the scenario; read with O(mode=auto).
    type: path
    env:
      - name: MOLECULE_STATE_FILE
  scenario_directory:
    description: The Molecule scenario's directory; with O(mode=auto) only its C(converge.yml) is judged.
    type: path
    env:
      - name: MOLECULE_SCENARIO_DIRECTORY
"""

import os

import yaml
from ansible import context
from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase

# ansible-playbook's status for failed hosts (ansible.errors.ExitCode.HOST_FAILED).
EXIT_CHANGES_IN_CHECK = 2


def converged_from_state(text):
    """True when Molecule's state.yml text says `converged: true` (pure; unit tested)."""
    if not text:
        return False
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and data.get("converged") is True


def is_scenario_converge(playbook, scenario_directory):
    """Whether playbook is the scenario's converge.yml, the one Molecule's check action runs."""
    if not playbook or not scenario_directory:
        return False
    return os.path.realpath(playbook) == os.path.realpath(os.path.join(scenario_directory, "converge.yml"))


def rule_applies(mode, check_mode, converged, scenario_converge=True):
    """Whether changes fail this run (pure; unit tested)."""
    if not check_mode or mode == "never":
        return False
    return mode == "always" or bool(converged and scenario_converge)


def verdict(enforce, counts, changed_tasks, allowed_because="hosts not converged yet"):
    """(fails, lines) for {host: {changed, ...}} and [(host, task name)] (pure; unit tested).

    The recap counts are the truth (the same numbers as PLAY RECAP and as Molecule's idempotence
    rule); changed_tasks only names them.
    """
    changed_hosts = sorted(h for h, c in counts.items() if c.get("changed"))
    if not changed_hosts:
        if enforce:
            return False, ["apron: check mode after converge: no change (changed=0 on every host)"]
        return False, []
    if not enforce:
        return False, [
            "apron: check mode: %d host(s) would change (allowed: %s)" % (len(changed_hosts), allowed_because)
        ]
    lines = ["apron: FAILED: check mode after converge reported changes (changed=0 required):"]
    named = set()
    for host, task in sorted(set(changed_tasks)):
        lines.append("  * %s: %s" % (host, task))
        named.add(host)
    for host in changed_hosts:
        if host not in named:
            lines.append("  * %s: changed=%d (no task result named the change)" % (host, counts[host]["changed"]))
    return True, lines


class CallbackModule(CallbackBase):
    """Records changed task results; judges them in v2_playbook_on_stats with verdict()."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "apron.cluster.check_no_changes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._changed = []
        self._playbook = None

    def v2_playbook_on_start(self, playbook):
        self._playbook = playbook._file_name

    def _record(self, result, prefix=""):
        if result._result.get("changed", False):
            if isinstance(result._task, Handler):
                prefix += "handler: "
            self._changed.append((result._host.get_name(), prefix + result._task.get_name().strip()))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        # An ignored failure may still count as a change in the recap.
        self._record(result, prefix="(failed, ignored) " if ignore_errors else "(failed) ")

    def _enforce(self):
        """(enforce, why changes are allowed otherwise)."""
        mode = self.get_option("mode")
        converged = False
        if mode == "auto" and self.get_option("state_file"):
            try:
                with open(self.get_option("state_file"), encoding="utf-8") as handle:
                    converged = converged_from_state(handle.read())
            except OSError:
                converged = False
        scenario_converge = is_scenario_converge(self._playbook, self.get_option("scenario_directory"))
        enforce = rule_applies(mode, bool(context.CLIARGS.get("check")), converged, scenario_converge)
        if mode == "never":
            why = "mode never"
        elif not scenario_converge:
            why = "not a Molecule scenario's converge.yml"
        else:
            why = "hosts not converged yet"
        return enforce, why

    def v2_playbook_on_stats(self, stats):
        if not context.CLIARGS.get("check"):
            return
        counts = dict((host, stats.summarize(host)) for host in sorted(stats.processed))
        enforce, why = self._enforce()
        fails, lines = verdict(enforce, counts, self._changed, why)
        for line in lines:
            self._display.display(line)
        if fails:
            raise SystemExit(EXIT_CHANGES_IN_CHECK)
