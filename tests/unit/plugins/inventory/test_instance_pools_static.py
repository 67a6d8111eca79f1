# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""instance_pools: backend static, multi-cluster environments (hub bastion), the repository's example
inventories through ansible-inventory, and the plugin documentation (the amazon examples on a moto server:
tests/integration/test_instance_pools_examples_aws.py)."""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.helpers.inventory import (
    ansible_env,
    copy_fixture,
    group_hosts,
    hostvars,
    instance,
    parse,
    write_source,
    write_state,
)

REPO = Path(__file__).resolve().parents[4]


def test_static_backend(tmp_path, warnings_seen):
    inv_dir = copy_fixture("static", tmp_path / "inv")
    inv = parse(write_source(inv_dir, model="model.yml", backend="static"))
    assert sorted(inv.hosts) == ["cp-1", "etcd-a", "etcd-b", "etcd-c", "jump", "vault-a"]
    assert group_hosts(inv, "etcd") == ["etcd-a", "etcd-b", "etcd-c"]
    assert group_hosts(inv, "zone_dc2") == ["cp-1", "etcd-b"]
    assert group_hosts(inv, "zone_dc1") == ["etcd-a", "etcd-c", "jump", "vault-a"]  # etcd-c: round-robin zone
    etcd = hostvars(inv, "etcd-b")
    assert etcd["apron"]["index"] == 1 and etcd["apron"]["pool"] == "rack-etcd" and etcd["apron"]["backend"] == "static"
    assert (etcd["ansible_host"], etcd["ansible_port"], etcd["ansible_user"]) == ("192.0.2.11", 2200, "admin")
    assert etcd["ansible_ssh_private_key_file"] == "/etc/apron/id_dc"
    proxy = shlex.split(shlex.split(etcd["ansible_ssh_common_args"])[-1][len("ProxyCommand="):])
    assert proxy == ["ssh", "-i", "/etc/apron/id_dc", "-o", "IdentitiesOnly=yes", "-p", "2200",
                     "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes", "-l", "admin",
                     "-W", "%h:%p", "192.0.2.1"]
    jump = hostvars(inv, "jump")
    assert jump["ansible_host"] == "192.0.2.1" and "ProxyCommand" not in jump["ansible_ssh_common_args"]
    assert inv.groups["pool_rack_etcd"].get_vars()["apron_pool_status"] == {
        "declared": 3, "discovered": 3, "missing": [], "unexpected": []}
    assert not warnings_seen.matching("not discovered")


def test_multi_cluster_terraform_hub_owns_shared_stacks(tmp_path, warnings_seen):
    """aws-example/multi with local state files (state_dir): the hub's tools/vault stacks serve blue and green."""
    inv_dir = tmp_path / "multi"
    shutil.copytree(REPO / "inventories" / "aws-example" / "multi" / "model", inv_dir / "model")
    state = tmp_path / "state"
    write_state(state, "platform", "platform-hub", "tools", {"platform-bastion-0": instance(
        "platform-bastion-0", "platform", "platform-hub", "platform-bastion", "bastion", "eu-west-1a", 0,
        "10.100.0.10", public="198.51.100.7")})
    write_state(state, "platform", "blue", "kubernetes", {"blue-etcd-%d" % i: instance(
        "blue-etcd-%d" % i, "platform", "blue", "blue-etcd", "etcd", "eu-west-1a", i, "10.101.0.%d" % (10 + i))
        for i in range(3)})
    inv = parse(write_source(inv_dir, model="model/", backend="terraform", state_dir=str(state)))
    assert sorted(inv.hosts) == ["blue-etcd-0", "blue-etcd-1", "blue-etcd-2", "platform-bastion-0"]
    bastion = hostvars(inv, "platform-bastion-0")
    assert bastion["ansible_host"] == "198.51.100.7" and bastion["ansible_user"] == "admin"
    args = hostvars(inv, "blue-etcd-1")["ansible_ssh_common_args"]
    assert "admin -W %h:%p 198.51.100.7" in args.replace("'", "")
    unapplied = inv.groups["all"].get_vars()["apron_inventory_report"]["unapplied"]
    # shared stacks are read once, from the hub; blue/green have no tools/vault state of their own
    assert "platform/platform-hub/tools" not in unapplied
    assert "platform/platform-hub/vault" in unapplied and "platform/green/kubernetes" in unapplied
    assert not [u for u in unapplied if u.startswith(("platform/blue/tools", "platform/green/vault"))]
    assert len(group_hosts(inv, "cluster_blue")) == 3
    assert len(group_hosts(inv, "environment_platform")) == 4


