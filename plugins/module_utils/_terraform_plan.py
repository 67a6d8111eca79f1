# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Terraform plan JSON (``terraform show -json <planfile>``) -> operator diff, summary, data-loss guard.

Pure functions, no Ansible imports: unit-tested on their own. Python 3.8 syntax (module_utils).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

UNKNOWN = "(known after apply)"
SENSITIVE = "(sensitive value)"

# Order in which actions are listed in summaries and in the rendered plan.
ACTIONS = ("create", "update", "replace", "delete", "read", "forget")

_SYMBOLS = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "delete": "-",
    "read": "<=",
    "forget": ".",
}

_HEADLINES = {
    "create": "will be created",
    "update": "will be updated in-place",
    "replace": "must be replaced",
    "delete": "will be destroyed",
    "read": "will be read during apply",
    "forget": "will be removed from the state (not destroyed)",
}

# Resource types that always hold data (deleting or replacing them loses it).
STATEFUL_TYPES = frozenset(["aws_ebs_volume", "aws_s3_bucket", "aws_kms_key", "aws_dynamodb_table"])
# Resource types that hold data when they belong to a stateful role (etcd, vault).
ROLE_TYPES = frozenset(["aws_instance", "aws_launch_template"])
STATEFUL_ROLES = frozenset(["etcd", "vault"])
ROLE_TAG_KEYS = ("role", "Role", "apron_role", "apron.io/role")
# Convention for any other resource (terraform_data of the local stacks included):
# a resource name ending in one of these suffixes, or a top-level ``stateful``/``apron_stateful``
# true value in its ``input``, ``triggers_replace`` object, ``tags`` or ``labels``.
STATEFUL_NAME_SUFFIXES = ("_data_volume", "_stateful")
STATEFUL_MARKERS = ("stateful", "apron_stateful")
_ROLE_NAME_RE = re.compile(r"(^|[-_.])(etcd|vault)([-_.0-9]|$)")


# Shorter secrets are redacted only where they are a whole value (inside longer text they would
# mangle every word they happen to occur in).
MIN_SUBSTRING_SECRET = 3


def leaves(value):
    """Scalar leaves of a nested value (dict values, list items)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield value


def secret_values(names, *sources):
    """The values of the variables ``names`` found in ``sources`` -> a secrets spec for :func:`redact`.

    A source is a dict ``{name: value}``: the module's input variables, the literal defaults of the
    declarations, or a plan's values (:func:`plan_variable_values`). Every string and number leaf of a
    value is a secret; a string secret also matches in its JSON-escaped spelling.
    """
    strings = set()
    numbers = set()
    for source in sources:
        for name in names:
            if not isinstance(source, dict) or name not in source:
                continue
            for leaf in leaves(source[name]):
                if isinstance(leaf, (int, float)):
                    numbers.add(leaf)
                    strings.add(json.dumps(leaf))
                    continue
                text = leaf if isinstance(leaf, str) else str(leaf)
                if not text:
                    continue
                strings.add(text)
                escaped = json.dumps(text)[1:-1]
                if escaped != text:
                    strings.add(escaped)
    return {"strings": sorted(strings, key=lambda s: (-len(s), s)), "numbers": numbers}


def plan_variable_values(plan):
    """``{name: value}`` of a plan's ``variables`` section (input values and defaults)."""
    return dict((name, (spec or {}).get("value")) for name, spec in ((plan or {}).get("variables") or {}).items())


