# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the apron.cluster.pki role: the files it writes with apron.cluster.file_set, decided in
Python so that each is one module call on the host.

* ``pki_ca_bundle_files``: the ``ca.crt`` of each certificate directory (the PEMs of the CAs of
  the certificates in it), for the directories whose CAs all exist.
* ``pki_registry_files``: the registry entry of each certificate, read by apron-pki-check.
* ``pki_directories``: the certificate directories, and their parents when missing.
* ``pki_subject_alt_names``: host names and addresses as typed SANs (``DNS:``/``IP:``), once each.
* ``pki_plan_requests``: what apron.cluster.pki_certificate_plan compares each key and certificate with.
* ``pki_reissue_reasons``: per certificate, why it is (re)issued, in a fixed order (empty: keep it).
* ``pki_normalise_certificates``: ``pki_certificates`` with the role's defaults filled in.
* ``pki_invalid_certificates``: the entries the role refuses, described for the failure message.
* ``pki_host_read``: what the host lacks (packages, owners, groups) and the timer's state, from one read.
* ``pki_bundle_changed``: the certificates whose CA bundle (``<dir>/ca.crt``) was rewritten.
* ``pki_plan_report``: the plan as the role prints it (action, reasons, expiry per certificate).
* ``pki_outcome``: ``pki_changed`` and ``pki_certificate_status`` after the certificates of one run.

Documented in the pki_*.yml sidecars of these filters.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os.path
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean


def _dirs(certificates):
    """Certificate directories in first-seen order, each with its certificates."""
    dirs = {}
    for cert in certificates:
        dirs.setdefault(cert["dir"], []).append(cert)
    return dirs


def pki_ca_bundle_files(certificates, cas):
    """file_set entries: <dir>/ca.crt holds the PEMs of the CAs of its certificates (sorted by CA name),
    owned like the directory's first certificate. Directories with a CA that has no PEM yet (check mode
    before the CA exists) are left out."""
    files = []
    for directory, certs in _dirs(certificates).items():
        names = sorted(set(cert["ca"] for cert in certs))
        missing = [name for name in names if name not in cas]
        if missing:
            raise AnsibleFilterError("apron.cluster.pki_ca_bundle_files: %s: unknown CA %s" % (directory, ", ".join(missing)))
        pems = [cas[name].get("pem") for name in names]
        if any(pem is None for pem in pems):
            continue
        files.append({"path": directory + "/ca.crt", "content": "".join(pems),
                      "owner": certs[0]["owner"], "group": certs[0]["group"], "mode": "0644"})
    return files


SAN_TYPES = ("DNS:", "IP:", "email:", "URI:")

# The order in which reasons to (re)issue a certificate are reported.
REASON_ORDER = ("missing", "cannot inspect (python3-cryptography not installed yet)", "key changed", "expiring",
                "subject changed", "subject_alt_names changed", "key_usage changed", "extended_key_usage changed",
                "ca changed")


def pki_plan_requests(certificates, cas, key_types):
    """The ``certificates`` option of apron.cluster.pki_certificate_plan: per certificate its key and certificate
    paths, the requested subject and usages, the key's type/curve/size and file attributes, and the PEM of the CA
    that should have signed it (None when the CA does not exist yet or is being replaced: compared later)."""
    requests = []
    for cert in certificates:
        if cert["key_type"] not in key_types:
            raise AnsibleFilterError("apron.cluster.pki_plan_requests: %s/%s: unknown key_type %r (expected one of %s)"
                                     % (cert["dir"], cert["name"], cert["key_type"], ", ".join(sorted(key_types))))
        if cert["ca"] not in cas:
            raise AnsibleFilterError("apron.cluster.pki_plan_requests: %s/%s: unknown CA %s" % (cert["dir"], cert["name"], cert["ca"]))
        key = key_types[cert["key_type"]]
        ca = cas[cert["ca"]]
        base = "%s/%s" % (cert["dir"], cert["name"])
        requests.append({
            "key_path": base + ".key", "certificate_path": base + ".crt",
            "common_name": cert.get("common_name"), "organization": cert.get("organization"),
            "subject_alt_names": cert.get("subject_alt_names") or [], "key_usage": cert.get("key_usage") or [],
            "extended_key_usage": cert.get("extended_key_usage") or [],
            "ca_certificate": None if ca.get("changing") else ca.get("pem"),
            "key_type": key["type"], "key_curve": key.get("curve"), "key_size": key.get("size"),
            "key_owner": cert["owner"], "key_group": cert["group"], "key_mode": "0600",
        })
    return requests


