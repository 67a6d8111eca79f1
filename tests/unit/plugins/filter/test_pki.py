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


ROLE_DEFAULTS = {"key_usage": ["digitalSignature"], "extended_key_usage": ["serverAuth"], "key_type": "ecdsa-p256",
                 "validity": 365}


def test_normalise_fills_in_the_defaults_and_keeps_what_an_entry_sets():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_normalise_certificates
    bare, custom = pki_normalise_certificates([
        {"name": "member", "ca": "etcd", "dir": "/etc/x", "common_name": "a"},
        {"name": "client", "ca": "etcd", "dir": "/etc/x", "common_name": "b", "owner": "etcd", "key_type": "rsa-2048",
         "validity": 90, "subject_alt_names": ["DNS:b"], "key_usage": ["keyCertSign"], "organization": "o"},
    ], ROLE_DEFAULTS)
    assert bare == {"name": "member", "ca": "etcd", "dir": "/etc/x", "common_name": "a", "subject_alt_names": [],
                    "owner": "root", "group": "root", "key_usage": ["digitalSignature"],
                    "extended_key_usage": ["serverAuth"], "key_type": "ecdsa-p256", "validity": 365}
    assert custom == {"name": "client", "ca": "etcd", "dir": "/etc/x", "common_name": "b", "subject_alt_names": ["DNS:b"],
                      "owner": "etcd", "group": "etcd", "key_usage": ["keyCertSign"], "extended_key_usage": ["serverAuth"],
                      "key_type": "rsa-2048", "validity": 90, "organization": "o"}


@pytest.mark.parametrize("entry, group", [
    ({"owner": "etcd", "group": "kube"}, "kube"),
    ({"owner": "etcd"}, "etcd"),
    ({"owner": "etcd", "group": ""}, "etcd"),
    ({"owner": "etcd", "group": None}, "etcd"),
    ({"owner": None, "group": None}, "root"),
    ({"owner": ""}, "root"),
])
def test_normalise_group_defaults_to_the_owner_then_root(entry, group):
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_normalise_certificates
    assert pki_normalise_certificates([dict(entry, name="n")], ROLE_DEFAULTS)[0]["group"] == group


def test_normalise_null_settings_take_the_default_and_the_defaults_are_not_shared():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_normalise_certificates
    first, second = pki_normalise_certificates([{"name": "a", "owner": None, "validity": None, "key_usage": None},
                                                {"name": "b"}], ROLE_DEFAULTS)
    assert (first["owner"], first["validity"], first["key_usage"]) == ("root", 365, ["digitalSignature"])
    first["subject_alt_names"].append("DNS:x")
    assert second["subject_alt_names"] == []


def test_normalise_refuses_an_entry_that_is_not_a_dict():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_normalise_certificates
    with pytest.raises(AnsibleFilterError, match=r"pki_normalise_certificates: pki_certificates\[1\] must be a dict .*got str 'oops'"):
        pki_normalise_certificates([{"name": "a"}, "oops"], ROLE_DEFAULTS)
    with pytest.raises(AnsibleFilterError, match="pki_certificates must be a list of dicts, got dict"):
        pki_normalise_certificates({"name": "a"}, ROLE_DEFAULTS)


def _valid(**changes):
    return dict({"name": "member", "ca": "etcd-k8s", "dir": "/etc/x", "key_type": "ecdsa-p256", "validity": 365}, **changes)


def test_invalid_certificates_none_for_valid_entries():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_invalid_certificates
    assert pki_invalid_certificates([_valid(), _valid(name="client.v2_x-1"), _valid(dir="/etc/y", validity="31")],
                                    KEY_TYPES, "30") == []


