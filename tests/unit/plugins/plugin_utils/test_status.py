# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""plugin_utils/_status.py: the pre-flight's failed hosts and the status report / table."""

from __future__ import annotations

import json

import pytest

from ansible_collections.apron.cluster.plugins.plugin_utils import _status

NOW = "2026-12-02T08:00:00Z"


def _cert(name, not_after, window=30, path=None, error=None):
    return {"name": name, "path": path or "/etc/apron/etcd/k8s-main/pki/%s.crt" % name, "ca": "etcd-k8s-main",
            "not_after": not_after, "renewal_window_days": window, "error": error}


def _etcd_host(name, index, leader, healthy=True):
    return {
        "apron": {"role": "etcd", "pool": "dev-etcd", "cluster": "dev", "environment": "dev",
                  "private_address": "10.98.0.%d" % (50 + index)},
        "st": {"changed": False,
               "versions": {"etcd": "3.4.23", "debian": "12.8"},
               "units": [{"name": "apron-etcd@k8s-main.service", "state": "active"},
                         {"name": "apron-etcd@k8s-events.service", "state": "active" if healthy else "failed"},
                         {"name": "apron-etcd-backup@k8s-main.service", "state": "inactive"}],
               "disks": [{"path": "/var/lib/apron/etcd", "size": 10 * 2 ** 30, "used": 2 ** 30, "avail": 9 * 2 ** 30,
                          "percent": 10}],
               "etcd": [{"cluster": "k8s-main", "healthy": True, "is_leader": leader, "version": "3.4.23"},
                        {"cluster": "k8s-events", "healthy": healthy, "is_leader": leader, "version": "3.4.23"}],
               "certificates": [_cert("member", "2027-12-01T00:00:00Z"),
                                _cert("client", "2026-12-20T00:00:00Z" if index == 1 else "2027-06-01T00:00:00Z")]},
    }


@pytest.fixture
def hostvars():
    hv = {"dev-etcd-%d" % i: _etcd_host("dev-etcd-%d" % i, i, leader=(i == 0), healthy=(i != 2)) for i in range(3)}
    hv["dev-bastion-0"] = {"apron": {"role": "bastion", "cluster": "dev"},
                           "st": {"unreachable": True, "msg": "Failed to connect to the host via ssh"}}
    return hv


def test_failed_hosts_names_failed_unreachable_and_missing():
    hv = {"a": {"r": {"changed": False}}, "b": {"r": {"failed": True}}, "c": {"r": {"unreachable": True}},
          "d": {}, "e": {"r": {"skipped": True}}}
    assert _status.failed_hosts(hv, ["e", "d", "c", "b", "a"], "r") == ["d", "c", "b"]
    assert _status.failed_hosts(hv, [], "r") == []


@pytest.mark.parametrize("args, message", [
    (("not a mapping", ["a"], "r"), "hostvars is a str: expected a mapping"),
    (({}, "a", "r"), "hosts is 'a': expected a list of inventory host names"),
    (({}, ["a"], ""), "result_name is '': expected the name of a registered variable"),
])
def test_failed_hosts_bad_input(args, message):
    with pytest.raises(_status.StatusError, match=message):
        _status.failed_hosts(*args)


def test_report(hostvars):
    hosts = ["dev-bastion-0", "dev-etcd-0", "dev-etcd-1", "dev-etcd-2"]
    report = _status.status_report(hostvars, hosts, "st", NOW)
    json.dumps(report)  # plain data
    assert report["generated"] == NOW
    bastion, etcd0 = report["hosts"][0], report["hosts"][1]
    assert bastion["reachable"] is False and "Failed to connect" in bastion["error"]
    assert etcd0["reachable"] and etcd0["role"] == "etcd" and etcd0["versions"]["etcd"] == "3.4.23"
    assert etcd0["services"]["apron-etcd@k8s-main.service"] == "active"
    main, events = sorted(report["etcd"], key=lambda c: c["cluster"])[::-1]
    assert main["cluster"] == "k8s-main" and main["state"] == "healthy" and main["leader"] == "dev-etcd-0"
    assert events["state"] == "degraded" and events["unhealthy"] == ["dev-etcd-2"]
    certs = report["certificates"]
    assert len(certs) == 6
    # sorted by expiry; the one inside its 30-day window first and marked
    assert (certs[0]["host"], certs[0]["name"], certs[0]["days_left"], certs[0]["renew"]) == \
        ("dev-etcd-1", "client", 17.7, True)
    assert [c["days_left"] for c in certs] == sorted(c["days_left"] for c in certs)
    assert not any(c["renew"] for c in certs[1:])
    summary = report["summary"]
    assert summary["unreachable"] == ["dev-bastion-0"]
    assert summary["failed_services"] == ["dev-etcd-2:apron-etcd@k8s-events.service"]
    assert summary["etcd_degraded"] == ["k8s-events"]
    assert summary["certificates_to_renew"] == 1 and summary["ok"] is False


