# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The retry/backoff and error helpers of plugins/module_utils/_aws.py (no network)."""
from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ansible_collections.apron.cluster.plugins.module_utils import _aws


def client_error(code, status=400, operation="PutBucketVersioning"):
    return ClientError({"Error": {"Code": code, "Message": "m-%s" % code},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


class Flaky:
    def __init__(self, errors, value="done"):
        self.errors = list(errors)
        self.calls = 0
        self.value = value

    def __call__(self, **kwargs):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return (self.value, kwargs)


def test_throttling_is_retried_with_growing_jittered_delays():
    slept = []
    func = Flaky([client_error("Throttling"), client_error("SlowDown", 503), client_error("InternalError", 500)])
    result = _aws.call_with_retries(func, Bucket="b", _retries=5, _sleep=slept.append, _base=0.1, _cap=10)
    assert result == ("done", {"Bucket": "b"})
    assert func.calls == 4 and len(slept) == 3
    assert all(0 <= d <= 0.1 * 2 ** i for i, d in enumerate(slept))


def test_gives_up_after_the_retry_budget():
    slept = []
    func = Flaky([client_error("ThrottlingException")] * 10)
    with pytest.raises(ClientError):
        _aws.call_with_retries(func, _retries=3, _sleep=slept.append)
    assert func.calls == 4 and len(slept) == 3


def test_non_retryable_errors_fail_at_once():
    slept = []
    func = Flaky([client_error("AccessDenied", 403)])
    with pytest.raises(ClientError):
        _aws.call_with_retries(func, _retries=5, _sleep=slept.append)
    assert func.calls == 1 and slept == []


def test_extra_retry_codes():
    slept = []
    func = Flaky([client_error("ResourceInUseException")])
    assert _aws.call_with_retries(func, _retry_codes=["ResourceInUseException"], _sleep=slept.append)[0] == "done"
    assert func.calls == 2


def test_connection_errors_are_retryable():
    assert _aws.is_retryable(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert not _aws.is_retryable(ValueError("x"))


def test_backoff_is_full_jitter_and_capped():
    delays = _aws.backoff_delays(12, base=0.5, cap=4, rng=random.Random(7))
    assert len(delays) == 12 and all(0 <= d <= 4 for d in delays)
    assert len(set(delays)) == 12, "jittered delays should differ"


def test_retrying_client_wraps_methods():
    slept = []

    class Raw:
        calls = 0

        def head_bucket(self, Bucket):
            Raw.calls += 1
            if Raw.calls < 3:
                raise client_error("RequestLimitExceeded", operation="HeadBucket")
            return {"Bucket": Bucket}

    wrapped = _aws.RetryingClient(Raw(), retries=4, sleep=slept.append)
    assert wrapped.head_bucket(Bucket="x") == {"Bucket": "x"}
    assert Raw.calls == 3 and len(slept) == 2


class FakeModule:
    def __init__(self):
        self.params = {}

    def fail_json(self, **kwargs):
        raise SystemExit(kwargs)


def test_fail_json_aws_names_operation_and_code():
    module = FakeModule()
    with pytest.raises(SystemExit) as exc:
        _aws.fail_json_aws(module, client_error("NoSuchBucket", 404, "GetBucketPolicy"), msg="bucket b")
    result = exc.value.args[0]
    assert result["msg"] == "bucket b: GetBucketPolicy failed: NoSuchBucket: m-NoSuchBucket"
    assert result["error"]["code"] == "NoSuchBucket" and result["error"]["operation"] == "GetBucketPolicy"


def test_argument_spec_hides_secrets():
    spec = _aws.aws_argument_spec()
    assert spec["secret_key"]["no_log"] is True and spec["session_token"]["no_log"] is True
