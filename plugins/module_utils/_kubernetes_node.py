# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The decisions of the Kubernetes node roles (apron.cluster.worker, and the master role for the
shared addresses), as pure functions: the cluster DNS service IP, network checks, the node's pod
subnet, the KubeletConfiguration / KubeProxyConfiguration documents and kubelet flags (checked
against _kubernetes_reference), the CNI configuration, the containerd snapshotter and cgroup
driver for a host, and which node labels a kubelet may set on itself (NodeRestriction).

Every error is a NodeConfigError naming the input and what was expected; the filter plugin
(plugins/filter/kubernetes.py) turns it into an AnsibleFilterError in one place.
"""
from __future__ import annotations

import copy
import ipaddress

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_reference as _ref
from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_releases import IMAGES


class NodeConfigError(ValueError):
    """Bad input of the node roles."""


# The service IP of cluster DNS: the 10th address of the service CIDR (upstream's and kubeadm's
# convention, 10.96.0.10 for 10.96.0.0/12). The first address is the `kubernetes` service.
DNS_SERVICE_INDEX = 10
API_SERVICE_INDEX = 1


def _network(cidr, name):
    try:
        return ipaddress.ip_network(str(cidr), strict=True)
    except ValueError as exc:
        raise NodeConfigError("%s: %r is not a network in CIDR notation (%s); expected e.g. 10.254.0.0/16" % (
            name, cidr, exc))


def service_ip(service_cidr, index=DNS_SERVICE_INDEX):
    """The ``index``-th address of the service CIDR (10: cluster DNS, 1: the kubernetes service)."""
    net = _network(service_cidr, "kubernetes_service_cidr")
    if net.num_addresses <= index + 1:
        raise NodeConfigError("kubernetes_service_cidr: %s is too small to hold service address number %d" % (net, index))
    return str(net[index])


def dns_service_ip(service_cidr):
    """The cluster DNS service IP (kubelet clusterDNS, the CoreDNS service)."""
    return service_ip(service_cidr, DNS_SERVICE_INDEX)


def check_networks(pod_cidr, service_cidr):
    """Raise unless the pod and service CIDRs are valid and disjoint."""
    pod = _network(pod_cidr, "kubernetes_pod_cidr")
    svc = _network(service_cidr, "kubernetes_service_cidr")
    if pod.version == svc.version and pod.overlaps(svc):
        raise NodeConfigError(
            "kubernetes_pod_cidr %s overlaps kubernetes_service_cidr %s: pod and service addresses must be "
            "disjoint; change Cluster.spec.network.podCIDR or serviceCIDR in the model (or the variables)" % (pod, svc))
    return True


def node_pod_subnet(pod_cidr, nodes, node, prefix=24):
    """The pod subnet of ``node``: subnet number i of size /prefix of the pod CIDR, i the node's
    position in the sorted list ``nodes`` (stable while nodes are only added at the end of the order)."""
    net = _network(pod_cidr, "kubernetes_pod_cidr")
    names = sorted(set(nodes))
    if node not in names:
        raise NodeConfigError("node %r is not in the node list %s" % (node, ", ".join(names)))
    try:
        prefix = int(prefix)
    except (TypeError, ValueError):
        raise NodeConfigError("worker_node_cidr_prefix: %r is not an integer" % (prefix,))
    if prefix <= net.prefixlen or prefix > net.max_prefixlen - 2:
        raise NodeConfigError("worker_node_cidr_prefix: /%d does not fit in kubernetes_pod_cidr %s (expected %d..%d)" % (
            prefix, net, net.prefixlen + 1, net.max_prefixlen - 2))
    count = 2 ** (prefix - net.prefixlen)
    index = names.index(node)
    if index >= count:
        raise NodeConfigError("kubernetes_pod_cidr %s holds %d subnets of /%d but there are %d nodes; use a wider pod "
                              "CIDR or a longer worker_node_cidr_prefix" % (net, count, prefix, len(names)))
    return str(ipaddress.ip_network((int(net.network_address) + index * 2 ** (net.max_prefixlen - prefix), prefix)))


def api_endpoint(endpoint, is_master, masters, api_port, local_port):
    """The API server URL a node's kubelet and kube-proxy use.

    ``endpoint`` (kubernetes_api_endpoint) wins when set (a load balancer, a hosted control plane);
    a master that is a node talks to its own API server; every other node to the local proxy.
    """
    endpoint = (endpoint or "").strip()
    if endpoint:
        if not endpoint.startswith("https://"):
            raise NodeConfigError("kubernetes_api_endpoint: %r must be an https:// URL (e.g. https://api.example.com:6443)"
                                  % endpoint)
        return endpoint.rstrip("/")
    if not masters:
        raise NodeConfigError(
            "no API endpoint for the nodes: the inventory has no master host and kubernetes_api_endpoint is empty; "
            "add master hosts (group kubernetes_master_group) or set kubernetes_api_endpoint (a load balancer or a "
            "hosted control plane)")
    return "https://127.0.0.1:%d" % int(api_port if is_master else local_port)


def host_address(host_vars):
    """The address a node is reached on: worker_node_address (inventory), else the instance_pools
    inventory's apron.private_address, else the gathered default IPv4 address; '' if none is known."""
    host_vars = host_vars or {}
    explicit = host_vars.get("worker_node_address")
    if explicit:
        return str(explicit)
    private = (host_vars.get("apron") or {}).get("private_address")
    if private:
        return str(private)
    return str(((host_vars.get("ansible_facts") or {}).get("default_ipv4") or {}).get("address") or "")


