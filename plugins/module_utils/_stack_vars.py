# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The resolved model -> a stack's Terraform variables and backend settings (docs/architecture.md).

Pure functions over the model API (``model.clusters/.environments/.providers/.pools``, each a
``Resource`` with ``.name`` and ``.effective``). Python 3.8 syntax (module_utils).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re

from ansible_collections.apron.cluster.plugins.module_utils import _model_defaults as _defaults

# The stacks in apply order; destroy runs them in reverse.
STACKS = ("state", "network", "tools", "vault", "kubernetes")
# Every stack of both providers declares exactly these variables (type any).
STACK_VARIABLE_NAMES = ("apron_provider", "apron_environment", "apron_cluster", "apron_instance_pools",
                        "apron_remote_state", "apron_ssh_public_keys")
STACK_VARIABLES = dict((stack, frozenset(STACK_VARIABLE_NAMES)) for stack in STACKS)
# Which pool roles each stack creates.
STACK_ROLES = {
    # The state stack owns the persistent data volumes of the stateful pools (amazon: EBS).
    "state": ("etcd", "vault"),
    "network": (),
    "tools": ("bastion",),
    "vault": ("vault",),
    "kubernetes": ("etcd", "master", "worker"),
}
# In multi-cluster environments these stacks exist once, in the hub cluster.
SHARED_STACKS = ("tools", "vault")
AMAZON_SIZES = {"tiny": "t3.small", "small": "t3.medium", "medium": "m5.large", "large": "m5.xlarge"}
# The model's local-provider defaults (one owner: _model_defaults), in the stacks' spelling.
LOCAL_PROVIDER_DEFAULTS = {
    "image": _defaults.PROVIDER["local"]["image"],
    "ssh_port": _defaults.PROVIDER["local"]["sshPort"],
    "ssh_user": _defaults.PROVIDER["local"]["sshUser"],
}
# Keys whose sub-keys are user data (label names, zone names ...) and keep their spelling.
_VERBATIM_KEYS = ("labels", "annotations", "tags", "private_subnet_ids", "public_subnet_ids", "node_selector")


class StackVarsError(Exception):
    """The model does not allow computing the stack's variables (unknown cluster, stack ...)."""


# Acronyms spelled as one word (longest first): adminCIDRs -> admin_cidrs, sizeGiB -> size_gib.
_ACRONYMS = (("CIDRs", "Cidrs"), ("CIDR", "Cidr"), ("OIDC", "Oidc"), ("URLs", "Urls"), ("URL", "Url"),
             ("IDs", "Ids"), ("ID", "Id"), ("VPC", "Vpc"), ("ARN", "Arn"), ("GiB", "Gib"), ("KMS", "Kms"),
             ("API", "Api"), ("DNS", "Dns"), ("SSH", "Ssh"), ("IP", "Ip"))


def snake(name):
    """camelCase -> snake_case (``vpcCIDR`` -> ``vpc_cidr``, ``kubernetesVersion`` -> ``kubernetes_version``)."""
    text = str(name)
    for acronym, word in _ACRONYMS:
        text = text.replace(acronym, word)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return text.lower()


def snake_keys(value):
    """Recursively snake_case dict keys, except below keys that hold user data (labels, tags ...)."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            new_key = snake(key)
            result[new_key] = copy.deepcopy(item) if new_key in _VERBATIM_KEYS else snake_keys(item)
        return result
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


def resource_name(resource):
    for attr in ("name",):
        name = getattr(resource, attr, None)
        if isinstance(name, str) and name:
            return name
    metadata = getattr(resource, "metadata", None) or {}
    if isinstance(metadata, dict) and metadata.get("name"):
        return metadata["name"]
    raise StackVarsError("model resource %r has no name" % (resource,))


def _effective(resource):
    return copy.deepcopy(getattr(resource, "effective", None) or {})


def _lookup(mapping, name, kind):
    if name not in mapping:
        known = ", ".join(sorted(mapping)) or "none"
        raise StackVarsError("%s %r is not in the model (known: %s)" % (kind, name, known))
    return mapping[name]


def cluster_context(model, cluster_name):
    """(cluster, environment, provider) resources of a cluster."""
    cluster = _lookup(model.clusters, cluster_name, "Cluster")
    env_name = _effective(cluster).get("environment")
    environment = _lookup(model.environments, env_name, "Environment")
    provider = _lookup(model.providers, _effective(environment).get("provider"), "Provider")
    return cluster, environment, provider


def check_stack(stack):
    if stack not in STACKS:
        raise StackVarsError("unknown stack %r: expected one of %s" % (stack, ", ".join(STACKS)))


def hub_name(model, cluster_name):
    """The hub cluster of a multi-cluster environment (None in single mode)."""
    _cluster, environment, _provider = cluster_context(model, cluster_name)
    env = _effective(environment)
    if env.get("mode") != "multi":
        return None
    if env.get("hub"):
        return env["hub"]
    for name, res in model.clusters.items():
        spec = _effective(res)
        if spec.get("environment") == resource_name(environment) and spec.get("type") == "hub":
            return name
    return None


def stack_owner(model, cluster_name, stack):
    """The cluster whose ``stack`` serves ``cluster_name`` (the hub for shared stacks in multi mode)."""
    check_stack(stack)
    hub = hub_name(model, cluster_name)
    if stack in SHARED_STACKS and hub and hub != cluster_name:
        return hub
    return cluster_name


def cluster_stacks(model, cluster_name):
    """[(stack, owner cluster)] in apply order; a non-hub cluster's shared stacks belong to the hub."""
    return [(stack, stack_owner(model, cluster_name, stack)) for stack in STACKS]


