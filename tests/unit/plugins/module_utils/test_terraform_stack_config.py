# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Pure helpers of terraform_stack (module_utils/_terraform_stack_config.py): backend option handling, base dir discovery, state outputs."""
from __future__ import annotations

import json

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _terraform_stack_config as mod


def test_local_backend_gets_a_workspace_dir_next_to_the_state(tmp_path):
    btype, config = mod.backend_from_params({"type": "local", "path": str(tmp_path / "s" / "a.tfstate")})
    assert btype == "local"
    assert config == {"path": str(tmp_path / "s" / "a.tfstate"),
                      "workspace_dir": str(tmp_path / "s" / "terraform.tfstate.d")}


def test_s3_backend_settings():
    btype, config = mod.backend_from_params({
        "type": "s3", "bucket": "b", "key": "k", "region": "eu-west-1", "dynamodb_table": "t", "encrypt": True,
        "kms_key_id": "alias/x", "endpoint_url": "http://127.0.0.1:5000", "profile": None, "path": None})
    assert btype == "s3"
    assert config["dynamodb_table"] == "t" and config["kms_key_id"] == "alias/x" and config["encrypt"] is True
    assert config["endpoints"] == {"s3": "http://127.0.0.1:5000", "dynamodb": "http://127.0.0.1:5000",
                                   "sts": "http://127.0.0.1:5000", "iam": "http://127.0.0.1:5000"}
    assert config["use_path_style"] is True and config["skip_credentials_validation"] is True
    assert "profile" not in config


@pytest.mark.parametrize("params,message", [
    ({"type": "local", "path": None}, "backend.path is required with backend.type=local"),
    ({"type": "s3", "bucket": "b"}, "backend.type=s3 needs backend.key, backend.region"),
    ({"type": "s3"}, "backend.type=s3 needs backend.bucket, backend.key, backend.region"),
])
def test_backend_bad_inputs(params, message):
    with pytest.raises(mod.StackFailure) as err:
        mod.backend_from_params(params)
    assert err.value.msg == message


def test_find_base_dir(tmp_path, monkeypatch):
    (tmp_path / "repo" / "inventories" / "m").mkdir(parents=True)
    (tmp_path / "repo" / "galaxy.yml").write_text("name: x\n")
    assert mod.find_base_dir(str(tmp_path / "repo" / "inventories" / "m")) == str(tmp_path / "repo")
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    assert mod.find_base_dir("/") == "/"


def test_read_local_state_outputs(tmp_path):
    backend = {"type": "local", "config": {"path": str(tmp_path / "s.tfstate")}}
    assert mod.read_state_outputs(backend, {}) is None
    (tmp_path / "s.tfstate").write_text(json.dumps({"version": 4, "outputs": {}}))
    assert mod.read_state_outputs(backend, {}) == {}
    (tmp_path / "s.tfstate").write_text(json.dumps({"outputs": {"network": {"value": {"cidr": "x"}}}}))
    assert mod.read_state_outputs(backend, {}) == {"network": {"value": {"cidr": "x"}}}
    (tmp_path / "s.tfstate").write_text("{not json")
    with pytest.raises(mod.StackFailure, match="is not valid JSON"):
        mod.read_state_outputs(backend, {})


def test_default_work_dir_never_uses_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stack = "/srv/stacks/dns"
    xdg = mod.default_work_dir(stack, environ={"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"})
    assert xdg.startswith("/x/state/apron/work/stacks/dns-") and len(xdg.rsplit("-", 1)[1]) == 10
    home = mod.default_work_dir(stack, environ={"XDG_STATE_HOME": "relative", "HOME": "/home/u"})
    assert home == xdg.replace("/x/state", "/home/u/.local/state")
    assert mod.default_work_dir(stack, base_dir="/repo") == "/repo/.apron/work/stacks/" + xdg.rsplit("/", 1)[1]
    assert mod.default_work_dir("/srv/other/dns", environ={"XDG_STATE_HOME": "/x"}) != mod.default_work_dir(
        stack, environ={"XDG_STATE_HOME": "/x"})


def test_backend_mismatch_sentences():
    local = {"files": ["main.tf"], "backend": "local", "backend_file": "main.tf"}
    assert mod.backend_mismatch("backend.type", "local", local) is None
    assert mod.backend_mismatch("Environment lab spec.state.backend", "s3", local) == (
        'Environment lab spec.state.backend=s3 does not match the stack: main.tf declares `backend "local"`; '
        'expected Environment lab spec.state.backend=local or a stack declaring `backend "s3" {}`')
    assert "declares no backend block" in mod.backend_mismatch("backend.type", "s3", dict(local, backend=None))
    assert mod.backend_mismatch("backend.type", "s3", {"files": [], "backend": None}) is None
