# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Every error at once: nothing stops at the first problem."""
from __future__ import annotations

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._model import ModelValidationError, load_model

from tests.helpers.model import base_model, find, write


def test_one_file_with_several_errors_reports_all(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-etcd")["spec"]["count"] = 4          # even etcd
    find(files, "InstancePool", "dev-worker")["spec"]["sizze"] = "large"  # unknown field
    find(files, "InstancePool", "dev-worker")["spec"]["minCount"] = 7     # min > max
    find(files, "InstancePool", "dev-master")["spec"]["zones"] = ["local-z"]  # not a cluster zone
    find(files, "InstancePool", "dev-vault")["spec"]["count"] = "1"        # wrong type
    find(files, "Cluster", "dev")["spec"]["network"]["podCIDR"] = "10.98.0.0/16"  # overlaps the VPC
    find(files, "Environment", "dev")["spec"]["provider"] = "missing"     # dangling reference
    directory = write(tmp_path / "m", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    found = {(e.file.rsplit("/", 1)[1], e.resource, e.path) for e in info.value.errors}
    expected = {
        ("pools.yml", "InstancePool/dev-etcd", "spec.count"),
        ("pools.yml", "InstancePool/dev-worker", "spec.sizze"),
        ("pools.yml", "InstancePool/dev-worker", "spec.minCount"),
        ("pools.yml", "InstancePool/dev-master", "spec.zones[0]"),
        ("pools.yml", "InstancePool/dev-vault", "spec.count"),
        ("cluster.yml", "Cluster/dev", "spec.network.podCIDR"),
        ("environment.yml", "Environment/dev", "spec.provider"),
    }
    assert expected <= found, "\n".join(map(str, info.value.errors))
    # sorted by file then line, and the exception message lists them all
    keys = [(e.file, e.line or 0) for e in info.value.errors]
    assert keys == sorted(keys)
    message = str(info.value)
    for err in info.value.errors:
        assert str(err) in message


def test_yaml_error_in_one_file_does_not_hide_others(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-etcd")["spec"]["count"] = 2
    files["zz-broken.yml"] = "kind: Cluster\n  bad: indentation\n"
    directory = write(tmp_path / "m", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    paths = {(e.file.rsplit("/", 1)[1], e.path) for e in info.value.errors}
    assert ("pools.yml", "spec.count") in paths
    assert ("zz-broken.yml", "") in paths


def test_schema_and_semantic_errors_together(tmp_path):
    files = base_model()
    spec = find(files, "Cluster", "dev")["spec"]
    spec["kubernetesVersion"] = "1.28.0"
    spec["network"]["zones"][0]["privateCIDR"] = "bogus"
    spec["apiServer"] = {"exposure": "internet"}
    directory = write(tmp_path / "m", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    paths = sorted(e.path for e in info.value.errors)
    assert paths == ["spec.apiServer.exposure", "spec.kubernetesVersion", "spec.network.zones[0].privateCIDR"]