def pki_reissue_reasons(certificates, inspection, keys_changed, cas):
    """Certificate id (<dir>/<name>) -> the reasons to (re)issue it, in REASON_ORDER (empty: keep it).
    Adds what apron.cluster.pki_certificate_plan cannot see: a key (re)generated in this run (in check mode
    predicted) and a CA that does not exist yet or is about to be replaced."""
    if len(inspection) != len(certificates) or len(keys_changed) != len(certificates):
        raise AnsibleFilterError("apron.cluster.pki_reissue_reasons: %d certificates, %d inspections, %d key results"
                                 % (len(certificates), len(inspection), len(keys_changed)))
    plan = {}
    for cert, found, key_changed in zip(certificates, inspection, keys_changed):
        ca = cas[cert["ca"]]
        reasons = list(found.get("reasons") or [])
        if found.get("certificate_exists") and key_changed:
            reasons.append("key changed")
        if found.get("certificate_exists") and (ca.get("pem") is None or ca.get("changing")):
            reasons.append("ca changed")
        unknown = [r for r in reasons if r not in REASON_ORDER]
        plan["%s/%s" % (cert["dir"], cert["name"])] = [r for r in REASON_ORDER if r in reasons] + unknown
    return plan


def pki_subject_alt_names(entries):
    """Typed SANs in first-seen order, each once: an entry with a type (DNS:, IP:, email:, URI:) is kept,
    an IP address becomes IP:, anything else DNS:. Empty entries are dropped."""
    sans = []
    for entry in entries:
        entry = str(entry).strip()
        if not entry:
            continue
        if not entry.startswith(SAN_TYPES):
            try:
                entry = "IP:" + str(ipaddress.ip_address(entry))
            except ValueError:
                entry = "DNS:" + entry
        if entry not in sans:
            sans.append(entry)
    return sans


def pki_directories(certificates):
    """file_set directories: the parent of each certificate directory without attributes (made root 0755 when
    missing, left as it is when it exists: it usually belongs to the calling role), then each certificate
    directory owned like its first certificate, 0750."""
    dirs = _dirs(certificates)
    parents = []
    for directory in dirs:
        parent = directory.rsplit("/", 1)[0] or "/"
        if parent not in dirs and parent not in parents and parent != "/":
            parents.append(parent)
    return ([{"path": parent} for parent in parents]
            + [{"path": directory, "owner": certs[0]["owner"], "group": certs[0]["group"], "mode": "0750"}
               for directory, certs in dirs.items()])


def registry_name(cert):
    """<name>-<first 12 hex of sha256(dir/name)>.json: unique per certificate, stable across runs."""
    ident = "%s/%s" % (cert["dir"], cert["name"])
    return "%s-%s.json" % (cert["name"], hashlib.sha256(ident.encode("utf-8")).hexdigest()[:12])


def _to_nice_json(data):
    import json
    return json.dumps(data, indent=4, sort_keys=True, separators=(",", ": "), ensure_ascii=False) + "\n"


def pki_registry_files(certificates, registry_dir, cluster, backend, renewal_window_days, unattended_renewal):
    """file_set entries: one JSON registry entry per certificate (root, 0644)."""
    files = []
    for cert in certificates:
        entry = {
            "name": cert["name"], "dir": cert["dir"],
            "certificate": "%s/%s.crt" % (cert["dir"], cert["name"]),
            "key": "%s/%s.key" % (cert["dir"], cert["name"]),
            "ca_bundle": "%s/ca.crt" % cert["dir"], "ca": cert["ca"],
            "cluster": cluster, "backend": backend,
            "renewal_window_days": int(renewal_window_days),
            "unattended_renewal": bool(unattended_renewal),
        }
        files.append({"path": "%s/%s" % (registry_dir.rstrip("/"), registry_name(cert)),
                      "content": _to_nice_json(entry), "owner": "root", "group": "root", "mode": "0644"})
    return files


def _id(cert):
    return "%s/%s" % (cert["dir"], cert["name"])


def _unique(items):
    """Each item once, in first-seen order (case-sensitive)."""
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _list_of_dicts(filter_name, what, value):
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("apron.cluster.%s: %s must be a list of dicts, got %s" % (filter_name, what, type(value).__name__))
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise AnsibleFilterError("apron.cluster.%s: %s[%d] must be a dict (name, ca, dir, ...), got %s %r"
                                     % (filter_name, what, index, type(item).__name__, item))
    return value


