#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubernetes_binaries
short_description: Copy Kubernetes binaries verified on the controller to a host, with a diff per binary
version_added: 0.1.0
description:
  - Installs each binary of O(binaries) (as returned by M(apron.cluster.kubernetes_artifacts) in
    RV(apron.cluster.kubernetes_artifacts#module:binaries)) as O(bin_dir)C(/<name>), owned by C(root:root),
    mode C(0755), through M(ansible.builtin.copy).
  - Compares each installed file's sha256 with the verified binary first; only a binary that is absent
    (install), has other content, e.g. another version (replace), or another owner or mode (fix) is copied.
  - This is an action plugin; the binaries are read on the controller.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
attributes:
  action:
    support: full
    description: Runs on the controller, copying files to the host.
  check_mode:
    support: full
    details:
      - Reports, and with C(--diff) shows, what would be installed, replaced or fixed; copies nothing.
  diff_mode:
    support: full
    details:
      - "One line per binary: before C(<name>: absent) or C(<name>: sha256:<old> <mode> <owner>:<group>), after
        C(<name>: sha256:<new> 0755 root:root (Kubernetes <version>))."
  idempotent:
    support: full
options:
  binaries:
    description:
      - Per binary name, C(src) (the file on the controller) and C(sha256) (its hex digest).
    type: dict
    required: true
  bin_dir:
    description: Directory on the host to install into (must exist).
    type: path
    required: true
  version:
    description: The Kubernetes version of the binaries (shown in the diff).
    type: str
    required: true
seealso:
  - module: apron.cluster.kubernetes_artifacts
  - module: apron.cluster.kubernetes_binaries_status
"""

EXAMPLES = r"""
- name: Install the verified binaries
  apron.cluster.kubernetes_binaries:
    binaries: "{{ release.binaries }}"
    bin_dir: /usr/local/bin
    version: 1.36.0
"""

RETURN = r"""
binaries:
  description: Per binary, C(name), C(action) (C(install), C(replace), C(fix) or C(keep)), C(before) and C(after).
  returned: success
  type: list
  elements: dict
installed:
  description: The names installed, replaced or fixed in this run (in check mode, that would be).
  returned: success
  type: list
  elements: str
"""
