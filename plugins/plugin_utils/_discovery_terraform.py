# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Discovery backend ``terraform``: the ``instances`` output of the tools / vault / kubernetes
stacks, read from their state (local files or S3). Controller only.

State locations follow docs/architecture.md: local ``<state dir>/<env>/<cluster>/<stack>/terraform.tfstate``,
S3 key ``<env>/<cluster>/<stack>/terraform.tfstate``; in multi-cluster environments the hub owns
the shared ``tools``/``vault`` stacks. A state that does not exist is a stack not applied yet: a
note, not an error. A state that exists but cannot be read or parsed is an error.
"""
from __future__ import annotations

import os

from ansible_collections.apron.cluster.plugins.module_utils import _stack_vars as sv
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_state as tfstate
from ansible_collections.apron.cluster.plugins.plugin_utils._discovery import Discovery, DiscoveryError, record

INSTANCE_STACKS = ("tools", "vault", "kubernetes")


def _stack_locations(model, base_dir, state_dir=None, state_bucket=None, state_region=None):
    """Yield (environment, owner cluster, stack, declared pool count, backend) once per state."""
    seen = set()
    for cluster_name in sorted(model.clusters):
        cluster = model.clusters[cluster_name]
        env = model.environment_of(cluster)
        if env is None:
            continue
        for stack in INSTANCE_STACKS:
            owner = sv.stack_owner(model, cluster_name, stack)
            key = (env.name, owner, stack)
            if key in seen:
                continue
            seen.add(key)
            roles = sv.STACK_ROLES[stack]
            declared = [p for p in model.pools.values()
                        if p.effective.get("cluster") == owner and p.effective.get("role") in roles]
            if state_dir:
                backend = {"type": "local", "config": {"path": os.path.join(
                    state_dir, env.name, owner, stack, "terraform.tfstate")}}
            elif state_bucket:
                backend = {"type": "s3", "config": {"bucket": state_bucket, "region": state_region,
                                                    "key": sv.state_key(env.name, owner, stack)}}
            else:
                try:
                    backend = sv.backend_settings(model, owner, stack, base_dir)
                except sv.StackVarsError as exc:
                    raise DiscoveryError(str(exc))
                if backend["type"] == "s3" and state_region:
                    backend["config"]["region"] = state_region
            yield env, owner, stack, len(declared), backend


def _instances_of(state, where):
    """``outputs.instances.value`` of a Terraform state document -> list of records."""
    if not isinstance(state, dict):
        raise DiscoveryError("%s: not a Terraform state (expected a JSON object)" % where)
    outputs = state.get("outputs") or {}
    if not isinstance(outputs, dict):
        raise DiscoveryError("%s: outputs is %r: expected a mapping" % (where, type(outputs).__name__))
    if "instances" not in outputs:
        return None
    value = outputs["instances"].get("value") if isinstance(outputs["instances"], dict) else None
    if value is None:
        return []
    if not isinstance(value, dict):
        raise DiscoveryError("%s: outputs.instances.value is a %s: expected a map of instance name to object"
                             % (where, type(value).__name__))
    out = []
    for name, item in sorted(value.items()):
        if not isinstance(item, dict):
            raise DiscoveryError("%s: outputs.instances.value[%r] is a %s: expected an object"
                                 % (where, name, type(item).__name__))
        values = dict(item)
        values.setdefault("name", name)
        values["source"] = where
        values.pop("hostname", None)
        out.append(record(**values))
    return out


def _scaling_groups_of(state):
    """``outputs.instance_pools.value`` (amazon kubernetes stack) -> {pool: asg_name}: pools whose
    instances an auto scaling group launches, which Terraform's state does not list."""
    output = ((state.get("outputs") or {}).get("instance_pools") or {}) if isinstance(state, dict) else {}
    value = output.get("value") if isinstance(output, dict) else None
    if not isinstance(value, dict):
        return {}
    return dict((pool, (item or {}).get("asg_name") if isinstance(item, dict) else None)
                for pool, item in value.items())


def discover(model, base_dir, state_dir=None, state_bucket=None, state_region=None, endpoint_url=None,
             profile=None):
    """Read every instance stack's state of every cluster in ``model``."""
    found = []
    notes = []
    unapplied = []
    untracked = {}
    reader = None
    reads = 0
    for env, owner, stack, declared, backend in _stack_locations(model, base_dir, state_dir, state_bucket,
                                                                 state_region):
        if reader is None and backend["type"] == "s3":
            provider = model.provider_of(env)
            settings = (provider.effective.get("amazon") or {}) if provider is not None else {}
            state_cfg = env.effective.get("state") or {}
            reader = tfstate.StateReader(profile or settings.get("profile"),
                                         endpoint_url or state_cfg.get("endpointURL") or settings.get("endpointURL"))
        where = tfstate.location(backend)
        try:
            state, reason = (reader or tfstate.StateReader()).read(backend)
        except tfstate.StateReadError as exc:
            raise DiscoveryError(exc.msg)
        reads += 1
        label = "%s/%s/%s" % (env.name, owner, stack)
        if state is None:
            unapplied.append({"stack": label, "location": where, "declared_pools": declared})
            if declared:
                notes.append("stack %s is not applied yet (%s at %s)" % (label, reason, where))
            continue
        for pool, asg in sorted(_scaling_groups_of(state).items()):
            if pool in model.pools:
                untracked[pool] = "auto scaling group %s (in %s): Terraform's state does not list its instances; " \
                    "use backend aws_ec2 to discover them" % (asg or "?", label)
                notes.append("pool %s is %s" % (pool, untracked[pool]))
        records = _instances_of(state, where)
        if records is None:
            if not state.get("resources"):
                # what terraform leaves behind after a destroy
                unapplied.append({"stack": label, "location": where, "declared_pools": declared})
                if declared:
                    notes.append("stack %s is not applied (empty state, destroyed?) at %s" % (label, where))
            elif declared:
                notes.append("stack %s has no 'instances' output (%s)" % (label, where))
            continue
        found.extend(records)
    stats = {"state_reads": reads, "s3_calls": reader.s3_calls if reader is not None else 0}
    query = {"backend": "terraform", "state_dir": state_dir, "state_bucket": state_bucket,
             "clusters": sorted(model.clusters)}
    return Discovery("terraform", found, notes, unapplied, stats, query, untracked)