@pytest.mark.parametrize("entry, described", [
    (_valid(name="ca"), "/etc/x/ca (ca etcd-k8s, key_type ecdsa-p256, validity 365)"),
    (_valid(name="-member"), "/etc/x/-member (ca etcd-k8s, key_type ecdsa-p256, validity 365)"),
    (_valid(name="a b"), "/etc/x/a b (ca etcd-k8s, key_type ecdsa-p256, validity 365)"),
    (_valid(ca="Etcd"), "/etc/x/member (ca Etcd, key_type ecdsa-p256, validity 365)"),
    (_valid(ca="etcd_k8s"), "/etc/x/member (ca etcd_k8s, key_type ecdsa-p256, validity 365)"),
    (_valid(dir="etc/x"), "etc/x/member (ca etcd-k8s, key_type ecdsa-p256, validity 365)"),
    (_valid(key_type="dsa"), "/etc/x/member (ca etcd-k8s, key_type dsa, validity 365)"),
    (_valid(validity=30), "/etc/x/member (ca etcd-k8s, key_type ecdsa-p256, validity 30)"),
    (_valid(validity="a year"), "/etc/x/member (ca etcd-k8s, key_type ecdsa-p256, validity a year)"),
    ({"name": "member", "key_type": "ecdsa-p256", "validity": 365}, "?/member (ca ?, key_type ecdsa-p256, validity 365)"),
])
def test_invalid_certificates_describe_each_refused_entry(entry, described):
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_invalid_certificates
    assert pki_invalid_certificates([_valid(dir="/etc/ok"), entry], KEY_TYPES, 30) == [described]


def test_invalid_certificates_validity_and_window_are_compared_as_integers():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_invalid_certificates
    # Like Jinja's int: "31.9" is 31, so it exceeds 30; "30.5" is 30, so it does not.
    assert pki_invalid_certificates([_valid(validity="31.9")], KEY_TYPES, "30") == []
    assert len(pki_invalid_certificates([_valid(validity="30.5")], KEY_TYPES, 30)) == 1


def test_invalid_certificates_a_dir_and_name_used_twice_are_both_reported():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_invalid_certificates
    assert pki_invalid_certificates([_valid(), _valid(dir="/etc/y"), _valid(ca="other")], KEY_TYPES, 30) == [
        "/etc/x/member (ca etcd-k8s, key_type ecdsa-p256, validity 365)",
        "/etc/x/member (ca other, key_type ecdsa-p256, validity 365)"]


READ = ["passwd etcd", "group etcd", "python3-cryptography installed", "openssl not-installed",
        "timer ActiveState=active UnitFileState=enabled "]
OWNED = [{"owner": "etcd", "group": "etcd"}, {"owner": "kube", "group": "kube"}, {"owner": "kube", "group": "etcd"},
         {"owner": "Etcd", "group": "kube"}]


def test_host_read_names_what_is_missing():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_host_read
    assert pki_host_read(READ, OWNED, ["python3-cryptography", "openssl", "curl"], True) == {
        "missing_packages": ["openssl", "curl"], "missing_users": ["kube", "Etcd"], "missing_groups": ["kube"],
        "timer_state": "ActiveState=active UnitFileState=enabled "}


def test_host_read_without_package_management_or_timer_line():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_host_read
    assert pki_host_read(["passwd root", "group root"], [{"owner": "root", "group": "root"}], ["openssl"], "no") == {
        "missing_packages": [], "missing_users": [], "missing_groups": [], "timer_state": ""}


def test_host_read_refuses_what_is_not_a_read():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_host_read
    with pytest.raises(AnsibleFilterError, match="expected the stdout_lines of the read \\(a list\\), got str"):
        pki_host_read("passwd root", [], [], True)
    with pytest.raises(AnsibleFilterError, match="manage_packages must be a boolean, got 'maybe'"):
        pki_host_read([], [], [], "maybe")


def test_bundle_changed_names_the_certificates_of_the_rewritten_bundles():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_bundle_changed
    assert pki_bundle_changed(CERTS, ["/etc/apron/x/pki/ca.crt"]) == ["/etc/apron/x/pki/front", "/etc/apron/x/pki/both"]
    assert pki_bundle_changed(CERTS, []) == [] and pki_bundle_changed(CERTS, None) == []


