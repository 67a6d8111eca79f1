# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""instance_pools: the values the roles default to (admin users and CIDRs, the data volume's mount
point, the hub, the controller directory) and a source outside any project that finds no state."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleParserError

from tests.helpers.inventory import copy_fixture, hostvars, instance, parse, write_source, write_state

ENV, CLUSTER = "dev", "main"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbXVPqMlJtnnBkdlmvjJ5lNoV5lq8yNKcC3Dh4XSaIx alice"


def _fleet(state_dir):
    write_state(state_dir, ENV, CLUSTER, "tools", {
        "dev-bastion-0": instance("dev-bastion-0", ENV, CLUSTER, "dev-bastion", "bastion", "local-a", 0,
                                  "10.90.0.2", ssh_host="127.0.0.1", ssh_port=2299)})
    etcd = instance("dev-etcd-0", ENV, CLUSTER, "dev-etcd", "etcd", "local-a", 0, "10.90.0.10")
    etcd["data_mount"] = "/var/lib/apron/etcd"  # what the local stacks output for stateful roles
    write_state(state_dir, ENV, CLUSTER, "kubernetes", {
        "dev-etcd-0": etcd,
        "dev-master-0": instance("dev-master-0", ENV, CLUSTER, "dev-master", "master", "local-a", 0, "10.90.0.20")})


@pytest.fixture
def local_dir(tmp_path):
    inv = copy_fixture("local", tmp_path / "inv")
    model = inv / "model.yml"
    model.write_text(model.read_text().replace(
        "  privateZone: dev.apron.internal\n",
        "  privateZone: dev.apron.internal\n  adminUsers:\n    - {name: alice, keys: [\"%s\"]}\n" % KEY))
    return inv


def test_role_values_reach_every_host(local_dir, tmp_path):
    _fleet(tmp_path / "state")
    inv = parse(write_source(local_dir, model="model.yml", base_dir=".."))
    etcd = hostvars(inv, "dev-etcd-0")["apron"]
    assert etcd["admin_users"] == [{"name": "alice", "keys": [KEY]}]
    assert etcd["admin_cidrs"] == ["10.90.0.0/20"]
    assert etcd["hub"] is None
    assert etcd["data_mount"] == "/var/lib/apron/etcd"
    assert etcd["controller_dir"] == str(tmp_path / ".apron")
    bastion = hostvars(inv, "dev-bastion-0")["apron"]
    assert bastion["admin_users"] == etcd["admin_users"] and bastion["admin_cidrs"] == ["10.90.0.0/20"]
    # roles without a data volume get none (the role keeps its own default)
    assert bastion["data_mount"] is None
    assert hostvars(inv, "dev-master-0")["apron"]["data_mount"] is None
    report = inv.groups["all"].get_vars()["apron_inventory_report"]
    assert report["model"] == [str(local_dir / "model.yml")]
    assert report["base_dir"] == str(tmp_path)


@pytest.mark.parametrize("ptype, settings, cluster, expected", [
    ("amazon", {"adminCIDRs": ["203.0.113.0/24"]}, {"network": {"vpcCIDR": "10.0.0.0/16"}}, ["203.0.113.0/24"]),
    ("amazon", {"adminCIDRs": None}, {}, []),
    ("local", {}, {"network": {"vpcCIDR": "10.98.0.0/20"}}, ["10.98.0.0/20"]),
    ("local", {}, None, []),
    ("static", {"sshUser": "ops"}, {"network": {"vpcCIDR": "10.0.0.0/16"}}, []),
])
def test_admin_cidrs(ptype, settings, cluster, expected):
    from ansible_collections.apron.cluster.plugins.inventory.instance_pools import admin_cidrs

    assert admin_cidrs(ptype, settings, cluster) == expected


def _outside_project(tmp_path, monkeypatch):
    """The local fixture without a state path, copied where no galaxy.yml or .git is above it."""
    inv = copy_fixture("local", tmp_path / "copy")
    model = inv / "model.yml"
    model.write_text(model.read_text().replace("    path: ../state\n", ""))
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return inv


def test_source_outside_a_project_says_how_to_find_the_state(tmp_path, monkeypatch):
    inv = _outside_project(tmp_path, monkeypatch)
    with pytest.raises(AnsibleParserError) as err:
        parse(write_source(inv, model="model.yml"))
    msg = str(err.value)
    assert "no Terraform state found" in msg
    assert str(tmp_path / "elsewhere" / ".apron" / "state") in msg
    assert "base_dir: /path/to/project" in msg and "state_dir:" in msg and "Environment.spec.state.path" in msg