def test_unreadable_certificate_sorts_first_and_is_marked(hostvars):
    hostvars["dev-etcd-0"]["st"]["certificates"].append(_cert("peer", None, error="cannot read: permission denied"))
    report = _status.status_report(hostvars, ["dev-etcd-0"], "st", NOW)
    first = report["certificates"][0]
    assert first["name"] == "peer" and first["renew"] and first["days_left"] is None


def test_certificates_sort_by_exact_expiry(hostvars):
    hostvars["dev-etcd-0"]["st"]["certificates"] = [_cert("b", "2027-12-01T00:00:09Z"), _cert("a", "2027-12-01T00:00:01Z")]
    report = _status.status_report(hostvars, ["dev-etcd-0"], "st", NOW)
    assert [c["name"] for c in report["certificates"]] == ["a", "b"]


def test_all_good_is_ok():
    hv = {"dev-etcd-0": _etcd_host("dev-etcd-0", 0, leader=True)}
    report = _status.status_report(hv, ["dev-etcd-0"], "st", NOW)
    assert report["summary"]["ok"] is True
    assert [c["state"] for c in report["etcd"]] == ["healthy", "healthy"]


def test_no_leader_is_degraded():
    hv = {"dev-etcd-0": _etcd_host("dev-etcd-0", 0, leader=False)}
    report = _status.status_report(hv, ["dev-etcd-0"], "st", NOW)
    assert {c["state"] for c in report["etcd"]} == {"degraded"}


def test_report_bad_input(hostvars):
    with pytest.raises(_status.StatusError, match="host 'nope' is not in hostvars"):
        _status.status_report(hostvars, ["nope"], "st", NOW)
    with pytest.raises(_status.StatusError, match="time 'yesterday': expected ISO 8601"):
        _status.status_report(hostvars, ["dev-etcd-0"], "st", "yesterday")


def test_table(hostvars):
    report = _status.status_report(hostvars, ["dev-bastion-0", "dev-etcd-0", "dev-etcd-1", "dev-etcd-2"], "st", NOW)
    lines = _status.status_table(report)
    text = "\n".join(lines)
    assert lines[0] == "HOSTS"
    assert "dev-bastion-0  bastion  NO: Failed to connect to the host via ssh" in text
    assert "/var/lib/apron/etcd 1.0 GiB/10.0 GiB (10%)" in text
    assert "2 active, 1 inactive" in text and "1 active, 1 inactive; failed: apron-etcd@k8s-events.service" in text
    cert_header = lines.index("CERTIFICATES (soonest expiry first; * = inside the renewal window or unreadable)")
    first = lines[cert_header + 2]
    assert first.startswith("*") and "dev-etcd-1" in first and "client.crt" in first
    assert "k8s-events  degraded  dev-etcd-0  2/3" in text
    assert lines[-1].startswith("SUMMARY: ATTENTION - 4 host(s), unreachable: dev-bastion-0")
    # columns line up: every row of the host table is as wide as its header allows
    assert all("  " in line for line in lines[1:5])


def test_table_bad_input():
    with pytest.raises(_status.StatusError, match="report has no 'hosts'"):
        _status.status_table({})


def test_filters_are_registered():
    from ansible_collections.apron.cluster.plugins.filter.apron_site import FilterModule

    filters = FilterModule().filters()
    assert sorted(filters) == ["failed_hosts", "model_overrides", "ssh_config", "stack_order", "status_report", "status_table"]
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="apron.cluster.status_table: report has no 'hosts'"):
        filters["status_table"]({})


def test_stack_order_has_one_owner():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.apron.cluster.plugins.filter.apron_site import stack_order
    from ansible_collections.apron.cluster.plugins.module_utils._stack_vars import STACKS

    assert stack_order("present") == list(STACKS) == ["state", "network", "tools", "vault", "kubernetes"]
    assert stack_order("absent") == list(reversed(STACKS))
    with pytest.raises(AnsibleFilterError, match="expected present or absent, got 'gone'"):
        stack_order("gone")
