# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The etcd role's membership decisions (plugins/module_utils/_etcd_membership.py): every case of
reconciling a running cluster with its inventory group, from etcdctl's real JSON shapes."""
from __future__ import annotations

import json

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._etcd_membership import (
    EtcdPlanError, member_id, membership_plan, registered_members, removal_plan)

CLUSTER = {"name": "k8s-main", "data_dir": "/var/lib/etcd/k8s-main"}
MEMBERS = ["etcd-0", "etcd-1", "etcd-2"]
PEERS = {h: "https://10.0.0.%d:2380" % (i + 10) for i, h in enumerate(MEMBERS)}


def member(ident, name, peer, started=True):
    """One entry of `etcdctl member list -w json` (IDs are uint64 numbers there)."""
    entry = {"ID": ident, "name": name, "peerURLs": [peer]}
    if started:
        entry["clientURLs"] = [peer.replace("2380", "2379")]
    return entry


def member_list(*members):
    return json.dumps({"header": {"cluster_id": 1, "member_id": 2, "raft_term": 3}, "members": list(members)})


FULL = member_list(*[member(100 + i, h, PEERS[h]) for i, h in enumerate(MEMBERS)])


def plan(listing, present=None, with_data=None, peers=None, unreached=()):
    return membership_plan(listing, CLUSTER, MEMBERS, list(MEMBERS if present is None else present),
                           list(MEMBERS if with_data is None else with_data), PEERS if peers is None else peers,
                           list(unreached))


def test_member_ids_are_hex_like_everywhere_else_in_etcdctl():
    assert member_id(12345678901234567890) == "ab54a98ceb1f0ad2"
    with pytest.raises(EtcdPlanError, match="not an etcd member ID"):
        member_id("x")


def test_converged_cluster_needs_nothing():
    result = plan(FULL)
    assert [m["host"] for m in result["registered"]] == MEMBERS
    assert result["stale"] == [] and result["lost"] == [] and result["moved"] == []
    assert result["joiners"] == [] and result["refusals"] == []


def test_member_not_in_inventory_is_stale():
    listing = member_list(*[member(100 + i, h, PEERS[h]) for i, h in enumerate(MEMBERS)],
                          member(200, "etcd-9", "https://10.0.0.99:2380"))
    result = plan(listing)
    assert [(m["id"], m["name"]) for m in result["stale"]] == [("c8", "etcd-9")]
    assert result["refusals"] == []


def test_unstarted_member_is_recognised_by_its_peer_url():
    # Added by a run that stopped before starting it: etcd knows it by peer URL only.
    listing = member_list(member(100, "etcd-0", PEERS["etcd-0"]), member(101, "etcd-1", PEERS["etcd-1"]),
                          member(102, "", PEERS["etcd-2"], started=False))
    result = plan(listing, with_data=["etcd-0", "etcd-1"])
    assert result["stale"] == []
    assert result["joiners"] == [{"host": "etcd-2", "add": False, "initial_cluster":
                                  "etcd-0=%s,etcd-1=%s,etcd-2=%s" % (PEERS["etcd-0"], PEERS["etcd-1"], PEERS["etcd-2"])}]


def test_unstarted_member_with_an_unknown_peer_url_is_stale():
    listing = member_list(member(100, "etcd-0", PEERS["etcd-0"]), member(103, "", "https://10.9.9.9:2380", started=False))
    result = plan(listing, with_data=["etcd-0"])
    assert [m["peer"] for m in result["stale"]] == ["https://10.9.9.9:2380"]


def test_joiners_registered_ones_first_then_new_ones_in_inventory_order_each_with_the_members_before_it():
    listing = member_list(member(100, "etcd-0", PEERS["etcd-0"]), member(102, "", PEERS["etcd-2"], started=False))
    result = plan(listing, with_data=["etcd-0"])
    p0, p1, p2 = PEERS["etcd-0"], PEERS["etcd-1"], PEERS["etcd-2"]
    assert result["joiners"] == [
        {"host": "etcd-2", "add": False, "initial_cluster": "etcd-0=%s,etcd-2=%s" % (p0, p2)},
        {"host": "etcd-1", "add": True, "initial_cluster": "etcd-0=%s,etcd-2=%s,etcd-1=%s" % (p0, p2, p1)},
    ]


def test_stale_members_are_not_in_the_joiners_initial_cluster():
    listing = member_list(member(100, "etcd-0", PEERS["etcd-0"]), member(200, "old", "https://10.0.0.99:2380"))
    result = plan(listing, with_data=["etcd-0"])
    assert [j["initial_cluster"] for j in result["joiners"]] == [
        "etcd-0=%s,etcd-1=%s" % (PEERS["etcd-0"], PEERS["etcd-1"]),
        "etcd-0=%s,etcd-1=%s,etcd-2=%s" % (PEERS["etcd-0"], PEERS["etcd-1"], PEERS["etcd-2"])]


def test_started_member_without_data_is_lost_and_refused_with_how_to_fix():
    result = plan(FULL, with_data=["etcd-0", "etcd-2"])
    assert result["lost"] == ["etcd-1"]
    assert len(result["refusals"]) == 1
    message = result["refusals"][0]
    assert message.startswith("apron.cluster.etcd: cluster k8s-main: members etcd-1 are registered")
    assert "/var/lib/etcd/k8s-main" in message and "apron-etcdctl k8s-main member remove" in message


