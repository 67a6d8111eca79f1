"""apron.cluster.master: the decisions of _kubernetes_control_plane.py, and every flag and config
field the role renders checked against the upstream reference (_kubernetes_reference.py).

The unit template is rendered with Jinja here, exactly as the role renders it, and the flags are
read back from its ExecStart: a misspelt or removed flag fails this test.
"""
from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

import jinja2
import pytest
import yaml

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_control_plane as cp
from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_reference import (
    SettingsReferenceError, check_config_fields, check_flags,
)
from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_releases import SUPPORTED_KUBERNETES_MINORS

REPO = Path(__file__).resolve().parents[4]
ROLE = REPO / "roles" / "master"
VERSIONS = ["1.%d.0" % m for m in SUPPORTED_KUBERNETES_MINORS]

ETCD_CLUSTERS = [
    {"name": "k8s-main", "client_port": 2379, "peer_port": 2380, "ca": "etcd-k8s"},
    {"name": "k8s-events", "client_port": 2369, "peer_port": 2370, "ca": "etcd-k8s"},
    {"name": "overlay", "client_port": 2359, "peer_port": 2360, "ca": "etcd-overlay"},
]


def settings(**over):
    etcd = cp.select_etcd_clusters(ETCD_CLUSTERS, "k8s-main", "k8s-events", ["etcd-1"], [["", "10.0.0.9", "etcd-1"]])
    base = {
        "version": "1.36.0", "service_cidr": "10.254.0.0/16", "pod_cidr": "10.234.0.0/16",
        "cluster_domain": "cluster.local", "cluster_name": "demo", "node_name": "master-1",
        "hostnames": ["master-1", "master-1.example.org"], "advertise_address": "10.0.0.11",
        "node_addresses": ["10.0.0.11"], "endpoint_names": ["api.demo.example.org", "10.0.0.100"],
        "api_port": 6443, "api_endpoint": "", "config_dir": "/etc/kubernetes", "pki_dir": "/etc/kubernetes/pki",
        "audit_log_dir": "/var/log/kubernetes/audit", "user": "kube", "group": "kube", "key_type": "ecdsa-p256",
        "ca": "kubernetes", "front_proxy_ca": "kubernetes-front-proxy", "etcd_ca": etcd["ca"], "etcd": etcd,
        "admin_user": "apron-admin", "admin_group": "apron:cluster-admins", "super_admin_user": "apron-super-admin",
        "kubelet_client_user": "kube-apiserver-kubelet-client", "front_proxy_client_user": "front-proxy-client",
        "service_account_issuer": "https://kubernetes.default.svc.cluster.local", "node_cidr_mask_size": 24,
        "audit_enabled": True, "audit_log_maxage": 30, "audit_log_maxbackup": 10, "audit_log_maxsize": 100,
        "encryption_enabled": True, "oidc": {"enabled": False}, "pki_backend": "local_ca",
        "apiserver_extra_flags": {}, "controller_manager_extra_flags": {},
    }
    base.update(over)
    return base


def render_unit(name, flags):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")), trim_blocks=True)
    text = env.get_template("kube-component.service.j2").render(
        ansible_managed="test", kubernetes_bin_dir="/usr/local/bin", master_user="kube", master_group="kube",
        __master_unit={"name": name, "description": name, "after": [], "flags": flags, "files": ["/x"],
                       "writable": ["/var/log/kubernetes/audit"]})
    return text


def exec_start_flags(unit_text):
    """The flags of ExecStart, as systemd reads them (backslash continuations joined)."""
    joined = unit_text.replace("\\\n", " ")
    line = next(ln for ln in joined.splitlines() if ln.startswith("ExecStart="))
    return line.split()[1:]


@pytest.mark.parametrize("version", VERSIONS)
def test_rendered_apiserver_flags_exist_upstream(version):
    plan = cp.plan(settings(version=version, oidc={"enabled": True, "issuerURL": "https://id.example.org",
                                                   "clientID": "kubernetes"}))
    flags = exec_start_flags(render_unit("kube-apiserver", plan["apiserver_flags"]))
    assert flags == plan["apiserver_flags"]
    check_flags("kube-apiserver", version, flags)