def earlier_stacks(stack):
    check_stack(stack)
    return list(STACKS[:STACKS.index(stack)])


def state_key(environment_name, cluster_name, stack):
    return "%s/%s/%s/terraform.tfstate" % (environment_name, cluster_name, stack)


def _provider_settings(provider):
    spec = snake_keys(_effective(provider))
    ptype = spec.get("type")
    settings = spec.get(ptype) if isinstance(spec.get(ptype), dict) else {}
    return ptype, settings


def state_dir(environment, base_dir, model_dir=None):
    """Local backend state directory: Environment.spec.state.path (relative to the model dir) or <base>/.apron/state."""
    state = _effective(environment).get("state") or {}
    path = state.get("path")
    if path:
        path = os.path.expanduser(path)
        if not os.path.isabs(path):
            path = os.path.join(model_dir or base_dir, path)
        return os.path.normpath(path)
    return os.path.join(base_dir, ".apron", "state")


def backend_settings(model, cluster_name, stack, base_dir, model_dir=None):
    """Backend of the state that serves ``cluster_name``'s ``stack``: ``{"type": ..., "config": {...}}``."""
    owner = stack_owner(model, cluster_name, stack)
    _cluster, environment, provider = cluster_context(model, cluster_name)
    env_name = resource_name(environment)
    state = _effective(environment).get("state") or {}
    backend = state.get("backend") or "local"
    if backend == "local":
        path = os.path.join(state_dir(environment, base_dir, model_dir), env_name, owner, stack, "terraform.tfstate")
        return {"type": "local", "config": {"path": path}}
    if backend != "s3":
        raise StackVarsError("Environment %s: state.backend %r: expected local or s3" % (env_name, backend))
    _ptype, settings = _provider_settings(provider)
    region = state.get("region") or (settings.get("regions") or [None])[0]
    if not state.get("bucket"):
        raise StackVarsError("Environment %s: state.bucket is required with the s3 backend" % env_name)
    config = {
        "bucket": state["bucket"],
        "key": state_key(env_name, owner, stack),
        "region": region,
        "encrypt": True,
    }
    if state.get("lockTable"):
        config["dynamodb_table"] = state["lockTable"]
    if state.get("kmsKeyAlias"):
        config["kms_key_id"] = state["kmsKeyAlias"]
    if settings.get("profile"):
        config["profile"] = settings["profile"]
    if settings.get("role_arn"):
        config["assume_role"] = {"role_arn": settings["role_arn"]}
    endpoint = state.get("endpointURL") or settings.get("endpoint_url")
    if endpoint:
        config.update(s3_endpoint_settings(endpoint))
    return {"type": "s3", "config": config}


def s3_endpoint_settings(endpoint_url):
    """s3 backend settings for an S3-compatible endpoint (the moto server in tests): path style, no STS/IMDS."""
    return {
        "endpoints": {"s3": endpoint_url, "dynamodb": endpoint_url, "sts": endpoint_url, "iam": endpoint_url},
        "use_path_style": True,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
    }


def remote_state_config(backend):
    """Backend settings -> the ``config`` map of a ``terraform_remote_state`` data source (read only)."""
    config = dict(backend["config"])
    for key in ("dynamodb_table", "use_lockfile", "kms_key_id"):
        config.pop(key, None)
    return config


