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
                "pki_registry_files": pki_registry_files}
