# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""playbooks/infrastructure.yml prepares the s3 state backend of an amazon environment before any stack.

The example production model (inventories/aws-example/single) is pointed at the moto server; the
playbook runs with ``--tags state_backend`` (the amazon stacks themselves need the AWS provider,
which cannot be downloaded here). Check mode creates nothing, the real run creates the versioned,
KMS-encrypted bucket and the lock table, and a second run changes nothing.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "aws-example" / "single" / "model"
BUCKET, TABLE, ALIAS = "apron-prod-state", "apron-prod-lock", "alias/apron-prod"

pytestmark = pytest.mark.slow


def _model(tmp_path, endpoint):
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE, model)
    provider = model / "provider.yml"
    text = provider.read_text()
    # moto takes any credentials; the example's named profile does not exist on a test machine.
    text = re.sub(r"^(\s*)profile: .*$", r"\1# profile removed by the test", text, flags=re.M)
    text = text.replace("endpointURL: null", "endpointURL: %s" % endpoint)
    provider.write_text(text)
    return model


def _play(model, *extra):
    cmd = ["ansible-playbook", str(REPO / "playbooks" / "infrastructure.yml"), "--tags", "state_backend",
           "-e", "apron_cluster=prod", "-e", "apron_model=%s" % model, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, cwd=str(REPO),
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))


def _recap(proc):
    match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", proc.stdout)
    assert match, proc.stdout[-4000:] + proc.stderr[-2000:]
    return int(match.group(1)), int(match.group(2))


def test_state_backend_before_the_stacks(moto_endpoint, boto, tmp_path):
    model = _model(tmp_path, moto_endpoint)

    check = _play(model, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
    assert _recap(check) == (1, 0)
    assert BUCKET not in [b["Name"] for b in boto("s3").list_buckets()["Buckets"]]
    assert TABLE not in boto("dynamodb").list_tables()["TableNames"]

    first = _play(model)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert _recap(first) == (1, 0)
    s3 = boto("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()), block
    assert TABLE in boto("dynamodb").list_tables()["TableNames"]
    assert boto("kms").describe_key(KeyId=ALIAS)["KeyMetadata"]["Enabled"]

    second = _play(model)
    assert second.returncode == 0, second.stdout[-4000:]
    assert _recap(second) == (0, 0)


def test_local_provider_skips_the_state_backend(tmp_path):
    """The embedded local model has no s3 backend: the block loads the model and changes nothing."""
    proc = _play(REPO / "inventories" / "local" / "model", "-e", "apron_cluster=dev", "--check")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert _recap(proc) == (0, 0)
    assert "State bucket, lock table and KMS key" in proc.stdout
