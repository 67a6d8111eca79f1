#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: state_backend
short_description: Ensure the S3 bucket and DynamoDB lock table that hold Terraform state on amazon
version_added: 0.1.0
description:
  - Runs before any Terraform stack of an amazon environment and makes the remote state backend safe to use.
  - "The S3 state bucket is versioned, encrypted with SSE-KMS using O(kms_key) (an S3 bucket key is enabled),
    blocks all public access, enforces bucket ownership (C(BucketOwnerEnforced)) and carries a bucket policy
    statement (Sid C(DenyInsecureTransport)) that denies every request not sent over TLS. Other statements of an
    existing policy are kept."
  - The DynamoDB lock table has the string hash key C(LockID), on-demand billing (C(PAY_PER_REQUEST))
    and point-in-time recovery enabled.
  - Settings that drifted (for example versioning suspended by hand) are put back.
  - Returns the Terraform backend configuration of each of the five stacks
    (key C(<environment>/<cluster>/<stack>/terraform.tfstate)) when O(environment) and O(cluster) are given.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.actiongroup_aws
  - apron.cluster.aws
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the bucket settings, the lock table and the KMS key before and after.
  idempotent:
    support: full
options:
  bucket:
    description: Name of the S3 state bucket.
    type: str
    required: true
  lock_table:
    description: Name of the DynamoDB lock table.
    type: str
    required: true
  kms_key:
    description:
      - KMS key used for SSE-KMS of the bucket, as C(alias/<name>), key ID or key ARN.
      - Required with O(state=present).
    type: str
  create_kms_key:
    description:
      - Create the KMS key (with automatic rotation) and the alias named by O(kms_key) when the alias does not exist.
      - Needs O(kms_key) to be an alias (C(alias/<name>)).
    type: bool
    default: false
  state:
    description:
      - V(present) creates or repairs the bucket and the table.
      - V(absent) deletes the lock table and the bucket. The KMS key is never deleted (KMS can only schedule
        deletion; do that deliberately).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), delete the bucket even though it holds objects (every object version and delete
        marker is removed first). Without it, a non-empty bucket is refused.
    type: bool
    default: false
  enforce_tls:
    description:
      - Add the C(DenyInsecureTransport) statement to the bucket policy.
      - Set V(false) only for an S3-compatible endpoint reached over plain HTTP (for example a moto server in tests),
        where that statement denies every object write, Terraform's state included. An existing statement is
        left in place either way.
    type: bool
    default: true
  environment:
    description: Environment name, for the state keys of RV(backend).
    type: str
  cluster:
    description: Cluster name, for the state keys of RV(backend).
    type: str
  tags:
    description: Tags put on a bucket and a table this module creates.
    type: dict
    default: {}
notes:
  - Terraform's C(s3) backend stores its lock as an item with C(LockID) = C(<bucket>/<key>);
    use M(apron.cluster.state_lock) to inspect or release a stuck lock.
seealso:
  - module: apron.cluster.state_lock
  - module: apron.cluster.terraform_stack
"""

EXAMPLES = r"""
- name: Make sure the state backend of staging exists (creating its KMS key on the first run)
  apron.cluster.state_backend:
    bucket: apron-staging-state
    lock_table: apron-staging-lock
    kms_key: alias/apron-staging
    create_kms_key: true
    region: eu-west-1
    environment: staging
    cluster: staging-main
  register: backend

- name: Tear the backend down, state objects included
  apron.cluster.state_backend:
    bucket: apron-staging-state
    lock_table: apron-staging-lock
    region: eu-west-1
    state: absent
    force: true
