# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Testinfra checks for apron.cluster.pki (local_ca backend).

What is checked is what a consumer relies on: each key was made on its host and matches its
certificate, each certificate chains to the CA of its own cluster component and to no other
(an etcd-k8s-events client is refused by the etcd-k8s-main trust bundle), SANs and key usages
are the requested ones, key files are 0600 and owned by the service user, host keys never
reach the CA host, and the expiry timer is armed and passes on fresh certificates.
"""

import os
import subprocess

import pytest
import testinfra.utils.ansible_runner

_RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
# The instances are podman containers: podman exec is much faster than going through ansible.
testinfra_hosts = [f"podman://{name}" for name in _RUNNER.get_hosts("all")]

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
CA_DIR = os.path.join(EPHEMERAL, "ca", "molecule")  # pki_ca_dir of molecule.yml
SERVER = "/etc/apron/etcd/k8s-main/pki"
CLIENT = "/etc/apron/etcd/k8s-events/pki"


def _name(host):
    """Inventory name of the host (the podman container name)."""
    return host.backend.name


def _text(host, cmd):
    out = host.run(cmd)
    assert out.rc == 0, f"{cmd}: rc={out.rc} {out.stderr}"
    return out.stdout


@pytest.mark.parametrize("directory,name,owner,group", [
    (SERVER, "server", "etcd", "etcd"),
    (CLIENT, "client", "etcd", "etcd"),
])
def test_key_and_certificate_files(host, directory, name, owner, group):
    key = host.file(f"{directory}/{name}.key")
    assert key.is_file
    assert key.mode == 0o600
    assert (key.user, key.group) == (owner, group)
    crt = host.file(f"{directory}/{name}.crt")
    assert crt.is_file and crt.mode == 0o644
    bundle = host.file(f"{directory}/ca.crt")
    assert bundle.is_file and bundle.mode == 0o644
    d = host.file(directory)
    assert d.is_directory and d.mode == 0o750 and d.user == owner


@pytest.mark.parametrize("directory,name", [(SERVER, "server"), (CLIENT, "client")])
def test_key_matches_certificate(host, directory, name):
    from_key = _text(host, f"openssl pkey -in {directory}/{name}.key -pubout")
    from_crt = _text(host, f"openssl x509 -in {directory}/{name}.crt -noout -pubkey")
    assert from_key.strip() == from_crt.strip()


def test_certificates_chain_to_their_own_ca_only(host):
    assert host.run(f"openssl verify -CAfile {SERVER}/ca.crt {SERVER}/server.crt").rc == 0
    assert host.run(f"openssl verify -CAfile {CLIENT}/ca.crt {CLIENT}/client.crt").rc == 0
    # Separate CAs per component (as Tarmak separated them): no cross-trust.
    cross = host.run(f"openssl verify -CAfile {SERVER}/ca.crt {CLIENT}/client.crt")
    assert cross.rc != 0, "a k8s-events client certificate verified against the k8s-main CA"
    cross = host.run(f"openssl verify -CAfile {CLIENT}/ca.crt {SERVER}/server.crt")
    assert cross.rc != 0


def test_server_certificate_content(host):
    text = _text(host, f"openssl x509 -in {SERVER}/server.crt -noout -text")
    name = _name(host)
    assert f"CN = {name}" in text or f"CN={name}" in text
    assert f"DNS:{name}" in text and "DNS:localhost" in text and "IP Address:127.0.0.1" in text
    assert "TLS Web Server Authentication" in text and "TLS Web Client Authentication" in text
    assert "CA:FALSE" in text
    issuer = _text(host, f"openssl x509 -in {SERVER}/server.crt -noout -issuer")
    assert "etcd-k8s-main CA" in issuer


def test_client_certificate_content(host):
    text = _text(host, f"openssl x509 -in {CLIENT}/client.crt -noout -text")
    assert "TLS Web Client Authentication" in text
    assert "TLS Web Server Authentication" not in text
    assert "O = apron-clients" in text or "O=apron-clients" in text
    assert "rsaEncryption" in text and "2048 bit" in text


def test_tls_handshake_accepts_own_ca_and_refuses_another(host):
    """A real TLS server with the issued certificate, requiring client certificates from its CA."""
    port = 18443
    server = (f"openssl s_server -accept 127.0.0.1:{port} -cert {SERVER}/server.crt -key {SERVER}/server.key "
              f"-CAfile {SERVER}/ca.crt -Verify 1 -verify_return_error -naccept 2 -quiet")
    host.run(f"nohup timeout 60 {server} >/tmp/s_server.log 2>&1 &")
    host.run(f"for i in $(seq 50); do ss -ltn | grep -q ':{port} ' && break; sleep 0.1; done")
    base = f"openssl s_client -connect 127.0.0.1:{port} -servername localhost -verify_return_error -brief"
    good = host.run(f"echo Q | timeout 20 {base} -CAfile {SERVER}/ca.crt -cert {SERVER}/server.crt "
                    f"-key {SERVER}/server.key")
    assert good.rc == 0, good.stderr
    # The k8s-events client certificate is not trusted by the k8s-main server. TLS 1.2: the server
    # checks the client certificate inside the handshake (with TLS 1.3 the client would only see
    # the server's alert on its next read).
    bad = host.run(f"echo Q | timeout 20 {base} -tls1_2 -CAfile {SERVER}/ca.crt -cert {CLIENT}/client.crt "
                   f"-key {CLIENT}/client.key")
    assert bad.rc != 0, bad.stderr
    assert "alert" in bad.stderr.lower(), bad.stderr
    host.run(f"pkill -f 'openssl s_server -accept 127.0.0.1:{port}' || true")


def test_ca_keys_stay_on_the_ca_host():
    for ca in ("etcd-k8s-main", "etcd-k8s-events"):
        key = os.path.join(CA_DIR, ca, "ca.key")
        assert os.path.isfile(key)
        assert os.stat(key).st_mode & 0o777 == 0o600
        assert os.stat(os.path.join(CA_DIR, ca)).st_mode & 0o777 == 0o700
    # No host key (server.key / client.key) was ever copied to the controller.
    found = subprocess.run(["find", CA_DIR, "-name", "*.key", "!", "-name", "ca.key"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert found == []


def test_no_ca_key_on_the_host(host):
    out = host.run("find / -xdev -name ca.key -not -path '/proc/*' 2>/dev/null")
    assert out.stdout.strip() == ""


def test_expiry_timer_armed_and_check_passes(host):
    timer = host.service("apron-pki-check.timer")
    assert timer.is_enabled and timer.is_running
    registry = host.file("/etc/apron/pki/certificates.d")
    assert registry.is_directory
    assert len(registry.listdir()) >= 2
    run = host.run("systemctl start apron-pki-check.service")
    assert run.rc == 0, host.run("journalctl --no-pager -u apron-pki-check.service -n 30").stdout
    unit = host.run("systemctl show -p User -p NoNewPrivileges -p ProtectSystem apron-pki-check.service").stdout
    assert "NoNewPrivileges=yes" in unit
