# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""state_backend, S3: the state bucket (versioned, SSE-KMS with a bucket key, public access blocked,
owner enforced, TLS-only policy statement) and its removal. Raises StateBackendError; AWS errors propagate."""
from __future__ import annotations

import copy
import json

from ansible_collections.apron.cluster.plugins.module_utils._aws import ClientError, error_code
from ansible_collections.apron.cluster.plugins.module_utils._state_backend_common import StateBackendError

TLS_SID = "DenyInsecureTransport"
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                       "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
MISSING_BUCKET = ("NoSuchBucket", "404", "NotFound")


class StateBucket(object):
    """The bucket of ``params["bucket"]`` in ``region``."""

    def __init__(self, s3, recorder, params, region):
        self.s3 = s3
        self.rec = recorder
        self.p = params
        self.region = region
        self._policy = None

    def tls_statement(self):
        arn = "arn:aws:s3:::%s" % self.p["bucket"]
        return {"Sid": TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [arn, arn + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}

    def exists(self):
        try:
            self.s3.head_bucket(Bucket=self.p["bucket"])
            return True
        except ClientError as exc:
            if error_code(exc) in MISSING_BUCKET:
                return False
            raise

    def read(self):
        name = self.p["bucket"]
        if not self.exists():
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

    def ensure(self, kms_arn, kms_names):
        name = self.p["bucket"]
        before = self.read()
        if not before["exists"]:
            self._policy = None
            kwargs = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
            if self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.rec.act("create bucket %s" % name, self.s3.create_bucket, **kwargs)
            if self.p["tags"] and not self.rec.check_mode:
                self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [
                    {"Key": k, "Value": str(v)} for k, v in sorted(self.p["tags"].items())]})
            current = {"name": name, "exists": True, "versioning": "Disabled", "encryption": None,
                       "public_access_block": None, "ownership": "BucketOwnerEnforced",
                       "tls_only_policy": False, "other_policy_statements": 0}
            if not self.rec.check_mode:
                current = self.read()
        else:
            current = copy.deepcopy(before)
        after = copy.deepcopy(current)

        if current.get("public_access_block") != PUBLIC_ACCESS_BLOCK:
            self.rec.act("block all public access", self.s3.put_public_access_block, Bucket=name,
                         PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK))
            after["public_access_block"] = dict(PUBLIC_ACCESS_BLOCK)
        if current.get("ownership") != "BucketOwnerEnforced":
            self.rec.act("enforce bucket owner (BucketOwnerEnforced)", self.s3.put_bucket_ownership_controls, Bucket=name,
                         OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
            after["ownership"] = "BucketOwnerEnforced"
        if current.get("versioning") != "Enabled":
            self.rec.act("enable versioning", self.s3.put_bucket_versioning, Bucket=name,
                         VersioningConfiguration={"Status": "Enabled"})
            after["versioning"] = "Enabled"
        enc = current.get("encryption") or {}
        if not (enc.get("algorithm") == "aws:kms" and enc.get("kms_key") in kms_names and enc.get("bucket_key")):
            key = kms_arn or self.p["kms_key"]
            rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                    "BucketKeyEnabled": True}
            self.rec.act("set default encryption SSE-KMS with %s" % self.p["kms_key"], self.s3.put_bucket_encryption,
                         Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
            after["encryption"] = {"algorithm": "aws:kms", "kms_key": key, "bucket_key": True}
        if self.p["enforce_tls"] and not current.get("tls_only_policy"):
            policy = copy.deepcopy(self._policy) or {"Version": "2012-10-17", "Statement": []}
            statements = policy.get("Statement") or []
            if isinstance(statements, dict):
                statements = [statements]
            policy["Statement"] = [s for s in statements if s.get("Sid") != TLS_SID] + [self.tls_statement()]
            self.rec.act("deny non-TLS requests in the bucket policy", self.s3.put_bucket_policy, Bucket=name,
                         Policy=json.dumps(policy))
            after["tls_only_policy"] = True
        return before, after

    def objects(self):
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

    def check_deletable(self):
        """Before anything is deleted: refuse a non-empty bucket unless force."""
        before = self.read()
        versions = self.objects() if before["exists"] else []
        if versions and not self.p["force"]:
            keys = sorted(set(v["Key"] for v in versions))
            raise StateBackendError(
                "bucket %s: holds %d object version(s) (%s): expected an empty bucket, or force=true to delete "
                "the Terraform state it holds" % (self.p["bucket"], len(versions), ", ".join(keys[:5])),
                objects=keys)
        if not before["exists"]:
            self._policy = None
        return before, versions

    def delete(self, before, versions):
        name = self.p["bucket"]
        if not before["exists"]:
            return before, before
        if versions and self._policy:
            # The bucket goes away: drop its policy first so that no deny statement (the TLS-only one
            # over a plain-HTTP S3-compatible endpoint, an operator's own) blocks emptying it.
            self.rec.act("delete the bucket policy of %s" % name, self.s3.delete_bucket_policy, Bucket=name)
        if versions:
            self.rec.act("delete %d object version(s) from %s" % (len(versions), name))
            if not self.rec.check_mode:
                for start in range(0, len(versions), 1000):
                    response = self.s3.delete_objects(Bucket=name, Delete={"Objects": versions[start:start + 1000],
                                                                           "Quiet": True})
                    errors = response.get("Errors") or []
                    if errors:
                        raise StateBackendError(
                            "bucket %s: DeleteObjects failed for %d object(s), first %s: %s %s" % (
                                name, len(errors), errors[0].get("Key"), errors[0].get("Code"),
                                errors[0].get("Message")),
                            changed=True, actions=self.rec.actions, errors=errors)
        self.rec.act("delete bucket %s" % name, self.s3.delete_bucket, Bucket=name)
        return before, {"name": name, "exists": False}
