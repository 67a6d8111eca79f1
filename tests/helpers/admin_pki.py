# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""An admin identity as the master role leaves it in <kubernetes_pki_dir>/admin/: the CA bundle, the
client certificate (CN apron-admin, O apron:cluster-admins) and its key, PEM (cryptography)."""
from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CN, ORG = "apron-admin", "apron:cluster-admins"


def _name(cn, org=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ca(name="kubernetes"):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def admin(issuer=None, days=365, key=None):
    """{ca, cert, key}: PEM bytes of a CA bundle and an admin client certificate it signed."""
    ca_key, ca_cert = issuer or ca()
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(days=1) if days > 0 else now - datetime.timedelta(days=10)
    cert = (x509.CertificateBuilder().subject_name(_name(CN, ORG)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return {"ca": _pem(ca_cert), "cert": _pem(cert), "key": _pem(key)}


def write(identity, admin_dir):
    """Write {ca, cert, key} as ca.crt, admin.crt, admin.key (0600) in ``admin_dir``."""
    admin_dir = Path(admin_dir)
    admin_dir.mkdir(parents=True, exist_ok=True)
    for name, what in (("ca.crt", "ca"), ("admin.crt", "cert"), ("admin.key", "key")):
        (admin_dir / name).write_bytes(identity[what])
    (admin_dir / "admin.key").chmod(0o600)
    return admin_dir


def subject_and_chain(cert_pem, ca_pem):
    """(CN, O, issued by one of the bundle's CAs) of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    chained = False
    for authority in x509.load_pem_x509_certificates(ca_pem):
        try:
            cert.verify_directly_issued_by(authority)
            chained = True
        except (InvalidSignature, ValueError, TypeError):
            continue
    return cn, orgs, chained
