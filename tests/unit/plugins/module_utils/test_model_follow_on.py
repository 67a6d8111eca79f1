# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""One mistake, one root error: what follows from it is marked (``follows``) and listed after it,
never blamed on another resource; a value compared against a built-in default says so."""
from __future__ import annotations

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._model import ModelValidationError, load_model

from tests.helpers.model import base_model, find, pool, write
from test_model_invalid import multi


def _errors(tmp_path, files):
    directory = write(tmp_path / "m", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    exc = info.value
    roots = [e for e in exc.errors if e.follows is None]
    follow = [e for e in exc.errors if e.follows is not None]
    # root errors first, then their follow-on errors (in the exception's text too)
    assert exc.errors == roots + follow
    text = str(exc)
    if follow:
        assert text.index(str(roots[-1])) < text.index("follow-on errors (they go away") < text.index(str(follow[0]))
    return directory, roots, follow


def test_wrong_kind(tmp_path):
    files = base_model()
    find(files, "Cluster", "dev")["kind"] = "Clustr"
    directory, roots, follow = _errors(tmp_path, files)
    assert [(r.path, r.value) for r in roots] == [("kind", "Clustr")]
    assert "did you mean Cluster?" in roots[0].expected
    # the pools' dangling references and the environment's counts follow from it
    assert {(e.resource, e.path) for e in follow} >= {("InstancePool/dev-etcd", "spec.cluster"), ("Environment/dev", "spec")}
    assert all(e.follows is roots[0] for e in follow)
    ref = next(e for e in follow if e.resource == "InstancePool/dev-etcd")
    assert "the document named dev at %s:" % (directory / "cluster.yml") in ref.expected
    assert str(ref).endswith("[follows from %s:2: kind]" % (directory / "cluster.yml"))
    assert ref.to_dict()["follows"] == "%s:2: kind" % (directory / "cluster.yml")


def test_misspelt_field(tmp_path):
    files = base_model()
    spec = find(files, "Cluster", "dev")["spec"]
    spec["netwrk"] = spec.pop("network")
    dummy, roots, follow = _errors(tmp_path, files)
    assert [r.path for r in roots] == ["spec.netwrk"]
    assert "did you mean network?" in roots[0].expected
    assert [e.path for e in follow] == ["spec.network.zones"]


def test_misspelt_required_field(tmp_path):
    files = base_model()
    spec = find(files, "InstancePool", "dev-etcd")["spec"]
    spec["rol"] = spec.pop("role")
    dummy, roots, follow = _errors(tmp_path, files)
    assert [r.path for r in roots] == ["spec.rol"]
    # the missing role and the cluster's missing etcd pool follow from the misspelling
    assert {(e.resource, e.path) for e in follow} == {("InstancePool/dev-etcd", "spec.role"), ("Cluster/dev", "spec")}


def test_wrong_hub_name_blames_nobody_else(tmp_path):
    files = multi(base_model())
    find(files, "Environment", "dev")["spec"]["hub"] = "hbu"
    dummy, roots, follow = _errors(tmp_path, files)
    assert [(r.resource, r.path, r.value) for r in roots] == [("Environment/dev", "spec.hub", "hbu")]
    assert "did you mean hub?" in roots[0].expected
    assert follow == []


def test_misplaced_hub_pool_is_the_root(tmp_path):
    files = multi(base_model())
    find(files, "InstancePool", "dev-vault")["spec"]["cluster"] = "dev"
    dummy, roots, follow = _errors(tmp_path, files)
    assert [(r.resource, r.path) for r in roots] == [("InstancePool/dev-vault", "spec.role")]
    assert [(e.resource, e.path) for e in follow] == [("Cluster/hub", "spec")]


def test_reference_to_a_resource_with_an_invalid_name(tmp_path):
    files = base_model()
    find(files, "Environment", "dev")["metadata"]["name"] = "Dev"
    dummy, roots, follow = _errors(tmp_path, files)
    assert [(r.resource, r.path) for r in roots] == [("Environment/Dev", "metadata.name")]
    ref = next(e for e in follow if e.path == "spec.environment")
    assert "probably Environment/Dev, whose name is invalid" in ref.expected and "did you mean" not in ref.expected


def test_dangling_pool_reference_makes_counts_follow_on(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-bastion")["spec"]["cluster"] = "dve"
    dummy, roots, follow = _errors(tmp_path, files)
    assert [(r.resource, r.path) for r in roots] == [("InstancePool/dev-bastion", "spec.cluster")]
    assert "did you mean dev?" in roots[0].expected
    assert [(e.resource, e.path) for e in follow] == [("Environment/dev", "spec")]
    assert "exactly one bastion" in follow[0].expected


def test_schema_rejected_value_replaced_by_default(tmp_path):
    files = base_model()
    network = find(files, "Cluster", "dev")["spec"]["network"]
    network["vpcCIDR"] = "10.97.0.0"
    for zone in network["zones"]:
        zone["privateCIDR"] = zone["privateCIDR"].replace("10.98.", "10.97.")
        zone["publicCIDR"] = zone["publicCIDR"].replace("10.98.", "10.97.")
    dummy, roots, follow = _errors(tmp_path, files)
    assert [r.path for r in roots] == ["spec.network.vpcCIDR"]
    assert len(follow) == 6
    assert all("(10.98.0.0/20, the built-in default (builtin:network))" in e.expected for e in follow)


def test_independent_errors_stay_roots(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-etcd")["spec"]["count"] = 2
    find(files, "Cluster", "dev")["spec"]["kind"] = "oops"
    files["pools.yml"].append(pool("dev-extra", "worker", size=""))
    dummy, roots, follow = _errors(tmp_path, files)
    assert {r.path for r in roots} == {"spec.count", "spec.kind", "spec.size"}
    assert follow == []
