#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubernetes_artifacts
short_description: Verify a pinned Kubernetes release tarball on the controller and unpack the wanted binaries
version_added: 0.1.0
description:
  - Run on the controller (C(delegate_to=localhost), C(run_once)) before anything is copied to a host;
    the C(binaries) entry point of the C(apron.cluster.kubernetes) role does.
  - Chooses, from the collection's release manifest, the smallest upstream tarball that carries every
    binary of O(wanted) (C(kubernetes-node-linux-<arch>.tar.gz) for C(kubelet), C(kube-proxy), C(kubectl);
    C(kubernetes-server-linux-<arch>.tar.gz) otherwise) and its checksum (published, or from O(overrides)).
  - With O(source=offline) reads the tarball from O(artifacts_dir) (layout in C(docs/artifacts.md)); with
    O(source=url) downloads it into O(cache_dir) unless a verified copy is there. Either way the tarball is
    checked against the checksum, then the wanted binaries are unpacked into O(cache_dir) (kept while they
    still match), ready to be copied to the hosts.
  - With O(source=preinstalled) only the version and the names are checked; nothing is read or downloaded.
  - Refuses, naming the variable to fix, an unsupported O(version), a tarball without a checksum, a missing
    offline file, a wrong checksum and a failed download. It never changes a host.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
attributes:
  check_mode:
    support: full
    details:
      - The checks run in check mode too. Verifying needs the file, so a download and the unpacking into the
        controller's cache happen in check mode as well; no host is touched either way.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run finds the verified tarball and binaries in the cache, downloads and unpacks nothing, and
        reports C(changed=false).
