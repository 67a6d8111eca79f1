# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: change_summary
type: aggregate
short_description: One line after the recap that says whether the run changed anything
version_added: 0.1.0
author:
  - apron maintainers (@apron-io)
description:
  - "After the play recap, prints C(apron: nothing changed (changed=0 on every host ...)) or the hosts
    with changes and their counts, and the hosts that failed or were unreachable."
  - C(make demo) enables it (C(ANSIBLE_CALLBACKS_ENABLED=apron.cluster.change_summary)) so that a
    re-run says that it changed nothing; enable it the same way for any playbook.
requirements:
  - enabled with C(callbacks_enabled) in ansible.cfg or C(ANSIBLE_CALLBACKS_ENABLED)
"""

from ansible.plugins.callback import CallbackBase


def summary_line(counts):
    """The line for {host: {changed, failures, unreachable}} (pure; unit tested)."""
    failed = sorted(h for h, c in counts.items() if c.get("failures") or c.get("unreachable"))
    changed = sorted((h, c["changed"]) for h, c in counts.items() if c.get("changed"))
    if failed:
        head = "apron: the run FAILED on %s" % ", ".join(failed)
    elif not changed:
        return "apron: nothing changed (changed=0 on every host: %d host(s))" % len(counts)
    else:
        head = "apron: changes made"
    if changed:
        head += "; changed: " + ", ".join("%s=%d" % item for item in changed)
    return head


class CallbackModule(CallbackBase):
    """Prints summary_line() after the recap."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "apron.cluster.change_summary"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        counts = dict((host, stats.summarize(host)) for host in sorted(stats.processed))
        self._display.display(summary_line(counts))
