# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Inheritance with provenance.

Precedence, lowest first: built-in defaults, ``Environment.spec.defaults`` (``cluster`` /
``instancePools.all`` / ``instancePools.<role>``), the resource's own ``spec``. Maps merge key
by key, lists (and scalars) replace. Every leaf of the effective spec records its source in
``provenance`` under its dotted path (``spec.network.vpcCIDR``); a list is one leaf.
"""
from __future__ import annotations

import copy
import ipaddress
import math
import os

from ansible_collections.apron.cluster.plugins.module_utils import _model_defaults as D
from ansible_collections.apron.cluster.plugins.module_utils._model_errors import format_path


def _drop(prov, key):
    for existing in list(prov):
        if existing == key or existing.startswith(key + ".") or existing.startswith(key + "["):
            del prov[existing]


def _record(prov, parts, value, source):
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _record(prov, parts + (key,), sub, source)
    else:
        prov[format_path(parts)] = source(parts) if callable(source) else source


def merge_layer(target, prov, overlay, source, prefix=("spec",)):
    """Merge ``overlay`` into ``target`` in place (maps merge, everything else replaces)."""
    if not isinstance(overlay, dict):
        return
    for key, value in overlay.items():
        parts = prefix + (key,)
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            if value:
                # the map is no longer an (empty) leaf: its keys carry the provenance now
                prov.pop(format_path(parts), None)
            merge_layer(target[key], prov, value, source, parts)
        else:
            _drop(prov, format_path(parts))
            target[key] = copy.deepcopy(value)
            _record(prov, parts, target[key], source)


def set_computed(target, prov, parts, value, source):
    """Set a derived value at ``parts`` (below ``spec``) and record its source."""
    node = target
    for key in parts[1:-1]:
        node = node.setdefault(key, {})
    node[parts[-1]] = value
    _drop(prov, format_path(parts))
    _record(prov, tuple(parts), value, source)


class Layers(object):
    """Accumulates layers for one resource."""

    def __init__(self):
        self.effective = {}
        self.provenance = {}

    def add(self, overlay, source):
        merge_layer(self.effective, self.provenance, overlay, source)

    def computed(self, parts, value, source):
        set_computed(self.effective, self.provenance, parts, value, source)


def source_of(resource):
    """A provenance source for values from ``resource``'s own document: ``Kind/name (file:line)``."""

    def source(parts):
        line = resource.line_of(parts)
        if line:
            return "%s (%s:%d)" % (resource.ref, resource.file, line)
        return "%s (%s)" % (resource.ref, resource.file)

    return source


def _sub(spec, *keys):
    node = spec
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


# ------------------------------------------------------------------ per kind

def resolve_provider(provider):
    spec = provider.spec if isinstance(provider.spec, dict) else {}
    ptype = spec.get("type")
    layers = Layers()
    if ptype in D.PROVIDER:
        layers.add({ptype: D.provider_defaults(ptype)}, "builtin:provider/%s" % ptype)
    layers.add(spec, source_of(provider))
    return layers


def resolve_environment(env, provider):
    spec = env.spec if isinstance(env.spec, dict) else {}
    ptype = provider.effective.get("type") if provider is not None else None
    project = spec.get("project") if isinstance(spec.get("project"), str) else "apron"
    regions = _sub(provider.effective, "amazon", "regions") if provider is not None else None
    primary = regions[0] if isinstance(regions, list) and regions else None
    layers = Layers()
    builtin = copy.deepcopy(D.ENVIRONMENT)
    builtin["project"] = "apron"
    builtin["privateZone"] = "%s.%s.internal" % (env.name, project)
    layers.add(builtin, "builtin:environment")
    layers.add({"state": D.state_defaults(ptype, env.name, project, primary)},
               "builtin:environment/%s" % (ptype or "unknown"))
    layers.add(spec, source_of(env))
    # a relative local state path is relative to the directory of the Environment's file
    path = _sub(layers.effective, "state", "path")
    if isinstance(path, str) and path and not os.path.isabs(path):
        layers.effective["state"]["path"] = os.path.abspath(os.path.join(os.path.dirname(env.file) or ".", path))
    return layers


def _defaults_source(env, *keys):
    """Source for values from Environment.spec.defaults.<keys...>: lines are looked up in the env."""

    def source(parts):
        # parts: ('spec', <field>, ...) in the child's coordinates
        env_parts = ("spec", "defaults") + tuple(keys) + tuple(parts[1:])
        line = env.line_of(env_parts)
        if line:
            return "%s (%s:%d)" % (env.ref, env.file, line)
        return "%s (%s)" % (env.ref, env.file)

    return source


