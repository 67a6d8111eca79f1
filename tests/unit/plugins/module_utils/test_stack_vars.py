# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""_stack_vars: the model -> each stack's variables and backend settings (docs/architecture.md)."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _stack_vars as sv


def res(name, spec):
    return SimpleNamespace(name=name, effective=spec)


def make_model(mode="single", backend="local", state_path=None, provider_type="local"):
    """A resolved model with the documented API (resources with .name/.effective), as load_model returns."""
    providers = {
        "local": res("local", {"type": "local", "local": {"image": "localhost/apron-debian:bookworm",
                                                          "sshPort": 2222, "sshKeyPath": "keys/id"}}),
        "aws": res("aws", {"type": "amazon", "amazon": {"regions": ["eu-west-1"], "adminCIDRs": ["203.0.113.0/24"],
                                                        "endpointURL": "http://127.0.0.1:5000"}}),
    }
    state = {"backend": backend, "path": state_path}
    if backend == "s3":
        state.update(bucket="apron-staging-state", region="eu-west-1", lockTable="apron-staging-lock",
                     kmsKeyAlias="alias/apron-staging")
    env = res("staging", {"provider": "local" if provider_type == "local" else "aws", "project": "apron",
                          "contact": "ops@example.com", "mode": mode, "hub": "hub" if mode == "multi" else None,
                          "privateZone": "staging.apron.internal",
                          "adminUsers": [{"name": "alice", "keys": ["ssh-ed25519 AAAA alice"]}],
                          "state": state, "defaults": {"cluster": {}}})
    network = {"vpcCIDR": "10.98.0.0/20", "zones": [{"name": "local-a", "privateCIDR": "10.98.0.0/24"}]}
    clusters = {"main": res("main", {"environment": "staging", "type": "cluster", "kubernetesVersion": "1.32.4",
                                     "network": network, "apiServer": {"exposure": "private",
                                                                       "allowedCIDRs": ["10.0.0.0/8"]},
                                     "features": {"oidc": {"enabled": False, "issuerURL": None}}})}
    if mode == "multi":
        clusters["hub"] = res("hub", dict(clusters["main"].effective, type="hub"))
    pools = {}
    for cluster in clusters:
        for role in ("bastion", "vault", "etcd", "master", "worker"):
            name = "%s-%s" % (cluster, role)
            pools[name] = res(name, {"cluster": cluster, "role": role, "count": 1, "size": "small",
                                     "zones": ["local-a"], "labels": {"apron.io/pool": role},
                                     "volumes": [{"name": "root", "sizeGiB": 16, "type": "ssd"}], "taints": []})
    return SimpleNamespace(providers=providers, environments={"staging": env}, clusters=clusters, pools=pools)


def test_variable_names_are_exported_per_stack():
    assert set(sv.STACK_VARIABLES) == set(sv.STACKS)
    for names in sv.STACK_VARIABLES.values():
        assert names == {"apron_provider", "apron_environment", "apron_cluster", "apron_instance_pools",
                         "apron_remote_state", "apron_ssh_public_keys"}


@pytest.mark.parametrize("stack", sv.STACKS)
def test_every_stack_gets_exactly_the_contract_variables(stack, tmp_path):
    variables = sv.stack_variables(make_model(), "main", stack, base_dir=str(tmp_path))
    assert set(variables) == sv.STACK_VARIABLES[stack]


def test_objects_are_snake_case_and_named(tmp_path):
    v = sv.stack_variables(make_model(), "main", "network", base_dir=str(tmp_path))
    assert v["apron_environment"]["name"] == "staging"
    assert v["apron_environment"]["private_zone"] == "staging.apron.internal"
    assert "defaults" not in v["apron_environment"]
    assert v["apron_cluster"]["name"] == "main"
    assert v["apron_cluster"]["kubernetes_version"] == "1.32.4"
    assert v["apron_cluster"]["network"]["vpc_cidr"] == "10.98.0.0/20"
    assert v["apron_cluster"]["network"]["zones"][0]["private_cidr"] == "10.98.0.0/24"
    assert v["apron_cluster"]["api_server"]["allowed_cidrs"] == ["10.0.0.0/8"]
    assert v["apron_cluster"]["features"]["oidc"]["issuer_url"] is None
    assert v["apron_provider"]["name"] == "local" and v["apron_provider"]["type"] == "local"
    assert v["apron_provider"]["ssh_port"] == 2222 and v["apron_provider"]["ssh_user"] == "apron"
    assert v["apron_provider"]["ssh_key_path"] == os.path.join(str(tmp_path), "keys/id")


