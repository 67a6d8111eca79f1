# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The files the pki role writes through apron.cluster.file_set (plugins/filter/pki.py)."""
from __future__ import annotations

import hashlib
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.filter.pki import pki_ca_bundle_files, pki_registry_files, pki_subject_alt_names

CERTS = [
    {"name": "member", "dir": "/etc/apron/etcd/k8s-main/pki", "ca": "etcd-k8s", "owner": "etcd", "group": "etcd"},
    {"name": "client", "dir": "/etc/apron/etcd/k8s-main/pki", "ca": "etcd-k8s", "owner": "etcd", "group": "etcd"},
    {"name": "front", "dir": "/etc/apron/x/pki", "ca": "b-ca", "owner": "root", "group": "root"},
    {"name": "both", "dir": "/etc/apron/x/pki", "ca": "a-ca", "owner": "root", "group": "root"},
]


def test_ca_bundle_per_directory_sorted_by_ca_owned_like_the_first_certificate():
    cas = {"etcd-k8s": {"pem": "E\n"}, "a-ca": {"pem": "A\n"}, "b-ca": {"pem": "B\n"}}
    assert pki_ca_bundle_files(CERTS, cas) == [
        {"path": "/etc/apron/etcd/k8s-main/pki/ca.crt", "content": "E\n", "owner": "etcd", "group": "etcd", "mode": "0644"},
        {"path": "/etc/apron/x/pki/ca.crt", "content": "A\nB\n", "owner": "root", "group": "root", "mode": "0644"},
    ]


def test_ca_bundle_leaves_out_a_directory_whose_ca_does_not_exist_yet():
    cas = {"etcd-k8s": {"pem": "E\n"}, "a-ca": {"pem": None}, "b-ca": {"pem": "B\n"}}
    assert [f["path"] for f in pki_ca_bundle_files(CERTS, cas)] == ["/etc/apron/etcd/k8s-main/pki/ca.crt"]


def test_ca_bundle_unknown_ca_is_an_error():
    with pytest.raises(AnsibleFilterError, match="/etc/apron/x/pki: unknown CA a-ca"):
        pki_ca_bundle_files(CERTS, {"etcd-k8s": {"pem": "E"}, "b-ca": {"pem": "B"}})


def test_registry_entries_names_and_content():
    files = pki_registry_files(CERTS[:1], "/etc/apron/pki/certificates.d/", "dev", "local_ca", "30", False)
    digest = hashlib.sha256(b"/etc/apron/etcd/k8s-main/pki/member").hexdigest()[:12]
    assert files[0]["path"] == "/etc/apron/pki/certificates.d/member-%s.json" % digest
    assert (files[0]["owner"], files[0]["group"], files[0]["mode"]) == ("root", "root", "0644")
    assert files[0]["content"].endswith("}\n")
    assert json.loads(files[0]["content"]) == {
        "name": "member", "dir": "/etc/apron/etcd/k8s-main/pki", "certificate": "/etc/apron/etcd/k8s-main/pki/member.crt",
        "key": "/etc/apron/etcd/k8s-main/pki/member.key", "ca_bundle": "/etc/apron/etcd/k8s-main/pki/ca.crt",
        "ca": "etcd-k8s", "cluster": "dev", "backend": "local_ca", "renewal_window_days": 30, "unattended_renewal": False}


def test_directories_parents_without_attributes_then_the_directories():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_directories
    assert pki_directories(CERTS) == [
        {"path": "/etc/apron/etcd/k8s-main"},
        {"path": "/etc/apron/x"},
        {"path": "/etc/apron/etcd/k8s-main/pki", "owner": "etcd", "group": "etcd", "mode": "0750"},
        {"path": "/etc/apron/x/pki", "owner": "root", "group": "root", "mode": "0750"},
    ]
    nested = [{"dir": "/a/b", "owner": "root", "group": "root"}, {"dir": "/a/b/c", "owner": "u", "group": "g"}]
    assert pki_directories(nested) == [{"path": "/a"}, {"path": "/a/b", "owner": "root", "group": "root", "mode": "0750"},
                                       {"path": "/a/b/c", "owner": "u", "group": "g", "mode": "0750"}]


def test_subject_alt_names_names_become_dns_addresses_ip_typed_entries_kept_duplicates_dropped():
    assert pki_subject_alt_names(["etcd-0", "etcd-0", "10.0.0.5", "fd00::1", "IP:127.0.0.1", "DNS:api.example",
                                  "URI:spiffe://x", "", "localhost", "IP:127.0.0.1"]) == [
        "DNS:etcd-0", "IP:10.0.0.5", "IP:fd00::1", "IP:127.0.0.1", "DNS:api.example", "URI:spiffe://x", "DNS:localhost"]
