# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The AWS access layer (plugins/module_utils/_aws.py): sessions, clients, error translation."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, NoRegionError

from ansible_collections.apron.cluster.plugins.module_utils import _aws


def client_error(code, status=400, operation="GetObject", message=None):
    return ClientError({"Error": {"Code": code, "Message": message or "m-" + code},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def test_translate_names_operation_code_and_message():
    error = _aws.translate(client_error("AccessDenied", 403), "bucket b")
    assert isinstance(error, _aws.AwsError)
    assert error.msg == "bucket b: GetObject failed: AccessDenied: m-AccessDenied"
    assert (error.code, error.operation, error.status) == ("AccessDenied", "GetObject", 403)
    assert error.to_dict() == {"code": "AccessDenied", "operation": "GetObject", "message": error.msg}


def test_translate_botocore_error_without_code():
    error = _aws.translate(NoRegionError(), "cannot create the s3 client")
    assert error.code is None and error.operation is None
    assert error.msg.startswith("cannot create the s3 client: ") and "region" in error.msg


def test_translate_keeps_an_aws_error_and_prefixes_once():
    first = _aws.AwsError("GetObject failed: X: y", code="X", operation="GetObject")
    assert _aws.translate(first) is first
    again = _aws.translate(first, "state s3://b/k")
    assert again.msg == "state s3://b/k: GetObject failed: X: y" and again.code == "X"
    assert _aws.translate(again, "state s3://b/k") is again


def test_is_error_code():
    assert _aws.is_error_code(client_error("NoSuchKey"), ("NoSuchKey", "404"))
    assert not _aws.is_error_code(client_error("AccessDenied"), ("NoSuchKey",))
    assert _aws.is_error_code(_aws.AwsError("x", code="NoSuchKey"), ("NoSuchKey",))
    assert not _aws.is_error_code(ValueError("NoSuchKey"), ("NoSuchKey",))


def test_make_session_caches_without_explicit_keys(monkeypatch):
    monkeypatch.setattr(_aws, "_SESSIONS", {})
    one = _aws.make_session(region="eu-west-1")
    assert _aws.make_session(region="eu-west-1") is one
    assert _aws.make_session(region="eu-central-1") is not one
    keyed = _aws.make_session(region="eu-west-1", access_key="AKIA", secret_key="s")
    assert keyed is not one and _aws.make_session(region="eu-west-1", access_key="AKIA", secret_key="s") is not keyed
    assert keyed.get_credentials().access_key == "AKIA"


def test_make_session_unknown_profile_is_an_aws_error(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(_aws.AwsError) as err:
        _aws.make_session(profile="no-such-profile", cache=False)
    assert "AWS session (profile 'no-such-profile')" in err.value.msg


def test_make_client_needs_a_region(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    session = _aws.make_session(cache=False)
    with pytest.raises(_aws.AwsError, match="region: not set"):
        _aws.make_client(session, "s3")


def test_make_client_retrying_or_botocore_retries():
    session = _aws.make_session(region="eu-west-1", access_key="a", secret_key="b")
    wrapped = _aws.make_client(session, "s3", endpoint_url="http://127.0.0.1:1", retries=3, path_style=True)
    assert isinstance(wrapped, _aws.RetryingClient) and wrapped._retries == 3
    assert wrapped.client.meta.config.retries["total_max_attempts"] == 2
    assert wrapped.client.meta.config.s3 == {"addressing_style": "path"}
    assert wrapped.client.meta.endpoint_url == "http://127.0.0.1:1"
    raw = _aws.make_client(session, "ec2", region="eu-central-1", retries=8, botocore_retries=True)
    assert not isinstance(raw, _aws.RetryingClient)
    assert raw.meta.config.retries["total_max_attempts"] == 9 and raw.meta.region_name == "eu-central-1"
