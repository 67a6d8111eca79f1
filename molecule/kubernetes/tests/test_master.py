"""Testinfra checks for apron.cluster.master (docs/roles/master.md, "What is verified where").

Real up to the binary: certificates are read back from the hosts and checked on the controller with
python cryptography against the CA certificates of the controller's CA directory (exact CN, O, SANs,
EKUs, and the signature of the right CA); kubeconfigs are fetched and parsed by the real
`kubectl config view` on the controller; units and files are read from the hosts. What needs
kube-apiserver skips naming it, and runs unchanged when the binary is supplied.
"""

import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import textwrap

import pytest
import testinfra
import testinfra.utils.ansible_runner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
MASTERS = sorted(RUNNER.get_hosts("master"))
testinfra_hosts = [f"podman://{name}" for name in MASTERS]
CA_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ca", "molecule")
SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PKI = "/etc/kubernetes/pki"
CFG = "/etc/kubernetes"
SERVICE_IP = "10.254.0.1"  # first address of kubernetes's default service CIDR
ENDPOINT_NAME = "kubernetes.molecule.example"  # master_api_endpoint_names in converge_control_plane.yml

# name -> (dir, CA, CN, O, EKUs, owner)
CERTS = {
    "apiserver": ("apiserver", "kubernetes", "kube-apiserver", None, {"serverAuth"}, "kube"),
    "apiserver-kubelet-client": ("apiserver", "kubernetes", "kube-apiserver-kubelet-client", None, {"clientAuth"}, "kube"),
    "apiserver-etcd-client": ("etcd", "etcd-k8s", "kube-apiserver-etcd-client-{host}", None, {"clientAuth"}, "kube"),
    "front-proxy-client": ("front-proxy", "kubernetes-front-proxy", "front-proxy-client", None, {"clientAuth"}, "kube"),
    "controller-manager": ("controller-manager", "kubernetes", "system:kube-controller-manager", None, {"clientAuth"}, "kube"),
    "scheduler": ("scheduler", "kubernetes", "system:kube-scheduler", None, {"clientAuth"}, "kube"),
    "admin": ("admin", "kubernetes", "apron-admin", "apron:cluster-admins", {"clientAuth"}, "root"),
    "super-admin": ("admin", "kubernetes", "apron-super-admin", "system:masters", {"clientAuth"}, "root"),
}
EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}
KUBECONFIGS = {
    # name -> (server, user, certificate)
    "controller-manager": ("https://127.0.0.1:6443", "system:kube-controller-manager", f"{PKI}/controller-manager/controller-manager"),
    "scheduler": ("https://127.0.0.1:6443", "system:kube-scheduler", f"{PKI}/scheduler/scheduler"),
    "admin": ("https://{address}:6443", "apron-admin", f"{PKI}/admin/admin"),
    "super-admin": ("https://127.0.0.1:6443", "apron-super-admin", f"{PKI}/admin/super-admin"),
}


def _master(name):
    return testinfra.get_host(f"podman://{name}")


def _inventory_name(host):
    return host.backend.name


def _address(host):
    flags = host.file("/etc/systemd/system/kube-apiserver.service").content_string
    return next(line.split("=", 1)[1].rstrip(" \\") for line in flags.split()
                if line.startswith("--advertise-address="))


