# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Membership decisions of the apron.cluster.etcd role (private; used by the etcd filters).

The role reconciles a running etcd cluster with its inventory group as query → plan → assert →
act: it asks etcd (``member list``, ``endpoint health``, ``endpoint status``, all JSON), these pure
functions decide, the role refuses what they refuse and carries out the rest. Every case - stale,
lost, moved, half-added members, quorum, leadership - is unit-tested here
(tests/unit/plugins/module_utils/test_etcd_membership.py) instead of in Jinja.

Vocabulary:
  members    the inventory group (every host that should be a member), in inventory order
  present    the members this run reaches (all of them unless etcd_partial_run)
  with_data  present members that have a data directory for the cluster (they ran before)
  peer_urls  inventory host -> the peer URL the inventory gives it
"""
from __future__ import absolute_import, division, print_function

import json

__metaclass__ = type


class EtcdPlanError(Exception):
    """etcd's answer or the role's input cannot be interpreted (the message names it)."""


def member_id(value):
    """etcd prints member IDs as uint64 numbers in JSON and as lowercase hex everywhere else."""
    try:
        return "%x" % int(value)
    except (TypeError, ValueError):
        raise EtcdPlanError("not an etcd member ID: %r" % (value,))


def _load(text, what, expected_type):
    if isinstance(text, expected_type):
        return text
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise EtcdPlanError("etcdctl %s did not print JSON (%s): %.200r" % (what, exc, text))
    if not isinstance(data, expected_type):
        raise EtcdPlanError("etcdctl %s printed %s, expected a JSON %s" % (what, type(data).__name__, expected_type.__name__))
    return data


def registered_members(member_list, members, peer_urls):
    """The members etcd has registered (``member list -w json``), each with the inventory host it is.

    A started member is known by its name (the role names members after their inventory host). A
    member that was added but never started has no name yet: it is matched by its peer URL.
    ``host`` is '' for a member that is not in the inventory (it is stale)."""
    data = _load(member_list, "member list", dict)
    url_hosts = dict((url, host) for host, url in peer_urls.items())
    registered = []
    for member in data.get("members") or []:
        name = member.get("name") or ""
        peers = list(member.get("peerURLs") or [])
        peer = peers[0] if peers else ""
        if name:
            host = name if name in members else ""
        else:
            host = url_hosts.get(peer, "")
        registered.append({
            "id": member_id(member.get("ID")),
            "name": name,
            "host": host,
            "peer": peer,
            "peers": peers,
            "started": bool(member.get("clientURLs")),
            # A host the run does not reach keeps whatever URL it has: nothing to compare with.
            "peer_ok": host not in peer_urls or peer_urls[host] in peers,
        })
    return registered


def initial_cluster(pairs):
    """etcd's --initial-cluster value: name=peerURL,..."""
    return ",".join("%s=%s" % (name, url) for name, url in pairs)


