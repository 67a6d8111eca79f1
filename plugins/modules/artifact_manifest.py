#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: artifact_manifest
short_description: Write the list of every artifact and image the clusters of a model need, for mirroring
version_added: 0.1.0
description:
  - Computes, from the resolved cluster model (RV(apron.cluster.cluster_model#module:model)), every file
    (Kubernetes server and node tarballs per cluster version, crictl, CNI plugins, the etcd release when
    the etcd role installs a pinned release) and every container image (pause, CoreDNS, Calico) the
    clusters need, with its upstream URL and checksum, from the collection's release manifest.
  - Writes C(artifacts.json) (the whole plan) and C(urls.txt) (one URL or image reference a line) into
    O(dest), for an air-gapped user to mirror. See C(docs/artifacts.md) for the offline directory layout.
  - An artifact whose checksum is not published in the release manifest is marked
    C(checksum_status=no published checksum) with the reason and the input that supplies it; one whose
    version is not pinned is marked C(unpinned) and left out of C(urls.txt).
  - A cluster with a Kubernetes version outside the supported minors fails, naming the field and the list.
  - Run it on the controller.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is written; C(changed) tells whether a file would change.
  diff_mode:
    support: full
    details:
      - The diff shows C(artifacts.json) and C(urls.txt) before and after.
  idempotent:
    support: full
options:
  model:
    description:
      - The resolved model, as returned in RV(apron.cluster.cluster_model#module:model).
    type: dict
    required: true
  dest:
    description:
      - Directory to write C(artifacts.json) and C(urls.txt) into. Created (mode C(0755)) when missing.
    type: path
    required: true
  arch:
    description:
      - CPU architecture of the hosts.
    type: str
    choices: [amd64, arm64]
    default: amd64
  etcd_release_version:
    description:
      - The etcd role's C(etcd_release_version) when it installs a pinned release; empty for the Debian package.
    type: str
    default: ""
  etcd_release_sha256:
    description:
      - The etcd role's C(etcd_release_sha256).
    type: str
    default: ""
  overrides:
    description:
      - The user's pins, keyed by name. C(kubernetes-<version>) takes C(checksums) (a dict C(server-<arch>) /
        C(node-<arch>) to a sha512 checksum); C(crictl) and C(cni-plugins) take C(version) and C(checksum);
        C(pause), C(coredns) and C(calico) take C(version) and optionally C(digest).
      - A checksum is a hex digest or C(<algorithm>:<hex>) (sha256 or sha512).
    type: dict
    default: {}
  require_checksums:
    description:
      - Fail when any artifact is unpinned or has no checksum (published or supplied), listing the inputs to set.
    type: bool
    default: false
notes:
  - The supported Kubernetes minors, the pinned versions and the source of every checksum are in
    C(plugins/module_utils/_kubernetes_releases.py) and C(docs/artifacts.md).
seealso:
  - module: apron.cluster.cluster_model
"""

EXAMPLES = r"""
- name: Resolve the model
  apron.cluster.cluster_model:
    path: ["{{ playbook_dir }}/../inventories/local/model"]
  register: apron_model

- name: Write the artifact manifest to mirror
  apron.cluster.artifact_manifest:
    model: "{{ apron_model.model }}"
    dest: "{{ playbook_dir }}/../.apron/artifacts"
    overrides:
      crictl: {version: "1.35.0", checksum: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
  register: apron_artifacts

- name: Refuse anything without a checksum
  apron.cluster.artifact_manifest:
    model: "{{ apron_model.model }}"
    dest: /srv/mirror
    etcd_release_version: 3.5.1
    etcd_release_sha256: "{{ lookup('ansible.builtin.file', '/srv/mirror/etcd-v3.5.1-linux-amd64.tar.gz.sha256') }}"
    require_checksums: true
"""

RETURN = r"""
plan:
  description: The whole plan, as written to C(artifacts.json).
  returned: success
  type: dict
  contains:
    kubernetes:
      description: The Kubernetes version of every cluster that runs masters or workers.
      type: dict
    files:
      description:
        - One entry per file, with C(name), C(version), C(url), C(filename), C(checksum) (C(<algorithm>:<hex>)
          or null), C(checksum_status) (C(published), C(user-supplied), C(no published checksum), C(unpinned)),
          C(reason) and C(checksum_field) when there is no checksum, C(clusters), C(roles), C(source),
          C(offline_path) (the path in the offline artifacts directory, see C(docs/artifacts.md)).
      type: list
      elements: dict
    images:
      description: One entry per image, with C(image), C(version), C(digest), C(checksum_status), C(clusters), C(roles), C(offline_path).
      type: list
      elements: dict
  sample:
    kubernetes: {dev: 1.36.0}
    files:
      - name: kubernetes-server
        version: 1.36.0
        url: https://dl.k8s.io/v1.36.0/kubernetes-server-linux-amd64.tar.gz
        checksum: "sha512:1c64da92..."
        checksum_status: published
        clusters: [dev]
        roles: [master]
    images: []
unverified:
  description: Artifacts with no checksum, each with C(name), C(artifact), C(field) (the input to set) and C(reason).
  returned: success
  type: list
  elements: dict
unpinned:
  description: Artifacts whose version the release manifest does not pin, with the input to set.
  returned: success
  type: list
  elements: dict
urls:
  description: The lines of C(urls.txt).
  returned: success
  type: list
  elements: str
files:
  description: The paths of C(artifacts.json) and C(urls.txt).
  returned: success
  type: list
  elements: str
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apron.cluster.plugins.module_utils._artifact_plan import (
    ArtifactPlanError,
    plan_artifacts,
    url_list,
)

JSON_NAME = "artifacts.json"
URLS_NAME = "urls.txt"


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


class ArtifactManifest(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def plan(self):
        etcd = None
        if self.params["etcd_release_version"]:
            etcd = {"version": self.params["etcd_release_version"], "checksum": self.params["etcd_release_sha256"]}
        plan = plan_artifacts(self.params["model"], arch=self.params["arch"], etcd=etcd,
                              overrides=self.params["overrides"])
        missing = plan["unverified"] + plan["unpinned"]
        if self.params["require_checksums"] and missing:
            raise ArtifactPlanError("require_checksums: %d artifact(s) have no checksum or no pinned version:\n%s" % (
                len(missing), "\n".join("- %s: set %s (%s)" % (m["artifact"], m["field"], m["reason"]) for m in missing)))
        return plan

    def write(self, path, content):
        tmp_fd, tmp_path = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".apron-artifacts-")
        with os.fdopen(tmp_fd, "w") as handle:
            handle.write(content)
        os.chmod(tmp_path, 0o644)
        self.module.atomic_move(tmp_path, path)

    def run(self):
        plan = self.plan()
        dest = self.params["dest"]
        urls = url_list(plan)
        wanted = {
            os.path.join(dest, JSON_NAME): json.dumps(plan, indent=2, sort_keys=True) + "\n",
            os.path.join(dest, URLS_NAME): "".join(line + "\n" for line in urls),
        }
        current = dict((path, _read(path)) for path in wanted)
        changed_paths = sorted(path for path, content in wanted.items() if current[path] != content)
        result = {"changed": bool(changed_paths), "plan": plan, "unverified": plan["unverified"],
                  "unpinned": plan["unpinned"], "urls": urls, "files": sorted(wanted)}
        if self.module._diff:
            result["diff"] = [{"before_header": path, "after_header": path, "before": current[path] or "",
                               "after": wanted[path]} for path in changed_paths]
        if changed_paths and not self.module.check_mode:
            if not os.path.isdir(dest):
                os.makedirs(dest, 0o755)
            for path in changed_paths:
                self.write(path, wanted[path])
        missing = plan["unverified"] + plan["unpinned"]
        if missing:
            self.module.warn("%d artifact(s) without a checksum or a pinned version (see unverified / unpinned): set %s" % (
                len(missing), ", ".join(sorted(set(m["field"] for m in missing)))))
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            model=dict(type="dict", required=True),
            dest=dict(type="path", required=True),
            arch=dict(type="str", choices=["amd64", "arm64"], default="amd64"),
            etcd_release_version=dict(type="str", default=""),
            etcd_release_sha256=dict(type="str", default=""),
            overrides=dict(type="dict", default={}),
            require_checksums=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        ArtifactManifest(module).run()
    except ArtifactPlanError as exc:
        module.fail_json(msg="apron.cluster.artifact_manifest: %s" % exc)
    except (IOError, OSError) as exc:
        module.fail_json(msg="apron.cluster.artifact_manifest: cannot write into dest %s: %s" % (module.params["dest"], exc))


if __name__ == "__main__":
    main()
