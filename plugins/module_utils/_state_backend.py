# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""state_backend: the run (KMS key, then bucket, then lock table; or their removal), the settings
taken from the cluster model, and the Terraform backend configuration of every stack.

The parts, one responsibility per file: ``_state_backend_kms.py`` (the key),
``_state_backend_s3.py`` (the bucket), ``_state_backend_lock_table.py`` (the DynamoDB table),
``_state_backend_common.py`` (the domain error and the check-mode recorder). AWS access through
``_aws.py``. Everything raises :class:`StateBackendError` or an AWS error; the module turns both
into ``fail_json`` in one place.
"""
from __future__ import annotations

import os
import re

from ansible_collections.apron.cluster.plugins.module_utils import _aws
from ansible_collections.apron.cluster.plugins.module_utils import _stack_vars as sv
from ansible_collections.apron.cluster.plugins.module_utils._state_backend_common import Recorder, StateBackendError
from ansible_collections.apron.cluster.plugins.module_utils._state_backend_kms import StateKey
from ansible_collections.apron.cluster.plugins.module_utils._state_backend_lock_table import LockTable
from ansible_collections.apron.cluster.plugins.module_utils._state_backend_s3 import StateBucket

__all__ = ["Recorder", "StateBackendError", "check_params", "model_settings", "apply_model", "backend_configs", "connect", "run"]

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# the options a model can set, in the order conflicts are reported
MODEL_OPTIONS = ("bucket", "lock_table", "kms_key", "create_kms_key", "region", "endpoint_url", "profile",
                 "enforce_tls", "environment")
# defaults of the options whose argspec default is None (so that an explicit value can be told from none)
DEFAULTS = {"create_kms_key": False, "enforce_tls": True}


# ------------------------------------------------------------------------------------- settings

def model_settings(model, cluster_name):
    """The state backend settings of ``cluster_name``'s environment: ``(settings, None)``, or
    ``(None, reason)`` when the environment has no S3 backend to manage (local provider/backend).

    Backend values come from ``_stack_vars.backend_settings`` (their one owner); the rest follows
    from them: a KMS alias is created when missing, the TLS-only policy is left out for a plain-HTTP
    endpoint (an emulator: it would deny every write there)."""
    try:
        _cluster, environment, provider = sv.cluster_context(model, cluster_name)
        env_name = sv.resource_name(environment)
        provider_type = (getattr(provider, "effective", None) or {}).get("type")
        state = (getattr(environment, "effective", None) or {}).get("state") or {}
        backend = state.get("backend") or "local"
        if provider_type != "amazon" or backend != "s3":
            return None, ("Environment %s keeps its Terraform state in the %s backend (provider type %s): "
                          "no S3 bucket, lock table or KMS key to manage" % (env_name, backend, provider_type))
        config = sv.backend_settings(model, cluster_name, "state", base_dir=os.getcwd())["config"]
    except sv.StackVarsError as exc:
        raise StateBackendError("model: %s" % exc)
    endpoint = (config.get("endpoints") or {}).get("s3")
    kms_key = config.get("kms_key_id")
    settings = {
        "bucket": config["bucket"],
        "lock_table": config.get("dynamodb_table"),
        "kms_key": kms_key,
        "create_kms_key": bool(kms_key and kms_key.startswith("alias/")),
        "region": config.get("region"),
        "endpoint_url": endpoint,
        "profile": config.get("profile"),
        "enforce_tls": not (endpoint or "").startswith("http://"),
        "environment": env_name,
        "role_arn": (config.get("assume_role") or {}).get("role_arn"),
        "tags": {"apron.io/environment": env_name},
    }
    return settings, None


def apply_model(params, settings, where):
    """``params`` completed with the model's ``settings``. An option given explicitly that the model
    also sets to another value is an error naming both; an option the model leaves empty keeps
    the explicit value."""
    merged = dict(params)
    conflicts = []
    for option in MODEL_OPTIONS:
        wanted = settings.get(option)
        given = params.get(option)
        if wanted is None:
            continue
        if given is not None and given != wanted:
            conflicts.append("%s=%r (option) but the model %s gives %r" % (option, given, where, wanted))
        merged[option] = wanted
    if conflicts:
        raise StateBackendError("%s: expected each option to be left out or equal to the model's value"
                                % "; ".join(conflicts))
    tags = dict(settings.get("tags") or {})
    for key, value in (params.get("tags") or {}).items():
        if key in tags and str(tags[key]) != str(value):
            raise StateBackendError("tags[%r]=%r (option) but the model %s gives %r: expected the option to leave "
                                    "it out" % (key, value, where, tags[key]))
        tags[key] = value
    merged["tags"] = tags
    merged["role_arn"] = settings.get("role_arn")
    return merged


def check_params(params):
    """Defaults, then the names and the options a state needs; raises StateBackendError."""
    params = dict(params)
    for option, default in DEFAULTS.items():
        if params.get(option) is None:
            params[option] = default
    params["tags"] = params.get("tags") or {}
    for option in ("bucket", "lock_table"):
        if not params.get(option):
            raise StateBackendError("%s: not set: expected the option, or model and cluster naming an environment "
                                    "with the s3 state backend" % option)
    if params["state"] == "present" and not params.get("kms_key"):
        raise StateBackendError("kms_key: not set: expected a KMS key alias, ID or ARN with state=present")
    bucket = params["bucket"]
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        raise StateBackendError("bucket: %r: expected an S3 bucket name of 3 to 63 lowercase letters, digits, '.' "
                                "and '-', starting and ending with a letter or digit" % bucket)
    if not TABLE_NAME.match(params["lock_table"]):
        raise StateBackendError("lock_table: %r: expected a DynamoDB table name of 3 to 255 letters, digits, "
                                "'_', '-' and '.'" % params["lock_table"])
    return params


def backend_configs(params, region):
    """Stack name -> Terraform s3 backend configuration (key ``<environment>/<cluster>/<stack>/terraform.tfstate``),
    or None without environment and cluster."""
    if not (params.get("environment") and params.get("cluster")):
        return None
    result = {}
    for stack in sv.STACKS:
        config = {"bucket": params["bucket"], "key": sv.state_key(params["environment"], params["cluster"], stack),
                  "region": region, "encrypt": True, "dynamodb_table": params["lock_table"],
                  "kms_key_id": params["kms_key"]}
        if params.get("endpoint_url"):
            config.update(sv.s3_endpoint_settings(params["endpoint_url"]))
        result[stack] = config
    return result


# ------------------------------------------------------------------------------------- the run

def connect(params):
    """``{"s3": ..., "dynamodb": ..., "kms": ...}`` retrying clients from the connection options."""
    session = _aws.make_session(profile=params.get("profile"), region=params.get("region"),
                                access_key=params.get("access_key"), secret_key=params.get("secret_key"),
                                session_token=params.get("session_token"), role_arn=params.get("role_arn"),
                                endpoint_url=params.get("endpoint_url"), cache=False)
    return dict((service, _aws.make_client(session, service, endpoint_url=params.get("endpoint_url"),
                                           validate_certs=params.get("validate_certs", True),
                                           retries=params.get("retries", 8)))
                for service in ("s3", "dynamodb", "kms"))


def run(params, clients, recorder, diff=False):
    """Ensure (state=present) or remove (state=absent) the backend; returns the module result."""
    region = clients["s3"].client.meta.region_name
    bucket = StateBucket(clients["s3"], recorder, params, region)
    table = LockTable(clients["dynamodb"], recorder, params)
    result = {}
    if params["state"] == "present":
        kms_arn, kms_names, kms_before, kms_after = StateKey(clients["kms"], recorder, params).ensure()
        bucket_before, bucket_after = bucket.ensure(kms_arn, kms_names)
        table_before, table_after = table.ensure()
        before = {"bucket": bucket_before, "lock_table": table_before, "kms_key": kms_before}
        after = {"bucket": bucket_after, "lock_table": table_after, "kms_key": kms_after}
        result["kms_key_arn"] = kms_arn
        backend = backend_configs(params, region)
        if backend is not None:
            result["backend"] = backend
    else:
        bucket_state, versions = bucket.check_deletable()
        table_before, table_after = table.delete()
        bucket_before, bucket_after = bucket.delete(bucket_state, versions)
        before = {"bucket": bucket_before, "lock_table": table_before}
        after = {"bucket": bucket_after, "lock_table": table_after}
    result.update(changed=recorder.changed, actions=recorder.actions, bucket=after["bucket"],
                  lock_table=after["lock_table"])
    if diff:
        header = "s3://%s + dynamodb:%s" % (params["bucket"], params["lock_table"])
        result["diff"] = {"before": before, "after": after, "before_header": header, "after_header": header}
    return result
