# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.state_lock against a real moto server over HTTP, with lock items as Terraform writes them."""
from __future__ import annotations

import json

import pytest

from tests.helpers import run_module

TABLE = "apron-staging-lock"
PATH = "apron-staging-state/staging/main/network/terraform.tfstate"
LOCK_ID = "6f1c3a4e-2b1d-4c55-9a0e-6b2f2f0d6c11"


def info(lock_id=LOCK_ID, who="alice@laptop"):
    return json.dumps({"ID": lock_id, "Operation": "OperationTypeApply", "Info": "", "Who": who,
                       "Version": "1.11.4", "Created": "2026-11-23T00:10:00.123456Z",
                       "Path": PATH})


@pytest.fixture
def table(moto_endpoint, boto):
    ddb = boto("dynamodb")
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    ddb.put_item(TableName=TABLE, Item={"LockID": {"S": PATH}, "Info": {"S": info()}})
    # the state digest item Terraform keeps next to the lock: not a lock
    ddb.put_item(TableName=TABLE, Item={"LockID": {"S": PATH + "-md5"}, "Digest": {"S": "0123abcd"}})
    other = "apron-staging-state/staging/main/state/terraform.tfstate"
    ddb.put_item(TableName=TABLE, Item={"LockID": {"S": other}, "Info": {"S": info("11111111-2222", "bob@ci")}})
    return ddb


@pytest.fixture
def args(moto_endpoint):
    return {"table": TABLE, "region": "eu-west-1", "endpoint_url": moto_endpoint}


def test_query_lists_locks_with_holder(table, args):
    result = run_module("state_lock", args, via="ansible")
    assert result["changed"] is False
    assert [lock["path"] for lock in result["locks"]] == [PATH, "apron-staging-state/staging/main/state/terraform.tfstate"]
    lock = result["locks"][0]
    assert lock["id"] == LOCK_ID and lock["who"] == "alice@laptop" and lock["operation"] == "OperationTypeApply"
    assert lock["created"].startswith("2026-11-23") and lock["info"]["Version"] == "1.11.4"


def test_query_one_path(table, args):
    result = run_module("state_lock", dict(args, path=PATH), via="ansible")
    assert [lock["id"] for lock in result["locks"]] == [LOCK_ID]


def test_release_with_wrong_id_is_refused(table, args):
    result = run_module("state_lock", dict(args, path=PATH, lock_id="not-the-lock", state="absent"), via="ansible")
    assert result["failed"] is True
    assert "alice@laptop" in result["msg"] and LOCK_ID in result["msg"] and "not-the-lock" in result["msg"]
    assert "Item" in table.get_item(TableName=TABLE, Key={"LockID": {"S": PATH}})


def test_release_check_mode_then_real_then_idempotent(table, args):
    release = dict(args, path=PATH, lock_id=LOCK_ID, state="absent")
    check = run_module("state_lock", release, check=True, diff=True, via="ansible")
    assert check["changed"] is True and check["released"]["id"] == LOCK_ID
    assert check["diff"]["before"]["who"] == "alice@laptop" and check["diff"]["after"] == {}
    assert "Item" in table.get_item(TableName=TABLE, Key={"LockID": {"S": PATH}}), "check mode must not release"

    done = run_module("state_lock", release, diff=True, via="ansible")
    assert done["changed"] is True and done["released"]["who"] == "alice@laptop"
    assert "Item" not in table.get_item(TableName=TABLE, Key={"LockID": {"S": PATH}})
    # digest and other locks untouched
    assert "Item" in table.get_item(TableName=TABLE, Key={"LockID": {"S": PATH + "-md5"}})
    assert len(run_module("state_lock", args, via="ansible")["locks"]) == 1

    again = run_module("state_lock", release, via="ansible")
    assert again["changed"] is False and again["released"] is None


def test_absent_needs_path_and_id(table, args):
    result = run_module("state_lock", dict(args, state="absent"), via="ansible")
    assert result["failed"] is True and "path" in result["msg"] and "lock_id" in result["msg"]


def test_missing_table_is_reported(args, moto_endpoint):
    result = run_module("state_lock", dict(args, table="no-such-table"), via="ansible")
    assert result["failed"] is True
    assert result["error"]["code"] == "ResourceNotFoundException"
    assert result["error"]["operation"] == "Scan"
    assert "no-such-table" in result["msg"]
