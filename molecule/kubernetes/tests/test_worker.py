"""Testinfra checks for apron.cluster.worker (stage mode: no Kubernetes binary on this machine).

What is real here is checked for real: containerd runs with its CRI plugin and runs a container
from a locally built image on the node's CNI network; every node certificate chains to the
cluster's `kubernetes` CA with exactly the expected CN/O/SANs/EKUs; the kubeconfigs parse with
the real `kubectl config view` on the controller and point at the right endpoint with the right
client certificate; the local API proxy listens on 127.0.0.1:6443 with every master a backend;
unit and configuration files carry the expected settings and modes; the kubelet and kube-proxy
units are installed and not started. What needs the kubelet binary skips, naming it.
"""

import ipaddress
import json
import os
import subprocess
import tempfile
import uuid

import pytest
import testinfra.utils.ansible_runner
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
MASTERS = sorted(_RUNNER.get_hosts("master"))
WORKERS = sorted(_RUNNER.get_hosts("worker"))
NODES = MASTERS + WORKERS
testinfra_hosts = [f"podman://{name}" for name in NODES]

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
CA_CERT = os.path.join(EPHEMERAL, "ca", "molecule", "kubernetes", "ca.crt")  # pki_ca_dir/<ca>
PKI = "/etc/kubernetes/pki"
KUBELET_BIN = "/usr/local/bin/kubelet"
SERVICE_CIDR = "10.254.0.0/16"  # the kubernetes default (no model in this scenario)
POD_CIDR = "10.234.0.0/16"
IMAGE = "localhost/apron-k8s-busybox:molecule"


def _name(host):
    return host.backend.name


def _is_master(host):
    return _name(host) in MASTERS


def _text(host, cmd):
    out = host.run(cmd)
    assert out.rc == 0, f"{cmd}: rc={out.rc} {out.stderr}"
    return out.stdout


def _address(name):
    host = testinfra.get_host(f"podman://{name}")
    return _text(host, "ip -4 -o route get 1.1.1.1").split(" src ")[1].split()[0]


def _cert(host, path):
    return x509.load_pem_x509_certificate(host.file(path).content)


