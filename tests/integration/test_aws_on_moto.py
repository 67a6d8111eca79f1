# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The AWS access layer (plugins/module_utils/_aws.py) against a real moto server over HTTP."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.apron.cluster.plugins.module_utils import _aws


def test_assume_role_on_moto(moto_endpoint, monkeypatch):
    monkeypatch.setattr(_aws, "_SESSIONS", {})
    session = _aws.make_session(region="eu-west-1", access_key="a", secret_key="b",
                                role_arn="arn:aws:iam::123456789012:role/apron", endpoint_url=moto_endpoint)
    credentials = session.get_credentials()
    assert credentials.access_key != "a" and credentials.token
    assert session.region_name == "eu-west-1"


def test_client_errors_become_aws_errors_on_moto(moto_endpoint):
    session = _aws.make_session(region="eu-west-1", access_key="a", secret_key="b")
    s3 = _aws.make_client(session, "s3", endpoint_url=moto_endpoint, retries=1, path_style=True)
    with pytest.raises(ClientError) as err:
        s3.head_bucket(Bucket="no-such-bucket-py13")
    error = _aws.translate(err.value, "bucket no-such-bucket-py13")
    assert error.code in ("404", "NoSuchBucket") and error.operation == "HeadBucket"
