#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_audit
short_description: Enable or disable a Vault audit device
version_added: 0.1.0
description:
  - Reads C(GET /v1/sys/audit) and enables the device (C(PUT /v1/sys/audit/<path>)) when it is missing.
  - Vault cannot change an audit device in place. A device at O(path) with other settings is an error unless
    O(replace=true), which disables and re-enables it (requests in between are not audited).
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.vault
  - apron.cluster.vault.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Only C(GET) requests are sent in check mode.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  path:
    description: Path of the device; defaults to O(type).
    type: str
  type:
    description: Device type. Required with O(state=present).
    type: str
    choices: [file, syslog, socket]
  description:
    description: Human-readable description.
    type: str
    default: ""
  options:
    description:
      - 'Device options, e.g. C({"file_path": "/var/log/vault/audit.log", "mode": "0600"}). Compared as strings.'
    type: dict
    default: {}
  local:
    description: Whether the device is local to this cluster (not replicated).
    type: bool
    default: false
  replace:
    description: Disable and re-enable a device whose settings differ.
    type: bool
    default: false
  state:
    description: V(present) enables the device, V(absent) disables it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Audit log on the data volume
  apron.cluster.vault_audit:
    type: file
    options:
      file_path: /var/lib/vault/audit/audit.log
      mode: "0600"
"""

RETURN = r"""
device:
  description: The device after the run; empty when absent.
  returned: always
  type: dict
  sample: {type: file, description: "", local: false, options: {file_path: /var/lib/vault/audit/audit.log}}
changes:
  description: What was (in check mode, would be) changed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.apron.cluster.plugins.module_utils._vault_client import (
    data_of, diff_result, run, vault_module,
)
from ansible_collections.apron.cluster.plugins.module_utils._vault_plan import desired_audit, mount_path, plan_audit


def apply(module, api):
    params = module.params
    path = mount_path(params["path"] or params["type"])
    desired = desired_audit(params)
    devices = data_of(api.read("sys/audit", "the token may read sys/audit (sudo)")) or {}
    plan = plan_audit(path, desired, devices.get(path + "/"), params["state"], params["replace"])
    if plan["changed"] and not module.check_mode:
        if plan["action"] in ("delete", "replace"):
            api.delete("sys/audit/%s" % path)
        if plan["action"] in ("create", "replace"):
            api.write("sys/audit/%s" % path, dict(plan["after"]), "an audit device Vault can enable (is the "
                      "file's directory writable by the vault user?)", method="put")
    result = {"changed": plan["changed"], "device": plan["after"], "changes": plan["changes"]}
    return diff_result(result, module, plan["before"], plan["after"], "audit device %s/" % path)


def main():
    module = vault_module(dict(
        path=dict(type="str"),
        type=dict(type="str", choices=["file", "syslog", "socket"]),
        description=dict(type="str", default=""),
        options=dict(type="dict", default={}),
        local=dict(type="bool", default=False),
        replace=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ), required_if=[["state", "present", ["type"]]], required_one_of=[["path", "type"]])
    run(module, apply)


if __name__ == "__main__":
    main()
