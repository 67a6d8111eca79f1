# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The JSON Schema file is generated from _model_schema.py and agrees with the jsonschema library."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.apron.cluster.plugins.module_utils._model_schema import SCHEMA
from ansible_collections.apron.cluster.plugins.module_utils._model_validate import schema_errors

from tests.helpers.model import base_model, find

REPO = Path(__file__).resolve().parents[4]
SCHEMA_FILE = REPO / "meta" / "schemas" / "apron.io_v1alpha1.schema.json"

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (requirements/test.txt has it)")


def test_schema_file_in_sync():
    assert json.loads(SCHEMA_FILE.read_text()) == SCHEMA
    assert SCHEMA_FILE.read_text() == json.dumps(SCHEMA, indent=2) + "\n"


def test_gen_schema_check_mode():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "gen-schema.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _documents():
    for path in sorted(REPO.glob("inventories/**/model/*.yml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                yield path, document


def test_examples_valid_for_jsonschema_and_own_checker():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    count = 0
    for path, document in _documents():
        assert list(validator.iter_errors(document)) == [], path
        assert schema_errors(SCHEMA, document) == [], path
        count += 1
    assert count >= 20


def _mutations():
    files = base_model()
    pool = find(files, "InstancePool", "dev-etcd")
    cluster = find(files, "Cluster", "dev")
    yield "count-string", dict(pool, spec=dict(pool["spec"], count="3")), ("spec", "count")
    yield "bool-count", dict(pool, spec=dict(pool["spec"], count=True)), ("spec", "count")
    yield "unknown", dict(pool, spec=dict(pool["spec"], foo=1)), ("spec", "foo")
    yield "no-spec", dict((k, v) for k, v in pool.items() if k != "spec"), ("spec",)
    yield "zones-dup", dict(pool, spec=dict(pool["spec"], zones=["local-a", "local-a"])), ("spec", "zones", 1)
    yield "k8s-float", dict(cluster, spec=dict(cluster["spec"], kubernetesVersion=1.3)), ("spec", "kubernetesVersion")
    yield "bad-kind", dict(pool, kind="Pool"), ("kind",)
    yield "bad-api", dict(pool, apiVersion="v1"), ("apiVersion",)


@pytest.mark.parametrize("name,document,path", list(_mutations()), ids=[m[0] for m in _mutations()])
def test_own_checker_agrees_with_jsonschema(name, document, path):
    validator = jsonschema.Draft202012Validator(SCHEMA)
    theirs = {tuple(e.absolute_path) for e in validator.iter_errors(document)}
    theirs |= {tuple(e.absolute_path) for e in validator.iter_errors(document) for e in (e.context or [])}
    ours = {found[0] for found in schema_errors(SCHEMA, document)}
    assert path in ours
    # jsonschema reports a missing required property at the parent, we at the field itself
    assert path in theirs or path[:-1] in theirs
