"""plugins/doc_fragments/vault.py and its contracts: the Vault module tests' fixtures trace to Vault's API docs;
the doc fragment matches the shared argspec."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.apron.cluster.plugins.doc_fragments.vault import ModuleDocFragment
from ansible_collections.apron.cluster.plugins.module_utils._vault_client import vault_argument_spec

from tests.helpers.vault import FIXTURES as FIXTURE_DIR

MODULE_TESTS = Path(__file__).resolve().parents[1] / "modules"     # the Vault module tests, which use the fixtures
FIXTURES = sorted(FIXTURE_DIR.glob("*.json"))
# fixture name prefix -> the api-docs page it follows
PAGES = {"sys-mounts": "system/mounts", "sys-policies-acl": "system/policies", "sys-audit": "system/audit",
         "sys-init": "system/init", "sys-seal-status": "system/seal-status", "pki": "secret/pki",
         "auth-token": "auth/token"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_names_its_documentation_page(path):
    doc = json.loads(path.read_text())
    prefix = path.stem.split("__")[0]
    assert prefix in PAGES, "unknown page prefix %s" % prefix
    assert re.match(r"^https://developer\.hashicorp\.com/vault/api-docs/%s(#[a-z0-9-]+)?$" % re.escape(PAGES[prefix]),
                    doc["source"]), doc["source"]
    assert doc["method"] in ("GET", "POST", "PUT", "DELETE") and doc["path"].startswith("/v1/")
    assert isinstance(doc["status"], int)


def test_every_fixture_is_used():
    text = "".join(p.read_text() for p in MODULE_TESTS.glob("test_vault_*.py"))
    unused = [p.stem for p in FIXTURES if '"%s"' % p.stem not in text]
    assert unused == []


def test_doc_fragment_matches_the_argspec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = vault_argument_spec()
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert sorted(doc.get("aliases", [])) == sorted(option.get("aliases", [])), name
    assert spec["token"]["no_log"] is True
