# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""terraform_stack on the s3 backend against a real moto server (S3 + DynamoDB locking over HTTP)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "terraform"))
from tfstack_helpers import (  # noqa: E402
    FIXTURES, REPO_ROOT, finish, module_env, run_module, start_module, terraform_or_skip, wait_for_child)

pytestmark = pytest.mark.slow

BUCKET = "apron-test-state"
TABLE = "apron-test-lock"
KEY = "lab/main/items/terraform.tfstate"
REGION = "eu-west-1"


@pytest.fixture
def s3(moto_endpoint, tmp_path):
    terraform_or_skip()
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name=REGION)
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")

    def args(names, work="work", **extra):
        variables = {"names": names}
        variables.update(extra.pop("variables", {}))
        return dict({"project_path": str(FIXTURES / "s3items"), "work_dir": str(tmp_path / work),
                     "backend": {"type": "s3", "bucket": BUCKET, "key": KEY, "region": REGION,
                                 "dynamodb_table": TABLE, "endpoint_url": moto_endpoint},
                     "variables": variables}, **extra)

    args.tmp = tmp_path
    args.s3 = s3
    args.ddb = ddb
    return args


def state_object(s3):
    return json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())


def lock_items(ddb):
    return [item["LockID"]["S"] for item in ddb.scan(TableName=TABLE)["Items"] if "Info" in item]


def test_apply_idempotent_and_check_mode(s3):
    first = run_module(s3.tmp, s3(["a", "b"]))
    assert first["_rc"] == 0, first.get("msg")
    assert first["changed"] is True and first["applied"] is True
    assert first["backend"]["type"] == "s3" and first["backend"]["config"]["key"] == KEY
    assert state_object(s3.s3)["outputs"]["names"]["value"] == ["a", "b"]
    etag = s3.s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]

    second = run_module(s3.tmp, s3(["a", "b"]))
    assert second["_rc"] == 0 and second["changed"] is False and second["applied"] is False
    assert second["init"] is None

    planned = run_module(s3.tmp, s3(["a", "b", "c"]), check=True)
    assert planned["_rc"] == 0 and planned["changed"] is True
    assert planned["plan_summary"]["addresses"]["create"] == ['terraform_data.name["c"]']
    assert s3.s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"] == etag
    assert lock_items(s3.ddb) == []          # locks taken by plan were released


def test_held_lock_item_is_reported_and_not_removed(s3):
    assert run_module(s3.tmp, s3(["a"]))["_rc"] == 0
    lock_id = "%s/%s" % (BUCKET, KEY)
    info = {"ID": "5a2c0d6e-aaaa-bbbb-cccc-0123456789ab", "Operation": "OperationTypeApply",
            "Info": "", "Who": "bob@ci-runner-7", "Version": "1.11.4",
            "Created": "2026-11-23T00:01:02.123456Z", "Path": lock_id}
    s3.ddb.put_item(TableName=TABLE, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(info)}})

    result = run_module(s3.tmp, s3(["a", "b"]))
    assert result["_rc"] != 0 and result["failed"] is True
    assert result["lock"]["id"] == info["ID"] and result["lock"]["who"] == "bob@ci-runner-7"
    msg = result["msg"]
    for part in (info["ID"], "bob@ci-runner-7", "OperationTypeApply", "2026-11-23",
                 "force-unlock " + info["ID"], "apron.cluster.state_lock", "lock was not touched"):
        assert part in msg, (part, msg)
    # check mode hits the same lock (plan reads the state under the lock) and fails the same way
    checked = run_module(s3.tmp, s3(["a", "b"]), check=True)
    assert checked["_rc"] != 0 and checked["lock"]["id"] == info["ID"]
    # never force-unlocked
    assert lock_items(s3.ddb) == [lock_id]
    assert state_object(s3.s3)["outputs"]["names"]["value"] == ["a"]

    # the hints work as printed: the force-unlock command line, run from anywhere ...
    command = msg.split("release the lock with `")[1].split("`")[0]
    assert command.startswith("TF_DATA_DIR=") and " -chdir=" in command
    unlock = subprocess.run(["sh", "-c", command], input="yes\n", capture_output=True, text=True, cwd="/",
                            env=module_env(), timeout=120, check=False)
    assert unlock.returncode == 0, unlock.stdout + unlock.stderr
    assert lock_items(s3.ddb) == []
    # ... and the state_lock arguments, as ansible's free-form key=value arguments
    s3.ddb.put_item(TableName=TABLE, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(info)}})
    state_lock_args = msg.split("apron.cluster.state_lock module (")[1].rsplit(")", 1)[0]
    env = module_env({"ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
                      "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                      "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".collections")})
    released = subprocess.run(["ansible", "localhost", "-m", "apron.cluster.state_lock", "-a", state_lock_args],
                              capture_output=True, text=True, env=env, timeout=300, check=False)
    assert released.returncode == 0 and "CHANGED" in released.stdout, released.stdout + released.stderr
    assert lock_items(s3.ddb) == []
    assert run_module(s3.tmp, s3(["a", "b"]))["_rc"] == 0


