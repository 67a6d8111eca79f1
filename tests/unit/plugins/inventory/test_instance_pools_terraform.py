# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""instance_pools with backend terraform: local state files, bad inputs (states written by terraform itself and S3 on
a moto server: tests/integration/test_instance_pools_terraform_state.py)."""
from __future__ import annotations

import json
import shlex

import pytest
import yaml

from tests.helpers.inventory import (
    copy_fixture,
    group_hosts,
    hostvars,
    instance,
    manager,
    parse,
    write_source,
    write_state,
)

ENV, CLUSTER = "dev", "main"


def local_fleet(state_dir, etcd=(0, 1), extra_kubernetes=()):
    """Apply-like state files: bastion (direct, 127.0.0.1:2299), vault, etcd members ``etcd``, master, 2 workers."""
    write_state(state_dir, ENV, CLUSTER, "tools", {
        "dev-bastion-0": instance("dev-bastion-0", ENV, CLUSTER, "dev-bastion", "bastion", "local-a", 0,
                                  "10.90.0.2", ssh_host="127.0.0.1", ssh_port=2299)})
    write_state(state_dir, ENV, CLUSTER, "vault", {
        "dev-vault-0": instance("dev-vault-0", ENV, CLUSTER, "dev-vault", "vault", "local-b", 0, "10.90.0.3")})
    kube = {}
    for i in etcd:
        kube["dev-etcd-%d" % i] = instance("dev-etcd-%d" % i, ENV, CLUSTER, "dev-etcd", "etcd",
                                           ["local-a", "local-b"][i % 2], i, "10.90.0.%d" % (10 + i))
    kube["dev-master-0"] = instance("dev-master-0", ENV, CLUSTER, "dev-master", "master", "local-a", 0, "10.90.0.20")
    for i in range(2):
        kube["dev-worker-%d" % i] = instance("dev-worker-%d" % i, ENV, CLUSTER, "dev-worker", "worker",
                                             ["local-a", "local-b"][i % 2], i, "10.90.0.%d" % (30 + i))
    for item in extra_kubernetes:
        kube[item["name"]] = item
    write_state(state_dir, ENV, CLUSTER, "kubernetes", kube)


@pytest.fixture
def local_dir(tmp_path):
    """fixtures/local copied to tmp/inv; the model's state path (../state) is tmp/state."""
    inv = copy_fixture("local", tmp_path / "inv")
    return inv


def test_no_state_yet_reports_and_does_not_crash(local_dir, warnings_seen):
    source = write_source(local_dir, model="model.yml", base_dir="..")
    inv = parse(source)
    assert list(inv.hosts) == []
    for group in ("bastion", "vault", "etcd", "master", "worker", "environment_dev", "cluster_main", "pool_dev_etcd"):
        assert group in inv.groups
    status = inv.groups["pool_dev_etcd"].get_vars()["apron_pool_status"]
    assert status == {"declared": 3, "discovered": 0, "missing": ["dev-etcd-0", "dev-etcd-1", "dev-etcd-2"],
                      "unexpected": []}
    assert len(warnings_seen.matching("is not applied yet")) == 3
    assert warnings_seen.matching("pool dev-etcd: 3 of 3 declared member(s) not discovered: dev-etcd-0, dev-etcd-1, dev-etcd-2")
    report = inv.groups["all"].get_vars()["apron_inventory_report"]
    assert report["unapplied"] == ["dev/main/tools", "dev/main/vault", "dev/main/kubernetes"]
    assert len(report["missing"]) == 8


