# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.service_restart_plan: when a running service owes a restart, and why.

The rules (module_utils/_service_restart.py) are pure functions over `systemctl show` output and
modification times; they are tested here case by case. The module itself runs as a real process
with its argument spec (bad input), and against a fake `systemctl` on PATH only for the parts that
need systemd (which cannot run in the unit tests; the real one is exercised by molecule/etcd-scale).
"""
from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._service_restart import (
    RestartPlanError, environment_file_path, parse_show, parse_timestamp, plan_service, unit_files,
)

from tests.helpers import run_module

REPO = Path(__file__).resolve().parents[4]
UTC = datetime.timezone.utc
START = datetime.datetime(2026, 12, 2, 7, 40, 1, 123456, tzinfo=UTC)
BEFORE = START - datetime.timedelta(seconds=30)
AFTER = START + datetime.timedelta(microseconds=1)

SHOW = """Id=apron-etcd@k8s-main.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=4242
ExecMainStartTimestamp=Wed 2026-12-02 07:40:01.123456 UTC
FragmentPath=/etc/systemd/system/apron-etcd@.service
DropInPaths=
EnvironmentFiles=/etc/apron/etcd/k8s-main/etcd.env (ignore_errors=no)
EnvironmentFiles=/etc/apron/etcd/k8s-main/bootstrap.env (ignore_errors=yes)
NeedDaemonReload=no

