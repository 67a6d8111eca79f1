"""Pure planning functions of the Vault modules (no I/O)."""
from __future__ import annotations

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._vault_errors import VaultError
from ansible_collections.apron.cluster.plugins.module_utils import _vault_plan as plan

MOUNT_ENTRY = {"type": "pki", "description": "Kubernetes CA", "options": None,
               "config": {"default_lease_ttl": 0, "max_lease_ttl": 315360000, "force_no_cache": False}}


@pytest.mark.parametrize("given, seconds", [
    (None, None), (0, 0), (3600, 3600), ("3600", 3600), ("1h", 3600), ("1h30m", 5400), ("90s", 90),
    ("30d", 2592000), ("87600h", 315360000), (" 72h ", 259200),
])
def test_parse_ttl(given, seconds):
    assert plan.parse_ttl(given, "ttl") == seconds


@pytest.mark.parametrize("given", ["1 h", "1y", "h", "-5", "1.5h", "", True, -1, "10 years"])
def test_parse_ttl_refuses(given):
    with pytest.raises(VaultError) as err:
        plan.parse_ttl(given, "max_ttl")
    assert str(err.value).startswith("max_ttl: ")
    assert "expected" in str(err.value)


@pytest.mark.parametrize("given, path", [("pki/", "pki"), ("/pki/kubernetes/", "pki/kubernetes"), ("kv", "kv")])
def test_mount_path(given, path):
    assert plan.mount_path(given) == path


@pytest.mark.parametrize("given", ["", "/", None, "a//b", "a b", "pki/../sys"])
def test_mount_path_refuses(given):
    with pytest.raises(VaultError):
        plan.mount_path(given)


def _desired(**kw):
    params = {"type": "pki", "description": None, "options": None, "default_lease_ttl": None,
              "max_lease_ttl": None, "state": "present"}
    params.update(kw)
    return plan.desired_mount(params)


def test_plan_mount_create():
    result = plan.plan_mount("pki/kubernetes", _desired(max_lease_ttl="87600h"), None)
    assert result["action"] == "create" and result["before"] == {}
    assert result["after"]["max_lease_ttl"] == 315360000
    assert plan.mount_payload("pki/kubernetes", result) == {
        "type": "pki", "description": "", "config": {"max_lease_ttl": "315360000s"}}


def test_plan_mount_same_ttl_in_other_units_is_none():
    result = plan.plan_mount("pki/kubernetes", _desired(max_lease_ttl="3650d", description="Kubernetes CA"),
                             MOUNT_ENTRY)
    assert result["action"] == "none" and result["changes"] == []


def test_plan_mount_unmanaged_options_not_compared():
    assert plan.plan_mount("pki/kubernetes", _desired(), MOUNT_ENTRY)["action"] == "none"


def test_plan_mount_tune_only_difference():
    result = plan.plan_mount("pki/kubernetes", _desired(default_lease_ttl="1h"), MOUNT_ENTRY)
    assert result["action"] == "tune"
    assert result["changes"] == ["default_lease_ttl: 0 -> 3600"]
    assert plan.tune_payload(result) == {"default_lease_ttl": "3600s"}


def test_plan_mount_options_compared_by_given_keys():
    kv = {"type": "kv", "options": {"version": "2"}, "config": {}}
    assert plan.plan_mount("secret", _desired(type="kv", options={"version": 2}), kv)["action"] == "none"
    result = plan.plan_mount("secret", _desired(type="kv", options={"version": 1}), kv)
    assert result["action"] == "tune" and plan.tune_payload(result) == {"options": {"version": "1"}}


def test_plan_mount_type_change_refused():
    with pytest.raises(VaultError, match="mounted as 'pki', not 'kv'"):
        plan.plan_mount("pki/kubernetes", _desired(type="kv"), MOUNT_ENTRY)


def test_plan_mount_absent():
    assert plan.plan_mount("x", _desired(state="absent"), None, "absent")["action"] == "none"
    assert plan.plan_mount("x", _desired(state="absent"), MOUNT_ENTRY, "absent")["action"] == "delete"


def test_desired_mount_unknown_type():
    with pytest.raises(VaultError) as err:
        _desired(type="pkii")
    assert str(err.value).startswith("type: 'pkii' is not a known secrets engine: expected one of ")
    assert plan.desired_mount({"type": "my-plugin", "state": "present"}, plugin_types=["my-plugin"])["type"] == "my-plugin"


POLICY = 'path "secret/*" {\n  capabilities = ["read"]\n}\n'


def test_normalise_policy():
    messy = "\r\n\n" + POLICY.replace("\n", "  \r\n") + "\n\n"
    assert plan.normalise_policy(messy) == POLICY
    assert plan.normalise_policy(None) is None


@pytest.mark.parametrize("text", [
    POLICY,
    '# a comment with { brace\npath "a" { capabilities = ["read"] }',
    'path "a/{{identity.entity.id}}" {\n capabilities = ["read"]\n}',
    '{"path": {"secret/*": {"capabilities": ["read"]}}}',
])
def test_validate_policy_accepts(text):
    plan.validate_policy("deploy", text)


@pytest.mark.parametrize("name, text, message", [
    ("deploy", "", "policy: empty"),
    ("deploy", 'path "a" {\n capabilities = ["read"]\n', "policy: 1 unclosed '{'"),
    ("deploy", 'path "a" }', "policy: unbalanced '}' on line 1"),
    ("deploy", 'path "a { capabilities = ["read"] }', "policy: unterminated string"),
    ("deploy", 'capabilities = ["read"]', "policy: no path block"),
    ("deploy", '{"path": ', "policy: JSON policy does not parse"),
    ("deploy", '{"paths": {}}', "policy: JSON policy has no 'path' object"),
    ("root", POLICY, "name: the root policy cannot be changed"),
    ("a b", POLICY, "name: 'a b' is not a policy name"),
])
def test_validate_policy_refuses(name, text, message):
    with pytest.raises(VaultError) as err:
        plan.validate_policy(name, text)
    assert str(err.value).startswith(message)


