# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Testinfra checks for apron.cluster.etcd: real behaviour of the three clusters.

Every negative test (plain HTTP, no client certificate, a certificate from another CA) has a
positive control next to it that uses the same path with the right credentials, so that a
"refused" cannot come from a closed port or a broken test.
"""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
MEMBERS = sorted(testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("etcd"))
# podman exec is much faster than going through ansible for every command.
testinfra_hosts = [f"podman://{name}" for name in MEMBERS]

CLUSTERS = {
    "k8s-main": {"client": 2379, "peer": 2380, "ca": "etcd-k8s"},
    "k8s-events": {"client": 2369, "peer": 2370, "ca": "etcd-k8s"},
    "overlay": {"client": 2359, "peer": 2360, "ca": "etcd-overlay"},
}


def _other_ca(cluster):
    """A cluster whose CA differs (k8s-main and k8s-events share etcd-k8s: the API server has one etcd client CA)."""
    return next(c for c in CLUSTERS if CLUSTERS[c]["ca"] != CLUSTERS[cluster]["ca"])


SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKUP_KEEP = 2  # etcd_backup_keep in molecule.yml


def _member(name):
    return testinfra.get_host(f"podman://{name}")


def _ctl(host, cluster, *args):
    return host.run("apron-etcdctl " + cluster + " " + " ".join(args))


def _address(host):
    env = host.file("/etc/apron/etcd/k8s-main/etcd.env").content_string
    return re.search(r"^ETCD_ADVERTISE_CLIENT_URLS=https://([^:]+):", env, re.M).group(1)


@pytest.fixture(scope="module")
def pki_files(tmp_path_factory):
    """The CA and client certificate of each cluster, copied from the first member to the test host."""
    out = {}
    base = tmp_path_factory.mktemp("pki")
    first = _member(MEMBERS[0])
    for cluster in CLUSTERS:
        d = base / cluster
        d.mkdir()
        for name in ("ca.crt", "client.crt", "client.key"):
            (d / name).write_text(first.file(f"/etc/apron/etcd/{cluster}/pki/{name}").content_string)
        out[cluster] = d
    return out


@pytest.fixture(scope="module")
def foreign_pki(tmp_path_factory):
    """A throwaway CA and a client certificate it signed (made with openssl on the test host)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed on the test host")
    d = tmp_path_factory.mktemp("foreign")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=foreign test CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=intruder")
    (d / "ext.cnf").write_text("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.crt", "-days", "1", "-extfile", "ext.cnf")
    return d


def _https_get(address, port, ca, cert=None, key=None, path="/version"):
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False  # the URL uses the address; the SAN check is covered by etcdctl
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    with urllib.request.urlopen(f"https://{address}:{port}{path}", context=ctx, timeout=10) as r:
        return r.status, r.read().decode()


# --- services, users, files --------------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_member_runs_as_etcd(host, cluster):
    svc = host.service(f"apron-etcd@{cluster}.service")
    assert svc.is_running
    assert svc.is_enabled
    pid = host.check_output(f"systemctl show --property=MainPID --value apron-etcd@{cluster}.service")
    assert pid != "0"
    assert host.check_output(f"ps -o user= -p {pid}").strip() == "etcd"
    # The process has no capabilities and cannot gain privileges.
    status = host.file(f"/proc/{pid}/status").content_string
    assert re.search(r"^CapEff:\s+0+$", status, re.M), status
    assert re.search(r"^CapBnd:\s+0+$", status, re.M), status
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status
    # It listens on its ports (client on the address and loopback, peer on the address).
    ports = CLUSTERS[cluster]
    assert host.socket(f"tcp://127.0.0.1:{ports['client']}").is_listening
    assert host.socket(f"tcp://{_address(host)}:{ports['client']}").is_listening
    assert host.socket(f"tcp://{_address(host)}:{ports['peer']}").is_listening


