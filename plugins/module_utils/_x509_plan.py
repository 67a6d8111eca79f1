# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Compare a certificate on disk with what it should be (private; used by pki_certificate_plan).

Pure functions over `cryptography` objects, so that the module stays a thin shell and the rules
are unit-tested on their own. The rules are the ones the pki role applied with community.crypto's
info modules (one call per file and certificate); here one module call checks every certificate
of a host. Names are normalised the way the requested values are written in pki_certificates
(community.crypto's short names, e.g. ``digitalSignature``, ``serverAuth``, ``DNS:x``, ``IP:y``).
"""
from __future__ import annotations

import datetime
import ipaddress

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_CRYPTOGRAPHY = False


class PlanError(Exception):
    """A requested value the plan cannot interpret (the message names it)."""


# Key usage bits: cryptography's attribute name -> the names accepted for it (compared in lower
# case without spaces), as community.crypto accepts them.
_KEY_USAGES = {
    "digital_signature": ("digitalsignature",),
    "content_commitment": ("contentcommitment", "nonrepudiation"),
    "key_encipherment": ("keyencipherment",),
    "data_encipherment": ("dataencipherment",),
    "key_agreement": ("keyagreement",),
    "key_cert_sign": ("keycertsign", "certificatesign"),
    "crl_sign": ("crlsign",),
    "encipher_only": ("encipheronly",),
    "decipher_only": ("decipheronly",),
}
_KEY_USAGE_BY_ALIAS = {alias: attr for attr, aliases in _KEY_USAGES.items() for alias in aliases}

_EKU_BY_ALIAS = {
    "serverauth": "1.3.6.1.5.5.7.3.1", "tlswebserverauthentication": "1.3.6.1.5.5.7.3.1",
    "clientauth": "1.3.6.1.5.5.7.3.2", "tlswebclientauthentication": "1.3.6.1.5.5.7.3.2",
    "codesigning": "1.3.6.1.5.5.7.3.3",
    "emailprotection": "1.3.6.1.5.5.7.3.4", "e-mailprotection": "1.3.6.1.5.5.7.3.4",
    "timestamping": "1.3.6.1.5.5.7.3.8",
    "ocspsigning": "1.3.6.1.5.5.7.3.9",
}


def _alias(name):
    return str(name).replace(" ", "").replace("_", "").lower()


def key_usage_set(names):
    """Requested key usage names -> set of cryptography attribute names."""
    out = set()
    for name in names:
        attr = _KEY_USAGE_BY_ALIAS.get(_alias(name))
        if attr is None:
            raise PlanError(f"unknown key_usage {name!r}; expected digitalSignature, nonRepudiation "
                            "(contentCommitment), keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, "
                            "cRLSign, encipherOnly or decipherOnly")
        out.add(attr)
    return out


def extended_key_usage_set(names):
    """Requested extended key usage names or dotted OIDs -> set of dotted OIDs."""
    out = set()
    for name in names:
        text = str(name).strip()
        if text.replace(".", "").isdigit() and "." in text:
            out.add(text)
            continue
        oid = _EKU_BY_ALIAS.get(_alias(text))
        if oid is None:
            raise PlanError(f"unknown extended_key_usage {name!r}; expected serverAuth, clientAuth, codeSigning, "
                            "emailProtection, timeStamping, OCSPSigning or a dotted OID")
        out.add(oid)
    return out


def _normal_san(kind, value):
    kind_l = kind.lower()
    if kind_l == "dns":
        return "DNS:" + value
    if kind_l == "ip":
        return "IP:" + ipaddress.ip_address(value).compressed
    if kind_l == "email":
        return "email:" + value
    if kind_l == "uri":
        return "URI:" + value
    raise PlanError(f"unknown subject_alt_names type {kind!r} in {kind}:{value}; expected DNS, IP, email or URI")


def san_set(entries):
    """Requested SANs (``DNS:x``, ``IP:y``, ``email:z``, ``URI:u``) -> normalised set."""
    out = set()
    for entry in entries:
        kind, sep, value = str(entry).partition(":")
        if not sep or not value:
            raise PlanError(f"subject_alt_names entry {entry!r} is not TYPE:value (DNS:, IP:, email:, URI:)")
        try:
            out.add(_normal_san(kind, value))
        except ValueError as exc:
            raise PlanError(f"subject_alt_names entry {entry!r}: {exc}") from exc
    return out


def subject_set(common_name, organization):
    out = {(NameOID.COMMON_NAME.dotted_string, common_name)}
    if organization:
        out.add((NameOID.ORGANIZATION_NAME.dotted_string, organization))
    return out


def _extension(cert, ext_class):
    try:
        return cert.extensions.get_extension_for_class(ext_class).value
    except x509.ExtensionNotFound:
        return None


def _cert_sans(cert):
    ext = _extension(cert, x509.SubjectAlternativeName)
    if ext is None:
        return set()
    kinds = {x509.DNSName: "DNS", x509.IPAddress: "IP", x509.RFC822Name: "email", x509.UniformResourceIdentifier: "URI"}
    # The same normalisation as the requested names; a kind pki never requests is always a difference.
    return {_normal_san(kinds[type(name)], str(name.value)) if type(name) in kinds else f"other:{name!r}"
            for name in ext}


def _cert_key_usages(cert):
    ext = _extension(cert, x509.KeyUsage)
    if ext is None:
        return set()
    out = set()
    for attr in _KEY_USAGES:
        if attr in ("encipher_only", "decipher_only") and not ext.key_agreement:
            continue  # only defined with key_agreement (cryptography raises otherwise)
        if getattr(ext, attr):
            out.add(attr)
    return out


def _cert_extended_key_usages(cert):
    ext = _extension(cert, x509.ExtendedKeyUsage)
    return {oid.dotted_string for oid in ext} if ext is not None else set()


def _public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _key_identifier(ca_cert):
    ext = _extension(ca_cert, x509.SubjectKeyIdentifier)
    if ext is not None:
        return ext.digest
    return x509.SubjectKeyIdentifier.from_public_key(ca_cert.public_key()).digest


def plan_certificate(wanted, key, cert, now, renewal_days, ca_cert=None):
    """Reasons to (re)issue one certificate, and what is known about the current one.

    wanted: dict with common_name, organization, subject_alt_names, key_usage, extended_key_usage.
    key: the private key object or None (missing); cert: the certificate or None (missing).
    ca_cert: the CA certificate that should have signed it (None: not compared here).
    Returns (reasons, facts); reasons is a list of strings in a fixed order, empty when the
    certificate is up to date.
    """
    reasons = []
    facts = {"not_after": None}
    if key is None or cert is None:
        reasons.append("missing")
    if cert is None:
        return reasons, facts
    facts["not_after"] = _not_after(cert).strftime("%Y%m%d%H%M%SZ")
    if key is not None and _public_der(key.public_key()) != _public_der(cert.public_key()):
        reasons.append("key changed")
    horizon = now + datetime.timedelta(days=renewal_days)
    if not _not_before(cert) <= horizon <= _not_after(cert):
        reasons.append("expiring")
    have_subject = {(attr.oid.dotted_string, attr.value) for attr in cert.subject}
    if have_subject != subject_set(wanted["common_name"], wanted.get("organization")):
        reasons.append("subject changed")
    if _cert_sans(cert) != san_set(wanted.get("subject_alt_names") or []):
        reasons.append("subject_alt_names changed")
    if _cert_key_usages(cert) != key_usage_set(wanted.get("key_usage") or []):
        reasons.append("key_usage changed")
    if _cert_extended_key_usages(cert) != extended_key_usage_set(wanted.get("extended_key_usage") or []):
        reasons.append("extended_key_usage changed")
    if ca_cert is not None:
        aki = _extension(cert, x509.AuthorityKeyIdentifier)
        if (aki is None or aki.key_identifier != _key_identifier(ca_cert)
                or cert.issuer != ca_cert.subject):
            reasons.append("ca changed")
    return reasons, facts


# The key types pki requests (roles/pki/vars/main.yml __pki_key_types): community.crypto's type
# names; ECC curves by their SEC names, which are cryptography's curve names.
def key_differences(key, key_type, curve=None, size=None):
    """What differs between a private key and the requested type (empty: the key is as requested).

    The same comparison community.crypto.openssl_privatekey makes before it regenerates a key
    (type, RSA size, ECC curve); a key of another type is reported, never accepted.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    wanted = str(key_type).upper()
    if wanted == "RSA":
        if not isinstance(key, rsa.RSAPrivateKey):
            return ["type differs"]
        return [] if size is None or key.key_size == int(size) else ["size differs"]
    if wanted == "ECC":
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return ["type differs"]
        return [] if curve is None or key.curve.name == str(curve).lower() else ["curve differs"]
    raise PlanError(f"unknown key_type {key_type!r}; expected RSA or ECC")


def validate_wanted(wanted):
    """Raise PlanError for a requested value the plan cannot interpret (before any file is read)."""
    san_set(wanted.get("subject_alt_names") or [])
    key_usage_set(wanted.get("key_usage") or [])
    extended_key_usage_set(wanted.get("extended_key_usage") or [])


__all__ = ["HAS_CRYPTOGRAPHY", "PlanError", "key_differences", "plan_certificate", "validate_wanted"]