def test_member_registered_under_another_peer_url_is_moved_and_refused():
    peers = dict(PEERS, **{"etcd-1": "https://10.0.1.11:2380"})
    result = plan(FULL, peers=peers)
    assert result["moved"] == ["etcd-1"]
    assert "https://10.0.1.11:2380" in result["refusals"][0] and "member update" in result["refusals"][0]


def test_partial_run_refuses_membership_changes_only():
    present = ["etcd-0", "etcd-1"]
    peers = {h: PEERS[h] for h in present}
    assert plan(FULL, present=present, with_data=present, peers=peers, unreached=["etcd-2"])["refusals"] == []
    listing = member_list(member(100, "etcd-0", PEERS["etcd-0"]), member(200, "old", "https://10.0.0.99:2380"))
    refused = plan(listing, present=present, with_data=["etcd-0"], peers=peers, unreached=["etcd-2"])
    assert refused["refusals"] == [
        "apron.cluster.etcd: cluster k8s-main: membership changes (add etcd-1, remove old) are not made without "
        "the members etcd-2 (etcd_partial_run)."]


def test_unreached_member_keeps_its_registration_unchecked():
    # etcd-2 is not in the run: its URL is unknown, nothing to compare.
    present = ["etcd-0", "etcd-1"]
    regs = registered_members(FULL, MEMBERS, {h: PEERS[h] for h in present})
    assert [m["peer_ok"] for m in regs] == [True, True, True]


def test_etcdctl_output_that_is_not_json_is_named():
    with pytest.raises(EtcdPlanError, match="member list did not print JSON"):
        plan("Error: context deadline exceeded")
    with pytest.raises(EtcdPlanError, match="expected a JSON dict"):
        plan("[]")


# --- removals ---------------------------------------------------------------------------------

def health(*flags):
    return json.dumps([{"endpoint": "https://10.0.0.%d:2379" % i, "health": flag, "took": "1ms"} for i, flag in enumerate(flags)])


def status(leader, members=(100, 101, 102, 200)):
    return json.dumps([{"Endpoint": "https://e%d:2379" % ident,
                        "Status": {"header": {"member_id": ident}, "leader": leader}} for ident in members])


WITH_STALE = member_list(*[member(100 + i, h, PEERS[h]) for i, h in enumerate(MEMBERS)],
                         member(200, "etcd-9", "https://10.0.0.99:2380"))


def test_nothing_stale_means_nothing_to_plan():
    assert removal_plan(plan(FULL), "", "", CLUSTER, MEMBERS) == {"refusals": [], "move_leader": None}


def test_removal_with_quorum_and_a_follower_leaving():
    result = removal_plan(plan(WITH_STALE), health(True, True, True, False), status(100), CLUSTER, MEMBERS)
    assert result == {"refusals": [], "move_leader": None}


def test_leader_leaving_hands_the_leadership_to_a_member_that_stays_via_the_leader():
    result = removal_plan(plan(WITH_STALE), health(True, True, True, True), status(200), CLUSTER, MEMBERS)
    assert result == {"refusals": [], "move_leader": {"to": "64", "endpoint": "https://e200:2379"}}


def test_no_quorum_now_refuses_removals():
    result = removal_plan(plan(WITH_STALE), health(True, True, False, False), status(100), CLUSTER, MEMBERS)
    assert result["move_leader"] is None
    assert "4 registered members, 2 of them healthy" in result["refusals"][0]
    assert "playbooks/etcd-restore.yml" in result["refusals"][0]


def test_failed_health_call_counts_no_member_healthy():
    result = removal_plan(plan(WITH_STALE), "Error: unhealthy cluster", "", CLUSTER, MEMBERS)
    assert "0 of them healthy" in result["refusals"][0]


def test_staying_members_must_be_a_quorum_of_the_smaller_cluster():
    # Two stale of five registered: three stay, but only one of them has data in the inventory.
    listing = member_list(member(100, "etcd-0", PEERS["etcd-0"]), member(101, "etcd-1", PEERS["etcd-1"]),
                          member(102, "etcd-2", PEERS["etcd-2"]), member(200, "old-a", "https://10.0.0.98:2380"),
                          member(201, "old-b", "https://10.0.0.99:2380"))
    membership = membership_plan(listing, CLUSTER, MEMBERS, MEMBERS, ["etcd-0"], PEERS, [])
    result = removal_plan(membership, health(True, True, True, True, True), status(100), CLUSTER, ["etcd-0"])
    assert "1 healthy and in the inventory" in result["refusals"][0]


def test_removing_every_member_is_refused():
    listing = member_list(member(200, "old", "https://10.0.0.99:2380"))
    membership = membership_plan(listing, CLUSTER, MEMBERS, MEMBERS, ["etcd-0"], PEERS, [])
    assert removal_plan(membership, health(True), status(200, (200,)), CLUSTER, ["etcd-0"])["refusals"]


def test_status_without_a_leader_is_an_error():
    with pytest.raises(EtcdPlanError, match="named no leader"):
        removal_plan(plan(WITH_STALE), health(True, True, True, True), json.dumps([{"Endpoint": "x", "Status": {}}]),
                     CLUSTER, MEMBERS)