def proxy_backends(masters, hostvars, port):
    """[{name, address, port}] of the local API proxy, one per master, in inventory order.
    ``hostvars``: a mapping host name -> its variables (Ansible's hostvars)."""
    backends = []
    for name in masters or []:
        address = host_address(hostvars[name] if name in hostvars else {})
        if not address:
            raise NodeConfigError("master %r has no known address (worker_node_address, apron.private_address or "
                                  "gathered facts); the local API proxy needs every master" % name)
        backends.append({"name": str(name), "address": address, "port": int(port)})
    return backends


# NodeRestriction: a kubelet may set labels outside the kubernetes.io / k8s.io namespaces, and
# inside them only these keys and the kubelet.kubernetes.io / node.kubernetes.io prefixes
# (kubernetes/kubernetes plugin/pkg/admission/noderestriction, kubelet --node-labels help).
_SELF_LABELS = frozenset([
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
])
_SELF_PREFIXES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def _label_domain(key):
    return key.split("/", 1)[0] if "/" in key else ""


def kubelet_may_set_label(key):
    """True when NodeRestriction lets a kubelet set the label ``key`` on its own Node."""
    if key in _SELF_LABELS:
        return True
    domain = _label_domain(key)
    for restricted in ("kubernetes.io", "k8s.io"):
        if domain == restricted or domain.endswith("." + restricted):
            return any(domain == p or domain.endswith("." + p) for p in _SELF_PREFIXES)
    return True


def node_labels(labels, is_master=False, masters_are_nodes=True):
    """Split the pool's labels: {'self': labels the kubelet registers with, 'api': labels applied
    through the API after registration (node-role.kubernetes.io/* and other restricted keys)}."""
    wanted = dict((str(k), "" if v is None else str(v)) for k, v in sorted((labels or {}).items()))
    if is_master and masters_are_nodes:
        wanted.setdefault("node-role.kubernetes.io/control-plane", "")
    elif not is_master:
        wanted.setdefault("node-role.kubernetes.io/worker", "")
    own = dict((k, v) for k, v in wanted.items() if kubelet_may_set_label(k))
    api = dict((k, v) for k, v in wanted.items() if k not in own)
    return {"self": own, "api": api}


def labels_to_apply(wanted, current):
    """The labels of ``wanted`` that the Node object ``current`` (its metadata.labels) lacks or differs on."""
    current = current or {}
    return dict((k, v) for k, v in sorted((wanted or {}).items()) if current.get(k) != v)


CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node_taints(taints, is_master=False):
    """The taints a node registers with: the pool's, plus the control-plane taint on masters."""
    result = []
    for taint in taints or []:
        if not isinstance(taint, dict) or not taint.get("key") or taint.get("effect") not in (
                "NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise NodeConfigError("taint %r: expected {key, value (optional), effect: NoSchedule|PreferNoSchedule|"
                                  "NoExecute}" % (taint,))
        item = {"key": str(taint["key"]), "effect": taint["effect"]}
        if taint.get("value") not in (None, ""):
            item["value"] = str(taint["value"])
        result.append(item)
    if is_master and not any(t["key"] == CONTROL_PLANE_TAINT["key"] for t in result):
        result.append(dict(CONTROL_PLANE_TAINT))
    return result


def _merge(base, override):
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# TLS 1.2 cipher suites for the kubelet server (ECDHE + AEAD only; TLS 1.3 suites are not configurable).
TLS_CIPHER_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]


