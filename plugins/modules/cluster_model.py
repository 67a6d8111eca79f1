#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_model
short_description: Load, validate and resolve an apron.io/v1alpha1 cluster model
version_added: 0.1.0
description:
  - Reads the declarative cluster model (C(Provider), C(Environment), C(Cluster), C(InstancePool)
    documents with C(apiVersion) V(apron.io/v1alpha1)) from files and directories, checks it against
    the JSON Schema and the semantic rules, and resolves inheritance
    (built-in defaults, C(Environment.spec.defaults), the resource's own C(spec)).
  - Reports B(every) problem at once; each names the file, the resource, the field path, the bad
    value (as YAML) and what was expected. Errors that follow from another one (a reference to a
    misspelt or rejected resource, a count that a broken pool upsets) are marked with the error they
    follow from and listed after the root errors.
  - Warns (and returns RV(model_warnings)) about allowed but risky content, such as an empty model file
    or a CIDR open to the whole internet that the model acknowledges (C(acknowledgeOpenToInternet)).
  - Never changes anything. Run it on the controller (C(localhost)); the model files are read
    where the module runs.
  - See C(docs/model.md) in the collection for the model reference.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.info_module
options:
  path:
    description:
      - Model files and/or directories. A directory contributes its C(*.yml) and C(*.yaml) files
        (sorted, not recursive); a file may hold several YAML documents.
      - Use absolute paths, for example built from C(playbook_dir) or with the C(ansible.builtin.realpath)
        filter, because the module does not run in the directory the playbook was started from.
    type: list
    elements: path
    required: true
  cluster:
    description:
      - Return only this cluster, its pools, its environment and provider (and, in a multi-cluster
        environment, the hub that holds its bastion and vault).
      - The whole model is validated regardless.
    type: str
  environment:
    description:
      - Return only this environment with its provider, clusters and pools.
      - The whole model is validated regardless.
    type: str
  show_provenance:
    description:
      - Include in each resource of RV(model) the source of every effective value
        (C(builtin:...), C(Environment/<name> (file:line)), C(InstancePool/<name> (file:line)), C(computed:...)).
      - RV(provenance) is returned in any case.
    type: bool
    default: false
notes:
  - Instance names are C(<pool>-<index>) with the index from 0 up to the pool's desired C(count);
    zones are assigned round-robin over the pool's zones (RV(instances)).
seealso:
  - name: The cluster model reference
    description: docs/model.md in the collection.
    link: https://github.com/apron-io/apron.cluster/blob/main/docs/model.md
"""

EXAMPLES = r"""
- name: Validate and resolve the local example model
  apron.cluster.cluster_model:
    path:
      - "{{ playbook_dir }}/../inventories/local/model"
  register: apron_model_result

- name: Only the cluster blue of a multi-cluster environment (and its hub), with value sources
  apron.cluster.cluster_model:
    path: ["{{ playbook_dir }}/../inventories/aws-example/multi/model"]
    cluster: blue
    show_provenance: true
  register: apron_blue

- name: Show where the etcd count comes from
  ansible.builtin.debug:
    msg: "{{ apron_model_result.provenance['InstancePool/dev-etcd']['spec.count'] }}"
"""

RETURN = r"""
model:
  description:
    - The resolved model, JSON-serialisable. Keys C(providers), C(environments), C(clusters),
      C(pools) map a name to C({kind, name, file, line, metadata, spec}) where C(spec) is the
      B(effective) spec (with C(provenance) when O(show_provenance=true)); C(instances) lists the
      declared instances.
  returned: success
  type: dict
  sample:
    apiVersion: apron.io/v1alpha1
    providers:
      local:
        kind: Provider
        name: local
        file: inventories/local/model/provider.yml
        line: 4
        metadata: {name: local}
        spec: {type: local, local: {image: "localhost/apron-debian:bookworm", sshPort: 2222}}
    environments: {}
    clusters: {}
    pools: {}
    instances:
      - {name: dev-etcd-0, environment: dev, cluster: dev, pool: dev-etcd, role: etcd, zone: local-a, index: 0}
provenance:
  description: For every resource C(Kind/name), the source of every effective value by field path.
  returned: success
  type: dict
  sample:
    InstancePool/dev-etcd:
      spec.count: InstancePool/dev-etcd (inventories/local/model/pool-dev-etcd.yml:11)
      spec.size: builtin:role/etcd
instances:
  description: The declared instances (C(<pool>-<index>), zone round-robin over the pool's zones).
  returned: success
  type: list
  elements: dict
  sample:
    - {name: dev-etcd-1, environment: dev, cluster: dev, pool: dev-etcd, role: etcd, zone: local-b, index: 1}
effective_values:
  description:
    - For every resource C(Kind/name), every effective value (leaves; a list is one value) with its
      source, in a stable order. This is what C(playbooks/validate.yml) prints.
    - A value with a warning (an acknowledged open CIDR) also has C(warning).
  returned: success
  type: dict
  sample:
    InstancePool/dev-etcd:
      - {path: spec.count, value: 3, source: "InstancePool/dev-etcd (inventories/local/model/pool-dev-etcd.yml:11)"}
      - {path: spec.size, value: small, source: "builtin:role/etcd"}
summary:
  description: Resource counts per kind, pools and instances per role, the files read.
  returned: success
  type: dict
  sample:
    kinds: {Provider: 1, Environment: 1, Cluster: 1, InstancePool: 5}
    roles: {etcd: {pools: 1, instances: 3}}
    instances: 7
    files: [inventories/local/model/cluster.yml]
model_warnings:
  description: The warnings about the model (each is also shown as an Ansible warning).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The model file.
      type: str
    line:
      description: The line of the field, when known.
      type: int
    resource:
      description: C(Kind/name) of the resource, when known.
      type: str
    path:
      description: The field path (empty for a whole file).
      type: str
    value:
      description: The value concerned.
      type: raw
    message:
      description: What is worth a second look.
      type: str
  sample:
    - file: model/provider.yml
      line: 12
      resource: Provider/aws
      path: spec.amazon.adminCIDRs[0]
      value: 0.0.0.0/0
      message: SSH to the bastion is open to the whole internet (acknowledged by spec.amazon.acknowledgeOpenToInternet)
errors:
  description:
    - On an invalid model, every problem found, root errors first (the task fails; its C(msg) only
      counts them, so that each error is printed once).
  returned: failure
  type: list
  elements: dict
  contains:
    file:
      description: The model file.
      type: str
    line:
      description: The line in O(path) of the offending field (or of its document), when known.
      type: int
    resource:
      description: C(Kind/name) of the resource, when known.
      type: str
    path:
      description: The field path, for example C(spec.network.zones[1].privateCIDR).
      type: str
    value:
      description: The offending value (null if the field is missing).
      type: raw
    expected:
      description: What was expected instead.
      type: str
    missing:
      description: Whether the field is missing.
      type: bool
    follows:
      description:
        - For a follow-on error, where the root error it follows from is (its file, line and field path, as
          C(model/pools.yml:12 spec.role) but with a colon before the path); fix that one first. Null for a
          root error.
      type: str
  sample:
    - file: model/pools.yml
      line: 12
      resource: InstancePool/dev-etcd
      path: spec.count
      value: 2
      expected: "an odd count (1, 3, 5...): etcd needs a quorum"
      missing: false
      follows: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apron.cluster.plugins.module_utils._model import (
    ModelValidationError,
    load_model,
)
from ansible_collections.apron.cluster.plugins.module_utils._model_errors import count_text


class ClusterModel(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def warn(self, warnings):
        for warning in warnings:
            self.module.warn("cluster model: %s" % warning)
        return [warning.to_dict() for warning in warnings]

    def run(self):
        try:
            model = load_model(self.params["path"])
        except ModelValidationError as exc:
            warnings = self.warn(exc.warnings)
            # Ansible prints msg twice (the error line and the result): the list is in errors only
            self.module.fail_json(
                msg="invalid cluster model: %s (each listed under errors)" % count_text(exc.errors),
                errors=[err.to_dict() for err in exc.errors],
                model_warnings=warnings,
            )
        warnings = self.warn(model.warnings)
        cluster = self.params["cluster"]
        environment = self.params["environment"]
        if cluster is not None and cluster not in model.clusters:
            self.module.fail_json(msg="cluster %s is not in the model (known: %s)" % (
                cluster, ", ".join(sorted(model.clusters)) or "none"), model_warnings=warnings)
        if environment is not None and environment not in model.environments:
            self.module.fail_json(msg="environment %s is not in the model (known: %s)" % (
                environment, ", ".join(sorted(model.environments)) or "none"), model_warnings=warnings)
        if cluster is not None and environment is not None:
            owner = model.clusters[cluster].effective.get("environment")
            if owner != environment:
                self.module.fail_json(msg="cluster %s belongs to environment %s, not %s" % (cluster, owner, environment),
                                      model_warnings=warnings)
        if cluster is not None or environment is not None:
            model = model.filtered(cluster=cluster, environment=environment)
        data = model.to_dict(provenance=self.params["show_provenance"])
        self.module.exit_json(
            changed=False,
            model=data,
            provenance=model.provenance(),
            instances=data["instances"],
            summary=model.summary(),
            effective_values=model.values(),
            model_warnings=warnings,
        )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="list", elements="path", required=True),
            cluster=dict(type="str"),
            environment=dict(type="str"),
            show_provenance=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    ClusterModel(module).run()


if __name__ == "__main__":
    main()
