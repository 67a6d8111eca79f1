# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.vault_config_check and vault_restart_order (plugins/filter/vault_role.py).

The configuration check runs on the role's own template (roles/vault/templates/vault.hcl.j2),
rendered here with Jinja2 and the variables the role sets, so a template change that breaks the
HCL or drops a setting the role relies on fails here first.
"""
from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.filter.vault_role import (
    FilterModule, VaultRoleError, check_config, parse_config, restart_order)

TEMPLATES = Path(__file__).resolve().parents[4] / "roles" / "vault" / "templates"


def _bool(value):
    return value in (True, "true", "True", "yes", 1, "1")


def render(**overrides):
    """vault.hcl.j2 for the member vault-1 of a three-member group on 10.0.0.0/24."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["bool"] = _bool
    variables = {
        "ansible_managed": "managed", "inventory_hostname": "vault-1", "vault_distribution": "vault",
        "vault_group": "vault", "__vault_members": ["vault-1", "vault-2", "vault-3"],
        "vault_ui": False, "vault_disable_mlock": True, "vault_log_level": "info",
        "__vault_url_address": "10.0.0.1", "vault_api_port": 8200, "vault_cluster_port": 8201,
        "__vault_raft_dir": "/data/raft", "__vault_peers": ["10.0.0.2", "10.0.0.3"],
        "__vault_pki_dir": "/etc/apron/vault/pki", "__vault_cert": "server", "vault_listen_address": "0.0.0.0",
        "vault_tls_min_version": "tls12", "vault_seal": "shamir", "vault_kms_region": "", "vault_kms_key_id": "",
        "vault_kms_endpoint": "", "vault_telemetry_enabled": False,
        "vault_telemetry_prometheus_retention_time": "24h", "vault_telemetry_disable_hostname": True,
        "apron": {"environment": "staging"},
    }
    variables.update(overrides)
    return env.get_template("vault.hcl.j2").render(**variables)


def test_role_template_renders_raft_retry_join_listener_and_addresses():
    config = check_config(render(), members=3, seal="shamir")
    assert config["api_addr"] == "https://10.0.0.1:8200"
    assert config["cluster_addr"] == "https://10.0.0.1:8201"
    assert config["cluster_name"] == "staging"
    assert config["disable_mlock"] is True and config["ui"] is False
    raft = config["storage"][0]["raft"]
    assert raft["path"] == "/data/raft" and raft["node_id"] == "vault-1"
    assert [j["leader_api_addr"] for j in raft["retry_join"]] == ["https://10.0.0.2:8200", "https://10.0.0.3:8200"]
    assert {j["leader_ca_cert_file"] for j in raft["retry_join"]} == {"/etc/apron/vault/pki/ca.crt"}
    tcp = config["listener"][0]["tcp"]
    assert tcp["address"] == "0.0.0.0:8200" and tcp["cluster_address"] == "0.0.0.0:8201"
    assert tcp["tls_cert_file"] == "/etc/apron/vault/pki/server.crt"
    assert tcp["tls_key_file"] == "/etc/apron/vault/pki/server.key"
    assert "seal" not in config and "telemetry" not in config


def test_single_member_has_no_retry_join():
    config = check_config(render(__vault_members=["vault-1"], __vault_peers=[]), members=1, seal="shamir")
    assert "retry_join" not in config["storage"][0]["raft"]


def test_awskms_seal_with_endpoint_and_telemetry():
    text = render(vault_seal="awskms", vault_kms_region="eu-west-1", vault_kms_key_id="alias/apron",
                  vault_kms_endpoint="http://127.0.0.1:5000", vault_telemetry_enabled=True, vault_ui=True)
    config = check_config(text, members=3, seal="awskms")
    assert config["seal"] == [{"awskms": {"region": "eu-west-1", "kms_key_id": "alias/apron",
                                          "endpoint": "http://127.0.0.1:5000"}}]
    assert config["telemetry"] == [{"prometheus_retention_time": "24h", "disable_hostname": True}]
    assert config["ui"] is True


def test_awskms_seal_without_endpoint_has_none():
    config = check_config(render(vault_seal="awskms", vault_kms_region="eu-west-1", vault_kms_key_id="k"),
                          members=3, seal="awskms")
    assert "endpoint" not in config["seal"][0]["awskms"]