def _lines_up(filter_name, certificates, **others):
    """Fail unless every list in ``others`` has one entry per certificate."""
    wrong = ["%d %s" % (len(value), name) for name, value in others.items() if len(value) != len(certificates)]
    if wrong:
        raise AnsibleFilterError("apron.cluster.%s: %d certificates but %s (expected one per certificate, in the same order)"
                                 % (filter_name, len(certificates), ", ".join(wrong)))


def pki_normalise_certificates(certificates, defaults):
    """Each entry of ``pki_certificates`` over the defaults: ``subject_alt_names`` [], ``owner`` root, then ``defaults``
    (the role's key_usage, extended_key_usage, key_type, validity), then the entry's own settings that are not null.
    ``group`` is the entry's group, else its owner, else root (an empty value counts as unset)."""
    _list_of_dicts("pki_normalise_certificates", "pki_certificates", certificates)
    if not isinstance(defaults, Mapping):
        raise AnsibleFilterError("apron.cluster.pki_normalise_certificates: the defaults must be a dict, got %s"
                                 % type(defaults).__name__)
    normalised = []
    for item in certificates:
        # What an entry gets when it does not set it (the role's variables come in ``defaults``).
        cert = {"subject_alt_names": [], "owner": "root"}
        cert.update(defaults)
        cert.update((key, value) for key, value in item.items() if value is not None)
        cert["group"] = item.get("group") or item.get("owner") or "root"
        normalised.append(cert)
    return normalised


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CA_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DIR_PATTERN = re.compile(r"^/")


def _matches(pattern, value):
    """Like Ansible's ``match`` test: the value as text, matched at its start; a missing value does not match."""
    return value is not None and pattern.match(to_text(value, errors="surrogate_or_strict")) is not None


def _to_int(value):
    """Like Jinja's ``int`` filter: 0 when the value is no number ("42.5" gives 42)."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def _known(key_type, key_types):
    try:
        return key_type in key_types
    except TypeError:  # unhashable: a list or a dict
        return False


def pki_invalid_certificates(certificates, key_types, renewal_window_days):
    """``<dir>/<name> (ca <ca>, key_type <type>, validity <days>)`` of each normalised entry the role refuses: a name
    that is not [A-Za-z0-9][A-Za-z0-9._-]* or is ``ca``, a ca that is not [a-z0-9][a-z0-9-]*, a dir that is not absolute,
    an unknown key_type, a validity (days) not above ``renewal_window_days``, or a <dir>/<name> used more than once.
    A missing field shows as ``?``."""
    _list_of_dicts("pki_invalid_certificates", "the certificates", certificates)
    window = _to_int(renewal_window_days)
    invalid = []
    for cert in certificates:
        twins = [other for other in certificates
                 if other.get("dir") == cert.get("dir") and other.get("name") == cert.get("name")]
        valid = (_matches(NAME_PATTERN, cert.get("name")) and cert.get("name") != "ca"
                 and _matches(CA_PATTERN, cert.get("ca")) and _matches(DIR_PATTERN, cert.get("dir"))
                 and _known(cert.get("key_type"), key_types) and _to_int(cert.get("validity")) > window
                 and len(twins) == 1)
        if not valid:
            invalid.append("%s/%s (ca %s, key_type %s, validity %s)" % tuple(
                to_text(cert.get(field, "?")) for field in ("dir", "name", "ca", "key_type", "validity")))
    return invalid


def pki_host_read(stdout_lines, certificates, packages, manage_packages):
    """What the host lacks, from the lines of the role's read script: ``passwd <user>`` / ``group <group>`` for each
    owner and group that exists, ``<package> <dpkg status>`` per package, ``timer <systemctl show of the timer>``.
    Returns ``{missing_packages, missing_users, missing_groups, timer_state}``: the packages not ``installed`` (none when
    the role does not manage packages), the owners and groups of the certificates that do not exist (each once, in
    first-seen order), and the timer's ``ActiveState=... UnitFileState=...`` ('' when the read did not print it)."""
    if not isinstance(stdout_lines, (list, tuple)):
        raise AnsibleFilterError("apron.cluster.pki_host_read: expected the stdout_lines of the read (a list), got %s"
                                 % type(stdout_lines).__name__)
    _list_of_dicts("pki_host_read", "the certificates", certificates)
    try:
        manage_packages = boolean(manage_packages, strict=True)
    except TypeError:
        raise AnsibleFilterError("apron.cluster.pki_host_read: manage_packages must be a boolean, got %r"
                                 % (manage_packages,)) from None
    users, groups, installed, timer_state = [], [], [], None
    for line in stdout_lines:
        kind, space, rest = line.partition(" ")
        if kind == "passwd" and space:
            users.append(rest)
        elif kind == "group" and space:
            groups.append(rest)
        elif kind == "timer" and space:
            if timer_state is None:
                timer_state = rest
        elif line.endswith(" installed"):
            installed.append(line.split(" ")[0])
    return {
        "missing_packages": [package for package in packages if package not in installed] if manage_packages else [],
        "missing_users": [user for user in _unique(cert["owner"] for cert in certificates) if user not in users],
        "missing_groups": [group for group in _unique(cert["group"] for cert in certificates) if group not in groups],
        "timer_state": timer_state or "",
    }


