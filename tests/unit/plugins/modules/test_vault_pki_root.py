"""vault_pki_root, vault_status and vault_init against recorded API-doc responses."""
from __future__ import annotations

import copy
import datetime
import json
import os
import stat

from tests.helpers.vault import fixture

CA_PATH = "/v1/pki/kubernetes/cert/ca"
GEN_PATH = "/v1/pki/kubernetes/root/generate/internal"


def self_signed(common_name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def with_cert(name, pem):
    body = copy.deepcopy(fixture(name)["body"])
    for key in ("certificate", "issuing_ca"):
        if key in body["data"]:
            body["data"][key] = pem
    return body


ROOT = {"mount": "pki/kubernetes", "common_name": "staging-main kubernetes CA", "ttl": "87600h"}


def test_pki_root_generated_when_none(vault, run):
    pem = self_signed(ROOT["common_name"])
    vault.add("sys-mounts__list--pki-kubernetes")
    vault.add("pki__read-ca-certificate", path=CA_PATH, body={"data": {"certificate": ""}})
    vault.add("pki__generate-root", path=GEN_PATH, body=with_cert("pki__generate-root", pem))
    result = run("vault_pki_root", ROOT, check=True, diff=True)[0]
    assert result["changed"] is True and vault.writes() == []
    assert result["diff"] == {"before": {}, "after": {"common_name": ROOT["common_name"]},
                              "before_header": "root CA of pki/kubernetes/", "after_header": "root CA of pki/kubernetes/"}
    result, text = run("vault_pki_root", ROOT)
    (write,) = vault.writes()
    assert write["path"] == GEN_PATH
    assert write["body"] == {"common_name": ROOT["common_name"], "ttl": "315360000s", "key_type": "ec", "key_bits": 0}
    assert result["certificate"] == pem and result["serial_number"].startswith("39:dd")
    assert "private_key" not in text and "PRIVATE KEY" not in text


def test_pki_root_same_cn_kept(vault, run):
    vault.add("sys-mounts__list--pki-kubernetes")
    vault.add("pki__read-ca-certificate", path=CA_PATH,
              body=with_cert("pki__read-ca-certificate", self_signed(ROOT["common_name"])))
    result = run("vault_pki_root", ROOT)[0]
    assert result["changed"] is False and vault.writes() == []


def test_pki_root_other_cn_refused(vault, run):
    vault.add("sys-mounts__list--pki-kubernetes")
    vault.add("pki__read-ca-certificate", path=CA_PATH,
              body=with_cert("pki__read-ca-certificate", self_signed("someone else")))
    result = run("vault_pki_root", ROOT)[0]
    assert result["failed"] is True and "CN 'someone else'" in result["msg"] and vault.writes() == []


def test_pki_root_missing_mount(vault, run):
    vault.add("sys-mounts__list")
    result = run("vault_pki_root", ROOT)[0]
    assert result["failed"] is True and "'pki/kubernetes' is not mounted" in result["msg"]


def test_status_reports_documented_shapes(vault, run):
    vault.add("sys-init__read")
    vault.add("sys-seal-status__read--unsealed")
    result = run("vault_status", {"token": None})[0]
    assert result["changed"] is False
    assert (result["initialized"], result["sealed"], result["threshold"], result["shares"]) == (True, False, 3, 5)
    assert result["storage_type"] == "raft" and result["cluster_name"] == "vault-cluster-336172bd"
    assert vault.writes() == []


def _init_doc():
    return fixture("sys-init__start")["body"]


def test_init_second_run_on_initialised_cluster_is_ok(vault, run, tmp_path):
    vault.add("sys-init__read")
    result = run("vault_init", {"dest": str(tmp_path / "init.json")}, diff=True)[0]
    assert result["changed"] is False and result["initialized"] is True
    assert vault.writes() == [] and not (tmp_path / "init.json").exists()


def test_init_check_mode_sends_nothing(vault, run, tmp_path):
    vault.add("sys-init__read--uninitialized")
    result = run("vault_init", {"dest": str(tmp_path / "init.json")}, check=True)[0]
    assert result["changed"] is True and vault.writes() == []
    assert not (tmp_path / "init.json").exists()


def test_init_writes_0600_file_and_prints_no_secret(vault, run, tmp_path):
    vault.add("sys-init__read--uninitialized")
    vault.add("sys-init__start")
    dest = tmp_path / "init.json"
    result, text = run("vault_init", {"dest": str(dest), "secret_shares": 3, "secret_threshold": 2})
    assert result["changed"] is True and result["dest"] == str(dest)
    (write,) = vault.writes()
    assert write["body"] == {"secret_shares": 3, "secret_threshold": 2}
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert json.loads(dest.read_text())["root_token"] == "foo"
    doc = _init_doc()
    for secret in doc["keys"] + doc["keys_base64"] + [doc["root_token"]]:
        assert '"%s"' % secret not in text


def test_init_auto_unseal_sends_recovery_shares(vault, run, tmp_path):
    vault.add("sys-init__read--uninitialized")
    vault.add("sys-init__start")
    run("vault_init", {"dest": str(tmp_path / "i.json"), "auto_unseal": True})
    assert vault.writes()[0]["body"] == {"recovery_shares": 5, "recovery_threshold": 3}


def test_init_refuses_existing_dest_before_init(vault, run, tmp_path):
    dest = tmp_path / "init.json"
    dest.write_text("{}")
    vault.add("sys-init__read--uninitialized")
    result = run("vault_init", {"dest": str(dest)})[0]
    assert result["failed"] is True and "exists" in result["msg"] and vault.writes() == []


def test_init_return_secrets_requires_no_log(vault, run):
    vault.add("sys-init__read--uninitialized")
    vault.add("sys-init__start")
    result = run("vault_init", {"return_secrets": True})[0]
    assert result["failed"] is True and "no_log: true" in result["msg"] and vault.writes() == []
    result = run("vault_init", {"return_secrets": True}, no_log=True)[0]
    assert result["changed"] is True and result["root_token"] == "foo" and result["unseal_keys"] == ["one", "two", "three"]


def test_init_needs_a_place_for_the_keys(vault, run):
    vault.add("sys-init__read--uninitialized")
    result = run("vault_init", {})[0]
    assert result["failed"] is True and result["msg"].startswith("dest: not set") and vault.writes() == []


def test_init_bad_threshold_refused_before_any_request(vault, run, tmp_path):
    result = run("vault_init", {"dest": str(tmp_path / "x"), "secret_shares": 3, "secret_threshold": 4})[0]
    assert result["failed"] is True and "secret_threshold" in result["msg"] and vault.requests == []


def test_pki_root_engine_without_issuer_answers_an_error(vault, run):
    # Vault's documented error shape ({"errors": [...]}); the text is what 1.11+ says without an issuer.
    vault.add("sys-mounts__list--pki-kubernetes")
    vault.add(None, "GET", CA_PATH, 500, {"errors": ["no default issuer currently configured"]})
    result = run("vault_pki_root", ROOT, check=True)[0]
    assert result["changed"] is True and vault.writes() == []


def test_sealed_vault_is_a_clear_error(vault, run):
    vault.add(None, "GET", "/v1/sys/mounts", 503, {"errors": ["Vault is sealed"]})
    result, text = run("vault_mount", {"path": "pki", "type": "pki"})
    assert result["failed"] is True
    assert "Vault is sealed" in result["msg"]
    assert result["msg"].endswith("expected an unsealed, active Vault (see apron.cluster.vault_status; unseal it first)")
    assert vault.writes() == []


def test_status_reports_a_sealed_node(vault, run):
    vault.add("sys-init__read")
    vault.add("sys-seal-status__read")
    result = run("vault_status", {"token": None})[0]
    assert result["changed"] is False and result["sealed"] is True and result["progress"] == 2
    assert "cluster_name" not in result
