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


KEY_TYPES = {"ecdsa-p256": {"type": "ECC", "curve": "secp256r1"}, "rsa-2048": {"type": "RSA", "size": 2048}}
REQUESTED = [
    {"name": "member", "dir": "/etc/x/pki", "ca": "etcd", "owner": "etcd", "group": "etcd", "key_type": "ecdsa-p256",
     "common_name": "etcd-0", "subject_alt_names": ["DNS:etcd-0"], "key_usage": ["digitalSignature"],
     "extended_key_usage": ["serverAuth"]},
    {"name": "client", "dir": "/etc/x/pki", "ca": "other", "owner": "root", "group": "root", "key_type": "rsa-2048",
     "common_name": "c", "organization": "o"},
]


def test_plan_requests_name_the_files_the_key_and_the_ca_to_compare_with():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_plan_requests
    member, client = pki_plan_requests(REQUESTED, {"etcd": {"pem": "E", "changing": False},
                                                   "other": {"pem": "O", "changing": True}}, KEY_TYPES)
    assert member == {"key_path": "/etc/x/pki/member.key", "certificate_path": "/etc/x/pki/member.crt",
                      "common_name": "etcd-0", "organization": None, "subject_alt_names": ["DNS:etcd-0"],
                      "key_usage": ["digitalSignature"], "extended_key_usage": ["serverAuth"], "ca_certificate": "E",
                      "key_type": "ECC", "key_curve": "secp256r1", "key_size": None,
                      "key_owner": "etcd", "key_group": "etcd", "key_mode": "0600"}
    # A CA being replaced is not compared by the module (the role adds "ca changed").
    assert client["ca_certificate"] is None and client["key_size"] == 2048 and client["organization"] == "o"


def test_plan_requests_refuse_an_unknown_key_type_or_ca():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_plan_requests
    with pytest.raises(AnsibleFilterError, match="unknown key_type 'dsa'"):
        pki_plan_requests([dict(REQUESTED[0], key_type="dsa")], {"etcd": {"pem": "E"}}, KEY_TYPES)
    with pytest.raises(AnsibleFilterError, match="unknown CA other"):
        pki_plan_requests(REQUESTED, {"etcd": {"pem": "E"}}, KEY_TYPES)


def test_reissue_reasons_add_what_the_module_cannot_see_in_a_fixed_order():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_reissue_reasons
    inspection = [{"certificate_exists": True, "reasons": ["subject changed", "expiring"]},
                  {"certificate_exists": True, "reasons": []}]
    cas = {"etcd": {"pem": "E", "changing": False}, "other": {"pem": None, "changing": False}}
    assert pki_reissue_reasons(REQUESTED, inspection, [True, False], cas) == {
        "/etc/x/pki/member": ["key changed", "expiring", "subject changed"],
        "/etc/x/pki/client": ["ca changed"]}
    # A missing certificate has no key or CA reason of its own: "missing" says it all.
    assert pki_reissue_reasons(REQUESTED[:1], [{"certificate_exists": False, "reasons": ["missing"]}], [True], cas) == {
        "/etc/x/pki/member": ["missing"]}
    # Up to date: an empty list (keep it).
    assert pki_reissue_reasons(REQUESTED[:1], [{"certificate_exists": True, "reasons": []}], [False], cas) == {
        "/etc/x/pki/member": []}


def test_reissue_reasons_refuse_results_that_do_not_line_up():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_reissue_reasons
    with pytest.raises(AnsibleFilterError, match="2 certificates, 1 inspections, 2 key results"):
        pki_reissue_reasons(REQUESTED, [{}], [False, False], {})
