"""vault_pki_role, vault_token_role, vault_audit end to end against recorded API-doc responses."""
from __future__ import annotations

from tests.helpers.vault import TOKEN

ROLE_PATH = "/v1/pki/kubernetes/roles/my-role"
# The documented role (pki__read-role.json) expressed as options: the second run must be ok.
DOC_ROLE = {"mount": "pki/kubernetes", "name": "my-role", "allowed_domains": ["example.com", "foobar.com"],
            "allow_bare_domains": False, "allow_glob_domains": False, "allow_subdomains": False,
            "enforce_hostnames": True, "server_flag": True, "client_flag": True, "organization": [],
            "max_ttl": "72h", "key_type": "rsa", "key_bits": 2048}


def _pki_mounted(vault):
    vault.add("sys-mounts__list--pki-kubernetes")


def test_pki_role_same_as_documented_read_is_ok(vault, run):
    _pki_mounted(vault)
    vault.add("pki__read-role", path=ROLE_PATH)
    result = run("vault_pki_role", DOC_ROLE, diff=True)[0]
    assert result["changed"] is False, result
    assert vault.writes() == []
    assert result["role"]["max_ttl"] == 259200


def test_pki_role_update_check_mode_and_diff(vault, run):
    _pki_mounted(vault)
    vault.add("pki__read-role", path=ROLE_PATH)
    wanted = dict(DOC_ROLE, allowed_domains=["system:node:worker-1"], enforce_hostnames=False,
                  organization=["system:nodes"], ttl="720h", max_ttl="2160h")
    result = run("vault_pki_role", wanted, check=True, diff=True)[0]
    assert result["changed"] is True and vault.writes() == []
    assert result["diff"]["before"]["allowed_domains"] == ["example.com", "foobar.com"]
    assert result["diff"]["after"]["allowed_domains"] == ["system:node:worker-1"]
    assert result["diff"]["after"]["ttl"] == 2592000
    assert sorted(c.split(":")[0] for c in result["changes"]) == [
        "allowed_domains", "enforce_hostnames", "max_ttl", "organization", "ttl"]


def test_pki_role_create_sends_the_options(vault, run):
    _pki_mounted(vault)
    vault.add("pki__create-update-role", path=ROLE_PATH)
    result = run("vault_pki_role", dict(DOC_ROLE, ttl="24h"))[0]
    assert result["changed"] is True
    (write,) = vault.writes()
    assert write["path"] == ROLE_PATH
    assert write["body"]["max_ttl"] == "259200s" and write["body"]["ttl"] == "86400s"
    assert write["body"]["allowed_domains"] == ["example.com", "foobar.com"]
    assert "allow_any_name" not in write["body"]


def test_pki_role_for_a_missing_mount_is_refused(vault, run):
    vault.add("sys-mounts__list")
    result = run("vault_pki_role", DOC_ROLE)[0]
    assert result["failed"] is True
    assert result["msg"] == ("mount: 'pki/kubernetes' is not mounted: expected a pki secrets engine at that path "
                             "(apron.cluster.vault_mount type=pki)")
    assert vault.writes() == []


def test_pki_role_on_a_kv_mount_is_refused(vault, run):
    vault.add("sys-mounts__list")
    result = run("vault_pki_role", dict(DOC_ROLE, mount="secret"))[0]
    assert result["failed"] is True and "'secret' is a 'kv' engine" in result["msg"]


def test_pki_role_bad_ttl_refused_before_any_request(vault, run):
    result = run("vault_pki_role", dict(DOC_ROLE, ttl="1 month"))[0]
    assert result["failed"] is True and result["msg"].startswith("ttl: '1 month' is not a duration")
    assert vault.requests == []


TOKEN_ROLE = {"name": "nomad", "allowed_policies": ["dev"], "orphan": False, "renewable": True,
              "token_period": "0", "token_type": "default-service"}


def test_token_role_documented_read_is_ok(vault, run):
    vault.add("auth-token__read-token-role")
    result = run("vault_token_role", TOKEN_ROLE)[0]
    assert result["changed"] is False, result
    assert vault.writes() == []


def test_token_role_update(vault, run):
    vault.add("auth-token__read-token-role")
    vault.add("auth-token__create-update-token-role")
    wanted = dict(TOKEN_ROLE, allowed_policies=["staging-main-worker"], orphan=True, token_period="24h")
    result = run("vault_token_role", wanted, check=True, diff=True)[0]
    assert result["changed"] is True and vault.writes() == []
    assert result["diff"]["before"]["token_period"] == 0 and result["diff"]["after"]["token_period"] == 86400
    result, text = run("vault_token_role", wanted)
    (write,) = vault.writes()
    assert write["path"] == "/v1/auth/token/roles/nomad"
    assert write["body"]["token_period"] == "86400s" and write["body"]["orphan"] is True
    assert write["token"] == TOKEN and TOKEN not in text


def test_token_role_policies_compared_as_a_set(vault, run):
    vault.add("auth-token__read-token-role", body={"data": {"allowed_policies": ["b", "a"], "renewable": True}})
    result = run("vault_token_role", {"name": "nomad", "allowed_policies": ["a", "b"], "renewable": True})[0]
    assert result["changed"] is False


AUDIT = {"type": "file", "description": "Store logs in a file", "options": {"file_path": "/var/log/vault.log"}}


def test_audit_documented_device_is_ok(vault, run):
    vault.add("sys-audit__list")
    result = run("vault_audit", AUDIT, diff=True)[0]
    assert result["changed"] is False and vault.writes() == []


def test_audit_enable_check_mode_then_real(vault, run):
    vault.add("sys-audit__list--empty")
    vault.add("sys-audit__enable")
    result = run("vault_audit", AUDIT, check=True, diff=True)[0]
    assert result["changed"] is True and vault.writes() == []
    assert result["diff"]["after"]["options"] == {"file_path": "/var/log/vault.log"}
    result = run("vault_audit", AUDIT)[0]
    (write,) = vault.writes()
    assert (write["method"], write["path"]) == ("PUT", "/v1/sys/audit/file")
    assert write["body"]["type"] == "file"


def test_audit_difference_needs_replace(vault, run):
    vault.add("sys-audit__list")
    vault.add("sys-audit__disable")
    vault.add("sys-audit__enable")
    other = dict(AUDIT, options={"file_path": "/var/lib/vault/audit.log"})
    result = run("vault_audit", other)[0]
    assert result["failed"] is True
    assert "replace: true" in result["msg"] and vault.writes() == []
    result = run("vault_audit", dict(other, replace=True))[0]
    assert result["changed"] is True
    assert [w["method"] for w in vault.writes()] == ["DELETE", "PUT"]


def test_audit_unknown_type_refused_by_argspec(vault, run):
    result = run("vault_audit", dict(AUDIT, type="kafka"))[0]
    assert result["failed"] is True and "kafka" in result["msg"] and vault.requests == []
