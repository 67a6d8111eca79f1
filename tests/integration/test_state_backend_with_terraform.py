# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The backend state_backend prepares really serves Terraform's s3 backend (real terraform, moto over HTTP).

The stack is provider-free (terraform_data), so nothing has to be downloaded.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.helpers import run_module

BUCKET = "apron-tfbe-state"
TABLE = "apron-tfbe-lock"


def hcl(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ %s }" % ", ".join("%s = %s" % (k, hcl(v)) for k, v in sorted(value.items()))
    return json.dumps(value)


@pytest.mark.slow
def test_terraform_s3_backend_uses_the_prepared_bucket_and_table(moto_endpoint, boto, tmp_path):
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform is not on PATH (the machine image provides 1.11.x)")
    # enforce_tls=false: moto is plain HTTP, where the TLS-only statement would (rightly) deny Terraform's writes.
    result = run_module("state_backend", {
        "bucket": BUCKET, "lock_table": TABLE, "kms_key": "alias/apron-tfbe", "create_kms_key": True,
        "region": "eu-west-1", "endpoint_url": moto_endpoint, "environment": "tfbe", "cluster": "main",
        "enforce_tls": False}, via="ansible")
    assert not result.get("failed"), result.get("msg")
    config = result["backend"]["network"]
    (tmp_path / "main.tf").write_text(
        'terraform {\n  backend "s3" {}\n}\n\nresource "terraform_data" "x" {\n  input = "hello"\n}\n')
    (tmp_path / "backend.tfbackend").write_text("".join("%s = %s\n" % (k, hcl(v)) for k, v in sorted(config.items())))
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(tmp_path / ".tf")}
    for args in (["init", "-input=false", "-backend-config=backend.tfbackend"],
                 ["apply", "-input=false", "-auto-approve"]):
        proc = subprocess.run([terraform] + args, check=False, cwd=str(tmp_path), env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, "terraform %s failed:\n%s\n%s" % (args[0], proc.stdout, proc.stderr)

    s3 = boto("s3")
    head = s3.head_object(Bucket=BUCKET, Key="tfbe/main/network/terraform.tfstate")
    assert head["ServerSideEncryption"] == "aws:kms"
    key_arn = boto("kms").describe_key(KeyId="alias/apron-tfbe")["KeyMetadata"]["Arn"]
    assert head["SSEKMSKeyId"] in (key_arn, "alias/apron-tfbe", key_arn.split("/")[-1])
    assert len(s3.list_object_versions(Bucket=BUCKET)["Versions"]) >= 1
    digest = boto("dynamodb").get_item(TableName=TABLE, Key={
        "LockID": {"S": "%s/tfbe/main/network/terraform.tfstate-md5" % BUCKET}})
    assert "Item" in digest, "Terraform did not use the lock table"
    # the lock is released after apply: state_lock finds none
    assert run_module("state_lock", {"table": TABLE, "region": "eu-west-1", "endpoint_url": moto_endpoint}, via="ansible")["locks"] == []
