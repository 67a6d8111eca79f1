# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The etcd role's filters (plugins/filter/etcd.py) through Ansible's templating, as the role calls them."""
from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.apron.cluster.plugins.filter.etcd import FilterModule


def render(expression, **variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def test_every_filter_is_exported_under_its_name():
    assert sorted(FilterModule().filters()) == [
        "etcd_certificates", "etcd_clusters", "etcd_env_data_dir", "etcd_environment_file", "etcd_host_read",
        "etcd_host_state", "etcd_membership_plan", "etcd_removal_plan", "etcd_restart_members", "etcd_urls"]


def test_urls_as_the_role_renders_them():
    assert render("{{ hosts | apron.cluster.etcd_urls(addrs, 2380) }}", hosts=["a"], addrs=["[fd00::1]"]) == {
        "a": "https://[fd00::1]:2380"}


def test_membership_plan_from_etcdctl_stdout():
    listing = json.dumps({"members": [{"ID": 1, "name": "a", "peerURLs": ["https://10.0.0.1:2380"], "clientURLs": ["x"]}]})
    result = render("{{ out | apron.cluster.etcd_membership_plan(c, ['a', 'b', 'c'], ['a', 'b', 'c'], ['a'], peers, []) }}",
                    out=listing, c={"name": "k8s-main", "data_dir": "/d"},
                    peers={"a": "https://10.0.0.1:2380", "b": "https://10.0.0.2:2380", "c": "https://10.0.0.3:2380"})
    assert [j["host"] for j in result["joiners"]] == ["b", "c"] and result["refusals"] == []


def test_errors_name_the_filter():
    with pytest.raises(AnsibleError, match="apron.cluster.etcd_membership_plan: etcdctl member list did not print JSON"):
        render("{{ 'oops' | apron.cluster.etcd_membership_plan({'name': 'x'}, [], [], [], {}, []) }}")


def test_host_read_as_facts_yml_reads_it():
    lines = ["group=etcd:x:997:", "passwd=", "packaged=LoadState=not-found ActiveState=inactive UnitFileState= ",
             "apt_lists=4", "binary=present", "package=etcd-server installed", "package=etcd-client not-installed"]
    assert render("{{ lines | apron.cluster.etcd_host_read }}", lines=lines) == {
        "group": "etcd:x:997:", "passwd": "", "packaged": "LoadState=not-found ActiveState=inactive UnitFileState= ",
        "apt_lists": "4", "binary": "present", "packages": ["etcd-server installed", "etcd-client not-installed"]}


def test_host_read_splits_at_the_first_equals_sign_and_ignores_other_lines():
    from ansible_collections.apron.cluster.plugins.filter.etcd import etcd_host_read
    assert etcd_host_read(["passwd=etcd:x:1:1:a=b:/var/lib/etcd:/bin/false", "noise", "binary=absent", "binary=present"]) == {
        "passwd": "etcd:x:1:1:a=b:/var/lib/etcd:/bin/false", "binary": "present", "packages": []}


def test_host_read_refuses_what_is_not_a_read():
    with pytest.raises(AnsibleError, match="apron.cluster.etcd_host_read: expected the stdout_lines of the read"):
        render("{{ 'binary=present' | apron.cluster.etcd_host_read }}")


def _cluster(name):
    return {"name": name, "unit": "apron-etcd@%s.service" % name, "backup_timer": "apron-etcd-backup@%s.timer" % name,
            "data_dir": "/var/lib/apron/etcd/%s" % name, "backup_dir": "/var/backups/apron/etcd/%s" % name}


CLUSTERS = [_cluster("k8s-main"), _cluster("k8s-events"), _cluster("overlay")]
ON = "ActiveState=active UnitFileState=enabled "
STATE = [
    "state apron-etcd@k8s-main.service " + ON,
    "state apron-etcd@k8s-events.service ActiveState=inactive UnitFileState=enabled ",
    "state apron-etcd@overlay.service ActiveState=activating UnitFileState=disabled ",
    "state apron-etcd-backup@k8s-main.timer " + ON,
    "state apron-etcd-backup@k8s-events.timer ActiveState=inactive UnitFileState=disabled ",
    "state apron-etcd-backup@overlay.timer ActiveState=inactive UnitFileState= ",
    "data /var/lib/apron/etcd/overlay", "data /var/lib/apron/etcd/k8s-main",
    "snapshot /var/backups/apron/etcd/k8s-events",
]


def test_host_state_as_config_yml_reads_it():
    assert render("{{ lines | apron.cluster.etcd_host_state(clusters) }}", lines=STATE, clusters=CLUSTERS) == {
        "active_before": ["k8s-main"],
        "enabled_before": ["k8s-main", "k8s-events"],
        "bootstrapped": ["k8s-main", "overlay"],
        "timer_states": [ON, "ActiveState=inactive UnitFileState=disabled ", "ActiveState=inactive UnitFileState= "],
        "with_snapshot": ["k8s-events"],
    }


def test_host_state_a_fresh_host():
    from ansible_collections.apron.cluster.plugins.filter.etcd import etcd_host_state
    fresh = ["state apron-etcd@k8s-main.service ActiveState=inactive UnitFileState= ",
             "state apron-etcd-backup@k8s-main.timer ActiveState=inactive UnitFileState= "]
    assert etcd_host_state(fresh, CLUSTERS[:1]) == {"active_before": [], "enabled_before": [], "bootstrapped": [],
                                                    "timer_states": ["ActiveState=inactive UnitFileState= "],
                                                    "with_snapshot": []}


def test_host_state_refuses_a_read_without_the_state_of_a_unit():
    from ansible_collections.apron.cluster.plugins.filter.etcd import etcd_host_state
    with pytest.raises(AnsibleError, match="no 'state apron-etcd-backup@k8s-main.timer ...' line \\(backup_timer of the "
                                           "cluster k8s-main\\)"):
        etcd_host_state(STATE[:1], CLUSTERS[:1])


HOSTVARS = {
    "etcd-1": {"__etcd_restart_needed": ["k8s-main"], "__etcd_active_before": ["k8s-main", "overlay"]},
    "etcd-2": {"__etcd_restart_needed": ["overlay"], "__etcd_active_before": ["k8s-main", "overlay"]},
    "etcd-3": {"__etcd_restart_needed": ["k8s-main"], "__etcd_active_before": []},
    "etcd-4": {"__etcd_restart_needed": ["k8s-main"], "__etcd_active_before": ["k8s-main"]},
    "etcd-0": {"__etcd_restart_needed": ["k8s-main"], "__etcd_active_before": ["k8s-main"]},
}


def test_restart_members_owe_a_restart_were_running_and_have_data_in_member_order():
    assert render("{{ members | apron.cluster.etcd_restart_members(hv, 'k8s-main', ['etcd-4', 'etcd-3', 'etcd-1', 'etcd-0']) }}",
                  members=["etcd-4", "etcd-1", "etcd-2", "etcd-3", "etcd-0"], hv=HOSTVARS) == ["etcd-4", "etcd-1", "etcd-0"]


def test_restart_members_a_member_without_data_is_not_restarted_nor_looked_at():
    from ansible_collections.apron.cluster.plugins.filter.etcd import etcd_restart_members
    assert etcd_restart_members(["etcd-1", "new"], HOSTVARS, "k8s-main", ["etcd-1"]) == ["etcd-1"]
    assert etcd_restart_members(["etcd-1"], HOSTVARS, "k8s-events", ["etcd-1"]) == []


def test_restart_members_refuses_a_member_without_the_facts():
    from ansible_collections.apron.cluster.plugins.filter.etcd import etcd_restart_members
    with pytest.raises(AnsibleError, match="etcd-9 has no __etcd_active_before"):
        etcd_restart_members(["etcd-9"], {"etcd-9": {"__etcd_restart_needed": []}}, "k8s-main", ["etcd-9"])
    with pytest.raises(AnsibleError, match="etcd-8 is not in hostvars"):
        etcd_restart_members(["etcd-8"], HOSTVARS, "k8s-main", ["etcd-8"])


def test_environment_file_of_systemctl_show():
    from ansible_collections.apron.cluster.plugins.filter.etcd import etcd_environment_file
    assert etcd_environment_file(["/etc/apron/etcd/k8s-main/etcd.env (ignore_errors=no)", "/other (ignore_errors=yes)"]) == (
        "/etc/apron/etcd/k8s-main/etcd.env")
    assert etcd_environment_file(["/etc/etcd.env"]) == "/etc/etcd.env"
    assert etcd_environment_file([]) == ""


def test_env_data_dir_the_first_absolute_one():
    assert render("{{ content | b64decode | apron.cluster.etcd_env_data_dir }}",
                  content="RVRDRF9OQU1FPWV0Y2QtMQpFVENEX0RBVEFfRElSPS92YXIvbGliL2V0Y2QKRVRDRF9EQVRBX0RJUj0vc2Vjb25kCg==") == (
        "/var/lib/etcd")
    from ansible_collections.apron.cluster.plugins.filter.etcd import etcd_env_data_dir
    assert etcd_env_data_dir("ETCD_DATA_DIR=relative\n# ETCD_DATA_DIR=/commented\n") == ""
    assert etcd_env_data_dir("") == ""
    with pytest.raises(AnsibleError, match="etcd_env_data_dir: expected the text of an etcd.env, got NoneType"):
        etcd_env_data_dir(None)
