#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_init
short_description: Initialise a Vault cluster exactly once, without printing its keys
version_added: 0.1.0
description:
  - Reads C(GET /v1/sys/init). An initialised cluster is reported unchanged and nothing is sent.
  - Otherwise calls C(PUT /v1/sys/init) once and hands the unseal (or, with auto-unseal, recovery) keys and the
    initial root token over in one of two ways, never printed and never in a message.
  - With O(dest), a file created with mode C(0600) B(before) Vault is asked, so the keys cannot be lost to a failed
    write; an existing file is refused (it may hold the keys of a previous initialisation).
  - With O(return_secrets), as the return values RV(unseal_keys), RV(unseal_keys_b64) and RV(root_token), only
    allowed when the task itself has C(no_log=true) (otherwise the module refuses before contacting Vault).
  - With O(pgp_keys) Vault encrypts each share to one PGP key, so the file holds only encrypted shares.
  - Secret values are registered as no_log values, so even an unexpected message could not print them.
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
      - In check mode only C(GET /v1/sys/init) is sent; an uninitialised cluster is reported as changed.
  diff_mode:
    support: full
    details:
      - The diff shows C(initialized) before and after (never a key).
  idempotent:
    support: full
options:
  secret_shares:
    description: Number of unseal key shares (Shamir seal) or recovery key shares (auto-unseal).
    type: int
    default: 5
  secret_threshold:
    description: Shares needed to unseal or to recover.
    type: int
    default: 3
  auto_unseal:
    description:
      - V(true) when the cluster uses an auto-unseal seal (AWS KMS); O(secret_shares)/O(secret_threshold) are then
        sent as C(recovery_shares)/C(recovery_threshold).
    type: bool
    default: false
  pgp_keys:
    description: Base64 PGP public keys, one per share, to encrypt the shares with (length = O(secret_shares)).
    type: list
    elements: str
  root_token_pgp_key:
    description: Base64 PGP public key the initial root token is encrypted with.
    type: str
  dest:
    description: File (on the managed host) to create with mode C(0600) holding the init response as JSON.
    type: path
  return_secrets:
    description: Return the keys and root token (the task must have C(no_log=true)).
    type: bool
    default: false
notes:
  - One of O(dest) or O(return_secrets=true) is required, so the keys cannot be lost.
"""

EXAMPLES = r"""
- name: Initialise the cluster once; keys in a root-only file on the first vault node
  apron.cluster.vault_init:
    url: https://127.0.0.1:8200
    ca_cert: /etc/vault/tls/ca.pem
    dest: /root/vault-init.json
  no_log: true

- name: Initialise and keep the keys in memory for the encrypt-and-store task that follows
  apron.cluster.vault_init:
    return_secrets: true
  no_log: true
  register: __vault_init
"""

RETURN = r"""
initialized:
  description: Whether the cluster is initialised after the run (true in check mode only if it already was).
  returned: always
  type: bool
dest:
  description: The file holding the init response, when one was written.
  returned: when initialised by this run with dest
  type: str
unseal_keys:
  description: Hex unseal (or recovery) key shares; only with return_secrets and no_log.
  returned: when initialised by this run with return_secrets
  type: list
  elements: str
unseal_keys_b64:
  description: Base64 forms of RV(unseal_keys).
  returned: when initialised by this run with return_secrets
  type: list
  elements: str
root_token:
  description: The initial root token; only with return_secrets and no_log.
  returned: when initialised by this run with return_secrets
  type: str