def kubelet_config(version, settings, overrides=None):
    """The KubeletConfiguration document of a node, checked against the field reference.

    ``settings``: cluster_domain, service_cidr, client_ca_file, tls_cert_file, tls_key_file (both
    empty with tls_bootstrap), tls_bootstrap (bool), cgroup_driver, runtime_endpoint, taints,
    eviction_hard, system_reserved, kube_reserved, max_pods, fail_swap_on, resolv_conf.
    """
    s = dict(settings or {})
    if s.get("cgroup_driver") not in ("systemd", "cgroupfs"):
        raise NodeConfigError("cgroup driver %r: expected systemd or cgroupfs" % (s.get("cgroup_driver"),))
    doc = {
        "apiVersion": _ref.CONFIG_KINDS["KubeletConfiguration"]["apiVersion"],
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True, "cacheTTL": "2m0s"},
            "x509": {"clientCAFile": s["client_ca_file"]},
        },
        "authorization": {
            "mode": "Webhook",
            "webhook": {"cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s"},
        },
        "readOnlyPort": 0,
        "port": 10250,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "clusterDomain": s["cluster_domain"],
        "clusterDNS": [dns_service_ip(s["service_cidr"])],
        "cgroupDriver": s["cgroup_driver"],
        "containerRuntimeEndpoint": s["runtime_endpoint"],
        "tlsMinVersion": "VersionTLS12",
        "tlsCipherSuites": list(TLS_CIPHER_SUITES),
        "rotateCertificates": bool(s.get("tls_bootstrap")),
        "serverTLSBootstrap": bool(s.get("tls_bootstrap")),
        "registerNode": True,
        "registerWithTaints": node_taints(s.get("taints")),
        "evictionHard": dict(s.get("eviction_hard") or {}),
        "systemReserved": dict(s.get("system_reserved") or {}),
        "kubeReserved": dict(s.get("kube_reserved") or {}),
        "enforceNodeAllocatable": ["pods"],
        "maxPods": int(s.get("max_pods", 110)),
        "failSwapOn": bool(s.get("fail_swap_on", True)),
        "resolvConf": s.get("resolv_conf", "/etc/resolv.conf"),
        "makeIPTablesUtilChains": True,
        "streamingConnectionIdleTimeout": "5m0s",
        "enableDebuggingHandlers": True,
        "serializeImagePulls": False,
    }
    if not s.get("tls_bootstrap"):
        doc["tlsCertFile"] = s["tls_cert_file"]
        doc["tlsPrivateKeyFile"] = s["tls_key_file"]
    if not doc["registerWithTaints"]:
        del doc["registerWithTaints"]
    doc = _merge(doc, overrides)
    try:
        _ref.check_config_fields("KubeletConfiguration", version, doc)
    except _ref.SettingsReferenceError as exc:
        raise NodeConfigError(str(exc))
    return doc


def kubelet_flags(version, settings):
    """The kubelet command-line flags (only what has no config field), checked against the flag reference."""
    s = dict(settings or {})
    flags = ["--config=%s" % s["config"]]
    if s.get("bootstrap_kubeconfig"):
        flags.append("--bootstrap-kubeconfig=%s" % s["bootstrap_kubeconfig"])
        flags.append("--cert-dir=%s" % s["cert_dir"])
    flags.append("--kubeconfig=%s" % s["kubeconfig"])
    flags.append("--hostname-override=%s" % s["node_name"])
    if s.get("node_ip"):
        flags.append("--node-ip=%s" % s["node_ip"])
    labels = s.get("node_labels") or {}
    if labels:
        flags.append("--node-labels=%s" % ",".join("%s=%s" % (k, labels[k]) for k in sorted(labels)))
    flags.extend(s.get("extra_flags") or [])
    try:
        _ref.check_flags("kubelet", version, flags)
    except _ref.SettingsReferenceError as exc:
        raise NodeConfigError(str(exc))
    return flags


def kube_proxy_config(version, settings, overrides=None):
    """The KubeProxyConfiguration document of a node, checked against the field reference."""
    s = dict(settings or {})
    mode = s.get("mode", "iptables")
    if mode not in ("iptables", "ipvs"):
        raise NodeConfigError("worker_kube_proxy_mode: %r; expected iptables or ipvs" % (mode,))
    doc = {
        "apiVersion": _ref.CONFIG_KINDS["KubeProxyConfiguration"]["apiVersion"],
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": s["kubeconfig"]},
        "hostnameOverride": s["node_name"],
        "bindAddress": "0.0.0.0",
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "mode": mode,
        "clusterCIDR": str(_network(s["pod_cidr"], "kubernetes_pod_cidr")),
        "enableProfiling": False,
    }
    if mode == "ipvs":
        doc["ipvs"] = {"scheduler": s.get("ipvs_scheduler", "rr"), "strictARP": True}
    doc = _merge(doc, overrides)
    try:
        _ref.check_config_fields("KubeProxyConfiguration", version, doc)
    except _ref.SettingsReferenceError as exc:
        raise NodeConfigError(str(exc))
    return doc


