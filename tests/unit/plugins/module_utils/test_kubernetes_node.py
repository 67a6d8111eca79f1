"""The decisions of apron.cluster.worker (module_utils/_kubernetes_node.py and the
apron.cluster.kubernetes_* filters): every rendered KubeletConfiguration / KubeProxyConfiguration
field and kubelet flag is one the upstream reference lists, and bad input fails naming the
variable to fix."""
from __future__ import annotations

import ipaddress

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.filter.kubernetes import FilterModule
from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_node as N
from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_reference import (
    check_config_fields,
    check_flags,
)
from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_releases import SUPPORTED_KUBERNETES_MINORS

VERSIONS = ["1.%d.0" % m for m in SUPPORTED_KUBERNETES_MINORS]

SETTINGS = {
    "client_ca_file": "/etc/kubernetes/pki/kubelet/ca.crt",
    "tls_cert_file": "/etc/kubernetes/pki/kubelet/kubelet-server.crt",
    "tls_key_file": "/etc/kubernetes/pki/kubelet/kubelet-server.key",
    "cluster_domain": "cluster.local",
    "service_cidr": "10.254.0.0/16",
    "cgroup_driver": "cgroupfs",
    "runtime_endpoint": "unix:///run/containerd/containerd.sock",
    "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
    "eviction_hard": {"memory.available": "200Mi"},
    "system_reserved": {"cpu": "100m"},
    "kube_reserved": {"cpu": "100m"},
}


# --- addresses and networks ----------------------------------------------------------------------

@pytest.mark.parametrize("cidr,dns", [("10.254.0.0/16", "10.254.0.10"), ("10.96.0.0/12", "10.96.0.10"),
                                      ("fd00:10::/108", "fd00:10::a")])
def test_dns_service_ip_is_the_tenth_address(cidr, dns):
    assert N.dns_service_ip(cidr) == dns


def test_api_service_ip_is_the_first_address():
    assert N.service_ip("10.254.0.0/16", N.API_SERVICE_INDEX) == "10.254.0.1"


@pytest.mark.parametrize("cidr", ["10.254.0.0/29", "10.254.0.1/16", "nonsense", ""])
def test_dns_service_ip_refuses_bad_or_small_cidrs(cidr):
    with pytest.raises(N.NodeConfigError, match="kubernetes_service_cidr"):
        N.dns_service_ip(cidr)


def test_overlapping_pod_and_service_cidrs_are_refused():
    assert N.check_networks("10.234.0.0/16", "10.254.0.0/16")
    with pytest.raises(N.NodeConfigError, match="overlaps kubernetes_service_cidr.*podCIDR or serviceCIDR"):
        N.check_networks("10.0.0.0/8", "10.254.0.0/16")


def test_node_pod_subnets_are_distinct_and_inside_the_pod_cidr():
    nodes = ["w2", "m1", "w1", "m2"]
    subnets = [N.node_pod_subnet("10.234.0.0/16", nodes, n) for n in nodes]
    assert len(set(subnets)) == 4
    assert N.node_pod_subnet("10.234.0.0/16", nodes, "m1") == "10.234.0.0/24"  # sorted: m1 m2 w1 w2
    assert N.node_pod_subnet("10.234.0.0/16", nodes, "w2") == "10.234.3.0/24"
    for s in subnets:
        assert ipaddress.ip_network(s).subnet_of(ipaddress.ip_network("10.234.0.0/16"))


def test_node_pod_subnet_refusals():
    with pytest.raises(N.NodeConfigError, match="not in the node list"):
        N.node_pod_subnet("10.234.0.0/16", ["a"], "b")
    with pytest.raises(N.NodeConfigError, match="worker_node_cidr_prefix"):
        N.node_pod_subnet("10.234.0.0/16", ["a"], "a", 16)
    with pytest.raises(N.NodeConfigError, match="holds 2 subnets of /24 but there are 3 nodes"):
        N.node_pod_subnet("10.234.0.0/23", ["a", "b", "c"], "c", 24)


