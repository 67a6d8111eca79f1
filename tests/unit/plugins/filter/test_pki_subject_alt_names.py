# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""pki_subject_alt_names (plugins/filter/pki.py): names and addresses as typed SANs, once each."""
from __future__ import annotations

from ansible_collections.apron.cluster.plugins.filter.pki import pki_subject_alt_names


def test_names_become_dns_addresses_ip_typed_entries_kept_duplicates_dropped():
    assert pki_subject_alt_names(["etcd-0", "etcd-0", "10.0.0.5", "fd00::1", "IP:127.0.0.1", "DNS:api.example",
                                  "URI:spiffe://x", "", "localhost", "IP:127.0.0.1"]) == [
        "DNS:etcd-0", "IP:10.0.0.5", "IP:fd00::1", "IP:127.0.0.1", "DNS:api.example", "URI:spiffe://x", "DNS:localhost"]
