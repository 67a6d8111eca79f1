"""vault_mount and vault_policy end to end: hvac against recorded responses of Vault's API docs."""
from __future__ import annotations

from tests.helpers.vault import TOKEN

PKI = {"path": "pki/kubernetes/", "type": "pki", "description": "Kubernetes CA", "max_lease_ttl": "87600h"}


def test_mount_check_mode_sends_no_write_and_diffs(vault, run):
    vault.add("sys-mounts__list")
    result = run("vault_mount", PKI, check=True, diff=True)[0]
    assert result["changed"] is True
    assert vault.writes() == []
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["max_lease_ttl"] == 315360000
    assert result["changes"] == ["enable pki/kubernetes/ as pki"]


def test_mount_enable_then_second_run_ok(vault, run):
    vault.add("sys-mounts__list")
    vault.add("sys-mounts__enable")
    result, text = run("vault_mount", PKI)
    assert result["changed"] is True
    (write,) = vault.writes()
    assert write["path"] == "/v1/sys/mounts/pki/kubernetes"
    assert write["body"] == {"type": "pki", "description": "Kubernetes CA", "config": {"max_lease_ttl": "315360000s"}}
    assert TOKEN not in text

    vault.routes.clear()
    vault.requests.clear()
    vault.add("sys-mounts__list--pki-kubernetes")
    result = run("vault_mount", PKI, diff=True)[0]
    assert result["changed"] is False
    assert vault.writes() == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_mount_tune_sends_only_the_difference(vault, run):
    vault.add("sys-mounts__list--pki-kubernetes")
    vault.add("sys-mounts__tune")
    result = run("vault_mount", dict(PKI, max_lease_ttl="43800h", default_lease_ttl="720h"), diff=True)[0]
    assert result["changed"] is True
    (write,) = vault.writes()
    assert write["path"] == "/v1/sys/mounts/pki/kubernetes/tune"
    assert write["body"] == {"max_lease_ttl": "157680000s", "default_lease_ttl": "2592000s"}
    assert result["diff"]["before"]["max_lease_ttl"] == 315360000
    assert result["diff"]["after"]["max_lease_ttl"] == 157680000


def test_mount_type_change_refused(vault, run):
    vault.add("sys-mounts__list--pki-kubernetes")
    result = run("vault_mount", dict(PKI, type="kv"))[0]
    assert result["failed"] is True
    assert "mounted as 'pki', not 'kv'" in result["msg"]
    assert vault.writes() == []


def test_mount_unknown_type_refused_before_any_request(vault, run):
    result = run("vault_mount", dict(PKI, type="pkii"))[0]
    assert result["failed"] is True
    assert result["msg"].startswith("type: 'pkii' is not a known secrets engine: expected one of")
    assert vault.requests == []


def test_mount_bad_ttl_refused_before_any_request(vault, run):
    result = run("vault_mount", dict(PKI, max_lease_ttl="10 years"))[0]
    assert result["failed"] is True
    assert result["msg"].startswith("max_lease_ttl: '10 years' is not a duration")
    assert vault.requests == []


def test_mount_vault_refusal_names_path_and_hides_token(vault, run):
    vault.add("sys-mounts__list")
    vault.add("sys-mounts__enable--400")
    result, text = run("vault_mount", PKI)
    assert result["failed"] is True
    assert "sys/mounts/pki/kubernetes" in result["msg"]
    assert "plugin not found in the catalog" in result["msg"]
    assert TOKEN not in text


def test_mount_absent(vault, run):
    vault.add("sys-mounts__list--pki-kubernetes")
    vault.add("sys-mounts__disable")
    result = run("vault_mount", {"path": "pki/kubernetes", "state": "absent"}, check=True)[0]
    assert result["changed"] is True and vault.writes() == []
    result = run("vault_mount", {"path": "pki/kubernetes", "state": "absent"})[0]
    assert [w["method"] for w in vault.writes()] == ["DELETE"]


def test_mount_unreachable_vault(run):
    result = run("vault_mount", dict(PKI, url="http://127.0.0.1:9", timeout=2))[0]
    assert result["failed"] is True
    assert "cannot reach Vault" in result["msg"]


POLICY = 'path "secret/foo" {\n  capabilities = ["read"]\n}\n'


def test_policy_same_text_other_whitespace_is_ok(vault, run):
    vault.add("sys-policies-acl__read")
    result = run("vault_policy", {"name": "deploy", "policy": "\r\n" + POLICY.replace("\n", "   \r\n") + "\n\n"})[0]
    assert result["changed"] is False
    assert vault.writes() == []


def test_policy_update_check_mode_then_write(vault, run):
    vault.add("sys-policies-acl__read")
    vault.add("sys-policies-acl__create")
    new = POLICY.replace('"read"', '"read", "list"')
    result = run("vault_policy", {"name": "deploy", "policy": new}, check=True, diff=True)[0]
    assert result["changed"] is True and vault.writes() == []
    assert result["diff"]["before"] == POLICY and result["diff"]["after"] == new
    result = run("vault_policy", {"name": "deploy", "policy": new})[0]
    (write,) = vault.writes()
    assert (write["method"], write["path"], write["body"]) == ("PUT", "/v1/sys/policies/acl/deploy", {"policy": new})


def test_policy_create_when_404(vault, run):
    vault.add("sys-policies-acl__create")
    result = run("vault_policy", {"name": "deploy", "policy": POLICY}, diff=True)[0]
    assert result["changed"] is True
    assert result["diff"]["before"] == ""
    assert len(vault.writes()) == 1


def test_policy_malformed_refused_before_any_request(vault, run):
    result = run("vault_policy", {"name": "deploy", "policy": 'path "secret/foo" {\n capabilities = ["read"]\n'})[0]
    assert result["failed"] is True
    assert result["msg"] == "policy: 1 unclosed '{': expected balanced braces"
    assert vault.requests == []


def test_policy_absent(vault, run):
    vault.add("sys-policies-acl__read")
    vault.add("sys-policies-acl__delete")
    result = run("vault_policy", {"name": "deploy", "state": "absent"})[0]
    assert result["changed"] is True
    assert [w["method"] for w in vault.writes()] == ["DELETE"]


def test_permission_denied_names_the_path_and_hides_the_token(vault, run):
    vault.add(None, "GET", "/v1/sys/policies/acl/deploy", 403, {"errors": ["1 error occurred:\n\t* permission denied\n\n"]})
    result, text = run("vault_policy", {"name": "deploy", "policy": POLICY})
    assert result["failed"] is True
    assert result["msg"].startswith("sys/policies/acl/deploy: GET sys/policies/acl/deploy refused (Forbidden)")
    assert "expected a token whose policy allows this" in result["msg"]
    assert TOKEN not in text and vault.writes() == []
