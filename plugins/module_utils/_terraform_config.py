# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""What a stack's root module declares, read before Terraform runs: variables and the backend block.

Terraform can only tell which variables are ``sensitive`` once a plan exists (``configuration`` of
``terraform show -json``). Errors of ``init`` and ``plan`` happen before that, and they must not
print a secret either; the backend block must be checked before ``init`` to give a one-sentence
error. This is a small lexer for the top-level blocks of ``*.tf`` (and ``*.tf.json``) files - not an
HCL parser: it finds ``variable "<name>" { ... }`` (with ``sensitive = true``, a literal string
``default`` and whether a default exists) and ``terraform { backend "<type>" { ... } }``.
Pure functions, no Ansible imports. Python 3.8 syntax (module_utils).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import os
import re

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC_RE = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")


def _string_end(text, start):
    """Index after the closing quote of the string whose opening quote is at ``start``.

    Template sequences (``${ ... }``, ``%{ ... }``) may hold nested strings and braces.
    Returns (end index, literal) where literal is False when the string has a template sequence.
    """
    i = start + 1
    depth = 0
    literal = True
    length = len(text)
    while i < length:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if depth == 0:
            if char == '"':
                return i + 1, literal
            if char in "$%" and text[i + 1:i + 2] == "{" and text[i - 1:i] != char:
                depth = 1
                literal = False
                i += 2
                continue
            if char == "\n":
                return i, literal      # unterminated: stop at the line end
        else:
            if char == '"':
                i, _lit = _string_end(text, i)
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
        i += 1
    return length, literal


def tokenize(text):
    """HCL native syntax -> list of (kind, value). Kinds: ident, string, open, close, eq, nl, other.

    ``string`` values are the decoded literal (or None when the string holds a template).
    Comments and heredocs are skipped; ``open``/``close`` are any of ``{[(`` / ``}])``.
    """
    tokens = []
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char == "\n":
            tokens.append(("nl", None))
            i += 1
        elif char in " \t\r":
            i += 1
        elif char == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = length if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = length if end < 0 else end + 2
        elif char == '"':
            end, literal = _string_end(text, i)
            value = None
            if literal:
                try:
                    value = json.loads(text[i:end])
                except ValueError:
                    value = text[i + 1:end - 1]
            tokens.append(("string", value))
            i = end
        elif text.startswith("<<", i) and _HEREDOC_RE.match(text, i):
            match = _HEREDOC_RE.match(text, i)
            marker = re.compile(r"^[ \t]*%s[ \t]*$" % re.escape(match.group(1)), re.MULTILINE)
            found = marker.search(text, match.end())
            tokens.append(("string", None))
            i = length if not found else found.end()
        elif char in "{[(":
            tokens.append(("open", char))
            i += 1
        elif char in "}])":
            tokens.append(("close", char))
            i += 1
        elif char == "=" and text[i + 1:i + 2] not in ("=", ">"):
            tokens.append(("eq", "="))
            i += 1
        else:
            match = _IDENT_RE.match(text, i)
            if match:
                tokens.append(("ident", match.group(0)))
                i = match.end()
            else:
                tokens.append(("other", char))
                i += 1
    return tokens


def _blocks(tokens, start=0, stop=None):
    """Blocks at the nesting level starting at ``start``: yields (type, labels, body start, body end)."""
    stop = len(tokens) if stop is None else stop
    i = start
    line_start = True
    while i < stop:
        kind, value = tokens[i]
        if kind == "nl":
            line_start = True
            i += 1
            continue
        if line_start and kind == "ident":
            j = i + 1
            labels = []
            while j < stop and tokens[j][0] in ("string", "ident") and tokens[j - 1][0] != "eq":
                if tokens[j][0] == "ident" and tokens[j][1] in ("true", "false"):
                    break
                labels.append(tokens[j][1])
                j += 1
            if j < stop and tokens[j] == ("open", "{"):
                end = _matching(tokens, j, stop)
                yield value, labels, j + 1, end
                i = end + 1
                line_start = False
                continue
        if kind == "open":
            i = _matching(tokens, i, stop) + 1
            line_start = False
            continue
        line_start = False
        i += 1


def _matching(tokens, open_index, stop):
    depth = 0
    for i in range(open_index, stop):
        kind = tokens[i][0]
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth == 0:
                return i
    return stop


