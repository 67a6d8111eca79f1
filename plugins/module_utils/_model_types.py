# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The cluster model's types: :class:`Resource` (one document) and :class:`Model` (the resolved
model and its navigation). Loading lives in ``_model``, validation in ``_model_validate``;
both import these types, and this module imports neither (no import cycle).

Standard library only; Python 3.8 syntax (module_utils).
"""
from __future__ import annotations

import copy

from ansible_collections.apron.cluster.plugins.module_utils._model_errors import format_path
from ansible_collections.apron.cluster.plugins.module_utils._model_resolve import zone_of
from ansible_collections.apron.cluster.plugins.module_utils._model_schema import API_VERSION, KINDS

__all__ = ["Model", "Resource"]

_ATTR = {"Provider": "providers", "Environment": "environments", "Cluster": "clusters", "InstancePool": "pools"}


class Resource(object):
    """One document of the model."""

    def __init__(self, kind, name, file, document, lines=None, line=None, index=0):
        self.kind = kind
        self.name = name
        self.file = file
        self.document = document
        self.lines = lines or {}
        self.line = line
        self.index = index  # position of the document in its file
        self.spec = document.get("spec") if isinstance(document, dict) else None
        self.metadata = document.get("metadata") if isinstance(document, dict) else None
        self.effective = {}
        self.provenance = {}
        self.valid = True  # False when the document itself failed the schema
        self.misspelt = {}  # intended field path -> the unknown-field error of its probable misspelling
        self.link_errors = []  # schema errors in the fields that place it in the model (spec.cluster ...)
        self.schema_errors = {}  # field path (tuple) -> its schema error (the value was left out)

    @property
    def ref(self):
        return "%s/%s" % (self.kind, self.name)

    def line_of(self, parts):
        """Line of the deepest key of ``parts`` (a tuple like ('spec', 'zones', 0)) present in the file."""
        parts = tuple(parts)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.line

    def get(self, dotted, default=None):
        """Effective value by dotted path below spec: ``pool.get('count')``, ``cluster.get('network.vpcCIDR')``."""
        node = self.effective
        for key in dotted.split("."):
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def values(self):
        """Every effective leaf value with its source: [{path, value, source}] (a list is one leaf)."""
        out = []

        def walk(parts, value):
            if isinstance(value, dict) and value:
                for key, sub in value.items():
                    walk(parts + (key,), sub)
                return
            path = format_path(parts)
            out.append({"path": path, "value": copy.deepcopy(value), "source": self.provenance.get(path, "unknown")})

        walk(("spec",), self.effective)
        return sorted(out, key=lambda item: item["path"])

    def to_dict(self, provenance=True):
        data = {
            "kind": self.kind,
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "metadata": copy.deepcopy(self.metadata) if isinstance(self.metadata, dict) else {"name": self.name},
            "spec": copy.deepcopy(self.effective),
        }
        if provenance:
            data["provenance"] = dict(self.provenance)
        return data

    def __repr__(self):
        return "Resource(%s, %s:%s)" % (self.ref, self.file, self.line)


class Model(object):
    """The resolved model. Build it with :func:`load_model`."""

    def __init__(self):
        self.providers = {}
        self.environments = {}
        self.clusters = {}
        self.pools = {}
        self.files = []
        self.warnings = []  # ModelWarning: empty files, acknowledged open CIDRs ...

    # -- navigation -------------------------------------------------------------
    def by_kind(self, kind):
        return getattr(self, _ATTR[kind])

    def resources(self):
        for kind in KINDS:
            yield from self.by_kind(kind).values()

    def _get(self, kind, item):
        if item is None:
            return None
        if isinstance(item, Resource):
            if item.kind == kind:
                return item
            return None
        return self.by_kind(kind).get(item)

    def cluster_of(self, pool):
        """The Cluster of an InstancePool (Resource or name)."""
        pool = self._get("InstancePool", pool)
        if pool is None:
            return None
        return self.clusters.get(pool.effective.get("cluster"))

    def environment_of(self, item):
        """The Environment of a Cluster (or of an InstancePool)."""
        if isinstance(item, Resource) and item.kind == "InstancePool":
            item = self.cluster_of(item)
        cluster = self._get("Cluster", item)
        if cluster is None:
            return None
        return self.environments.get(cluster.effective.get("environment"))

    def provider_of(self, item):
        """The Provider of an Environment (or of a Cluster / InstancePool)."""
        if isinstance(item, Resource) and item.kind in ("Cluster", "InstancePool"):
            item = self.environment_of(item)
        env = self._get("Environment", item)
        if env is None:
            return None
        return self.providers.get(env.effective.get("provider"))

    def clusters_of(self, environment):
        name = environment.name if isinstance(environment, Resource) else environment
        return [c for c in self.clusters.values() if c.effective.get("environment") == name]

    def pools_of(self, cluster, role=None):
        name = cluster.name if isinstance(cluster, Resource) else cluster
        return [p for p in self.pools.values()
                if p.effective.get("cluster") == name and (role is None or p.effective.get("role") == role)]

    def hub_of(self, environment):
        """The cluster holding bastion and vault: the hub (multi) or the only cluster (single)."""
        env = self._get("Environment", environment)
        if env is None:
            return None
        if env.effective.get("mode") == "multi":
            return self.clusters.get(env.effective.get("hub"))
        clusters = self.clusters_of(env)
        return clusters[0] if len(clusters) == 1 else None

    # -- instances ----------------------------------------------------------------
    def instances(self, pool=None, cluster=None, environment=None):
        """Declared instances, in pool order: ``<pool>-<index>`` (index from 0, ``count`` of
        them: the desired count), zones assigned round-robin over the pool's zones. Static
        pools also carry their ``host`` entry (name/address/zone; the host's zone wins)."""
        out = []
        for res in self.pools.values():
            if pool is not None and res.name != (pool.name if isinstance(pool, Resource) else pool):
                continue
            cl = self.cluster_of(res)
            env = self.environment_of(cl) if cl is not None else None
            if cluster is not None and (cl is None or cl.name != (cluster.name if isinstance(cluster, Resource) else cluster)):
                continue
            if environment is not None and (env is None or env.name != (
                    environment.name if isinstance(environment, Resource) else environment)):
                continue
            spec = res.effective
            count = spec.get("count") or 0
            zones = spec.get("zones") or []
            hosts = spec.get("hosts") or []
            for index in range(count if isinstance(count, int) else 0):
                item = {
                    "name": "%s-%d" % (res.name, index),
                    "environment": env.name if env is not None else None,
                    "cluster": cl.name if cl is not None else None,
                    "pool": res.name,
                    "role": spec.get("role"),
                    "zone": zone_of(index, zones),
                    "index": index,
                }
                if index < len(hosts) and isinstance(hosts[index], dict):
                    host = dict(hosts[index])
                    item["host"] = host
                    if host.get("zone"):
                        item["zone"] = host["zone"]
                out.append(item)
        return out

    # -- output -----------------------------------------------------------------
    def summary(self):
        roles = {}
        for res in self.pools.values():
            role = res.effective.get("role")
            entry = roles.setdefault(role, {"pools": 0, "instances": 0})
            entry["pools"] += 1
            count = res.effective.get("count")
            entry["instances"] += count if isinstance(count, int) else 0
        return {
            "kinds": dict((kind, len(self.by_kind(kind))) for kind in KINDS),
            "roles": roles,
            "instances": len(self.instances()),
            "files": list(self.files),
        }

    def to_dict(self, provenance=True):
        data = {"apiVersion": API_VERSION}
        for kind in KINDS:
            data[_ATTR[kind]] = dict(
                (name, res.to_dict(provenance=provenance)) for name, res in sorted(self.by_kind(kind).items()))
        data["instances"] = self.instances()
        return data

    def provenance(self):
        """``{"Kind/name": {"spec.path": source}}`` for every resource."""
        return dict((res.ref, dict(res.provenance)) for res in self.resources())

    def values(self):
        """``{"Kind/name": [{path, value, source}, ...]}``: every effective value with its source; a value
        with a warning (an acknowledged open CIDR ...) also carries ``warning``."""
        out = dict((res.ref, res.values()) for res in self.resources())
        for warning in self.warnings:
            for row in out.get(warning.resource, ()):
                if warning.path == row["path"] or warning.path.startswith(row["path"] + "["):
                    row["warning"] = "; ".join(filter(None, (row.get("warning"), warning.message)))
        return out

    def filtered(self, cluster=None, environment=None):
        """A model restricted to one environment and/or one cluster (with its environment, its
        provider and, in multi-cluster environments, the hub that holds its bastion and vault)."""
        keep_clusters = set()
        keep_envs = set()
        for cl in self.clusters.values():
            env_name = cl.effective.get("environment")
            if environment is not None and env_name != environment:
                continue
            if cluster is not None and cl.name != cluster:
                continue
            keep_clusters.add(cl.name)
            keep_envs.add(env_name)
        if environment is not None and environment in self.environments:
            keep_envs.add(environment)
        for env_name in list(keep_envs):
            hub = self.hub_of(env_name)
            if hub is not None and keep_clusters:
                keep_clusters.add(hub.name)
        sub = Model()
        sub.files = list(self.files)
        sub.warnings = list(self.warnings)
        sub.environments = dict((n, r) for n, r in self.environments.items() if n in keep_envs)
        providers = set(e.effective.get("provider") for e in sub.environments.values())
        sub.providers = dict((n, r) for n, r in self.providers.items() if n in providers)
        sub.clusters = dict((n, r) for n, r in self.clusters.items() if n in keep_clusters)
        sub.pools = dict((n, r) for n, r in self.pools.items() if r.effective.get("cluster") in keep_clusters)
        return sub
