# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Does a running service owe a restart? (private; used by service_restart_plan).

The rule every service apron manages follows (docs/contributing.md "Service convergence"): a
restart is owed when the running process is older than anything it read at start - its unit file
and drop-ins, its environment files, and the configuration files, certificates and keys the caller
names - or when its executable was replaced on disk. It is decided from the host's state on every
run, never from "a file changed in this run", so a run that failed after writing the files is
completed by the next one, and ``--check`` predicts it.

Pure functions over the output of ``systemctl show`` and the files' modification times, so the
module stays a thin shell and the rules are unit-tested on their own.
"""
from __future__ import absolute_import, division, print_function

import datetime

__metaclass__ = type

# The properties the module asks systemctl for (one call for every unit of a host).
SHOW_PROPERTIES = (
    "Id", "LoadState", "ActiveState", "SubState", "MainPID", "ExecMainStartTimestamp",
    "FragmentPath", "DropInPaths", "EnvironmentFiles", "NeedDaemonReload",
)


class RestartPlanError(Exception):
    """Input or host state the plan cannot interpret (the message names it)."""


def parse_show(text, units):
    """``systemctl show -p ... UNIT...`` output -> one dict of properties per unit, in order.

    systemctl prints one block per unit, separated by an empty line, in the order asked. A
    property that appears several times (EnvironmentFiles) is collected into a list under its name.
    """
    blocks = text.strip("\n").split("\n\n") if text.strip() else []
    if len(blocks) != len(units):
        raise RestartPlanError(
            "systemctl show returned %d block(s) for %d unit(s) (%s)" % (len(blocks), len(units), ", ".join(units)))
    result = []
    for block in blocks:
        props = {"EnvironmentFiles": []}
        for line in block.splitlines():
            if "=" not in line:
                continue
            key, value = line.split("=", 1)
            if key == "EnvironmentFiles":
                if value:
                    props["EnvironmentFiles"].append(value)
            else:
                props[key] = value
        result.append(props)
    return result


def parse_timestamp(value):
    """A systemd timestamp printed with ``--timestamp=us+utc`` -> aware datetime, or None when unset.

    Format: ``Wed 2026-12-02 07:40:01.123456 UTC`` (the weekday is ignored, so no locale applies).
    """
    value = (value or "").strip()
    if not value or value in ("n/a", "0"):
        return None
    parts = value.split()
    if len(parts) != 4 or parts[3] != "UTC":
        raise RestartPlanError("cannot read the systemd timestamp %r (expected e.g. 'Wed 2026-12-02 07:40:01.123456 UTC')"
                               % value)
    text = parts[1] + " " + parts[2]
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
    raise RestartPlanError("cannot read the systemd timestamp %r" % value)


def environment_file_path(entry):
    """``/etc/x.env (ignore_errors=yes)`` -> ``/etc/x.env`` (systemctl's EnvironmentFiles format)."""
    entry = entry.strip()
    if entry.endswith(")") and " (" in entry:
        entry = entry[:entry.rindex(" (")]
    return entry


def unit_files(props):
    """The files systemd and the process read at start that the unit itself names."""
    files = []
    if props.get("FragmentPath"):
        files.append(props["FragmentPath"])
    files.extend(path for path in (props.get("DropInPaths") or "").split() if path)
    files.extend(environment_file_path(entry) for entry in props.get("EnvironmentFiles", []))
    return files


def plan_service(props, mtimes, executable, extra_files):
    """Decide one unit.

    props: its ``systemctl show`` properties (parse_show); mtimes: path -> modification time
    (aware datetime) for every file that exists; executable: the target of /proc/<MainPID>/exe
    (None when unknown); extra_files: the caller's files for this unit (configuration,
    certificates, keys). Returns a dict: running, started_at, restart, reasons, files, daemon_reload
    (systemd holds an older version of its unit files: reload before starting or restarting it).
    """
    running = props.get("ActiveState") in ("active", "reloading") and props.get("MainPID", "0") not in ("", "0")
    started = parse_timestamp(props.get("ExecMainStartTimestamp"))
    files = []
    for path in unit_files(props) + list(extra_files):
        if path not in files:
            files.append(path)
    reasons = []
    if running:
        if started is None:
            raise RestartPlanError("%s is running but systemd reports no ExecMainStartTimestamp" % props.get("Id", "?"))
        for path in files:
            mtime = mtimes.get(path)
            if mtime is not None and mtime > started:
                reasons.append("%s changed after the process started (%s > %s)"
                               % (path, mtime.isoformat(), started.isoformat()))
        if executable and executable.endswith(" (deleted)"):
            reasons.append("its executable %s was replaced after the process started" % executable[:-len(" (deleted)")])
        if props.get("NeedDaemonReload") == "yes":
            reasons.append("its unit files changed and systemd was not reloaded")
    return dict(
        running=running,
        started_at=started.isoformat() if started else None,
        restart=bool(reasons),
        reasons=reasons,
        files=files,
        daemon_reload=props.get("NeedDaemonReload") == "yes",
    )