def test_packaged_etcd_is_masked(host):
    assert host.run("systemctl is-enabled etcd.service").stdout.strip() == "masked"
    assert host.run("systemctl is-active etcd.service").stdout.strip() != "active"


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_key_files_and_data_dir(host, cluster):
    for name in ("member", "client"):
        key = host.file(f"/etc/apron/etcd/{cluster}/pki/{name}.key")
        assert key.is_file
        assert key.mode == 0o600
        assert key.user == "etcd" and key.group == "etcd"
    data = host.file(f"/var/lib/apron/etcd/{cluster}")
    assert data.is_directory
    assert data.mode == 0o700
    assert data.user == "etcd"
    assert host.file(f"/var/lib/apron/etcd/{cluster}/member").is_directory


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_member_certificate_sans(host, cluster):
    text = host.check_output(
        f"openssl x509 -in /etc/apron/etcd/{cluster}/pki/member.crt -noout -ext subjectAltName")
    hostname = host.check_output("hostname")
    for san in (f"DNS:{hostname}", "DNS:localhost", "IP Address:127.0.0.1", f"IP Address:{_address(host)}"):
        assert san in text, text
    # Signed by this cluster's CA and by no other CA.
    assert host.run(f"openssl verify -CAfile /etc/apron/etcd/{cluster}/pki/ca.crt "
                    f"/etc/apron/etcd/{cluster}/pki/member.crt").rc == 0
    other = _other_ca(cluster)
    assert host.run(f"openssl verify -CAfile /etc/apron/etcd/{other}/pki/ca.crt "
                    f"/etc/apron/etcd/{cluster}/pki/member.crt").rc != 0


# --- the clusters ----------------------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_cluster_healthy_over_tls_from_every_member(host, cluster):
    result = _ctl(host, cluster, "endpoint", "health", "--cluster", "--write-out=json")
    assert result.rc == 0, result.stderr
    health = json.loads(result.stdout)
    assert len(health) == len(MEMBERS)
    assert all(h["health"] for h in health), health
    assert all(h["endpoint"].startswith("https://") for h in health), health
    members = json.loads(_ctl(host, cluster, "member", "list", "--write-out=json").stdout)["members"]
    assert sorted(m["name"] for m in members) == MEMBERS
    for m in members:
        assert all(u.startswith("https://") for u in m["peerURLs"] + m["clientURLs"]), m
        assert all(u.endswith(f":{CLUSTERS[cluster]['peer']}") for u in m["peerURLs"]), m


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_put_on_one_member_read_on_another(cluster):
    writer, reader = _member(MEMBERS[0]), _member(MEMBERS[-1])
    key, value = f"/apron-test/{cluster}/{uuid.uuid4().hex}", uuid.uuid4().hex
    assert _ctl(writer, cluster, "put", key, value).rc == 0
    got = _ctl(reader, cluster, "get", key, "--print-value-only")
    assert got.rc == 0, got.stderr
    assert got.stdout.strip() == value
    # The clusters are independent: the key is not in another cluster.
    other = next(c for c in CLUSTERS if c != cluster)
    assert _ctl(reader, other, "get", key, "--print-value-only").stdout.strip() == ""