def _ca():
    with open(CA_CERT, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _eku(cert):
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _sans(cert):
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(["DNS:" + n for n in ext.get_values_for_type(x509.DNSName)]
               + ["IP:" + str(a) for a in ext.get_values_for_type(x509.IPAddress)])


def _subject(cert, oid):
    return [a.value for a in cert.subject.get_attributes_for_oid(oid)]


# --- containerd + CNI --------------------------------------------------------------------------

def test_containerd_runs_with_the_cri_plugin(host):
    assert host.service("containerd").is_running
    assert host.service("containerd").is_enabled
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening
    plugins = _text(host, "ctr plugins ls")
    cri = [line.split() for line in plugins.splitlines() if line.split()[:2] == ["io.containerd.grpc.v1", "cri"]]
    assert cri and cri[0][-1] == "ok", plugins


def test_containerd_config_matches_the_host(host):
    config = host.file("/etc/containerd/config.toml")
    assert config.mode == 0o644 and config.user == "root"
    text = config.content_string
    # /var/lib is on the podman container's overlay: only native works (platform notes).
    assert 'snapshotter = "native"' in text
    # The podman hosts run a cgroupfs manager on a cgroup v1 hybrid kernel: cgroupfs, detected.
    assert "SystemdCgroup = false" in text
    assert 'sandbox_image = "registry.k8s.io/pause:3.10"' in text
    assert 'bin_dir = "/usr/lib/cni"' in text
    assert 'config_path = "/etc/containerd/certs.d"' in text


def _conflist(host):
    return json.loads(host.file("/etc/cni/net.d/10-apron-bridge.conflist").content_string)


def test_cni_config_gives_each_node_its_own_pod_subnet(host):
    conf = _conflist(host)
    bridge = conf["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["ipam"]["type"] == "host-local"
    subnet = ipaddress.ip_network(bridge["ipam"]["ranges"][0][0]["subnet"])
    assert subnet.subnet_of(ipaddress.ip_network(POD_CIDR)) and subnet.prefixlen == 24
    # Subnet number i of the sorted node list: disjoint across nodes.
    index = sorted(NODES).index(_name(host))
    assert subnet == list(ipaddress.ip_network(POD_CIDR).subnets(new_prefix=24))[index]
    for plugin in ("bridge", "host-local", "portmap", "loopback"):
        assert host.file(f"/usr/lib/cni/{plugin}").is_file


def test_a_container_runs_on_the_cni_network(host):
    namespace = "apron-verify"
    _text(host, f"ctr -n {namespace} image import --snapshotter native /var/tmp/apron-k8s-busybox.tar")
    name = "verify-" + uuid.uuid4().hex[:8]
    out = _text(host, f"ctr -n {namespace} run --rm --cni --snapshotter native {IMAGE} {name} "
                      "ip -4 -o addr show dev eth0")
    address = ipaddress.ip_interface(out.split()[3])
    subnet = ipaddress.ip_network(_conflist(host)["plugins"][0]["ipam"]["ranges"][0][0]["subnet"])
    assert address.ip in subnet, out


# --- certificates --------------------------------------------------------------------------------

@pytest.mark.parametrize("directory,name", [
    ("kubelet", "kubelet-client"), ("kubelet", "kubelet-server"), ("kube-proxy", "kube-proxy")])
def test_keys_and_certificates_files(host, directory, name):
    key = host.file(f"{PKI}/{directory}/{name}.key")
    assert key.is_file and key.mode == 0o600 and (key.user, key.group) == ("root", "root")
    crt = host.file(f"{PKI}/{directory}/{name}.crt")
    assert crt.is_file and crt.mode == 0o644


@pytest.mark.parametrize("directory,name", [
    ("kubelet", "kubelet-client"), ("kubelet", "kubelet-server"), ("kube-proxy", "kube-proxy")])
def test_certificates_chain_to_the_kubernetes_ca(host, directory, name):
    ca = _ca()
    cert = _cert(host, f"{PKI}/{directory}/{name}.crt")
    assert cert.issuer == ca.subject
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    bundle = host.file(f"{PKI}/{directory}/ca.crt").content
    assert x509.load_pem_x509_certificate(bundle) == ca


def test_kubelet_client_identity(host):
    cert = _cert(host, f"{PKI}/kubelet/kubelet-client.crt")
    assert _subject(cert, NameOID.COMMON_NAME) == [f"system:node:{_name(host)}"]
    assert _subject(cert, NameOID.ORGANIZATION_NAME) == ["system:nodes"]
    assert _eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}


def test_kubelet_serving_identity(host):
    cert = _cert(host, f"{PKI}/kubelet/kubelet-server.crt")
    name = _name(host)
    hostname = _text(host, "hostname").strip()
    assert _subject(cert, NameOID.COMMON_NAME) == [name]
    assert _sans(cert) == {f"DNS:{name}", f"DNS:{hostname}", f"IP:{_address(name)}"}
    assert _eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH}


def test_kube_proxy_identity(host):
    cert = _cert(host, f"{PKI}/kube-proxy/kube-proxy.crt")
    assert _subject(cert, NameOID.COMMON_NAME) == ["system:kube-proxy"]
    assert _subject(cert, NameOID.ORGANIZATION_NAME) == []
    assert _eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}


# --- kubeconfigs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kubeconfig,directory,cert,user", [
    ("kubelet.kubeconfig", "kubelet", "kubelet-client", "system:node:{name}"),
    ("kube-proxy.kubeconfig", "kube-proxy", "kube-proxy", "system:kube-proxy"),
])
def test_kubeconfig_parses_with_kubectl_and_points_at_the_endpoint(host, kubeconfig, directory, cert, user):
    remote = host.file(f"/etc/kubernetes/{kubeconfig}")
    assert remote.mode == 0o600 and remote.user == "root"
    with tempfile.NamedTemporaryFile("wb", suffix=".kubeconfig") as local:
        local.write(remote.content)
        local.flush()
        out = subprocess.run(["kubectl", "config", "view", "--kubeconfig", local.name, "-o", "json"],
                             check=True, capture_output=True, text=True).stdout
    config = json.loads(out)
    cluster = config["clusters"][0]["cluster"]
    # Masters use their own API server, every other node the local proxy: both on 127.0.0.1:6443 here.
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert cluster["certificate-authority"] == f"{PKI}/{directory}/ca.crt"
    users = config["users"]
    assert [u["name"] for u in users] == [user.format(name=_name(host))]
    assert users[0]["user"]["client-certificate"] == f"{PKI}/{directory}/{cert}.crt"
    assert users[0]["user"]["client-key"] == f"{PKI}/{directory}/{cert}.key"
    assert config["current-context"] == "default"


# --- local API proxy -----------------------------------------------------------------------------

