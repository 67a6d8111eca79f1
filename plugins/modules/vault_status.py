#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_status
short_description: Report whether a Vault node is initialised and sealed
version_added: 0.1.0
description:
  - Reads C(GET /v1/sys/init) and C(GET /v1/sys/seal-status) (both unauthenticated) and reports them.
    Never changes anything; no token is needed.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.info_module
  - apron.cluster.vault
  - apron.cluster.vault.actiongroup
options: {}
"""

EXAMPLES = r"""
- name: Is the cluster ready?
  apron.cluster.vault_status:
    url: https://vault-1.example:8200
    ca_cert: /etc/vault/tls/ca.pem
  register: vault

- name: Stop on a sealed cluster
  ansible.builtin.assert:
    that: not vault.sealed
    fail_msg: Vault is sealed; run playbooks/vault-unseal.yml
"""

RETURN = r"""
initialized:
  description: Whether the cluster has been initialised.
  returned: always
  type: bool
sealed:
  description: Whether this node is sealed.
  returned: always
  type: bool
seal_type:
  description: Seal type, e.g. C(shamir) or C(awskms).
  returned: always
  type: str
threshold:
  description: Number of unseal (or recovery) keys needed.
  returned: always
  type: int
shares:
  description: Number of unseal (or recovery) keys.
  returned: always
  type: int
progress:
  description: Unseal keys provided so far.
  returned: always
  type: int
version:
  description: Server version.
  returned: always
  type: str
cluster_name:
  description: Cluster name (only when unsealed).
  returned: when unsealed
  type: str
storage_type:
  description: Storage backend, e.g. C(raft).
  returned: when reported by the server
  type: str
"""

from ansible_collections.apron.cluster.plugins.module_utils._vault_client import read_status, run, vault_module


def apply(module, api):
    return dict(changed=False, **read_status(api))


def main():
    module = vault_module({}, token_required=False)
    run(module, apply)


if __name__ == "__main__":
    main()
