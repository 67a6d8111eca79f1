# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Garbage anywhere in a document gives ModelValidationError (or a valid model), never a crash."""
from __future__ import annotations

import copy
import random

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._model import ModelValidationError, load_model

from tests.helpers.model import base_model, write

GARBAGE = [None, 0, -1, 7, 2.5, True, "", "x", "Bad Name", "10.0.0.0/8", [], [1, "a"], {}, {"a": 1}, [{}], [None]]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _set(root, path, value):
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@pytest.mark.parametrize("seed", range(8))
def test_garbage_never_crashes(tmp_path, seed):
    rng = random.Random(seed)
    for attempt in range(30):
        files = base_model()
        name = rng.choice(sorted(files))
        docs = files[name]
        index = rng.randrange(len(docs))
        paths = [p for p in _paths(docs[index]) if p]
        for dummy in range(rng.randint(1, 3)):
            path = rng.choice(paths)
            try:
                _set(docs[index], path, copy.deepcopy(rng.choice(GARBAGE)))
            except (KeyError, IndexError, TypeError):
                pass  # an earlier replacement removed the parent
        directory = write(tmp_path / ("m%d-%d" % (seed, attempt)), files)
        try:
            load_model(str(directory))
        except ModelValidationError as exc:
            for err in exc.errors:
                assert err.file and err.expected
                str(err)
                err.to_dict()


def test_recursive_alias_is_an_error(tmp_path):
    files = base_model()
    files["loop.yml"] = "apiVersion: apron.io/v1alpha1\nkind: Cluster\nmetadata: {name: loop}\nspec: &a\n  x: *a\n"
    directory = write(tmp_path / "m", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    err = next(e for e in info.value.errors if e.file.endswith("loop.yml"))
    assert err.path == "spec.x" and "recursive" in err.expected
