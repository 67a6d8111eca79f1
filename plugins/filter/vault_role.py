# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the apron.cluster.vault role: the decisions the role takes in Python, not in Jinja.

* ``vault_config_check`` parses a rendered server configuration (HCL) with python-hcl2 on the
  controller and checks the settings the role relies on. Vault and OpenBao have no offline
  configuration checker (``operator diagnose`` also opens the storage, the seal and the listener
  ports), so this is the template's check before the file is written.
* ``vault_restart_order`` turns the members' ``/v1/sys/health`` answers into the order of a rolling
  restart (standby nodes first, the active node last) and refuses a cluster that is sealed,
  uninitialised or unhealthy.

Documented in the vault_config_check.yml and vault_restart_order.yml sidecars.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

SEALS = ("awskms", "shamir")


class VaultRoleError(Exception):
    """Bad input or a state the role refuses; the filter wrapper turns it into AnsibleFilterError."""


def _unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _normalise(value):
    """python-hcl2's output -> plain data: quotes removed from strings and block labels, the
    ``__is_block__`` and ``__comments__`` entries dropped, blocks with one label as ``{label: body}``."""
    if isinstance(value, dict):
        return {_unquote(k): _normalise(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return _unquote(value)


def parse_config(text):
    """Parse a Vault/OpenBao server configuration; raise VaultRoleError naming the syntax error."""
    if not isinstance(text, str):
        raise VaultRoleError("expected the configuration text (a string), got %s" % type(text).__name__)
    try:
        import hcl2
    except ImportError:
        raise VaultRoleError("the Python package python-hcl2 is missing on the controller "
                             "(pip install python-hcl2; it is listed in requirements.txt)")
    try:
        return _normalise(hcl2.loads(text))
    except Exception as exc:  # lark raises several error classes; all mean "not valid HCL"
        raise VaultRoleError("the rendered configuration is not valid HCL: %s" % str(exc).splitlines()[0])


def _one_block(config, kind):
    """The single labelled block of a kind (storage, seal): (label, body)."""
    blocks = config.get(kind) or []
    if not isinstance(blocks, list) or len(blocks) != 1 or not isinstance(blocks[0], dict) or len(blocks[0]) != 1:
        raise VaultRoleError("expected exactly one %s block, found %d" % (kind, len(blocks) if isinstance(blocks, list) else 0))
    label, body = next(iter(blocks[0].items()))
    return label, body


def check_config(text, members=None, seal=None):
    """Check a rendered configuration; return the normalised configuration.

    ``members``: how many raft members the group has (each node has members - 1 ``retry_join``
    blocks). ``seal``: the seal the role chose (``awskms`` needs a ``seal "awskms"`` block with
    ``kms_key_id`` and ``region``; ``shamir`` needs no seal block)."""
    config = parse_config(text)
    problems = []
    for key in ("api_addr", "cluster_addr"):
        value = config.get(key)
        if not isinstance(value, str) or not value.startswith("https://"):
            problems.append("%s must be an https:// URL (got %r)" % (key, value))
    label, storage = _one_block(config, "storage")
    if label != "raft":
        problems.append('the storage must be "raft" (got %r)' % label)
    else:
        for key in ("path", "node_id"):
            if not storage.get(key):
                problems.append("storage \"raft\" needs %s" % key)
        joins = storage.get("retry_join") or []
        if members is not None and len(joins) != int(members) - 1:
            problems.append("storage \"raft\" has %d retry_join block(s), expected %d (one per other member)"
                            % (len(joins), int(members) - 1))
        for join in joins:
            addr = join.get("leader_api_addr", "")
            if not str(addr).startswith("https://"):
                problems.append("retry_join leader_api_addr must be https:// (got %r)" % (addr,))
            if not join.get("leader_ca_cert_file"):
                problems.append("retry_join %s has no leader_ca_cert_file (the join must verify TLS)" % addr)
    listeners = config.get("listener") or []
    tcp = [body for block in listeners for lbl, body in block.items() if lbl == "tcp"]
    if not tcp:
        problems.append('no listener "tcp"')
    for body in tcp:
        if body.get("tls_disable") in (True, "true", 1, "1"):
            problems.append("a tcp listener disables TLS")
        for key in ("address", "cluster_address", "tls_cert_file", "tls_key_file"):
            if not body.get(key):
                problems.append('listener "tcp" needs %s' % key)
    seals = config.get("seal") or []
    if seal is not None:
        if seal not in SEALS:
            problems.append("unknown seal %r (expected one of %s)" % (seal, ", ".join(SEALS)))
        elif seal == "shamir" and seals:
            problems.append("the shamir seal is Vault's default and takes no seal block, found %d" % len(seals))
        elif seal == "awskms":
            lbl, body = _one_block(config, "seal")
            if lbl != "awskms":
                problems.append('expected seal "awskms", got seal %r' % lbl)
            else:
                for key in ("kms_key_id", "region"):
                    if not body.get(key):
                        problems.append('seal "awskms" needs %s' % key)
    if problems:
        raise VaultRoleError("the rendered configuration is wrong: " + "; ".join(problems))
    return config


# /v1/sys/health status codes (Vault API docs, "sys/health"; same in OpenBao): 200 initialised,
# unsealed and active; 429 unsealed and standby; 472 disaster-recovery secondary; 473 performance
# standby; 501 not initialised; 503 sealed.
_HEALTH = {200: "active", 429: "standby", 473: "standby", 472: "dr-secondary", 501: "uninitialised",
           503: "sealed"}


def restart_order(health, restart):
    """The hosts of ``restart`` in rolling-restart order: standby nodes first, the active node last.

    ``health``: {host: HTTP status of GET /v1/sys/health (an int, or None when the host did not
    answer)} for every member. Every member must be unsealed and exactly one active before anything
    restarts (or every member uninitialised: no data yet, any order is safe); otherwise VaultRoleError
    names each member's state."""
    if not isinstance(health, dict) or not health:
        raise VaultRoleError("expected {host: /v1/sys/health status} for every member, got %r" % (health,))
    if not isinstance(restart, (list, tuple)):
        raise VaultRoleError("expected the list of hosts to restart, got %r" % (restart,))
    unknown = [h for h in restart if h not in health]
    if unknown:
        raise VaultRoleError("hosts to restart without a health answer: %s" % ", ".join(sorted(unknown)))
    states = {}
    for host, status in health.items():
        try:
            states[host] = _HEALTH.get(int(status), "unhealthy (HTTP %s)" % status)
        except (TypeError, ValueError):
            states[host] = "unreachable"
    if all(s == "uninitialised" for s in states.values()):
        # A cluster not initialised yet holds no data: any order is safe.
        return list(restart)
    active = sorted(h for h, s in states.items() if s == "active")
    bad = sorted(h for h, s in states.items() if s not in ("active", "standby"))
    if bad or len(active) != 1:
        raise VaultRoleError(
            "not restarting anything: the cluster must be initialised, unsealed and have one active node "
            "before a rolling restart (%s). Unseal or repair it first (docs/roles/vault.md)."
            % ", ".join("%s: %s" % (h, states[h]) for h in sorted(states)))
    standby = [h for h in restart if states[h] != "active"]
    return standby + [h for h in restart if states[h] == "active"]


def _wrap(func):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except VaultRoleError as exc:
            raise AnsibleFilterError("apron.cluster.%s: %s" % (func.__name__, exc))
    run.__name__ = func.__name__
    return run


def vault_config_check(text, members=None, seal=None):
    """Return ``text`` unchanged when it parses and has the settings the role relies on."""
    check_config(text, members=members, seal=seal)
    return text


def vault_restart_order(health, restart):
    return restart_order(health, restart)


class FilterModule(object):
    """apron.cluster filters of the vault role."""

    def filters(self):
        return {"vault_config_check": _wrap(vault_config_check),
                "vault_restart_order": _wrap(vault_restart_order)}
