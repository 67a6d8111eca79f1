#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pki_certificate_plan
short_description: Decide which certificates on a host must be (re)issued, in one call
version_added: 0.1.0
description:
  - Reads the private keys and certificates of O(certificates) on the host and reports, per certificate, the
    reasons to (re)issue it; an empty list means it is up to date.
  - "The reasons: C(missing) (key or certificate absent), C(key changed) (the certificate's public key is not the
    key's), C(expiring) (not valid at now + O(renewal_window_days)), C(subject changed), C(subject_alt_names changed),
    C(key_usage changed), C(extended_key_usage changed) (compared with the requested values), and C(ca changed)
    (not signed by O(certificates[].ca_certificate): authority key identifier or issuer differ)."
  - Used by the C(apron.cluster.pki) role, which makes keys and CSRs on the host and lets its backend sign them. One
    call replaces one C(stat), C(openssl_privatekey_info), C(x509_certificate_info), C(openssl_csr_pipe) and
    C(openssl_csr_info) call per certificate.
  - Read-only. Private keys are read on the host and never returned.
  - Without the python C(cryptography) library on the host (check mode before the pki role installed it) nothing can
    be inspected; every entry then has RV(certificates[].inspected=false) and the reason C(missing) or
    C(cannot inspect (python3-cryptography not installed yet)), never an empty list.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.info_module
