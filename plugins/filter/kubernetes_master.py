# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the apron.cluster.master role; the logic lives in module_utils/_kubernetes_control_plane.py.

kubernetes_master_plan(settings): certificates, paths, flags and config documents of one master.
kubernetes_master_etcd(clusters, main, events, hosts, addresses): the etcd clusters the API servers use, checked.
kubernetes_master_encryption_keys(existing_doc, rotate, prune): the key list of the EncryptionConfiguration.
kubernetes_master_encryption_config(keys): the EncryptionConfiguration document.
kubernetes_master_new_sa_key(_): a new service-account signing key (PEM).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_control_plane as _cp


def _wrap(name, func):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _cp.ControlPlaneError as exc:
            raise AnsibleFilterError("apron.cluster.master: %s" % exc)
    run.__name__ = name
    return run


def _encryption_keys(existing_doc, rotate=False, prune=False):
    return _cp.encryption_keys(_cp.existing_encryption_keys(existing_doc or {}), rotate=bool(rotate), prune=bool(prune))


def _new_sa_key(_unused=None):
    return _cp.new_service_account_key()


class FilterModule(object):
    """apron.cluster filters of the master role."""

    def filters(self):
        return {
            "kubernetes_master_plan": _wrap("kubernetes_master_plan", _cp.plan),
            "kubernetes_master_etcd": _wrap("kubernetes_master_etcd", _cp.select_etcd_clusters),
            "kubernetes_master_encryption_keys": _wrap("kubernetes_master_encryption_keys", _encryption_keys),
            "kubernetes_master_encryption_config": _wrap("kubernetes_master_encryption_config", _cp.encryption_config),
            "kubernetes_master_new_sa_key": _wrap("kubernetes_master_new_sa_key", _new_sa_key),
        }
