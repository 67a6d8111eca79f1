#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_token_role
short_description: Manage a Vault token role (auth/token/roles)
version_added: 0.1.0
description:
  - Reads C(GET /v1/auth/token/roles/<name>) and writes C(POST /v1/auth/token/roles/<name>) only when a given
    option differs. Only the options given are compared.
  - Policy lists and O(token_bound_cidrs) are compared as sets; TTLs in seconds (V(24h) equals C(86400)).
  - A token role is how apron hands each node an init token limited to its InstancePool role's policies.
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
      - The diff shows the managed options before and after.
  idempotent:
    support: full
options:
  name:
    description: Role name.
    type: str
    required: true
  allowed_policies:
    description: Policies tokens of this role may carry.
    type: list
    elements: str
  disallowed_policies:
    description: Policies tokens of this role may never carry.
    type: list
    elements: str
  orphan:
    description: Whether tokens are created without a parent.
    type: bool
  renewable:
    description: Whether tokens can be renewed.
    type: bool
  path_suffix:
    description: Suffix of the token's creation path (for revocation by prefix).
    type: str
  token_type:
    description: Type of the tokens.
    type: str
    choices: [service, batch, default-service, default-batch]
  token_bound_cidrs:
    description: Source addresses the tokens may be used from.
    type: list
    elements: str
  token_no_default_policy:
    description: Whether the C(default) policy is left out.
    type: bool
  token_num_uses:
    description: How many times a token may be used (V(0) unlimited).
    type: int
  token_ttl:
    description: Initial TTL of the tokens, seconds or a duration such as V(24h).
    type: str
  token_max_ttl:
    description: Maximum TTL of the tokens.
    type: str
  token_period:
    description: Period of periodic tokens (renewable forever within the period).
    type: str
  token_explicit_max_ttl:
    description: Hard maximum TTL that renewals cannot pass.
    type: str
  state:
    description: V(present) writes the role, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Init tokens of the worker pool
  apron.cluster.vault_token_role:
    name: staging-main-worker
    allowed_policies: [staging-main-worker]
    orphan: true
    renewable: true
    token_period: 24h
"""

RETURN = r"""
role:
  description: The managed options after the run (TTLs in seconds); empty when absent.
  returned: always
  type: dict
changes:
  description: What was (in check mode, would be) changed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.apron.cluster.plugins.module_utils._vault_client import (
    data_of, diff_result, run, vault_module,
)
from ansible_collections.apron.cluster.plugins.module_utils._vault_errors import VaultError
from ansible_collections.apron.cluster.plugins.module_utils._vault_plan import (
    TOKEN_ROLE_SET_KEYS, TOKEN_ROLE_TTL_KEYS, desired_token_role, plan_settings,
)


def apply(module, api):
    params = module.params
    name = params["name"]
    if "/" in name or not name.strip():
        raise VaultError("name", "%r is not a token role name" % name, "a name without '/'")
    desired = desired_token_role(params)
    path = "auth/token/roles/%s" % name
    current = data_of(api.read(path, "the token may read %s" % path))
    plan = plan_settings("token role", name, desired, current, params["state"],
                         ttl_keys=TOKEN_ROLE_TTL_KEYS, set_keys=TOKEN_ROLE_SET_KEYS)
    if plan["changed"] and not module.check_mode:
        if plan["action"] == "delete":
            api.delete(path)
        else:
            body = dict((k, v) for k, v in desired.items() if v is not None)
            for key in TOKEN_ROLE_TTL_KEYS:
                if key in body:
                    body[key] = "%ds" % body[key]
            api.write(path, body, "token role settings Vault accepts")
    result = {"changed": plan["changed"], "role": plan["after"], "changes": plan["changes"]}
    return diff_result(result, module, plan["before"], plan["after"], "token role %s" % name)


def main():
    module = vault_module(dict(
        name=dict(type="str", required=True),
        allowed_policies=dict(type="list", elements="str"),
        disallowed_policies=dict(type="list", elements="str"),
        orphan=dict(type="bool"),
        renewable=dict(type="bool"),
        path_suffix=dict(type="str"),
        token_type=dict(type="str", choices=["service", "batch", "default-service", "default-batch"]),
        token_bound_cidrs=dict(type="list", elements="str", no_log=False),
        token_no_default_policy=dict(type="bool", no_log=False),
        token_num_uses=dict(type="int", no_log=False),
        token_ttl=dict(type="str", no_log=False),
        token_max_ttl=dict(type="str", no_log=False),
        token_period=dict(type="str", no_log=False),
        token_explicit_max_ttl=dict(type="str", no_log=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ))
    run(module, apply)


if __name__ == "__main__":
    main()
