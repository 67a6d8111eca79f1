# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Pure parsing helpers of apron.cluster.host_status (run on the managed hosts: Python 3.8 syntax).

Each function turns one command's output (dpkg-query, systemctl list-units, openssl x509 -enddate,
etcdctl endpoint status/health -w json, statvfs) into plain data; the module runs the commands."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json


class HostStatusError(Exception):
    """Output that cannot be understood (names the command and what was expected)."""


def parse_dpkg(output):
    """``dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Status}\\n'`` -> {package: version} (installed only)."""
    versions = {}
    for line in (output or "").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0]:
            continue
        status = parts[2].strip() if len(parts) > 2 else "installed"
        if status == "installed":
            versions[parts[0].split(":")[0]] = parts[1]
    return versions


def parse_units(output):
    """``systemctl list-units --all --plain --no-legend --no-pager`` -> [{name, load, state, sub}]."""
    units = []
    for line in (output or "").splitlines():
        # systemctl marks failed units with a leading bullet (not with --plain, but be lenient)
        fields = line.strip().lstrip(u"\u25cf*").split(None, 4)
        if len(fields) < 4:
            continue
        name = fields[0]
        units.append({"name": name, "load": fields[1], "state": fields[2], "sub": fields[3]})
    return sorted(units, key=lambda u: u["name"])


def parse_enddate(output, path):
    """``openssl x509 -noout -enddate`` -> the notAfter time as ISO 8601 UTC."""
    text = (output or "").strip()
    if not text.startswith("notAfter="):
        raise HostStatusError("openssl x509 -enddate -in %s printed %r: expected notAfter=<date>" % (path, text[:200]))
    value = " ".join(text.split("=", 1)[1].split())
    try:
        stamp = datetime.datetime.strptime(value, "%b %d %H:%M:%S %Y %Z")
    except ValueError:
        raise HostStatusError("openssl x509 -enddate -in %s printed the date %r: expected 'Mon DD HH:MM:SS YYYY GMT'"
                              % (path, value))
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def registry_entries(documents):
    """The pki role's registry (name -> JSON text) -> [{name, path, key, ca_bundle, ca, renewal_window_days}]."""
    entries = []
    for source in sorted(documents):
        try:
            data = json.loads(documents[source])
        except ValueError as exc:
            raise HostStatusError("%s: not JSON (%s): expected a certificate registry entry of apron.cluster.pki"
                                  % (source, exc))
        if not isinstance(data, dict) or not data.get("certificate"):
            raise HostStatusError("%s: expected a JSON object with 'certificate'" % source)
        try:
            window = int(data.get("renewal_window_days") or 0)
        except (TypeError, ValueError):
            raise HostStatusError("%s: renewal_window_days is %r: expected a number of days"
                                  % (source, data.get("renewal_window_days")))
        entries.append({"name": data.get("name"), "path": data["certificate"], "key": data.get("key"),
                        "ca_bundle": data.get("ca_bundle"), "ca": data.get("ca"), "renewal_window_days": window})
    return entries


def certificates_to_check(entries):
    """Every certificate of the registry plus each distinct CA bundle once (CAs expire too)."""
    out = []
    seen = set()
    for entry in entries:
        if entry["path"] not in seen:
            seen.add(entry["path"])
            out.append({"name": entry["name"], "path": entry["path"], "ca": entry["ca"],
                        "renewal_window_days": entry["renewal_window_days"]})
    for entry in entries:
        bundle = entry.get("ca_bundle")
        if bundle and bundle not in seen:
            seen.add(bundle)
            out.append({"name": "ca (%s)" % entry["ca"] if entry.get("ca") else "ca", "path": bundle,
                        "ca": entry["ca"], "renewal_window_days": entry["renewal_window_days"]})
    return out


def disk_usage(path, statvfs):
    """``os.statvfs`` result -> {path, size, used, avail, percent} in bytes, percent as df computes it."""
    size = statvfs.f_blocks * statvfs.f_frsize
    used = (statvfs.f_blocks - statvfs.f_bfree) * statvfs.f_frsize
    avail = statvfs.f_bavail * statvfs.f_frsize
    total = used + avail
    percent = 0 if total == 0 else -(-used * 100 // total)
    return {"path": path, "size": size, "used": used, "avail": avail, "percent": int(percent)}


def _json(output, what):
    try:
        return json.loads(output)
    except ValueError:
        raise HostStatusError("%s printed %r: expected JSON" % (what, (output or "")[:200]))


def parse_etcd_status(output, cluster):
    """``etcdctl endpoint status -w json`` of the local member -> {member_id, leader_id, is_leader, version, db_size, raft_term}."""
    data = _json(output, "apron-etcdctl %s endpoint status -w json" % cluster)
    if isinstance(data, list):
        data = data[0] if data else {}
    status = data.get("Status") if isinstance(data, dict) else None
    if not isinstance(status, dict):
        raise HostStatusError("apron-etcdctl %s endpoint status -w json: no 'Status' object in %r" % (cluster, data))
    header = status.get("header") or {}
    member, leader = header.get("member_id"), status.get("leader")
    return {"member_id": member, "leader_id": leader, "is_leader": member is not None and member == leader,
            "version": status.get("version"), "db_size": status.get("dbSize"), "raft_term": status.get("raftTerm")}


def parse_etcd_health(output, cluster):
    """``etcdctl endpoint health -w json`` -> (healthy, error)."""
    data = _json(output, "apron-etcdctl %s endpoint health -w json" % cluster)
    if isinstance(data, list):
        data = data[0] if data else {}
    if not isinstance(data, dict) or "health" not in data:
        raise HostStatusError("apron-etcdctl %s endpoint health -w json: no 'health' in %r" % (cluster, data))
    return bool(data.get("health")), data.get("error") or None
