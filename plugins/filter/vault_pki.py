# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the vault pki backend: what a cluster's Vault holds and who may use what, computed from
the CA names, the hosts' pki requests and the InstancePool hosts (plugins/module_utils/_vault_pki_layout.py).

Documented in the vault_pki_ca_mounts.yml, vault_pki_host_access.yml, vault_pki_pool_access.yml and
vault_pki_secrets_mount.yml sidecars.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.module_utils import _vault_pki_layout as layout


def _run(name, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except layout.LayoutError as exc:
        raise AnsibleFilterError("apron.cluster.%s: %s" % (name, exc))


def _options(options):
    options = dict(options or {})
    unknown = sorted(set(options) - {"prefix", "cert_ttl", "ca_ttl", "period"})
    if unknown:
        raise layout.LayoutError("unknown options %s: expected prefix, cert_ttl, ca_ttl, period" % ", ".join(unknown))
    return options


def vault_pki_ca_mounts(cas, cluster, options=None):
    def run():
        opts = _options(options)
        return layout.ca_mounts(cluster, list(cas or []), opts.get("prefix", layout.DEFAULT_PREFIX),
                                opts.get("ca_ttl", layout.DEFAULT_CA_TTL), opts.get("cert_ttl", layout.DEFAULT_CERT_TTL))
    return _run("vault_pki_ca_mounts", run)


def vault_pki_secrets_mount(cluster, prefix=layout.DEFAULT_PREFIX):
    return _run("vault_pki_secrets_mount", layout.secrets_mount, cluster, prefix)


def vault_pki_host_access(requests, cluster, host, options=None):
    def run():
        opts = _options(options)
        return layout.host_access(cluster, host, list(requests or []), opts.get("prefix", layout.DEFAULT_PREFIX),
                                  opts.get("cert_ttl", layout.DEFAULT_CERT_TTL))
    return _run("vault_pki_host_access", run)


def vault_pki_pool_access(pools, cluster, options=None, inventory_groups=None):
    """``pools``: {pool role: [host names]}; with ``inventory_groups`` (Ansible's ``groups``) the values are
    group names instead, and a group that does not exist has no hosts."""
    def run():
        opts = _options(options)
        if not isinstance(pools, dict):
            raise layout.LayoutError("the pools are a %s: expected {InstancePool role: [host names]}"
                                     % type(pools).__name__)
        hosts = dict(pools)
        if inventory_groups is not None:
            hosts = dict((pool, (inventory_groups.get(group) if hasattr(inventory_groups, "get") else None) or [])
                         for pool, group in pools.items())
        return layout.pool_access(cluster, dict((k, list(v or [])) for k, v in hosts.items()),
                                  opts.get("prefix", layout.DEFAULT_PREFIX),
                                  opts.get("period", layout.DEFAULT_TOKEN_PERIOD))
    return _run("vault_pki_pool_access", run)


class FilterModule(object):
    """apron.cluster filters of the vault pki backend."""

    def filters(self):
        return {"vault_pki_ca_mounts": vault_pki_ca_mounts,
                "vault_pki_host_access": vault_pki_host_access,
                "vault_pki_secrets_mount": vault_pki_secrets_mount,
                "vault_pki_pool_access": vault_pki_pool_access}
