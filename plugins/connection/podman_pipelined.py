# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: podman_pipelined
author:
  - apron maintainers (@apron-io)
short_description: Run tasks in a podman container with pipelining and a persistent exec channel
description:
  - The C(containers.podman.podman) connection with Ansible pipelining. The module is sent on
    the standard input of the command instead of being copied into the container, made
    executable, run and deleted (four C(podman) calls per task).
  - With O(persistent) (the default) commands go through one long-lived
    C(podman exec --interactive) per container and user, held by a small process on the
    controller that serves it on a Unix socket (0600, in a 0700 directory per controller user)
    and ends after O(persist_seconds) without use or when the container stops, like SSH's
    C(ControlPersist). A task then costs no C(podman) process at all; the container's file system
    is mounted only for tasks that transfer files. A command that could not be handed to the
    channel runs with a plain C(podman exec --interactive); one that was handed over is never
    run twice.
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
  persistent:
    description:
      - Run commands through one persistent exec channel per container and user (needs
        C(python3) in the container).
      - Set V(false) for one C(podman exec) per command.
    type: boolean
    default: true
    env:
      - name: APRON_PODMAN_PERSISTENT
    vars:
      - name: apron_podman_persistent
  persist_seconds:
    description: How long an unused channel stays open.
    type: float
    default: 60
    env:
      - name: APRON_PODMAN_PERSIST_SECONDS
    vars:
      - name: apron_podman_persist_seconds
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

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.process import get_bin_path
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible.utils.display import Display
from ansible_collections.apron.cluster.plugins.plugin_utils import _podman_channel as channel
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

display = Display()


class Connection(PodmanConnection):
    """containers.podman.podman, with modules piped to ``podman exec --interactive``."""

    transport = "apron.cluster.podman_pipelined"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._mounted = False

    def _connect(self):
        # The parent mounts the container's file system here, one more podman call per task;
        # only file transfers need it, so they mount on first use (_ensure_mount).
        ConnectionBase._connect(self)
        self._connected = True
        return self

    def _ensure_mount(self):
        if not self._mounted:
            self._mounted = True
            PodmanConnection._connect(self)

    def put_file(self, in_path, out_path):
        self._ensure_mount()
        return super(Connection, self).put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        self._ensure_mount()
        return super(Connection, self).fetch_file(in_path, out_path)

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        if in_data is None and not self.get_option("persistent"):
            return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        # ConnectionBase.exec_command only logs; the podman parent's would drop stdin
        # (its `podman exec` has no --interactive), which is why it disables pipelining.
        super(PodmanConnection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        argv = shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        args = ["exec", "--interactive"]
        if self.user:
            args.extend(("--user", self.user))
        if self.get_option("persistent"):
            result = self._exec_in_channel(args, argv, in_data)
            if result is not None:
                return result
        return self._podman(args, argv, in_data)

    def _exec_in_channel(self, exec_args, argv, in_data):
        """(rc, stdout, stderr) through the persistent channel; None when it cannot take the command."""
        podman = get_bin_path(self.get_option("podman_executable"))
        holder_cmd = [podman] + shlex.split(to_native(self.get_option("podman_extra_args") or "")) + exec_args
        holder_cmd.append(self._container_id)
        path = channel.socket_path(holder_cmd, self.user)
        try:
            try:
                result = channel.request(path, argv, to_bytes(in_data) if in_data is not None else None)
            except channel.ChannelUnavailable:
                channel.ensure_holder(path, holder_cmd, self.get_option("persist_seconds"))
                result = channel.request(path, argv, to_bytes(in_data) if in_data is not None else None)
        except channel.ChannelUnavailable as exc:
            display.vvv("persistent channel unavailable (%s); plain podman exec" % exc, host=self._container_id)
            return None
        except channel.ChannelBroken as exc:
            raise AnsibleConnectionFailure("podman container %s: %s" % (self._container_id, exc))
        display.vvv("RUN (persistent channel %s) %s" % (path, argv), host=self._container_id)
        return result