@pytest.mark.parametrize("version", VERSIONS)
def test_rendered_scheduler_flags_and_config_exist_upstream(version):
    plan = cp.plan(settings(version=version))
    flags = exec_start_flags(render_unit("kube-scheduler", plan["scheduler_flags"]))
    check_flags("kube-scheduler", version, flags)
    check_config_fields("KubeSchedulerConfiguration", version, plan["scheduler_config"])


def test_a_misspelt_flag_fails_the_reference_check():
    flags = cp.plan(settings())["apiserver_flags"] + ["--etcd-server-overrides=/events#https://x:1"]
    with pytest.raises(SettingsReferenceError, match="etcd-server-overrides.*did you mean 'etcd-servers-overrides'"):
        check_flags("kube-apiserver", "1.36.0", flags)


def test_controller_manager_has_no_recorded_reference_and_its_flags_are_the_documented_short_list():
    # No upstream reference of a supported minor could be read (_kubernetes_reference.NO_FLAG_REFERENCE):
    # the check says so instead of passing; the list is pinned here and in docs/roles/master.md.
    with pytest.raises(SettingsReferenceError, match="no flag reference"):
        check_flags("kube-controller-manager", "1.36.0", ["--leader-elect=true"])
    names = [f.split("=", 1)[0] for f in cp.plan(settings())["controller_manager_flags"]]
    assert names == [
        "--kubeconfig", "--authentication-kubeconfig", "--authorization-kubeconfig", "--bind-address",
        "--client-ca-file", "--requestheader-client-ca-file", "--root-ca-file", "--service-account-private-key-file",
        "--use-service-account-credentials", "--service-cluster-ip-range", "--cluster-cidr", "--allocate-node-cidrs",
        "--node-cidr-mask-size", "--cluster-name", "--leader-elect", "--profiling", "--controllers",
        "--tls-min-version", "--tls-cipher-suites"]


def test_apiserver_security_settings():
    flags = dict(f[2:].split("=", 1) for f in cp.plan(settings())["apiserver_flags"])
    assert flags["authorization-mode"] == "Node,RBAC"
    assert "NodeRestriction" in flags["enable-admission-plugins"].split(",")
    assert flags["profiling"] == "false"
    assert flags["tls-min-version"] == "VersionTLS12"
    assert all("_GCM_" in c or "CHACHA20" in c for c in flags["tls-cipher-suites"].split(","))
    assert "anonymous-auth" not in flags  # anonymous is configured in the AuthenticationConfiguration
    assert flags["etcd-servers"] == "https://10.0.0.9:2379"
    assert flags["etcd-servers-overrides"] == "/events#https://10.0.0.9:2369"
    assert flags["etcd-cafile"] == "/etc/kubernetes/pki/etcd/ca.crt"
    assert flags["service-account-key-file"] == flags["service-account-signing-key-file"]
    assert flags["audit-log-maxbackup"] == "10"
    assert flags["encryption-provider-config"] == "/etc/kubernetes/encryption-config.yaml"
    off = dict(f[2:].split("=", 1) for f in cp.plan(settings(audit_enabled=False, encryption_enabled=False))["apiserver_flags"])
    assert "audit-log-path" not in off and "encryption-provider-config" not in off


def test_anonymous_only_on_health_paths_and_oidc_as_jwt():
    doc = cp.authentication_config(settings(oidc={"enabled": True, "issuerURL": "https://id.example.org",
                                                  "clientID": "kubernetes"}))
    assert doc["apiVersion"] == "apiserver.config.k8s.io/v1"
    assert doc["anonymous"] == {
        "enabled": True, "conditions": [{"path": "/livez"}, {"path": "/readyz"}, {"path": "/healthz"}]}
    assert doc["jwt"][0]["issuer"] == {"url": "https://id.example.org", "audiences": ["kubernetes"]}
    assert "jwt" not in cp.authentication_config(settings())


