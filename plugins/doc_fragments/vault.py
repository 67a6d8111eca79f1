# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Shared Vault connection options (plugins/module_utils/_vault_client.py)."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - URL of the Vault (or OpenBao) API, for example C(https://vault-1.example:8200).
      - If not set, the E(VAULT_ADDR) environment variable is used.
    type: str
  token:
    description:
      - Vault token the module authenticates with. Never logged or returned.
      - If not set, the E(VAULT_TOKEN) environment variable is used.
    type: str
  ca_cert:
    description:
      - PEM file of the CA that signed Vault's listener certificate.
      - If not set, the E(VAULT_CACERT) environment variable is used.
    type: path
    aliases: [cacert]
  client_cert:
    description:
      - PEM client certificate for TLS client authentication (listener C(tls_require_and_verify_client_cert)).
      - If not set, the E(VAULT_CLIENT_CERT) environment variable is used. Requires O(client_key).
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert). If not set, the E(VAULT_CLIENT_KEY) environment variable is used.
    type: path
  validate_certs:
    description:
      - When V(false), Vault's TLS certificate is not verified. Only for tests.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each API request.
    type: int
    default: 30
  namespace:
    description:
      - Vault Enterprise namespace. If not set, the E(VAULT_NAMESPACE) environment variable is used.
    type: str
requirements:
  - python >= 3.8
  - hvac >= 1.0
"""

    ACTIONGROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/apron.cluster.vault) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - apron.cluster.vault
"""
