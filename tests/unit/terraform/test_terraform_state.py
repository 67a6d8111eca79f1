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


def test_s3_state_on_moto(moto_endpoint):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-west-1",
                      aws_access_key_id="a", aws_secret_access_key="b")
    s3.create_bucket(Bucket="py13-state", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="py13-state", Key="e/c/network/terraform.tfstate",
                  Body=json.dumps({"version": 4, "outputs": {"vpc": {"value": "v"}}}).encode())
    s3.put_object(Bucket="py13-state", Key="e/c/bad/terraform.tfstate", Body=b"{bad")
    env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    reader = tfstate.StateReader(env=env)

    def backend(key, bucket="py13-state"):
        return {"type": "s3", "config": {"bucket": bucket, "key": key, "region": "eu-west-1",
                                         "endpoints": {"s3": moto_endpoint}}}

    state, _reason = reader.read(backend("e/c/network/terraform.tfstate"))
    assert tfstate.outputs(state) == {"vpc": {"value": "v"}}
    assert reader.read(backend("e/c/tools/terraform.tfstate")) == (None, "no object (NoSuchKey)")
    assert reader.read(backend("k", bucket="py13-no-such-bucket")) == (None, "no object (NoSuchBucket)")
    with pytest.raises(tfstate.StateReadError, match="s3://py13-state/e/c/bad/terraform.tfstate is not valid JSON"):
        reader.read(backend("e/c/bad/terraform.tfstate"))
    assert reader.s3_calls == 4
    assert len(reader.clients) == 1          # one client for the same profile/region/endpoint


def test_s3_unreachable_endpoint_is_a_read_error():
    env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    reader = tfstate.StateReader(endpoint_url="http://127.0.0.1:9", env=env, retries=0)
    with pytest.raises(tfstate.StateReadError, match="cannot read Terraform state s3://b/k"):
        reader.read({"type": "s3", "config": {"bucket": "b", "key": "k", "region": "eu-west-1"}})
