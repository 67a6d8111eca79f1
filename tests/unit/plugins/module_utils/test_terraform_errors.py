# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Operator-facing errors of the terraform wrapper: apply failures, init errors, binary checks, lock hints,
the data-loss guard's sentence, private state files."""
from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _terraform as tf
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_plan as tfplan

LOCK = {"id": "0b7c6d5e-1111", "who": "alice@laptop", "operation": "OperationTypeApply", "created": "today",
        "path": "apron-state/staging/main/network/terraform.tfstate"}


def apply_messages(*events):
    return [{"type": kind, "hook": {"resource": {"addr": addr}}} for kind, addr in events]


# --- apply failures ----------------------------------------------------------------------------------

def test_ended_by():
    assert tf.ended_by(-9) == "signal 9 (SIGKILL)"
    assert tf.ended_by(-15) == "signal 15 (SIGTERM)"
    assert tf.ended_by(1) == "exit code 1"
    assert tf.ended_by(-200) == "signal 200 (unknown signal)"


def test_in_progress():
    messages = apply_messages(("apply_start", "a"), ("apply_start", "b"), ("apply_complete", "a"),
                              ("apply_start", "c"), ("apply_errored", "c"))
    assert tf.in_progress(messages + [{"type": "version"}]) == ["b"]


def test_killed_apply_is_one_paragraph():
    msg = tf.apply_failure_message("dev/kubernetes", -9, [], apply_messages(("apply_start", "terraform_data.slow[0]")),
                                   "/w/apply-1.log")
    assert msg == (
        "terraform was ended by signal 9 (SIGKILL) during the apply of stack dev/kubernetes. The state may be "
        "partially applied: what finished before is recorded, terraform_data.slow[0] was in progress and may be "
        "missing, tainted or incompletely provisioned. Re-running the task converges: it plans again from the "
        "recorded state (a resource recorded although its create-time provisioner did not finish needs replace: "
        "['<address>']). Terraform's output is in /w/apply-1.log.")
    assert "\n" not in msg


def test_apply_error_with_diagnostics_and_crash():
    diags = [{"severity": "error", "summary": "local-exec provisioner error", "detail": "exit status 1"}]
    msg = tf.apply_failure_message("s", 1, diags, [], "/w/l.log")
    assert msg.startswith("terraform apply of stack s failed (exit code 1): local-exec provisioner error: "
                          "exit status 1. The state may be partially applied")
    crash = tf.apply_failure_message("s", 11, [], [], None)
    assert crash.startswith("terraform ended with exit code 11 during the apply of stack s, without an error message "
                            "(it may have crashed).")
    assert "output is in" not in crash


def test_error_never_dumps_the_json_stream():
    out = "\n".join(json.dumps({"type": "apply_start", "@message": "x" * 200}) for _i in range(50))
    err = tf.error_from_output("apply", -9, out, "", stack="s")
    assert err.message == "terraform apply failed (stack s): signal 9 (SIGKILL)"


# --- init errors -------------------------------------------------------------------------------------

INIT_STDERR = """
Error: Terraform encountered problems during initialisation, including problems
with the configuration, described below.

The Terraform configuration must be valid before initialization so that
Terraform can determine which modules and providers need to be installed.


Error: Invalid expression

  on main.tf line 6, in resource "terraform_data" "x":
   6: }

Expected the start of an expression, but found an invalid expression token.
"""

BACKEND_STDERR = """
Error: Unsupported argument

  on ../../work/backend.tfbackend line 2:
   2: bucket = "b"

An argument named "bucket" is not expected here.
"""


def test_first_run_init_error_reads_like_the_plan_error():
    init = tf.error_from_output("init", 1, "Initializing the backend...", INIT_STDERR, stack="s", human=True)
    plan_diag = {"severity": "error", "summary": "Invalid expression",
                 "detail": "Expected the start of an expression, but found an invalid expression token.",
                 "range": {"filename": "main.tf", "start": {"line": 6}}}
    plan_out = json.dumps({"type": "diagnostic", "diagnostic": plan_diag})
    plan = tf.error_from_output("plan", 1, plan_out, "", stack="s")
    assert init.message == plan.message.replace("terraform plan", "terraform init")
    assert init.message == ("terraform init failed (stack s): Invalid expression: Expected the start of an "
                            "expression, but found an invalid expression token. (main.tf:6)")


def test_init_json_preamble_dropped_and_backend_file_named():
    preamble = {"severity": "error", "summary": "Terraform encountered problems during initialisation, including "
                "problems\nwith the configuration, described below.", "detail": ""}
    out = json.dumps({"type": "diagnostic", "diagnostic": preamble})
    err = tf.error_from_output("init", 1, out, BACKEND_STDERR, stack="s", human=True,
                               files={"../../work/backend.tfbackend": "the backend settings (backend option)"})
    assert err.message == ("terraform init failed (stack s): Unsupported argument: An argument named \"bucket\" is "
                           "not expected here. (the backend settings (backend option):2)")


# --- binary_path ---------------------------------------------------------------------------------------

def test_check_binary(tmp_path):
    with pytest.raises(tf.TerraformMissingError, match="does not exist; expected the terraform executable"):
        tf.check_binary(str(tmp_path / "nope"))
    with pytest.raises(tf.TerraformMissingError, match=r"is a directory; expected the terraform executable itself$"):
        tf.check_binary(str(tmp_path))
    script = tmp_path / "script"
    script.write_text("plain text\n")
    script.chmod(0o700)
    with pytest.raises(tf.TerraformMissingError, match=r"is not a program \(it starts with b'plai'"):
        tf.check_binary(str(script))
    script.write_text("#!/bin/sh\n")
    tf.check_binary(str(script))
    script.chmod(0o600)
    with pytest.raises(tf.TerraformMissingError, match=r"is not executable \(mode 0o600\)"):
        tf.check_binary(str(script))
    if shutil.which("terraform"):
        tf.check_binary(shutil.which("terraform"))