# --- API endpoint --------------------------------------------------------------------------------

def test_api_endpoint_choice():
    assert N.api_endpoint("", False, ["m1"], 6443, 6443) == "https://127.0.0.1:6443"
    assert N.api_endpoint("", False, ["m1"], 6443, 16443) == "https://127.0.0.1:16443"
    assert N.api_endpoint("", True, ["m1"], 8443, 16443) == "https://127.0.0.1:8443"
    assert N.api_endpoint("https://lb.example.com:6443/", False, [], 6443, 6443) == "https://lb.example.com:6443"


def test_worker_pool_without_a_reachable_endpoint_is_refused():
    with pytest.raises(N.NodeConfigError, match="no master host and kubernetes_api_endpoint is empty"):
        N.api_endpoint("", False, [], 6443, 6443)
    with pytest.raises(N.NodeConfigError, match="must be an https:// URL"):
        N.api_endpoint("lb.example.com:6443", False, ["m1"], 6443, 6443)


def test_proxy_backends_use_inventory_then_facts():
    hostvars = {
        "m1": {"apron": {"private_address": "10.0.0.1"}, "ansible_facts": {"default_ipv4": {"address": "1.1.1.1"}}},
        "m2": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.2"}}},
        "m3": {"worker_node_address": "10.0.0.3"},
    }
    assert N.proxy_backends(["m1", "m2", "m3"], hostvars, 6443) == [
        {"name": "m1", "address": "10.0.0.1", "port": 6443},
        {"name": "m2", "address": "10.0.0.2", "port": 6443},
        {"name": "m3", "address": "10.0.0.3", "port": 6443}]
    with pytest.raises(N.NodeConfigError, match="master 'm4' has no known address"):
        N.proxy_backends(["m4"], {"m4": {}}, 6443)


# --- labels and taints (NodeRestriction) --------------------------------------------------------

@pytest.mark.parametrize("key,allowed", [
    ("apron.io/pool", True), ("team", True), ("kubernetes.io/hostname", True),
    ("topology.kubernetes.io/zone", True), ("node.kubernetes.io/instance-type", True),
    ("kubelet.kubernetes.io/anything", True), ("example.node.kubernetes.io/x", True),
    ("node-role.kubernetes.io/worker", False), ("node-role.kubernetes.io/control-plane", False),
    ("node-restriction.kubernetes.io/foo", False), ("kubernetes.io/role", False), ("k8s.io/x", False),
    ("foo.k8s.io/x", False),
])
def test_kubelet_may_set_label(key, allowed):
    assert N.kubelet_may_set_label(key) is allowed


def test_node_labels_split_and_roles():
    worker = N.node_labels({"apron.io/pool": "workers", "node-role.kubernetes.io/gpu": None})
    assert worker == {"self": {"apron.io/pool": "workers"},
                      "api": {"node-role.kubernetes.io/gpu": "", "node-role.kubernetes.io/worker": ""}}
    master = N.node_labels({}, is_master=True)
    assert master == {"self": {}, "api": {"node-role.kubernetes.io/control-plane": ""}}


def test_labels_to_apply_only_what_differs():
    wanted = {"a": "1", "b": ""}
    assert N.labels_to_apply(wanted, {"a": "1"}) == {"b": ""}
    assert N.labels_to_apply(wanted, {"a": "1", "b": ""}) == {}
    assert N.labels_to_apply(wanted, None) == wanted


def test_taints_with_the_control_plane_taint_on_masters():
    assert N.node_taints([{"key": "a", "value": None, "effect": "NoExecute"}]) == [{"key": "a", "effect": "NoExecute"}]
    assert N.node_taints([], is_master=True) == [{"key": "node-role.kubernetes.io/control-plane",
                                                  "effect": "NoSchedule"}]
    with pytest.raises(N.NodeConfigError, match="taint"):
        N.node_taints([{"key": "a", "effect": "Sometimes"}])


