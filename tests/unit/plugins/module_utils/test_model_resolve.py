# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Inheritance and provenance: builtin < Environment.spec.defaults < own spec; maps merge, lists replace."""
from __future__ import annotations

from ansible_collections.apron.cluster.plugins.module_utils._model import load_model
from ansible_collections.apron.cluster.plugins.module_utils._model_resolve import allocate_zone_cidrs, merge_layer

from tests.helpers.model import base_model, find, write


def _load(tmp_path, files):
    return load_model(str(write(tmp_path / "m", files)))


def test_precedence_builtin_env_own(tmp_path):
    files = base_model()
    model = _load(tmp_path, files)
    d = str(tmp_path / "m")
    worker = model.pools["dev-worker"]
    master = model.pools["dev-master"]
    # builtin (role), with provider-specific override (local: count 1)
    assert master.effective["size"] == "medium" and master.provenance["spec.size"] == "builtin:role/master"
    assert master.effective["count"] == 1 and master.provenance["spec.count"] == "builtin:provider/local"
    assert master.provenance["spec.image"] == "builtin:provider/local"
    # environment default (instancePools.worker), with file and line
    assert worker.effective["size"] == "large"
    assert worker.provenance["spec.size"].startswith("Environment/dev (%s/environment.yml:" % d)
    # own spec wins
    assert worker.provenance["spec.minCount"].startswith("InstancePool/dev-worker (%s/pools.yml:" % d)
    # cluster inherits the environment's kubernetesVersion
    cluster = model.clusters["dev"]
    assert cluster.effective["kubernetesVersion"] == "1.35.0"
    assert cluster.provenance["spec.kubernetesVersion"].startswith("Environment/dev (")
    assert cluster.provenance["spec.network.podCIDR"] == "builtin:network"
    assert cluster.provenance["spec.network.vpcCIDR"].startswith("Cluster/dev (")


def test_provenance_line_points_at_the_key(tmp_path):
    model = _load(tmp_path, base_model())
    source = model.pools["dev-worker"].provenance["spec.size"]
    line = int(source.rsplit(":", 1)[1].rstrip(")"))
    text = (tmp_path / "m" / "environment.yml").read_text().splitlines()[line - 1]
    assert text.strip() == "size: large"


