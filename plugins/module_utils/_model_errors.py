# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Errors and warnings of the cluster model (re-exported by ``_model``)."""
from __future__ import annotations

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None
import json


class _Missing(object):
    """Marks a required field that is absent (``repr`` is ``<missing>``)."""

    def __repr__(self):
        return "<missing>"

    def __bool__(self):
        return False


MISSING = _Missing()


def format_path(parts):
    """('spec', 'zones', 0, 'name') -> 'spec.zones[0].name'."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += "[%d]" % part
        elif out:
            out += "." + str(part)
        else:
            out = str(part)
    return out


SHORT = 100  # characters of a value in a one-line message


def show(value, limit=None):
    """A value as the user wrote it: one line of YAML flow style (``null``, ``true``, ``[{name: a}]``,
    ``'1.32'`` for the string, ``1.32`` for the number); ``<missing>`` for an absent field. With
    ``limit``, a longer text is cut there and ends in ``...``."""
    if value is MISSING:
        return "<missing>"
    value = _plain(value)
    if yaml is None:  # pragma: no cover
        return json.dumps(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"), allow_unicode=True,
                          sort_keys=False).strip()
    if text.endswith("\n..."):
        text = text[:-4]
    if limit and len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


class ModelError(object):
    """One problem in the model: where (file, line, resource, field path), what, and what was expected.

    ``follows`` is the root ModelError this one follows from (None for a root error): fixing the
    root makes it go away or changes it."""

    __slots__ = ("file", "line", "resource", "path", "value", "expected", "follows")

    def __init__(self, file, resource, path, value, expected, line=None, follows=None):
        self.file = file
        self.line = line
        self.resource = resource
        if isinstance(path, (tuple, list)):
            path = format_path(path)
        self.path = path
        self.value = value
        self.expected = expected
        while follows is not None and follows.follows is not None:
            follows = follows.follows
        self.follows = follows

    def location(self):
        if self.line:
            return "%s:%d" % (self.file, self.line)
        return str(self.file)

    def ref(self):
        """Short reference used by follow-on errors: ``file:line: path``."""
        return "%s: %s" % (self.location(), self.path or self.resource or "-")

    def __str__(self):
        text = "%s: %s: %s: %s: expected %s" % (
            self.location(), self.resource or "-", self.path or "-", show(self.value, SHORT), self.expected)
        if self.follows is not None:
            text += " [follows from %s]" % self.follows.ref()
        return text

    def __repr__(self):
        return "ModelError(%s)" % str(self)

    def __eq__(self, other):
        return isinstance(other, ModelError) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(str(self))

    def to_dict(self):
        value = None if self.value is MISSING else self.value
        return {
            "file": self.file,
            "line": self.line,
            "resource": self.resource,
            "path": self.path,
            "value": _plain(value),
            "expected": self.expected,
            "missing": self.value is MISSING,
            "follows": self.follows.ref() if self.follows is not None else None,
        }


def _plain(value):
    """Values made JSON-serialisable (YAML may yield dates and the like)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


class ModelWarning(object):
    """Something allowed but worth a second look (an empty file, an acknowledged open CIDR)."""

    __slots__ = ("file", "line", "resource", "path", "value", "message")

    def __init__(self, file, resource, path, value, message, line=None):
        self.file = file
        self.line = line
        self.resource = resource
        if isinstance(path, (tuple, list)):
            path = format_path(path)
        self.path = path
        self.value = value
        self.message = message

    def location(self):
        if self.line:
            return "%s:%d" % (self.file, self.line)
        return str(self.file)

    def __str__(self):
        parts = [self.location()]
        if self.resource:
            parts.append(self.resource)
        if self.path:
            parts.extend([self.path, show(self.value)])
        return "%s: %s" % (": ".join(parts), self.message)

    def __repr__(self):
        return "ModelWarning(%s)" % str(self)

    def to_dict(self):
        return {
            "file": self.file,
            "line": self.line,
            "resource": self.resource,
            "path": self.path,
            "value": _plain(self.value),
            "message": self.message,
        }


def count_text(errors):
    """'2 errors', '1 error and 3 follow-on errors'."""
    roots = [e for e in errors if e.follows is None]
    text = "%d error%s" % (len(roots), "" if len(roots) == 1 else "s")
    follow = len(errors) - len(roots)
    if follow:
        text += " and %d follow-on error%s" % (follow, "" if follow == 1 else "s")
    return text


def error_lines(errors):
    """The errors one per line, root errors first, then those that follow from them."""
    roots = [e for e in errors if e.follows is None]
    follow = [e for e in errors if e.follows is not None]
    lines = ["- %s" % err for err in roots]
    if follow:
        lines.append("follow-on errors (they go away or change once the errors above are fixed):")
        lines.extend("- %s" % err for err in follow)
    return lines


class ModelValidationError(Exception):
    """The model is invalid; ``errors`` holds *every* problem found (root errors first),
    ``warnings`` what was worth a warning on the way."""

    def __init__(self, errors, warnings=()):
        errors = list(errors)
        self.errors = [e for e in errors if e.follows is None] + [e for e in errors if e.follows is not None]
        self.warnings = list(warnings)
        lines = ["invalid cluster model: %s" % count_text(self.errors)]
        lines.extend("  %s" % line for line in error_lines(self.errors))
        super(ModelValidationError, self).__init__("\n".join(lines))