def allocate_zone_cidrs(vpc_cidr, zone_count):
    """Default zone subnets: the VPC split into 2**ceil(log2(n+1)) slots; private subnet i is
    slot i, public subnets are carved from the last slot the same way. None if impossible."""
    try:
        vpc = ipaddress.ip_network(vpc_cidr, strict=True)
    except (TypeError, ValueError):
        return None
    bits = max(1, int(math.ceil(math.log(zone_count + 1, 2))))
    if vpc.prefixlen + 2 * bits > vpc.max_prefixlen - 2:
        return None
    slots = list(vpc.subnets(prefixlen_diff=bits))
    public = list(slots[-1].subnets(prefixlen_diff=bits))
    return [(str(slots[i]), str(public[i])) for i in range(zone_count)]


def resolve_cluster(cluster, env):
    spec = cluster.spec if isinstance(cluster.spec, dict) else {}
    layers = Layers()
    builtin = copy.deepcopy(D.CLUSTER)
    network = builtin.pop("network")
    layers.add(builtin, "builtin:cluster")
    layers.add({"network": network}, "builtin:network")
    if env is not None:
        env_defaults = _sub(env.spec, "defaults", "cluster")
        if isinstance(env_defaults, dict):
            layers.add(env_defaults, _defaults_source(env, "cluster"))
    layers.add(spec, source_of(cluster))
    zones = _sub(layers.effective, "network", "zones")
    if isinstance(zones, list) and zones and all(isinstance(z, dict) for z in zones):
        # allocate only when no zone names any subnet (all or none)
        if not any(z.get("privateCIDR") or z.get("publicCIDR") for z in zones):
            allocation = allocate_zone_cidrs(_sub(layers.effective, "network", "vpcCIDR"), len(zones))
            if allocation is not None:
                zones = copy.deepcopy(zones)
                for i, zone in enumerate(zones):
                    zone["privateCIDR"] = allocation[i][0]
                    zone["publicCIDR"] = allocation[i][1]
                # the list keeps its own provenance; record the derivation next to it
                layers.effective["network"]["zones"] = zones
                layers.provenance["spec.network.zones"] += " + computed:subnets from spec.network.vpcCIDR"
    return layers


def resolve_pool(pool, cluster, env, provider):
    spec = pool.spec if isinstance(pool.spec, dict) else {}
    role = spec.get("role")
    ptype = provider.effective.get("type") if provider is not None else None
    layers = Layers()
    layers.add(copy.deepcopy(D.POOL_COMMON), "builtin:pool")
    layers.add({"hosts": []}, "builtin:pool")
    if role in D.ROLES:
        layers.add(D.role_defaults(role), "builtin:role/%s" % role)
    if ptype in D.POOL_BY_PROVIDER:
        layers.add(copy.deepcopy(D.POOL_BY_PROVIDER[ptype]), "builtin:provider/%s" % ptype)
    if ptype == "local":
        image = _sub(provider.effective, "local", "image")
        layers.add({"image": image}, lambda parts: provider.provenance.get("spec.local.image", "builtin:provider/local"))
    if cluster is not None:
        zones = _sub(cluster.effective, "network", "zones")
        if isinstance(zones, list):
            names = [z.get("name") for z in zones if isinstance(z, dict) and z.get("name")]
            if names:
                layers.add({"zones": names}, "%s (spec.network.zones)" % cluster.ref)
    if env is not None:
        for key in ("all", role):
            if not isinstance(key, str):
                continue
            env_defaults = _sub(env.spec, "defaults", "instancePools", key)
            if isinstance(env_defaults, dict):
                layers.add(env_defaults, _defaults_source(env, "instancePools", key))
    layers.add(spec, source_of(pool))

    eff, prov = layers.effective, layers.provenance
    own_source = source_of(pool)
    builtin_count = prov.get("spec.count", "").startswith("builtin:")
    hosts = eff.get("hosts")
    if ptype == "static" and builtin_count and isinstance(hosts, list) and hosts and "minCount" not in eff:
        layers.computed(("spec", "count"), len(hosts), "computed:len(spec.hosts) (%s)" % own_source(("spec", "hosts")))
    elif builtin_count and "minCount" in eff:
        layers.computed(("spec", "count"), eff["minCount"], "computed:spec.minCount")
    for key in ("minCount", "maxCount"):
        if key not in eff:
            layers.computed(("spec", key), eff.get("count"), "computed:spec.count")
    size = eff.get("size")
    if isinstance(size, str):
        layers.computed(("spec", "instanceType"), D.instance_type(ptype, size), "computed:spec.size (%s)" % (ptype or "?"))
    volumes = eff.get("volumes")
    if isinstance(volumes, list):
        for volume in volumes:
            if isinstance(volume, dict):
                volume.setdefault("type", "ssd")
                if isinstance(volume.get("type"), str):
                    volume["volumeType"] = D.volume_type(ptype, volume["type"])
    return layers


def zone_of(index, zones):
    """Round-robin zone assignment of instance ``index`` (from 0) over the pool's zones."""
    if not zones:
        return None
    return zones[index % len(zones)]
