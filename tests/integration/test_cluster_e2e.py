# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""From nothing to a configured cluster on the local provider, the way an operator runs it:

cluster.yml (stacks + site.yml) -> a second run with changed=0 -> --check --diff with no change
-> status.yml (healthy etcd with a leader, every certificate listed, none to renew) ->
ssh-config.yml and a real ssh through the bastion -> kubeconfig.yml (the admin identity embedded,
read back with the real kubectl, the SOCKS proxy through the bastion reaching the master) ->
destroy (containers, network and data volumes gone).

The project is a temporary directory: the example model renamed (own names, subnet and bastion
port, so no demo cluster is touched), its own SSH key, state, CAs and inventory source. To keep
the machine's load down the etcd pool has one member and there is no worker pool: the one master
runs the master and worker roles (stage mode, the demo's group_vars; containerd runs).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.helpers import admin_pki

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/apron-debian:bookworm"
NAME = "h9%s" % uuid.uuid4().hex[:4]
VPC = "10.77"

pytestmark = [pytest.mark.slow]


def _missing():
    for tool in ("terraform", "podman", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return "%s is not installed" % tool
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        return "base image %s is missing (make image)" % IMAGE
    return None


if _missing():
    pytestmark = [pytest.mark.slow, pytest.mark.skip(reason=_missing())]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _recap(output):
    """PLAY RECAP of an ansible-playbook run -> {host: {ok, changed, unreachable, failed, ...}}."""
    recap = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if match:
            recap[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2)))
    return recap


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.key = root / ".apron" / "ssh" / "id_ed25519"  # as in the demo: the stacks' known_hosts next to it
        self.source = root / "inventory" / ("%s.apron.yml" % NAME)
        self.log = root / "runs.log"

    def make(self):
        model = self.root / "inventory" / "model"
        shutil.copytree(REPO / "inventories" / "local" / "model", model)
        (model / "pool-dev-worker.yml").unlink()
        for path in sorted(model.glob("*.yml")):
            text = re.sub(r"\bdev\b", NAME, path.read_text()).replace("10.98.", VPC + ".")
            text = text.replace("count: 3", "count: 1")
            text = text.replace("sshKeyPath: .apron/ssh/id_ed25519", "sshKeyPath: %s" % self.key)
            text = text.replace("sshPort: 2222", "sshPort: %d" % self.port)
            path.rename(path.with_name(path.name.replace("dev", NAME)))
            path.with_name(path.name.replace("dev", NAME)).write_text(text)
        # The demo's stage-mode settings for the hosts whose binaries this machine lacks.
        shutil.copytree(REPO / "inventories" / "local" / "group_vars", self.root / "inventory" / "group_vars")
        self.source.write_text(yaml.safe_dump({"plugin": "apron.cluster.instance_pools", "model": "model/",
                                               "backend": "terraform", "base_dir": str(self.root)}))
        self.key.parent.mkdir(mode=0o700, parents=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)

    def play(self, playbook, *extra, env=None):
        run_env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_FORCE_COLOR="0")
        run_env.pop("APRON_REMOVE_DATA_VOLUMES", None)
        run_env.update(env or {})
        cmd = ["ansible-playbook", "-i", str(self.source), str(REPO / "playbooks" / playbook),
               "-e", "apron_cluster=%s" % NAME] + list(extra)
        result = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=3600, check=False)
        with self.log.open("a") as handle:
            handle.write("=== %s\n%s\n%s\n" % (" ".join(cmd), result.stdout, result.stderr))
        return result

    def destroy(self):
        return self.play("infrastructure.yml", "-e", "apron_state=absent", env={"APRON_REMOVE_DATA_VOLUMES": "yes"})