"""

RETURN = r"""
bucket:
  description: Settings of the bucket after the run (in check mode, what they would be).
  returned: always
  type: dict
  sample:
    name: apron-staging-state
    exists: true
    versioning: Enabled
    encryption: {algorithm: "aws:kms", kms_key: "arn:aws:kms:eu-west-1:123456789012:key/0d5f...", bucket_key: true}
    public_access_block: {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
    ownership: BucketOwnerEnforced
    tls_only_policy: true
lock_table:
  description: The lock table after the run.
  returned: always
  type: dict
  sample: {name: apron-staging-lock, exists: true, hash_key: LockID, billing_mode: PAY_PER_REQUEST, point_in_time_recovery: true}
kms_key_arn:
  description: ARN of the KMS key (null when it would only be created in check mode).
  returned: success and state=present
  type: str
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: ["create bucket apron-staging-state", "enable versioning"]
backend:
  description: Stack name -> Terraform s3 backend configuration of that stack.
  returned: state=present and environment and cluster are given
  type: dict
  sample:
    network: {bucket: apron-staging-state, key: staging/staging-main/network/terraform.tfstate, region: eu-west-1,
              encrypt: true, dynamodb_table: apron-staging-lock, kms_key_id: alias/apron-staging}
"""

import copy
import json
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.apron.cluster.plugins.module_utils._stack_vars import STACKS
from ansible_collections.apron.cluster.plugins.module_utils._aws import (
    AWS_MUTUALLY_EXCLUSIVE, AWS_REQUIRED_TOGETHER, BotoCoreError, ClientError, aws_argument_spec, client,
    error_code, fail_json_aws,
)

TLS_SID = "DenyInsecureTransport"
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                       "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
MISSING_BUCKET = ("NoSuchBucket", "404", "NotFound")


class StateBackend(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.s3 = client(module, "s3")
        self.ddb = client(module, "dynamodb")
        self.kms = client(module, "kms")
        self.region = self.s3.client.meta.region_name
        self.actions = []
        self.changed = False
        self.operation = None
        self._policy = None

    # ---------------------------------------------------------------- helpers
    def act(self, description, func=None, *args, **kwargs):
        """Record an action; run it unless in check mode."""
        self.actions.append(description)
        self.changed = True
        if func is not None and not self.module.check_mode:
            self.operation = description
            return func(*args, **kwargs)
        return None

    def tls_statement(self):
        arn = "arn:aws:s3:::%s" % self.p["bucket"]
        return {"Sid": TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [arn, arn + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}

    # ---------------------------------------------------------------- KMS
    def kms_key(self):
        """(arn or None, names the key is known by, before, after) of O(kms_key)."""
        name = self.p["kms_key"]
        try:
            meta = self.kms.describe_key(KeyId=name)["KeyMetadata"]
        except ClientError as exc:
            if error_code(exc) != "NotFoundException":
                raise
            meta = None
        if meta is not None:
            if meta.get("KeyState") != "Enabled":
                self.module.fail_json(msg="kms_key: %r: key %s is %s: expected an Enabled key (Terraform could not "
                                          "write encrypted state)" % (name, meta["Arn"], meta.get("KeyState")))
            info = {"key": name, "arn": meta["Arn"], "exists": True, "rotation": None}
            if meta.get("KeyManager") == "CUSTOMER":
                try:
                    info["rotation"] = self.kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
                except ClientError:
                    info["rotation"] = None
            return meta["Arn"], set([name, meta["Arn"], meta["KeyId"]]), info, info
        if not self.p["create_kms_key"]:
            self.module.fail_json(msg="kms_key: %r: no such KMS key: expected an existing key ID, ARN or alias, "
                                      "or create_kms_key=true" % name)
        if not name.startswith("alias/"):
            self.module.fail_json(msg="kms_key: %r: expected an alias (alias/<name>) with create_kms_key=true" % name)
        before = {"key": name, "exists": False}
        after = {"key": name, "exists": True, "rotation": True}
        tags = [{"TagKey": k, "TagValue": str(v)} for k, v in sorted(self.p["tags"].items())]
        created = self.act("create KMS key with rotation and alias %s" % name, self.kms.create_key,
                           Description="Terraform state of %s" % self.p["bucket"], Tags=tags)
        if created is None:
            return None, set([name]), before, after
        key_id = created["KeyMetadata"]["KeyId"]
        self.kms.enable_key_rotation(KeyId=key_id)
        self.kms.create_alias(AliasName=name, TargetKeyId=key_id)
        after["arn"] = created["KeyMetadata"]["Arn"]
        return created["KeyMetadata"]["Arn"], set([name, key_id, after["arn"]]), before, after

    # ---------------------------------------------------------------- S3
    def bucket_exists(self):
        try:
            self.s3.head_bucket(Bucket=self.p["bucket"])
            return True
        except ClientError as exc:
            if error_code(exc) in MISSING_BUCKET:
                return False
            raise

    def read_bucket(self):
        name = self.p["bucket"]
        if not self.bucket_exists():
            return {"name": name, "exists": False}
        state = {"name": name, "exists": True}
        state["versioning"] = self.s3.get_bucket_versioning(Bucket=name).get("Status") or "Disabled"
        try:
            rules = self.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            rule = rules[0]
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            state["encryption"] = {"algorithm": default.get("SSEAlgorithm"),
                                   "kms_key": default.get("KMSMasterKeyID"),
                                   "bucket_key": bool(rule.get("BucketKeyEnabled"))}
        except ClientError as exc:
            if error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            state["encryption"] = None
        try:
            state["public_access_block"] = self.s3.get_public_access_block(
                Bucket=name)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            state["public_access_block"] = None
        try:
            rules = self.s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
            state["ownership"] = rules[0]["ObjectOwnership"] if rules else None
        except ClientError as exc:
            if error_code(exc) != "OwnershipControlsNotFoundError":
                raise
            state["ownership"] = None
        try:
            policy = json.loads(self.s3.get_bucket_policy(Bucket=name)["Policy"])
        except ClientError as exc:
            if error_code(exc) != "NoSuchBucketPolicy":
                raise
            policy = None
        self._policy = policy
        statements = (policy or {}).get("Statement") or []
        if isinstance(statements, dict):
            statements = [statements]
        state["tls_only_policy"] = any(self._same_statement(s) for s in statements)
        state["other_policy_statements"] = len([s for s in statements if s.get("Sid") != TLS_SID])
        return state

    def _same_statement(self, statement):
        want = self.tls_statement()
        if statement.get("Sid") != TLS_SID:
            return False
        have = dict(statement)
        res = have.get("Resource")
        have["Resource"] = sorted(res) if isinstance(res, list) else [res]
        if have.get("Principal") in ({"AWS": "*"},):
            have["Principal"] = "*"
        want["Resource"] = sorted(want["Resource"])
        return have == want

    def ensure_bucket(self, kms_arn, kms_names):
        name = self.p["bucket"]
        before = self.read_bucket()
        if not before["exists"]:
            self._policy = None
            kwargs = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.act("create bucket %s" % name, self.s3.create_bucket, **kwargs)
            if self.p["tags"] and not self.module.check_mode:
                self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [
                    {"Key": k, "Value": str(v)} for k, v in sorted(self.p["tags"].items())]})
            current = {"name": name, "exists": True, "versioning": "Disabled", "encryption": None,
                       "public_access_block": None, "ownership": "BucketOwnerEnforced",
                       "tls_only_policy": False, "other_policy_statements": 0}
            if not self.module.check_mode:
                current = self.read_bucket()
        else:
            current = copy.deepcopy(before)
        after = copy.deepcopy(current)

        if current.get("public_access_block") != PUBLIC_ACCESS_BLOCK:
            self.act("block all public access", self.s3.put_public_access_block, Bucket=name,
                     PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK))
            after["public_access_block"] = dict(PUBLIC_ACCESS_BLOCK)
        if current.get("ownership") != "BucketOwnerEnforced":
            self.act("enforce bucket owner (BucketOwnerEnforced)", self.s3.put_bucket_ownership_controls, Bucket=name,
                     OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
            after["ownership"] = "BucketOwnerEnforced"
        if current.get("versioning") != "Enabled":
            self.act("enable versioning", self.s3.put_bucket_versioning, Bucket=name,
                     VersioningConfiguration={"Status": "Enabled"})
            after["versioning"] = "Enabled"
        enc = current.get("encryption") or {}
        if not (enc.get("algorithm") == "aws:kms" and enc.get("kms_key") in kms_names and enc.get("bucket_key")):
            key = kms_arn or self.p["kms_key"]
            self.act("set default encryption SSE-KMS with %s" % self.p["kms_key"], self.s3.put_bucket_encryption,
                     Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                         "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                         "BucketKeyEnabled": True}]})
            after["encryption"] = {"algorithm": "aws:kms", "kms_key": key, "bucket_key": True}
        if self.p["enforce_tls"] and not current.get("tls_only_policy"):
            policy = copy.deepcopy(self._policy) or {"Version": "2012-10-17", "Statement": []}
            statements = policy.get("Statement") or []
            if isinstance(statements, dict):
                statements = [statements]
            policy["Statement"] = [s for s in statements if s.get("Sid") != TLS_SID] + [self.tls_statement()]
            self.act("deny non-TLS requests in the bucket policy", self.s3.put_bucket_policy, Bucket=name,
                     Policy=json.dumps(policy))
            after["tls_only_policy"] = True
        return before, after

    def bucket_objects(self):
        """Every object version and delete marker of the bucket (plain keys if it never was versioned)."""
        name = self.p["bucket"]
        versions = []
        for page in self.s3.client.get_paginator("list_object_versions").paginate(Bucket=name):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                versions.append({"Key": item["Key"], "VersionId": item["VersionId"]})
        if not versions:
            for page in self.s3.client.get_paginator("list_objects_v2").paginate(Bucket=name):
                for item in page.get("Contents", []):
                    versions.append({"Key": item["Key"]})
        return versions

    def check_bucket_deletable(self):
        """Before anything is deleted: refuse a non-empty bucket unless force."""
        before = self.read_bucket()
        versions = self.bucket_objects() if before["exists"] else []
        if versions and not self.p["force"]:
            keys = sorted(set(v["Key"] for v in versions))
            self.module.fail_json(
                msg="bucket %s: holds %d object version(s) (%s): expected an empty bucket, or force=true to delete "
                    "the Terraform state it holds" % (self.p["bucket"], len(versions), ", ".join(keys[:5])),
                objects=keys)
        if not before["exists"]:
            self._policy = None
        return before, versions

    def delete_bucket(self, before, versions):
        name = self.p["bucket"]
        if not before["exists"]:
            return before, before
        if versions and self._policy:
            # The bucket goes away: drop its policy first so that no deny statement (the TLS-only one
            # over a plain-HTTP S3-compatible endpoint, an operator's own) blocks emptying it.
            self.act("delete the bucket policy of %s" % name, self.s3.delete_bucket_policy, Bucket=name)
        if versions:
            self.act("delete %d object version(s) from %s" % (len(versions), name))
            if not self.module.check_mode:
                for start in range(0, len(versions), 1000):
                    response = self.s3.delete_objects(Bucket=name, Delete={"Objects": versions[start:start + 1000],
                                                                           "Quiet": True})
                    errors = response.get("Errors") or []
                    if errors:
                        self.module.fail_json(
                            msg="bucket %s: DeleteObjects failed for %d object(s), first %s: %s %s" % (
                                name, len(errors), errors[0].get("Key"), errors[0].get("Code"),
                                errors[0].get("Message")),
                            changed=True, actions=self.actions, errors=errors)
        self.act("delete bucket %s" % name, self.s3.delete_bucket, Bucket=name)
        return before, {"name": name, "exists": False}

    # ---------------------------------------------------------------- DynamoDB
    def read_table(self):
        name = self.p["lock_table"]
        try:
            table = self.ddb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            return {"name": name, "exists": False}
        keys = dict((k["KeyType"], k["AttributeName"]) for k in table.get("KeySchema", []))
        types = dict((a["AttributeName"], a["AttributeType"]) for a in table.get("AttributeDefinitions", []))
        billing = (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
        try:
            backups = self.ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
            pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
        except ClientError:
            pitr = None
        return {"name": name, "exists": True, "status": table.get("TableStatus"),
                "hash_key": keys.get("HASH"), "hash_key_type": types.get(keys.get("HASH")),
                "range_key": keys.get("RANGE"), "billing_mode": billing, "point_in_time_recovery": pitr,
                "arn": table.get("TableArn")}

    def ensure_table(self):
        name = self.p["lock_table"]
        before = self.read_table()
        if before["exists"] and (before["hash_key"] != "LockID" or before["hash_key_type"] != "S"
                                 or before.get("range_key")):
            self.module.fail_json(
                msg="lock_table %s: key schema %s (%s)%s: expected the single string hash key LockID that Terraform "
                    "uses; the table cannot be changed in place, choose another name or remove it"
                    % (name, before["hash_key"], before["hash_key_type"],
                       " with range key %s" % before["range_key"] if before.get("range_key") else ""))
        after = copy.deepcopy(before)
        if not before["exists"]:
            tags = [{"Key": k, "Value": str(v)} for k, v in sorted(self.p["tags"].items())]
            kwargs = dict(TableName=name, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                          SSESpecification={"Enabled": True})
            if tags:
                kwargs["Tags"] = tags
            self.act("create lock table %s" % name, self.ddb.create_table, **kwargs)
            if not self.module.check_mode:
                self.ddb.client.get_waiter("table_exists").wait(TableName=name,
                                                                WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            after = {"name": name, "exists": True, "status": "ACTIVE", "hash_key": "LockID", "hash_key_type": "S",
                     "range_key": None, "billing_mode": "PAY_PER_REQUEST", "point_in_time_recovery": False}
        elif before["billing_mode"] != "PAY_PER_REQUEST":
            self.act("switch lock table %s to PAY_PER_REQUEST" % name, self.ddb.update_table,
                     TableName=name, BillingMode="PAY_PER_REQUEST")
            after["billing_mode"] = "PAY_PER_REQUEST"
        if not after.get("point_in_time_recovery"):
            self.act("enable point-in-time recovery on %s" % name, self.ddb.update_continuous_backups,
                     TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                     _retry_codes=("ContinuousBackupsUnavailableException", "ResourceInUseException"))
            after["point_in_time_recovery"] = True
        after.pop("arn", None)
        after.pop("status", None)
        before = dict((k, v) for k, v in before.items() if k not in ("arn", "status"))
        if not self.module.check_mode and self.changed:
            fresh = self.read_table()
            fresh.pop("status", None)
            fresh.pop("arn", None)
            after = fresh
        return before, after

    def delete_table(self):
        before = self.read_table()
        before.pop("arn", None)
        before.pop("status", None)
        if not before["exists"]:
            return before, before
        self.act("delete lock table %s" % self.p["lock_table"], self.ddb.delete_table, TableName=self.p["lock_table"])
        return before, {"name": self.p["lock_table"], "exists": False}

    # ---------------------------------------------------------------- run
    def backend(self, kms_arn):
        if not (self.p["environment"] and self.p["cluster"]):
            return None
        result = {}
        for stack in STACKS:
            config = {"bucket": self.p["bucket"],
                      "key": "%s/%s/%s/terraform.tfstate" % (self.p["environment"], self.p["cluster"], stack),
                      "region": self.region, "encrypt": True, "dynamodb_table": self.p["lock_table"],
                      "kms_key_id": self.p["kms_key"]}
            if self.p["endpoint_url"]:
                url = self.p["endpoint_url"]
                config.update({"endpoints": {"s3": url, "dynamodb": url, "sts": url, "iam": url},
                               "use_path_style": True, "skip_credentials_validation": True,
                               "skip_requesting_account_id": True, "skip_metadata_api_check": True,
                               "skip_region_validation": True})
            result[stack] = config
        return result

    def run(self):
        result = {}
        if self.p["state"] == "present":
            kms_arn, kms_names, kms_before, kms_after = self.kms_key()
            bucket_before, bucket_after = self.ensure_bucket(kms_arn, kms_names)
            table_before, table_after = self.ensure_table()
            before = {"bucket": bucket_before, "lock_table": table_before, "kms_key": kms_before}
            after = {"bucket": bucket_after, "lock_table": table_after, "kms_key": kms_after}
            result["kms_key_arn"] = kms_arn
            backend = self.backend(kms_arn)
            if backend is not None:
                result["backend"] = backend
        else:
            bucket_state, versions = self.check_bucket_deletable()
            table_before, table_after = self.delete_table()
            bucket_before, bucket_after = self.delete_bucket(bucket_state, versions)
            before = {"bucket": bucket_before, "lock_table": table_before}
            after = {"bucket": bucket_after, "lock_table": table_after}
        result.update(changed=self.changed, actions=self.actions, bucket=after["bucket"],
                      lock_table=after["lock_table"])
        if self.module._diff:
            result["diff"] = {"before": before, "after": after,
                              "before_header": "s3://%s + dynamodb:%s" % (self.p["bucket"], self.p["lock_table"]),
                              "after_header": "s3://%s + dynamodb:%s" % (self.p["bucket"], self.p["lock_table"])}
        return result


def main():
    argument_spec = aws_argument_spec()
    argument_spec.update(
        bucket=dict(type="str", required=True),
        lock_table=dict(type="str", required=True),
        kms_key=dict(type="str", no_log=False),
        create_kms_key=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        force=dict(type="bool", default=False),
        enforce_tls=dict(type="bool", default=True),
        environment=dict(type="str"),
        cluster=dict(type="str"),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=AWS_MUTUALLY_EXCLUSIVE, required_together=AWS_REQUIRED_TOGETHER,
                           required_if=[["state", "present", ["kms_key"]]])
    if module.params["state"] == "present" and not module.params["kms_key"]:
        module.fail_json(msg="kms_key: not set: expected a KMS key alias, ID or ARN with state=present")
    bucket = module.params["bucket"]
    if not BUCKET_NAME.match(bucket) or ".." in bucket:
        module.fail_json(msg="bucket: %r: expected an S3 bucket name of 3 to 63 lowercase letters, digits, '.' "
                             "and '-', starting and ending with a letter or digit" % bucket)
    if not TABLE_NAME.match(module.params["lock_table"]):
        module.fail_json(msg="lock_table: %r: expected a DynamoDB table name of 3 to 255 letters, digits, "
                             "'_', '-' and '.'" % module.params["lock_table"])
    backend = StateBackend(module)
    try:
        result = backend.run()
    except (ClientError, BotoCoreError) as exc:
        where = "bucket %s / lock table %s" % (module.params["bucket"], module.params["lock_table"])
        fail_json_aws(module, exc, msg=where,
                      actions=backend.actions, changed=backend.changed and not module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