# --- kubelet / kube-proxy documents against the upstream references -----------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_kubelet_config_is_hardened_and_every_field_is_upstream(version):
    doc = N.kubelet_config(version, SETTINGS)
    check_config_fields("KubeletConfiguration", version, doc)
    assert doc["authentication"]["anonymous"]["enabled"] is False
    assert doc["authentication"]["webhook"]["enabled"] is True
    assert doc["authorization"]["mode"] == "Webhook"
    assert doc["readOnlyPort"] == 0
    assert doc["clusterDNS"] == ["10.254.0.10"]
    assert doc["tlsMinVersion"] == "VersionTLS12"
    assert doc["registerWithTaints"] == [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    assert doc["rotateCertificates"] is False and doc["tlsCertFile"].endswith("kubelet-server.crt")


def test_kubelet_config_tls_bootstrap_leaves_certificates_to_the_kubelet():
    doc = N.kubelet_config(VERSIONS[0], dict(SETTINGS, tls_bootstrap=True, taints=[]))
    assert doc["rotateCertificates"] is True and doc["serverTLSBootstrap"] is True
    assert "tlsCertFile" not in doc and "registerWithTaints" not in doc


def test_a_misspelt_kubelet_override_fails_naming_it():
    # Tarmak's `webook:` silently disabled webhook authentication.
    with pytest.raises(N.NodeConfigError, match=r"authentication\.webook: unknown field.*did you mean 'webhook'"):
        N.kubelet_config(VERSIONS[0], SETTINGS, {"authentication": {"webook": {"enabled": True}}})


def test_kubelet_overrides_merge_deeply():
    doc = N.kubelet_config(VERSIONS[0], SETTINGS, {"authentication": {"webhook": {"cacheTTL": "1m0s"}}})
    assert doc["authentication"]["webhook"] == {"enabled": True, "cacheTTL": "1m0s"}


def test_bad_cgroup_driver_is_refused():
    with pytest.raises(N.NodeConfigError, match="cgroup driver"):
        N.kubelet_config(VERSIONS[0], dict(SETTINGS, cgroup_driver="both"))


@pytest.mark.parametrize("version", VERSIONS)
def test_kubelet_flags_are_upstream(version):
    flags = N.kubelet_flags(version, {"config": "/c", "kubeconfig": "/k", "node_name": "n", "node_ip": "10.0.0.5",
                                      "node_labels": {"b": "2", "a": "1"}, "bootstrap_kubeconfig": "/b",
                                      "cert_dir": "/var/lib/kubelet/pki"})
    check_flags("kubelet", version, flags)
    assert "--node-labels=a=1,b=2" in flags and "--bootstrap-kubeconfig=/b" in flags


def test_a_removed_kubelet_flag_fails():
    with pytest.raises(N.NodeConfigError, match="pod-infra-container-image"):
        N.kubelet_flags("1.35.0", {"config": "/c", "kubeconfig": "/k", "node_name": "n",
                                   "extra_flags": ["--pod-infra-container-image=x"]})


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mode", ["iptables", "ipvs"])
def test_kube_proxy_config_is_upstream(version, mode):
    doc = N.kube_proxy_config(version, {"kubeconfig": "/k", "node_name": "n", "pod_cidr": "10.234.0.0/16",
                                        "mode": mode})
    check_config_fields("KubeProxyConfiguration", version, doc)
    assert doc["mode"] == mode and ("ipvs" in doc) == (mode == "ipvs")
    check_flags("kube-proxy", version, N.kube_proxy_flags(version, {"config": "/c"}))


def test_kube_proxy_refusals():
    with pytest.raises(N.NodeConfigError, match="worker_kube_proxy_mode"):
        N.kube_proxy_config(VERSIONS[0], {"kubeconfig": "/k", "node_name": "n", "pod_cidr": "10.0.0.0/16",
                                          "mode": "nftabels"})
    with pytest.raises(N.NodeConfigError, match="conntrak"):
        N.kube_proxy_config(VERSIONS[0], {"kubeconfig": "/k", "node_name": "n", "pod_cidr": "10.0.0.0/16"},
                            {"conntrak": {}})


# --- containerd and CNI -------------------------------------------------------------------------

@pytest.mark.parametrize("fstype,expected", [
    ("overlayfs", "native"), ("overlay", "native"), ("ext2/ext3", "overlayfs"), ("xfs", "overlayfs")])
def test_snapshotter_detection(fstype, expected):
    assert N.snapshotter(fstype) == expected


def test_snapshotter_override():
    assert N.snapshotter("overlayfs", "overlayfs") == "overlayfs"
    with pytest.raises(N.NodeConfigError, match="worker_containerd_snapshotter"):
        N.snapshotter("xfs", "zfsx")


@pytest.mark.parametrize("pid1,cgroupfs,container,expected", [
    ("/usr/lib/systemd/systemd", "cgroup2fs", "none", "systemd"),
    ("/usr/lib/systemd/systemd", "cgroup2fs", "podman", "systemd"),
    ("/usr/lib/systemd/systemd", "tmpfs", "none", "systemd"),
    ("/usr/lib/systemd/systemd", "tmpfs", "podman", "cgroupfs"),  # the podman hosts here
    ("/sbin/init-other", "cgroup2fs", "none", "cgroupfs"),
])
def test_cgroup_driver_detection(pid1, cgroupfs, container, expected):
    assert N.cgroup_driver(pid1, cgroupfs, container) == expected


def test_cgroup_driver_override():
    assert N.cgroup_driver("/sbin/x", "tmpfs", "", "systemd") == "systemd"
    with pytest.raises(N.NodeConfigError, match="worker_cgroup_driver"):
        N.cgroup_driver("/sbin/x", "tmpfs", "", "cgroupv2")


def test_sandbox_image_without_a_pin_names_the_variable():
    with pytest.raises(N.NodeConfigError, match="worker_sandbox_image"):
        N.sandbox_image("1.36.0")
    assert N.sandbox_image("1.36.0", "mirror.example.com/pause:3.10") == "mirror.example.com/pause:3.10"


def test_cni_config():
    conf = N.cni_config("apron", "10.234.3.0/24")
    bridge = conf["plugins"][0]
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.234.3.0/24", "gateway": "10.234.3.1"}]]
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap"]


def test_registry_files_one_directory_and_hosts_toml_per_registry():
    hosts = N.registry_hosts({"registry.k8s.io": ["https://mirror.example.com/"], "docker.io": "http://m:5000"})
    out = N.registry_files(hosts, "/etc/containerd/certs.d/")
    expected_dirs = ["/etc/containerd/certs.d/docker.io", "/etc/containerd/certs.d/registry.k8s.io"]
    assert [d["path"] for d in out["directories"]] == expected_dirs
    assert {(d["owner"], d["group"], d["mode"]) for d in out["directories"]} == {("root", "root", "0755")}
    assert [f["path"] for f in out["files"]] == [d + "/hosts.toml" for d in expected_dirs]
    assert out["files"][1]["content"] == hosts["registry.k8s.io"]
    assert {(f["owner"], f["group"], f["mode"]) for f in out["files"]} == {("root", "root", "0644")}
    assert N.registry_files({}, "/d") == {"directories": [], "files": []}


def test_registry_hosts():
    hosts = N.registry_hosts({"registry.k8s.io": ["https://mirror.example.com/"], "docker.io": "http://m:5000"})
    assert 'server = "https://registry.k8s.io"' in hosts["registry.k8s.io"]
    assert '[host."https://mirror.example.com"]' in hosts["registry.k8s.io"]
    assert 'server = "https://registry-1.docker.io"' in hosts["docker.io"]
    with pytest.raises(N.NodeConfigError, match=r"worker_registry_mirrors\['quay.io'\]"):
        N.registry_hosts({"quay.io": ["ftp://x"]})


# --- the filter plugin ----------------------------------------------------------------------------

def test_filters_turn_errors_into_filter_errors_naming_the_filter():
    filters = FilterModule().filters()
    assert filters["kubernetes_dns_ip"]("10.254.0.0/16") == "10.254.0.10"
    with pytest.raises(AnsibleFilterError, match="apron.cluster.kubernetes_check_networks: .*overlaps"):
        filters["kubernetes_check_networks"]("10.254.0.0/16", "10.254.0.0/24")


# --- the one read per host (kubernetes_host_state, kubernetes_file_unchanged) -----------------------
HOST_LINES = [
    "fs_cgroup cgroup2fs",
    "fs_var_lib overlayfs",
    "container podman",
    "pid1 /usr/lib/systemd/systemd",
    "module overlay",
    "module br_netfilter",
    "sysctl net.ipv4.ip_forward 1",
    "sysctl net.ipv4.ip_local_port_range 32768\t60999",
    "sysctl_absent net.bridge.bridge-nf-call-iptables",
    "swap /dev/sda2",
    "apt_lists 4",
    "package containerd installed",
    "package haproxy not-installed",
    "unit containerd.service ActiveState=active UnitFileState=enabled ",
    "file root haproxy 640 " + "a" * 64 + " /etc/haproxy/haproxy.cfg",
    "group kube:x:999:",
    "passwd kube:x:999:999:apron:/var/lib/kubernetes:/usr/sbin/nologin",
    "exists /etc/kubernetes/pki/sa.key",
]


def test_host_state_parses_every_tag():
    state = FilterModule().filters()["kubernetes_host_state"](HOST_LINES)
    assert state["fs_cgroup"] == "cgroup2fs" and state["fs_var_lib"] == "overlayfs"
    assert state["container"] == "podman" and state["pid1"] == "/usr/lib/systemd/systemd"
    assert state["modules"] == ["overlay", "br_netfilter"]
    assert state["sysctls"] == {"net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "32768\t60999"}
    assert state["sysctls_absent"] == ["net.bridge.bridge-nf-call-iptables"]
    assert state["swap"] == ["/dev/sda2"] and state["apt_lists"] == 4
    assert state["installed"] == ["containerd"]
    assert state["units"]["containerd.service"] == {"ActiveState": "active", "UnitFileState": "enabled"}
    assert state["files"]["/etc/haproxy/haproxy.cfg"] == {
        "owner": "root", "group": "haproxy", "mode": "0640", "sha256": "a" * 64}
    assert state["passwd"].startswith("kube:x:999:999:") and state["group"] == "kube:x:999:"
    assert state["exists"] == ["/etc/kubernetes/pki/sa.key"]


def test_host_state_defaults_and_unreadable_modules():
    state = N.host_state(["modules_unreadable", "container none"])
    assert state["modules"] is None and state["container"] == "none"
    assert state["passwd"] == "" and state["files"] == {} and state["installed"] == [] and state["apt_lists"] == 0


def test_host_state_refuses_unknown_lines():
    with pytest.raises(AnsibleFilterError, match="unknown line"):
        FilterModule().filters()["kubernetes_host_state"](["bogus line"])


def test_file_unchanged():
    import hashlib
    text = "global\n"
    state = N.host_state(["file root haproxy 640 %s /etc/haproxy/haproxy.cfg" % hashlib.sha256(text.encode()).hexdigest()])
    path = "/etc/haproxy/haproxy.cfg"
    assert N.file_unchanged(state, path, text, "root", "haproxy", "0640")
    assert not N.file_unchanged(state, path, text + "x", "root", "haproxy", "0640")
    assert not N.file_unchanged(state, path, text, "root", "root", "0640")
    assert not N.file_unchanged(state, path, text, "root", "haproxy", "0644")
    assert not N.file_unchanged(state, "/etc/other", text, "root", "haproxy", "0640")
