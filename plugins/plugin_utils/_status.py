# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Controller-side logic of the operator playbooks: which hosts failed a pre-flight step
(site.yml) and the cluster report of status.yml (JSON document and text table), built from what
apron.cluster.host_status returned on every host. Pure functions over plain data."""

from __future__ import annotations

import datetime

REPORT_VERSION = 1


class StatusError(Exception):
    """Bad input to a status function (names the input and what was expected)."""


def _mapping(value, what):
    if hasattr(value, "keys") and hasattr(value, "get"):
        return value
    raise StatusError("%s is a %s: expected a mapping" % (what, type(value).__name__))


def _hosts(hosts, what="hosts"):
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise StatusError("%s is %r: expected a list of inventory host names" % (what, hosts))
    return [str(h) for h in hosts]


def failed_hosts(hostvars, hosts, result_name):
    """Hosts (in the given order) whose registered result ``result_name`` failed, was unreachable or
    is missing (the host never ran the task)."""
    hostvars = _mapping(hostvars, "hostvars")
    if not isinstance(result_name, str) or not result_name:
        raise StatusError("result_name is %r: expected the name of a registered variable" % (result_name,))
    out = []
    for host in _hosts(hosts):
        try:
            result = hostvars[host].get(result_name)
        except KeyError:
            result = None
        if not isinstance(result, dict) or result.get("failed") or result.get("unreachable"):
            out.append(host)
    return out


def _parse_time(value):
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise StatusError("time %r: expected ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)" % (value,))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp


def _iso(stamp):
    return stamp.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _host_entry(name, hvars, status):
    apron = hvars.get("apron") if isinstance(hvars.get("apron"), dict) else {}
    reachable = isinstance(status, dict) and not status.get("unreachable") and not status.get("failed")
    entry = {
        "name": name,
        "role": apron.get("role"),
        "pool": apron.get("pool"),
        "cluster": apron.get("cluster"),
        "environment": apron.get("environment"),
        "address": apron.get("private_address"),
        "reachable": bool(reachable),
        "error": None,
        "versions": {},
        "services": {},
        "disks": [],
    }
    if not reachable:
        entry["error"] = (status or {}).get("msg") if isinstance(status, dict) else "no result"
        return entry
    entry["versions"] = dict(status.get("versions") or {})
    entry["services"] = dict((u["name"], u.get("state")) for u in status.get("units") or [] if u.get("name"))
    entry["disks"] = [dict(d) for d in status.get("disks") or []]
    return entry


def _etcd_clusters(rows):
    clusters = {}
    for host, item in rows:
        name = item.get("cluster")
        c = clusters.setdefault(name, {"cluster": name, "members": [], "healthy": [], "unhealthy": [],
                                       "leaders": [], "versions": []})
        c["members"].append(host)
        (c["healthy"] if item.get("healthy") else c["unhealthy"]).append(host)
        if item.get("is_leader"):
            c["leaders"].append(host)
        if item.get("version") and item["version"] not in c["versions"]:
            c["versions"].append(item["version"])
    out = []
    for name in sorted(clusters, key=str):
        c = clusters[name]
        c["leader"] = c["leaders"][0] if len(c["leaders"]) == 1 else None
        c["state"] = "healthy" if (c["members"] and not c["unhealthy"] and c["leader"]) else "degraded"
        out.append(c)
    return out


def status_report(hostvars, hosts, result_name, now=None):
    """The status report of ``hosts`` from their registered apron.cluster.host_status results.

    Returns ``{version, generated, hosts: [...], etcd: [...], certificates: [...], summary}``; certificates of
    every host sorted by expiry, those inside their renewal window (or expired) marked."""
    hostvars = _mapping(hostvars, "hostvars")
    now = _parse_time(now) if now else datetime.datetime.now(datetime.timezone.utc)
    entries = []
    etcd_rows = []
    certs = []
    for host in _hosts(hosts):
        try:
            hvars = hostvars[host]
        except KeyError:
            raise StatusError("host %r is not in hostvars: expected an inventory host name" % host)
        status = hvars.get(result_name)
        entry = _host_entry(host, hvars, status)
        entries.append(entry)
        if not entry["reachable"]:
            continue
        for item in status.get("etcd") or []:
            etcd_rows.append((host, item))
        for cert in status.get("certificates") or []:
            end = _parse_time(cert.get("not_after"))
            window = int(cert.get("renewal_window_days") or 0)
            days_left = None if end is None else round((end - now).total_seconds() / 86400.0, 1)
            certs.append({
                "host": host,
                "name": cert.get("name"),
                "path": cert.get("path"),
                "ca": cert.get("ca"),
                "not_after": _iso(end) if end else None,
                "days_left": days_left,
                "renewal_window_days": window,
                "renew": days_left is None or days_left <= window,
                "error": cert.get("error"),
            })
    # soonest expiry first; unreadable or missing ones (no date) before everything
    certs.sort(key=lambda c: (c["not_after"] is not None, c["not_after"] or "", c["host"], str(c["path"])))
    etcd = _etcd_clusters(etcd_rows)
    summary = {
        "hosts": len(entries),
        "unreachable": [e["name"] for e in entries if not e["reachable"]],
        # inactive is normal for timer-started and condition-skipped units; failed is not
        "failed_services": sorted("%s:%s" % (e["name"], unit) for e in entries
                                  for unit, state in e["services"].items() if state == "failed"),
        "etcd_degraded": [c["cluster"] for c in etcd if c["state"] != "healthy"],
        "certificates": len(certs),
        "certificates_to_renew": len([c for c in certs if c["renew"]]),
    }
    summary["ok"] = not (summary["unreachable"] or summary["failed_services"] or summary["etcd_degraded"]
                         or summary["certificates_to_renew"])
    return {"version": REPORT_VERSION, "generated": _iso(now), "hosts": entries, "etcd": etcd,
            "certificates": certs, "summary": summary}


def _table(header, rows):
    widths = [len(h) for h in header]
    text_rows = [[("-" if v is None else str(v)) for v in row] for row in rows]
    for row in text_rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    fmt = "  ".join("%%-%ds" % w for w in widths)
    lines = [(fmt % tuple(header)).rstrip()]
    lines += [(fmt % tuple(row)).rstrip() for row in text_rows]
    return lines


def _size(value):
    if value is None:
        return None
    value = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return None


def _services(services):
    """``12 active, 3 inactive; failed: x.service`` (the JSON report has every unit)."""
    if not services:
        return None
    counts = {}
    for state in services.values():
        counts[state] = counts.get(state, 0) + 1
    text = ", ".join("%d %s" % (counts[state], state) for state in sorted(counts, key=str) if state != "failed")
    failed = sorted(unit for unit, state in services.items() if state == "failed")
    if failed:
        text = (text + "; " if text else "") + "failed: " + ", ".join(failed)
    return text


def _disk(d):
    if d.get("error"):
        return "%s: %s" % (d.get("path"), d["error"])
    return "%s %s/%s (%s%%)" % (d.get("path"), _size(d.get("used")), _size(d.get("size")), d.get("percent"))


def status_table(report):
    """The report as text lines: hosts, etcd clusters, certificates (soonest expiry first), summary."""
    report = _mapping(report, "report")
    for key in ("hosts", "etcd", "certificates", "summary"):
        if key not in report:
            raise StatusError("report has no %r: expected the result of apron.cluster.status_report" % key)
    lines = ["HOSTS"]
    rows = []
    for h in report["hosts"]:
        services = _services(h["services"])
        versions = ", ".join("%s %s" % (k, v) for k, v in sorted(h["versions"].items()) if v) or None
        disks = ", ".join(_disk(d) for d in h["disks"]) or None
        rows.append([h["name"], h["role"], "yes" if h["reachable"] else "NO: %s" % (h["error"] or "unreachable"),
                     versions, services, disks])
    lines += _table(["host", "role", "reachable", "versions", "services", "data volume"], rows)
    lines += ["", "ETCD"]
    if report["etcd"]:
        lines += _table(["cluster", "state", "leader", "healthy", "members", "versions"],
                        [[c["cluster"], c["state"], c["leader"], "%d/%d" % (len(c["healthy"]), len(c["members"])),
                          ", ".join(c["members"]), ", ".join(c["versions"]) or None] for c in report["etcd"]])
    else:
        lines.append("(no etcd member found)")
    lines += ["", "CERTIFICATES (soonest expiry first; * = inside the renewal window or unreadable)"]
    if report["certificates"]:
        lines += _table(["", "expires", "days", "window", "host", "certificate"],
                        [["*" if c["renew"] else "", c["not_after"], c["days_left"], c["renewal_window_days"],
                          c["host"], c["path"] if not c["error"] else "%s (%s)" % (c["path"], c["error"])]
                         for c in report["certificates"]])
    else:
        lines.append("(no certificate registered)")
    s = report["summary"]
    lines += ["", "SUMMARY: %s - %d host(s), unreachable: %s, failed services: %s, degraded etcd clusters: %s, "
              "certificates to renew: %d of %d" % (
                  "OK" if s.get("ok") else "ATTENTION", s["hosts"], ", ".join(s["unreachable"]) or "none",
                  ", ".join(s["failed_services"]) or "none", ", ".join(str(x) for x in s["etcd_degraded"]) or "none",
                  s["certificates_to_renew"], s["certificates"])]
    return lines