def _podman_names(kind):
    """Names of this test's podman containers or volumes."""
    cmd = ["podman", "ps", "-a", "--format", "{{.Names}}"] if kind == "container" else \
        ["podman", "volume", "ls", "--format", "{{.Name}}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.split()
    return sorted(n for n in out if NAME in n)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    proj = Project(tmp_path_factory.mktemp("e2e"))
    proj.make()
    yield proj
    if _podman_names("container") or _podman_names("volume"):
        proj.destroy()


def _ok(result):
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return _recap(result.stdout)


def test_1_cluster_from_nothing(project):
    recap = _ok(project.play("cluster.yml"))
    assert recap["%s-etcd-0" % NAME]["failed"] == 0 and recap["%s-etcd-0" % NAME]["changed"] > 0
    assert recap["%s-bastion-0" % NAME]["changed"] > 0
    assert recap["%s-vault-0" % NAME]["changed"] > 0  # configured in stage mode (inventories/local/group_vars)
    # the master: control plane and node (kubernetes_masters_are_nodes), both in stage mode
    assert recap["%s-master-0" % NAME]["changed"] > 0
    assert "kubernetes_mode=stage: kubelet and kube-proxy installed and configured" in project.log.read_text()
    containerd = subprocess.run(["podman", "exec", "%s-master-0" % NAME, "systemctl", "is-active", "containerd"],
                                capture_output=True, text=True, check=False)
    assert containerd.stdout.strip() == "active", containerd
    # the model fed the roles: etcd data on the instance's data volume, the CAs in the project
    data = subprocess.run(["podman", "exec", "%s-etcd-0" % NAME, "findmnt", "-no", "TARGET", "--target",
                           "/var/lib/apron/etcd/k8s-main"], capture_output=True, text=True, check=False)
    assert data.stdout.strip() == "/var/lib/apron/etcd", data
    assert sorted(p.name for p in (project.root / ".apron" / "pki" / NAME).iterdir()) == [
        "etcd-k8s", "etcd-overlay", "kubernetes", "kubernetes-front-proxy", "vault-bootstrap"]


def test_2_second_run_changes_nothing(project):
    recap = _ok(project.play("cluster.yml"))
    assert {host: r["changed"] for host, r in recap.items() if r["changed"]} == {}


def test_3_check_diff_shows_no_change(project):
    recap = _ok(project.play("cluster.yml", "--check", "--diff"))
    assert {host: r["changed"] for host, r in recap.items() if r["changed"]} == {}


def test_4_status(project):
    out = project.root / "status.json"
    result = project.play("status.yml", "-e", "apron_status_file=%s" % out)
    _ok(result)
    report = json.loads(out.read_text())
    assert sorted(c["cluster"] for c in report["etcd"]) == ["k8s-events", "k8s-main", "overlay"]
    assert {c["state"] for c in report["etcd"]} == {"healthy"}
    assert {c["leader"] for c in report["etcd"]} == {"%s-etcd-0" % NAME}
    certs = [c for c in report["certificates"] if c["host"] == "%s-etcd-0" % NAME]
    # member and client per cluster, and each cluster's CA
    assert len(certs) == 9 and not [c for c in certs if c["renew"] or c["error"]], certs
    hosts = {h["name"]: h for h in report["hosts"]}
    assert all(h["reachable"] for h in hosts.values())
    etcd = hosts["%s-etcd-0" % NAME]
    assert etcd["services"]["apron-etcd@k8s-main.service"] == "active"
    assert etcd["disks"][0]["path"] == "/var/lib/apron/etcd" and etcd["disks"][0]["size"] > 0
    assert "CERTIFICATES" in result.stdout


def test_5_ssh_config_and_a_real_ssh_through_the_bastion(project):
    _ok(project.play("ssh-config.yml"))
    config = project.root / ".apron" / "ssh" / ("%s.config" % NAME)
    hop = subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
                          "%s-etcd-0" % NAME, "hostname"], capture_output=True, text=True, timeout=120, check=False)
    assert hop.returncode == 0 and hop.stdout.strip() == "%s-etcd-0" % NAME, hop.stderr


