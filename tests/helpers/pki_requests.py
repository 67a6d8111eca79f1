# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""pki requests as the component roles make them, for the tests of the vault pki backend's layout
(unit) and of that layout in a real Vault (integration)."""
from __future__ import annotations

KU = ["digitalSignature", "keyEncipherment"]


def worker_requests(host="dev-worker-0", address="10.0.1.5"):
    """What roles/worker/tasks/certificates.yml asks apron.cluster.pki for."""
    common = {"ca": "kubernetes", "key_usage": KU, "owner": "root", "group": "root"}
    return [
        dict(common, name="kubelet-client", dir="/etc/kubernetes/pki/kubelet", common_name="system:node:" + host,
             organization="system:nodes", extended_key_usage=["clientAuth"]),
        dict(common, name="kubelet-server", dir="/etc/kubernetes/pki/kubelet", common_name=host,
             subject_alt_names=["DNS:" + host, "IP:" + address], extended_key_usage=["serverAuth"]),
        dict(common, name="kube-proxy", dir="/etc/kubernetes/pki/kube-proxy", common_name="system:kube-proxy",
             extended_key_usage=["clientAuth"]),
    ]