def test_api_proxy_on_workers_balances_over_every_master(host):
    if _is_master(host):
        assert not host.package("haproxy").is_installed, "a master talks to its own API server"
        return
    assert host.service("haproxy").is_running and host.service("haproxy").is_enabled
    assert host.socket("tcp://127.0.0.1:6443").is_listening
    config = host.file("/etc/haproxy/haproxy.cfg")
    assert config.mode == 0o640 and config.group == "haproxy"
    text = config.content_string
    assert "bind 127.0.0.1:6443" in text and "mode tcp" in text
    servers = sorted(line.split()[1:3] for line in text.splitlines() if line.strip().startswith("server "))
    assert servers == sorted([m, f"{_address(m)}:6443"] for m in MASTERS)
    assert _text(host, "haproxy -c -f /etc/haproxy/haproxy.cfg") is not None


# --- kubelet / kube-proxy configuration and units --------------------------------------------------

def test_kubelet_configuration(host):
    doc = yaml.safe_load(host.file("/etc/kubernetes/kubelet-config.yaml").content_string)
    assert doc["kind"] == "KubeletConfiguration" and doc["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    assert doc["authentication"]["anonymous"]["enabled"] is False
    assert doc["authentication"]["webhook"]["enabled"] is True
    assert doc["authentication"]["x509"]["clientCAFile"] == f"{PKI}/kubelet/ca.crt"
    assert doc["authorization"]["mode"] == "Webhook"
    assert doc["readOnlyPort"] == 0
    assert doc["clusterDNS"] == [str(ipaddress.ip_network(SERVICE_CIDR)[10])]
    assert doc["cgroupDriver"] == "cgroupfs"  # the same as containerd's (SystemdCgroup = false)
    assert doc["tlsCertFile"] == f"{PKI}/kubelet/kubelet-server.crt"
    assert doc["evictionHard"] and doc["systemReserved"] and doc["kubeReserved"]
    taints = doc.get("registerWithTaints", [])
    if _is_master(host):
        assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in taints
    else:
        assert taints == []


def test_kube_proxy_configuration(host):
    doc = yaml.safe_load(host.file("/etc/kubernetes/kube-proxy-config.yaml").content_string)
    assert doc["kind"] == "KubeProxyConfiguration"
    assert doc["mode"] == "iptables" and doc["clusterCIDR"] == POD_CIDR
    assert doc["clientConnection"]["kubeconfig"] == "/etc/kubernetes/kube-proxy.kubeconfig"
    assert doc["hostnameOverride"] == _name(host)


def test_kubelet_unit_flags_and_labels(host):
    unit = host.file("/etc/systemd/system/kubelet.service").content_string
    assert "--config=/etc/kubernetes/kubelet-config.yaml" in unit
    assert "--kubeconfig=/etc/kubernetes/kubelet.kubeconfig" in unit
    assert f"--hostname-override={_name(host)}" in unit
    # NodeRestriction: the kubelet never sets node-role.kubernetes.io/* on itself.
    assert "node-role.kubernetes.io" not in unit
    assert "Requires=containerd.service" in unit


@pytest.mark.parametrize("unit", ["kubelet", "kube-proxy"])
def test_units_installed_not_started_in_stage_mode(host, unit):
    if host.file(f"/usr/local/bin/{unit}").exists:
        pytest.skip(f"/usr/local/bin/{unit} is present: stage mode does not apply")
    assert host.file(f"/etc/systemd/system/{unit}.service").is_file
    assert not host.service(unit).is_running
    assert not host.service(unit).is_enabled


def test_kernel_prerequisites_are_persisted(host):
    assert "br_netfilter" in host.file("/etc/modules-load.d/apron-kubernetes.conf").content_string
    assert "net.ipv4.ip_forward = 1" in host.file("/etc/sysctl.d/90-apron-kubernetes.conf").content_string
    assert _text(host, "sysctl -n net.ipv4.ip_forward").strip() == "1"


def test_node_ready_needs_the_kubelet(host):
    if not host.file(KUBELET_BIN).exists:
        pytest.skip(f"needs the kubelet binary ({KUBELET_BIN} is missing: Kubernetes binaries cannot be obtained here)")
    assert host.service("kubelet").is_running
    out = _text(host, "curl -sk https://127.0.0.1:10250/healthz -o /dev/null -w '%{http_code}'")
    assert out.strip() == "401"  # anonymous off
    assert _text(host, "curl -s http://127.0.0.1:10248/healthz").strip() == "ok"
