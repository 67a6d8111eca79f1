# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The awskms auto-unseal settings of apron.cluster.vault against a real KMS emulator (moto server).

The role's seal stanza (roles/vault/templates/seal_awskms.hcl.j2) is rendered by Ansible itself
with a key created in moto, parsed with python-hcl2, and boto3 then describes the key and does an
encrypt/decrypt round trip with exactly the region, endpoint and key id the rendered
configuration names - what Vault's awskms seal does at initialisation and at every unseal.
The Vault server itself is not obtainable here; this proves the settings, not the server.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import hcl2
import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "roles" / "vault" / "templates" / "seal_awskms.hcl.j2"
REGION = "eu-west-1"


def _unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def render_seal(tmp_path, **variables):
    """Render the role's seal template with ansible's template module; return the parsed seal block."""
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables))
    dest = tmp_path / "seal.hcl"
    proc = subprocess.run(
        ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", "ansible.builtin.template",
         "-a", "src=%s dest=%s mode=0600" % (TEMPLATE, dest), "-e", "@%s" % extra],
        capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parsed = _unquote(hcl2.loads(dest.read_text()))
    assert list(parsed) == ["seal"] and len(parsed["seal"]) == 1
    return parsed["seal"][0]


@pytest.fixture
def kms_key(moto_endpoint):
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name=REGION)
    key = kms.create_key(Description="apron vault auto-unseal (test)")["KeyMetadata"]
    kms.create_alias(AliasName="alias/apron-test-vault", TargetKeyId=key["KeyId"])
    return key


@pytest.mark.parametrize("key_field", ["KeyId", "Arn", "alias"])
def test_rendered_seal_settings_unseal_against_moto(tmp_path, moto_endpoint, kms_key, key_field):
    key_id = "alias/apron-test-vault" if key_field == "alias" else kms_key[key_field]
    seal = render_seal(tmp_path, vault_kms_region=REGION, vault_kms_key_id=key_id, vault_kms_endpoint=moto_endpoint)
    assert list(seal) == ["awskms"]
    settings = seal["awskms"]
    assert settings == {"region": REGION, "kms_key_id": key_id, "endpoint": moto_endpoint}

    # Exactly what the rendered configuration names, nothing else.
    kms = boto3.client("kms", region_name=settings["region"], endpoint_url=settings["endpoint"])
    described = kms.describe_key(KeyId=settings["kms_key_id"])["KeyMetadata"]
    assert described["KeyId"] == kms_key["KeyId"]
    assert described["Enabled"] is True  # usable: the round trip below proves encrypt/decrypt
    root_key = os.urandom(32)  # stands for the root key the seal wraps
    blob = kms.encrypt(KeyId=settings["kms_key_id"], Plaintext=root_key)["CiphertextBlob"]
    assert blob != root_key
    plain = kms.decrypt(CiphertextBlob=blob, KeyId=settings["kms_key_id"])
    assert plain["Plaintext"] == root_key and plain["KeyId"] == kms_key["Arn"]


def test_seal_without_endpoint_uses_aws(tmp_path):
    seal = render_seal(tmp_path, vault_kms_region=REGION, vault_kms_key_id="alias/x", vault_kms_endpoint="")
    assert seal["awskms"] == {"region": REGION, "kms_key_id": "alias/x"}


def test_wrong_region_does_not_find_the_key(tmp_path, moto_endpoint, kms_key):
    """The region is part of the settings that matter: the same key id in another region is unknown."""
    seal = render_seal(tmp_path, vault_kms_region="us-east-1", vault_kms_key_id=kms_key["KeyId"],
                       vault_kms_endpoint=moto_endpoint)["awskms"]
    kms = boto3.client("kms", region_name=seal["region"], endpoint_url=seal["endpoint"])
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.describe_key(KeyId=seal["kms_key_id"])
