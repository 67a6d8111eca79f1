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
* ``etcd_host_read``: what facts.yml read on the host (account, packaged unit, packages, binary).
* ``etcd_host_state``: what config.yml read on the host (member and timer units, data, snapshots).
* ``etcd_restart_members``: the members of a cluster to restart, one at a time, in inventory order.
* ``etcd_environment_file`` / ``etcd_env_data_dir``: the deployed settings file of a member and its
  data directory (restore.yml).

The decisions are pure functions in module_utils/_etcd_layout.py and _etcd_membership.py; the
parsers of the role's host reads, which only the controller needs, are in this file. Documented
in the etcd_*.yml sidecars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

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


def _lines(name, stdout_lines):
    if not isinstance(stdout_lines, (list, tuple)):
        raise AnsibleFilterError("apron.cluster.%s: expected the stdout_lines of the read (a list of strings), got %s"
                                 % (name, type(stdout_lines).__name__))
    return [str(line) for line in stdout_lines]


def etcd_host_read(stdout_lines):
    """The lines ``<key>=<value>`` of facts.yml's read as a dict (the last one of a key wins; lines without ``=`` are
    ignored), with ``packages``: the ``package=<name> <status>`` lines without their prefix."""
    host, packages = {}, []
    for line in _lines("etcd_host_read", stdout_lines):
        if line.startswith("package="):
            packages.append(line[len("package="):])
        elif "=" in line:
            key, _sep, value = line.partition("=")
            host[key] = value
    host["packages"] = packages
    return host


def etcd_host_state(stdout_lines, clusters):
    """From config.yml's read (``state <unit> <systemctl show>`` per member unit and backup timer, ``data <dir>`` per
    data directory holding member/, ``snapshot <dir>`` per backup directory with a snapshot): the clusters (names, in
    the order of ``clusters``) whose member was ``active_before`` and ``enabled_before`` the cluster tasks, the ones this
    host is already a member of (``bootstrapped``) and those with a snapshot (``with_snapshot``), and the systemctl state
    of each cluster's backup timer (``timer_states``). Fails for a unit the read did not report."""
    for index, cluster in enumerate(clusters):
        if not isinstance(cluster, Mapping):
            raise AnsibleFilterError("apron.cluster.etcd_host_state: clusters[%d] must be a dict (from "
                                     "apron.cluster.etcd_clusters), got %r" % (index, cluster))
    states, data_dirs, snapshot_dirs = {}, set(), set()
    for line in _lines("etcd_host_state", stdout_lines):
        kind, space, rest = line.partition(" ")
        if kind == "state" and space:
            unit, _space, state = rest.partition(" ")
            states[unit] = state
        elif kind == "data" and space:
            data_dirs.add(rest)
        elif kind == "snapshot" and space:
            snapshot_dirs.add(rest)

    def state_of(cluster, field):
        unit = cluster[field]
        if unit not in states:
            raise AnsibleFilterError("apron.cluster.etcd_host_state: the read printed no 'state %s ...' line (%s of the "
                                     "cluster %s); expected one per member unit and backup timer"
                                     % (unit, field, cluster["name"]))
        return states[unit]

    return {
        "active_before": [c["name"] for c in clusters if "ActiveState=active" in state_of(c, "unit")],
        "enabled_before": [c["name"] for c in clusters if "UnitFileState=enabled" in state_of(c, "unit")],
        "bootstrapped": [c["name"] for c in clusters if c["data_dir"] in data_dirs],
        "timer_states": [state_of(c, "backup_timer") for c in clusters],
        "with_snapshot": [c["name"] for c in clusters if c["backup_dir"] in snapshot_dirs],
    }


def etcd_restart_members(members, hostvars, cluster_name, with_data):
    """The members (in the order of ``members``) with data whose member of ``cluster_name`` owes a restart and was
    running before the cluster tasks (the host facts ``__etcd_restart_needed`` and ``__etcd_active_before``, lists of
    cluster names set by config.yml)."""
    restart = []
    for host in members:
        if host not in with_data:
            continue
        if host not in hostvars:
            raise AnsibleFilterError("apron.cluster.etcd_restart_members: %s is not in hostvars (expected an inventory host)"
                                     % host)
        facts = {}
        for fact in ("__etcd_restart_needed", "__etcd_active_before"):
            try:
                facts[fact] = hostvars[host][fact]
            except KeyError:
                raise AnsibleFilterError("apron.cluster.etcd_restart_members: %s has no %s (expected the list of clusters "
                                         "config.yml sets on every member of the run)" % (host, fact)) from None
        if cluster_name in facts["__etcd_restart_needed"] and cluster_name in facts["__etcd_active_before"]:
            restart.append(host)
    return restart


def etcd_environment_file(stdout_lines):
    """The first file of ``systemctl show --property=EnvironmentFiles --value <unit>`` without its ``(ignore_errors=...)``
    ('' when the unit has none)."""
    lines = _lines("etcd_environment_file", stdout_lines)
    return re.sub(r" [(].*$", "", lines[0]) if lines else ""


def etcd_env_data_dir(content):
    """The absolute ETCD_DATA_DIR of an etcd.env ('' when it sets none)."""
    if not isinstance(content, str):
        raise AnsibleFilterError("apron.cluster.etcd_env_data_dir: expected the text of an etcd.env, got %s"
                                 % type(content).__name__)
    for line in content.splitlines():
        if line.startswith("ETCD_DATA_DIR=/"):
            return line[len("ETCD_DATA_DIR="):]
    return ""


class FilterModule(object):
    def filters(self):
        return dict((func.__name__, _wrap(func.__name__, func)) for func in (
            etcd_clusters, etcd_urls, etcd_certificates, etcd_membership_plan, etcd_removal_plan,
            etcd_host_read, etcd_host_state, etcd_restart_members, etcd_environment_file, etcd_env_data_dir))