def test_maps_merge_key_by_key(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-worker")["spec"]["labels"] = {"tier": "web"}
    model = _load(tmp_path, files)
    worker = model.pools["dev-worker"]
    assert worker.effective["labels"] == {"team": "ops", "tier": "web"}
    assert worker.provenance["spec.labels.team"].startswith("Environment/dev (")
    assert worker.provenance["spec.labels.tier"].startswith("InstancePool/dev-worker (")
    assert "spec.labels" not in worker.provenance  # no stale entry for the (formerly empty) map


def test_own_value_overrides_env_default_in_map(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-worker")["spec"]["labels"] = {"team": "dev"}
    model = _load(tmp_path, files)
    worker = model.pools["dev-worker"]
    assert worker.effective["labels"] == {"team": "dev"}
    assert worker.provenance["spec.labels.team"].startswith("InstancePool/dev-worker (")


def test_lists_replace(tmp_path):
    files = base_model()
    env = find(files, "Environment", "dev")["spec"]
    env["defaults"]["instancePools"]["master"] = {"volumes": [{"name": "root", "sizeGiB": 20}]}
    env["defaults"]["instancePools"]["worker"]["volumes"] = [{"name": "root", "sizeGiB": 30}]
    find(files, "InstancePool", "dev-worker")["spec"]["volumes"] = [{"name": "root", "sizeGiB": 40, "type": "hdd"}]
    model = _load(tmp_path, files)
    # worker: own list replaces the env list, which replaced the builtin list (root + docker)
    assert model.pools["dev-worker"].provenance["spec.volumes"].startswith("InstancePool/dev-worker (")
    assert model.pools["dev-worker"].effective["volumes"] == [
        {"name": "root", "sizeGiB": 40, "type": "hdd", "volumeType": "hdd"}]
    # master: the env list replaced the builtin one; the type defaults to ssd; etcd keeps the builtin
    assert [v["name"] for v in model.pools["dev-etcd"].effective["volumes"]] == ["root", "data"]
    assert model.pools["dev-master"].effective["volumes"] == [
        {"name": "root", "sizeGiB": 20, "type": "ssd", "volumeType": "ssd"}]
    assert model.pools["dev-master"].provenance["spec.volumes"].startswith("Environment/dev (")


def test_role_default_beats_all_default(tmp_path):
    files = base_model()
    env = find(files, "Environment", "dev")["spec"]
    env["defaults"]["instancePools"]["all"]["size"] = "tiny"
    model = _load(tmp_path, files)
    assert model.pools["dev-worker"].effective["size"] == "large"  # instancePools.worker
    assert model.pools["dev-master"].effective["size"] == "tiny"  # instancePools.all


def test_env_cluster_defaults_merge_into_network(tmp_path):
    files = base_model()
    env = find(files, "Environment", "dev")["spec"]
    env["defaults"]["cluster"]["network"] = {"clusterDomain": "apron.local", "podCIDR": "10.240.0.0/16"}
    model = _load(tmp_path, files)
    net = model.clusters["dev"].effective["network"]
    assert net["clusterDomain"] == "apron.local" and net["vpcCIDR"] == "10.98.0.0/20"
    prov = model.clusters["dev"].provenance
    assert prov["spec.network.clusterDomain"].startswith("Environment/dev (")
    assert prov["spec.network.overlay"] == "builtin:network"


def test_amazon_size_and_volume_aliases(tmp_path):
    files = base_model()
    files["provider.yml"][0]["spec"] = {"type": "amazon", "amazon": {"regions": ["eu-west-1"]}}
    zones = find(files, "Cluster", "dev")["spec"]["network"]["zones"]
    for i, zone in enumerate(zones):
        zone["name"] = "eu-west-1" + "abc"[i]
    find(files, "InstancePool", "dev-bastion")["spec"]["zones"] = ["eu-west-1a"]
    model = _load(tmp_path, files)
    pools = model.pools
    assert pools["dev-bastion"].effective["instanceType"] == "t3.small"
    assert pools["dev-etcd"].effective["instanceType"] == "t3.medium"
    assert pools["dev-master"].effective["instanceType"] == "m5.large"
    assert pools["dev-worker"].effective["instanceType"] == "m5.xlarge"
    assert pools["dev-worker"].effective["volumes"][1] == {"name": "docker", "sizeGiB": 50, "type": "ssd", "volumeType": "gp3"}
    assert pools["dev-master"].effective["count"] == 1 and pools["dev-master"].provenance["spec.count"] == "builtin:role/master"
    assert pools["dev-master"].effective["image"] == "debian-12"
    env = model.environments["dev"].effective
    assert env["state"]["backend"] == "s3" and env["state"]["region"] == "eu-west-1"
    assert model.environments["dev"].provenance["spec.state.bucket"] == "builtin:environment/amazon"
    # zones default to the cluster's, round-robin
    assert [i["zone"] for i in model.instances(pool="dev-worker")] == ["eu-west-1a"]
    assert pools["dev-worker"].provenance["spec.zones"] == "Cluster/dev (spec.network.zones)"


def test_merge_layer_unit():
    target, prov = {}, {}
    merge_layer(target, prov, {"a": {"b": 1, "c": [1]}, "d": {}}, "one")
    merge_layer(target, prov, {"a": {"c": [2, 3]}, "d": {"e": None}}, "two")
    assert target == {"a": {"b": 1, "c": [2, 3]}, "d": {"e": None}}
    assert prov == {"spec.a.b": "one", "spec.a.c": "two", "spec.d.e": "two"}
    # a scalar replacing a map drops the provenance of its keys
    merge_layer(target, prov, {"a": None}, "three")
    assert prov == {"spec.a": "three", "spec.d.e": "two"}


def test_allocate_zone_cidrs():
    assert allocate_zone_cidrs("10.98.0.0/20", 3) == [
        ("10.98.0.0/22", "10.98.12.0/24"), ("10.98.4.0/22", "10.98.13.0/24"), ("10.98.8.0/22", "10.98.14.0/24")]
    assert allocate_zone_cidrs("10.98.0.0/20", 1) == [("10.98.0.0/21", "10.98.8.0/22")]
    assert allocate_zone_cidrs("10.98.0.0/29", 3) is None
    assert allocate_zone_cidrs("not-a-cidr", 3) is None