PLAN = {"/etc/x/pki/member": [], "/etc/x/pki/client": ["missing"]}


def test_plan_report_one_line_per_certificate():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_plan_report
    report = pki_plan_report(REQUESTED, {"/etc/x/pki/member": ["expiring", "ca changed"], "/etc/x/pki/client": []},
                             [{"not_after": "20270101000000Z"}, {"not_after": None}])
    assert report == [
        {"certificate": "/etc/x/pki/member", "ca": "etcd", "action": "reissue", "reason": "expiring, ca changed",
         "not_after": "20270101000000Z"},
        {"certificate": "/etc/x/pki/client", "ca": "other", "action": "keep", "reason": "up to date", "not_after": "-"}]
    assert pki_plan_report(REQUESTED, PLAN, [{}, {}])[1]["action"] == "issue"


def test_plan_report_refuses_a_plan_or_inspection_that_does_not_fit():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_plan_report
    with pytest.raises(AnsibleFilterError, match="2 certificates but 1 inspections"):
        pki_plan_report(REQUESTED, PLAN, [{}])
    with pytest.raises(AnsibleFilterError, match="/etc/x/pki/client is not in the plan"):
        pki_plan_report(REQUESTED, {"/etc/x/pki/member": []}, [{}, {}])


def test_outcome_a_new_key_or_a_written_certificate_changes_it():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_outcome
    earlier = {"/etc/y/front": {"ca": "k", "reasons": [], "changed": False}}
    assert pki_outcome(REQUESTED, PLAN, [False, False], ["/etc/x/pki/client"], ["/etc/y/front"], earlier) == {
        "pki_changed": ["/etc/y/front", "/etc/x/pki/client"],
        "pki_certificate_status": {
            "/etc/y/front": {"ca": "k", "reasons": [], "changed": False},
            "/etc/x/pki/member": {"ca": "etcd", "reasons": [], "changed": False},
            "/etc/x/pki/client": {"ca": "other", "reasons": ["missing"], "changed": True}}}
    outcome = pki_outcome(REQUESTED, PLAN, [True, False], [], ["/etc/x/pki/member"], {})
    assert outcome["pki_changed"] == ["/etc/x/pki/member"]
    assert outcome["pki_certificate_status"]["/etc/x/pki/member"]["changed"] is True


def test_outcome_nothing_changed_leaves_pki_changed_as_it_is():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_outcome
    assert pki_outcome(REQUESTED, PLAN, [False, False], [], ["/a", "/a"], {})["pki_changed"] == ["/a", "/a"]
    # Ids that differ only in case are different certificates.
    assert pki_outcome(REQUESTED, PLAN, [True, False], [], ["/ETC/X/PKI/MEMBER"], {})["pki_changed"] == [
        "/ETC/X/PKI/MEMBER", "/etc/x/pki/member"]


def test_outcome_refuses_key_results_that_do_not_line_up():
    from ansible_collections.apron.cluster.plugins.filter.pki import pki_outcome
    with pytest.raises(AnsibleFilterError, match="2 certificates but 3 key_results"):
        pki_outcome(REQUESTED, PLAN, [True, False, False], [], [], {})


def test_every_filter_is_exported_under_its_name():
    from ansible_collections.apron.cluster.plugins.filter.pki import FilterModule
    assert sorted(FilterModule().filters()) == [
        "pki_bundle_changed", "pki_ca_bundle_files", "pki_directories", "pki_host_read", "pki_invalid_certificates",
        "pki_normalise_certificates", "pki_outcome", "pki_plan_report", "pki_plan_requests", "pki_registry_files",
        "pki_reissue_reasons", "pki_subject_alt_names"]
    assert all(FilterModule().filters()[name].__name__ == name for name in FilterModule().filters())
