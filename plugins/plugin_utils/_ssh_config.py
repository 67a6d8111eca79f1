# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The OpenSSH client configuration of an environment (playbooks/ssh-config.yml), from the
instance_pools inventory's host variables: one ``Host`` block per host, private hosts with a
``ProxyJump`` through their bastion, the inventory's identity file and pinned known_hosts."""

from __future__ import annotations

import re

from ansible_collections.apron.cluster.plugins.plugin_utils._status import StatusError

_SAFE = re.compile(r"^[A-Za-z0-9_.@%+=:,/~-]+$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _value(text):
    text = str(text)
    if '"' in text or "\n" in text:
        raise StatusError("%r cannot be written into an OpenSSH configuration (quote or newline)" % text)
    return text if _SAFE.match(text) else '"%s"' % text


def _host_block(name, hvars):
    apron = hvars.get("apron")
    if not isinstance(apron, dict):
        raise StatusError("host %s has no 'apron' variable: expected a host of the apron.cluster.instance_pools "
                          "inventory" % name)
    if not _NAME.match(name):
        raise StatusError("host name %r: expected letters, digits, '.', '_' or '-' (an OpenSSH Host pattern)" % name)
    ssh = apron.get("ssh") or {}
    address = hvars.get("ansible_host") or apron.get("private_address")
    if not address:
        raise StatusError("host %s has no address (ansible_host / apron.private_address)" % name)
    lines = ["Host %s" % name, "  HostName %s" % _value(address)]
    if hvars.get("ansible_port"):
        lines.append("  Port %d" % int(hvars["ansible_port"]))
    if hvars.get("ansible_user"):
        lines.append("  User %s" % _value(hvars["ansible_user"]))
    if hvars.get("ansible_ssh_private_key_file"):
        lines += ["  IdentityFile %s" % _value(hvars["ansible_ssh_private_key_file"]), "  IdentitiesOnly yes"]
    known_hosts = ssh.get("known_hosts_file")
    if known_hosts:
        # the stacks record every instance's host keys there: pinned, nothing is accepted blindly
        lines += ["  UserKnownHostsFile %s" % _value(known_hosts), "  StrictHostKeyChecking yes"]
    elif ssh.get("host_key_checking"):
        lines.append("  StrictHostKeyChecking %s" % ssh["host_key_checking"])
    if ssh.get("jump_host"):
        lines.append("  ProxyJump %s" % ssh["jump_host"])
    return lines


def ssh_config(hostvars, hosts, header=None):
    """The configuration text for ``hosts`` (bastions first, then by name); jump hosts must be among them."""
    if not (hasattr(hostvars, "keys") and hasattr(hostvars, "get")):
        raise StatusError("hostvars is a %s: expected a mapping" % type(hostvars).__name__)
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise StatusError("hosts is %r: expected a list of inventory host names" % (hosts,))
    names = sorted(set(str(h) for h in hosts))
    blocks = {}
    for name in names:
        try:
            hvars = hostvars[name]
        except KeyError:
            raise StatusError("host %r is not in hostvars: expected an inventory host name" % name)
        blocks[name] = (hvars.get("apron") or {}).get("role"), _host_block(name, hvars)
    for name, (role, lines) in blocks.items():
        jump = [line.split()[1] for line in lines if line.startswith("  ProxyJump ")]
        if jump and jump[0] not in blocks:
            raise StatusError("host %s jumps through %s, which is not among the hosts: include the bastion"
                              % (name, jump[0]))
    ordered = sorted(blocks, key=lambda n: (blocks[n][0] != "bastion", n))
    out = []
    if header:
        out += ["# %s" % line for line in str(header).splitlines()]
    for name in ordered:
        out += blocks[name][1] + [""]
    return "\n".join(out)
