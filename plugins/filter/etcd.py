# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the apron.cluster.etcd role: its layout and its membership decisions, in Python.

* ``etcd_clusters``: the clusters with their directories, units, token and restart files.
* ``etcd_urls``: inventory host -> client or peer URL (IPv6 in brackets).
* ``etcd_certificates``: the apron.cluster.pki certificates of one host.
* ``etcd_membership_plan``: from ``member list``: stale, lost, moved members, joiners, refusals.
* ``etcd_removal_plan``: whether the stale members can go without losing quorum, and where the
  leadership moves first.

The decisions are pure functions in module_utils/_etcd_layout.py and _etcd_membership.py;
documented in the etcd_*.yml sidecars.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.module_utils import _etcd_layout as _layout
from ansible_collections.apron.cluster.plugins.module_utils import _etcd_membership as _membership


def _wrap(name, func):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (_membership.EtcdPlanError, ValueError, KeyError, TypeError) as exc:
            raise AnsibleFilterError("apron.cluster.%s: %s" % (name, exc))
    run.__name__ = name
    run.__doc__ = func.__doc__
    return run


def etcd_clusters(etcd_clusters, data_root, config_root, backup_root, token_prefix, member_cert):
    return _layout.clusters(etcd_clusters, data_root, config_root, backup_root, token_prefix, member_cert)


def etcd_urls(hosts, addresses, port):
    return _layout.member_urls(hosts, addresses, port)


def etcd_certificates(clusters, host, subject_alt_names, key_type, client_organization, owner, group,
                      member_cert="member", client_cert="client"):
    return _layout.certificates(clusters, host, subject_alt_names, key_type, client_organization, owner, group,
                                member_cert, client_cert)


def etcd_membership_plan(member_list, cluster, members, present, with_data, peer_urls, unreached=()):
    return _membership.membership_plan(member_list, cluster, members, present, with_data, peer_urls, unreached)


def etcd_removal_plan(plan, health, status, cluster, with_data):
    return _membership.removal_plan(plan, health, status, cluster, with_data)


class FilterModule(object):
    def filters(self):
        return dict((func.__name__, _wrap(func.__name__, func)) for func in (
            etcd_clusters, etcd_urls, etcd_certificates, etcd_membership_plan, etcd_removal_plan))
