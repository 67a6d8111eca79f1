# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Validation of the cluster model: the JSON Schema (own checker, exact field paths, no
``jsonschema`` needed) and the semantic checks. Every check appends to ``errors``; nothing
stops at the first problem."""
from __future__ import annotations

import copy
import ipaddress
import re

from ansible_collections.apron.cluster.plugins.module_utils import _model_defaults as D
from ansible_collections.apron.cluster.plugins.module_utils._model_errors import MISSING, ModelError, format_path
from ansible_collections.apron.cluster.plugins.module_utils._model_schema import (
    API_VERSION,
    CIDR_PATTERN,
    KINDS,
    SCHEMA,
)

# ======================================================================= schema


def _type_ok(name, value):
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "null":
        return value is None
    return True


def _deref(schema, root):
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("only local $ref are supported: %s" % ref)
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _describe(schema, root):
    schema = _deref(schema, root)
    if "description" in schema:
        return schema["description"]
    if "enum" in schema:
        return "one of %s" % ", ".join(str(v) for v in schema["enum"])
    types = schema.get("type")
    if isinstance(types, list):
        return " or ".join(types)
    return types or "a value"


def schema_errors(schema, value, path=(), root=None):
    """Check ``value`` against ``schema``; return [(path tuple, value, expected), ...]."""
    root = SCHEMA if root is None else root
    errors = []
    _check(schema, value, tuple(path), errors, root)
    return errors


def _check(schema, value, path, errors, root):
    schema = _deref(schema, root)
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(name, value) for name in names):
            expected = "type %s" % " or ".join(names)
            if "description" in schema:
                expected += " (%s)" % schema["description"]
            errors.append((path, value, expected))
            return
    if "const" in schema and value != schema["const"]:
        errors.append((path, value, "exactly %r" % (schema["const"],)))
    if "enum" in schema and value not in schema["enum"]:
        errors.append((path, value, "one of %s" % ", ".join(str(v) for v in schema["enum"])))
    if isinstance(value, str):
        too_short = "minLength" in schema and len(value) < schema["minLength"]
        too_long = "maxLength" in schema and len(value) > schema["maxLength"]
        bad = "pattern" in schema and re.search(schema["pattern"], value) is None
        if too_short or too_long or bad:
            if "description" in schema:
                errors.append((path, value, schema["description"]))
            elif too_short:
                errors.append((path, value, "a string of at least %d character(s)" % schema["minLength"]))
            elif too_long:
                errors.append((path, value, "a string of at most %d characters" % schema["maxLength"]))
            else:
                errors.append((path, value, "a string matching %s" % schema["pattern"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if ("minimum" in schema and value < schema["minimum"]) or ("maximum" in schema and value > schema["maximum"]):
            errors.append((path, value, schema.get("description") or "a number in %s..%s" % (
                schema.get("minimum", "-inf"), schema.get("maximum", "inf"))))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append((path, value, "a list of at least %d item(s)" % schema["minItems"]))
        if schema.get("uniqueItems"):
            seen = []
            for index, item in enumerate(value):
                if item in seen:
                    errors.append((path + (index,), item, "each item once in the list (duplicate)"))
                else:
                    seen.append(item)
        if "items" in schema:
            for index, item in enumerate(value):
                _check(schema["items"], item, path + (index,), errors, root)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                sub = properties.get(key)
                expected = "a required field"
                if sub is not None:
                    expected += " (%s)" % _describe(sub, root)
                errors.append((path + (key,), MISSING, expected))
        additional = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                _check(properties[key], item, path + (key,), errors, root)
            elif additional is False:
                errors.append((path + (key,), item, "no field %r here (allowed: %s)" % (
                    key, ", ".join(sorted(properties)))))
            elif isinstance(additional, dict):
                if not isinstance(key, str):
                    errors.append((path + (str(key),), key, "string keys"))
                _check(additional, item, path + (key,), errors, root)
        if "propertyNames" in schema:
            for key in value:
                _check(schema["propertyNames"], key, path + (key,), errors, root)
    for sub in schema.get("allOf", ()):
        _check(sub, value, path, errors, root)
    if "if" in schema:
        probe = []
        _check(schema["if"], value, path, probe, root)
        if not probe and "then" in schema:
            _check(schema["then"], value, path, errors, root)
        elif probe and "else" in schema:
            _check(schema["else"], value, path, errors, root)


def check_document(file, index, data, lines, line, errors):
    """Schema-check one YAML document; return a Resource (or None when it cannot be one)."""
    from ansible_collections.apron.cluster.plugins.module_utils._model import Resource

    def err(parts, value, expected, ref=None):
        found = None
        probe = tuple(parts)
        while probe and found is None:
            found = lines.get(probe)
            probe = probe[:-1]
        errors.append(ModelError(file, ref, parts, value, expected, line=found or line))

    if not isinstance(data, dict):
        err((), data, "a mapping with apiVersion, kind, metadata and spec (document %d)" % (index + 1))
        return None
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if kind in KINDS:
        ref = "%s/%s" % (kind, name if isinstance(name, str) else "<document %d>" % (index + 1))
    else:
        ref = "<document %d>" % (index + 1)
    problems = schema_errors(SCHEMA, data)
    for parts, value, expected in problems:
        if parts == ("apiVersion",) and value is not MISSING:
            expected = "exactly %r" % API_VERSION
        err(parts, value, expected, ref)
    if kind not in KINDS or not isinstance(name, str) or not name:
        return None
    document = prune(data, [parts for parts, value, dummy in problems if value is not MISSING])
    if not isinstance(document.get("spec"), dict):
        document["spec"] = {}
    resource = Resource(kind, name, file, document, lines=lines, line=line, index=index)
    resource.valid = not problems
    return resource


_PRUNED = object()


def prune(data, paths):
    """A copy of ``data`` without the values at ``paths`` (reported by the schema already), so that
    inheritance and the semantic checks only ever see well-typed values."""
    data = copy.deepcopy(data)
    for parts in sorted(set(tuple(p) for p in paths), key=len, reverse=True):
        if not parts:
            continue
        node = data
        for key in parts[:-1]:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        last = parts[-1]
        if isinstance(node, dict) and last in node:
            del node[last]
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = _PRUNED
    return _drop_pruned(data)


def _drop_pruned(node):
    if isinstance(node, dict):
        return dict((k, _drop_pruned(v)) for k, v in node.items())
    if isinstance(node, list):
        return [_drop_pruned(v) for v in node if v is not _PRUNED]
    return node


# ======================================================================= semantics


class _Checker(object):
    def __init__(self, model, errors):
        self.model = model
        self.errors = errors

    def error(self, resource, parts, value, expected):
        if isinstance(parts, str):
            parts = tuple(parts.split("."))
        line = resource.line_of(parts)
        own = resource.provenance.get(format_path(parts))
        if own and not own.startswith(resource.ref + " ") and not own.startswith("builtin:") \
                and not own.startswith("computed:"):
            expected = "%s (value from %s)" % (expected, own)
        self.errors.append(ModelError(resource.file, resource.ref, parts, value, expected, line=line))


def _network(cidr):
    if not isinstance(cidr, str):
        return None
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        return None


def _cidr_problem(cidr):
    """Why ``cidr`` is not a valid network (None if it is, or if the schema reports it already)."""
    if not isinstance(cidr, str) or not re.match(CIDR_PATTERN, cidr):
        return None
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        return str(exc)
    except TypeError:
        return "not a string"
    return None


def _version_supported(version):
    match = re.match(r"^1\.([0-9]+)\.[0-9]+$", version or "")
    return bool(match) and int(match.group(1)) in D.SUPPORTED_KUBERNETES_MINORS


SUPPORTED_VERSIONS_TEXT = "a supported Kubernetes version 1.%d.x .. 1.%d.x (full x.y.z)" % (
    D.SUPPORTED_KUBERNETES_MINORS[0], D.SUPPORTED_KUBERNETES_MINORS[-1])


def _zone_problem(ptype, zone, regions):
    """None if ``zone`` is valid for the provider type, else the expectation."""
    if not isinstance(zone, str):
        return "a zone name"
    if ptype == "amazon":
        regions = [r for r in (regions or []) if isinstance(r, str)]
        for region in regions:
            if re.match(r"^%s[a-z]$" % re.escape(region), zone):
                return None
        return "an availability zone <region><letter> of one of the provider's regions (%s)" % ", ".join(regions)
    if ptype == "local":
        if re.match(r"^local-[a-z]$", zone):
            return None
        return "a local zone local-[a-z] (e.g. local-a)"
    # static: any DNS-1123 name, which the schema checks for every zone name already
    return None


def _region_of(zone, regions):
    for region in regions or []:
        if isinstance(region, str) and isinstance(zone, str) and re.match(r"^%s[a-z]$" % re.escape(region), zone):
            return region
    return None


def check_model(model, errors):
    c = _Checker(model, errors)
    for provider in model.providers.values():
        _check_provider(c, provider)
    for env in model.environments.values():
        _check_environment(c, env)
    for cluster in model.clusters.values():
        _check_cluster(c, cluster)
    for pool in model.pools.values():
        _check_pool(c, pool)


def _check_provider(c, provider):
    spec = provider.effective
    ptype = spec.get("type")
    for other in ("amazon", "local", "static"):
        if other != ptype and isinstance(provider.spec, dict) and other in provider.spec:
            c.error(provider, ("spec", other), provider.spec[other],
                    "no %s settings on a provider of type %s (only spec.%s)" % (other, ptype, ptype))
    if ptype == "amazon":
        for i, cidr in enumerate(spec.get("amazon", {}).get("adminCIDRs") or []):
            problem = _cidr_problem(cidr)
            if problem:
                c.error(provider, ("spec", "amazon", "adminCIDRs", i), cidr, "a valid CIDR (%s)" % problem)
        amazon = spec.get("amazon", {})
        if amazon.get("profile") and amazon.get("roleArn"):
            c.error(provider, ("spec", "amazon", "roleArn"), amazon.get("roleArn"),
                    "either spec.amazon.profile or spec.amazon.roleArn, not both")


def _check_environment(c, env):
    model = c.model
    spec = env.effective
    provider_name = spec.get("provider")
    provider = model.providers.get(provider_name)
    if isinstance(provider_name, str) and provider is None:
        c.error(env, ("spec", "provider"), provider_name,
                "the name of a Provider in the model (known: %s)" % (", ".join(sorted(model.providers)) or "none"))
    clusters = model.clusters_of(env)
    mode = spec.get("mode")
    hub_name = spec.get("hub")
    state = spec.get("state") or {}
    if state.get("backend") == "s3":
        for key in ("bucket", "region", "lockTable"):
            if not state.get(key):
                c.error(env, ("spec", "state", key), state.get(key), "a value when spec.state.backend is s3")
    if state.get("backend") == "local" and state.get("bucket"):
        c.error(env, ("spec", "state", "bucket"), state.get("bucket"), "no bucket with the local state backend")

    if not clusters:
        c.error(env, ("spec",), None, "at least one Cluster with spec.environment: %s" % env.name)
    bastions = [p for cl in clusters for p in model.pools_of(cl, "bastion")]
    if len(bastions) != 1:
        c.error(env, ("spec",), sorted(p.name for p in bastions),
                "exactly one bastion InstancePool in the environment (found %d)" % len(bastions))
    vaults = [p for cl in clusters for p in model.pools_of(cl, "vault")]
    if len(vaults) > 1:
        c.error(env, ("spec",), sorted(p.name for p in vaults),
                "at most one vault InstancePool in the environment (found %d)" % len(vaults))

    if mode == "single":
        if hub_name is not None:
            c.error(env, ("spec", "hub"), hub_name, "no hub in a single-cluster environment (mode: single)")
        if len(clusters) > 1:
            c.error(env, ("spec", "mode"), mode, "mode multi with a hub: %d clusters reference this environment (%s)" % (
                len(clusters), ", ".join(sorted(cl.name for cl in clusters))))
        for cl in clusters:
            if cl.effective.get("type") == "hub":
                c.error(cl, ("spec", "type"), "hub", "cluster (a hub exists only in multi-cluster environments)")
        if len(clusters) == 1:
            cl = clusters[0]
            for role in D.HUB_ROLES:
                if not model.pools_of(cl, role):
                    c.error(cl, ("spec",), None,
                            "a %s InstancePool in the only cluster of single-cluster environment %s" % (role, env.name))
    elif mode == "multi":
        hub = model.clusters.get(hub_name) if isinstance(hub_name, str) else None
        if hub_name is None:
            c.error(env, ("spec", "hub"), None, "the name of the hub Cluster (mode: multi)")
        elif hub is None or hub.effective.get("environment") != env.name:
            c.error(env, ("spec", "hub"), hub_name, "the name of a Cluster of type hub in this environment (known: %s)" % (
                ", ".join(sorted(cl.name for cl in clusters)) or "none"))
        elif hub.effective.get("type") != "hub":
            c.error(hub, ("spec", "type"), hub.effective.get("type"), "hub (Environment/%s names it as spec.hub)" % env.name)
        for cl in clusters if hub_name is not None else ():
            if hub is not None and cl is hub:
                for role in D.HUB_ROLES:
                    if not model.pools_of(cl, role):
                        c.error(cl, ("spec",), None, "a %s InstancePool on hub cluster %s" % (role, cl.name))
                for pool in model.pools_of(cl):
                    if pool.effective.get("role") not in D.HUB_ROLES:
                        c.error(pool, ("spec", "role"), pool.effective.get("role"),
                                "bastion or vault: the hub %s runs only shared tools" % cl.name)
                continue
            if cl.effective.get("type") == "hub":
                c.error(cl, ("spec", "type"), "hub", "cluster (the environment's hub is %s)" % hub_name)
            for role in D.HUB_ROLES:
                for pool in model.pools_of(cl, role):
                    c.error(pool, ("spec", "role"), role,
                            "no %s pool on non-hub cluster %s: the hub %s provides it" % (role, cl.name, hub_name))
        if hub is not None and hub.effective.get("environment") == env.name:
            hub_zones = set(_zone_names(hub))
            for cl in clusters:
                if cl is hub:
                    continue
                for i, zone in enumerate(_zone_names(cl)):
                    if zone not in hub_zones:
                        c.error(cl, ("spec", "network", "zones", i, "name"), zone,
                                "a zone the hub %s covers (%s)" % (hub.name, ", ".join(sorted(hub_zones))))
        # VPCs of one environment are peered with the hub: they must not overlap
        nets = []
        for cl in clusters:
            net = _network(cl.get("network.vpcCIDR"))
            if net is None:
                continue
            for other, other_net in nets:
                if net.overlaps(other_net):
                    c.error(cl, ("spec", "network", "vpcCIDR"), str(net),
                            "a VPC CIDR not overlapping Cluster/%s (%s) of the same environment" % (other.name, other_net))
            nets.append((cl, net))


def _zone_names(cluster):
    zones = cluster.get("network.zones") or []
    return [z.get("name") for z in zones if isinstance(z, dict) and isinstance(z.get("name"), str)]


def _check_cluster(c, cluster):
    model = c.model
    spec = cluster.effective
    env_name = spec.get("environment")
    env = model.environments.get(env_name)
    if isinstance(env_name, str) and env is None:
        c.error(cluster, ("spec", "environment"), env_name,
                "the name of an Environment in the model (known: %s)" % (", ".join(sorted(model.environments)) or "none"))
    provider = model.provider_of(env) if env is not None else None
    ptype = provider.effective.get("type") if provider is not None else None
    regions = provider.get("amazon.regions") if provider is not None else None

    version = spec.get("kubernetesVersion")
    if isinstance(version, str) and re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", version) and not _version_supported(version):
        c.error(cluster, ("spec", "kubernetesVersion"), version, SUPPORTED_VERSIONS_TEXT)

    network = spec.get("network") if isinstance(spec.get("network"), dict) else {}
    zones = network.get("zones")
    if not zones:
        c.error(cluster, ("spec", "network", "zones"), zones if zones is not None else MISSING,
                "a list of at least one zone {name, privateCIDR, publicCIDR}")
        zones = []
    cidrs = {}
    for key in ("vpcCIDR", "podCIDR", "serviceCIDR"):
        value = network.get(key)
        if value is None:
            continue
        problem = _cidr_problem(value)
        if problem:
            c.error(cluster, ("spec", "network", key), value, "a valid CIDR (%s)" % problem)
        elif _network(value) is not None:
            cidrs[key] = _network(value)
    vpc = cidrs.get("vpcCIDR")
    for a, b in (("podCIDR", "vpcCIDR"), ("serviceCIDR", "vpcCIDR"), ("serviceCIDR", "podCIDR")):
        if a in cidrs and b in cidrs and cidrs[a].overlaps(cidrs[b]):
            c.error(cluster, ("spec", "network", a), str(cidrs[a]),
                    "a CIDR not overlapping spec.network.%s (%s)" % (b, cidrs[b]))

    seen_names = {}
    subnets = []
    zone_regions = set()
    for i, zone in enumerate(zones):
        if not isinstance(zone, dict):
            continue
        name = zone.get("name")
        if name in seen_names:
            c.error(cluster, ("spec", "network", "zones", i, "name"), name,
                    "a zone name unique in the cluster (also spec.network.zones[%d])" % seen_names[name])
        elif isinstance(name, str):
            seen_names[name] = i
        problem = _zone_problem(ptype, name, regions)
        if problem and isinstance(name, str):
            c.error(cluster, ("spec", "network", "zones", i, "name"), name, problem)
        region = _region_of(name, regions) if ptype == "amazon" else None
        if region:
            zone_regions.add(region)
        for key in ("privateCIDR", "publicCIDR"):
            value = zone.get(key)
            if value is None:
                continue
            parts = ("spec", "network", "zones", i, key)
            problem = _cidr_problem(value)
            if problem:
                c.error(cluster, parts, value, "a valid CIDR (%s)" % problem)
                continue
            net = _network(value)
            if net is None:
                continue
            if vpc is not None and not (net.version == vpc.version and net.subnet_of(vpc)):
                c.error(cluster, parts, value, "a subnet within spec.network.vpcCIDR (%s)" % vpc)
            for other_parts, other in subnets:
                if net.overlaps(other):
                    c.error(cluster, parts, value, "a subnet not overlapping %s (%s)" % (format_path(other_parts), other))
            subnets.append((parts, net))
    if len(zone_regions) > 1:
        c.error(cluster, ("spec", "network", "zones"), sorted(seen_names),
                "zones of a single region (found %s)" % ", ".join(sorted(zone_regions)))
    given = [i for i, z in enumerate(zones) if isinstance(z, dict) and (z.get("privateCIDR") or z.get("publicCIDR"))]
    if given and cluster.valid:
        for i, zone in enumerate(zones):
            if isinstance(zone, dict) and not zone.get("privateCIDR"):
                c.error(cluster, ("spec", "network", "zones", i, "privateCIDR"), zone.get("privateCIDR", MISSING),
                        "a privateCIDR: subnets are given for all zones or for none (then allocated from vpcCIDR)")
    unallocated = [z for z in zones if isinstance(z, dict) and not z.get("privateCIDR")]
    if not given and unallocated and vpc is not None and network.get("existingVPC") is None:
        c.error(cluster, ("spec", "network", "zones"), [z.get("name") for z in zones if isinstance(z, dict)],
                "zones with privateCIDR/publicCIDR (the VPC %s is too small to allocate them)" % vpc)

    existing = network.get("existingVPC")
    if isinstance(existing, dict):
        if ptype is not None and ptype != "amazon":
            c.error(cluster, ("spec", "network", "existingVPC"), existing,
                    "null (existingVPC is for the amazon provider; this one is %s)" % ptype)
        for key in ("privateSubnetIds", "publicSubnetIds"):
            for zone in (existing.get(key) or {}):
                if zone not in seen_names:
                    c.error(cluster, ("spec", "network", "existingVPC", key, zone), zone,
                            "a zone of spec.network.zones (%s)" % ", ".join(sorted(seen_names)))

    api = spec.get("apiServer") or {}
    for i, cidr in enumerate(api.get("allowedCIDRs") or []):
        problem = _cidr_problem(cidr)
        if problem:
            c.error(cluster, ("spec", "apiServer", "allowedCIDRs", i), cidr, "a valid CIDR (%s)" % problem)
    oidc = (spec.get("features") or {}).get("oidc") or {}
    if oidc.get("enabled"):
        for key in ("issuerURL", "clientID"):
            if not oidc.get(key):
                c.error(cluster, ("spec", "features", "oidc", key), oidc.get(key),
                        "a value when spec.features.oidc.enabled is true")
    addons = spec.get("addons") or []
    seen = {}
    for i, addon in enumerate(addons):
        name = addon.get("name") if isinstance(addon, dict) else None
        if name in seen:
            c.error(cluster, ("spec", "addons", i, "name"), name, "each addon once (also spec.addons[%d])" % seen[name])
        elif name is not None:
            seen[name] = i

    if spec.get("type") != "hub" and env is not None and (
            env.effective.get("mode") == "single" or env.effective.get("hub") != cluster.name):
        for role in ("etcd", "master"):
            if not model.pools_of(cluster, role):
                c.error(cluster, ("spec",), None, "an %s InstancePool for Kubernetes cluster %s" % (role, cluster.name)
                        if role == "etcd" else "a %s InstancePool for Kubernetes cluster %s" % (role, cluster.name))


def _check_pool(c, pool):
    model = c.model
    spec = pool.effective
    role = spec.get("role")
    cluster_name = spec.get("cluster")
    cluster = model.clusters.get(cluster_name)
    if isinstance(cluster_name, str) and cluster is None:
        c.error(pool, ("spec", "cluster"), cluster_name,
                "the name of a Cluster in the model (known: %s)" % (", ".join(sorted(model.clusters)) or "none"))
    env = model.environment_of(cluster) if cluster is not None else None
    provider = model.provider_of(env) if env is not None else None
    ptype = provider.effective.get("type") if provider is not None else None

    count, low, high = spec.get("count"), spec.get("minCount"), spec.get("maxCount")
    ints = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (count, low, high))
    if ints:
        if low > high:
            c.error(pool, ("spec", "minCount"), low, "minCount <= maxCount (%d)" % high)
        elif not low <= count <= high:
            c.error(pool, ("spec", "count"), count, "a count within minCount..maxCount (%d..%d)" % (low, high))
        if role in D.STATEFUL_ROLES and low != high:
            c.error(pool, ("spec", "maxCount"), high,
                    "maxCount == minCount (%d): %s pools are stateful and do not autoscale" % (low, role))
        if role in D.STATEFUL_ROLES and count % 2 == 0:
            c.error(pool, ("spec", "count"), count, "an odd count (1, 3, 5...): %s needs a quorum" % role)
        if role == "bastion" and count != 1:
            c.error(pool, ("spec", "count"), count, "1 (one bastion instance per environment)")
        if role in ("etcd", "vault", "master") and count < 1:
            c.error(pool, ("spec", "count"), count, "at least 1 %s instance" % role)

    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        last = "%s-%d" % (pool.name, count - 1)
        if len(last) > 63:
            c.error(pool, ("metadata", "name"), pool.name,
                    "a shorter name: instance names <pool>-<index> (e.g. %s) must be DNS-1123 labels of at most 63 characters"
                    % last)

    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        names = [v.get("name") for v in volumes if isinstance(v, dict)]
        if "root" not in names:
            c.error(pool, ("spec", "volumes"), names, "a volume named root (every pool needs a root volume)")
        seen = {}
        for i, name in enumerate(names):
            if name in seen:
                c.error(pool, ("spec", "volumes", i, "name"), name, "each volume name once (also spec.volumes[%d])" % seen[name])
            else:
                seen[name] = i
        if role in D.STATEFUL_ROLES and "data" not in names:
            c.error(pool, ("spec", "volumes"), names, "a volume named data (%s keeps its state on it)" % role)

    cluster_zones = _zone_names(cluster) if cluster is not None else []
    zones = spec.get("zones")
    if isinstance(zones, list) and cluster is not None and cluster_zones:
        for i, zone in enumerate(zones):
            if zone not in cluster_zones:
                c.error(pool, ("spec", "zones", i), zone,
                        "a zone of Cluster/%s spec.network.zones (%s)" % (cluster.name, ", ".join(cluster_zones)))

    hosts = spec.get("hosts") or []
    if ptype == "static":
        if not hosts:
            c.error(pool, ("spec", "hosts"), hosts, "the list of hosts of this pool (static provider)")
        elif isinstance(count, int) and len(hosts) != count:
            c.error(pool, ("spec", "hosts"), len(hosts), "%d hosts (spec.count is %d)" % (count, count))
        if ints and low != high:
            c.error(pool, ("spec", "maxCount"), high, "maxCount == minCount: static pools do not autoscale")
        seen = {}
        for i, host in enumerate(hosts):
            if not isinstance(host, dict):
                continue
            if host.get("zone") is not None and isinstance(zones, list) and host.get("zone") not in zones:
                c.error(pool, ("spec", "hosts", i, "zone"), host.get("zone"),
                        "a zone of the pool's spec.zones (%s)" % ", ".join(str(z) for z in zones))
            name = host.get("name")
            if name in seen:
                c.error(pool, ("spec", "hosts", i, "name"), name, "each host once (also spec.hosts[%d])" % seen[name])
            else:
                seen[name] = i
    elif hosts and ptype is not None:
        c.error(pool, ("spec", "hosts"), hosts, "no hosts: only static providers list hosts (this one is %s)" % ptype)