def test_pools_per_stack(tmp_path):
    model = make_model()
    pools = {s: sv.stack_variables(model, "main", s, base_dir=str(tmp_path))["apron_instance_pools"]
             for s in sv.STACKS}
    assert sorted(pools["state"]) == ["main-etcd", "main-vault"] and pools["network"] == {}
    assert list(pools["tools"]) == ["main-bastion"]
    assert list(pools["vault"]) == ["main-vault"]
    assert sorted(pools["kubernetes"]) == ["main-etcd", "main-master", "main-worker"]
    etcd = pools["kubernetes"]["main-etcd"]
    for key in ("name", "role", "count", "min_count", "max_count", "size", "instance_type", "zones", "volumes",
                "labels", "taints", "image"):
        assert key in etcd
    assert etcd["min_count"] == etcd["max_count"] == etcd["count"] == 1
    assert etcd["labels"] == {"apron.io/pool": "etcd"}       # user keys keep their spelling
    assert etcd["volumes"][0]["size_gib"] == 16


def test_amazon_instance_types(tmp_path):
    model = make_model(provider_type="amazon", backend="s3")
    pools = sv.stack_variables(model, "main", "kubernetes", base_dir=str(tmp_path))["apron_instance_pools"]
    assert pools["main-etcd"]["instance_type"] == "t3.medium"