options:
  certificates:
    description: The certificates to check, each with its paths and requested contents.
    type: list
    elements: dict
    required: true
    suboptions:
      key_path:
        description: Path of the private key (PEM, unencrypted).
        type: path
        required: true
      certificate_path:
        description: Path of the certificate (PEM).
        type: path
        required: true
      common_name:
        description: Requested subject common name.
        type: str
        required: true
      organization:
        description: Requested subject organisation (none when not set).
        type: str
      subject_alt_names:
        description: Requested SANs, C(DNS:name), C(IP:address), C(email:address) or C(URI:uri).
        type: list
        elements: str
        default: []
      key_usage:
        description: Requested key usages (for example C(digitalSignature), C(keyEncipherment)).
        type: list
        elements: str
        default: []
      extended_key_usage:
        description: Requested extended key usages (C(serverAuth), C(clientAuth), ... or dotted OIDs).
        type: list
        elements: str
        default: []
      ca_certificate:
        description:
          - PEM of the CA that should have signed the certificate. When omitted, the issuer is not compared.
        type: str
      key_type:
        description:
          - Requested type of the private key (C(ECC) or C(RSA), community.crypto.openssl_privatekey's names). When
            set, the key is checked the way C(community.crypto.openssl_privatekey) checks it before it would
            (re)generate it (readable, type, O(certificates[].key_curve), O(certificates[].key_size), and the file's
            O(certificates[].key_owner), O(certificates[].key_group), O(certificates[].key_mode)); the result is
            RV(certificates[].key_ok). An unreadable key is then reported (C(key unreadable)) instead of failing.
        type: str
      key_curve:
        description: Requested curve of an C(ECC) key (for example C(secp256r1)).
        type: str
      key_size:
        description: Requested size of an C(RSA) key in bits.
        type: int
      key_owner:
        description: Requested owner of the key file (name or uid); not compared when omitted.
        type: str
      key_group:
        description: Requested group of the key file (name or gid); not compared when omitted.
        type: str
      key_mode:
        description: Requested mode of the key file (octal string); not compared when omitted.
        type: str
  renewal_window_days:
    description: A certificate that is not valid any more this many days from now is C(expiring).
    type: int
    required: true
requirements:
  - python3 cryptography on the host to inspect (Debian's C(python3-cryptography); 3.4 or newer)
seealso:
  - module: community.crypto.x509_certificate_info
  - module: community.crypto.openssl_csr_info
"""

EXAMPLES = r"""
- name: What must be (re)issued?
  apron.cluster.pki_certificate_plan:
    renewal_window_days: 30
    certificates:
      - key_path: /etc/apron/etcd/k8s-main/pki/member.key
        certificate_path: /etc/apron/etcd/k8s-main/pki/member.crt
        common_name: etcd-1
        subject_alt_names: [DNS:etcd-1, DNS:localhost, IP:127.0.0.1, IP:10.0.0.11]
        key_usage: [digitalSignature, keyEncipherment]
        extended_key_usage: [serverAuth, clientAuth]
        ca_certificate: "{{ lookup('ansible.builtin.file', '/srv/ca/etcd-k8s-main/ca.crt') }}"
  register: plan

- name: Show the reasons
  ansible.builtin.debug:
    msg: "{{ plan.certificates | map(attribute='reasons') }}"
"""

RETURN = r"""
certificates:
  description: One entry per O(certificates) entry, in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    certificate_path:
      description: The certificate's path.
      type: str
      sample: /etc/apron/etcd/k8s-main/pki/member.crt
    key_exists:
      description: Whether the private key exists.
      type: bool
      sample: true
    certificate_exists:
      description: Whether the certificate exists.
      type: bool
      sample: true
    inspected:
      description: Whether the files could be inspected (false without the cryptography library).
      type: bool
      sample: true
    reasons:
      description: Why it must be (re)issued; empty when it is up to date.
      type: list
      elements: str
      sample: [subject_alt_names changed]
    key_ok:
      description:
        - Whether the key exists and is as requested (O(certificates[].key_type) and the file attributes), so that
          nothing would change it. Always false without O(certificates[].key_type) or without the cryptography
          library (nothing inspected).
      type: bool
      sample: true
    key_reasons:
      description: Why the key is not as requested (C(missing), C(key unreadable), C(type differs), C(curve differs),
        C(size differs), C(owner differs), C(group differs), C(mode differs)); empty when RV(certificates[].key_ok).
      type: list
      elements: str
      sample: [mode differs]
    not_after:
      description: The current certificate's expiry (ASN.1 time, UTC), or null when there is none.
      type: str
      sample: "20271201120000Z"
"""

import datetime
import grp
import os
import pwd
import stat
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.apron.cluster.plugins.module_utils._x509_plan import (
    HAS_CRYPTOGRAPHY, PlanError, key_differences, plan_certificate, validate_wanted,
)

if HAS_CRYPTOGRAPHY:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


def _load(loader, data, what, path):
    try:
        return loader(data)
    except ValueError as exc:
        raise PlanError(f"{what} {path} cannot be read: {exc}") from exc


def _load_key(data):
    return serialization.load_pem_private_key(data, password=None)


def _id_of(name, lookup):
    """uid/gid of a name or number; None when it does not exist."""
    if name is None:
        return None
    try:
        return lookup(name)
    except KeyError:
        return int(name) if str(name).isdigit() else -1


def _attribute_differences(path, wanted):
    """The key file's owner, group and mode against the request (as openssl_privatekey sets them)."""
    info = os.stat(path)
    out = []
    uid = _id_of(wanted.get("key_owner"), lambda n: pwd.getpwnam(n).pw_uid)
    gid = _id_of(wanted.get("key_group"), lambda n: grp.getgrnam(n).gr_gid)
    if uid is not None and info.st_uid != uid:
        out.append("owner differs")
    if gid is not None and info.st_gid != gid:
        out.append("group differs")
    if wanted.get("key_mode") is not None and stat.S_IMODE(info.st_mode) != int(str(wanted["key_mode"]), 8):
        out.append("mode differs")
    return out


def _uninspected(wanted):
    """Existence only (no cryptography library): never reported as up to date."""
    key_exists = os.path.exists(wanted["key_path"])
    cert_exists = os.path.exists(wanted["certificate_path"])
    return dict(
        certificate_path=wanted["certificate_path"],
        key_exists=key_exists,
        certificate_exists=cert_exists,
        inspected=False,
        reasons=["missing"] if not (key_exists and cert_exists) else ["cannot inspect (python3-cryptography not installed yet)"],
        key_ok=False,
        key_reasons=["missing"] if not key_exists else ["cannot inspect (python3-cryptography not installed yet)"],
        not_after=None,
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            certificates=dict(type="list", elements="dict", required=True, options=dict(
                key_path=dict(type="path", required=True),
                certificate_path=dict(type="path", required=True),
                common_name=dict(type="str", required=True),
                organization=dict(type="str"),
                subject_alt_names=dict(type="list", elements="str", default=[]),
                key_usage=dict(type="list", elements="str", default=[]),
                extended_key_usage=dict(type="list", elements="str", default=[]),
                ca_certificate=dict(type="str"),
                key_type=dict(type="str"),
                key_curve=dict(type="str", no_log=False),
                key_size=dict(type="int"),
                key_owner=dict(type="str", no_log=False),
                key_group=dict(type="str", no_log=False),
                key_mode=dict(type="str", no_log=False),
            )),
            renewal_window_days=dict(type="int", required=True),
        ),
        supports_check_mode=True,
    )
    if module.params["renewal_window_days"] < 0:
        module.fail_json(msg=f"renewal_window_days must be 0 or more, got {module.params['renewal_window_days']}")

    now = datetime.datetime.now(datetime.timezone.utc)
    results = []
    for index, wanted in enumerate(module.params["certificates"]):
        where = f"certificates[{index}] ({wanted['certificate_path']})"
        if not HAS_CRYPTOGRAPHY:
            results.append(_uninspected(wanted))
            continue
        try:
            validate_wanted(wanted)
            key_pem = _read(wanted["key_path"])
            cert_pem = _read(wanted["certificate_path"])
            key = None
            key_reasons = [] if key_pem is not None else ["missing"]
            if key_pem is not None and wanted["key_type"]:
                # Checked like openssl_privatekey would: an unreadable key is one it would regenerate.
                try:
                    key = _load_key(key_pem)
                except (ValueError, TypeError):
                    key_reasons.append("key unreadable")
                if key is not None:
                    key_reasons += key_differences(key, wanted["key_type"], wanted["key_curve"], wanted["key_size"])
                key_reasons += _attribute_differences(wanted["key_path"], wanted)
            elif key_pem is not None:
                key = _load(_load_key, key_pem, "private key", wanted["key_path"])
            cert = (_load(x509.load_pem_x509_certificate, cert_pem, "certificate", wanted["certificate_path"])
                    if cert_pem is not None else None)
            ca_cert = None
            if wanted["ca_certificate"]:
                ca_cert = _load(x509.load_pem_x509_certificate, to_bytes(wanted["ca_certificate"]),
                                "ca_certificate of", wanted["certificate_path"])
            reasons, facts = plan_certificate(wanted, key, cert, now, module.params["renewal_window_days"], ca_cert)
        except PlanError as exc:
            module.fail_json(msg=f"{where}: {exc}")
        except (OSError, TypeError) as exc:
            module.fail_json(msg=f"{where}: {to_native(exc)}", exception=traceback.format_exc())
        results.append(dict(
            certificate_path=wanted["certificate_path"],
            key_exists=key_pem is not None,
            certificate_exists=cert_pem is not None,
            inspected=True,
            reasons=reasons,
            key_ok=bool(wanted["key_type"]) and not key_reasons,
            key_reasons=key_reasons,
            not_after=facts["not_after"],
        ))
    module.exit_json(changed=False, certificates=results)


if __name__ == "__main__":
    main()
