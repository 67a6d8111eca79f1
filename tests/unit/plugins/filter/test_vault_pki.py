# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The vault pki backend's filters: the wrappers over _vault_pki_layout (tested in module_utils)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.filter.vault_pki import FilterModule

FILTERS = FilterModule().filters()
REQUEST = {"name": "kube-proxy", "ca": "kubernetes", "dir": "/etc/kubernetes/pki/kube-proxy",
           "common_name": "system:kube-proxy", "key_usage": ["digitalSignature"], "extended_key_usage": ["clientAuth"]}


def test_filters_compute_the_layout():
    mounts = FILTERS["vault_pki_ca_mounts"](["kubernetes"], "dev", {"prefix": "corp", "cert_ttl": "720h"})
    assert mounts[0]["mount"] == "corp/dev/pki/kubernetes" and mounts[0]["default_lease_ttl"] == "720h"
    access = FILTERS["vault_pki_host_access"]([REQUEST], "dev", "w-0")
    assert access["policy"]["name"] == "apron-dev-host-w-0" and access["roles"][0]["name"] == "w-0-kube-proxy"
    pools = FILTERS["vault_pki_pool_access"]({"worker": ["w-0"]}, "dev", {"period": "24h"})
    assert pools[0]["token_role"]["settings"]["token_period"] == "24h"
    assert FILTERS["vault_pki_secrets_mount"]("dev") == "apron/dev/secrets"
    by_group = FILTERS["vault_pki_pool_access"]({"worker": "nodes", "etcd": "no-such-group"}, "dev", {},
                                                {"nodes": ["w-0", "w-1"]})
    assert [p["pool"] for p in by_group] == ["worker"]
    assert by_group[0]["token_role"]["settings"]["allowed_policies"] == ["apron-dev-host-w-0", "apron-dev-host-w-1"]


@pytest.mark.parametrize("name, args, message", [
    ("vault_pki_ca_mounts", ([], "dev"), "^apron.cluster.vault_pki_ca_mounts: no CA names"),
    ("vault_pki_ca_mounts", (["kubernetes"], "dev", {"ttl": "1h"}), "unknown options ttl"),
    ("vault_pki_host_access", ([dict(REQUEST, common_name="")], "dev", "w-0"), "no common_name"),
    ("vault_pki_pool_access", (["w-0"], "dev"), r"the pools are a list: expected \{InstancePool role"),
])
def test_bad_input_is_a_filter_error_naming_the_filter(name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](*args)