def _attributes(tokens, start, stop):
    """Top-level ``name = value`` attributes of a body: {name: value tokens}."""
    attrs = {}
    i = start
    line_start = True
    while i < stop:
        kind, value = tokens[i]
        if kind == "nl":
            line_start = True
            i += 1
            continue
        if line_start and kind == "ident" and i + 1 < stop and tokens[i + 1][0] == "eq":
            j = i + 2
            value_tokens = []
            while j < stop and tokens[j][0] != "nl":
                if tokens[j][0] == "open":
                    end = _matching(tokens, j, stop)
                    value_tokens.extend(tokens[j:end + 1])
                    j = end + 1
                    continue
                value_tokens.append(tokens[j])
                j += 1
            attrs[value] = value_tokens
            i = j
            continue
        if kind == "open":
            i = _matching(tokens, i, stop) + 1
        else:
            i += 1
        line_start = False
    return attrs


def _new_declarations():
    return {"variables": {}, "backend": None, "backend_file": None, "files": []}


def scan_text(text, filename="main.tf", found=None):
    """Add the variables and the backend declared in one ``.tf`` file's text to ``found``."""
    found = found if found is not None else _new_declarations()
    tokens = tokenize(text)
    for btype, labels, start, end in _blocks(tokens):
        if btype == "variable" and labels and labels[0]:
            attrs = _attributes(tokens, start, end)
            default = attrs.get("default")
            literal = None
            if default and len(default) == 1 and default[0][0] == "string":
                literal = default[0][1]
            found["variables"][labels[0]] = {
                "sensitive": attrs.get("sensitive") == [("ident", "true")],
                "required": default is None,
                "default": literal,
                "file": filename,
            }
        elif btype == "terraform":
            for inner, inner_labels, _s, _e in _blocks(tokens, start, end):
                if inner == "backend" and inner_labels:
                    found["backend"] = inner_labels[0]
                    found["backend_file"] = filename
    return found


def _as_items(value):
    """``.tf.json`` allows a block body as an object or a list of objects."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


def scan_json(document, filename="main.tf.json", found=None):
    found = found if found is not None else _new_declarations()
    if not isinstance(document, dict):
        return found
    for variables in _as_items(document.get("variable")):
        for name, bodies in variables.items():
            body = (_as_items(bodies) or [{}])[0]
            default = body.get("default")
            found["variables"][name] = {
                "sensitive": body.get("sensitive") is True,
                "required": "default" not in body,
                "default": default if isinstance(default, str) else None,
                "file": filename,
            }
    for terraform in _as_items(document.get("terraform")):
        for backend in _as_items(terraform.get("backend")):
            for btype in backend:
                found["backend"] = btype
                found["backend_file"] = filename
    return found


def scan_stack(project_path):
    """The root module's declarations: ``{"variables": {name: {sensitive, required, default, file}},
    "backend": type or None, "backend_file": file or None, "files": [...]}``.

    Unreadable files are skipped (Terraform reports them itself).
    """
    found = _new_declarations()
    try:
        names = sorted(os.listdir(project_path))
    except OSError:
        return found
    for name in names:
        if not (name.endswith(".tf") or name.endswith(".tf.json")):
            continue
        path = os.path.join(project_path, name)
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except (IOError, OSError):
            continue
        found["files"].append(name)
        if name.endswith(".tf.json"):
            try:
                scan_json(json.loads(text), name, found)
            except ValueError:
                continue
        else:
            scan_text(text, name, found)
    return found


def sensitive_names(declarations):
    return sorted(name for name, spec in declarations["variables"].items() if spec.get("sensitive"))


def undeclared_variables(names, declarations):
    """Given variable names the stack does not declare: list of (name, closest declared name or None).

    Only checked when the scan found variable declarations at all (a stack without any takes none).
    """
    declared = declarations["variables"]
    if not declared and not declarations["files"]:
        return []
    result = []
    for name in sorted(names):
        if name in declared:
            continue
        match = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.75)
        result.append((name, match[0] if match else None))
    return result


def undeclared_message(name, suggestion):
    """``replica`` is not declared; did you mean ``replicas``? (one sentence per variable)."""
    if suggestion:
        return "variables: `%s` is not declared by the stack; did you mean `%s`?" % (name, suggestion)
    return "variables: `%s` is not declared by the stack (Terraform ignores it)" % name