def test_csr_signing_is_off_without_a_signing_key_on_the_master():
    flags = dict(f[2:].split("=", 1) for f in cp.plan(settings())["controller_manager_flags"])
    assert flags["controllers"] == "*,-csrsigning"
    assert not any(k.startswith("cluster-signing") for k in flags)
    flags = dict(f[2:].split("=", 1) for f in cp.controller_manager_flags(settings(
        csr_signing_key_file="/k", csr_signing_cert_file="/c")) for f in [("--%s=%s" % f)])
    assert flags["controllers"] == "*" and flags["cluster-signing-key-file"] == "/k"


def test_certificates():
    certs = {c["name"]: c for c in cp.certificates(settings())}
    assert set(certs) == {"apiserver", "apiserver-kubelet-client", "apiserver-etcd-client", "front-proxy-client",
                          "controller-manager", "scheduler", "admin", "super-admin"}
    sans = certs["apiserver"]["subject_alt_names"]
    for san in ("DNS:kubernetes.default.svc.cluster.local", "IP:10.254.0.1", "IP:127.0.0.1", "IP:10.0.0.11",
                "DNS:api.demo.example.org", "IP:10.0.0.100", "DNS:master-1", "DNS:master-1.example.org"):
        assert san in sans
    assert len(sans) == len(set(sans))
    assert certs["apiserver"]["extended_key_usage"] == ["serverAuth"]
    assert certs["apiserver-etcd-client"]["ca"] == "etcd-k8s"
    assert certs["apiserver-etcd-client"]["dir"] == "/etc/kubernetes/pki/etcd"
    assert certs["front-proxy-client"]["ca"] == "kubernetes-front-proxy"
    assert certs["controller-manager"]["common_name"] == "system:kube-controller-manager"
    assert certs["scheduler"]["common_name"] == "system:kube-scheduler"
    assert certs["admin"]["organization"] == "apron:cluster-admins" and certs["admin"]["owner"] == "root"
    assert certs["super-admin"]["organization"] == "system:masters"
    # one CA per directory: pki writes <dir>/ca.crt
    by_dir = {}
    for c in certs.values():
        by_dir.setdefault(c["dir"], set()).add(c["ca"])
    assert all(len(cas) == 1 for cas in by_dir.values())


