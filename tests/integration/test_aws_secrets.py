# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The AWS modules never show their credentials: planted secret_key/session_token values are in no result,
no output of ``ansible -vvv``, no captured syslog/journal record (real modules against the moto server)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOG_CAPTURE = REPO / "tests" / "integration" / "fixtures" / "terraform" / "log_capture.py"
SECRET_KEY = "PLANTED-secret-key-3f9a1c"
SESSION_TOKEN = "PLANTED-session-token-77b2"


def credentials(moto_endpoint):
    return {"region": "eu-west-1", "endpoint_url": moto_endpoint, "access_key": "AKIAPLANTEDTEST",
            "secret_key": SECRET_KEY, "session_token": SESSION_TOKEN}


CASES = {
    "state_lock": lambda creds: dict(creds, table="apron-secrets-lock"),
    "state_backend": lambda creds: dict(creds, bucket="apron-secrets-state", lock_table="apron-secrets-lock",
                                        kms_key="alias/apron-secrets", create_kms_key=True, enforce_tls=False),
}


@pytest.mark.parametrize("module", sorted(CASES))
def test_credentials_are_never_shown(module, moto_endpoint, boto, tmp_path):
    if module == "state_lock":
        boto("dynamodb").create_table(
            TableName="apron-secrets-lock", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    args = CASES[module](credentials(moto_endpoint))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / ".collections") + os.pathsep + env.get("PYTHONPATH", "")

    # 1. the module process with its log records captured
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_diff=True)}))
    records = tmp_path / "records.json"
    proc = subprocess.run([sys.executable, str(LOG_CAPTURE), str(records),
                           "ansible_collections.apron.cluster.plugins.modules.%s" % module, str(args_file)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    args_file.unlink()
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert not result.get("failed"), result.get("msg")
    logged = records.read_text()
    assert "secret_key=NOT_LOGGING_PARAMETER" in logged and "session_token=NOT_LOGGING_PARAMETER" in logged
    for secret in (SECRET_KEY, SESSION_TOKEN):
        assert secret not in proc.stdout + proc.stderr + logged

    # 2. the real controller path with -vvv
    env.update(ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    paths = [str(REPO / ".collections")] + [p for p in env.get("ANSIBLE_COLLECTIONS_PATH", "").split(":") if p]
    env["ANSIBLE_COLLECTIONS_PATH"] = ":".join(paths)
    proc = subprocess.run(["ansible", "localhost", "-vvv", "-m", "apron.cluster.%s" % module, "-a", json.dumps(args)],
                          capture_output=True, text=True, env=env, timeout=300, check=False, cwd=str(REPO))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in proc.stdout       # the invocation was printed, masked
    for secret in (SECRET_KEY, SESSION_TOKEN):
        assert secret not in proc.stdout + proc.stderr