def pki_bundle_changed(certificates, changed_paths):
    """Ids (``<dir>/<name>``) of the certificates in a directory one of ``changed_paths`` (the ``changed_paths`` of the
    apron.cluster.file_set call that wrote the ``<dir>/ca.crt`` bundles) is in, in the order of the certificates."""
    changed_dirs = set(os.path.dirname(path) for path in changed_paths or [])
    return [_id(cert) for cert in certificates if cert["dir"] in changed_dirs]


def _reasons(filter_name, plan, ident):
    """The reasons to (re)issue a certificate, from the plan of apron.cluster.pki_reissue_reasons."""
    if ident not in plan:
        raise AnsibleFilterError("apron.cluster.%s: %s is not in the plan (expected the result of "
                                 "apron.cluster.pki_reissue_reasons for the same certificates)" % (filter_name, ident))
    return plan[ident]


def pki_plan_report(certificates, plan, inspection):
    """Per certificate ``{certificate, ca, action, reason, not_after}``: action ``issue`` (missing), ``reissue`` (other
    reasons) or ``keep``; reason the reasons joined, or ``up to date``; not_after from the inspection, ``-`` when unknown."""
    _lines_up("pki_plan_report", certificates, inspections=inspection)
    report = []
    for cert, found in zip(certificates, inspection):
        ident = _id(cert)
        reasons = _reasons("pki_plan_report", plan, ident)
        report.append({"certificate": ident, "ca": cert["ca"],
                       "action": ("issue" if "missing" in reasons else "reissue") if reasons else "keep",
                       "reason": ", ".join(reasons) if reasons else "up to date",
                       "not_after": found.get("not_after") or "-"})
    return report


def pki_outcome(certificates, plan, keys_changed, written, pki_changed, pki_certificate_status):
    """The facts callers read after the certificates of one run: a certificate changed when its key was (re)generated
    (``keys_changed``, one boolean per certificate) or its certificate written (``written``: ids). Returns
    ``{pki_changed, pki_certificate_status}``: the changed ids added to ``pki_changed`` (each once; unchanged when none
    changed), and ``{ca, reasons, changed}`` per certificate over ``pki_certificate_status``."""
    _lines_up("pki_outcome", certificates, key_results=keys_changed)
    changed = [_id(cert) for cert, key_changed in zip(certificates, keys_changed) if key_changed or _id(cert) in written]
    status = dict(pki_certificate_status)
    for cert in certificates:
        ident = _id(cert)
        status[ident] = {"ca": cert["ca"], "reasons": _reasons("pki_outcome", plan, ident), "changed": ident in changed}
    return {"pki_changed": _unique(list(pki_changed) + changed) if changed else list(pki_changed),
            "pki_certificate_status": status}


class FilterModule(object):
    """apron.cluster filters of the pki role."""

    def filters(self):
        return {"pki_ca_bundle_files": pki_ca_bundle_files,
                "pki_directories": pki_directories,
                "pki_subject_alt_names": pki_subject_alt_names,
                "pki_plan_requests": pki_plan_requests,
                "pki_reissue_reasons": pki_reissue_reasons,
                "pki_registry_files": pki_registry_files,
                "pki_normalise_certificates": pki_normalise_certificates,
                "pki_invalid_certificates": pki_invalid_certificates,
                "pki_host_read": pki_host_read,
                "pki_bundle_changed": pki_bundle_changed,
                "pki_plan_report": pki_plan_report,
                "pki_outcome": pki_outcome}