options:
  version:
    description: Kubernetes version C(x.y.z) (the role's C(kubernetes_version)); its minor must be supported.
    type: str
    required: true
  arch:
    description: CPU architecture of the hosts (the role's C(kubernetes_arch)).
    type: str
    choices: [amd64, arm64]
    default: amd64
  wanted:
    description: The binaries to install (the role's C(kubernetes_binaries_wanted)).
    type: list
    elements: str
    required: true
  source:
    description:
      - C(url) downloads from the manifest's upstream URL, C(offline) reads O(artifacts_dir), C(preinstalled)
        expects the binaries on the hosts (the role's C(kubernetes_artifacts_source)).
    type: str
    choices: [url, offline, preinstalled]
    default: url
  artifacts_dir:
    description: The offline artifacts directory on the controller (the role's C(kubernetes_artifacts_dir)).
    type: path
    default: ""
  cache_dir:
    description:
      - The controller's artifact cache (the role's C(kubernetes_artifacts_cache_dir)). Empty means
        C($XDG_CACHE_HOME/apron/artifacts), or C(~/.cache/apron/artifacts).
    type: path
    default: ""
  overrides:
    description:
      - The user's pins (the role's C(kubernetes_artifact_overrides), by default C(apron_artifact_overrides)).
        C(kubernetes-<version>) takes C(checksums), a dict of C(server-<arch>) / C(node-<arch>) to a sha512
        checksum (C(sha512:<hex>) or the bare hex digest); see C(docs/artifacts.md).
    type: dict
    default: {}
  timeout:
    description: Seconds to wait for the download server.
    type: int
    default: 60
notes:
  - The supported minors, pinned versions and published checksums are in
    C(plugins/module_utils/_kubernetes_releases.py); C(docs/artifacts.md) lists them.
seealso:
  - module: apron.cluster.kubernetes_binaries_status
  - module: apron.cluster.artifact_manifest
"""

EXAMPLES = r"""
- name: Verify the node tarball in the offline directory and unpack kubelet, kube-proxy and kubectl
  apron.cluster.kubernetes_artifacts:
    version: 1.36.0
    arch: amd64
    wanted: [kubelet, kube-proxy, kubectl]
    source: offline
    artifacts_dir: /srv/apron-artifacts
  delegate_to: localhost
  run_once: true
  register: release

- name: Copy kubelet to the host
  ansible.builtin.copy:
    src: "{{ release.binaries.kubelet.src }}"
    dest: /usr/local/bin/kubelet
    owner: root
    group: root
    mode: "0755"
"""

RETURN = r"""
wanted:
  description: The wanted binary names, deduplicated, in order.
  returned: always
  type: list
  elements: str
tarball:
  description:
    - The tarball installed from (empty for O(source=preinstalled)) with C(name), C(kind) (C(node) or C(server)),
      C(version), C(arch), C(filename), C(url), C(checksum), C(checksum_status), C(offline_path), C(members)
      (binary to member path) and C(path) (the verified file on the controller).
  returned: always
  type: dict
  sample:
    kind: node
    filename: kubernetes-node-linux-amd64.tar.gz
    url: https://dl.k8s.io/v1.36.0/kubernetes-node-linux-amd64.tar.gz
    checksum: "sha512:8bba5bd0..."
    members: {kubelet: kubernetes/node/bin/kubelet}
binaries:
  description: Per wanted binary, C(src) (the unpacked file on the controller), C(sha256) and C(member). Empty for
    O(source=preinstalled).
  returned: always
  type: dict
  sample: {kubelet: {src: /root/.cache/apron/artifacts/kubernetes/v1.36.0/bin-node-linux-amd64/kubelet,
           sha256: "0f1e...", member: kubernetes/node/bin/kubelet}}
downloaded:
  description: Whether the tarball was downloaded in this run.
  returned: always
  type: bool
cache_dir:
  description: The controller's artifact cache used.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

from ansible_collections.apron.cluster.plugins.module_utils._artifact_plan import (
    ArtifactPlanError,
    check_kubernetes_version,
    check_wanted,
    kubernetes_binaries_tarball,
)
from ansible_collections.apron.cluster.plugins.module_utils._artifact_store import (
    CHUNK,
    cached_download,
    default_cache_dir,
    offline_tarball,
    unpack_members,
    unpacked_dir,
)


class KubernetesArtifacts(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def fetch(self, url, handle):
        response, info = fetch_url(self.module, url, timeout=self.params["timeout"])
        if response is None or info.get("status") != 200:
            raise IOError("%s%s" % (("HTTP %s: " % info["status"]) if info.get("status", -1) > 0 else "",
                                    info.get("msg") or "no response"))
        for chunk in iter(lambda: response.read(CHUNK), b""):
            handle.write(chunk)

    def run(self):
        params = self.params
        cache_dir = params["cache_dir"] or default_cache_dir()
        result = {"changed": False, "tarball": {}, "binaries": {}, "downloaded": False, "cache_dir": cache_dir}
        if params["source"] == "preinstalled":
            check_kubernetes_version(params["version"], "kubernetes_version")
            result["wanted"] = check_wanted(params["wanted"])
            return result
        entry = kubernetes_binaries_tarball(params["version"], params["arch"], params["wanted"], params["overrides"])
        result["wanted"] = list(entry["members"])
        if params["source"] == "offline":
            path = offline_tarball(params["artifacts_dir"], entry)
        else:
            path, result["downloaded"] = cached_download(cache_dir, entry, self.fetch)
        entry["path"] = path
        # unpacked into the cache for both sources (never into the user's offline directory)
        target = unpacked_dir(os.path.join(cache_dir, entry["offline_path"]), entry)
        result["binaries"], unpacked = unpack_members(path, entry["checksum"], entry["members"], target)
        result["tarball"] = entry
        result["changed"] = result["downloaded"] or unpacked
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            version=dict(type="str", required=True),
            arch=dict(type="str", choices=["amd64", "arm64"], default="amd64"),
            wanted=dict(type="list", elements="str", required=True),
            source=dict(type="str", choices=["url", "offline", "preinstalled"], default="url"),
            artifacts_dir=dict(type="path", default=""),
            cache_dir=dict(type="path", default=""),
            overrides=dict(type="dict", default={}),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    try:
        result = KubernetesArtifacts(module).run()
    except ArtifactPlanError as exc:
        module.fail_json(msg="apron.cluster.kubernetes: %s" % exc)
    except (IOError, OSError) as exc:
        module.fail_json(msg="apron.cluster.kubernetes: kubernetes_artifacts_cache_dir: cannot use the cache "
                             "%s: %s" % (module.params["cache_dir"] or default_cache_dir(), exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
