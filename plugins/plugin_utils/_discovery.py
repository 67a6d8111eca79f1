# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Instance discovery for the ``apron.cluster.instance_pools`` inventory plugin (controller only).

A backend returns a :class:`Discovery`: plain, JSON-serialisable data (it is what the inventory
cache stores) with the instances it found and notes about what it could not look at (a stack
not applied yet, a state bucket that does not exist). :func:`reconcile` then matches the
instances against the model's declared pool members.

Instance records (one dict per discovered instance, the shape of the Terraform ``instances``
output, see docs/architecture.md)::

    {"name": "staging-etcd-0" or None, "environment": ..., "cluster": ..., "pool": ...,
     "role": ..., "zone": ..., "index": 0 or None, "private_address": ..., "public_address": ...,
     "ssh_host": ... or None, "ssh_port": ... or None, "instance_id": ... or None,
     "region": ... or None, "launch_time": ... or None, "source": "<where it was found>",
     "hostname": None or an explicit inventory hostname (static hosts)}
"""
from __future__ import annotations

import re

BACKENDS = ("terraform", "aws_ec2", "static")
RECORD_KEYS = ("name", "environment", "cluster", "pool", "role", "zone", "index", "private_address",
               "public_address", "ssh_host", "ssh_port", "instance_id", "region", "launch_time", "source",
               "hostname", "data_mount")
_NAME_INDEX = re.compile(r"^(?P<pool>.+)-(?P<index>0|[1-9][0-9]*)$")


class DiscoveryError(Exception):
    """A backend could not do its job (bad state file, API error other than 'not there')."""


class Discovery(object):
    """What a backend found: ``instances`` (records), ``notes`` (human-readable, reported as
    warnings), ``unapplied`` (stacks/sources not there yet) and ``stats`` (API calls, pages)."""

    def __init__(self, backend, instances=None, notes=None, unapplied=None, stats=None, query=None, untracked=None):
        self.backend = backend
        self.instances = list(instances or [])
        self.notes = list(notes or [])
        self.unapplied = list(unapplied or [])
        self.stats = dict(stats or {})
        self.query = query
        # pool name -> why this backend cannot list its members (e.g. an auto scaling group)
        self.untracked = dict(untracked or {})

    def to_dict(self):
        return {"backend": self.backend, "instances": self.instances, "notes": self.notes,
                "unapplied": self.unapplied, "stats": self.stats, "query": self.query, "untracked": self.untracked}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or not isinstance(data.get("instances"), list):
            raise ValueError("not a cached discovery")
        return cls(data.get("backend"), data["instances"], data.get("notes"), data.get("unapplied"),
                   data.get("stats"), data.get("query"), data.get("untracked"))


def record(**values):
    """A normalised instance record: every key of RECORD_KEYS, unknown keys dropped."""
    out = dict((key, values.get(key)) for key in RECORD_KEYS)
    index = out["index"]
    if index is not None and not isinstance(index, int):
        try:
            out["index"] = int(str(index), 10)
        except ValueError:
            out["index"] = None
    if isinstance(out["index"], int) and out["index"] < 0:
        out["index"] = None
    if out["ssh_port"] is not None:
        try:
            out["ssh_port"] = int(out["ssh_port"])
        except (TypeError, ValueError):
            out["ssh_port"] = None
    return out


def index_from_name(name, pool):
    """``staging-etcd-2`` in pool ``staging-etcd`` -> 2; anything else -> None."""
    if not isinstance(name, str) or not isinstance(pool, str):
        return None
    match = _NAME_INDEX.match(name)
    if match and match.group("pool") == pool:
        return int(match.group("index"))
    return None


def safe_group(name):
    """Group name part: every character outside [A-Za-z0-9_] becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))


class Member(object):
    """A discovered instance matched to a pool of the model (``__slots__``: many of them)."""

    __slots__ = ("name", "index", "record", "pool", "unexpected")

    def __init__(self, name, index, rec, pool, unexpected):
        self.name = name
        self.index = index
        self.record = rec
        self.pool = pool
        self.unexpected = unexpected


class Reconciliation(object):
    """The result of :func:`reconcile`.

    ``members``: list of Member in pool order; ``status``: pool name -> ``{declared, discovered,
    missing, unexpected}``; ``unmodelled``: records whose environment/cluster/pool is not in the
    model (not added to the inventory); ``duplicates``: records dropped because another record
    already claimed the same name."""

    def __init__(self):
        self.members = []
        self.status = {}
        self.unmodelled = []
        self.duplicates = []


def _label(rec):
    return rec.get("name") or rec.get("instance_id") or rec.get("private_address") or rec.get("source") or "?"


def reconcile(model, instances, untracked=None):
    """Match discovered ``instances`` (records) against the declared pool members of ``model``.

    * An instance belongs to pool P when its ``pool`` is in the model and its ``cluster`` and
      ``environment`` (when given) agree with P's; otherwise it is *unmodelled*.
    * Its index comes from the record, else from a ``<pool>-<index>`` name; instances without
      one (e.g. EC2 instances tagged only with the pool) take the lowest free indexes, in
      (launch time, instance id) order. Two instances claiming the same index: the second gets
      a free index too.
    * Declared members are ``<pool>-0 .. <pool>-<count-1>``; declared but not discovered ones
      are *missing*; discovered ones with an index >= count are *unexpected* (still added: they
      are real members of a modelled pool, e.g. during a scale-down).
    * Pools in ``untracked`` (pool name -> reason) are ones the backend cannot list (auto scaling
      groups in Terraform's state): their undiscovered members are not reported missing, and
      their status carries ``untracked`` with the reason.
    """
    untracked = untracked or {}
    result = Reconciliation()
    declared = {}
    for item in model.instances():
        declared.setdefault(item["pool"], []).append((item.get("host") or {}).get("name") or item["name"])
    by_pool = {}
    for rec in instances:
        pool = model.pools.get(rec.get("pool")) if isinstance(rec.get("pool"), str) else None
        if pool is None:
            result.unmodelled.append(rec)
            continue
        cluster = model.cluster_of(pool)
        env = model.environment_of(cluster) if cluster is not None else None
        if (rec.get("cluster") and (cluster is None or rec["cluster"] != cluster.name)) or \
                (rec.get("environment") and (env is None or rec["environment"] != env.name)):
            result.unmodelled.append(rec)
            continue
        by_pool.setdefault(pool.name, []).append(rec)

    for pool_name, pool in model.pools.items():
        recs = by_pool.get(pool_name, [])
        names = declared.get(pool_name, [])
        count = len(names)
        taken = {}
        waiting = []
        for rec in recs:
            index = rec.get("index")
            if index is None:
                index = index_from_name(rec.get("name"), pool_name)
            if index is None or index in taken:
                waiting.append(rec)
            else:
                taken[index] = rec
        waiting.sort(key=lambda r: (str(r.get("launch_time") or ""), str(r.get("instance_id") or ""),
                                    str(r.get("name") or "")))
        free = 0
        for rec in waiting:
            while free in taken:
                free += 1
            taken[free] = rec
        members = []
        for index in sorted(taken):
            rec = taken[index]
            members.append(Member(rec.get("hostname") or "%s-%d" % (pool_name, index), index, rec, pool, index >= count))
        result.members.extend(members)
        found = set(m.index for m in members)
        result.status[pool_name] = {
            "declared": count,
            "discovered": len(members),
            "missing": [] if pool_name in untracked else [name for i, name in enumerate(names) if i not in found],
            "unexpected": [m.name for m in members if m.unexpected],
        }
        if pool_name in untracked:
            result.status[pool_name]["untracked"] = untracked[pool_name]
    return result
