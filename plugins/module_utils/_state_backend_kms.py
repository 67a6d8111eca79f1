# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""state_backend, KMS: the key that encrypts the state bucket (SSE-KMS); created with automatic
rotation and its alias on request. Never deleted. Raises StateBackendError; AWS errors propagate."""
from __future__ import annotations

from ansible_collections.apron.cluster.plugins.module_utils._aws import ClientError, error_code
from ansible_collections.apron.cluster.plugins.module_utils._state_backend_common import StateBackendError


class StateKey(object):
    """The KMS key of ``params["kms_key"]`` (alias, key ID or ARN)."""

    def __init__(self, kms, recorder, params):
        self.kms = kms
        self.rec = recorder
        self.p = params

    def ensure(self):
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
                raise StateBackendError("kms_key: %r: key %s is %s: expected an Enabled key (Terraform could not "
                                        "write encrypted state)" % (name, meta["Arn"], meta.get("KeyState")))
            info = {"key": name, "arn": meta["Arn"], "exists": True, "rotation": None}
            if meta.get("KeyManager") == "CUSTOMER":
                try:
                    info["rotation"] = self.kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
                except ClientError:
                    info["rotation"] = None
            return meta["Arn"], set([name, meta["Arn"], meta["KeyId"]]), info, info
        if not self.p["create_kms_key"]:
            raise StateBackendError("kms_key: %r: no such KMS key: expected an existing key ID, ARN or alias, "
                                    "or create_kms_key=true" % name)
        if not name.startswith("alias/"):
            raise StateBackendError("kms_key: %r: expected an alias (alias/<name>) with create_kms_key=true" % name)
        before = {"key": name, "exists": False}
        after = {"key": name, "exists": True, "rotation": True}
        tags = [{"TagKey": k, "TagValue": str(v)} for k, v in sorted(self.p["tags"].items())]
        created = self.rec.act("create KMS key with rotation and alias %s" % name, self.kms.create_key,
                               Description="Terraform state of %s" % self.p["bucket"], Tags=tags)
        if created is None:
            return None, set([name]), before, after
        key_id = created["KeyMetadata"]["KeyId"]
        self.kms.enable_key_rotation(KeyId=key_id)
        self.kms.create_alias(AliasName=name, TargetKeyId=key_id)
        after["arn"] = created["KeyMetadata"]["Arn"]
        return created["KeyMetadata"]["Arn"], set([name, key_id, after["arn"]]), before, after
