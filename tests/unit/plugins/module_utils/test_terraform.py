# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Pure helpers of the terraform wrapper: version, diagnostics, lock errors, backend files, init logic."""
from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _terraform as tf

LOCK_DETAIL = (
    "Error message: ConditionalCheckFailedException: The conditional request failed\n"
    "Lock Info:\n"
    "  ID:        0b7c6d5e-1111-2222-3333-444455556666\n"
    "  Path:      apron-state/staging/main/network/terraform.tfstate\n"
    "  Operation: OperationTypeApply\n"
    "  Who:       alice@laptop\n"
    "  Version:   1.11.4\n"
    "  Created:   2026-11-23 00:08:46.393738588 +0000 UTC\n"
    "  Info:      \n\n\n"
    "Terraform acquires a state lock to protect the state from being written\n"
    "by multiple users at the same time.")


def diag_line(summary, detail, severity="error"):
    return json.dumps({"@level": severity, "type": "diagnostic",
                       "diagnostic": {"severity": severity, "summary": summary, "detail": detail}})


def test_parse_version_json_and_text():
    assert tf.parse_version('{"terraform_version": "1.11.4", "platform": "linux_amd64"}') == (1, 11, 4)
    assert tf.parse_version("Terraform v1.5.7\non linux_amd64") == (1, 5, 7)
    with pytest.raises(ValueError):
        tf.parse_version("OpenTofu? no version here")


def test_check_version():
    tf.check_version((1, 5, 0))
    tf.check_version((1, 11, 4))
    with pytest.raises(tf.TerraformError, match=r"Terraform 1\.4\.6 is too old.*>= 1\.5\.0"):
        tf.check_version((1, 4, 6))


def test_parse_lock_info():
    info = tf.parse_lock_info(LOCK_DETAIL)
    assert info["id"] == "0b7c6d5e-1111-2222-3333-444455556666"
    assert info["who"] == "alice@laptop"
    assert info["operation"] == "OperationTypeApply"
    assert info["created"].startswith("2026-11-23 00:08:46")
    assert info["path"] == "apron-state/staging/main/network/terraform.tfstate"
    assert "ConditionalCheckFailed" in info["error"]
    assert tf.parse_lock_info("no lock here") is None


def test_lock_error_from_json_diagnostics():
    out = "\n".join(['{"type": "version", "terraform": "1.11.4"}',
                     diag_line("Error acquiring the state lock", LOCK_DETAIL)])
    err = tf.error_from_output("plan", 1, out, "", stack="main/network")
    assert isinstance(err, tf.StateLockError)
    assert err.lock["id"] == "0b7c6d5e-1111-2222-3333-444455556666"
    for part in ("0b7c6d5e-1111-2222-3333-444455556666", "alice@laptop", "OperationTypeApply",
                 "terraform force-unlock 0b7c6d5e-1111-2222-3333-444455556666", "apron.cluster.state_lock",
                 "main/network", "not touched"):
        assert part in err.message


def test_lock_error_from_plain_stderr():
    stderr = "\x1b[31m\u2577\n\u2502 Error: Error acquiring the state lock\n\u2502 \n" + "\n".join(
        "\u2502 " + line for line in LOCK_DETAIL.splitlines()) + "\n\u2575\n"
    err = tf.error_from_output("apply", 1, "", stderr)
    assert isinstance(err, tf.StateLockError)
    assert err.lock["who"] == "alice@laptop"


def test_stack_error_uses_diagnostics_not_raw_dump():
    out = "\n".join([
        '{"type": "version"}',
        json.dumps({"type": "diagnostic", "diagnostic": {
            "severity": "error", "summary": "No value for required variable",
            "detail": "The root module input variable \"out_dir\" is not set.",
            "range": {"filename": "main.tf", "start": {"line": 8}}}}),
        diag_line("Deprecated thing", "just a warning", severity="warning"),
    ])
    err = tf.error_from_output("plan", 1, out, "", stack="items")
    assert not isinstance(err, tf.StateLockError)
    assert err.message == ('terraform plan failed (stack items): No value for required variable: '
                           'The root module input variable "out_dir" is not set. (main.tf:8)')
    assert len(err.diagnostics) == 1


def test_stack_error_falls_back_to_clean_stderr():
    stderr = ("There are some problems with the CLI configuration:\n\u2577\n\u2502 Warning: Unable to open CLI "
              "configuration file\n\u2502 \n\u2502 The CLI configuration file at \"/root/.terraformrc\" does not "
              "exist.\n\u2575\n\n\x1b[31m\u2577\n\u2502 Error: Failed to load plugin schemas\n\u2575\n")
    err = tf.error_from_output("plan", 1, "not json", stderr)
    assert "Error: Failed to load plugin schemas" in err.message
    assert "\x1b" not in err.message and "\u2502" not in err.message
    assert "CLI configuration" not in err.message


def test_needs_init_detection():
    out = diag_line("Module not installed", "This module is not yet installed. Run \"terraform init\".")
    assert tf.error_from_output("plan", 1, out, "").needs_init()
    out = diag_line("Backend initialization required, please run \"terraform init\"", "Reason: ...")
    assert tf.error_from_output("plan", 1, out, "").needs_init()
    assert not tf.error_from_output("plan", 1, diag_line("Invalid reference", "x"), "").needs_init()


def test_backend_config_text_escapes():
    text = tf.backend_config_text({"bucket": "b", "key": "a/${x}/%{y}", "encrypt": True, "kms_key_id": None,
                                   "endpoints": {"s3": "http://127.0.0.1:5000"}})
    assert 'bucket = "b"' in text
    assert 'key = "a/$${x}/%%{y}"' in text
    assert "encrypt = true" in text
    assert "kms_key_id" not in text
    assert '"s3" = "http://127.0.0.1:5000"' in text


def test_init_needed(tmp_path):
    data_dir = tmp_path / "data"
    work_dir = tmp_path
    data_dir.mkdir()
    wanted = tf.backend_hash("local", {"path": "/s/a.tfstate"}, str(tmp_path))
    assert "not been initialised" in tf.init_needed(str(data_dir), str(work_dir), wanted)
    (data_dir / "terraform.tfstate").write_text("{}")
    assert "no record" in tf.init_needed(str(data_dir), str(work_dir), wanted)
    (work_dir / tf.BACKEND_HASH_FILE).write_text(wanted + "\n")
    assert tf.init_needed(str(data_dir), str(work_dir), wanted) is None
    changed = tf.backend_hash("local", {"path": "/s/b.tfstate"}, str(tmp_path))
    assert changed != wanted
    assert "changed" in tf.init_needed(str(data_dir), str(work_dir), changed)
    # same settings in another order hash the same
    assert tf.backend_hash("s3", {"a": 1, "b": 2}, "/x") == tf.backend_hash("s3", {"b": 2, "a": 1}, "/x")


def test_write_private(tmp_path):
    path = tmp_path / "vars.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    tf.write_private(str(path), '{"secret": 1}')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text() == '{"secret": 1}'