def test_source_outside_a_project_finds_the_state_through_base_dir(tmp_path, monkeypatch):
    inv = _outside_project(tmp_path, monkeypatch)
    project = tmp_path / "project"
    _fleet(project / ".apron" / "state")
    parsed = parse(write_source(inv, model="model.yml", base_dir=str(project)))
    assert sorted(parsed.hosts) == ["dev-bastion-0", "dev-etcd-0", "dev-master-0"]
    parsed = parse(write_source(inv, model="model.yml", state_dir=str(project / ".apron" / "state")))
    assert "dev-etcd-0" in parsed.hosts


def test_source_outside_a_project_with_state_in_cwd(tmp_path, monkeypatch):
    """The current directory is a project's root without markers: its .apron/state is read."""
    inv = _outside_project(tmp_path, monkeypatch)
    _fleet(tmp_path / "elsewhere" / ".apron" / "state")
    assert "dev-etcd-0" in parse(write_source(inv, model="model.yml")).hosts


def test_role_defaults_resolve_from_the_inventory(local_dir, tmp_path):
    """The bastion, etcd and pki defaults evaluate to the model's values on inventory hosts, and to the
    roles' own defaults where there is no `apron` variable (Molecule, hand-written inventories)."""
    import json
    import os
    import subprocess

    from pathlib import Path

    repo_root = Path(__file__).resolve().parents[4]
    _fleet(tmp_path / "state")
    etcd = instance("dev-etcd-0", ENV, CLUSTER, "dev-etcd", "etcd", "local-a", 0, "10.90.0.10")
    etcd["data_mount"] = "/data/etcd"  # another mount point than the role's own default
    write_state(tmp_path / "state", ENV, CLUSTER, "kubernetes", {"dev-etcd-0": etcd})
    source = write_source(local_dir, model="model.yml", base_dir="..")
    playbook = tmp_path / "defaults.yml"
    out = tmp_path / "out"
    out.mkdir()
    playbook.write_text("""
- hosts: all
  gather_facts: false
  connection: local
  tasks:
    - ansible.builtin.include_vars: {file: %(repo)s/roles/bastion/defaults/main.yml}
    - ansible.builtin.include_vars: {file: %(repo)s/roles/etcd/defaults/main.yml}
    - ansible.builtin.include_vars: {file: %(repo)s/roles/pki/defaults/main.yml}
    - ansible.builtin.copy:
        dest: "%(out)s/{{ inventory_hostname }}.json"
        mode: "0644"
        content: "{{ {'users': bastion_admin_users, 'cidrs': bastion_admin_cidrs,
                      'data_root': etcd_data_root, 'ca_dir': pki_ca_dir} | to_json }}"
      delegate_to: localhost
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars: {file: %(repo)s/roles/bastion/defaults/main.yml}
    - ansible.builtin.include_vars: {file: %(repo)s/roles/etcd/defaults/main.yml}
    - ansible.builtin.include_vars: {file: %(repo)s/roles/pki/defaults/main.yml}
    - ansible.builtin.copy:
        dest: "%(out)s/plain.json"
        mode: "0644"
        content: "{{ {'users': bastion_admin_users, 'cidrs': bastion_admin_cidrs,
                      'data_root': etcd_data_root, 'ca_dir': pki_ca_dir} | to_json }}"
""" % {"repo": repo_root, "out": out})
    env = dict(os.environ, ANSIBLE_CONFIG=str(repo_root / "ansible.cfg"))
    run = subprocess.run(["ansible-playbook", "-i", str(source), str(playbook), "--limit", "dev-etcd-0,localhost"],
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    etcd = json.loads((out / "dev-etcd-0.json").read_text())
    assert etcd == {"users": [{"name": "alice", "keys": [KEY]}], "cidrs": ["10.90.0.0/20"],
                    "data_root": "/data/etcd", "ca_dir": str(tmp_path / ".apron" / "pki" / "main")}
    plain = json.loads((out / "plain.json").read_text())
    assert plain == {"users": [], "cidrs": [], "data_root": "/var/lib/apron/etcd", "ca_dir": "~/.apron/pki/default"}
