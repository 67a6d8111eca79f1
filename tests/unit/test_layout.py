# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The unit tests mirror the tree they test (docs/testing.md "Where a test goes"):

* plugins/<type>/<name>.py and plugins/<type>/_<name>.py -> tests/unit/plugins/<type>/test_<name>.py,
  or test_<name>_<aspect>.py when one plugin's tests are split;
* roles/<role>/... -> tests/unit/roles/<role>/, playbooks -> tests/unit/playbooks/, scripts -> tests/unit/scripts/;
* tests that start servers or containers -> tests/integration/ (not checked here).
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "tests" / "unit"
PLUGIN_TYPES = ("modules", "module_utils", "filter", "inventory", "connection", "callback", "action",
                "plugin_utils", "doc_fragments")
TOP_DIRS = ("plugins", "roles", "playbooks", "scripts")
# The topic directories of the old layout: no test may come back there.
OLD_DIRS = ("artifacts", "aws", "connection", "etcd", "file_set", "inventory", "kubernetes", "model", "pki",
            "service", "status", "terraform", "vault", "vault_role")


def unit_tests():
    return sorted(p.relative_to(UNIT) for p in UNIT.rglob("test_*.py") if "__pycache__" not in p.parts)


def plugin_names(kind):
    """The names tests use for plugins/<kind>/*.py: the file name without .py and without a leading underscore."""
    return {p.stem[1:] if p.stem.startswith("_") else p.stem
            for p in (REPO / "plugins" / kind).glob("*.py") if p.stem != "__init__"}


def plugin_of(test_stem, names):
    """The plugin a test file is about: test_<name> or test_<name>_<aspect> (the longest name that fits)."""
    rest = test_stem[len("test_"):]
    fits = [name for name in names if rest == name or rest.startswith(name + "_")]
    return max(fits, key=len) if fits else None


def test_the_unit_tests_are_found():
    assert len(unit_tests()) > 20


@pytest.mark.parametrize("old", OLD_DIRS)
def test_no_test_in_an_old_topic_directory(old):
    assert not list((UNIT / old).rglob("test_*.py")), "tests/unit/%s/ is the old layout: see docs/testing.md" % old


def test_every_unit_test_is_in_a_mirrored_directory():
    misplaced = [str(path) for path in unit_tests()
                 if len(path.parts) > 1 and path.parts[0] not in TOP_DIRS]
    stray = [str(path) for path in unit_tests() if len(path.parts) == 1 and path.name != "test_layout.py"]
    assert misplaced + stray == [], "tests/unit/ holds only plugins/, roles/, playbooks/, scripts/ (docs/testing.md)"


def test_plugin_tests_mirror_the_plugin_tree():
    wrong = []
    for path in unit_tests():
        if path.parts[0] != "plugins":
            continue
        if len(path.parts) != 3 or path.parts[1] not in PLUGIN_TYPES:
            wrong.append("%s: not tests/unit/plugins/<type>/test_<name>.py" % path)
        elif plugin_of(path.stem, plugin_names(path.parts[1])) is None:
            wrong.append("%s: no plugins/%s/%s.py (or _%s.py) of that name" % (
                path, path.parts[1], path.stem[len("test_"):], path.stem[len("test_"):]))
    assert wrong == []


def test_role_tests_name_an_existing_role():
    wrong = [str(path) for path in unit_tests()
             if path.parts[0] == "roles" and (len(path.parts) != 3 or not (REPO / "roles" / path.parts[1]).is_dir())]
    assert wrong == [], "tests/unit/roles/<role>/test_<what>.py for an existing roles/<role>/"


@pytest.mark.parametrize("stem, names, expected", [
    ("test_model", {"model", "model_resolve"}, "model"),
    ("test_model_invalid", {"model", "model_resolve"}, "model"),
    ("test_model_resolve", {"model", "model_resolve"}, "model_resolve"),
    ("test_modelx", {"model"}, None),
    ("test_etcd_membership", {"etcd_membership"}, "etcd_membership"),
])
def test_plugin_of(stem, names, expected):
    assert plugin_of(stem, names) == expected