def membership_plan(member_list, cluster, members, present, with_data, peer_urls, unreached=()):
    """What it takes to bring a running cluster to the inventory's membership.

    Returns a dict:
      registered  every registered member (see registered_members)
      stale       registered members not in the inventory: to remove
      lost        inventory hosts registered and started before, now without data: refused
      moved       members with data registered under another peer URL than the inventory's: refused
      joiners     present hosts without data, in inventory order, the ones already registered (added by
                  a run that did not finish) first; each ``{host, add, initial_cluster}``, where
                  ``initial_cluster`` is the membership it starts with (registered members that stay,
                  plus the ones added before it in this run)
      refusals    messages saying why the role must not go on and how to fix it (empty when it may)
    """
    registered = registered_members(member_list, members, peer_urls)
    name = cluster["name"]
    with_data = [host for host in present if host in with_data]
    without_data = [host for host in present if host not in with_data]
    registered_hosts = [m["host"] for m in registered if m["host"]]

    stale = [m for m in registered if not m["host"]]
    lost = [m["host"] for m in registered if m["host"] in without_data and m["started"]]
    moved = [m["host"] for m in registered if m["host"] in with_data and not m["peer_ok"]]

    kept = [(m["host"], m["peer"]) for m in registered if m["host"]]
    joiners = []
    added = []
    for host in [h for h in without_data if h in registered_hosts] + [h for h in without_data if h not in registered_hosts]:
        add = host not in registered_hosts
        if add:
            added.append((host, peer_urls[host]))
        joiners.append({"host": host, "add": add, "initial_cluster": initial_cluster(kept + added)})

    refusals = []
    if unreached and (stale or joiners):
        refusals.append(
            "membership changes (add %s, remove %s) are not made without the members %s (etcd_partial_run)."
            % (", ".join(j["host"] for j in joiners) or "none",
               ", ".join(m["name"] or m["peer"] for m in stale) or "none", ", ".join(unreached)))
    if lost:
        refusals.append(
            "members %s are registered and have run before, but have no data under %s (data lost?). Remove them "
            "first (`apron-etcdctl %s member remove <id>` on a healthy member), then run again to add them back empty."
            % (", ".join(lost), cluster["data_dir"], name))
    if moved:
        refusals.append(
            "members %s are registered with other peer URLs than the inventory gives (%s): changing addresses or "
            "ports of running members is not done by the role (etcdctl member update, then restart)."
            % (", ".join(moved), ", ".join(peer_urls[host] for host in moved)))
    return {"registered": registered, "stale": stale, "lost": lost, "moved": moved,
            "joiners": joiners, "refusals": ["apron.cluster.etcd: cluster %s: %s" % (name, r) for r in refusals]}


def removal_plan(plan, health, status, cluster, with_data):
    """Whether the stale members of ``plan`` can be removed now, and where the leadership must go first.

    ``health`` is ``endpoint health --cluster -w json`` (a list; a failed call may print nothing: then
    no member counts as healthy), ``status`` is ``endpoint status --cluster -w json``. The cluster must
    have a quorum now to agree to the removals, and the members that stay (all healthy: the role checked
    them before) must be a quorum of the smaller cluster. Removing the leader leaves the cluster without
    one until the next election, and etcd may not commit that removal at all: the leadership is handed to
    a member that stays first.

    Returns ``{refusals, move_leader}``; ``move_leader`` is None or ``{to, endpoint}`` (the member ID that
    takes over, and the leader's client URL: move-leader must be sent to the leader)."""
    stale = plan["stale"]
    if not stale:
        return {"refusals": [], "move_leader": None}
    registered = plan["registered"]
    if not isinstance(health, list):
        # A failed call (no quorum, timeouts) may print an error instead: no member counts as healthy.
        health = _load(health, "endpoint health", list) if (health or "").strip()[:1] == "[" else []
    healthy_now = len([h for h in health if h.get("health")])
    remaining = len(registered) - len(stale)
    staying = [m for m in registered if m["host"] and m["host"] in with_data]
    refusals = []
    if healthy_now < len(registered) // 2 + 1 or remaining <= 0 or len(staying) < remaining // 2 + 1:
        refusals.append(
            "apron.cluster.etcd: cluster %s has %d registered members, %d of them healthy, %d healthy and in the "
            "inventory; removing %s would leave the cluster without a quorum (or it has none now). Not removing "
            "anything: restore quorum first (or restore from a snapshot with playbooks/etcd-restore.yml)."
            % (cluster["name"], len(registered), healthy_now, len(staying),
               ", ".join(m["name"] or m["peer"] for m in stale)))
        return {"refusals": refusals, "move_leader": None}

    statuses = _load(status, "endpoint status", list)
    leader = None
    for entry in statuses:
        leader = (entry.get("Status") or {}).get("leader")
        if leader is not None:
            break
    if leader is None:
        raise EtcdPlanError("etcdctl endpoint status named no leader for cluster %s" % cluster["name"])
    leader = member_id(leader)
    if leader not in [m["id"] for m in stale]:
        return {"refusals": [], "move_leader": None}
    endpoints = [entry.get("Endpoint") for entry in statuses
                 if member_id(((entry.get("Status") or {}).get("header") or {}).get("member_id")) == leader]
    if not endpoints:
        raise EtcdPlanError("etcdctl endpoint status: the leader %s of cluster %s answered on no endpoint"
                            % (leader, cluster["name"]))
    return {"refusals": [], "move_leader": {"to": staying[0]["id"], "endpoint": endpoints[0]}}
