# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Where the etcd role's clusters live and which certificates they need (plugins/module_utils/_etcd_layout.py)."""
from __future__ import annotations

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._etcd_layout import certificates, clusters, member_urls, url


def test_urls_bracket_ipv6_once():
    assert url("10.0.0.1", 2379) == "https://10.0.0.1:2379"
    assert url("fd00::1", "2380") == "https://[fd00::1]:2380"
    assert url("[fd00::1]", 2380) == "https://[fd00::1]:2380"


def test_member_urls_per_inventory_host_and_mismatched_lists_refused():
    assert member_urls(["a", "b"], ["10.0.0.1", "10.0.0.2"], 2380) == {"a": "https://10.0.0.1:2380", "b": "https://10.0.0.2:2380"}
    with pytest.raises(ValueError, match="2 hosts but 1 addresses"):
        member_urls(["a", "b"], ["10.0.0.1"], 2380)


def test_clusters_get_their_paths_units_token_and_restart_files():
    [main] = clusters([{"name": "k8s-main", "ca": "etcd-k8s", "client_port": 2379, "peer_port": 2380}],
                      "/var/lib/etcd", "/etc/etcd", "/var/backups/etcd", "apron", "member")
    assert main == {
        "name": "k8s-main", "ca": "etcd-k8s", "client_port": 2379, "peer_port": 2380, "env": {},
        "data_dir": "/var/lib/etcd/k8s-main", "config_dir": "/etc/etcd/k8s-main", "pki_dir": "/etc/etcd/k8s-main/pki",
        "backup_dir": "/var/backups/etcd/k8s-main", "unit": "apron-etcd@k8s-main.service",
        "service": {"unit": "apron-etcd@k8s-main.service", "files": [
            "/etc/etcd/k8s-main/pki/member.crt", "/etc/etcd/k8s-main/pki/member.key", "/etc/etcd/k8s-main/pki/ca.crt"]},
        "backup_timer": "apron-etcd-backup@k8s-main.timer", "token": "apron-k8s-main"}


def test_cluster_env_is_kept_and_derived_paths_cannot_be_overridden():
    [c] = clusters([{"name": "x", "env": {"ETCD_QUOTA_BACKEND_BYTES": "1"}, "data_dir": "/elsewhere"}],
                   "/d", "/c", "/b", "t", "member")
    assert c["env"] == {"ETCD_QUOTA_BACKEND_BYTES": "1"} and c["data_dir"] == "/d/x"


def test_certificates_member_and_client_per_cluster():
    cs = clusters([{"name": "k8s-main", "ca": "etcd-k8s"}, {"name": "overlay", "ca": "etcd-overlay"}],
                  "/d", "/c", "/b", "t", "member")
    certs = certificates(cs, "etcd-0", ["DNS:etcd-0", "IP:10.0.0.1"], "ecdsa-p256", "apron-etcd-clients", "etcd", "etcd")
    assert [(c["name"], c["ca"], c["dir"]) for c in certs] == [
        ("member", "etcd-k8s", "/c/k8s-main/pki"), ("client", "etcd-k8s", "/c/k8s-main/pki"),
        ("member", "etcd-overlay", "/c/overlay/pki"), ("client", "etcd-overlay", "/c/overlay/pki")]
    member, client = certs[0], certs[1]
    assert member["common_name"] == "etcd-0" and member["subject_alt_names"] == ["DNS:etcd-0", "IP:10.0.0.1"]
    assert member["extended_key_usage"] == ["serverAuth", "clientAuth"] and "organization" not in member
    assert client["common_name"] == "apron-etcd-client-etcd-0" and client["organization"] == "apron-etcd-clients"
    assert client["extended_key_usage"] == ["clientAuth"] and "subject_alt_names" not in client
    assert all(c["key_usage"] == ["digitalSignature", "keyEncipherment"] and c["owner"] == "etcd" for c in certs)