def test_plan_policy():
    assert plan.plan_policy("p", POLICY, None)["action"] == "create"
    assert plan.plan_policy("p", POLICY + "\n\n", POLICY)["action"] == "none"
    upd = plan.plan_policy("p", POLICY.replace("read", "list"), POLICY)
    assert upd["action"] == "update" and upd["before"] == {"policy": POLICY}
    assert plan.plan_policy("p", None, POLICY, "absent")["action"] == "delete"
    assert plan.plan_policy("p", None, None, "absent")["action"] == "none"


def test_plan_settings_ttl_and_sets():
    current = {"ttl": 3600, "allowed_policies": ["b", "a"], "renewable": True, "unmanaged": 1}
    desired = {"ttl": 3600, "allowed_policies": ["a", "b"], "renewable": None}
    result = plan.plan_settings("token role", "r", desired, current, ttl_keys=("ttl",), set_keys=("allowed_policies",))
    assert result["action"] == "none"
    assert result["before"] == {"allowed_policies": ["b", "a"], "ttl": 3600}
    result = plan.plan_settings("token role", "r", dict(desired, ttl=7200), current, ttl_keys=("ttl",),
                                set_keys=("allowed_policies",))
    assert result["action"] == "update" and result["changes"] == ["ttl: 3600 -> 7200"]
    assert result["after"]["ttl"] == 7200


def test_plan_settings_list_order_matters_when_not_a_set():
    result = plan.plan_settings("pki role", "r", {"allowed_domains": ["a", "b"]}, {"allowed_domains": ["b", "a"]})
    assert result["action"] == "update"


def test_plan_settings_ttl_read_as_string():
    result = plan.plan_settings("pki role", "r", {"ttl": 3600}, {"ttl": "1h"}, ttl_keys=("ttl",))
    assert result["action"] == "none"


def test_plan_settings_create_and_absent():
    assert plan.plan_settings("pki role", "r", {"ttl": 1, "x": None}, None)["after"] == {"ttl": 1}
    assert plan.plan_settings("pki role", "r", {}, {"ttl": 1}, "absent")["action"] == "delete"
    assert plan.plan_settings("pki role", "r", {}, None, "absent")["action"] == "none"


def _role(**kw):
    params = dict((k, None) for k in ("allowed_domains", "allow_any_name", "ttl", "max_ttl"))
    params.update(kw)
    return plan.desired_pki_role(params)


def test_desired_pki_role():
    role = _role(allowed_domains=["etcd-1"], ttl="720h", max_ttl="2160h")
    assert (role["ttl"], role["max_ttl"]) == (2592000, 7776000)
    with pytest.raises(VaultError, match="^ttl: 7776000s is longer than max_ttl 2592000s"):
        _role(allowed_domains=["etcd-1"], ttl="2160h", max_ttl="720h")
    with pytest.raises(VaultError, match="^allowed_domains: empty"):
        _role()
    assert _role(allow_any_name=True)["allow_any_name"] is True


@pytest.mark.parametrize("checks", [["disabled"], ["email"], ["hostname", "email"]])
def test_cn_validations_accepted(checks):
    assert _role(allowed_domains=["system:node:w-1"], cn_validations=checks)["cn_validations"] == checks


@pytest.mark.parametrize("checks", [[], ["disabled", "hostname"], ["dns"]])
def test_cn_validations_refused(checks):
    with pytest.raises(VaultError, match="^cn_validations: .*expected email and/or hostname, or disabled alone"):
        _role(allowed_domains=["w-1"], cn_validations=checks)


def test_desired_token_role():
    role = plan.desired_token_role({"token_period": "24h", "allowed_policies": ["w"]})
    assert role["token_period"] == 86400 and role["orphan"] is None


AUDIT = {"type": "file", "description": "", "options": {"file_path": "/var/log/vault.log"}, "local": False}


def test_plan_audit():
    desired = plan.desired_audit(dict(AUDIT, state="present"))
    assert plan.plan_audit("file", desired, None)["action"] == "create"
    assert plan.plan_audit("file", desired, dict(AUDIT, path="file/"))["action"] == "none"
    changed = dict(AUDIT, options={"file_path": "/other"})
    with pytest.raises(VaultError, match="replace: true"):
        plan.plan_audit("file", desired, changed)
    assert plan.plan_audit("file", desired, changed, replace=True)["action"] == "replace"
    assert plan.plan_audit("file", desired, AUDIT, "absent")["action"] == "delete"
    with pytest.raises(VaultError, match="^type: 'kafka' is not an audit device type"):
        plan.desired_audit({"type": "kafka"})


def test_plan_pki_root():
    assert plan.plan_pki_root("pki", "CA", None)["action"] == "create"
    assert plan.plan_pki_root("pki", "CA", "CA")["action"] == "none"
    with pytest.raises(VaultError, match="already holds a root CA with CN 'Old'"):
        plan.plan_pki_root("pki", "CA", "Old")


def test_vault_error_message():
    err = VaultError("mount", "'x' is not mounted", "a pki engine", status=404)
    assert str(err) == "mount: 'x' is not mounted: expected a pki engine"
    assert err.as_dict() == {"field": "mount", "problem": "'x' is not mounted", "expected": "a pki engine", "status": 404}