def remote_state_for(model, cluster_name, stack, base_dir, model_dir=None):
    """``apron_remote_state``: backend type and the config of every earlier stack's state."""
    stacks = {}
    backend_type = None
    for earlier in earlier_stacks(stack):
        backend = backend_settings(model, cluster_name, earlier, base_dir, model_dir)
        backend_type = backend["type"]
        stacks[earlier] = remote_state_config(backend)
    if backend_type is None:
        backend_type = backend_settings(model, cluster_name, stack, base_dir, model_dir)["type"]
    return {"backend": backend_type, "stacks": stacks}


def _pool_vars(name, spec, provider_type):
    pool = snake_keys(spec)
    pool["name"] = name
    count = pool.get("count")
    if count is None:
        count = pool.get("min_count") if pool.get("min_count") is not None else pool.get("max_count")
    pool["count"] = count
    pool["min_count"] = pool.get("min_count") if pool.get("min_count") is not None else count
    pool["max_count"] = pool.get("max_count") if pool.get("max_count") is not None else count
    size = pool.get("size")
    if not pool.get("instance_type"):
        pool["instance_type"] = AMAZON_SIZES.get(size, size) if provider_type == "amazon" else size
    for key, default in (("zones", []), ("volumes", []), ("labels", {}), ("taints", []), ("image", None)):
        if pool.get(key) is None:
            pool[key] = default
    return pool


def instance_pools(model, cluster_name, stack):
    """``apron_instance_pools``: the pools of ``cluster_name`` this stack creates (empty for shared stacks
    of a non-hub cluster: the hub creates them)."""
    roles = STACK_ROLES[stack]
    if not roles or stack_owner(model, cluster_name, stack) != cluster_name:
        return {}
    _cluster, _environment, provider = cluster_context(model, cluster_name)
    provider_type = _effective(provider).get("type")
    pools = {}
    for name in sorted(model.pools):
        spec = _effective(model.pools[name])
        if spec.get("cluster") == cluster_name and spec.get("role") in roles:
            pools[name] = _pool_vars(name, spec, provider_type)
    return pools


def _read_key(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def provider_vars(provider, base_dir):
    ptype, settings = _provider_settings(provider)
    result = {"name": resource_name(provider), "type": ptype}
    if ptype == "local":
        for key, default in LOCAL_PROVIDER_DEFAULTS.items():
            if settings.get(key) is None:
                settings[key] = default
        key_path = settings.get("ssh_key_path") or os.path.join(base_dir, ".apron", "ssh", "id_ed25519")
        key_path = os.path.expanduser(key_path)
        if not os.path.isabs(key_path):
            key_path = os.path.join(base_dir, key_path)
        settings["ssh_key_path"] = os.path.normpath(key_path)
    result.update(settings)
    return result


def ssh_public_keys(environment, provider_settings):
    keys = []
    for user in _effective(environment).get("adminUsers") or []:
        for key in (user or {}).get("keys") or []:
            if key and key not in keys:
                keys.append(key)
    if provider_settings.get("type") == "local" and provider_settings.get("ssh_key_path"):
        key = _read_key(provider_settings["ssh_key_path"] + ".pub")
        if key and key not in keys:
            keys.append(key)
    return keys


def stack_variables(model, cluster_name, stack, remote_state=None, base_dir=None, model_dir=None):
    """The tfvars of ``cluster_name``'s ``stack``: exactly the names in STACK_VARIABLE_NAMES.

    ``remote_state`` is the ``apron_remote_state`` value; computed from the model's state settings
    when None. ``base_dir`` is the repository (``<base>/.apron/...``); default the current directory.
    """
    check_stack(stack)
    base_dir = os.path.abspath(base_dir or os.getcwd())
    cluster, environment, provider = cluster_context(model, cluster_name)
    if remote_state is None:
        remote_state = remote_state_for(model, cluster_name, stack, base_dir, model_dir)
    provider_settings = provider_vars(provider, base_dir)
    env = snake_keys(_effective(environment))
    env.pop("defaults", None)
    env["name"] = resource_name(environment)
    env.setdefault("mode", "single")
    env.setdefault("hub", None)
    cluster_vars = snake_keys(_effective(cluster))
    cluster_vars["name"] = cluster_name
    cluster_vars["hub"] = hub_name(model, cluster_name)
    variables = {
        "apron_provider": provider_settings,
        "apron_environment": env,
        "apron_cluster": cluster_vars,
        "apron_instance_pools": instance_pools(model, cluster_name, stack),
        "apron_remote_state": remote_state,
        "apron_ssh_public_keys": ssh_public_keys(environment, provider_settings),
    }
    return variables
