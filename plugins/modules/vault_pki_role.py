#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_pki_role
short_description: Manage a role of a Vault PKI secrets engine (which names it may sign)
version_added: 0.1.0
description:
  - Checks that O(mount) is a mounted C(pki) engine (C(GET /v1/sys/mounts)), reads
    C(GET /v1/<mount>/roles/<name>) and writes C(POST /v1/<mount>/roles/<name>) only when a given option differs.
  - Only the options given are compared. Vault replaces a role on write, so an option left unset takes Vault's
    default whenever the role is written; set every option that matters.
  - TTLs are compared in seconds (V(72h) equals C(259200) read back). O(allowed_domains), O(organization), O(ou),
    O(key_usage) and O(ext_key_usage) are compared in order.
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
  mount:
    description: Path of the PKI engine, for example V(staging-main/pki/etcd-k8s-main). It must exist.
    type: str
    required: true
  name:
    description: Role name.
    type: str
    required: true
  allowed_domains:
    description: Names the role may sign (with O(allow_bare_domains), O(allow_subdomains), O(allow_glob_domains)).
    type: list
    elements: str
  allow_bare_domains:
    description: Whether the names in O(allowed_domains) themselves may be signed.
    type: bool
  allow_subdomains:
    description: Whether subdomains of O(allowed_domains) may be signed.
    type: bool
  allow_glob_domains:
    description: Whether O(allowed_domains) may contain globs such as C(ip-*.internal).
    type: bool
  allow_any_name:
    description: Whether any name may be signed (avoid; the role then restricts nothing).
    type: bool
  allow_localhost:
    description: Whether C(localhost) may be signed.
    type: bool
  allow_ip_sans:
    description: Whether IP SANs may be requested.
    type: bool
  enforce_hostnames:
    description: Whether only valid host names may be signed (V(false) for names like C(system:node:worker-1)).
    type: bool
  server_flag:
    description: Whether certificates carry the server-auth extended key usage.
    type: bool
  client_flag:
    description: Whether certificates carry the client-auth extended key usage.
    type: bool
  organization:
    description: Subject O of issued certificates (Kubernetes reads it as the groups, e.g. C(system:nodes)).
    type: list
    elements: str
  ou:
    description: Subject OU of issued certificates.
    type: list
    elements: str
  key_type:
    description: Key type of issued certificates.
    type: str
    choices: [rsa, ec, ed25519, any]
  key_bits:
    description: Key size (RSA 2048/3072/4096, EC 224/256/384/521).
    type: int
  key_usage:
    description: Key usages, e.g. C([DigitalSignature, KeyEncipherment]).
    type: list
    elements: str
  ext_key_usage:
    description: Additional extended key usages.
    type: list
    elements: str
  require_cn:
    description: Whether a common name is required.
    type: bool
  cn_validations:
    description:
      - The checks Vault runs on the common name (Vault 1.11 and later, OpenBao), any of V(email) and V(hostname), or
        V(disabled) alone. Kubernetes identities such as C(system:node:<name>) are not host names; with V(disabled)
        the role's O(allowed_domains) is the only check of the name.
    type: list
    elements: str
  no_store:
    description: Whether issued certificates are not stored in Vault.
    type: bool
  generate_lease:
    description: Whether issued certificates get a lease.
    type: bool
  ttl:
    description: Default TTL of issued certificates, seconds or a duration such as V(720h).
    type: str
  max_ttl:
    description: Longest TTL a certificate of this role may get.
    type: str
  state:
    description: V(present) writes the role, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: apron.cluster.vault_mount
"""

EXAMPLES = r"""
- name: etcd members may sign only their own server names
  apron.cluster.vault_pki_role:
    mount: staging-main/pki/etcd-k8s-main
    name: server
    allowed_domains: [etcd-1.staging.internal, etcd-2.staging.internal, etcd-3.staging.internal, localhost]
    allow_bare_domains: true
    allow_subdomains: false
    enforce_hostnames: true
    server_flag: true
    client_flag: true
    ttl: 720h
    max_ttl: 2160h
"""

RETURN = r"""
role:
  description: The managed options after the run (TTLs in seconds); empty when absent.
  returned: always
  type: dict
  sample: {allowed_domains: [etcd-1.staging.internal], allow_bare_domains: true, ttl: 2592000}
changes:
  description: What was (in check mode, would be) changed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.apron.cluster.plugins.module_utils._vault_client import (
    data_of, diff_result, require_mount, run, vault_module,
)
from ansible_collections.apron.cluster.plugins.module_utils._vault_plan import (
    PKI_ROLE_TTL_KEYS, desired_pki_role, mount_path, plan_settings,
)


def apply(module, api):
    params = module.params
    mount = mount_path(params["mount"], "mount")
    desired = desired_pki_role(params)
    require_mount(api, mount, "pki")
    path = "%s/roles/%s" % (mount, params["name"])
    current = data_of(api.read(path, "the token may read %s" % path))
    plan = plan_settings("pki role", params["name"], desired, current, params["state"], ttl_keys=PKI_ROLE_TTL_KEYS)
    if plan["changed"] and not module.check_mode:
        if plan["action"] == "delete":
            api.delete(path)
        else:
            body = dict((k, v) for k, v in desired.items() if v is not None)
            for key in PKI_ROLE_TTL_KEYS:
                if key in body:
                    body[key] = "%ds" % body[key]
            api.write(path, body, "role settings Vault accepts")
    result = {"changed": plan["changed"], "role": plan["after"], "changes": plan["changes"]}
    return diff_result(result, module, plan["before"], plan["after"], "pki role %s" % path)


def main():
    flag = dict(type="bool")
    module = vault_module(dict(
        mount=dict(type="str", required=True),
        name=dict(type="str", required=True),
        allowed_domains=dict(type="list", elements="str"),
        allow_bare_domains=flag, allow_subdomains=flag, allow_glob_domains=flag, allow_any_name=flag,
        allow_localhost=flag, allow_ip_sans=flag, enforce_hostnames=flag, server_flag=flag, client_flag=flag,
        organization=dict(type="list", elements="str"),
        ou=dict(type="list", elements="str"),
        key_type=dict(type="str", choices=["rsa", "ec", "ed25519", "any"]),
        key_bits=dict(type="int"),
        key_usage=dict(type="list", elements="str"),
        ext_key_usage=dict(type="list", elements="str"),
        require_cn=flag, no_store=flag, generate_lease=flag,
        cn_validations=dict(type="list", elements="str"),
        ttl=dict(type="str"),
        max_ttl=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ))
    run(module, apply)


if __name__ == "__main__":
    main()
