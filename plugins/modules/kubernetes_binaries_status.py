#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubernetes_binaries_status
short_description: Which wanted Kubernetes binaries a host lacks, and what that means for start or stage mode
version_added: 0.1.0
description:
  - Runs on the host after the C(binaries) entry point of C(apron.cluster.kubernetes) installed what it
    could. Sets the fact C(kubernetes_binaries_missing), the names of O(wanted) that are not an executable
    file in O(bin_dir).
  - With O(mode=start) and anything missing it fails, naming each missing file and the three ways to supply
    it (C(kubernetes_artifacts_source) C(url), C(offline) with C(kubernetes_artifacts_dir), C(preinstalled)).
  - "With O(mode=stage) it does not fail and warns C(staged without: <names>) with the same advice; the
    callers then configure everything and start nothing that needs those binaries. Never silent."
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads only. In check mode the names in O(installing) count as present (the install task would put them there).
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  wanted:
    description: The binaries the caller needs.
    type: list
    elements: str
    required: true
  bin_dir:
    description: Where they must be (the role's C(kubernetes_bin_dir)).
    type: path
    required: true
  mode:
    description: The role's C(kubernetes_mode).
    type: str
    choices: [start, stage]
    required: true
  version:
    description: The Kubernetes version, for the advice in the messages.
    type: str
    required: true
  arch:
    description: The architecture, for the advice in the messages.
    type: str
    choices: [amd64, arm64]
    default: amd64
  installing:
    description: Names the install task of this run reported as changed (in check mode, would install).
    type: list
    elements: str
    default: []
seealso:
  - module: apron.cluster.kubernetes_artifacts
"""

EXAMPLES = r"""
- name: Report the missing binaries
  apron.cluster.kubernetes_binaries_status:
    wanted: [kubelet, kube-proxy, kubectl]
    bin_dir: /usr/local/bin
    mode: stage
    version: 1.36.0
"""

RETURN = r"""
missing:
  description: The names of O(wanted) not executable in O(bin_dir).
  returned: always
  type: list
  elements: str
msg:
  description: The stage-mode notice (also a warning) when something is missing; absent otherwise.
  returned: when something is missing
  type: str
ansible_facts:
  description: C(kubernetes_binaries_missing), the same list as RV(missing).
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apron.cluster.plugins.module_utils._artifact_plan import (
    ArtifactPlanError,
    binaries_outcome,
)


def missing_binaries(wanted, bin_dir, installing=(), check_mode=False):
    """Names of ``wanted`` that are not an executable regular file in ``bin_dir``."""
    pending = set(installing) if check_mode else set()
    missing = []
    for name in wanted:
        path = os.path.join(bin_dir, name)
        if name in pending:
            continue
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            missing.append(name)
    return missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            wanted=dict(type="list", elements="str", required=True),
            bin_dir=dict(type="path", required=True),
            mode=dict(type="str", choices=["start", "stage"], required=True),
            version=dict(type="str", required=True),
            arch=dict(type="str", choices=["amd64", "arm64"], default="amd64"),
            installing=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        missing = missing_binaries(params["wanted"], params["bin_dir"], params["installing"], module.check_mode)
        outcome = binaries_outcome(params["wanted"], missing, params["mode"], params["version"], params["arch"],
                                   params["bin_dir"])
    except ArtifactPlanError as exc:
        module.fail_json(msg="apron.cluster.kubernetes: %s" % exc)
    result = {"changed": False, "missing": outcome["missing"],
              "ansible_facts": {"kubernetes_binaries_missing": outcome["missing"]}}
    if outcome["failed"]:
        module.fail_json(msg="apron.cluster.kubernetes: %s" % outcome["msg"], **result)
    if outcome["msg"]:
        result["msg"] = outcome["msg"]
        module.warn(outcome["msg"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