"""

import json
import os

from ansible_collections.apron.cluster.plugins.module_utils._vault_client import diff_result, run, vault_module
from ansible_collections.apron.cluster.plugins.module_utils._vault_errors import VaultError


def init_body(params):
    if params["secret_threshold"] < 1 or params["secret_threshold"] > params["secret_shares"]:
        raise VaultError("secret_threshold", "%d with %d shares" % (params["secret_threshold"], params["secret_shares"]),
                         "1 <= secret_threshold <= secret_shares")
    if params["pgp_keys"] and len(params["pgp_keys"]) != params["secret_shares"]:
        raise VaultError("pgp_keys", "%d keys for %d shares" % (len(params["pgp_keys"]), params["secret_shares"]),
                         "one PGP key per share")
    prefix = "recovery" if params["auto_unseal"] else "secret"
    body = {prefix + "_shares": params["secret_shares"], prefix + "_threshold": params["secret_threshold"]}
    if params["pgp_keys"]:
        body["recovery_pgp_keys" if params["auto_unseal"] else "pgp_keys"] = params["pgp_keys"]
    if params["root_token_pgp_key"]:
        body["root_token_pgp_key"] = params["root_token_pgp_key"]
    return body


def check_handover(module):
    """Refuse, before contacting Vault, any way the keys could be printed or lost."""
    params = module.params
    if not params["dest"] and not params["return_secrets"]:
        raise VaultError("dest", "not set and return_secrets is false",
                         "a file to write the keys to (mode 0600), or return_secrets: true with no_log: true")
    if params["return_secrets"] and not module.no_log:
        raise VaultError("return_secrets", "the task does not have no_log: true",
                         "no_log: true on the task, so the keys are never displayed")
    if params["dest"]:
        if os.path.lexists(params["dest"]):
            raise VaultError("dest", "%s exists (it may hold the keys of an earlier initialisation)" % params["dest"],
                             "a path that does not exist yet")
        parent = os.path.dirname(os.path.abspath(params["dest"]))
        if not os.path.isdir(parent):
            raise VaultError("dest", "directory %s does not exist" % parent, "an existing directory")


def apply(module, api):
    params = module.params
    body = init_body(params)
    state = api.read("sys/init", "a Vault API answering sys/init") or {}
    if state.get("initialized"):
        result = {"changed": False, "initialized": True}
        return diff_result(result, module, {"initialized": True}, {"initialized": True}, "vault")
    check_handover(module)
    result = {"changed": True, "initialized": not module.check_mode}
    diff_result(result, module, {"initialized": False}, {"initialized": True}, "vault")
    if module.check_mode:
        return result
    handle = None
    if params["dest"]:
        try:
            handle = os.open(params["dest"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise VaultError("dest", "cannot create %s: %s" % (params["dest"], exc.strerror),
                             "a new file in a directory this user can write")
    try:
        response = api.write("sys/init", body, "an uninitialised cluster that accepts these share settings",
                             method="put")
    except Exception:
        if handle is not None:
            os.close(handle)
            os.unlink(params["dest"])
        raise
    secrets = [v for v in (response.get("keys") or []) + (response.get("keys_base64") or [])
               + (response.get("recovery_keys") or []) + (response.get("recovery_keys_base64") or [])
               + [response.get("root_token")] if v]
    if handle is not None:
        with os.fdopen(handle, "w") as stream:
            json.dump(response, stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        result["dest"] = params["dest"]
    if params["return_secrets"]:
        result["unseal_keys"] = response.get("recovery_keys") or response.get("keys") or []
        result["unseal_keys_b64"] = response.get("recovery_keys_base64") or response.get("keys_base64") or []
        result["root_token"] = response.get("root_token")
    else:
        module.no_log_values.update(secrets)
    return result


def main():
    module = vault_module(dict(
        secret_shares=dict(type="int", default=5, no_log=False),
        secret_threshold=dict(type="int", default=3, no_log=False),
        auto_unseal=dict(type="bool", default=False),
        pgp_keys=dict(type="list", elements="str", no_log=False),
        root_token_pgp_key=dict(type="str", no_log=False),
        dest=dict(type="path"),
        return_secrets=dict(type="bool", default=False),
    ), token_required=False)
    run(module, apply)


if __name__ == "__main__":
    main()
