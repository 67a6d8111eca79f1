#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: service_restart_plan
short_description: Decide which running systemd services owe a restart, in one call
version_added: 0.1.0
description:
  - Reports, for each unit of O(services), whether its running process is older than what it read at start, and why.
    A unit owes a restart when it is running and any of these is newer than the start of its main process
    (C(ExecMainStartTimestamp)) - its unit file, its drop-ins, its C(EnvironmentFile=)s, or one of the
    O(services[].files) (configuration files, certificates, keys); or when its executable was replaced on disk
    (C(/proc/<pid>/exe) is C((deleted))); or when systemd reports C(NeedDaemonReload=yes).
  - The decision is made from the host's state, so it holds on every run - a run that failed after writing the
    files and before restarting is completed by the next run, and C(--check) predicts the restart.
  - Units that are not running (stopped, failed, not installed) never owe a restart; RV(services[].running) tells the
    caller to start them instead.
  - One C(systemctl show) for all units, one C(stat) per file. Read-only.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.info_module
options:
  services:
    description: The units to check.
    type: list
    elements: dict
    required: true
    suboptions:
      unit:
        description: The systemd unit, with its suffix (for example C(apron-etcd@k8s-main.service)).
        type: str
        required: true
      files:
        description:
          - Files the process reads at start besides the unit's own files and environment files (configuration,
            certificates, keys). Files that do not exist are ignored.
        type: list
        elements: path
        default: []
requirements:
  - systemd on the host
seealso:
  - module: ansible.builtin.systemd_service
"""

EXAMPLES = r"""
- name: Which members owe a restart?
  apron.cluster.service_restart_plan:
    services:
      - unit: apron-etcd@k8s-main.service
        files:
          - /etc/apron/etcd/k8s-main/pki/member.crt
          - /etc/apron/etcd/k8s-main/pki/member.key
          - /etc/apron/etcd/k8s-main/pki/ca.crt
  register: plan

- name: Restart them (one at a time, in a rolling role)
  ansible.builtin.debug:
    msg: "{{ item.unit }}: {{ item.reasons | join('; ') }}"
  loop: "{{ plan.services | selectattr('restart') }}"
"""

RETURN = r"""
services:
  description: One entry per O(services) entry, in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    unit:
      description: The unit.
      type: str
      sample: apron-etcd@k8s-main.service
    running:
      description: Whether the unit is active with a main process.
      type: bool
      sample: true
    started_at:
      description: When its main process started (ISO 8601, UTC), null when it never started.
      type: str
      sample: "2026-12-02T07:40:01.123456+00:00"
    restart:
      description: Whether it owes a restart.
      type: bool
      sample: true
    reasons:
      description: Why it owes a restart; empty when it does not.
      type: list
      elements: str
      sample: ["/etc/apron/etcd/k8s-main/etcd.env changed after the process started (...)"]
    files:
      description: Every file compared (unit file, drop-ins, environment files, O(services[].files)).
      type: list
      elements: str
    daemon_reload:
      description:
        - Whether systemd holds an older version of the unit's files (C(NeedDaemonReload=yes)), running or not.
        - A C(systemctl daemon-reload) is owed before the unit is started or restarted.
      type: bool
      sample: false
restart:
  description: The units that owe a restart, in the order of O(services).
  returned: always
  type: list
  elements: str
  sample: [apron-etcd@k8s-main.service]
daemon_reload:
  description:
    - Whether any of the units needs a C(systemctl daemon-reload) (RV(services[].daemon_reload)). Read from the host,
      so a run that failed between writing a unit and reloading systemd is completed by the next one.
  returned: always
  type: bool
  sample: false
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.apron.cluster.plugins.module_utils._service_restart import (
    SHOW_PROPERTIES, RestartPlanError, parse_show, plan_service, unit_files,
)


def _mtime(path):
    try:
        return datetime.datetime.fromtimestamp(os.stat(path).st_mtime, tz=datetime.timezone.utc)
    except FileNotFoundError:
        return None


def _executable(pid):
    if not pid or pid == "0":
        return None
    try:
        return os.readlink("/proc/%s/exe" % pid)
    except OSError:
        return None


def plan(module, services):
    units = [service["unit"] for service in services]
    systemctl = module.get_bin_path("systemctl", required=True)
    rc, out, err = module.run_command(
        [systemctl, "show", "--timestamp=us+utc", "--property=" + ",".join(SHOW_PROPERTIES)] + units,
        environ_update={"LC_ALL": "C", "SYSTEMD_COLORS": "0"})
    if rc != 0:
        raise RestartPlanError("systemctl show %s failed (rc %d): %s" % (" ".join(units), rc, err.strip()))
    results = []
    for service, props in zip(services, parse_show(out, units)):
        candidates = unit_files(props) + list(service["files"])
        mtimes = dict((path, _mtime(path)) for path in candidates)
        decided = plan_service(props, dict((k, v) for k, v in mtimes.items() if v is not None),
                               _executable(props.get("MainPID")), service["files"])
        decided["unit"] = service["unit"]
        results.append(decided)
    return results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            services=dict(type="list", elements="dict", required=True, options=dict(
                unit=dict(type="str", required=True),
                files=dict(type="list", elements="path", default=[]),
            )),
        ),
        supports_check_mode=True,
    )
    services = module.params["services"]
    for index, service in enumerate(services):
        if not service["unit"].strip() or "/" in service["unit"]:
            module.fail_json(msg="services[%d].unit must be a unit name such as apron-etcd@k8s-main.service, got %r"
                             % (index, service["unit"]))
    try:
        results = plan(module, services) if services else []
    except RestartPlanError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, services=results,
                     restart=[result["unit"] for result in results if result["restart"]],
                     daemon_reload=any(result["daemon_reload"] for result in results))


if __name__ == "__main__":
    main()
