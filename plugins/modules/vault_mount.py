#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_mount
short_description: Enable, tune or disable a Vault secrets engine
version_added: 0.1.0
description:
  - Reads C(GET /v1/sys/mounts), compares the mount at O(path) with the options given and then enables it
    (C(POST /v1/sys/mounts/<path>)), tunes it (C(POST /v1/sys/mounts/<path>/tune), only the settings that differ)
    or disables it (C(DELETE /v1/sys/mounts/<path>)).
  - TTLs are compared in seconds, so V(1h) given and C(3600) read back are equal; a trailing slash on O(path) is ignored.
  - Only the options given are managed; an option left unset is not compared and not changed.
  - The engine type of an existing mount is never changed (that would destroy its data), so a different O(type) is an error.
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
    details:
      - The diff shows the managed settings of the mount before and after.
  idempotent:
    support: full
options:
  path:
    description: Mount path, for example V(pki/kubernetes) (a leading or trailing C(/) is ignored).
    type: str
    required: true
  type:
    description:
      - Secrets engine type (V(pki), V(kv), V(transit) ...). Required with O(state=present).
      - An unknown type is refused before anything is sent, unless it is listed in O(plugin_types).
    type: str
  plugin_types:
    description: Names of registered plugin engine types accepted for O(type) in addition to the built-in ones.
    type: list
    elements: str
    default: []
  description:
    description: Human-readable description of the mount.
    type: str
  options:
    description:
      - 'Engine options, for example C({"version": "2"}) for kv version 2. Values are compared as strings.'
      - Only the keys given are compared (tune merges them).
    type: dict
  default_lease_ttl:
    description: Default lease TTL, seconds or a duration such as V(768h). V(0) means the system default.
    type: str
  max_lease_ttl:
    description: Maximum lease TTL (for a PKI engine the longest certificate it can issue), e.g. V(87600h).
    type: str
  state:
    description: V(present) enables and tunes the mount, V(absent) disables it (destroying its data).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: apron.cluster.vault_pki_root
  - module: apron.cluster.vault_pki_role
"""

EXAMPLES = r"""
- name: A PKI engine for the cluster's Kubernetes CA
  apron.cluster.vault_mount:
    url: https://vault-1.example:8200
    ca_cert: /etc/vault/tls/ca.pem
    path: staging-main/pki/kubernetes
    type: pki
    description: Kubernetes CA of staging-main
    max_lease_ttl: 87600h

- name: Generic secrets of the cluster (kv v2)
  apron.cluster.vault_mount:
    path: staging-main/secrets
    type: kv
    options:
      version: "2"
"""

RETURN = r"""
mount:
  description: The managed settings of the mount after the run (TTLs in seconds); empty when absent.
  returned: always
  type: dict
  sample: {type: pki, description: Kubernetes CA, options: {}, default_lease_ttl: 0, max_lease_ttl: 315360000}
changes:
  description: What was (in check mode, would be) changed.
  returned: always
  type: list
  elements: str
  sample: ["max_lease_ttl: 0 -> 315360000"]
"""

from ansible_collections.apron.cluster.plugins.module_utils._vault_client import (
    data_of, diff_result, run, vault_module,
)
from ansible_collections.apron.cluster.plugins.module_utils._vault_plan import (
    desired_mount, mount_path, mount_payload, plan_mount, tune_payload,
)


def read_mount(api, path):
    mounts = data_of(api.read("sys/mounts", "the token may read sys/mounts")) or {}
    return mounts.get(path + "/")


def apply(module, api):
    params = module.params
    path = mount_path(params["path"])
    desired = desired_mount(params, plugin_types=params["plugin_types"])
    plan = plan_mount(path, desired, read_mount(api, path), params["state"])
    if plan["changed"] and not module.check_mode:
        if plan["action"] == "create":
            api.write("sys/mounts/%s" % path, mount_payload(path, plan), "a secrets engine Vault can enable")
        elif plan["action"] == "tune":
            api.write("sys/mounts/%s/tune" % path, tune_payload(plan), "tune settings Vault accepts")
        elif plan["action"] == "delete":
            api.delete("sys/mounts/%s" % path)
    result = {"changed": plan["changed"], "mount": plan["after"], "changes": plan["changes"]}
    return diff_result(result, module, plan["before"], plan["after"], "mount %s/" % path)


def main():
    module = vault_module(dict(
        path=dict(type="str", required=True),
        type=dict(type="str"),
        plugin_types=dict(type="list", elements="str", default=[]),
        description=dict(type="str"),
        options=dict(type="dict"),
        default_lease_ttl=dict(type="str"),
        max_lease_ttl=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ), required_if=[["state", "present", ["type"]]])
    run(module, apply)


if __name__ == "__main__":
    main()