def test_lock_timeout_waits_for_the_holder(s3):
    first = run_module(s3.tmp, s3(["a"]))
    assert first["_rc"] == 0, first.get("msg")
    holder = start_module(s3.tmp, s3(["a", "b"], variables={"sleep_seconds": 6}))
    try:
        wait_for_child(holder.pid, lambda argv: argv[:1] and argv[0].endswith(b"terraform") and b"apply" in argv)
        time.sleep(1.5)
        blocked = run_module(s3.tmp, s3(["a", "b"], work="work2", variables={"sleep_seconds": 6}))
        waited = start_module(s3.tmp, s3(["a", "b"], work="work3", lock_timeout=60,
                                         variables={"sleep_seconds": 6}))
    finally:
        held = finish(holder, timeout=120)
    assert blocked["_rc"] != 0 and "is locked (lock ID" in blocked["msg"]
    assert blocked["lock"]["operation"] == "OperationTypeApply"
    assert held["_rc"] == 0 and held["applied"] is True
    after = finish(waited, timeout=120)
    assert after["_rc"] == 0, after.get("msg")
    assert after["changed"] is False             # waited for the lock, then found nothing to do
    assert lock_items(s3.ddb) == []


def test_missing_bucket_is_a_clear_error(s3, moto_endpoint):
    args = s3(["a"])
    args["backend"]["bucket"] = "no-such-bucket"
    result = run_module(s3.tmp, args)
    assert result["_rc"] != 0
    assert result["msg"].startswith("terraform ")
    assert "no-such-bucket" in result["msg"] or "NoSuchBucket" in result["msg"]
    assert "\u2502" not in result["msg"] and "\x1b[" not in result["msg"]


def test_model_mode_on_s3_checks_dependencies_and_reads_remote_state(s3, moto_endpoint):
    """The lab model on the s3 backend: dependency check through S3, terraform_remote_state over S3."""
    import shutil

    stacks = s3.tmp / "stacks"
    shutil.copytree(FIXTURES / "stacks", stacks)
    for main in stacks.glob("local/*/main.tf"):
        main.write_text(main.read_text().replace('backend "local" {}', 'backend "s3" {}'))
    model = s3.tmp / "model"
    shutil.copytree(FIXTURES / "models" / "lab", model)
    env_file = model / "environment.yml"
    env_file.write_text(env_file.read_text().replace(
        "    backend: local\n    path: state\n",
        "    backend: s3\n    bucket: %s\n    region: %s\n    lockTable: %s\n    endpointURL: %s\n"
        % (BUCKET, REGION, TABLE, moto_endpoint)))

    def args(stack):
        return {"model": str(model), "cluster": "hub", "stack": stack, "stacks_dir": str(stacks),
                "base_dir": str(s3.tmp)}

    pending = run_module(s3.tmp, args("network"), check=True)
    assert pending["_rc"] == 0, pending.get("msg")
    assert pending["pending_dependencies"] == ["state"]
    applied = run_module(s3.tmp, args("state"))
    assert applied["_rc"] == 0, applied.get("msg")
    assert applied["backend"]["config"]["key"] == "lab/hub/state/terraform.tfstate"
    assert "lab/hub/state/terraform.tfstate" in [o["Key"] for o in s3.s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    network = run_module(s3.tmp, args("network"))
    assert network["_rc"] == 0, network.get("msg")
    assert "pending_dependencies" not in network
    assert network["outputs"]["network"]["cidr"] == "10.91.0.0/20"
    tools = run_module(s3.tmp, args("tools"), check=True)
    assert tools["_rc"] == 0 and tools["plan_summary"]["addresses"]["create"] == [
        'terraform_data.instance["hub-bastion-0"]']
    assert lock_items(s3.ddb) == []
