# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Pure planning for the Vault modules: desired vs current -> action, changes, before/after.

No I/O here. Vault's read shapes are normalised before comparing: mount paths come back with a
trailing slash, TTLs as integer seconds (0 = "system default") while users write "1h", lists in
the order Vault stored them, policy text with whatever whitespace the author left.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.apron.cluster.plugins.module_utils._vault_errors import VaultError

# Built-in secrets engine types of Vault/OpenBao (sys/mounts "type"). A plugin type must be listed
# explicitly by the caller (vault_mount's plugin option): a typo must not reach Vault.
SECRETS_ENGINE_TYPES = frozenset([
    "kv", "pki", "transit", "ssh", "totp", "database", "aws", "azure", "gcp", "gcpkms", "consul",
    "nomad", "rabbitmq", "ldap", "openldap", "kubernetes", "terraform", "transform", "kmip", "cubbyhole",
])
AUDIT_DEVICE_TYPES = frozenset(["file", "syslog", "socket"])
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TTL_RE = re.compile(r"^(?:(\d+)([smhd]))+$")
_TTL_PART = re.compile(r"(\d+)([smhd])")
_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")


def parse_ttl(value, field):
    """'1h30m' / '90s' / '3600' / 3600 -> 3600-style seconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise VaultError(field, "%r is not a duration" % (value,), "seconds or a Go-style duration such as 72h or 1h30m")
    if isinstance(value, int):
        if value < 0:
            raise VaultError(field, "%r is negative" % value, "a duration of zero or more")
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if not _TTL_RE.match(text):
        raise VaultError(field, "%r is not a duration" % value,
                         "seconds or a duration of s/m/h/d units such as 72h, 1h30m or 30d")
    return sum(int(n) * _TTL_UNITS[unit] for n, unit in _TTL_PART.findall(text))


def mount_path(path, field="path"):
    """'pki/' or '/pki' -> 'pki'; refuses empty or odd paths."""
    text = (path or "").strip().strip("/")
    if not text or not _PATH_RE.match(text) or any(part in (".", "..") for part in text.split("/")):
        raise VaultError(field, "%r is not a mount path" % (path,),
                         "letters, digits, '_', '-', '.' separated by '/', e.g. pki/kubernetes")
    return text


def _drop_none(mapping):
    return dict((k, v) for k, v in mapping.items() if v is not None)


def _plan(action, before, after, changes):
    return {"action": action, "changed": action != "none", "before": before, "after": after, "changes": changes}


def compare(desired, current, set_keys=()):
    """Keys of ``desired`` (None = not managed) whose value differs in ``current``; sorted names."""
    changed = []
    for key, want in sorted(desired.items()):
        if want is None:
            continue
        have = current.get(key)
        if key in set_keys:
            same = sorted(want or []) == sorted(have or [])
        elif isinstance(want, list):
            same = list(want) == list(have or [])
        else:
            same = want == have
        if not same:
            changed.append(key)
    return changed


# ---------------------------------------------------------------- secrets engine mounts
MOUNT_TUNE_KEYS = ("default_lease_ttl", "max_lease_ttl")


def normalise_mount(entry):
    """A sys/mounts entry -> the managed fields (TTLs in seconds, kv version as a string)."""
    if entry is None:
        return None
    config = entry.get("config") or {}
    options = entry.get("options") or {}
    return {"type": entry.get("type"), "description": entry.get("description") or "",
            "options": dict((k, str(v)) for k, v in options.items()),
            "default_lease_ttl": int(config.get("default_lease_ttl") or 0),
            "max_lease_ttl": int(config.get("max_lease_ttl") or 0)}


def desired_mount(params, plugin_types=()):
    """Module options -> the managed fields, validated (TTL syntax, engine type)."""
    engine = params.get("type")
    if params.get("state", "present") == "present":
        if not engine:
            raise VaultError("type", "not set", "a secrets engine type with state=present")
        if engine not in SECRETS_ENGINE_TYPES and engine not in plugin_types:
            raise VaultError("type", "%r is not a known secrets engine" % engine,
                             "one of %s, or a registered plugin named in plugin_types"
                             % ", ".join(sorted(SECRETS_ENGINE_TYPES)))
    options = params.get("options")
    return {"type": engine,
            "description": params.get("description"),
            "options": None if options is None else dict((k, str(v)) for k, v in options.items()),
            "default_lease_ttl": parse_ttl(params.get("default_lease_ttl"), "default_lease_ttl"),
            "max_lease_ttl": parse_ttl(params.get("max_lease_ttl"), "max_lease_ttl")}


def plan_mount(path, desired, current, state="present"):
    """-> plan with action none/create/tune/delete. A type change is refused (it would drop the data)."""
    current = normalise_mount(current)
    if state == "absent":
        if current is None:
            return _plan("none", {}, {}, [])
        return _plan("delete", current, {}, ["disable %s/ (%s)" % (path, current["type"])])
    if current is None:
        after = dict(normalise_mount({"type": desired["type"]}), **_drop_none(desired))
        return _plan("create", {}, after, ["enable %s/ as %s" % (path, desired["type"])])
    if desired["type"] != current["type"]:
        raise VaultError("type", "%s/ is mounted as %r, not %r" % (path, current["type"], desired["type"]),
                         "the mounted type; changing it needs state=absent first (which destroys the engine's data)")
    keys = compare(desired, current)
    if desired.get("options") is not None and "options" in keys:
        # options are merged by tune: only the given keys are compared.
        if all(current["options"].get(k) == v for k, v in desired["options"].items()):
            keys.remove("options")
    if not keys:
        return _plan("none", current, current, [])
    after = dict(current)
    for key in keys:
        after[key] = dict(current["options"], **desired["options"]) if key == "options" else desired[key]
    return _plan("tune", current, after, ["%s: %r -> %r" % (k, current.get(k), after[k]) for k in keys])


def tune_payload(plan):
    """The sys/mounts/<path>/tune body of a tune plan (only what changes)."""
    body = {}
    for key in ("description", "default_lease_ttl", "max_lease_ttl", "options"):
        if plan["after"].get(key) != plan["before"].get(key):
            value = plan["after"][key]
            body[key] = "%ds" % value if key.endswith("_ttl") else value
    return body


def mount_payload(path, plan):
    after = plan["after"]
    body = {"type": after["type"], "description": after.get("description") or "",
            "config": {}}
    for key in MOUNT_TUNE_KEYS:
        if after.get(key):
            body["config"][key] = "%ds" % after[key]
    if after.get("options"):
        body["options"] = after["options"]
    return body


# ---------------------------------------------------------------- ACL policies
def normalise_policy(text):
    """Whitespace-insensitive form of a policy: CRLF -> LF, trailing blanks, blank edges dropped."""
    if text is None:
        return None
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def validate_policy(name, text):
    """Cheap syntax check before anything is sent: JSON, or HCL with balanced braces and quotes
    and at least one ``path "<glob>" { ... }`` block. Vault's parser has the last word."""
    if not name or not re.match(r"^[A-Za-z0-9_.@-]+(?:/[A-Za-z0-9_.@-]+)*$", name):
        raise VaultError("name", "%r is not a policy name" % (name,), "letters, digits, '_', '-', '.', '@'")
    if name in ("root",):
        raise VaultError("name", "the root policy cannot be changed", "another policy name")
    stripped = (text or "").strip()
    if not stripped:
        raise VaultError("policy", "empty", "HCL or JSON policy text with at least one path block")
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError as exc:
            raise VaultError("policy", "JSON policy does not parse: %s" % exc, "valid JSON or HCL")
        if not isinstance(doc, dict) or "path" not in doc:
            raise VaultError("policy", "JSON policy has no 'path' object", 'a {"path": {...}} document')
        return
    depth, in_string, escaped, line_no = 0, False, False, 1
    text_wo_comments = re.sub(r"(?m)^\s*(#|//).*$", "", stripped)
    for char in text_wo_comments:
        if char == "\n":
            line_no += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise VaultError("policy", "unbalanced '}' on line %d" % line_no, "balanced braces")
    if in_string:
        raise VaultError("policy", "unterminated string", "every quoted string closed")
    if depth:
        raise VaultError("policy", "%d unclosed '{'" % depth, "balanced braces")
    if not re.search(r'path\s+"[^"]*"\s*\{', text_wo_comments):
        raise VaultError("policy", "no path block", 'at least one path "<glob>" { capabilities = [...] } block')


