# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Errors of the cluster model (re-exported by ``_model``)."""
from __future__ import annotations


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


class ModelError(object):
    """One problem in the model: where (file, line, resource, field path), what, and what was expected."""

    __slots__ = ("file", "line", "resource", "path", "value", "expected")

    def __init__(self, file, resource, path, value, expected, line=None):
        self.file = file
        self.line = line
        self.resource = resource
        if isinstance(path, (tuple, list)):
            path = format_path(path)
        self.path = path
        self.value = value
        self.expected = expected

    def location(self):
        if self.line:
            return "%s:%d" % (self.file, self.line)
        return str(self.file)

    def __str__(self):
        return "%s: %s: %s: %r: expected %s" % (
            self.location(), self.resource or "-", self.path or "-", self.value, self.expected)

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


class ModelValidationError(Exception):
    """The model is invalid; ``errors`` holds *every* problem found."""

    def __init__(self, errors):
        self.errors = list(errors)
        lines = ["invalid cluster model: %d error(s)" % len(self.errors)]
        lines.extend("  - %s" % err for err in self.errors)
        super(ModelValidationError, self).__init__("\n".join(lines))
