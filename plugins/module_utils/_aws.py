# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The one AWS access layer of the collection: used by the modules (state_backend, state_lock), by
terraform_stack's state reader and by the inventory plugin's discovery backends alike.

- :func:`make_session`: a boto3 Session from profile / explicit keys / role to assume / region
  (sessions without explicit keys are cached for the life of the process: an inventory refresh or
  several sources load botocore's service models once);
- :func:`make_client`: a client for a service with an endpoint (moto, S3-compatible stores), path-style
  addressing, and retries: :class:`RetryingClient` (jittered exponential backoff on throttling and
  transient errors, :func:`call_with_retries`) or botocore's own standard mode for paginators;
- :func:`translate`: any botocore error -> :class:`AwsError`, the one domain error (message, code,
  operation), which a module turns into ``fail_json`` in one place (:func:`fail_json_aws`) and a
  plugin into its own error type.

Modeled on amazon.aws' ``module_utils/botocore.py`` (``boto3_conn``, ``is_boto3_error_code``),
``module_utils/retries.py`` (``AWSRetry``) and ``plugin_utils/base.py`` (one client factory for
plugins), but kept small and dependency-free so the modules stay Python 3.8 compatible and
testable against moto. Module adapters: :func:`aws_argument_spec`, :func:`client`,
:func:`fail_json_aws`.
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

USER_AGENT = "apron.cluster"
_SESSIONS = {}


class AwsError(Exception):
    """The domain error of every AWS call: ``msg`` (what failed, and why), ``code`` (the AWS error code
    or None), ``operation`` (the API operation or None)."""

    def __init__(self, msg, code=None, operation=None, status=None):
        super(AwsError, self).__init__(msg)
        self.msg = msg
        self.code = code or None
        self.operation = operation
        self.status = status

    def to_dict(self):
        return dict(code=self.code, operation=self.operation, message=self.msg)


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


def is_error_code(exc, codes):
    """True when ``exc`` is a ClientError (or an AwsError) whose code is one of ``codes``."""
    if isinstance(exc, AwsError):
        return exc.code in codes
    return isinstance(exc, ClientError) and error_code(exc) in codes


def translate(exc, msg=None):
    """A botocore error (ClientError, BotoCoreError) or a configuration error -> :class:`AwsError`
    whose message is ``<msg>: <Operation> failed: <Code>: <AWS message>``."""
    if isinstance(exc, AwsError):
        if msg and not exc.msg.startswith(msg):
            return AwsError("%s: %s" % (msg, exc.msg), exc.code, exc.operation, exc.status)
        return exc
    code = error_code(exc)
    operation = getattr(exc, "operation_name", None)
    parts = [msg] if msg else []
    if operation:
        parts.append("%s failed" % operation)
    if code:
        parts.append("%s: %s" % (code, (exc.response.get("Error") or {}).get("Message", "")))
    else:
        parts.append(str(exc))
    return AwsError(": ".join(p for p in parts if p), code, operation, error_status(exc))


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


def require_boto3(what="apron.cluster's AWS access"):
    """Raise AwsError when boto3/botocore cannot be imported."""
    if not HAS_BOTO3:
        raise AwsError("%s requires the Python libraries boto3 and botocore (pip install boto3)" % what)


def check_boto3(module):
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3 and botocore"), exception=BOTO3_IMPORT_ERROR)


def make_session(profile=None, region=None, access_key=None, secret_key=None, session_token=None,
                 role_arn=None, role_session_name=USER_AGENT, endpoint_url=None, cache=True):
    """A boto3 Session: explicit keys > profile > the default chain; with ``role_arn`` the role is
    assumed (STS AssumeRole, at ``endpoint_url`` when given) and the session holds its temporary
    credentials. Sessions without explicit keys are cached per (profile, region, role). Raises AwsError."""
    require_boto3()
    key = None
    if cache and not access_key:
        key = (profile or "", region or "", role_arn or "", endpoint_url or "" if role_arn else "")
        if key in _SESSIONS:
            return _SESSIONS[key]
    kwargs = {}
    if profile:
        kwargs["profile_name"] = profile
    if access_key:
        kwargs["aws_access_key_id"] = access_key
        kwargs["aws_secret_access_key"] = secret_key
        if session_token:
            kwargs["aws_session_token"] = session_token
    if region:
        kwargs["region_name"] = region
    try:
        session = boto3.session.Session(**kwargs)
        if role_arn:
            sts = make_client(session, "sts", endpoint_url=endpoint_url, region=region or session.region_name)
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=role_session_name)["Credentials"]
            session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                            aws_secret_access_key=creds["SecretAccessKey"],
                                            aws_session_token=creds["SessionToken"],
                                            region_name=region or session.region_name)
    except (BotoCoreError, ClientError) as exc:
        what = "profile %r" % profile if profile else "the default credential chain"
        if role_arn:
            what += ", role %s" % role_arn
        raise translate(exc, "AWS session (%s)" % what)
    if key is not None:
        _SESSIONS[key] = session
    return session


def make_client(session, service, region=None, endpoint_url=None, validate_certs=True, retries=8,
                path_style=False, botocore_retries=False, user_agent=USER_AGENT):
    """A client for ``service``. By default a :class:`RetryingClient` (botocore's own retries off,
    :func:`call_with_retries` does jittered backoff ``retries`` times); with ``botocore_retries`` the raw
    client with botocore's standard retry mode (``retries`` attempts), for paginators. Raises AwsError."""
    require_boto3()
    region = region or session.region_name
    if not region:
        raise AwsError("region: not set: expected the region option or AWS_REGION/AWS_DEFAULT_REGION "
                       "or a profile with a region")
    attempts = max(int(retries), 1) if botocore_retries else 1
    options = dict(retries={"max_attempts": attempts, "mode": "standard"}, user_agent_extra=user_agent)
    if path_style:
        options["s3"] = {"addressing_style": "path"}
    try:
        raw = session.client(service, region_name=region, endpoint_url=endpoint_url or None,
                             verify=validate_certs, config=Config(**options))
    except (BotoCoreError, ClientError, ValueError) as exc:
        raise translate(exc, "cannot create the %s client" % service)
    if botocore_retries:
        return raw
    return RetryingClient(raw, retries=retries)


def session_from_params(params):
    """A boto3 Session from the module's connection options (explicit keys > profile > default chain)."""
    return make_session(profile=params.get("profile"), region=params.get("region"),
                        access_key=params.get("access_key"), secret_key=params.get("secret_key"),
                        session_token=params.get("session_token"), cache=False)


def client(module, service, session=None):
    """A retrying boto3 client for ``service`` from the module's options; fails the module cleanly on
    configuration errors (the adapter between AnsibleModule and :func:`make_client`)."""
    check_boto3(module)
    params = module.params
    try:
        session = session or session_from_params(params)
        return make_client(session, service, endpoint_url=params.get("endpoint_url"),
                           validate_certs=params.get("validate_certs", True), retries=params.get("retries", 8))
    except AwsError as exc:
        fail_json_aws(module, exc)


def fail_json_aws(module, exc, msg=None, **result):
    """The one place turning an AWS error (AwsError or a botocore error) into fail_json: message,
    operation, error code."""
    error = translate(exc, msg)
    result.update(msg=error.msg, error=error.to_dict(), exception=traceback.format_exc())
    if not isinstance(exc, AwsError):
        result["error"]["message"] = str(exc)
    response = getattr(exc, "response", None)
    if response:
        result["response_metadata"] = response.get("ResponseMetadata")
    module.fail_json(**result)
