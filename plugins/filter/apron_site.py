# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the operator playbooks (site.yml pre-flight, status.yml); the logic lives in
plugin_utils/_status.py, documented in the failed_hosts.yml, status_report.yml, status_table.yml, ssh_config.yml,
stack_order.yml and model_overrides.yml sidecars."""

from __future__ import annotations

import json

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


# The role variables whose default is a value of the model (the inventory's `apron` hostvar):
# role variable -> (path in `apron`, the roles (apron.role of a host) that read it). Every role
# default listed here reads that path; tests/unit/playbooks/test_model_overrides.py checks the
# role defaults against this table, docs/playbooks.md "Values from the model" lists it.
MODEL_ROLE_VARS = {
    "bastion_admin_users": (("admin_users",), ("bastion",)),
    "bastion_admin_cidrs": (("admin_cidrs",), ("bastion",)),
    "etcd_data_root": (("data_mount",), ("etcd",)),
    "pki_cluster": (("cluster",), ("vault", "etcd", "master", "worker")),
    "vault_data_root": (("data_mount",), ("vault",)),
    "vault_address": (("private_address",), ("vault",)),
    "vault_seal": (("provider",), ("vault",)),
    "vault_kms_region": (("region",), ("vault",)),
    "vault_pki_cluster": (("cluster",), ("vault",)),
    "kubernetes_version": (("cluster_spec", "kubernetesVersion"), ("master", "worker")),
    "kubernetes_network": (("cluster_spec", "network"), ("master", "worker")),
    "master_advertise_address": (("private_address",), ("master",)),
    "master_cluster_name": (("cluster",), ("master",)),
    "master_features": (("cluster_spec", "features"), ("master",)),
    "worker_pool_spec": (("pool_spec",), ("master", "worker")),
}


def _model_value(apron, path):
    value = apron
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def model_overrides(hostvars, hosts):
    """Role variables set (inventory, -e) on hosts whose role reads them from the model.

    A role variable has the precedence of inventory/extra vars, the model's value only that of a
    role default: the role variable wins. Returns one entry per (variable, value, model value),
    sorted, with the hosts it applies to: ``{variable, value, model_path, model_value, same, hosts,
    message}`` (message: one line for the resolved-model print of playbooks/validate.yml).
    Hosts without an ``apron`` hostvar (not from the instance_pools inventory) are skipped.
    """
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("apron.cluster.model_overrides: expected a list of host names, got %r" % (hosts,))
    found = {}
    for host in hosts:
        hvars = hostvars[host] if host in hostvars else {}
        apron = hvars.get("apron")
        if not isinstance(apron, dict):
            continue
        for name, (path, roles) in MODEL_ROLE_VARS.items():
            if apron.get("role") not in roles or name not in hvars:
                continue
            value, model = hvars[name], _model_value(apron, path)
            if model in (None, "", [], {}):
                continue  # the model says nothing: the variable overrides only the role's own default
            key = (name, repr(value), repr(model))
            entry = found.setdefault(key, {
                "variable": name, "value": value, "model_path": "apron." + ".".join(path),
                "model_value": model, "same": value == model, "hosts": []})
            entry["hosts"].append(host)
    result = [found[k] for k in sorted(found)]
    for entry in result:
        entry["message"] = "%s = %s (role variable) %s the model's %s = %s on %s" % (
            entry["variable"], _json(entry["value"]),
            "is set to the same value as" if entry["same"] else "wins over",
            entry["model_path"], _json(entry["model_value"]), ", ".join(entry["hosts"]))
    return result


def _json(value):
    return json.dumps(value, sort_keys=True, default=str)


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
            "model_overrides": model_overrides,
        }