def kube_proxy_flags(version, settings):
    flags = ["--config=%s" % settings["config"]]
    try:
        _ref.check_flags("kube-proxy", version, flags)
    except _ref.SettingsReferenceError as exc:
        raise NodeConfigError(str(exc))
    return flags


def cni_config(name, subnet, bridge="cni0", mtu=None):
    """A bridge + host-local conflist for the node's pod subnet (with portmap and loopback)."""
    net = _network(subnet, "node pod subnet")
    bridge_conf = {
        "type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": True, "hairpinMode": True,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": str(net), "gateway": str(net[1])}]],
                 "routes": [{"dst": "0.0.0.0/0" if net.version == 4 else "::/0"}],
                 "dataDir": "/var/lib/cni/networks"},
    }
    if mtu:
        bridge_conf["mtu"] = int(mtu)
    return {"cniVersion": "1.0.0", "name": name,
            "plugins": [bridge_conf, {"type": "portmap", "capabilities": {"portMappings": True}}]}


_NATIVE_ONLY_FS = frozenset(["overlay", "overlayfs", "aufs", "fuse.fuse-overlayfs", "fuseblk"])


def snapshotter(root_fstype, override=""):
    """containerd's snapshotter for a host: ``override`` when set; else native when the directory
    containerd keeps its snapshots in (/var/lib/containerd) is on an overlay file system (a container
    host: overlayfs cannot be mounted on overlayfs), else overlayfs."""
    if override:
        if override not in ("overlayfs", "native", "btrfs", "zfs", "devmapper", "fuse-overlayfs"):
            raise NodeConfigError("worker_containerd_snapshotter: %r; expected overlayfs, native, btrfs, zfs, "
                                  "devmapper or fuse-overlayfs (or empty to detect)" % (override,))
        return override
    return "native" if str(root_fstype).strip() in _NATIVE_ONLY_FS else "overlayfs"


def cgroup_driver(pid1, cgroup_fstype, container, override=""):
    """systemd or cgroupfs for containerd (runc SystemdCgroup) and the kubelet, which must agree.

    systemd when PID 1 is systemd and it owns the cgroup tree: on cgroup v2 (cgroup2fs), or on
    cgroup v1 outside a container. cgroupfs when PID 1 is not systemd, or in a container on a
    cgroup v1 / hybrid host (the nested systemd does not own its hierarchy there).
    """
    if override:
        if override not in ("systemd", "cgroupfs"):
            raise NodeConfigError("worker_cgroup_driver: %r; expected systemd or cgroupfs (or empty to detect)" % (
                override,))
        return override
    is_systemd = str(pid1).strip().rstrip("/").endswith("/systemd") or str(pid1).strip() == "systemd"
    if not is_systemd:
        return "cgroupfs"
    if str(cgroup_fstype).strip() == "cgroup2fs":
        return "systemd"
    container = str(container or "").strip()
    return "cgroupfs" if container and container != "none" else "systemd"