Id=apron-etcd@overlay.service
LoadState=loaded
ActiveState=inactive
SubState=dead
MainPID=0
ExecMainStartTimestamp=
FragmentPath=/etc/systemd/system/apron-etcd@.service
DropInPaths=/etc/systemd/system/apron-etcd@overlay.service.d/x.conf
EnvironmentFiles=/etc/apron/etcd/overlay/etcd.env (ignore_errors=no)
NeedDaemonReload=no
"""
UNITS = ["apron-etcd@k8s-main.service", "apron-etcd@overlay.service"]
CERT = "/etc/apron/etcd/k8s-main/pki/member.crt"


def _props(**override):
    props = parse_show(SHOW, UNITS)[0]
    props.update(override)
    return props


def _mtimes(newer=()):
    files = unit_files(_props()) + [CERT]
    return {path: (AFTER if path in newer else BEFORE) for path in files}


def test_parse_show_reads_each_unit_and_collects_environment_files():
    main, overlay = parse_show(SHOW, UNITS)
    assert main["MainPID"] == "4242"
    assert main["EnvironmentFiles"] == ["/etc/apron/etcd/k8s-main/etcd.env (ignore_errors=no)",
                                        "/etc/apron/etcd/k8s-main/bootstrap.env (ignore_errors=yes)"]
    assert overlay["ActiveState"] == "inactive"
    assert unit_files(overlay) == ["/etc/systemd/system/apron-etcd@.service",
                                   "/etc/systemd/system/apron-etcd@overlay.service.d/x.conf",
                                   "/etc/apron/etcd/overlay/etcd.env"]


def test_parse_show_refuses_a_block_count_that_does_not_match_the_units():
    with pytest.raises(RestartPlanError, match=r"2 block\(s\) for 3 unit\(s\)"):
        parse_show(SHOW, UNITS + ["x.service"])


@pytest.mark.parametrize("value, expected", [
    ("Wed 2026-12-02 07:40:01.123456 UTC", START),
    ("Wed 2026-12-02 07:40:01 UTC", START.replace(microsecond=0)),
    ("", None),
    ("n/a", None),
])
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", ["Wed 2026-12-02 07:40:01 CET", "yesterday", "Wed 2026-13-02 07:40:01 UTC"])
def test_parse_timestamp_names_what_it_cannot_read(value):
    with pytest.raises(RestartPlanError, match="cannot read the systemd timestamp"):
        parse_timestamp(value)


def test_environment_file_path_strips_the_flags():
    assert environment_file_path("/a b/x.env (ignore_errors=yes)") == "/a b/x.env"
    assert environment_file_path("/x.env") == "/x.env"


def test_nothing_newer_owes_nothing():
    decided = plan_service(_props(), _mtimes(), "/usr/bin/etcd", [CERT])
    assert decided == dict(running=True, started_at=START.isoformat(), restart=False, reasons=[],
                           files=unit_files(_props()) + [CERT], daemon_reload=False)


@pytest.mark.parametrize("newer", [
    "/etc/apron/etcd/k8s-main/etcd.env",          # settings written by a run that failed before the restart
    "/etc/apron/etcd/k8s-main/bootstrap.env",     # an environment file that may be absent (-path)
    "/etc/systemd/system/apron-etcd@.service",    # unit file
    CERT,                                         # the caller's files: certificates, keys
])
def test_a_file_newer_than_the_process_owes_a_restart(newer):
    decided = plan_service(_props(), _mtimes([newer]), "/usr/bin/etcd", [CERT])
    assert decided["restart"] is True
    assert len(decided["reasons"]) == 1 and decided["reasons"][0].startswith(newer + " changed after the process started")


def test_a_file_of_the_same_instant_owes_nothing():
    mtimes = _mtimes()
    mtimes[CERT] = START
    assert plan_service(_props(), mtimes, None, [CERT])["restart"] is False


def test_missing_files_are_ignored():
    assert plan_service(_props(), {}, None, [CERT, "/nope"])["restart"] is False


def test_a_replaced_executable_owes_a_restart():
    decided = plan_service(_props(), _mtimes(), "/usr/bin/etcd (deleted)", [])
    assert decided["reasons"] == ["its executable /usr/bin/etcd was replaced after the process started"]


def test_a_pending_daemon_reload_owes_a_restart():
    decided = plan_service(_props(NeedDaemonReload="yes"), _mtimes(), None, [])
    assert decided["reasons"] == ["its unit files changed and systemd was not reloaded"]
    assert decided["daemon_reload"] is True
    assert plan_service(_props(), _mtimes(), None, [])["daemon_reload"] is False


def test_a_stopped_unit_with_changed_unit_files_owes_a_reload_not_a_restart():
    decided = plan_service(_props(ActiveState="inactive", MainPID="0", NeedDaemonReload="yes"), _mtimes(), None, [])
    assert decided["restart"] is False and decided["daemon_reload"] is True


@pytest.mark.parametrize("state", [
    dict(ActiveState="inactive", MainPID="0"),
    dict(ActiveState="failed", MainPID="0"),
    dict(ActiveState="activating", MainPID="77"),   # crash loop: auto-restart, not running yet
    dict(LoadState="not-found", ActiveState="inactive", MainPID="0", ExecMainStartTimestamp=""),
])
def test_a_unit_that_is_not_running_never_owes_a_restart(state):
    decided = plan_service(_props(**state), _mtimes(["/etc/apron/etcd/k8s-main/etcd.env"]), None, [])
    assert decided["running"] is False and decided["restart"] is False and decided["reasons"] == []


def test_a_running_unit_without_a_start_time_is_an_error():
    with pytest.raises(RestartPlanError, match="apron-etcd@k8s-main.service is running but"):
        plan_service(_props(ExecMainStartTimestamp=""), {}, None, [])


# --- the module, as a real process ----------------------------------------------------------

def _run(args, path=None):
    env = None if path is None else {"PATH": path + os.pathsep + os.environ["PATH"]}
    return run_module("service_restart_plan", args, env=env, timeout=60)


def _fake_systemctl(tmp_path, output, rc=0):
    """A systemctl that prints OUTPUT (systemd cannot run in a unit test)."""
    (tmp_path / "show.txt").write_text(output)
    script = tmp_path / "bin" / "systemctl"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\ncat {tmp_path}/show.txt\nexit {rc}\n")
    script.chmod(0o755)
    return str(script.parent)


def test_module_reports_the_owed_restarts_in_one_call(tmp_path):
    env_file = tmp_path / "etcd.env"
    env_file.write_text("X=1\n")
    cert = tmp_path / "member.crt"
    cert.write_text("cert")
    old = (START - datetime.timedelta(minutes=5)).timestamp()
    os.utime(env_file, (old, old))
    show = (f"Id=a.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=0\n"
            f"ExecMainStartTimestamp=Wed 2026-12-02 07:40:01.123456 UTC\nFragmentPath=\nDropInPaths=\n"
            f"EnvironmentFiles={env_file} (ignore_errors=no)\nNeedDaemonReload=no\n\n"
            f"Id=b.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=1\n"
            f"ExecMainStartTimestamp=Wed 2026-12-02 07:40:01.123456 UTC\nFragmentPath=\nDropInPaths=\n"
            f"NeedDaemonReload=yes\n")
    path = _fake_systemctl(tmp_path, show)
    result = _run({"services": [{"unit": "a.service"}, {"unit": "b.service", "files": [str(cert)]}]}, path)
    # MainPID=0 with ActiveState=active: not running (a oneshot), nothing owed.
    assert result["changed"] is False
    assert "--timestamp=us+utc" in (tmp_path / "args").read_text()
    by_unit = {s["unit"]: s for s in result["services"]}
    assert by_unit["b.service"]["restart"] is True  # the certificate was written now, after START
    assert by_unit["a.service"]["running"] is False
    assert result["restart"] == ["b.service"]
    assert by_unit["b.service"]["daemon_reload"] is True and result["daemon_reload"] is True


def test_module_names_a_failing_systemctl(tmp_path):
    path = _fake_systemctl(tmp_path, "", rc=1)
    result = _run({"services": [{"unit": "a.service"}]}, path)
    assert result["failed"] is True and "systemctl show a.service failed (rc 1)" in result["msg"]


def test_module_refuses_a_path_as_unit():
    result = _run({"services": [{"unit": "/etc/systemd/system/a.service"}]})
    assert result["failed"] is True
    assert result["msg"].startswith("services[0].unit must be a unit name")


def test_module_requires_services():
    result = _run({})
    assert result["failed"] is True and "services" in result["msg"]