def _inventory_host(project, host):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    out = subprocess.run(["ansible-inventory", "-i", str(project.source), "--host", host], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _socks5_connect(port, address, target_port):
    """A TCP connection to address:target_port through the SOCKS5 proxy on 127.0.0.1:port."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(b"\x05\x01\x00")
    assert sock.recv(2) == b"\x05\x00"
    sock.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(address) + target_port.to_bytes(2, "big"))
    reply = sock.recv(10)
    assert reply[:2] == b"\x05\x00", reply
    return sock


def _wait_for_port(port, tunnel, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert tunnel.poll() is None, tunnel.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the SOCKS proxy on 127.0.0.1:%d did not open" % port)


def test_6_admin_kubeconfig_through_the_bastion(project):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH")
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    port = _free_port()
    first = project.play("kubeconfig.yml", "-e", "apron_kubeconfig_socks_port=%d" % port)
    _ok(first)
    path = project.root / ".apron" / "kubeconfig" / ("%s.kubeconfig" % NAME)
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    master = "%s-master-0" % NAME
    address = _inventory_host(project, master)["apron"]["private_address"]
    view = json.loads(subprocess.run(["kubectl", "config", "view", "--kubeconfig", str(path), "--raw", "-o", "json"],
                                     capture_output=True, text=True, check=True).stdout)
    [cluster], [user] = view["clusters"], view["users"]
    assert cluster["name"] == NAME and view["current-context"] == NAME and user["name"] == "apron-admin@" + NAME
    assert cluster["cluster"]["server"] == "https://%s:6443" % address
    assert cluster["cluster"]["proxy-url"] == "socks5://127.0.0.1:%d" % port
    # the identity the master role issued, embedded: CN/O, chained to the embedded CA, the key of the certificate
    cert_pem = base64.b64decode(user["user"]["client-certificate-data"])
    ca_pem = base64.b64decode(cluster["cluster"]["certificate-authority-data"])
    assert admin_pki.subject_and_chain(cert_pem, ca_pem) == ("apron-admin", ["apron:cluster-admins"], True)
    cert = x509.load_pem_x509_certificate(cert_pem)
    key_pem = base64.b64decode(user["user"]["client-key-data"])
    key = serialization.load_pem_private_key(key_pem, password=None)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)
    # idempotent, --check --diff changes nothing, the key is never printed
    again = project.play("kubeconfig.yml", "-e", "apron_kubeconfig_socks_port=%d" % port)
    check = project.play("kubeconfig.yml", "-e", "apron_kubeconfig_socks_port=%d" % port, "--check", "--diff")
    for result in (again, check):
        recap = _ok(result)
        assert {host: r["changed"] for host, r in recap.items() if r["changed"]} == {}, result.stdout[-3000:]
    for result in (first, again, check):
        assert key_pem.decode().splitlines()[1] not in result.stdout + result.stderr
        assert user["user"]["client-key-data"][:40] not in result.stdout + result.stderr
    # the command the run prints opens the SOCKS proxy through the bastion (ssh-config.yml's file, test 5)
    ssh_config = project.root / ".apron" / "ssh" / ("%s.config" % NAME)
    tunnel_cmd = "ssh -F %s -D 127.0.0.1:%d -N %s-bastion-0" % (ssh_config, port, NAME)
    assert tunnel_cmd in " ".join(first.stdout.split())
    tunnel = subprocess.Popen(["ssh", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes"] + tunnel_cmd.split()[1:],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_port(port, tunnel)
        with _socks5_connect(port, address, 22) as sock:  # the master's private address, through the bastion
            assert sock.recv(64).startswith(b"SSH-2.0-")
        # Stage mode: no API server listens on 6443 here (none is faked). kubectl's connection reached the
        # proxy (no "proxyconnect" error), the bastion opened it to the master, which refused it.
        kubectl = subprocess.run(["kubectl", "--kubeconfig", str(path), "get", "nodes", "--request-timeout=5s"],
                                 capture_output=True, text=True, timeout=180, check=False)
        assert kubectl.returncode != 0 and "proxyconnect" not in kubectl.stderr, kubectl.stderr
    finally:
        tunnel.terminate()
        tunnel_log = tunnel.communicate(timeout=30)[1]
    assert "open failed: connect failed: Connection refused" in tunnel_log, (tunnel_log, kubectl.stderr)


def test_7_destroy(project):
    _ok(project.destroy())
    assert _podman_names("container") == [] and _podman_names("volume") == []
