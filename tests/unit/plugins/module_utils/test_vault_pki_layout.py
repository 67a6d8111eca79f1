# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The Vault layout of the vault pki backend, from the requests the component roles really make
(etcd's and the control plane's request builders, the worker role's three certificates)."""

from __future__ import annotations

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _etcd_layout
from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_control_plane as cp
from ansible_collections.apron.cluster.plugins.module_utils import _vault_plan
from ansible_collections.apron.cluster.plugins.module_utils import _vault_pki_layout as layout
from ansible_collections.apron.cluster.plugins.module_utils._vault_pki_layout import LayoutError

from test_kubernetes_control_plane import settings as master_settings

from tests.helpers.pki_requests import worker_requests


def etcd_requests(host="dev-etcd-0"):
    clusters = _etcd_layout.clusters([{"name": "k8s-main", "client_port": 2379, "peer_port": 2380, "ca": "etcd-k8s"},
                                      {"name": "k8s-events", "client_port": 2369, "peer_port": 2370, "ca": "etcd-k8s"},
                                      {"name": "overlay", "client_port": 2359, "peer_port": 2360, "ca": "etcd-overlay"}],
                                     "/var/lib/etcd", "/etc/apron/etcd", "/var/backups/etcd", "apron", "member")
    return _etcd_layout.certificates(clusters, host, ["DNS:" + host, "IP:10.0.2.5", "DNS:localhost", "IP:127.0.0.1"],
                                     "ecdsa-p256", "apron:etcd-clients", "etcd", "etcd")


def by_name(access):
    return {role["name"]: role for role in access["roles"]}


def test_ca_mounts():
    mounts = layout.ca_mounts("dev", ["kubernetes", "kubernetes-front-proxy", "etcd-k8s", "kubernetes"])
    assert [m["mount"] for m in mounts] == [
        "apron/dev/pki/kubernetes", "apron/dev/pki/kubernetes-front-proxy", "apron/dev/pki/etcd-k8s"]
    assert mounts[0]["common_name"] == "apron dev kubernetes CA"
    assert (mounts[0]["max_lease_ttl"], mounts[0]["default_lease_ttl"]) == ("87600h", "8760h")
    with pytest.raises(LayoutError, match="no CA names"):
        layout.ca_mounts("dev", [])
    with pytest.raises(LayoutError, match="CA name 'Kube/rnetes' is not usable in a Vault path"):
        layout.ca_mounts("dev", ["Kube/rnetes"])


def test_a_worker_signs_exactly_its_own_identities():
    access = layout.host_access("dev", "dev-worker-0", worker_requests())
    roles = by_name(access)
    assert sorted(roles) == ["dev-worker-0-kube-proxy", "dev-worker-0-kubelet-client", "dev-worker-0-kubelet-server"]
    client = roles["dev-worker-0-kubelet-client"]["settings"]
    assert client["allowed_domains"] == ["system:node:dev-worker-0"]
    assert client["organization"] == ["system:nodes"]
    assert (client["client_flag"], client["server_flag"], client["allow_ip_sans"]) == (True, False, False)
    assert (client["allow_subdomains"], client["allow_glob_domains"], client["allow_any_name"]) == (False, False, False)
    assert client["cn_validations"] == ["disabled"] and client["key_usage"] == ["DigitalSignature", "KeyEncipherment"]
    server = roles["dev-worker-0-kubelet-server"]["settings"]
    assert server["allowed_domains"] == ["dev-worker-0"] and server["allow_ip_sans"] is True
    assert (server["client_flag"], server["server_flag"], server["allow_localhost"]) == (False, True, False)
    assert {r["mount"] for r in access["roles"]} == {"apron/dev/pki/kubernetes"}
    # the policy allows signing with these three roles and nothing else
    policy = access["policy"]
    assert policy["name"] == "apron-dev-host-dev-worker-0"
    paths = [line.split('"')[1] for line in policy["text"].splitlines() if line.startswith("path ")]
    assert paths == ["apron/dev/pki/kubernetes/sign/dev-worker-0-kubelet-client",
                     "apron/dev/pki/kubernetes/sign/dev-worker-0-kubelet-server",
                     "apron/dev/pki/kubernetes/sign/dev-worker-0-kube-proxy"]
    assert policy["text"].count('capabilities = ["update"]') == 3
    _vault_plan.validate_policy(policy["name"], policy["text"])
    # what the host sends with its CSR
    assert access["sign"]["/etc/kubernetes/pki/kubelet/kubelet-server"] == {
        "mount": "apron/dev/pki/kubernetes", "role": "dev-worker-0-kubelet-server", "common_name": "dev-worker-0",
        "alt_names": "", "ip_sans": "10.0.1.5", "ttl": "8760h"}


def test_another_nodes_name_is_not_in_a_workers_roles():
    one = layout.host_access("dev", "dev-worker-0", worker_requests())
    two = layout.host_access("dev", "dev-worker-1", worker_requests("dev-worker-1", "10.0.1.6"))
    names_one = {d for role in one["roles"] for d in role["settings"]["allowed_domains"]}
    assert "system:node:dev-worker-1" not in names_one and "dev-worker-1" not in names_one
    assert not set(r["name"] for r in one["roles"]) & set(r["name"] for r in two["roles"])
    assert "dev-worker-1" not in one["policy"]["text"]


def test_etcd_member_certificates_of_two_clusters_on_one_ca_share_a_role():
    access = layout.host_access("dev", "dev-etcd-0", etcd_requests())
    assert [(r["mount"], r["name"]) for r in access["roles"]] == [
        ("apron/dev/pki/etcd-k8s", "dev-etcd-0-member"), ("apron/dev/pki/etcd-k8s", "dev-etcd-0-client"),
        ("apron/dev/pki/etcd-overlay", "dev-etcd-0-member"), ("apron/dev/pki/etcd-overlay", "dev-etcd-0-client")]
    member = by_name(access)["dev-etcd-0-member"]["settings"]
    assert member["allowed_domains"] == ["dev-etcd-0", "localhost"] and member["allow_localhost"] is True
    assert (member["server_flag"], member["client_flag"], member["allow_ip_sans"]) == (True, True, True)
    # each of the three clusters' certificates is signed by the role of its CA
    assert len(access["sign"]) == 6
    assert access["sign"]["/etc/apron/etcd/k8s-events/pki/member"]["role"] == "dev-etcd-0-member"
    assert access["sign"]["/etc/apron/etcd/k8s-events/pki/member"]["ip_sans"] == "10.0.2.5,127.0.0.1"
    assert access["sign"]["/etc/apron/etcd/k8s-events/pki/member"]["alt_names"] == "localhost"


def test_a_master_gets_the_control_plane_identities_with_their_names():
    requests = cp.certificates(master_settings())
    access = layout.host_access("dev", "master-1", requests)
    roles = {(r["ca"], r["name"]): r["settings"] for r in access["roles"]}
    apiserver = roles[("kubernetes", "master-1-apiserver")]
    assert apiserver["allowed_domains"][0] == "kube-apiserver"
    assert "kubernetes.default.svc.cluster.local" in apiserver["allowed_domains"]
    assert "api.demo.example.org" in apiserver["allowed_domains"] and apiserver["allow_ip_sans"] is True
    assert roles[("kubernetes", "master-1-super-admin")]["organization"] == ["system:masters"]
    assert roles[("kubernetes", "master-1-admin")]["organization"] == ["apron:cluster-admins"]
    assert roles[("etcd-k8s", "master-1-apiserver-etcd-client")]["allowed_domains"] == [
        "kube-apiserver-etcd-client-master-1"]
    assert roles[("kubernetes-front-proxy", "master-1-front-proxy-client")]["allowed_domains"] == ["front-proxy-client"]
    for settings in roles.values():
        _vault_plan.desired_pki_role(dict(settings, state="present"))   # the module's own checks accept each
    _vault_plan.validate_policy(access["policy"]["name"], access["policy"]["text"])


def test_different_certificates_under_one_name_are_refused():
    requests = worker_requests()
    twin = dict(requests[2], dir="/etc/other", common_name="system:kube-proxy-2")
    with pytest.raises(LayoutError, match="two different certificates named kube-proxy on CA kubernetes "
                                          r"\(/etc/kubernetes/pki/kube-proxy and /etc/other\)"):
        layout.host_access("dev", "dev-worker-0", requests + [twin])


@pytest.mark.parametrize("change, message", [
    ({"subject_alt_names": ["URI:spiffe://x"]}, "signs DNS: and IP: names only"),
    ({"extended_key_usage": ["codeSigning"]}, "signs serverAuth and clientAuth only"),
    ({"common_name": ""}, "no common_name"),
    ({"key_usage": ["sign"]}, "key usage 'sign': expected one of"),
    ({"ca": "Kubernetes"}, "CA name 'Kubernetes' is not usable"),
    ({"name": "kube_proxy"}, "certificate name 'kube_proxy' is not usable"),
])
def test_requests_the_backend_cannot_sign_are_refused_naming_the_certificate(change, message):
    request = dict(worker_requests()[2], **change)
    with pytest.raises(LayoutError, match=message) as error:
        layout.host_access("dev", "dev-worker-0", [request])
    assert "dev-worker-0" in str(error.value)


def test_a_host_without_requests_is_refused():
    with pytest.raises(LayoutError, match="host dev-worker-0 requests no certificate"):
        layout.host_access("dev", "dev-worker-0", [])


def test_pool_access():
    pools = layout.pool_access("dev", {"etcd": ["dev-etcd-0"], "master": ["dev-master-0", "dev-master-1"],
                                       "worker": []})
    assert [p["pool"] for p in pools] == ["etcd", "master"]
    etcd, master = pools
    assert etcd["policy"] is None
    assert etcd["token_role"] == {"name": "apron-dev-etcd", "settings": {
        "allowed_policies": ["apron-dev-host-dev-etcd-0"], "orphan": True, "renewable": True, "token_period": "72h",
        "token_type": "service", "token_no_default_policy": False}}
    assert master["token_role"]["settings"]["allowed_policies"] == [
        "apron-dev-master", "apron-dev-host-dev-master-0", "apron-dev-host-dev-master-1"]
    assert 'path "apron/dev/secrets/data/master/*"' in master["policy"]["text"]
    _vault_plan.validate_policy(master["policy"]["name"], master["policy"]["text"])
    for pool in pools:
        _vault_plan.desired_token_role(pool["token_role"]["settings"])
    with pytest.raises(LayoutError, match="InstancePool roles bastion have no Vault access: expected etcd, master, worker"):
        layout.pool_access("dev", {"bastion": ["dev-bastion-0"]})