def test_hosts_groups_and_hostvars(local_dir, tmp_path, warnings_seen):
    local_fleet(tmp_path / "state")
    source = write_source(local_dir, model="model.yml", base_dir="..")
    inv = parse(source)
    assert sorted(inv.hosts) == ["dev-bastion-0", "dev-etcd-0", "dev-etcd-1", "dev-master-0", "dev-vault-0",
                                 "dev-worker-0", "dev-worker-1"]
    assert group_hosts(inv, "etcd") == ["dev-etcd-0", "dev-etcd-1"]
    assert group_hosts(inv, "bastion") == ["dev-bastion-0"]
    assert group_hosts(inv, "pool_dev_worker") == ["dev-worker-0", "dev-worker-1"]
    assert group_hosts(inv, "zone_local_b") == ["dev-etcd-1", "dev-vault-0", "dev-worker-1"]
    assert len(group_hosts(inv, "cluster_main")) == 7
    assert len(group_hosts(inv, "environment_dev")) == 7
    assert "pool_dev_etcd" in [g.name for g in inv.groups["cluster_main"].child_groups]

    worker = hostvars(inv, "dev-worker-1")
    apron = worker["apron"]
    assert {k: apron[k] for k in ("environment", "cluster", "pool", "role", "zone", "index", "private_address",
                                  "public_address", "provider", "backend")} == {
        "environment": "dev", "cluster": "main", "pool": "dev-worker", "role": "worker", "zone": "local-b",
        "index": 1, "private_address": "10.90.0.31", "public_address": None, "provider": "local",
        "backend": "terraform"}
    assert apron["pool_spec"]["count"] == 2
    assert apron["pool_spec"]["labels"] == {"tier": "app"}
    assert apron["cluster_spec"]["network"]["vpcCIDR"] == "10.90.0.0/20"
    key = str(tmp_path / "keys" / "id_test")
    known = str(tmp_path / ".apron" / "ssh" / "known_hosts")
    assert worker["ansible_host"] == "10.90.0.31"
    assert worker["ansible_port"] == 22
    assert worker["ansible_user"] == "ops"
    assert worker["ansible_ssh_private_key_file"] == key
    args = shlex.split(worker["ansible_ssh_common_args"])
    assert args[:4] == ["-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + known]
    assert args[4] == "-o" and args[5].startswith("ProxyCommand=")
    proxy = shlex.split(args[5][len("ProxyCommand="):])
    assert proxy == ["ssh", "-i", key, "-o", "IdentitiesOnly=yes", "-p", "2299",
                     "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + known,
                     "-o", "BatchMode=yes", "-l", "ops", "-W", "%h:%p", "127.0.0.1"]

    bastion = hostvars(inv, "dev-bastion-0")
    assert (bastion["ansible_host"], bastion["ansible_port"], bastion["ansible_user"]) == ("127.0.0.1", 2299, "ops")
    assert "ProxyCommand" not in bastion["ansible_ssh_common_args"]
    assert "UserKnownHostsFile=" + known in bastion["ansible_ssh_common_args"]

    # pool/cluster specs are built once and shared by the hosts of a pool (no per-host deep copy)
    assert hostvars(inv, "dev-worker-0")["apron"]["pool_spec"] is apron["pool_spec"]
    assert hostvars(inv, "dev-etcd-0")["apron"]["cluster_spec"] is apron["cluster_spec"]

    status = inv.groups["pool_dev_etcd"].get_vars()["apron_pool_status"]
    assert status == {"declared": 3, "discovered": 2, "missing": ["dev-etcd-2"], "unexpected": []}
    assert inv.groups["pool_dev_worker"].get_vars()["apron_pool_status"]["missing"] == []
    assert warnings_seen.matching("pool dev-etcd: 1 of 3 declared member(s) not discovered: dev-etcd-2")
    assert not warnings_seen.matching("not applied")


def test_proxy_jump_false(local_dir, tmp_path):
    local_fleet(tmp_path / "state")
    inv = parse(write_source(local_dir, model="model.yml", base_dir="..", proxy_jump=False))
    args = hostvars(inv, "dev-etcd-0")["ansible_ssh_common_args"]
    assert "ProxyCommand" not in args
    assert "StrictHostKeyChecking=accept-new" in args


def test_options_override_key_and_host_key_policy(local_dir, tmp_path):
    local_fleet(tmp_path / "state")
    inv = parse(write_source(local_dir, model="model.yml", base_dir="..", private_key_file="/keys/my key%1",
                             host_key_checking="yes", known_hosts_file="/kh/known"))
    worker = hostvars(inv, "dev-worker-0")
    assert worker["ansible_ssh_private_key_file"] == "/keys/my key%1"
    args = shlex.split(worker["ansible_ssh_common_args"])
    proxy = args[-1][len("ProxyCommand="):]
    # a space in the key is quoted for the shell ssh runs the command with, % is escaped for ssh
    assert "-i '/keys/my key%%1'" in proxy
    assert "StrictHostKeyChecking=yes" in proxy and "UserKnownHostsFile=/kh/known" in proxy


def test_unexpected_and_unmodelled_instances(local_dir, tmp_path, warnings_seen):
    extra = [instance("dev-worker-2", ENV, CLUSTER, "dev-worker", "worker", "local-a", 2, "10.90.0.32"),
             instance("dev-old-0", ENV, CLUSTER, "dev-old", "worker", "local-a", 0, "10.90.0.40"),
             instance("dev-etcd-9", ENV, "other", "dev-etcd", "etcd", "local-a", 9, "10.90.0.41")]
    local_fleet(tmp_path / "state", etcd=(0, 1, 2), extra_kubernetes=extra)
    inv = parse(write_source(local_dir, model="model.yml", base_dir=".."))
    # a surplus member of a modelled pool is added and reported
    assert "dev-worker-2" in inv.hosts
    assert inv.groups["pool_dev_worker"].get_vars()["apron_pool_status"]["unexpected"] == ["dev-worker-2"]
    assert warnings_seen.matching("beyond the declared count 2 (added): dev-worker-2")
    # instances of an unknown pool, or claiming a modelled pool of another cluster, are not added
    assert "dev-old-0" not in inv.hosts and "dev-etcd-9" not in inv.hosts
    unmodelled = inv.groups["all"].get_vars()["apron_inventory_report"]["unmodelled"]
    assert len(unmodelled) == 2
    assert any(u.startswith("dev-old-0 (environment=dev, cluster=main, pool=dev-old") for u in unmodelled)
    assert warnings_seen.matching("2 discovered instance(s) not in the model (not added)")


def test_auto_scaling_pools_are_untracked_not_missing(local_dir, tmp_path, warnings_seen):
    """The amazon kubernetes stack lists master/worker pools as auto scaling groups (output
    instance_pools) whose instances Terraform does not know: they are not reported missing."""
    local_fleet(tmp_path / "state")
    path = tmp_path / "state" / ENV / CLUSTER / "kubernetes" / "terraform.tfstate"
    state = json.loads(path.read_text())
    state["outputs"]["instances"]["value"] = {k: v for k, v in state["outputs"]["instances"]["value"].items()
                                              if v["pool"] == "dev-etcd"}
    state["outputs"]["instance_pools"] = {"value": {
        "dev-worker": {"name": "dev-worker", "role": "worker", "asg_name": "dev-main-dev-worker"},
        "gone-pool": {"name": "gone-pool", "role": "worker", "asg_name": "x"}}}
    path.write_text(json.dumps(state))
    inv = parse(write_source(local_dir, model="model.yml", base_dir=".."), cache=False)
    worker = inv.groups["pool_dev_worker"].get_vars()["apron_pool_status"]
    assert worker["missing"] == [] and worker["discovered"] == 0
    assert "dev-main-dev-worker" in worker["untracked"] and "aws_ec2" in worker["untracked"]
    # a pool without an auto scaling group is still reported missing
    assert inv.groups["pool_dev_master"].get_vars()["apron_pool_status"]["missing"] == ["dev-master-0"]
    report = inv.groups["all"].get_vars()["apron_inventory_report"]
    assert sorted(report["untracked"]) == ["dev-worker"]
    assert report["missing"] == ["dev-etcd-2", "dev-master-0"]  # the fleet has etcd 0 and 1 of 3
    assert warnings_seen.matching("pool dev-worker is auto scaling group dev-main-dev-worker")
    assert not warnings_seen.matching("pool dev-worker: 2 of 2 declared member(s) not discovered")


def test_state_dir_option(local_dir, tmp_path):
    local_fleet(tmp_path / "elsewhere")
    inv = parse(write_source(local_dir, model="model.yml", base_dir="..", state_dir="../elsewhere"))
    assert len(inv.hosts) == 7


def test_state_without_instances_output(local_dir, tmp_path, warnings_seen):
    local_fleet(tmp_path / "state")
    path = tmp_path / "state" / ENV / CLUSTER / "vault" / "terraform.tfstate"
    path.write_text(json.dumps({"version": 4, "outputs": {}, "resources": []}))  # after a destroy
    path = tmp_path / "state" / ENV / CLUSTER / "tools" / "terraform.tfstate"
    path.write_text(json.dumps({"version": 4, "outputs": {}, "resources": [{"type": "terraform_data"}]}))
    inv = parse(write_source(local_dir, model="model.yml", base_dir=".."))
    assert "dev-vault-0" not in inv.hosts and "dev-bastion-0" not in inv.hosts
    assert warnings_seen.matching("stack dev/main/vault is not applied (empty state, destroyed?)")
    assert warnings_seen.matching("stack dev/main/tools has no 'instances' output")
    assert inv.groups["all"].get_vars()["apron_inventory_report"]["unapplied"] == ["dev/main/vault"]
    # without a discovered bastion the local provider's published port is the jump target
    assert "-p 2299" in hostvars(inv, "dev-etcd-0")["ansible_ssh_common_args"]


@pytest.mark.parametrize("content, expected", [
    ("{not json", "is not valid JSON"),
    (json.dumps({"version": 4, "outputs": {"instances": {"value": ["a"]}}}), "expected a map of instance name"),
    (json.dumps({"version": 4, "outputs": {"instances": {"value": {"x": 1}}}}), "expected an object"),
    (json.dumps([1, 2]), "not a Terraform state"),
])
def test_corrupt_state_is_an_error(local_dir, tmp_path, content, expected):
    from ansible.errors import AnsibleParserError

    path = tmp_path / "state" / ENV / CLUSTER / "kubernetes" / "terraform.tfstate"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(AnsibleParserError) as err:
        parse(write_source(local_dir, model="model.yml", base_dir=".."))
    assert expected in str(err.value)
    assert "backend terraform" in str(err.value)


# ----------------------------------------------------------------------------- bad inputs

def test_invalid_model_lists_every_error(local_dir):
    from ansible.errors import AnsibleParserError

    bad = local_dir / "bad.yml"
    docs = list(yaml.safe_load_all((local_dir / "model.yml").read_text()))
    docs[4]["spec"]["count"] = "three"           # dev-etcd
    docs[2]["spec"]["network"]["vpcCIDR"] = "not-a-cidr"
    bad.write_text(yaml.safe_dump_all(docs))
    with pytest.raises(AnsibleParserError) as err:
        parse(write_source(local_dir, model="bad.yml", base_dir=".."))
    message = str(err.value)
    assert "is invalid" in message
    assert "InstancePool/dev-etcd: spec.count: three: expected type integer" in message
    assert "Cluster/main: spec.network.vpcCIDR: not-a-cidr: expected" in message


def test_missing_model_path(local_dir):
    from ansible.errors import AnsibleParserError

    with pytest.raises(AnsibleParserError) as err:
        parse(write_source(local_dir, model="nope/", base_dir=".."))
    assert "nope" in str(err.value) and "an existing model file or directory" in str(err.value)


def test_unknown_backend(local_dir):
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError) as err:
        parse(write_source(local_dir, model="model.yml", backend="consul"))
    assert "consul" in str(err.value)
    assert "terraform" in str(err.value)


