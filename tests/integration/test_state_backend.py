# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.state_backend against a real moto server over HTTP."""
from __future__ import annotations

import json

import pytest

from tests.helpers import run_module

BUCKET = "apron-staging-state"
TABLE = "apron-staging-lock"


@pytest.fixture
def args(moto_endpoint):
    return {"bucket": BUCKET, "lock_table": TABLE, "kms_key": "alias/apron-staging", "create_kms_key": True,
            "region": "eu-west-1", "endpoint_url": moto_endpoint, "environment": "staging",
            "cluster": "main"}


def customer_keys(kms):
    keys = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    return [k["KeyId"] for k in keys if k.get("KeyManager") == "CUSTOMER"]


def bucket_settings(s3):
    enc = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    return {
        "versioning": s3.get_bucket_versioning(Bucket=BUCKET).get("Status"),
        "sse": enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "kms": enc["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"],
        "pab": s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"],
        "ownership": s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "policy": json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]),
    }


def test_create_then_idempotent(args, boto):
    first = run_module("state_backend", args, via="ansible")
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] is True
    assert "create bucket %s" % BUCKET in first["actions"]
    s3, ddb, kms = boto("s3"), boto("dynamodb"), boto("kms")
    settings = bucket_settings(s3)
    key = kms.describe_key(KeyId="alias/apron-staging")["KeyMetadata"]
    assert settings["versioning"] == "Enabled"
    assert settings["sse"] == "aws:kms" and settings["kms"] == key["Arn"]
    assert all(settings["pab"].values()) and len(settings["pab"]) == 4
    assert settings["ownership"] == "BucketOwnerEnforced"
    deny = [s for s in settings["policy"]["Statement"] if s["Sid"] == "DenyInsecureTransport"]
    assert deny and deny[0]["Effect"] == "Deny" and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "LockID", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    pitr = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert first["kms_key_arn"] == key["Arn"]
    assert set(first["backend"]) == {"state", "network", "tools", "vault", "kubernetes"}
    network = first["backend"]["network"]
    assert network["key"] == "staging/main/network/terraform.tfstate"
    assert network["bucket"] == BUCKET and network["dynamodb_table"] == TABLE and network["encrypt"] is True
    assert network["endpoints"]["s3"] == args["endpoint_url"]

    keys_after_first = customer_keys(kms)
    second = run_module("state_backend", args, via="ansible")
    assert second["changed"] is False and second["actions"] == []
    assert [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/apron-staging"]
    assert customer_keys(kms) == keys_after_first, "a second run must not create another KMS key"


def test_check_mode_changes_nothing(args, boto):
    result = run_module("state_backend", args, check=True, diff=True, via="ansible")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert "create bucket %s" % BUCKET in result["actions"]
    s3, ddb, kms = boto("s3"), boto("dynamodb"), boto("kms")
    assert s3.list_buckets()["Buckets"] == []
    assert ddb.list_tables()["TableNames"] == []
    assert customer_keys(kms) == []
    diff = result["diff"]
    assert diff["before"]["bucket"]["exists"] is False and diff["after"]["bucket"]["exists"] is True
    assert diff["after"]["bucket"]["versioning"] == "Enabled"
    assert diff["before"]["lock_table"]["exists"] is False
    assert diff["after"]["lock_table"]["billing_mode"] == "PAY_PER_REQUEST"
    assert diff["before"]["kms_key"]["exists"] is False


def test_diff_and_drift_repaired(args, boto):
    run_module("state_backend", args, via="ansible")
    s3 = boto("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_policy(Bucket=BUCKET)

    check = run_module("state_backend", args, check=True, diff=True, via="ansible")
    assert check["changed"] is True
    assert sorted(check["actions"]) == sorted(["enable versioning", "deny non-TLS requests in the bucket policy"])
    assert check["diff"]["before"]["bucket"]["versioning"] == "Suspended"
    assert check["diff"]["after"]["bucket"]["versioning"] == "Enabled"
    assert check["diff"]["before"]["bucket"]["tls_only_policy"] is False
    assert check["diff"]["after"]["bucket"]["tls_only_policy"] is True
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended", "check mode must not repair"

    fixed = run_module("state_backend", args, diff=True, via="ansible")
    assert fixed["changed"] is True
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert bucket_settings(s3)["policy"]["Statement"][0]["Sid"] == "DenyInsecureTransport"
    assert run_module("state_backend", args, via="ansible")["changed"] is False


def test_encryption_and_public_access_drift_repaired(args, boto):
    run_module("state_backend", args, via="ansible")
    s3 = boto("s3")
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.delete_public_access_block(Bucket=BUCKET)
    fixed = run_module("state_backend", args, diff=True, via="ansible")
    assert fixed["changed"] is True
    assert fixed["diff"]["before"]["bucket"]["encryption"]["algorithm"] == "AES256"
    assert fixed["diff"]["before"]["bucket"]["public_access_block"] is None
    settings = bucket_settings(s3)
    assert settings["sse"] == "aws:kms" and all(settings["pab"].values())
    assert run_module("state_backend", args, via="ansible")["changed"] is False


def test_existing_policy_statements_are_kept(args, boto):
    s3 = boto("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    other = {"Sid": "ReadForAuditors", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % BUCKET}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]}))
    result = run_module("state_backend", args, via="ansible")
    assert result["changed"] is True
    sids = sorted(s["Sid"] for s in bucket_settings(s3)["policy"]["Statement"])
    assert sids == ["DenyInsecureTransport", "ReadForAuditors"]


def test_existing_kms_key_required_without_create(args, boto):
    args = dict(args, create_kms_key=False, kms_key="alias/does-not-exist")
    result = run_module("state_backend", args, via="ansible")
    assert result["failed"] is True
    assert "kms_key" in result["msg"] and "alias/does-not-exist" in result["msg"]
    assert boto("s3").list_buckets()["Buckets"] == []


def test_bad_inputs_are_refused(args):
    result = run_module("state_backend", dict(args, bucket="Bad_Bucket"), via="ansible")
    assert result["failed"] is True and "bucket: 'Bad_Bucket'" in result["msg"]
    result = run_module("state_backend", dict(args, kms_key=None), via="ansible")
    assert result["failed"] is True and "kms_key" in result["msg"]
    result = run_module("state_backend", dict(args, create_kms_key=True, kms_key="1234abcd-12ab-34cd-56ef-1234567890ab"), via="ansible")
    assert result["failed"] is True and "expected an alias" in result["msg"]


def test_wrong_table_schema_is_refused(args, boto):
    boto("dynamodb").create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                  KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    result = run_module("state_backend", args, via="ansible")
    assert result["failed"] is True and "LockID" in result["msg"] and TABLE in result["msg"]


def test_absent_refuses_non_empty_bucket_unless_forced(args, boto):
    # The object goes in before the module adds the TLS-only policy: moto evaluates that policy
    # and (rightly) refuses object writes over its plain-HTTP endpoint afterwards.
    s3 = boto("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=BUCKET, Key="staging/main/state/terraform.tfstate", Body=b"{}")
    assert run_module("state_backend", args, via="ansible")["changed"] is True
    absent = {k: v for k, v in args.items() if k not in ("kms_key", "create_kms_key", "environment", "cluster")}
    absent["state"] = "absent"
    refused = run_module("state_backend", absent, via="ansible")
    assert refused["failed"] is True
    assert "staging/main/state/terraform.tfstate" in refused["msg"] and "force" in refused["msg"]
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    assert boto("dynamodb").list_tables()["TableNames"] == [TABLE], "a refused run must not delete anything"

    check = run_module("state_backend", dict(absent, force=True), check=True, diff=True, via="ansible")
    assert check["changed"] is True and check["diff"]["after"]["bucket"]["exists"] is False
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]

    gone = run_module("state_backend", dict(absent, force=True), via="ansible")
    assert not gone.get("failed"), gone.get("msg")
    assert gone["changed"] is True
    assert s3.list_buckets()["Buckets"] == []
    assert boto("dynamodb").list_tables()["TableNames"] == []
    again = run_module("state_backend", dict(absent, force=True), via="ansible")
    assert again["changed"] is False


def test_tls_only_policy_is_enforced(args, boto):
    """The policy really denies non-TLS object access (moto evaluates it; its endpoint is plain HTTP)."""
    from botocore.exceptions import ClientError
    run_module("state_backend", args, via="ansible")
    with pytest.raises(ClientError) as err:
        boto("s3").put_object(Bucket=BUCKET, Key="x", Body=b"x")
    assert err.value.response["Error"]["Code"] in ("AccessDenied", "403")


def test_enforce_tls_false_leaves_policy_alone(args, boto):
    result = run_module("state_backend", dict(args, enforce_tls=False), via="ansible")
    assert result["changed"] is True and result["bucket"]["tls_only_policy"] is False
    assert not any("TLS" in action for action in result["actions"])
    boto("s3").put_object(Bucket=BUCKET, Key="staging/main/state/terraform.tfstate", Body=b"{}")
    assert run_module("state_backend", dict(args, enforce_tls=False), via="ansible")["changed"] is False


def test_aws_error_is_reported_with_operation_and_code(args):
    # nothing listens on port 1: the connection error is reported in one place, naming bucket and table
    result = run_module("state_backend", dict(args, endpoint_url="http://127.0.0.1:1", retries=0), via="ansible")
    assert result["failed"] is True
    assert result["msg"].startswith("bucket %s / lock table %s: " % (BUCKET, TABLE))
    assert "Could not connect to the endpoint URL" in result["msg"]
    assert result["error"]["code"] is None


def test_unusable_kms_key_is_refused(args, boto):
    kms = boto("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/apron-staging", TargetKeyId=key)
    kms.disable_key(KeyId=key)
    result = run_module("state_backend", dict(args, create_kms_key=False), via="ansible")
    assert result["failed"] is True
    assert "Disabled" in result["msg"] and "alias/apron-staging" in result["msg"]
    assert boto("s3").list_buckets()["Buckets"] == []
