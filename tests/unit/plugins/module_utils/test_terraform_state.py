# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The Terraform state reader (plugins/module_utils/_terraform_state.py): local files and S3."""
from __future__ import annotations

import json

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _terraform_state as tfstate


def local(path):
    return {"type": "local", "config": {"path": str(path)}}


def test_local_missing_empty_and_present(tmp_path):
    path = tmp_path / "terraform.tfstate"
    reader = tfstate.StateReader()
    assert reader.read(local(path)) == (None, "no state file")
    path.write_text("  \n")
    assert reader.read(local(path))[0] is None
    path.write_text(json.dumps({"version": 4, "outputs": {"a": {"value": 1}}}))
    state, _reason = reader.read(local(path))
    assert tfstate.outputs(state) == {"a": {"value": 1}}
    assert reader.s3_calls == 0


@pytest.mark.parametrize("content", ["{not json", b"\xff\xfe"])
def test_local_invalid_json(tmp_path, content):
    path = tmp_path / "terraform.tfstate"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(tfstate.StateReadError, match="Terraform state %s is not valid JSON" % path):
        tfstate.read_local(str(path))


def test_local_unreadable(tmp_path):
    with pytest.raises(tfstate.StateReadError, match="cannot read Terraform state"):
        tfstate.read_local(str(tmp_path))  # a directory


def test_outputs():
    assert tfstate.outputs(None) is None
    assert tfstate.outputs({"version": 4}) == {}
    with pytest.raises(tfstate.StateReadError, match="not a Terraform state"):
        tfstate.outputs([1])


def test_location():
    assert tfstate.location(local("/s/t.tfstate")) == "/s/t.tfstate"
    assert tfstate.location({"type": "s3", "config": {"bucket": "b", "key": "e/c/s/terraform.tfstate"}}) == (
        "s3://b/e/c/s/terraform.tfstate")


def test_s3_unreachable_endpoint_is_a_read_error():
    env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    reader = tfstate.StateReader(endpoint_url="http://127.0.0.1:9", env=env, retries=0)
    with pytest.raises(tfstate.StateReadError, match="cannot read Terraform state s3://b/k"):
        reader.read({"type": "s3", "config": {"bucket": "b", "key": "k", "region": "eu-west-1"}})