def test_ssh_keys_include_admins_and_local_key(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id.pub").write_text("ssh-ed25519 BBBB apron\n")
    v = sv.stack_variables(make_model(), "main", "tools", base_dir=str(tmp_path))
    assert v["apron_ssh_public_keys"] == ["ssh-ed25519 AAAA alice", "ssh-ed25519 BBBB apron"]


def test_local_backend_layout_and_remote_state(tmp_path):
    model = make_model()
    backend = sv.backend_settings(model, "main", "vault", str(tmp_path))
    assert backend == {"type": "local", "config": {
        "path": str(tmp_path / ".apron/state/staging/main/vault/terraform.tfstate")}}
    rs = sv.stack_variables(model, "main", "vault", base_dir=str(tmp_path))["apron_remote_state"]
    assert rs["backend"] == "local"
    assert sorted(rs["stacks"]) == ["network", "state", "tools"]
    assert rs["stacks"]["network"] == {"path": str(tmp_path / ".apron/state/staging/main/network/terraform.tfstate")}
    assert sv.stack_variables(model, "main", "state", base_dir=str(tmp_path))["apron_remote_state"] == {
        "backend": "local", "stacks": {}}


def test_state_path_relative_to_model_dir(tmp_path):
    model = make_model(state_path="../state")
    backend = sv.backend_settings(model, "main", "network", str(tmp_path), model_dir=str(tmp_path / "model"))
    assert backend["config"]["path"] == str(tmp_path / "state/staging/main/network/terraform.tfstate")


def test_s3_backend_layout(tmp_path):
    model = make_model(provider_type="amazon", backend="s3")
    backend = sv.backend_settings(model, "main", "kubernetes", str(tmp_path))
    config = backend["config"]
    assert backend["type"] == "s3"
    assert config["bucket"] == "apron-staging-state"
    assert config["key"] == "staging/main/kubernetes/terraform.tfstate"
    assert config["dynamodb_table"] == "apron-staging-lock"
    assert config["kms_key_id"] == "alias/apron-staging"
    assert config["encrypt"] is True and config["region"] == "eu-west-1"
    assert config["endpoints"]["s3"] == "http://127.0.0.1:5000" and config["use_path_style"] is True
    remote = sv.remote_state_for(model, "main", "kubernetes", str(tmp_path))
    assert remote["backend"] == "s3"
    assert "dynamodb_table" not in remote["stacks"]["vault"]
    assert remote["stacks"]["vault"]["key"] == "staging/main/vault/terraform.tfstate"


def test_multi_cluster_shares_hub_tools_and_vault(tmp_path):
    model = make_model(mode="multi")
    assert sv.stack_owner(model, "main", "tools") == "hub"
    assert sv.stack_owner(model, "main", "vault") == "hub"
    assert sv.stack_owner(model, "main", "network") == "main"
    assert sv.stack_owner(model, "hub", "tools") == "hub"
    v = sv.stack_variables(model, "main", "kubernetes", base_dir=str(tmp_path))
    stacks = v["apron_remote_state"]["stacks"]
    assert stacks["tools"]["path"].endswith("/staging/hub/tools/terraform.tfstate")
    assert stacks["vault"]["path"].endswith("/staging/hub/vault/terraform.tfstate")
    assert stacks["network"]["path"].endswith("/staging/main/network/terraform.tfstate")
    assert v["apron_cluster"]["hub"] == "hub"
    # the hub creates the shared pools, a member cluster does not
    assert sv.stack_variables(model, "main", "tools", base_dir=str(tmp_path))["apron_instance_pools"] == {}
    assert list(sv.stack_variables(model, "hub", "tools", base_dir=str(tmp_path))["apron_instance_pools"]) == [
        "hub-bastion"]


def test_bad_inputs(tmp_path):
    model = make_model()
    with pytest.raises(sv.StackVarsError, match=r"Cluster 'nope' is not in the model \(known: main\)"):
        sv.stack_variables(model, "nope", "network", base_dir=str(tmp_path))
    with pytest.raises(sv.StackVarsError, match=r"unknown stack 'dns': expected one of state, network"):
        sv.stack_variables(model, "main", "dns", base_dir=str(tmp_path))
    model.environments["staging"].effective["state"] = {"backend": "s3"}
    with pytest.raises(sv.StackVarsError, match="state.bucket is required"):
        sv.backend_settings(model, "main", "network", str(tmp_path))
    model.environments["staging"].effective["state"] = {"backend": "gcs"}
    with pytest.raises(sv.StackVarsError, match="expected local or s3"):
        sv.backend_settings(model, "main", "network", str(tmp_path))


def test_snake():
    assert [sv.snake(k) for k in ("vpcCIDR", "adminCIDRs", "sizeGiB", "endpointURL", "clientID", "existingVPC",
                                  "privateSubnetIds", "kubernetesVersion")] == [
        "vpc_cidr", "admin_cidrs", "size_gib", "endpoint_url", "client_id", "existing_vpc", "private_subnet_ids",
        "kubernetes_version"]


def test_with_the_real_model_loader(repo_root, tmp_path):
    """The fixture model through load_model (the real model API), not a stand-in."""
    from ansible_collections.apron.cluster.plugins.module_utils._model import load_model

    model_dir = repo_root / "tests" / "integration" / "fixtures" / "terraform" / "models" / "lab"
    model = load_model([str(model_dir)])
    assert sv.cluster_stacks(model, "edge") == [("state", "edge"), ("network", "edge"), ("tools", "hub"),
                                                ("vault", "hub"), ("kubernetes", "edge")]
    v = sv.stack_variables(model, "edge", "kubernetes", base_dir=str(tmp_path), model_dir=str(model_dir))
    assert set(v) == sv.STACK_VARIABLES["kubernetes"]
    assert sorted(v["apron_instance_pools"]) == ["edge-etcd", "edge-master", "edge-worker"]
    assert v["apron_instance_pools"]["edge-etcd"]["count"] == 3
    assert v["apron_provider"]["ssh_port"] == 2299
    assert v["apron_environment"]["admin_users"][0]["name"] == "alice"
    assert v["apron_ssh_public_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureKeyOnly alice"]
    assert v["apron_remote_state"]["stacks"]["tools"]["path"] == str(model_dir / "state/lab/hub/tools/terraform.tfstate")
