# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""playbooks/ssh-config.yml renders the OpenSSH configuration of a fixture inventory (terraform state
files of a local-provider fleet); apron.cluster.ssh_config's bad-input errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.plugin_utils import _ssh_config
from ansible_collections.apron.cluster.plugins.plugin_utils._status import StatusError

from tests.helpers.inventory import copy_fixture, instance, write_source, write_state

REPO = Path(__file__).resolve().parents[3]

ENV, CLUSTER = "dev", "main"


def _fleet(state_dir):
    write_state(state_dir, ENV, CLUSTER, "tools", {
        "dev-bastion-0": instance("dev-bastion-0", ENV, CLUSTER, "dev-bastion", "bastion", "local-a", 0,
                                  "10.90.0.2", ssh_host="127.0.0.1", ssh_port=2299)})
    write_state(state_dir, ENV, CLUSTER, "kubernetes", {
        "dev-etcd-%d" % i: instance("dev-etcd-%d" % i, ENV, CLUSTER, "dev-etcd", "etcd", "local-a", i,
                                    "10.90.0.%d" % (10 + i)) for i in range(2)})


def test_playbook_renders_the_fixture_inventory(tmp_path):
    inv = copy_fixture("local", tmp_path / "inv")
    _fleet(tmp_path / "state")
    source = write_source(inv, model="model.yml", base_dir="..")
    out = tmp_path / "dev.config"
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    run = subprocess.run(["ansible-playbook", "-i", str(source), str(REPO / "playbooks" / "ssh-config.yml"),
                          "-e", "apron_ssh_config_file=%s" % out, "--diff"],
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    key = tmp_path / "keys" / "id_test"
    known = tmp_path / ".apron" / "ssh" / "known_hosts"
    assert out.read_text() == (
        "# apron environment dev: written by playbooks/ssh-config.yml from the inventory\n"
        "# %s; usage: ssh -F <this file> <host>\n"
        "Host dev-bastion-0\n  HostName 127.0.0.1\n  Port 2299\n  User ops\n"
        "  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n\n"
        "Host dev-etcd-0\n  HostName 10.90.0.10\n  Port 22\n  User ops\n"
        "  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n"
        "  ProxyJump dev-bastion-0\n\n"
        "Host dev-etcd-1\n  HostName 10.90.0.11\n  Port 22\n  User ops\n"
        "  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n"
        "  ProxyJump dev-bastion-0\n" % (source, key, known, key, known, key, known))
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    # ssh itself accepts the file and resolves the jump (no connection is made by -G)
    if shutil.which("ssh"):
        resolved = subprocess.run(["ssh", "-G", "-F", str(out), "dev-etcd-1"], capture_output=True, text=True,
                                  check=True).stdout.splitlines()
        assert "hostname 10.90.0.11" in resolved and "proxyjump dev-bastion-0" in resolved
        assert "stricthostkeychecking true" in resolved
    # a second run changes nothing
    again = subprocess.run(["ansible-playbook", "-i", str(source), str(REPO / "playbooks" / "ssh-config.yml"),
                            "-e", "apron_ssh_config_file=%s" % out], env=env, capture_output=True, text=True,
                           timeout=300, check=False)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout


def _hv(**extra):
    apron = {"role": "etcd", "environment": "dev", "private_address": "10.0.0.5",
             "ssh": {"jump_host": "b", "known_hosts_file": None, "host_key_checking": "accept-new"}}
    hv = {"a": {"apron": apron, "ansible_user": "admin", "ansible_ssh_private_key_file": "/keys/my key"},
          "b": {"apron": {"role": "bastion", "ssh": {}}, "ansible_host": "198.51.100.7", "ansible_port": 22}}
    hv["a"].update(extra)
    return hv


def test_quoting_and_host_key_policy_without_known_hosts():
    text = _ssh_config.ssh_config(_hv(), ["a", "b"])
    assert text.startswith("Host b\n  HostName 198.51.100.7\n  Port 22\n\nHost a\n")
    assert '  IdentityFile "/keys/my key"\n' in text
    assert "  StrictHostKeyChecking accept-new\n  ProxyJump b\n" in text


@pytest.mark.parametrize("hosts, hostvars, message", [
    (["a"], _hv(), "host a jumps through b, which is not among the hosts: include the bastion"),
    (["x"], _hv(), "host 'x' is not in hostvars"),
    (["a", "b"], dict(_hv(), a={"ansible_host": "1.2.3.4"}), "host a has no 'apron' variable"),
    ("a", _hv(), "hosts is 'a': expected a list"),
    (["a", "b"], _hv(ansible_user='ev"il'), "cannot be written into an OpenSSH configuration"),
])
def test_bad_input(hosts, hostvars, message):
    with pytest.raises(StatusError, match=message):
        _ssh_config.ssh_config(hostvars, hosts)
