# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.pki_certificate_plan: the reasons to (re)issue, on real keys and certificates.

The certificates are made here with `cryptography` the way the pki role makes them (a CA, a
leaf with SANs, key usages and extended key usages); each test changes one thing and expects
exactly its reason. The module runs as a real process (AnsibleModule reading its JSON args).
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.helpers import run_module

REPO = Path(__file__).resolve().parents[4]
NOW = datetime.datetime.now(datetime.timezone.utc)

WANTED = {
    "common_name": "etcd-1",
    "organization": None,
    "subject_alt_names": ["DNS:etcd-1", "DNS:localhost", "IP:127.0.0.1", "IP:10.0.0.11"],
    "key_usage": ["digitalSignature", "keyEncipherment"],
    "extended_key_usage": ["serverAuth", "clientAuth"],
}


def _ca(name="test CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca, key, days=365, cn="etcd-1", sans=None, usages=("digital_signature", "key_encipherment"),
          ekus=(ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)):
    ca_key, ca_cert = ca
    sans = sans if sans is not None else [x509.DNSName("etcd-1"), x509.DNSName("localhost"),
                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                          x509.IPAddress(ipaddress.ip_address("10.0.0.11"))]
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign")
    flags = {k: k in usages for k in names}
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(minutes=5)).not_valid_after(NOW + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.KeyUsage(encipher_only=False, decipher_only=False, **flags), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _write(tmp_path, key, cert, name="member"):
    key_path, cert_path = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    if key is not None:
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    if cert is not None:
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


def run(certificates, window=30, check=False):
    return run_module("pki_certificate_plan", {"certificates": certificates, "renewal_window_days": window}, check,
                      timeout=60)


def entry(key_path, cert_path, ca_cert=None, **changes):
    item = dict(WANTED, key_path=key_path, certificate_path=cert_path, **changes)
    if ca_cert is not None:
        item["ca_certificate"] = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    return item


@pytest.fixture
def ca():
    return _ca()


@pytest.fixture
def key():
    return ec.generate_private_key(ec.SECP256R1())


def test_up_to_date(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key))
    result = run([entry(*paths, ca_cert=ca[1])], check=True)
    assert result["changed"] is False
    [found] = result["certificates"]
    assert found["reasons"] == [] and found["inspected"] and found["key_exists"] and found["certificate_exists"]
    assert found["not_after"].endswith("Z") and len(found["not_after"]) == 15
    assert "PRIVATE KEY" not in json.dumps(result)  # the key is read on the host, never returned


def test_missing_key_or_certificate(tmp_path, ca, key):
    only_key = _write(tmp_path, key, None, name="a")
    only_cert = _write(tmp_path, None, _leaf(ca, key), name="b")
    result = run([entry(*only_key), entry(*only_cert)])
    assert [c["reasons"] for c in result["certificates"]] == [["missing"], ["missing"]]
    assert [c["key_exists"] for c in result["certificates"]] == [True, False]


@pytest.mark.parametrize("change, reason", [
    (dict(common_name="etcd-2"), "subject changed"),
    (dict(organization="apron-etcd-clients"), "subject changed"),
    (dict(subject_alt_names=["DNS:etcd-1", "DNS:localhost", "IP:127.0.0.1"]), "subject_alt_names changed"),
    (dict(key_usage=["digitalSignature"]), "key_usage changed"),
    (dict(extended_key_usage=["clientAuth"]), "extended_key_usage changed"),
])
def test_each_requested_change_has_its_reason(tmp_path, ca, key, change, reason):
    paths = _write(tmp_path, key, _leaf(ca, key))
    assert run([entry(*paths, **change)])["certificates"][0]["reasons"] == [reason]


def test_equivalent_spellings_are_no_change(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key))
    same = entry(*paths, subject_alt_names=["IP:10.0.0.11", "dns:localhost", "DNS:etcd-1", "IP:127.0.0.1"],
                 key_usage=["Key Encipherment", "digital_signature"],
                 extended_key_usage=["1.3.6.1.5.5.7.3.2", "TLS Web Server Authentication"])
    assert run([same])["certificates"][0]["reasons"] == []


def test_ipv6_sans_compare_normalised(tmp_path, ca, key):
    cert = _leaf(ca, key, sans=[x509.IPAddress(ipaddress.ip_address("fd00::1"))])
    paths = _write(tmp_path, key, cert)
    assert run([entry(*paths, subject_alt_names=["IP:fd00:0:0::1"])])["certificates"][0]["reasons"] == []


def test_key_changed(tmp_path, ca, key):
    other = ec.generate_private_key(ec.SECP256R1())
    paths = _write(tmp_path, other, _leaf(ca, key))
    assert run([entry(*paths)])["certificates"][0]["reasons"] == ["key changed"]


