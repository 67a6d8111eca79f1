# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The pki_setup entry point of the vault role repeats facts other places own: the CA names (etcd and
kubernetes roles) and the layout's TTLs (_vault_pki_layout). These tests keep the copies equal."""
from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.apron.cluster.plugins.module_utils import _vault_pki_layout as layout

ROLES = Path(__file__).resolve().parents[4] / "roles"


def _yaml(path):
    return yaml.safe_load((ROLES / path).read_text())


def test_the_cas_are_those_the_component_roles_use():
    etcd = _yaml("etcd/defaults/main.yml")
    kubernetes = _yaml("kubernetes/defaults/main.yml")
    used = {cluster["ca"] for cluster in etcd["etcd_clusters"]}
    used |= {kubernetes["kubernetes_ca"], kubernetes["kubernetes_front_proxy_ca"]}
    assert set(_yaml("vault/defaults/main.yml")["vault_pki_cas"]) == used


def test_ttls_and_prefix_are_the_layouts():
    defaults = _yaml("vault/defaults/main.yml")
    assert defaults["vault_pki_prefix"] == layout.DEFAULT_PREFIX
    assert defaults["vault_pki_cert_ttl"] == layout.DEFAULT_CERT_TTL
    assert defaults["vault_pki_ca_ttl"] == layout.DEFAULT_CA_TTL
    assert defaults["vault_pki_token_period"] == layout.DEFAULT_TOKEN_PERIOD
    assert set(defaults["vault_pki_pool_groups"]) == set(layout.POOL_ROLES)


def test_the_argument_spec_documents_the_defaults():
    spec = _yaml("vault/meta/argument_specs.yml")["argument_specs"]["pki_setup"]["options"]
    defaults = _yaml("vault/defaults/main.yml")
    for name, option in spec.items():
        if "default" in option:
            assert option["default"] == defaults[name], name