def plan_policy(name, desired, current, state="present"):
    current = normalise_policy(current)
    if state == "absent":
        if current is None:
            return _plan("none", {}, {}, [])
        return _plan("delete", {"policy": current}, {}, ["delete policy %s" % name])
    desired = normalise_policy(desired)
    if current is None:
        return _plan("create", {}, {"policy": desired}, ["create policy %s" % name])
    if current == desired:
        return _plan("none", {"policy": current}, {"policy": current}, [])
    return _plan("update", {"policy": current}, {"policy": desired}, ["update policy %s" % name])


# ---------------------------------------------------------------- roles (pki, token): keyed settings
def plan_settings(kind, name, desired, current, state="present", ttl_keys=(), set_keys=()):
    """Generic for a role object read as a dict: only the options given (not None) are managed.

    ``current`` is Vault's read (TTLs in seconds), ``desired`` the options (TTLs already parsed).
    """
    if state == "absent":
        if current is None:
            return _plan("none", {}, {}, [])
        return _plan("delete", current, {}, ["delete %s %s" % (kind, name)])
    wanted = _drop_none(desired)
    if current is None:
        return _plan("create", {}, wanted, ["create %s %s" % (kind, name)])
    have = dict(current)
    for key in ttl_keys:
        if key in have:
            have[key] = parse_ttl(have[key], key)
    keys = compare(wanted, have, set_keys=set_keys)
    before = dict((k, have.get(k)) for k in sorted(wanted))
    if not keys:
        return _plan("none", before, before, [])
    after = dict(before, **dict((k, wanted[k]) for k in keys))
    return _plan("update", before, after, ["%s: %r -> %r" % (k, before.get(k), wanted[k]) for k in keys])


