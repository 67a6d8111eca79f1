# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the operator playbooks (site.yml pre-flight, status.yml); the logic lives in
plugin_utils/_status.py, documented in the failed_hosts.yml, status_report.yml, status_table.yml, ssh_config.yml and
stack_order.yml sidecars."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.module_utils._stack_vars import STACKS
from ansible_collections.apron.cluster.plugins.plugin_utils import _ssh_config, _status


def stack_order(state):
    """The stacks in apply order for present, reversed for absent."""
    if state == "present":
        return list(STACKS)
    if state == "absent":
        return list(reversed(STACKS))
    raise AnsibleFilterError("apron.cluster.stack_order: expected present or absent, got %r" % (state,))


def _wrap(func):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _status.StatusError as exc:
            raise AnsibleFilterError("apron.cluster.%s: %s" % (func.__name__, exc))
    run.__name__ = func.__name__
    return run


class FilterModule(object):
    """apron.cluster filters for the operator playbooks."""

    def filters(self):
        return {
            "failed_hosts": _wrap(_status.failed_hosts),
            "status_report": _wrap(_status.status_report),
            "status_table": _wrap(_status.status_table),
            "ssh_config": _wrap(_ssh_config.ssh_config),
            "stack_order": stack_order,
        }