def _ca(name):
    with open(os.path.join(CA_DIR, name, "ca.crt"), "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _verify_signed_by(cert, ca):
    key = ca.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
    else:  # pragma: no cover
        raise AssertionError("unexpected CA key type %r" % key)
    assert cert.issuer == ca.subject


@pytest.mark.parametrize("name", sorted(CERTS))
def test_certificate_identity_chain_and_key(host, name):
    where, ca_name, cn, org, ekus, owner = CERTS[name]
    inventory_name = _inventory_name(host)
    path = f"{PKI}/{where}/{name}"
    cert = x509.load_pem_x509_certificate(host.file(path + ".crt").content)
    _verify_signed_by(cert, _ca(ca_name))
    # and by no other CA of the cluster
    for other in {"kubernetes", "kubernetes-front-proxy", "etcd-k8s"} - {ca_name}:
        with pytest.raises(Exception):
            _verify_signed_by(cert, _ca(other))
    # exactly the expected subject and EKUs
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [
        cn.format(host=inventory_name)]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ([org] if org else [])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {EKU_NAMES.get(o, o.dotted_string) for o in eku} == ekus
    # the directory's bundle is that CA
    bundle = x509.load_pem_x509_certificate(host.file(f"{PKI}/{where}/ca.crt").content)
    assert bundle == _ca(ca_name)
    key = host.file(path + ".key")
    assert (key.mode, key.user) == (0o600, owner)


def test_apiserver_serving_sans_are_exact(host):
    cert = x509.load_pem_x509_certificate(host.file(f"{PKI}/apiserver/apiserver.crt").content)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(sans.get_values_for_type(x509.DNSName))
    ips = {str(i) for i in sans.get_values_for_type(x509.IPAddress)}
    hostname = host.check_output("hostname")
    fqdn = host.check_output("hostname -f")
    required = {"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                "localhost", _inventory_name(host), hostname, ENDPOINT_NAME}
    # the FQDN is a SAN when the host's facts know one (the network fact subset may not)
    assert required <= dns <= required | {fqdn}, dns
    assert ips == {SERVICE_IP, "127.0.0.1", _address(host)}
    ipaddress.ip_address(_address(host))


@pytest.fixture(scope="module")
def kubectl():
    path = shutil.which("kubectl")
    if not path:
        pytest.skip("kubectl is not on the controller's PATH")
    return path


@pytest.mark.parametrize("name", sorted(KUBECONFIGS))
def test_kubeconfig_parses_with_kubectl_and_points_at_the_right_endpoint(host, kubectl, tmp_path, name):
    server, user, cert = KUBECONFIGS[name]
    f = host.file(f"{CFG}/{name}.kubeconfig")
    assert (f.mode, f.user) == (0o600, "kube" if name in ("controller-manager", "scheduler") else "root")
    local = tmp_path / f"{name}.kubeconfig"
    local.write_bytes(f.content)
    out = subprocess.run([kubectl, "config", "view", "--kubeconfig", str(local), "-o", "json"],
                         capture_output=True, text=True, check=True)
    view = json.loads(out.stdout)
    context = next(c for c in view["contexts"] if c["name"] == view["current-context"])["context"]
    cluster = next(c for c in view["clusters"] if c["name"] == context["cluster"])["cluster"]
    account = next(u for u in view["users"] if u["name"] == context["user"])["user"]
    assert cluster["server"] == server.format(address=_address(host))
    assert cluster["certificate-authority"] == f"{PKI}/apiserver/ca.crt"
    assert (account["client-certificate"], account["client-key"]) == (cert + ".crt", cert + ".key")
    assert context["user"] == user
    # the referenced client certificate carries that identity
    client = x509.load_pem_x509_certificate(host.file(cert + ".crt").content)
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user


@pytest.mark.parametrize("unit", ["kube-apiserver", "kube-controller-manager", "kube-scheduler"])
def test_unit_is_hardened_and_not_started_in_stage_mode(host, unit):
    text = host.file(f"/etc/systemd/system/{unit}.service").content_string
    for line in ("User=kube", "Group=kube", "NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure",
                 "CapabilityBoundingSet=", "ProtectHome=yes", f"ExecStart=/usr/local/bin/{unit} \\"):
        assert line in text.splitlines(), line
    assert "AssertPathExists=" in text
    if not host.file(f"/usr/local/bin/{unit}").exists:
        assert not host.service(unit).is_running
        assert not host.service(unit).is_enabled


def test_apiserver_settings(host):
    text = host.file("/etc/systemd/system/kube-apiserver.service").content_string
    flags = dict(w.rstrip("\\").split("=", 1) for w in text.split() if w.startswith("--"))
    assert flags["--authorization-mode"] == "Node,RBAC"
    assert "NodeRestriction" in flags["--enable-admission-plugins"]
    assert flags["--profiling"] == "false" and flags["--tls-min-version"] == "VersionTLS12"
    assert flags["--etcd-servers"].startswith("https://") and flags["--etcd-servers"].endswith(":2379")
    assert flags["--etcd-servers-overrides"].startswith("/events#https://")
    assert flags["--etcd-servers-overrides"].endswith(":2369")
    assert flags["--service-cluster-ip-range"] == "10.254.0.0/16"
    assert flags["--advertise-address"] == _address(host)
    auth = host.file(f"{CFG}/authentication-config.yaml").content_string
    assert "path: /livez" in auth and "path: /readyz" in auth


def test_configuration_files_and_modes(host):
    for path, owner, mode in (
            (f"{CFG}/encryption-config.yaml", "kube", 0o600), (f"{PKI}/service-account/sa.key", "kube", 0o600),
            (f"{CFG}/scheduler-config.yaml", "root", 0o640), (f"{CFG}/authentication-config.yaml", "root", 0o640),
            (f"{CFG}/admission-config.yaml", "root", 0o640), (f"{CFG}/audit-policy.yaml", "root", 0o640),
            (f"{CFG}/event-rate-limit.yaml", "root", 0o640)):
        f = host.file(path)
        assert (f.exists, f.user, f.mode) == (True, owner, mode), path
    log_dir = host.file("/var/log/kubernetes/audit")
    assert (log_dir.user, log_dir.mode) == ("kube", 0o700)
    # One owner for the directory on a master that is also a node (the master and worker roles agree).
    cfg = host.file(CFG)
    assert (cfg.user, cfg.group, cfg.mode) == ("root", "root", 0o755)


def test_shared_secrets_identical_on_every_master_and_never_logged():
    digests = {}
    for name in MASTERS:
        m = _master(name)
        digests[name] = tuple(hashlib.sha256(m.file(p).content).hexdigest()
                              for p in (f"{CFG}/encryption-config.yaml", f"{PKI}/service-account/sa.key"))
    assert len(set(digests.values())) == 1, digests
    first = _master(MASTERS[0])
    secret = next(line.split(":", 1)[1].strip() for line in first.file(f"{CFG}/encryption-config.yaml").content_string.splitlines()
                  if line.strip().startswith("secret:"))
    assert len(secret) == 44
    for name in MASTERS:
        journal = _master(name).run("journalctl --no-pager -q")
        assert secret not in journal.stdout


def test_api_server_live_and_ready_with_a_client_certificate(host):
    if not host.file("/usr/local/bin/kube-apiserver").exists:
        pytest.skip("/usr/local/bin/kube-apiserver is not installed (no Kubernetes server binaries on this machine; "
                    "supply them with APRON_K8S_ARTIFACTS_SOURCE=offline APRON_K8S_ARTIFACTS_DIR=... and kubernetes_mode=start)")
    script = textwrap.dedent(f"""
        import ssl, urllib.request
        c = ssl.create_default_context(cafile='{PKI}/apiserver/ca.crt')
        c.load_cert_chain('{PKI}/admin/admin.crt', '{PKI}/admin/admin.key')
        for path in ('livez', 'readyz'):
            print(path, urllib.request.urlopen('https://127.0.0.1:6443/' + path, context=c, timeout=10).status)
    """)
    out = host.check_output("python3 -c %s", script)
    assert out.split() == ["livez", "200", "readyz", "200"]


def test_start_mode_with_missing_binaries_is_refused_naming_them(tmp_path):
    if all(_master(n).file("/usr/local/bin/kube-apiserver").exists for n in MASTERS):
        pytest.skip("the binaries are installed: start mode is not refused")
    # Only the master play (--limit master; the etcd clusters given explicitly), in start mode.
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"kubernetes_mode": "start", "master_etcd_clusters": [
        {"name": "k8s-main", "client_port": 2379, "peer_port": 2380, "ca": "etcd-k8s"},
        {"name": "k8s-events", "client_port": 2369, "peer_port": 2370, "ca": "etcd-k8s"}]}))
    playbook = os.path.join(SCENARIO_DIR, "..", "kubernetes", "converge_control_plane.yml")
    run = subprocess.run(["ansible-playbook", "-i", INVENTORY, playbook, "--limit", "master", "-e", "@" + str(extra)],
                         capture_output=True, text=True, check=False, cwd=SCENARIO_DIR)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "kube-apiserver" in out and "kube-controller-manager" in out and "kube-scheduler" in out, out[-3000:]
    recap = [line for line in out.splitlines() if line.startswith(tuple(MASTERS)) and "changed=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