PKI_ROLE_TTL_KEYS = ("ttl", "max_ttl")
PKI_ROLE_LIST_KEYS = ("allowed_domains", "organization", "ou", "key_usage", "ext_key_usage", "cn_validations")
CN_VALIDATIONS = ("email", "hostname", "disabled")


def desired_pki_role(params):
    body = {}
    for key in ("allowed_domains", "allow_bare_domains", "allow_subdomains", "allow_glob_domains",
                "allow_any_name", "allow_localhost", "allow_ip_sans", "enforce_hostnames", "server_flag",
                "client_flag", "organization", "ou", "key_type", "key_bits", "key_usage", "ext_key_usage",
                "require_cn", "no_store", "generate_lease", "cn_validations"):
        body[key] = params.get(key)
    checks = body.get("cn_validations")
    if checks is not None:
        unknown = [c for c in checks if c not in CN_VALIDATIONS]
        if unknown or not checks or ("disabled" in checks and len(checks) > 1):
            raise VaultError("cn_validations", "%r" % (checks,), "email and/or hostname, or disabled alone")
    for key in PKI_ROLE_TTL_KEYS:
        body[key] = parse_ttl(params.get(key), key)
    if body["ttl"] and body["max_ttl"] and body["ttl"] > body["max_ttl"]:
        raise VaultError("ttl", "%ss is longer than max_ttl %ss" % (body["ttl"], body["max_ttl"]),
                         "ttl <= max_ttl")
    if params.get("state", "present") == "present" and not body.get("allowed_domains") and not body.get("allow_any_name"):
        raise VaultError("allowed_domains", "empty", "the names this role may sign (or allow_any_name: true)")
    return body


TOKEN_ROLE_TTL_KEYS = ("token_period", "token_explicit_max_ttl", "token_ttl", "token_max_ttl")
TOKEN_ROLE_SET_KEYS = ("allowed_policies", "disallowed_policies", "token_bound_cidrs")


def desired_token_role(params):
    body = {}
    for key in ("allowed_policies", "disallowed_policies", "orphan", "renewable", "path_suffix",
                "token_type", "token_bound_cidrs", "token_no_default_policy", "token_num_uses"):
        body[key] = params.get(key)
    for key in TOKEN_ROLE_TTL_KEYS:
        body[key] = parse_ttl(params.get(key), key)
    return body


# ---------------------------------------------------------------- audit devices
def normalise_audit(entry):
    if entry is None:
        return None
    return {"type": entry.get("type"), "description": entry.get("description") or "",
            "local": bool(entry.get("local")),
            "options": dict((k, str(v)) for k, v in (entry.get("options") or {}).items())}


def desired_audit(params):
    if params.get("state", "present") == "present" and params.get("type") not in AUDIT_DEVICE_TYPES:
        raise VaultError("type", "%r is not an audit device type" % (params.get("type"),),
                         "one of %s" % ", ".join(sorted(AUDIT_DEVICE_TYPES)))
    return {"type": params.get("type"), "description": params.get("description") or "",
            "local": bool(params.get("local")),
            "options": dict((k, str(v)) for k, v in (params.get("options") or {}).items())}


def plan_audit(path, desired, current, state="present", replace=False):
    """Vault cannot change an audit device in place: a difference needs disable + enable, which
    only happens with ``replace`` (requests in between are not audited)."""
    current = normalise_audit(current)
    if state == "absent":
        if current is None:
            return _plan("none", {}, {}, [])
        return _plan("delete", current, {}, ["disable audit device %s/" % path])
    if current is None:
        return _plan("create", {}, desired, ["enable audit device %s/ (%s)" % (path, desired["type"])])
    keys = compare(desired, current)
    if not keys:
        return _plan("none", current, current, [])
    if not replace:
        raise VaultError("path", "audit device %s/ differs in %s" % (path, ", ".join(keys)),
                         "the same settings, or replace: true to disable and re-enable it")
    return _plan("replace", current, desired, ["%s: %r -> %r" % (k, current.get(k), desired[k]) for k in keys])


# ---------------------------------------------------------------- PKI root CA
def plan_pki_root(mount, common_name, current_common_name):
    """Keep an existing root with the same subject CN; refuse a different one (no silent rotation)."""
    if current_common_name is None:
        return _plan("create", {}, {"common_name": common_name}, ["generate root CA %r in %s/" % (common_name, mount)])
    if current_common_name == common_name:
        state = {"common_name": current_common_name}
        return _plan("none", state, state, [])
    raise VaultError("common_name", "%s/ already holds a root CA with CN %r, not %r" % (
        mount, current_common_name, common_name),
        "the existing CN; rotating a root is not done by this module (mount a new PKI engine)")
