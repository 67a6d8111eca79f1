# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The cluster_model module's logic with a stand-in for AnsibleModule (the real run is in tests/unit/playbooks/test_validate.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.model import base_model, find, run_cluster_model as run, write

REPO = Path(__file__).resolve().parents[4]
MULTI = str(REPO / "inventories" / "aws-example" / "multi" / "model")


def test_success_returns_everything():
    out = run(path=[MULTI], show_provenance=True)
    assert not out.failed and out.result["changed"] is False
    result = out.result
    assert set(result) >= {"model", "provenance", "instances", "summary", "effective_values"}
    assert result["summary"]["kinds"]["Cluster"] == 3
    assert "provenance" in result["model"]["pools"]["blue-etcd"]
    assert result["provenance"]["InstancePool/blue-etcd"]["spec.size"].startswith("Environment/platform (")
    rows = result["effective_values"]["InstancePool/blue-etcd"]
    assert {"path": "spec.instanceType", "value": "m5.large", "source": "computed:spec.size (amazon)"} in rows


def test_without_provenance_in_model():
    out = run(path=[MULTI])
    assert "provenance" not in out.result["model"]["pools"]["blue-etcd"]


def test_filters():
    out = run(path=[MULTI], environment="platform", cluster="green")
    assert sorted(out.result["model"]["clusters"]) == ["green", "platform-hub"]
    assert {i["cluster"] for i in out.result["instances"]} == {"green", "platform-hub"}


@pytest.mark.parametrize("params,text", [
    ({"cluster": "nope"}, "cluster nope is not in the model (known: blue, green, platform-hub)"),
    ({"environment": "nope"}, "environment nope is not in the model (known: platform)"),
])
def test_unknown_filters(params, text):
    out = run(path=[MULTI], **params)
    assert out.failed and out.result["msg"] == text


def test_cluster_environment_mismatch(tmp_path):
    files = base_model()
    directory = write(tmp_path / "m", files)
    out = run(path=[str(directory), MULTI], cluster="dev", environment="platform")
    assert out.failed and "cluster dev belongs to environment dev, not platform" in out.result["msg"]


def test_invalid_model_lists_every_error(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-etcd")["spec"]["count"] = 2
    find(files, "Cluster", "dev")["spec"]["kubernetesVersion"] = "1.40.0"
    directory = write(tmp_path / "m", files)
    out = run(path=[str(directory)])
    assert out.failed
    # the list is in errors only: Ansible prints msg twice
    assert out.result["msg"] == "invalid cluster model: 2 errors (each listed under errors)"
    assert "\n" not in out.result["msg"] and "spec.count" not in out.result["msg"]
    errors = out.result["errors"]
    assert [(e["resource"], e["path"]) for e in errors] == [
        ("Cluster/dev", "spec.kubernetesVersion"), ("InstancePool/dev-etcd", "spec.count")]
    assert errors[1]["file"] == str(directory / "pools.yml") and errors[1]["value"] == 2
    assert set(errors[0]) == {"file", "line", "resource", "path", "value", "expected", "missing", "follows"}
    assert out.result["model_warnings"] == []
