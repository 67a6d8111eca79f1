# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.file_set: the pure checks, and the module run by ``ansible localhost`` on a temporary
directory (create, no-op, check mode, diff, attributes only, refusals)."""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._file_set import (
    FileSetError, check_entries, check_input, content_diff, decode_for_diff, parse_mode,
)

from tests.helpers import run_module


@pytest.mark.parametrize("value,expected", [("0644", 0o644), ("755", 0o755), (0o600, 0o600), (None, None)])
def test_parse_mode(value, expected):
    assert parse_mode(value, "f") == expected


@pytest.mark.parametrize("value", ["u+rwx", "", "0999", 0o17777, "rw-r--r--"])
def test_parse_mode_refuses(value):
    with pytest.raises(FileSetError, match="f: mode"):
        parse_mode(value, "f")


def test_check_entries_refuses_relative_duplicate_and_empty():
    with pytest.raises(FileSetError, match="absolute"):
        check_entries([{"path": "etc/x", "content": ""}])
    with pytest.raises(FileSetError, match=r"files\[1\] \(/etc//x\): the same path as files\[0\]"):
        check_entries([{"path": "/etc/x", "content": ""}, {"path": "/etc//x", "content": ""}])
    with pytest.raises(FileSetError, match=r"files\[0\] \(/etc/d\): the same path as directories\[0\]"):
        check_input([{"path": "/etc/d", "content": ""}], [{"path": "/etc/d/"}])
    with pytest.raises(FileSetError, match="at least one"):
        check_input([], [])


def test_diff_helpers():
    assert content_diff("/a", None, "x\n")["before_header"] == "/a (absent)"
    assert content_diff("/a", "y\n", "x\n") == {"before_header": "/a", "after_header": "/a", "before": "y\n", "after": "x\n"}
    assert decode_for_diff(b"\xff\xfe") == "(2 bytes of binary content)\n"


def _files(tmp_path, **over):
    entries = [{"path": str(tmp_path / "a.conf"), "content": "a=1\n", "mode": "0640"},
               {"path": str(tmp_path / "b.sh"), "content": "#!/bin/sh\necho b\n", "mode": "0755"}]
    for entry in entries:
        entry.update(over)
    return entries


@pytest.mark.slow
def test_create_then_nothing_to_do_then_check_and_diff(tmp_path):
    first = run_module("file_set", {"files": _files(tmp_path)}, diff=True, via="ansible")
    assert first["changed"] is True, first
    assert first["changed_paths"] == [str(tmp_path / "a.conf"), str(tmp_path / "b.sh")]
    assert (tmp_path / "a.conf").read_text() == "a=1\n"
    assert stat.S_IMODE(os.stat(tmp_path / "a.conf").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "b.sh").st_mode) == 0o755
    assert first["diff"][0]["before_header"].endswith("a.conf (absent)")
    assert not list(tmp_path.glob(".*")), "no temporary file left behind"

    again = run_module("file_set", {"files": _files(tmp_path)}, via="ansible")
    assert again["changed"] is False and again["changed_paths"] == [], again

    entries = _files(tmp_path)
    entries[0]["content"] = "a=2\n"
    entries[1]["mode"] = "0700"
    check = run_module("file_set", {"files": entries}, check=True, diff=True, via="ansible")
    assert check["changed"] is True and check["changed_paths"] == [str(tmp_path / "a.conf"), str(tmp_path / "b.sh")]
    assert [d.get("before") for d in check["diff"]][0] == "a=1\n"
    assert check["diff"][1]["before"]["mode"] == "0755" and check["diff"][1]["after"]["mode"] == "0700"
    assert (tmp_path / "a.conf").read_text() == "a=1\n", "check mode wrote the file"
    assert stat.S_IMODE(os.stat(tmp_path / "b.sh").st_mode) == 0o755, "check mode changed the mode"

    applied = run_module("file_set", {"files": entries}, via="ansible")
    assert applied["files"][0] == {"path": str(tmp_path / "a.conf"), "changed": True, "content_changed": True}
    assert applied["files"][1] == {"path": str(tmp_path / "b.sh"), "changed": True, "content_changed": False}
    assert (tmp_path / "a.conf").read_text() == "a=2\n"
    assert stat.S_IMODE(os.stat(tmp_path / "a.conf").st_mode) == 0o640, "the mode of a rewritten file is kept"


@pytest.mark.slow
def test_directories_then_files_in_one_call(tmp_path):
    args = {"directories": [{"path": str(tmp_path / "etc"), "mode": "0755"},
                            {"path": str(tmp_path / "etc" / "pki"), "mode": "0750"}],
            "files": [{"path": str(tmp_path / "etc" / "pki" / "ca.crt"), "content": "PEM\n", "mode": "0644"}]}
    predicted = run_module("file_set", args, check=True, diff=True, via="ansible")
    assert predicted["changed"] is True and not (tmp_path / "etc").exists(), predicted
    assert predicted["diff"][0]["after"] == {"path": str(tmp_path / "etc"), "state": "directory"}
    made = run_module("file_set", args, via="ansible")
    assert made["changed_paths"] == [str(tmp_path / "etc"), str(tmp_path / "etc" / "pki"), str(tmp_path / "etc" / "pki" / "ca.crt")]
    assert stat.S_IMODE(os.stat(tmp_path / "etc" / "pki").st_mode) == 0o750
    assert run_module("file_set", args, via="ansible")["changed"] is False
    os.chmod(tmp_path / "etc" / "pki", 0o755)
    fixed = run_module("file_set", args, via="ansible")
    assert fixed["changed_paths"] == [str(tmp_path / "etc" / "pki")]
    assert stat.S_IMODE(os.stat(tmp_path / "etc" / "pki").st_mode) == 0o750
    deep = run_module("file_set", {"directories": [{"path": str(tmp_path / "x" / "y"), "mode": "0711"}]}, via="ansible")
    assert deep["changed_paths"] == [str(tmp_path / "x" / "y")]
    assert stat.S_IMODE(os.stat(tmp_path / "x").st_mode) == 0o711, "a made parent gets the same mode"
    (tmp_path / "f").write_text("")
    blocked = run_module("file_set", {"directories": [{"path": str(tmp_path / "f" / "y")}]}, via="ansible")
    assert blocked["failed"] and "%s exists and is not a directory" % (tmp_path / "f") in blocked["msg"]


@pytest.mark.slow
def test_refusals_change_nothing(tmp_path):
    missing_dir = run_module("file_set", {"files": [{"path": str(tmp_path / "no" / "x"), "content": "x"}]}, via="ansible")
    assert missing_dir["failed"] and "the directory %s does not exist" % (tmp_path / "no") in missing_dir["msg"]
    # Check mode: an earlier task of the same run would have created the directory.
    predicted = run_module("file_set", {"files": [{"path": str(tmp_path / "no" / "x"), "content": "x"}]}, check=True, via="ansible")
    assert predicted["changed"] is True and not (tmp_path / "no").exists()

    bad_owner = run_module("file_set", {"files": _files(tmp_path, owner="apron-no-such-user")}, via="ansible")
    assert bad_owner["failed"] and "owner 'apron-no-such-user' does not exist" in bad_owner["msg"]
    assert not (tmp_path / "a.conf").exists(), "a refused entry must not leave a file"