def test_missing_required_model_option(local_dir):
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError) as err:
        parse(write_source(local_dir))
    assert "model" in str(err.value)


def test_unreadable_source(local_dir):
    from ansible.errors import AnsibleError

    source = local_dir / "broken.apron.yml"
    source.write_text("plugin: apron.cluster.instance_pools\nmodel: [unclosed\n")
    with pytest.raises(AnsibleError):
        parse(source)
    directory = local_dir / "dir.apron.yml"
    directory.mkdir()
    from ansible.plugins.loader import inventory_loader
    plugin = inventory_loader.get("apron.cluster.instance_pools")
    assert not plugin.verify_file(str(directory))
    assert not plugin.verify_file(str(local_dir / "absent.apron.yml"))
    assert not plugin.verify_file(str(local_dir / "model.yml"))


def test_inventory_manager_and_constructed(local_dir, tmp_path):
    local_fleet(tmp_path / "state")
    source = write_source(
        local_dir, model="model.yml", base_dir="..",
        compose={"node_size": "apron.pool_spec.size", "is_stateful": "apron.role in ['etcd', 'vault']"},
        groups={"control_plane": "apron.role in ['etcd', 'master']"},
        keyed_groups=[{"key": "apron.pool_spec.size", "prefix": "size"},
                      {"key": "apron.pool_spec.labels", "prefix": "label"}])
    inventory = manager(source)
    assert sorted(h.name for h in inventory.get_hosts("control_plane")) == ["dev-etcd-0", "dev-etcd-1", "dev-master-0"]
    assert sorted(h.name for h in inventory.get_hosts("size_small")) == ["dev-etcd-0", "dev-etcd-1"]
    assert sorted(h.name for h in inventory.get_hosts("label_tier_app")) == ["dev-worker-0", "dev-worker-1"]
    host = inventory.get_host("dev-etcd-0")
    assert host.vars["node_size"] == "small" and host.vars["is_stateful"] is True


def test_constructed_strict(local_dir, tmp_path):
    from ansible.errors import AnsibleParserError

    local_fleet(tmp_path / "state")
    lenient = write_source(local_dir, model="model.yml", base_dir="..", compose={"x": "apron.no_such_key.y"},
                           keyed_groups=[{"key": "apron.nothing", "prefix": "k"}], strict=False)
    inv = parse(lenient)
    assert "x" not in hostvars(inv, "dev-etcd-0")
    strict = write_source(local_dir, model="model.yml", base_dir="..", compose={"x": "apron.no_such_key.y"},
                          strict=True)
    with pytest.raises(AnsibleParserError) as err:
        parse(strict)
    assert "compose/groups/keyed_groups failed" in str(err.value)
