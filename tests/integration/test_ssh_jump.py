# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The jump settings work with a real sshd: a bastion container publishing SSH on a loopback port and
a target container reachable only from the podman network, both with a non-default identity file.

Needs podman and the base image localhost/apron-debian:bookworm (``make image``); skips otherwise.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from tests.helpers.inventory import copy_fixture, free_port, instance, write_source, write_state

pytestmark = pytest.mark.slow

USER = "ops"  # the fixture model's Provider.spec.local.sshUser


def podman(*args, check=True, timeout=120):
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=check)


def sshd_script(public_key):
    return (
        "set -e; ssh-keygen -A >/dev/null; mkdir -p /run/sshd; "
        "id %(u)s >/dev/null 2>&1 || useradd -m -s /bin/sh %(u)s; "
        "install -d -m 700 -o %(u)s -g %(u)s /home/%(u)s/.ssh; "
        "printf '%%s\\n' '%(k)s' > /home/%(u)s/.ssh/authorized_keys; "
        "chown %(u)s:%(u)s /home/%(u)s/.ssh/authorized_keys; chmod 600 /home/%(u)s/.ssh/authorized_keys; "
        "exec /usr/sbin/sshd -D -e -o PasswordAuthentication=no -o PermitRootLogin=no"
    ) % {"u": USER, "k": public_key}


@pytest.fixture(scope="module")
def sshd_pair(tmp_path_factory, base_image):
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("the OpenSSH client is not installed")
    base = tmp_path_factory.mktemp("sshjump")
    (base / "keys").mkdir()
    key = base / "keys" / "id_test"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (base / "keys" / "id_test.pub").read_text().strip()
    tag = uuid.uuid4().hex[:8]
    network = "apron-invtest-%s" % tag
    names = ["apron-invtest-bastion-%s" % tag, "apron-invtest-target-%s" % tag]
    port = free_port()
    try:
        podman("network", "create", network)
        podman("run", "-d", "--name", names[0], "--network", network, "-p", "127.0.0.1:%d:22" % port,
               base_image, "sh", "-c", sshd_script(public))
        podman("run", "-d", "--name", names[1], "--network", network, base_image, "sh", "-c", sshd_script(public))
        addresses = []
        for name in names:
            info = json.loads(podman("inspect", name).stdout)[0]
            addresses.append(info["NetworkSettings"]["Networks"][network]["IPAddress"])
        deadline = time.monotonic() + 60
        # The target is reached only through the bastion, so it gets no probe of its own: wait
        # until its sshd (run with -e, logging to stderr) says it listens.
        while "Server listening" not in "%(stdout)s%(stderr)s" % vars(podman("logs", names[1], check=False)):
            if time.monotonic() > deadline:
                logs = podman("logs", names[1], check=False)
                pytest.fail("the target sshd did not come up: %s %s" % (logs.stdout, logs.stderr))
            time.sleep(0.5)
        while True:
            probe = subprocess.run(["ssh", "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes", "-p", str(port),
                                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                    "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "%s@127.0.0.1" % USER, "true"],
                                   capture_output=True, text=True, timeout=30, check=False)
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                logs = podman("logs", names[0], check=False)
                pytest.fail("the bastion sshd did not come up: %s %s %s" % (probe.stderr, logs.stdout, logs.stderr))
            time.sleep(0.5)
        yield {"base": base, "key": str(key), "port": port, "bastion_ip": addresses[0], "target_ip": addresses[1]}
    finally:
        for name in names:
            podman("rm", "-f", "-t", "0", name, check=False)
        podman("network", "rm", "-f", network, check=False)


def make_inventory(pair):
    """fixtures/local with sshPort = the published port, key = the generated one, state = the two containers."""
    inv = copy_fixture("local", pair["base"] / "inv")
    model = (inv / "model.yml").read_text().replace("sshPort: 2299", "sshPort: %d" % pair["port"])
    (inv / "model.yml").write_text(model)
    state = pair["base"] / "state"
    write_state(state, "dev", "main", "tools", {"dev-bastion-0": instance(
        "dev-bastion-0", "dev", "main", "dev-bastion", "bastion", "local-a", 0, pair["bastion_ip"],
        ssh_host="127.0.0.1", ssh_port=pair["port"])})
    write_state(state, "dev", "main", "kubernetes", {"dev-etcd-0": instance(
        "dev-etcd-0", "dev", "main", "dev-etcd", "etcd", "local-a", 0, pair["target_ip"])})
    return write_source(inv, model="model.yml", base_dir="..")


def test_ansible_reaches_target_through_bastion(sshd_pair):
    source = make_inventory(sshd_pair)
    (sshd_pair["base"] / ".apron" / "ssh").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="1", ANSIBLE_SSH_ARGS="-F /dev/null",
               ANSIBLE_PIPELINING="1")
    proc = subprocess.run(["ansible", "-i", str(source), "dev-bastion-0:dev-etcd-0", "-m", "ansible.builtin.command",
                           "-a", "hostname -I"], env=env, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dev-etcd-0 | CHANGED" in proc.stdout and sshd_pair["target_ip"] in proc.stdout
    assert "dev-bastion-0 | CHANGED" in proc.stdout
    # accept-new recorded both host keys in the known_hosts file under .apron/ssh
    known = sshd_pair["base"] / ".apron" / "ssh" / "known_hosts"
    for host in ("[127.0.0.1]:%d" % sshd_pair["port"], sshd_pair["target_ip"]):  # entries may be hashed
        found = subprocess.run(["ssh-keygen", "-F", host, "-f", str(known)], capture_output=True, text=True,
                               timeout=30, check=False)
        assert found.returncode == 0, "%s not in %s" % (host, known)


def test_proxyjump_ignores_command_line_options_proxycommand_does_not(sshd_pair):
    """Why the plugin writes a ProxyCommand: with ProxyJump the jump ssh does not get the command line's
    -i / UserKnownHostsFile / StrictHostKeyChecking (it fails on the bastion's host key, or, with the key
    known, offers no identity); the plugin's ProxyCommand carries them and the same connection works."""
    key, port = sshd_pair["key"], sshd_pair["port"]
    common = ["-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
              "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    jump = subprocess.run(["ssh", *common, "-o", "ProxyJump=%s@127.0.0.1:%d" % (USER, port),
                           "%s@%s" % (USER, sshd_pair["target_ip"]), "true"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert jump.returncode != 0
    assert "Host key verification failed" in jump.stderr or "Permission denied" in jump.stderr

    from ansible_collections.apron.cluster.plugins.inventory.instance_pools import proxy_command
    command = proxy_command("127.0.0.1", port, USER, key, "no", "/dev/null")
    direct = subprocess.run(["ssh", *common, "-o", "ProxyCommand=" + command,
                             "%s@%s" % (USER, sshd_pair["target_ip"]), "true"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert direct.returncode == 0, direct.stderr