def test_ipv6_addresses_are_bracketed():
    config = check_config(render(__vault_url_address="[fd00::1]", __vault_peers=["[fd00::2]", "[fd00::3]"],
                                 vault_listen_address="::"), members=3, seal="shamir")
    assert config["api_addr"] == "https://[fd00::1]:8200"
    assert config["listener"][0]["tcp"]["address"] == "[::]:8200"
    assert config["storage"][0]["raft"]["retry_join"][0]["leader_api_addr"] == "https://[fd00::2]:8200"


@pytest.mark.parametrize("text, message", [
    ("storage \"raft\" { path = }", "not valid HCL"),
    (render().replace('api_addr      = "https://', 'api_addr      = "http://'), "api_addr must be an https:// URL"),
    (render().replace('storage "raft"', 'storage "file"'), 'the storage must be "raft"'),
    (render().replace('  node_id = "vault-1"\n', ""), "needs node_id"),
    (render().replace("    leader_ca_cert_file", "    # leader_ca_cert_file"), "no leader_ca_cert_file"),
    (render().replace('  tls_key_file', '  tls_disable = true\n  tls_key_file'), "disables TLS"),
    (render().replace('listener "tcp"', 'listener "unix"'), 'no listener "tcp"'),
])
def test_broken_configurations_are_named(text, message):
    with pytest.raises(VaultRoleError, match=message):
        check_config(text, members=3, seal="shamir")


def test_retry_join_count_must_match_the_group():
    with pytest.raises(VaultRoleError, match="has 2 retry_join block.*expected 4"):
        check_config(render(), members=5, seal="shamir")


def test_seal_must_match_the_role_choice():
    with pytest.raises(VaultRoleError, match="takes no seal block"):
        check_config(render(vault_seal="awskms", vault_kms_region="r", vault_kms_key_id="k"), members=3, seal="shamir")
    with pytest.raises(VaultRoleError, match="exactly one seal block"):
        check_config(render(), members=3, seal="awskms")
    with pytest.raises(VaultRoleError, match="needs kms_key_id"):
        check_config(render(vault_seal="awskms", vault_kms_region="r", vault_kms_key_id=""), members=3, seal="awskms")
    with pytest.raises(VaultRoleError, match="unknown seal 'gcpckms'"):
        check_config(render(), members=3, seal="gcpckms")


def test_parse_config_rejects_non_text():
    with pytest.raises(VaultRoleError, match="expected the configuration text"):
        parse_config(None)


def test_filter_returns_the_text_and_raises_filter_errors():
    filters = FilterModule().filters()
    text = render()
    assert filters["vault_config_check"](text, members=3, seal="shamir") == text
    with pytest.raises(AnsibleFilterError, match="^apron.cluster.vault_config_check: .*retry_join"):
        filters["vault_config_check"](text, members=1, seal="shamir")


# --- restart order -------------------------------------------------------------------


def test_standby_first_active_last():
    health = {"v1": 200, "v2": 429, "v3": 429}
    assert restart_order(health, ["v1", "v2", "v3"]) == ["v2", "v3", "v1"]
    assert restart_order(health, ["v3", "v1"]) == ["v3", "v1"]
    assert restart_order(health, []) == []


def test_performance_standby_counts_as_standby():
    assert restart_order({"v1": 473, "v2": 200, "v3": "429"}, ["v2", "v1"]) == ["v1", "v2"]


def test_uninitialised_cluster_restarts_in_any_order():
    assert restart_order({"v1": 501, "v2": 501, "v3": 501}, ["v2", "v1"]) == ["v2", "v1"]


@pytest.mark.parametrize("health, named", [
    ({"v1": 200, "v2": 503, "v3": 429}, "v2: sealed"),
    ({"v1": 200, "v2": None, "v3": 429}, "v2: unreachable"),
    ({"v1": 429, "v2": 429, "v3": 429}, "v1: standby"),  # no active node
    ({"v1": 200, "v2": 200, "v3": 429}, "v2: active"),  # two active nodes
    ({"v1": 200, "v2": 501, "v3": 429}, "v2: uninitialised"),
    ({"v1": 200, "v2": 500, "v3": 429}, r"v2: unhealthy \(HTTP 500\)"),
])
def test_unhealthy_cluster_is_refused_naming_every_member(health, named):
    with pytest.raises(VaultRoleError, match="not restarting anything.*" + named):
        restart_order(health, ["v1"])


def test_restart_order_bad_input():
    with pytest.raises(VaultRoleError, match="for every member"):
        restart_order({}, [])
    with pytest.raises(VaultRoleError, match="without a health answer: v9"):
        restart_order({"v1": 200}, ["v9"])
    with pytest.raises(VaultRoleError, match="list of hosts"):
        restart_order({"v1": 200}, "v1")