def test_kubeconfigs_reference_files_and_point_at_the_right_server():
    kcs = {k["name"]: k for k in cp.plan(settings())["kubeconfigs"]}
    assert kcs["controller-manager"]["document"]["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert kcs["admin"]["document"]["clusters"][0]["cluster"]["server"] == "https://10.0.0.11:6443"
    user = kcs["scheduler"]["document"]["users"][0]["user"]
    assert user == {"client-certificate": "/etc/kubernetes/pki/scheduler/scheduler.crt",
                    "client-key": "/etc/kubernetes/pki/scheduler/scheduler.key"}
    kcs = {k["name"]: k for k in cp.plan(settings(api_endpoint="https://api.example.org:6443"))["kubeconfigs"]}
    assert kcs["admin"]["document"]["clusters"][0]["cluster"]["server"] == "https://api.example.org:6443"


@pytest.mark.parametrize("over, message", [
    ({"pod_cidr": "10.254.128.0/17"}, "overlaps kubernetes_service_cidr"),
    ({"version": "1.33.1"}, "kubernetes_version: '1.33.1' is not in the release manifest"),
    ({"service_cidr": "10.254.0.0/29"}, "too small"),
    ({"advertise_address": ""}, "master_advertise_address"),
    ({"oidc": {"enabled": True, "issuerURL": None, "clientID": None}}, "features.oidc"),
])
def test_bad_input_is_refused_naming_the_variable(over, message):
    with pytest.raises(cp.ControlPlaneError, match=message):
        cp.plan(settings(**over))


def test_etcd_clusters_must_share_one_ca():
    clusters = [dict(c) for c in ETCD_CLUSTERS]
    clusters[1]["ca"] = "etcd-k8s-events"
    with pytest.raises(cp.ControlPlaneError, match="ONE etcd client certificate.*etcd-k8s"):
        cp.select_etcd_clusters(clusters, "k8s-main", "k8s-events", ["e"], ["10.0.0.9"])
    with pytest.raises(cp.ControlPlaneError, match="kubernetes_etcd_group"):
        cp.select_etcd_clusters(ETCD_CLUSTERS, "k8s-main", "k8s-events", [], [])
    with pytest.raises(cp.ControlPlaneError, match="no etcd cluster named k8s-events"):
        cp.select_etcd_clusters(ETCD_CLUSTERS[:1], "k8s-main", "k8s-events", ["e"], ["10.0.0.9"])
    with pytest.raises(cp.ControlPlaneError, match="without an address: e2"):
        cp.select_etcd_clusters(ETCD_CLUSTERS, "k8s-main", "k8s-events", ["e1", "e2"], ["10.0.0.9", ["", ""]])
    ipv6 = cp.select_etcd_clusters(ETCD_CLUSTERS, "k8s-main", "k8s-events", ["e"], ["fd00::9"])
    assert ipv6["main"]["endpoints"] == ["https://[fd00::9]:2379"]


def test_encryption_keys_generate_keep_rotate_prune():
    keys = cp.encryption_keys([])
    assert [k["name"] for k in keys] == ["key1"] and len(base64.b64decode(keys[0]["secret"])) == 32
    doc = yaml.safe_load(yaml.safe_dump(cp.encryption_config(keys)))
    assert cp.existing_encryption_keys(doc) == keys
    assert doc["resources"][0]["providers"][1] == {"identity": {}}
    assert cp.encryption_keys(keys) == keys  # kept, not regenerated
    rotated = cp.encryption_keys(keys, rotate=True)
    assert [k["name"] for k in rotated] == ["key2", "key1"] and rotated[1] == keys[0]
    assert cp.encryption_keys(rotated, prune=True) == rotated[:1]
    with pytest.raises(cp.ControlPlaneError, match="not 32 bytes"):
        cp.encryption_keys([{"name": "key1", "secret": base64.b64encode(b"short").decode()}])


def test_service_account_key_is_a_private_key():
    pem = cp.new_service_account_key()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_first_service_ip():
    assert cp.first_service_ip("10.254.0.0/16") == "10.254.0.1"
    assert ipaddress.ip_address(cp.first_service_ip("fd00:10::/108")) == ipaddress.ip_address("fd00:10::1")


def test_restart_plan_files_cover_what_each_unit_reads():
    files = {u["unit"]: u["files"] for u in cp.plan(settings())["unit_files"]}
    assert "/etc/kubernetes/pki/etcd/apiserver-etcd-client.crt" in files["kube-apiserver.service"]
    assert "/etc/kubernetes/encryption-config.yaml" in files["kube-apiserver.service"]
    assert "/etc/kubernetes/scheduler-config.yaml" in files["kube-scheduler.service"]
    assert "/etc/kubernetes/pki/service-account/sa.key" in files["kube-controller-manager.service"]


def test_each_component_certificate_restarts_exactly_its_consumer():
    """A reissued certificate (a SAN or identity changed) is newer than exactly the processes that read it:
    apron.cluster.service_restart_plan then restarts those and no other component."""
    readers = {}
    for unit in cp.plan(settings())["unit_files"]:
        for path in unit["files"]:
            readers.setdefault(path, set()).add(unit["unit"])
    pki = "/etc/kubernetes/pki/"
    assert {path: readers[path] for path in readers
            if path.startswith(pki) and path.endswith(".crt") and not path.endswith("/ca.crt")} == {
        pki + "apiserver/apiserver.crt": {"kube-apiserver.service"},
        pki + "apiserver/apiserver-kubelet-client.crt": {"kube-apiserver.service"},
        pki + "etcd/apiserver-etcd-client.crt": {"kube-apiserver.service"},
        pki + "front-proxy/front-proxy-client.crt": {"kube-apiserver.service"},
        pki + "controller-manager/controller-manager.crt": {"kube-controller-manager.service"},
        pki + "scheduler/scheduler.crt": {"kube-scheduler.service"},
    }
    # every key belongs with its certificate
    for path, units in readers.items():
        if path.endswith(".key") and path.replace(".key", ".crt") in readers:
            assert units == readers[path.replace(".key", ".crt")], path
