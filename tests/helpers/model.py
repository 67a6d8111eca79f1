# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the model tests: a small valid local model as Python data, written to files, and the
cluster_model module run on a stand-in for AnsibleModule."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

API = "apron.io/v1alpha1"


def doc(kind, name, spec):
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def pool(name, role, **spec):
    return doc("InstancePool", name, dict({"cluster": "dev", "role": role}, **spec))


def base_model():
    """A valid single-cluster local model: file name -> list of documents."""
    return copy.deepcopy({
        "provider.yml": [doc("Provider", "local", {"type": "local", "local": {"sshPort": 2222}})],
        "environment.yml": [doc("Environment", "dev", {
            "provider": "local",
            "project": "apron",
            "mode": "single",
            "defaults": {
                "cluster": {"kubernetesVersion": "1.35.0"},
                "instancePools": {"all": {"labels": {"team": "ops"}}, "worker": {"size": "large"}},
            },
        })],
        "cluster.yml": [doc("Cluster", "dev", {
            "environment": "dev",
            "network": {
                "vpcCIDR": "10.98.0.0/20",
                "zones": [
                    {"name": "local-a", "privateCIDR": "10.98.0.0/24", "publicCIDR": "10.98.8.0/26"},
                    {"name": "local-b", "privateCIDR": "10.98.1.0/24", "publicCIDR": "10.98.8.64/26"},
                    {"name": "local-c", "privateCIDR": "10.98.2.0/24", "publicCIDR": "10.98.8.128/26"},
                ],
            },
        })],
        "pools.yml": [
            pool("dev-bastion", "bastion", zones=["local-a"]),
            pool("dev-vault", "vault", count=1),
            pool("dev-etcd", "etcd", count=3),
            pool("dev-master", "master"),
            pool("dev-worker", "worker", minCount=1, maxCount=3),
        ],
    })


def find(files, kind, name):
    for docs in files.values():
        for item in docs:
            if isinstance(item, dict) and item.get("kind") == kind and item["metadata"]["name"] == name:
                return item
    raise KeyError((kind, name))


def write(directory: Path, files) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, docs in files.items():
        if isinstance(docs, str):
            (directory / name).write_text(docs)
        else:
            (directory / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return directory


class Exit(Exception):
    """What exit_json/fail_json of the stand-in raise."""
    def __init__(self, failed, result):
        super().__init__(result.get("msg"))
        self.failed = failed
        self.result = result


class FakeModule:
    def __init__(self, **params):
        self.params = dict(cluster=None, environment=None, show_provenance=False)
        self.params.update(params)
        self.check_mode = False
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Exit(False, result)

    def fail_json(self, **result):
        raise Exit(True, result)


def run_cluster_model(**params):
    """ClusterModel(...).run() on a stand-in for AnsibleModule; returns the Exit (.failed, .result)."""
    import pytest

    from ansible_collections.apron.cluster.plugins.modules import cluster_model

    with pytest.raises(Exit) as info:
        cluster_model.ClusterModel(FakeModule(**params)).run()
    json.dumps(info.value.result)  # what AnsibleModule would send back
    return info.value