def plan_sensitive_names(plan):
    """Names of the root module variables a plan's configuration declares ``sensitive``."""
    variables = (((plan or {}).get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    return sorted(name for name, spec in variables.items() if (spec or {}).get("sensitive"))


def merge_secrets(*specs):
    strings = set()
    numbers = set()
    for spec in specs:
        strings.update((spec or {}).get("strings") or ())
        numbers.update((spec or {}).get("numbers") or ())
    return {"strings": sorted(strings, key=lambda s: (-len(s), s)), "numbers": numbers}


def redact_text(text, secrets, replacement=SENSITIVE):
    """``text`` with every secret string replaced (whole value, or substring for secrets of at least
    MIN_SUBSTRING_SECRET characters)."""
    strings = (secrets or {}).get("strings") or ()
    if not strings or not isinstance(text, str):
        return text
    if text in strings:
        return replacement
    for secret in strings:
        if len(secret) >= MIN_SUBSTRING_SECRET and secret in text:
            text = text.replace(secret, replacement)
    return text


def redact(value, secrets, replacement=SENSITIVE):
    """``value`` (any JSON-like structure, dict keys included) with the secrets replaced by ``replacement``.

    ``secrets`` comes from :func:`secret_values`. Numbers equal to a numeric secret are replaced too;
    booleans and null never are. The input is not modified.
    """
    if not secrets or not (secrets.get("strings") or secrets.get("numbers")):
        return value
    if isinstance(value, dict):
        return dict((redact(k, secrets, replacement), redact(v, secrets, replacement)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets, replacement) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return replacement if value in secrets.get("numbers", ()) else value
    if isinstance(value, str):
        return redact_text(value, secrets, replacement)
    return value


def classify_actions(actions):
    """Terraform's action list -> one operator word."""
    actions = list(actions or [])
    if actions == ["no-op"] or not actions:
        return "no-op"
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1 and actions[0] in ("create", "update", "delete", "read", "forget"):
        return actions[0]
    if "forget" in actions:
        return "forget"
    return "-".join(actions)


def mask(value, sensitive=False, unknown=False):
    """Return ``value`` with sensitive parts replaced by SENSITIVE and unknown ones by UNKNOWN.

    ``sensitive``/``unknown`` mirror the structure of the value as Terraform's
    ``*_sensitive`` / ``after_unknown`` fields do (``true`` for a whole subtree).
    """
    if sensitive is True:
        return SENSITIVE
    if unknown is True:
        return UNKNOWN
    if isinstance(value, dict) or isinstance(unknown, dict) or isinstance(sensitive, dict):
        value_d = value if isinstance(value, dict) else {}
        sens_d = sensitive if isinstance(sensitive, dict) else {}
        unk_d = unknown if isinstance(unknown, dict) else {}
        if not isinstance(value, dict) and value is not None and not unk_d:
            return value
        keys = set(value_d) | set(k for k, v in unk_d.items() if v is True)
        return dict((k, mask(value_d.get(k), sens_d.get(k, False), unk_d.get(k, False))) for k in sorted(keys))
    if isinstance(value, list) or isinstance(unknown, list) or isinstance(sensitive, list):
        value_l = value if isinstance(value, list) else []
        sens_l = sensitive if isinstance(sensitive, list) else []
        unk_l = unknown if isinstance(unknown, list) else []
        if not isinstance(value, list) and value is not None:
            return value
        length = max(len(value_l), len(unk_l))
        out = []
        for i in range(length):
            out.append(mask(value_l[i] if i < len(value_l) else None,
                            sens_l[i] if i < len(sens_l) else False,
                            unk_l[i] if i < len(unk_l) else False))
        return out
    return value


def _is_leaf(value):
    return not isinstance(value, (dict, list)) or value == {} or value == []


def flatten(value, prefix=""):
    """Nested value -> ordered list of (path, leaf) with paths like ``input.zone`` / ``tags[0]``."""
    out = []
    if isinstance(value, dict) and value:
        for key in sorted(value):
            sub = "%s.%s" % (prefix, key) if prefix else str(key)
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", str(key)):
                sub = "%s[%s]" % (prefix, json.dumps(key))
            out.extend(flatten(value[key], sub))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            out.extend(flatten(item, "%s[%d]" % (prefix, i)))
    else:
        out.append((prefix, value))
    return out


def path_to_string(path):
    """A ``replace_paths`` entry (list of keys/indexes) -> ``triggers_replace[0]`` style string."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += "[%d]" % step
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", str(step)):
            text += ("." if text else "") + str(step)
        else:
            text += "[%s]" % json.dumps(step)
    return text


def _under(path, prefixes):
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "["):
            return True
    return False


def _join(prefix, key):
    if isinstance(key, int):
        return "%s[%d]" % (prefix, key)
    if re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", str(key)):
        return "%s.%s" % (prefix, key) if prefix else str(key)
    return "%s[%s]" % (prefix, json.dumps(key))


def _walk(before, after, prefix, out):
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _walk(before.get(key), after.get(key), _join(prefix, key), out)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after)):
            _walk(b, a, _join(prefix, i), out)
    elif before != after or after == UNKNOWN:
        if before == UNKNOWN and after == UNKNOWN:
            return
        if (before is None and after in ({}, [])) or (after is None and before in ({}, [])):
            return
        out.append((prefix, before, after))


def attribute_changes(action, before, after):
    """Changed attributes between masked before/after values: list of (path, before, after).

    Both values are walked together; where one side is a leaf (unknown, sensitive, null, or a
    list of another length) the whole subtree is reported at that path.
    """
    if action == "create":
        return [(p, None, v) for p, v in flatten(after) if v is not None and p] if after is not None else []
    if action == "delete":
        return [(p, v, None) for p, v in flatten(before) if v is not None and p] if before is not None else []
    out = []
    _walk(before, after, "", out)
    return [c for c in out if c[0]]


def _tags(value):
    tags = {}
    if isinstance(value, dict):
        for key in ("tags_all", "tags"):
            if isinstance(value.get(key), dict):
                tags.update(value[key])
    return tags


def _truthy(value):
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"))


def stateful_reason(resource_change):
    """Why a resource holds data (a string), or None. Looks at the prior (before) value."""
    rtype = resource_change.get("type") or ""
    name = resource_change.get("name") or ""
    change = resource_change.get("change") or {}
    value = change.get("before")
    if not isinstance(value, dict):
        value = change.get("after") if isinstance(change.get("after"), dict) else {}
    if rtype in STATEFUL_TYPES:
        return "resource type %s holds data" % rtype
    tags = _tags(value)
    if rtype in ROLE_TYPES:
        for key in ROLE_TAG_KEYS:
            if str(tags.get(key, "")).lower() in STATEFUL_ROLES:
                return "%s of role %s (tag %s)" % (rtype, tags[key], key)
        for candidate in (tags.get("Name"), value.get("name"), value.get("name_prefix"), name):
            if candidate and _ROLE_NAME_RE.search(str(candidate).lower()):
                return "%s of a stateful role (name %s)" % (rtype, candidate)
    for suffix in STATEFUL_NAME_SUFFIXES:
        if name.endswith(suffix):
            return "resource name ends with %s" % suffix
    for container_key in ("input", "triggers_replace", "tags", "tags_all", "labels"):
        container = value.get(container_key)
        if isinstance(container, dict):
            for marker in STATEFUL_MARKERS:
                if _truthy(container.get(marker)):
                    return "%s.%s = true" % (container_key, marker)
    return None


def _value_text(value):
    if value is None:
        return "null"
    if value in (UNKNOWN, SENSITIVE):
        return value
    return json.dumps(value, sort_keys=True)


def analyse_plan(plan):
    """Plan JSON (dict) -> analysis dict used by the module and the renderer.

    Returns ``{"resources": [...], "outputs": [...], "summary": {...}, "stateful_losses": [...]}``.
    """
    resources = []
    losses = []
    counts = dict((a, 0) for a in ACTIONS)
    addresses = dict((a, []) for a in ACTIONS)
    for rc in plan.get("resource_changes") or []:
        change = rc.get("change") or {}
        action = classify_actions(change.get("actions"))
        if action == "no-op":
            continue
        before = mask(change.get("before"), change.get("before_sensitive", False), False)
        after = mask(change.get("after"), change.get("after_sensitive", False), change.get("after_unknown", False))
        replace_paths = [path_to_string(p) for p in (change.get("replace_paths") or [])]
        changes = attribute_changes(action, before, after)
        entry = {
            "address": rc.get("address"),
            "type": rc.get("type"),
            "name": rc.get("name"),
            "mode": rc.get("mode", "managed"),
            "action": action,
            "action_reason": rc.get("action_reason"),
            "replace_paths": replace_paths,
            "changes": [{"path": p, "before": b, "after": a, "forces_replacement": _under(p, replace_paths)}
                        for p, b, a in changes],
        }
        if action in ("delete", "replace") and rc.get("mode", "managed") == "managed":
            reason = stateful_reason(rc)
            if reason:
                entry["stateful"] = reason
                losses.append({"address": rc.get("address"), "action": action, "reason": reason})
        resources.append(entry)
        if action in counts:
            counts[action] += 1
            addresses[action].append(rc.get("address"))
    outputs = []
    for name in sorted(plan.get("output_changes") or {}):
        change = plan["output_changes"][name]
        action = classify_actions(change.get("actions"))
        if action == "no-op":
            continue
        outputs.append({
            "name": name,
            "action": action,
            "before": None if action == "create" else mask(change.get("before"), change.get("before_sensitive", False), False),
            "after": mask(change.get("after"), change.get("after_sensitive", False), change.get("after_unknown", False)),
        })
    summary = {
        "counts": counts,
        "addresses": addresses,
        "output_changes": [o["name"] for o in outputs],
        "changes_pending": bool(resources or outputs),
        "stateful_losses": losses,
    }
    return {"resources": resources, "outputs": outputs, "summary": summary, "stateful_losses": losses}


def render(analysis, title=None):
    """Readable plan text (the ``prepared`` diff)."""
    lines = []
    if title:
        lines.append("=== %s ===" % title)
    for res in analysis["resources"]:
        action = res["action"]
        headline = "# %s %s" % (res["address"], _HEADLINES.get(action, action))
        if action == "replace" and res["replace_paths"]:
            headline += " (forced by: %s)" % ", ".join(res["replace_paths"])
        if res.get("stateful"):
            headline += "  !! DATA LOSS: %s" % res["stateful"]
        lines.append(headline)
        lines.append("%s %s" % (_SYMBOLS.get(action, "?"), res["address"]))
        for change in res["changes"]:
            if action == "create":
                text = "    + %s = %s" % (change["path"], _value_text(change["after"]))
            elif action == "delete":
                text = "    - %s = %s" % (change["path"], _value_text(change["before"]))
            else:
                text = "    ~ %s: %s -> %s" % (change["path"], _value_text(change["before"]), _value_text(change["after"]))
            if change["forces_replacement"]:
                text += "  # forces replacement"
            lines.append(text)
    if analysis["outputs"]:
        lines.append("Changes to outputs:")
        for out in analysis["outputs"]:
            symbol = _SYMBOLS.get(out["action"], "~")
            lines.append("  %s %s: %s -> %s" % (symbol, out["name"], _value_text(out["before"]),
                                                _value_text(out["after"])))
    counts = analysis["summary"]["counts"]
    if analysis["summary"]["changes_pending"]:
        lines.append("Plan: %d to add, %d to change, %d to replace, %d to destroy%s." % (
            counts["create"], counts["update"], counts["replace"], counts["delete"],
            (", %d to read" % counts["read"]) if counts["read"] else ""))
    else:
        lines.append("No changes. Infrastructure matches the configuration.")
    if analysis["stateful_losses"]:
        lines.append("WARNING: this plan destroys data held by: %s" % ", ".join(
            "%s (%s)" % (loss["address"], loss["action"]) for loss in analysis["stateful_losses"]))
    return "\n".join(lines) + "\n"


def diff_from_analysis(analysis, title=None):
    """Ansible diff dict: before/after of changed attributes only, plus the readable rendering."""
    before = {}
    after = {}
    for res in analysis["resources"]:
        before[res["address"]] = dict((c["path"], c["before"]) for c in res["changes"] if res["action"] != "create")
        after[res["address"]] = dict((c["path"], c["after"]) for c in res["changes"] if res["action"] != "delete")
        if res["action"] == "create":
            before[res["address"]] = None
        if res["action"] == "delete":
            after[res["address"]] = None
    for out in analysis["outputs"]:
        before["output." + out["name"]] = out["before"]
        after["output." + out["name"]] = out["after"]
    return {
        "before": before,
        "after": after,
        "before_header": (title or "terraform") + " (state)",
        "after_header": (title or "terraform") + " (plan)",
        "prepared": render(analysis, title),
    }


def data_loss_message(losses, stack=None, check_mode=False):
    """The data-loss guard's failure message (or, in check mode, its warning): whole sentences."""
    where = " of stack %s" % stack if stack else ""
    items = "; ".join("%s would be %s (%s)" % (
        loss["address"], "replaced" if loss["action"] == "replace" else "destroyed", loss["reason"]) for loss in losses)
    count = "%d resource%s" % (len(losses), "" if len(losses) == 1 else "s")
    if check_mode:
        return ("Check mode: the plan%s destroys data held by %s: %s. A real run refuses to apply it unless "
                "allow_destroy_stateful=true." % (where, count, items))
    return ("Refused to apply the plan%s because it destroys data held by %s: %s. Nothing was changed; set "
            "allow_destroy_stateful=true to apply it anyway." % (where, count, items))


def planned_outputs(plan, show_sensitive=False):
    """Outputs of the plan's planned values (equal to the state's when nothing changes)."""
    outputs = ((plan.get("planned_values") or {}).get("outputs")) or {}
    return outputs_from_json(outputs, show_sensitive)


def outputs_from_json(outputs, show_sensitive=False):
    """``terraform output -json`` style ``{name: {value, sensitive}}`` -> ``{name: value}`` (masked)."""
    result = {}
    for name, spec in (outputs or {}).items():
        if spec.get("sensitive") and not show_sensitive:
            result[name] = SENSITIVE
        else:
            result[name] = spec.get("value")
    return result
