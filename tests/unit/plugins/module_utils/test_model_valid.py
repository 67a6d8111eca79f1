# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The example models and the model API on valid input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._model import (
    Model,
    ModelError,
    ModelValidationError,
    Resource,
    load_model,
)

from tests.helpers.model import base_model, write

REPO = Path(__file__).resolve().parents[4]
EXAMPLES = {
    "local": REPO / "inventories" / "local" / "model",
    "aws-single": REPO / "inventories" / "aws-example" / "single" / "model",
    "aws-multi": REPO / "inventories" / "aws-example" / "multi" / "model",
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_are_valid(name):
    model = load_model(str(EXAMPLES[name]))
    assert isinstance(model, Model)
    json.dumps(model.to_dict())  # plain data
    for res in model.resources():
        assert isinstance(res, Resource)
        assert res.effective and res.provenance
        # every effective leaf has a source
        assert all(v["source"] != "unknown" for v in res.values()), res.ref


def test_local_example_shape():
    model = load_model(str(EXAMPLES["local"]))
    assert sorted(model.pools) == ["dev-bastion", "dev-etcd", "dev-master", "dev-vault", "dev-worker"]
    assert model.providers["local"].effective == {"type": "local", "local": {
        "image": "localhost/apron-debian:bookworm", "sshPort": 2222, "sshUser": "apron",
        "sshKeyPath": ".apron/ssh/id_ed25519"}}
    etcd = model.pools["dev-etcd"]
    assert etcd.effective["count"] == 3 and etcd.effective["minCount"] == etcd.effective["maxCount"] == 3
    assert model.cluster_of(etcd) is model.clusters["dev"]
    assert model.environment_of(model.clusters["dev"]) is model.environments["dev"]
    assert model.provider_of(model.environments["dev"]) is model.providers["local"]
    assert model.provider_of(etcd) is model.providers["local"]
    assert [c["name"] for c in model.clusters["dev"].effective["network"]["zones"]] == ["local-a", "local-b", "local-c"]
    names = [(i["name"], i["zone"]) for i in model.instances(pool="dev-etcd")]
    assert names == [("dev-etcd-0", "local-a"), ("dev-etcd-1", "local-b"), ("dev-etcd-2", "local-c")]
    summary = model.summary()
    assert summary["kinds"] == {"Provider": 1, "Environment": 1, "Cluster": 1, "InstancePool": 5}
    assert summary["roles"]["etcd"] == {"pools": 1, "instances": 3}
    assert model.hub_of("dev") is model.clusters["dev"]


def test_multi_example_hub_and_filter():
    model = load_model(str(EXAMPLES["aws-multi"]))
    assert model.hub_of("platform").name == "platform-hub"
    assert sorted(c.name for c in model.clusters_of("platform")) == ["blue", "green", "platform-hub"]
    blue = model.filtered(cluster="blue")
    assert sorted(blue.clusters) == ["blue", "platform-hub"]
    assert sorted(blue.pools) == ["blue-etcd", "blue-master", "blue-worker", "platform-bastion", "platform-vault"]
    assert list(blue.environments) == ["platform"] and list(blue.providers) == ["aws"]
    # sizes and volume types resolve for amazon
    worker = model.pools["green-worker"].effective
    assert worker["instanceType"] == "m6i.2xlarge"
    etcd = model.pools["blue-etcd"].effective
    assert etcd["size"] == "medium" and etcd["instanceType"] == "m5.large"
    assert {v["volumeType"] for v in etcd["volumes"]} == {"gp3"}
    # zone subnets allocated from the VPC when omitted
    zones = model.clusters["blue"].effective["network"]["zones"]
    assert zones[0]["privateCIDR"] == "10.101.0.0/22" and zones[2]["publicCIDR"] == "10.101.14.0/24"
    assert "computed:subnets" in model.clusters["blue"].provenance["spec.network.zones"]


def test_single_example_state_defaults():
    model = load_model(str(EXAMPLES["aws-single"]))
    state = model.environments["prod"].effective["state"]
    assert state["backend"] == "s3" and state["bucket"] == "apron-prod-state"
    worker = model.pools["prod-worker"].effective
    assert (worker["count"], worker["minCount"], worker["maxCount"]) == (3, 3, 12)
    assert model.pools["prod-worker"].provenance["spec.count"] == "computed:spec.minCount"


def test_multiple_paths_and_files(tmp_path):
    files = base_model()
    directory = write(tmp_path / "m", files)
    paths = [str(directory / name) for name in sorted(files)]
    model = load_model(paths)
    assert len(model.pools) == 5 and len(model.files) == 4
    # the same file twice is read once
    model = load_model([str(directory), paths[0]])
    assert len(model.files) == 4


def test_several_documents_in_one_file(tmp_path):
    files = base_model()
    everything = [d for docs in files.values() for d in docs]
    directory = write(tmp_path / "m", {"all.yaml": everything})
    model = load_model(str(directory / "all.yaml"))
    assert model.pools["dev-etcd"].line > model.pools["dev-vault"].line


def test_local_state_path_relative_to_model_file(tmp_path):
    files = base_model()
    files["environment.yml"][0]["spec"]["state"] = {"backend": "local", "path": "../state"}
    directory = write(tmp_path / "m", files)
    model = load_model(str(directory))
    assert model.environments["dev"].effective["state"]["path"] == str(tmp_path / "state")


def test_static_provider_counts_hosts(tmp_path):
    files = base_model()
    files["provider.yml"][0]["spec"] = {"type": "static", "static": {"sshUser": "admin"}}
    for number, item in enumerate(files["pools.yml"]):
        spec = item["spec"]
        for key in ("count", "minCount", "maxCount"):
            spec.pop(key, None)
        n = 3 if spec["role"] == "etcd" else 1
        spec["hosts"] = [{"name": "%s-h%d" % (item["metadata"]["name"], i), "address": "192.0.2.%d" % (10 * number + i + 1),
                          "zone": ["local-a", "local-b", "local-c"][i] if spec["role"] == "etcd" else None}
                         for i in range(n)]
        for host in spec["hosts"]:
            if host["zone"] is None:
                del host["zone"]
    directory = write(tmp_path / "m", files)
    model = load_model(str(directory))
    etcd = model.pools["dev-etcd"]
    assert etcd.effective["count"] == 3 and etcd.provenance["spec.count"].startswith("computed:len(spec.hosts)")
    assert model.providers["local"].effective["static"] == {"sshUser": "admin", "sshPort": 22, "sshKeyPath": None}
    instances = model.instances(pool="dev-etcd")
    assert [i["host"]["address"] for i in instances] == ["192.0.2.21", "192.0.2.22", "192.0.2.23"]


def test_error_api():
    err = ModelError("m.yml", "InstancePool/x", ("spec", "zones", 0), "z", "a zone", line=3)
    assert str(err) == "m.yml:3: InstancePool/x: spec.zones[0]: z: expected a zone"
    assert err.to_dict() == {"file": "m.yml", "line": 3, "resource": "InstancePool/x", "path": "spec.zones[0]",
                             "value": "z", "expected": "a zone", "missing": False, "follows": None}
    exc = ModelValidationError([err, err])
    assert "2 errors" in str(exc) and exc.errors == [err, err]
