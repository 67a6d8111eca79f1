# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Discovery backend ``static``: the hosts listed in the model's pools (``InstancePool.spec.hosts``,
``[{name, address, zone}]``). The n-th host is member n of the pool; declared members without a
host entry are missing. Controller only, no I/O beyond the model."""
from __future__ import annotations

from ansible_collections.apron.cluster.plugins.plugin_utils._discovery import Discovery, record


def discover(model):
    found = []
    for name in model.pools:
        pool = model.pools[name]
        cluster = model.cluster_of(pool)
        env = model.environment_of(cluster) if cluster is not None else None
        zones = pool.effective.get("zones") or []
        for index, host in enumerate(pool.effective.get("hosts") or []):
            if not isinstance(host, dict):
                continue
            address = host.get("address")
            found.append(record(
                name="%s-%d" % (name, index),
                hostname=host.get("name") or None,
                environment=env.name if env is not None else None,
                cluster=cluster.name if cluster is not None else None,
                pool=name,
                role=pool.effective.get("role"),
                zone=host.get("zone") or (zones[index % len(zones)] if zones else None),
                index=index,
                private_address=address,
                public_address=address,
                source="%s: InstancePool/%s spec.hosts[%d]" % (pool.file, name, index),
            ))
    query = {"backend": "static", "pools": sorted(model.pools)}
    return Discovery("static", found, [], [], {"hosts": len(found)}, query)