def test_not_terraform_message():
    msg = tf.not_terraform_message("/bin/ls", 2, "", "ls: invalid option -- 'c'\n")
    assert msg == ("binary_path: /bin/ls is not terraform: `ls version -json` ended with exit code 2 and printed "
                   "\"ls: invalid option -- 'c'\"; expected Terraform's version JSON")
    assert "printed \"nothing\"" in tf.not_terraform_message("/bin/true", 0, "", "")


# --- lock hints -----------------------------------------------------------------------------------------

def test_force_unlock_command_works_as_printed():
    release = {"backend": "s3", "data_dir": "/w/my work/terraform-data", "project_path": "/srv/stacks/dns",
               "workspace": "blue"}
    assert tf.force_unlock_command("abc-1", release) == (
        "TF_DATA_DIR='/w/my work/terraform-data' TF_WORKSPACE=blue terraform -chdir=/srv/stacks/dns "
        "force-unlock abc-1")
    assert tf.shell_quote("it's") == "'it'\"'\"'s'"


def test_lock_message_s3_with_dynamodb_names_every_state_lock_argument():
    release = {"backend": "s3", "data_dir": "/w/d", "project_path": "/p", "workspace": "default",
               "dynamodb_table": "apron-lock", "region": "eu-west-1", "endpoint_url": "http://127.0.0.1:5000"}
    msg = tf.lock_error_message(LOCK, "main/network", release)
    assert "`TF_DATA_DIR=/w/d terraform -chdir=/p force-unlock 0b7c6d5e-1111`" in msg
    assert ("apron.cluster.state_lock module (table=apron-lock path=apron-state/staging/main/network/terraform.tfstate "
            "lock_id=0b7c6d5e-1111 state=absent region=eu-west-1 endpoint_url=http://127.0.0.1:5000)") in msg


def test_lock_message_s3_lockfile_has_no_state_lock_hint():
    msg = tf.lock_error_message(LOCK, "s", {"backend": "s3", "data_dir": "/w/d", "project_path": "/p"})
    assert "force-unlock" in msg and "state_lock" not in msg


def test_local_lock_is_not_sent_to_force_unlock_or_state_lock():
    msg = tf.lock_error_message(dict(LOCK, path="/s/x.tfstate"), "s", {"backend": "local", "data_dir": "/w/d",
                                                                       "project_path": "/p"})
    assert "released when that process ends, even when it is killed" in msg
    assert "Neither `terraform force-unlock` nor apron.cluster.state_lock can release it." in msg
    assert "lock_id=" not in msg and "TF_DATA_DIR" not in msg


# --- data-loss guard -------------------------------------------------------------------------------------

def test_data_loss_messages_are_sentences():
    one = [{"address": "terraform_data.app_data_volume[0]", "action": "delete",
            "reason": "resource name ends with _data_volume"}]
    assert tfplan.data_loss_message(one, "dev/state") == (
        "Refused to apply the plan of stack dev/state because it destroys data held by 1 resource: "
        "terraform_data.app_data_volume[0] would be destroyed (resource name ends with _data_volume). Nothing was "
        "changed; set allow_destroy_stateful=true to apply it anyway.")
    two = one + [{"address": "aws_ebs_volume.etcd[0]", "action": "replace", "reason": "resource type aws_ebs_volume "
                  "holds data"}]
    check = tfplan.data_loss_message(two, check_mode=True)
    assert check.startswith("Check mode: the plan destroys data held by 2 resources: ")
    assert "aws_ebs_volume.etcd[0] would be replaced" in check
    assert check.endswith("A real run refuses to apply it unless allow_destroy_stateful=true.")


# --- private files ------------------------------------------------------------------------------------------

def test_makedirs_private(tmp_path):
    old = os.umask(0o022)
    try:
        created = tf.makedirs_private(str(tmp_path / "a" / "b" / "c"))
    finally:
        os.umask(old)
    assert created == [str(tmp_path / "a"), str(tmp_path / "a" / "b"), str(tmp_path / "a" / "b" / "c")]
    for path in created:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert tf.makedirs_private(str(tmp_path / "a" / "b")) == []


def test_enforce_private_state(tmp_path):
    state_dir = tmp_path / "state"
    (state_dir / "terraform.tfstate.d" / "blue").mkdir(parents=True)
    files = [state_dir / "x.tfstate", state_dir / "x.tfstate.backup",
             state_dir / "terraform.tfstate.d" / "blue" / "terraform.tfstate"]
    for path in files:
        path.write_text("{}")
        path.chmod(0o644)
    state_dir.chmod(0o755)
    (state_dir / "terraform.tfstate.d").chmod(0o755)
    config = {"path": str(files[0]), "workspace_dir": str(state_dir / "terraform.tfstate.d")}
    warnings = tf.enforce_private_state(config)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert stat.S_IMODE((state_dir / "terraform.tfstate.d" / "blue").stat().st_mode) == 0o700
    assert warnings == ["backend.path: the state directory %s is mode 0o755: other users can list it (the state "
                        "files in it are 0600); make it 0700 or choose a private directory" % state_dir]
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o755          # not apron's directory: only warned about
    assert tf.enforce_private_state(config, own_dir=True) == []
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