# --- TLS enforcement (from the test host, over the scenario network) ---------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_tls_client_access(host, cluster, pki_files, foreign_pki):
    address = _address(host)
    port = CLUSTERS[cluster]["client"]
    p = pki_files[cluster]
    # Positive control: the cluster's CA and client certificate work.
    status, body = _https_get(address, port, p / "ca.crt", p / "client.crt", p / "client.key")
    assert status == 200 and "etcdserver" in body
    # Plain HTTP is not served (etcd 3.4 drops the connection; newer Go TLS servers answer 400).
    with pytest.raises((urllib.error.HTTPError, http.client.RemoteDisconnected, ConnectionResetError)):
        urllib.request.urlopen(f"http://{address}:{port}/version", timeout=10)
    # No client certificate: refused during the TLS handshake.
    with pytest.raises((ssl.SSLError, ConnectionResetError, urllib.error.URLError)) as nocert:
        _https_get(address, port, p / "ca.crt")
    assert re.search(r"certificate|alert|reset|EOF", str(nocert.value), re.I), nocert.value
    # A client certificate from another CA: refused.
    with pytest.raises((ssl.SSLError, ConnectionResetError, urllib.error.URLError)) as foreign:
        _https_get(address, port, p / "ca.crt", foreign_pki / "client.crt", foreign_pki / "client.key")
    assert re.search(r"certificate|unknown ca|alert|reset|EOF", str(foreign.value), re.I), foreign.value
    # The client certificate of ANOTHER apron cluster is refused as well (separate CAs).
    other = pki_files[_other_ca(cluster)]
    with pytest.raises((ssl.SSLError, ConnectionResetError, urllib.error.URLError)):
        _https_get(address, port, p / "ca.crt", other / "client.crt", other / "client.key")


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_etcdctl_with_foreign_certificate_refused(host, cluster, foreign_pki):
    """etcdctl inside the member with a certificate of a throwaway CA gets nothing."""
    directory = f"/tmp/foreign-{cluster}"
    host.run(f"mkdir -p {directory}")
    name = host.backend.name
    for f in ("client.crt", "client.key"):
        subprocess.run(["podman", "cp", str(foreign_pki / f), f"{name}:{directory}/{f}"], check=True)
    ca = f"/etc/apron/etcd/{cluster}/pki/ca.crt"
    port = CLUSTERS[cluster]["client"]
    base = f"etcdctl --endpoints=https://127.0.0.1:{port} --cacert={ca} --dial-timeout=3s --command-timeout=3s"
    good = host.run(f"{base} --cert=/etc/apron/etcd/{cluster}/pki/client.crt "
                    f"--key=/etc/apron/etcd/{cluster}/pki/client.key get /none")
    assert good.rc == 0, good.stderr  # positive control
    bad = host.run(f"{base} --cert={directory}/client.crt --key={directory}/client.key get /none")
    assert bad.rc != 0
    plain = host.run(f"etcdctl --endpoints=http://127.0.0.1:{port} --dial-timeout=3s --command-timeout=3s get /none")
    assert plain.rc != 0
    host.run(f"rm -rf {directory}")


# --- backups ---------------------------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_backup_timer_and_snapshot(host, cluster):
    timer = host.service(f"apron-etcd-backup@{cluster}.timer")
    assert timer.is_enabled
    assert host.run(f"systemctl is-active apron-etcd-backup@{cluster}.timer").stdout.strip() == "active"
    backup_dir = f"/var/backups/apron/etcd/{cluster}"
    assert host.file(backup_dir).mode == 0o700
    assert host.file(backup_dir).user == "etcd"
    # The role took the first snapshot when it created the cluster (before any timer run).
    assert host.run(f"ls {backup_dir}/{cluster}-*.db").rc == 0, "no snapshot taken at creation"
    # A key to find in the snapshot's revision.
    put = _ctl(host, cluster, "put", f"/apron-test/backup/{uuid.uuid4().hex}", "x", "--write-out=json")
    assert put.rc == 0, put.stderr
    put_revision = json.loads(put.stdout)["header"]["revision"]
    # Run the service more often than the number kept: the newest BACKUP_KEEP remain.
    for _attempt in range(BACKUP_KEEP + 1):
        run = host.run(f"systemctl start apron-etcd-backup@{cluster}.service")
        assert run.rc == 0, host.run(f"journalctl -u apron-etcd-backup@{cluster}.service -n 20 --no-pager").stdout
        time.sleep(1.1)  # the file names have one-second resolution
    files = sorted(host.check_output(f"ls -1 {backup_dir}").split())
    assert len(files) == BACKUP_KEEP, files
    newest = f"{backup_dir}/{files[-1]}"
    assert host.file(newest).user == "etcd"
    assert host.file(newest).mode == 0o600
    status = _ctl(host, cluster, "snapshot", "status", newest, "--write-out=json")
    assert status.rc == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["totalKey"] > 0 and info["revision"] >= put_revision, info


# --- bad input ---------------------------------------------------------------------


def test_role_refuses_an_even_member_count():
    """A 2-member group is refused before anything changes."""
    first = _member(MEMBERS[0])
    before = first.check_output("stat -c %Y /etc/apron/etcd/k8s-main/etcd.env")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, os.path.join(SCENARIO_DIR, "even.yml")],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "needs an odd number of members" in out, out
    assert "has 2 host(s)" in out, out
    assert first.check_output("stat -c %Y /etc/apron/etcd/k8s-main/etcd.env") == before
