# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""state_backend, DynamoDB: the lock table Terraform's s3 backend uses (string hash key LockID,
on-demand billing, point-in-time recovery) and its removal. Raises StateBackendError; AWS errors propagate."""
from __future__ import annotations

import copy

from ansible_collections.apron.cluster.plugins.module_utils._aws import ClientError, error_code
from ansible_collections.apron.cluster.plugins.module_utils._state_backend_common import StateBackendError


class LockTable(object):
    """The table of ``params["lock_table"]``."""

    def __init__(self, ddb, recorder, params):
        self.ddb = ddb
        self.rec = recorder
        self.p = params

    def read(self):
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

    def ensure(self):
        name = self.p["lock_table"]
        before = self.read()
        if before["exists"] and (before["hash_key"] != "LockID" or before["hash_key_type"] != "S"
                                 or before.get("range_key")):
            raise StateBackendError(
                "lock_table %s: key schema %s (%s)%s: expected the single string hash key LockID that Terraform "
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
            self.rec.act("create lock table %s" % name, self.ddb.create_table, **kwargs)
            if not self.rec.check_mode:
                self.ddb.client.get_waiter("table_exists").wait(TableName=name,
                                                                WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            after = {"name": name, "exists": True, "status": "ACTIVE", "hash_key": "LockID", "hash_key_type": "S",
                     "range_key": None, "billing_mode": "PAY_PER_REQUEST", "point_in_time_recovery": False}
        elif before["billing_mode"] != "PAY_PER_REQUEST":
            self.rec.act("switch lock table %s to PAY_PER_REQUEST" % name, self.ddb.update_table,
                         TableName=name, BillingMode="PAY_PER_REQUEST")
            after["billing_mode"] = "PAY_PER_REQUEST"
        if not after.get("point_in_time_recovery"):
            self.rec.act("enable point-in-time recovery on %s" % name, self.ddb.update_continuous_backups,
                         TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                         _retry_codes=("ContinuousBackupsUnavailableException", "ResourceInUseException"))
            after["point_in_time_recovery"] = True
        after.pop("arn", None)
        after.pop("status", None)
        before = dict((k, v) for k, v in before.items() if k not in ("arn", "status"))
        if not self.rec.check_mode and self.rec.changed:
            fresh = self.read()
            fresh.pop("status", None)
            fresh.pop("arn", None)
            after = fresh
        return before, after

    def delete(self):
        before = self.read()
        before.pop("arn", None)
        before.pop("status", None)
        if not before["exists"]:
            return before, before
        self.rec.act("delete lock table %s" % self.p["lock_table"], self.ddb.delete_table, TableName=self.p["lock_table"])
        return before, {"name": self.p["lock_table"], "exists": False}
