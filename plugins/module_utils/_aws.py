# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""boto3 helpers shared by the AWS modules: connection options, clients, retries, error handling.

Modeled on amazon.aws' module_utils (AnsibleAWSModule, AWSRetry, fail_json_aws) but kept small
and dependency-free so the modules stay Python 3.8 compatible and testable against moto.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import boto3
    import botocore
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through fail_json
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

    class ClientError(Exception):  # type: ignore[no-redef]
        pass

    class BotoCoreError(Exception):  # type: ignore[no-redef]
        pass

# Error codes that mean "try again later" (throttling) or a transient server-side failure.
THROTTLING_CODES = frozenset([
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
])
TRANSIENT_CODES = frozenset([
    "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
    "ServiceUnavailable", "ServiceUnavailableException", "OperationAborted",
])
RETRYABLE_STATUS = frozenset([500, 502, 503, 504])


def aws_argument_spec():
    """The connection options documented in doc_fragments/aws.py."""
    return dict(
        region=dict(type="str", aliases=["aws_region"]),
        profile=dict(type="str", aliases=["aws_profile"]),
        endpoint_url=dict(type="str", aliases=["aws_endpoint_url"]),
        access_key=dict(type="str", aliases=["aws_access_key_id", "aws_access_key"], no_log=False),
        secret_key=dict(type="str", aliases=["aws_secret_access_key", "aws_secret_key"], no_log=True),
        session_token=dict(type="str", aliases=["aws_session_token"], no_log=True),
        validate_certs=dict(type="bool", default=True),
        retries=dict(type="int", default=8),
    )


AWS_MUTUALLY_EXCLUSIVE = [["profile", "access_key"], ["profile", "secret_key"], ["profile", "session_token"]]
AWS_REQUIRED_TOGETHER = [["access_key", "secret_key"]]


def error_code(exc):
    """The AWS error code of a botocore ClientError, '' otherwise."""
    response = getattr(exc, "response", None) or {}
    return (response.get("Error") or {}).get("Code") or ""


def error_status(exc):
    response = getattr(exc, "response", None) or {}
    return (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")


def is_retryable(exc):
    """True for throttling and transient errors (ClientError codes, 5xx, connection problems)."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        return code in THROTTLING_CODES or code in TRANSIENT_CODES or error_status(exc) in RETRYABLE_STATUS
    if HAS_BOTO3 and isinstance(exc, (botocore.exceptions.ConnectionError,
                                      botocore.exceptions.ReadTimeoutError)):
        return True
    return False


def backoff_delays(tries, base=0.5, cap=20.0, rng=None):
    """'Full jitter' exponential backoff: delay n is uniform in [0, min(cap, base * 2**n)]."""
    rng = rng or random
    return [rng.uniform(0, min(cap, base * (2 ** attempt))) for attempt in range(max(tries, 0))]


def call_with_retries(func, *args, **kwargs):
    """Call ``func`` retrying throttling/transient errors with jittered exponential backoff.

    Keyword-only controls (stripped before the call): ``_retries`` (default 8), ``_base`` (0.5s),
    ``_cap`` (20s), ``_sleep`` (time.sleep), ``_retry_codes`` (extra codes to retry, e.g.
    ResourceInUseException while a table is being created).
    """
    retries = kwargs.pop("_retries", 8)
    base = kwargs.pop("_base", 0.5)
    cap = kwargs.pop("_cap", 20.0)
    sleep = kwargs.pop("_sleep", time.sleep)
    extra = frozenset(kwargs.pop("_retry_codes", ()))
    delays = backoff_delays(retries, base, cap)
    attempt = 0
    while True:
        try:
            return func(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            retry = is_retryable(exc) or (isinstance(exc, ClientError) and error_code(exc) in extra)
            if not retry or attempt >= len(delays):
                raise
            sleep(delays[attempt])
            attempt += 1


class RetryingClient(object):
    """Wraps a boto3 client: every API method call goes through call_with_retries."""

    def __init__(self, client, retries=8, sleep=None):
        self.client = client
        self._retries = retries
        self._sleep = sleep or time.sleep

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if not callable(attr) or name.startswith("_") or name in ("get_paginator", "get_waiter", "can_paginate"):
            return attr

        def wrapper(*args, **kwargs):
            kwargs.setdefault("_retries", self._retries)
            kwargs.setdefault("_sleep", self._sleep)
            return call_with_retries(attr, *args, **kwargs)
        return wrapper


def check_boto3(module):
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3 and botocore"), exception=BOTO3_IMPORT_ERROR)


def session_from_params(params):
    """A boto3 Session from the connection options (explicit keys > profile > default chain)."""
    kwargs = {}
    if params.get("profile"):
        kwargs["profile_name"] = params["profile"]
    if params.get("access_key"):
        kwargs["aws_access_key_id"] = params["access_key"]
        kwargs["aws_secret_access_key"] = params.get("secret_key")
        if params.get("session_token"):
            kwargs["aws_session_token"] = params["session_token"]
    if params.get("region"):
        kwargs["region_name"] = params["region"]
    return boto3.session.Session(**kwargs)


def client(module, service, session=None):
    """A retrying boto3 client for ``service``; fails the module cleanly on configuration errors."""
    check_boto3(module)
    params = module.params
    try:
        session = session or session_from_params(params)
        if not session.region_name:
            module.fail_json(msg="region: not set: expected the region option or AWS_REGION/AWS_DEFAULT_REGION "
                                 "or a profile with a region")
        # botocore's own retries are off: call_with_retries does jittered backoff with the module's count.
        config = Config(retries={"max_attempts": 1, "mode": "standard"},
                        user_agent_extra="apron.cluster")
        raw = session.client(service, endpoint_url=params.get("endpoint_url") or None,
                             verify=params.get("validate_certs", True), config=config)
    except (BotoCoreError, ClientError, ValueError) as exc:
        fail_json_aws(module, exc, msg="cannot create the %s client" % service)
    return RetryingClient(raw, retries=params.get("retries", 8))


def fail_json_aws(module, exc, msg=None, **result):
    """The one place turning a botocore error into fail_json: message, operation, error code."""
    code = error_code(exc)
    operation = getattr(exc, "operation_name", None)
    parts = [msg] if msg else []
    if operation:
        parts.append("%s failed" % operation)
    if code:
        parts.append("%s: %s" % (code, (exc.response.get("Error") or {}).get("Message", "")))
    else:
        parts.append(str(exc))
    result.update(
        msg=": ".join(p for p in parts if p),
        error=dict(code=code or None, operation=operation, message=str(exc)),
        exception=traceback.format_exc(),
    )
    response = getattr(exc, "response", None)
    if response:
        result["response_metadata"] = response.get("ResponseMetadata")
    module.fail_json(**result)
