# -*- coding: utf-8 -*-
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: podman_pipelined
author:
  - apron maintainers (@apron-io)
short_description: Run tasks in a podman container with pipelining
description:
  - The C(containers.podman.podman) connection with Ansible pipelining. The module is sent on
    the standard input of one C(podman exec --interactive) instead of being copied into the
    container, made executable, run and deleted (four C(podman) calls per task).
  - Used by apron's Molecule scenarios (podman systemd containers), where it makes a no-change
    run several times faster. Everything else (file transfer through the container's mount,
    C(remote_user)) is inherited from C(containers.podman.podman).
requirements:
  - the C(containers.podman) collection and the C(podman) executable on the controller
options:
  remote_addr:
    description: Name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: User (name or UID) that runs the commands in the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments to pass to the podman command line.
    default: ''
    ini:
      - section: defaults
        key: podman_extra_args
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description: Executable for the podman command.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description:
      - Send modules on the standard input of C(podman exec --interactive).
      - Set V(false) to fall back to the file-copy behaviour of C(containers.podman.podman).
    type: boolean
    default: true
    ini:
      - section: defaults
        key: pipelining
      - section: connection
        key: pipelining
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
"""

EXAMPLES = r"""
# molecule.yml (provisioner section): every instance of the podman driver uses it
# provisioner:
#   connection_options:
#     ansible_connection: apron.cluster.podman_pipelined

# inventory
# [containers]
# web-1 ansible_connection=apron.cluster.podman_pipelined
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection


class Connection(PodmanConnection):
    """containers.podman.podman, with modules piped to ``podman exec --interactive``."""

    transport = "apron.cluster.podman_pipelined"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        if in_data is None:
            return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        # ConnectionBase.exec_command only logs; the podman parent's would drop stdin
        # (its `podman exec` has no --interactive), which is why it disables pipelining.
        super(PodmanConnection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec", "--interactive"]
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