def sandbox_image(version, override=""):
    """The pause image: ``override`` when set, else the manifest's pin for the Kubernetes minor."""
    if override:
        return override
    try:
        minor = int(str(version).lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        raise NodeConfigError("kubernetes_version: %r is not x.y.z" % (version,))
    pinned = IMAGES["pause"]["versions"].get(minor)
    if not pinned:
        raise NodeConfigError(
            "the release manifest pins no pause (sandbox) image for Kubernetes 1.%d (no upstream source naming it "
            "could be read); set worker_sandbox_image to the pause image of your release, e.g. "
            "registry.k8s.io/pause:<version> or its mirror" % minor)
    return IMAGES["pause"]["image"].format(version=pinned)


def registry_hosts(mirrors):
    """{registry: hosts.toml text} for containerd's config_path from {registry: [mirror URLs]}."""
    out = {}
    for registry in sorted(mirrors or {}):
        urls = mirrors[registry]
        if isinstance(urls, str):
            urls = [urls]
        if not urls or not all(isinstance(u, str) and u.startswith(("https://", "http://")) for u in urls):
            raise NodeConfigError("worker_registry_mirrors[%r]: expected a list of http(s):// mirror URLs, got %r" % (
                registry, urls))
        server = "https://%s" % ("registry-1.docker.io" if registry == "docker.io" else registry)
        lines = ['server = "%s"' % server, ""]
        for url in urls:
            lines.append('[host."%s"]' % url.rstrip("/"))
            lines.append('  capabilities = ["pull", "resolve"]')
            lines.append("")
        out[registry] = "\n".join(lines)
    return out


def registry_files(hosts, hosts_dir):
    """apron.cluster.file_set entries for registry_hosts(): {"directories": [<hosts_dir>/<registry>],
    "files": [<hosts_dir>/<registry>/hosts.toml]}, root-owned (0755 / 0644), in the order of ``hosts``."""
    directories, files = [], []
    for registry, text in (hosts or {}).items():
        path = "%s/%s" % (str(hosts_dir).rstrip("/"), registry)
        directories.append({"path": path, "owner": "root", "group": "root", "mode": "0755"})
        files.append({"path": path + "/hosts.toml", "content": text, "owner": "root", "group": "root", "mode": "0644"})
    return {"directories": directories, "files": files}


# The one read per host of the master and worker roles (a small sh script, see
# roles/worker/tasks/facts.yml and roles/master/tasks/user.yml) prints one "<tag> <value>" line per
# fact; host_state() turns its lines into the dict the roles use.
_HOST_STATE_SCALARS = ("fs_cgroup", "fs_var_lib", "container", "pid1", "group", "passwd")


def host_state(lines):
    """The dict of the read script's output lines.

    Keys: fs_cgroup, fs_var_lib, container, pid1, group, passwd (strings, '' when not printed),
    apt_lists (int), modules (list of loaded module names, None when /proc/modules is unreadable),
    sysctls ({key: value} of the readable ones; the others in sysctls_absent), swap (list),
    packages ({name: dpkg status}), installed (names whose status is installed), units
    ({unit: {property: value}}), files ({path: {owner, group, mode ('0644'), sha256}}),
    exists (paths that exist).
    """
    if isinstance(lines, str):
        lines = lines.splitlines()
    state = dict((key, "") for key in _HOST_STATE_SCALARS)
    state.update(apt_lists=0, modules=[], sysctls={}, sysctls_absent=[], swap=[], packages={}, units={},
                 files={}, exists=[])
    for line in lines or []:
        tag, _sep, rest = line.partition(" ")
        if tag in _HOST_STATE_SCALARS:
            state[tag] = rest.strip()
        elif tag == "apt_lists":
            state["apt_lists"] = int(rest.strip() or 0)
        elif tag == "module":
            if state["modules"] is not None:
                state["modules"].append(rest.strip())
        elif tag == "modules_unreadable":
            state["modules"] = None
        elif tag == "sysctl":
            key, _sep, value = rest.partition(" ")
            state["sysctls"][key] = value.strip()
        elif tag == "sysctl_absent":
            state["sysctls_absent"].append(rest.strip())
        elif tag == "swap":
            if rest.strip():
                state["swap"].append(rest.strip())
        elif tag == "package":
            name, _sep, status = rest.partition(" ")
            state["packages"][name] = status.strip()
        elif tag == "unit":
            name, _sep, props = rest.partition(" ")
            state["units"][name] = dict(p.split("=", 1) for p in props.split() if "=" in p)
        elif tag == "file":
            parts = rest.split(" ", 4)
            if len(parts) != 5:
                raise NodeConfigError("host state: bad file line %r" % line)
            owner, group, mode, sha256, path = parts
            state["files"][path] = {"owner": owner, "group": group, "mode": "%04o" % int(mode, 8),
                                    "sha256": sha256}
        elif tag == "exists":
            state["exists"].append(rest.strip())
        elif line.strip():
            raise NodeConfigError("host state: unknown line %r" % line)
    state["installed"] = sorted(name for name, status in state["packages"].items() if status == "installed")
    return state


def file_unchanged(state, path, content, owner, group, mode):
    """True when the host state says path already holds content (sha256) with owner, group and mode:
    a task that would write it (a template with validate) can be skipped."""
    import hashlib
    current = (state or {}).get("files", {}).get(path)
    if not current:
        return False
    data = content.encode("utf-8") if isinstance(content, str) else content
    return (current["sha256"] == hashlib.sha256(data).hexdigest() and current["owner"] == str(owner)
            and current["group"] == str(group) and current["mode"] == "%04o" % int(str(mode), 8))
