# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The one Terraform state reader: a stack's state document from its backend settings
(``{"type": "local"|"s3", "config": {...}}`` as built by ``_stack_vars.backend_settings`` or the
module's ``backend`` option), for ``terraform_stack`` (have the earlier stacks been applied?) and for
the inventory plugin's terraform discovery backend (the ``instances`` output).

- local: the file at ``config.path``; a missing or empty file is "no state" (None), unreadable or
  invalid JSON is a :class:`StateReadError`;
- s3: ``GetObject`` of ``config.bucket``/``config.key`` through the AWS access layer
  (``_aws.py``: session from profile / keys / role, retries, one error type); a missing object or
  bucket is "no state" (None), any other failure a :class:`StateReadError`.

The AWS layer (and with it boto3, ~0.4 s) is imported on the first S3 read only: local states need
neither. Reading never changes anything and never takes Terraform's lock (a state is written atomically).
"""
from __future__ import annotations

import json

MISSING_S3 = ("NoSuchKey", "NoSuchBucket", "404", "NotFound")
# the AWS variables terraform gets through terraform_stack's env option, mapped to make_session's arguments
_ENV_CREDENTIALS = (("AWS_ACCESS_KEY_ID", "access_key"), ("AWS_SECRET_ACCESS_KEY", "secret_key"),
                    ("AWS_SESSION_TOKEN", "session_token"), ("AWS_PROFILE", "profile"))


class StateReadError(Exception):
    """A state exists but cannot be read or parsed."""

    def __init__(self, msg):
        super(StateReadError, self).__init__(msg)
        self.msg = msg


def location(backend):
    """Where a state lives, for messages: the file path or ``s3://bucket/key``."""
    config = backend["config"]
    if backend["type"] == "local":
        return config["path"]
    return "s3://%s/%s" % (config.get("bucket"), config.get("key"))


def parse(raw, where):
    """The parsed state document of ``raw`` (bytes or str), None when it is empty."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StateReadError("Terraform state %s is not valid JSON: %s" % (where, exc))
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise StateReadError("Terraform state %s is not valid JSON: %s" % (where, exc))


def read_local(path):
    """The parsed state at ``path``, or None when there is none."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return None
    except (IOError, OSError) as exc:
        raise StateReadError("cannot read Terraform state %s: %s" % (path, exc))
    return parse(raw, path)


def outputs(state):
    """``outputs`` of a state document ({} when it has none), None when there is no state."""
    if state is None:
        return None
    if not isinstance(state, dict):
        raise StateReadError("not a Terraform state (expected a JSON object)")
    return state.get("outputs") or {}


class StateReader(object):
    """Reads states; keeps one S3 client per (profile, region, endpoint) and counts the S3 calls.

    ``profile`` / ``endpoint_url`` given here win over the backend config's ``profile`` /
    ``endpoints.s3``; ``env`` supplies credentials the way Terraform gets them (AWS_ACCESS_KEY_ID ...).
    """

    def __init__(self, profile=None, endpoint_url=None, env=None, retries=5):
        self.profile = profile
        self.endpoint_url = endpoint_url
        self.env = env or {}
        self.retries = retries
        self.clients = {}
        self.s3_calls = 0

    def _client(self, config, _aws):
        credentials = dict((arg, self.env[var]) for var, arg in _ENV_CREDENTIALS if self.env.get(var))
        profile = self.profile or config.get("profile") or credentials.pop("profile", None)
        credentials.pop("profile", None)
        endpoint = self.endpoint_url or (config.get("endpoints") or {}).get("s3")
        region = config.get("region") or "us-east-1"
        role_arn = (config.get("assume_role") or {}).get("role_arn")
        key = (profile, region, endpoint, role_arn, tuple(sorted(credentials.items())))
        if key not in self.clients:
            session = _aws.make_session(profile=profile, region=region, role_arn=role_arn,
                                        endpoint_url=(config.get("endpoints") or {}).get("sts"), **credentials)
            self.clients[key] = _aws.make_client(session, "s3", region=region, endpoint_url=endpoint,
                                                 retries=self.retries, path_style=bool(endpoint))
        return self.clients[key]

    def read_s3(self, config):
        """(parsed state or None, the error code when the object or bucket is missing)."""
        from ansible_collections.apron.cluster.plugins.module_utils import _aws

        where = "s3://%s/%s" % (config.get("bucket"), config.get("key"))
        try:
            client = self._client(config, _aws)
            self.s3_calls += 1
            body = client.get_object(Bucket=config["bucket"], Key=config["key"])["Body"].read()
        except _aws.AwsError as exc:
            raise StateReadError("cannot read Terraform state %s: %s" % (where, exc.msg))
        except (_aws.ClientError, _aws.BotoCoreError) as exc:
            error = _aws.translate(exc)
            if error.code in MISSING_S3:
                return None, error.code
            raise StateReadError("cannot read Terraform state %s: %s" % (where, error.msg))
        return parse(body, where), None

    def read(self, backend):
        """(parsed state or None, why there is none: 'no state file' / 'no object (<code>)')."""
        if backend["type"] == "local":
            return read_local(backend["config"]["path"]), "no state file"
        state, code = self.read_s3(backend["config"])
        return state, "no object (%s)" % code
