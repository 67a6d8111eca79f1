# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The Terraform state reader (plugins/module_utils/_terraform_state.py) on S3: a real moto server over HTTP."""
from __future__ import annotations

import json

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _terraform_state as tfstate


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