# ----------------------------------------------------------------------------- the repository's inventories

def run_inventory(*args, **env):
    proc = subprocess.run(["ansible-inventory", *args], env=ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="1", **env),
                          capture_output=True, text=True, timeout=300, cwd=str(REPO), check=False)
    return proc


def test_local_inventory_graph(tmp_path):
    """inventories/local (terraform backend): empty state dir -> declared-missing warnings, no crash;
    with state -> the hosts, reached through the bastion on 127.0.0.1:2222 with the repo's key."""
    source = tmp_path / "local"
    shutil.copytree(REPO / "inventories" / "local", source, ignore=shutil.ignore_patterns(".*"))
    (tmp_path / "galaxy.yml").write_text("namespace: t\nname: t\nversion: 0.0.1\n")  # base_dir = tmp_path
    proc = run_inventory("-i", str(source), "--graph")
    assert proc.returncode == 0, proc.stderr
    assert "@pool_dev_etcd" in proc.stdout and "@environment_dev" in proc.stdout
    assert "is not applied yet" in proc.stderr
    assert "pool dev-etcd: 3 of 3 declared member(s) not discovered: dev-etcd-0, dev-etcd-1, dev-etcd-2" in \
        " ".join(proc.stderr.split())

    state = tmp_path / ".apron" / "state"
    write_state(state, "dev", "dev", "tools", {"dev-bastion-0": instance(
        "dev-bastion-0", "dev", "dev", "dev-bastion", "bastion", "local-a", 0, "10.98.0.10",
        ssh_host="127.0.0.1", ssh_port=2222)})
    write_state(state, "dev", "dev", "kubernetes", {"dev-etcd-%d" % i: instance(
        "dev-etcd-%d" % i, "dev", "dev", "dev-etcd", "etcd", "local-%s" % "abc"[i], i, "10.98.%d.50" % i)
        for i in range(3)})
    proc = run_inventory("-i", str(source), "--list")
    assert proc.returncode == 0, proc.stderr
    # ansible-core 2.19 marks inventory strings as not trusted for templating: {"__ansible_unsafe": "..."}
    data = json.loads(proc.stdout, object_hook=lambda d: d["__ansible_unsafe"] if list(d) == ["__ansible_unsafe"] else d)
    etcd = data["_meta"]["hostvars"]["dev-etcd-2"]
    key = str(tmp_path / ".apron" / "ssh" / "id_ed25519")
    assert etcd["ansible_ssh_private_key_file"] == key
    assert etcd["ansible_host"] == "10.98.2.50" and etcd["ansible_user"] == "apron"
    assert ("-i %s -o IdentitiesOnly=yes -p 2222" % key) in etcd["ansible_ssh_common_args"]
    assert "UserKnownHostsFile=%s" % (tmp_path / ".apron" / "ssh" / "known_hosts") in etcd["ansible_ssh_common_args"]
    assert sorted(data["etcd"]["hosts"]) == ["dev-etcd-0", "dev-etcd-1", "dev-etcd-2"]


def test_plugin_documentation_renders():
    proc = subprocess.run(["ansible-doc", "-t", "inventory", "apron.cluster.instance_pools"], env=ansible_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    for text in ("backend", "proxy_jump", "keyed_groups", "cache_plugin", "APRON_AWS_ENDPOINT_URL", "EXAMPLES"):
        assert text in proc.stdout
    proc = subprocess.run(["ansible-doc", "-t", "inventory", "--json", "apron.cluster.instance_pools"],
                          env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    doc = json.loads(proc.stdout)["apron.cluster.instance_pools"]["doc"]
    assert doc["options"]["backend"]["choices"] == ["terraform", "aws_ec2", "static"]
