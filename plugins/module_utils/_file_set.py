# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Pure decisions of apron.cluster.file_set: input checks and the content diff of each file.

The module does the I/O (read, write, ownership); everything here is testable without a host."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class FileSetError(Exception):
    """Bad input: the message names the entry and what was expected."""


def parse_mode(value, where):
    """'0644' / '644' / 420 -> 0o644. Symbolic modes are refused (they depend on the current mode)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        text = str(value).strip()
        if not text or any(c not in "01234567" for c in text):
            raise FileSetError("%s: mode %r is not an octal number such as '0644'" % (where, value))
        mode = int(text, 8)
    if mode < 0 or mode > 0o7777:
        raise FileSetError("%s: mode %r is out of range (0000-7777)" % (where, value))
    return mode


def check_entries(entries, kind="files", seen=None):
    """Validate the `files` or `directories` option; returns entries with `mode` as an int (or None).
    `seen` (path -> (kind, index)) is shared between the two options so that a path is given once."""
    seen = {} if seen is None else seen
    checked = []
    for index, entry in enumerate(entries or []):
        where = "%s[%d] (%s)" % (kind, index, entry.get("path"))
        path = entry.get("path") or ""
        if not os.path.isabs(path) or (kind == "files" and path.endswith("/")):
            raise FileSetError("%s: path must be an absolute %s path" % (where, "file" if kind == "files" else "directory"))
        normalised = os.path.normpath(path)
        if normalised in seen:
            raise FileSetError("%s: the same path as %s[%d]; each path once" % ((where,) + seen[normalised]))
        seen[normalised] = (kind, index)
        checked.append(dict(entry, path=normalised, mode=parse_mode(entry.get("mode"), where)))
    return checked


def check_input(files, directories):
    """Both options checked together; at least one path in all."""
    if not files and not directories:
        raise FileSetError("give at least one entry in files or directories")
    seen = {}
    directories = check_entries(directories, "directories", seen)
    return check_entries(files, "files", seen), directories


def content_diff(path, before, after):
    """One --diff entry for a content change (before is None for a new file)."""
    return {
        "before_header": path if before is not None else "%s (absent)" % path,
        "after_header": path,
        "before": before if before is not None else "",
        "after": after,
    }


def decode_for_diff(data):
    """File bytes -> text for the diff (binary content is named, not shown)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(%d bytes of binary content)\n" % len(data)
