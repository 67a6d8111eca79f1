#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_policy
short_description: Create, update or delete a Vault ACL policy
version_added: 0.1.0
description:
  - Reads C(GET /v1/sys/policies/acl/<name>) and writes the policy (C(POST)) only when its text differs,
    ignoring line endings, trailing blanks and blank lines at the start and end.
  - The text is checked before anything is sent (JSON, or HCL with balanced braces and strings and at least one
    C(path) block); Vault's own parser has the last word.
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
      - The diff shows the normalised policy text before and after.
  idempotent:
    support: full
options:
  name:
    description: Policy name. The built-in C(root) policy is refused.
    type: str
    required: true
  policy:
    description: Policy text (HCL or JSON). Required with O(state=present).
    type: str
  state:
    description: V(present) writes the policy, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Workers may issue their own kubelet certificate
  apron.cluster.vault_policy:
    name: staging-main-worker
    policy: |
      path "staging-main/pki/kubernetes/issue/worker" {
        capabilities = ["update"]
      }
"""

RETURN = r"""
changes:
  description: What was (in check mode, would be) changed.
  returned: always
  type: list
  elements: str
  sample: ["update policy staging-main-worker"]
"""

from ansible_collections.apron.cluster.plugins.module_utils._vault_client import (
    data_of, diff_result, run, vault_module,
)
from ansible_collections.apron.cluster.plugins.module_utils._vault_plan import plan_policy, validate_policy


def apply(module, api):
    params = module.params
    name = params["name"]
    if params["state"] == "present":
        validate_policy(name, params["policy"])
    path = "sys/policies/acl/%s" % name
    current = data_of(api.read(path, "the token may read %s" % path))
    plan = plan_policy(name, params["policy"], (current or {}).get("policy") if current else None, params["state"])
    if plan["changed"] and not module.check_mode:
        if plan["action"] == "delete":
            api.delete(path)
        else:
            api.write(path, {"policy": plan["after"]["policy"]}, "a policy Vault can parse", method="put")
    result = {"changed": plan["changed"], "changes": plan["changes"]}
    before = plan["before"].get("policy", "")
    after = plan["after"].get("policy", "")
    return diff_result(result, module, before, after, "policy %s" % name)


def main():
    module = vault_module(dict(
        name=dict(type="str", required=True),
        policy=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ), required_if=[["state", "present", ["policy"]]])
    run(module, apply)


if __name__ == "__main__":
    main()