def test_expiring_inside_the_window_only(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key, days=10))
    assert run([entry(*paths)], window=30)["certificates"][0]["reasons"] == ["expiring"]
    assert run([entry(*paths)], window=5)["certificates"][0]["reasons"] == []


def test_ca_changed(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key))
    assert run([entry(*paths, ca_cert=_ca("another CA")[1])])["certificates"][0]["reasons"] == ["ca changed"]
    # Same subject, other key: still another CA (the authority key identifier differs).
    assert run([entry(*paths, ca_cert=_ca("test CA")[1])])["certificates"][0]["reasons"] == ["ca changed"]


def test_reasons_keep_their_order(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key, days=3))
    reasons = run([entry(*paths, common_name="x", extended_key_usage=["clientAuth"], ca_cert=_ca()[1])],
                  )["certificates"][0]["reasons"]
    assert reasons == ["expiring", "subject changed", "extended_key_usage changed", "ca changed"]


@pytest.mark.parametrize("change, message", [
    (dict(key_usage=["signEverything"]), r"certificates\[0\] \(.*member\.crt\): unknown key_usage 'signEverything'; expected digitalSignature"),
    (dict(extended_key_usage=["webAuth"]), "unknown extended_key_usage 'webAuth'"),
    (dict(subject_alt_names=["etcd-1"]), "subject_alt_names entry 'etcd-1' is not TYPE:value"),
    (dict(subject_alt_names=["IP:10.0.0.300"]), "subject_alt_names entry 'IP:10[.]0[.]0[.]300'"),
    (dict(subject_alt_names=["RID:1.2.3"]), "unknown subject_alt_names type 'RID'"),
])
def test_bad_requests_name_the_input(tmp_path, ca, key, change, message):
    paths = _write(tmp_path, key, _leaf(ca, key))
    result = run([entry(*paths, **change)])
    assert result.get("failed") and re.search(message, result["msg"]), result


def test_unreadable_files_name_the_path(tmp_path, ca, key):
    key_path, cert_path = _write(tmp_path, key, None)
    Path(cert_path).write_text("not a certificate")
    result = run([entry(key_path, cert_path)])
    assert result.get("failed") and f"certificate {cert_path} cannot be read" in result["msg"], result


def test_negative_window_refused(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key))
    result = run([entry(*paths)], window=-1)
    assert result.get("failed") and "renewal_window_days must be 0 or more, got -1" in result["msg"]


def _key_entry(paths, **changes):
    import grp
    import pwd
    wanted = dict(key_type="ECC", key_curve="secp256r1", key_owner=pwd.getpwuid(os.getuid()).pw_name,
                  key_group=grp.getgrgid(os.getgid()).gr_name, key_mode="0600")
    wanted.update(changes)
    return entry(*paths, **wanted)


def test_key_as_requested_is_ok(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key))
    os.chmod(paths[0], 0o600)
    [found] = run([_key_entry(paths)], check=True)["certificates"]
    assert found["key_ok"] is True and found["key_reasons"] == [] and found["reasons"] == []


def test_key_not_checked_without_key_type(tmp_path, ca, key):
    paths = _write(tmp_path, key, _leaf(ca, key))
    [found] = run([entry(*paths)])["certificates"]
    assert found["key_ok"] is False and found["reasons"] == []


@pytest.mark.parametrize("change, reason", [
    ({"key_curve": "secp384r1"}, "curve differs"),
    ({"key_type": "RSA", "key_size": 2048}, "type differs"),
    ({"key_mode": "0640"}, "mode differs"),
    ({"key_owner": "nobody"}, "owner differs"),
])
def test_each_key_difference_has_its_reason(tmp_path, ca, key, change, reason):
    paths = _write(tmp_path, key, _leaf(ca, key))
    os.chmod(paths[0], 0o600)
    [found] = run([_key_entry(paths, **change)])["certificates"]
    assert found["key_ok"] is False and found["key_reasons"] == [reason], found


def test_missing_or_unreadable_key_is_reported_not_failed(tmp_path, ca, key):
    missing = _write(tmp_path, None, _leaf(ca, key), name="a")
    unreadable = _write(tmp_path, key, _leaf(ca, key), name="b")
    Path(unreadable[0]).write_text("not a key")
    os.chmod(unreadable[0], 0o600)
    result = run([_key_entry(missing), _key_entry(unreadable)])
    assert not result.get("failed"), result
    first, second = result["certificates"]
    assert first["key_reasons"] == ["missing"] and not first["key_ok"] and "missing" in first["reasons"]
    assert second["key_reasons"] == ["key unreadable"] and not second["key_ok"] and "missing" in second["reasons"]
