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

Documented in the pki_*.yml sidecars of these filters.
"""

from __future__ import annotations

import hashlib
import ipaddress

from ansible.errors import AnsibleFilterError


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


class FilterModule(object):
    """apron.cluster filters of the pki role."""

    def filters(self):
        return {"pki_ca_bundle_files": pki_ca_bundle_files,
                "pki_directories": pki_directories,
                "pki_subject_alt_names": pki_subject_alt_names,
                "pki_plan_requests": pki_plan_requests,
                "pki_reissue_reasons": pki_reissue_reasons,
                "pki_registry_files": pki_registry_files}
