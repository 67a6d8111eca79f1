# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The flag and config-field references: what upstream documents passes, a removed or
misspelt flag or field fails with a message naming it, the reference and a likely fix."""
from __future__ import annotations

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_reference as K
from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_reference import (
    SettingsReferenceError,
    check_config_fields,
    check_flags,
    known_flags,
)

KUBELET_CONFIG = {
    "apiVersion": "kubelet.config.k8s.io/v1beta1",
    "kind": "KubeletConfiguration",
    "authentication": {
        "anonymous": {"enabled": False},
        "webhook": {"enabled": True, "cacheTTL": "2m"},
        "x509": {"clientCAFile": "/etc/apron/kubernetes/pki/ca.crt"},
    },
    "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "5m", "cacheUnauthorizedTTL": "30s"}},
    "readOnlyPort": 0,
    "clusterDNS": ["10.254.0.10"],
    "clusterDomain": "cluster.local",
    "cgroupDriver": "systemd",
    "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock",
    "evictionHard": {"memory.available": "100Mi", "nodefs.available": "10%"},
    "kubeReserved": {"cpu": "100m", "memory": "256Mi"},
    "systemReserved": {"cpu": "100m", "memory": "256Mi"},
    "tlsCertFile": "/var/lib/kubelet/pki/kubelet.crt",
    "tlsPrivateKeyFile": "/var/lib/kubelet/pki/kubelet.key",
    "tlsMinVersion": "VersionTLS12",
    "rotateCertificates": False,
    "serverTLSBootstrap": False,
    "registerWithTaints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
    "logging": {"format": "text", "options": {"text": {"splitStream": False}}},
    "shutdownGracePeriodByPodPriority": [{"priority": 0, "shutdownGracePeriodSeconds": 30}],
}

PROXY_CONFIG = {
    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
    "kind": "KubeProxyConfiguration",
    "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig"},
    "mode": "iptables",
    "clusterCIDR": "10.234.0.0/16",
    "iptables": {"masqueradeAll": False, "syncPeriod": "30s"},
    "conntrack": {"maxPerCore": 32768},
    "metricsBindAddress": "127.0.0.1:10249",
}

SCHEDULER_CONFIG = {
    "apiVersion": "kubescheduler.config.k8s.io/v1",
    "kind": "KubeSchedulerConfiguration",
    "clientConnection": {"kubeconfig": "/etc/apron/kubernetes/scheduler.kubeconfig"},
    "leaderElection": {"leaderElect": True},
    "enableProfiling": False,
    "profiles": [{"schedulerName": "default-scheduler",
                  "plugins": {"score": {"disabled": [{"name": "NodeResourcesBalancedAllocation"}]}},
                  "pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}],
}


@pytest.mark.parametrize("version", ["1.35.0", "1.36.0", "1.37.0", "v1.36", "1.37"])
def test_valid_configs_pass(version):
    check_config_fields("KubeletConfiguration", version, KUBELET_CONFIG)
    check_config_fields("KubeProxyConfiguration", version, PROXY_CONFIG)
    check_config_fields("KubeSchedulerConfiguration", version, SCHEDULER_CONFIG)


def test_tarmak_webook_fails():
    doc = dict(KUBELET_CONFIG, authentication={"webook": {"enabled": True}, "anonymous": {"enabled": False}})
    with pytest.raises(SettingsReferenceError) as err:
        check_config_fields("KubeletConfiguration", "1.36.0", doc)
    message = str(err.value)
    assert "authentication.webook: unknown field of KubeletAuthentication (did you mean 'webhook'?)" in message
    assert "kubelet-config.v1beta1.md" in message


@pytest.mark.parametrize("kind, doc, expected", [
    ("KubeletConfiguration", {"readOnlyport": 0}, "readOnlyport: unknown field of KubeletConfiguration (did you mean 'readOnlyPort'?)"),
    ("KubeletConfiguration", {"authorization": {"webhook": {"cacheAuthorizedTtl": "5m"}}},
     "authorization.webhook.cacheAuthorizedTtl: unknown field of KubeletWebhookAuthorization"),
    ("KubeletConfiguration", {"shutdownGracePeriodByPodPriority": [{"priority": 0, "shutdownGracePeriod": 1}]},
     "shutdownGracePeriodByPodPriority[0].shutdownGracePeriod: unknown field of ShutdownGracePeriodByPodPriority"),
    ("KubeletConfiguration", {"authentication": "webhook"}, "authentication: expected a mapping (KubeletAuthentication)"),
    ("KubeletConfiguration", {"reservedMemory": {"numaNode": 0}}, "reservedMemory: expected a list of MemoryReservation"),
    ("KubeletConfiguration", {"apiVersion": "kubelet.config.k8s.io/v1"}, "apiVersion: 'kubelet.config.k8s.io/v1', expected"),
    ("KubeletConfiguration", {"kind": "KubeProxyConfiguration"}, "kind: 'KubeProxyConfiguration', expected 'KubeletConfiguration'"),
    ("KubeProxyConfiguration", {"iptables": {"masqueradeALL": True}}, "iptables.masqueradeALL: unknown field of KubeProxyIPTablesConfiguration"),
    ("KubeProxyConfiguration", {"userspace": {}}, "userspace: unknown field of KubeProxyConfiguration"),
    ("KubeSchedulerConfiguration", {"profiles": [{"plugins": {"scores": {}}}]},
     "profiles[0].plugins.scores: unknown field of Plugins (did you mean 'score'?)"),
    ("KubeSchedulerConfiguration", {"profiles": [{"plugins": {"score": {"enabled": [{"nam": "x"}]}}}]},
     "profiles[0].plugins.score.enabled[0].nam: unknown field of Plugin"),
    ("KubeSchedulerConfiguration", [], "<document>: expected a mapping (KubeSchedulerConfiguration)"),
])
def test_bad_fields_named(kind, doc, expected):
    with pytest.raises(SettingsReferenceError) as err:
        check_config_fields(kind, "1.35.0", doc)
    assert expected in str(err.value)


def test_every_problem_reported_at_once():
    with pytest.raises(SettingsReferenceError) as err:
        check_config_fields("KubeletConfiguration", "1.35.0", {"webook": 1, "readOnlyport": 0})
    assert "readOnlyport" in str(err.value) and "webook" in str(err.value)


def test_flags_pass():
    check_flags("kube-apiserver", "1.35.0", [
        "--etcd-servers=https://10.0.0.1:2379", "--etcd-servers-overrides=/events#https://10.0.0.1:2369",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction", "--anonymous-auth=false",
        "--profiling=false", "--tls-min-version=VersionTLS12", "--encryption-provider-config=/x",
        "--audit-log-maxbackup=10", "--service-account-signing-key-file=/k", "--min-compatibility-version=1.35"])
    check_flags("kube-scheduler", "1.36.0", {"config": "/etc/s.yaml", "authentication-kubeconfig": "/k", "v": 2})
    check_flags("kubelet", "1.37.0", ["--config=/var/lib/kubelet/config.yaml", "--kubeconfig=/k", "--node-ip=10.0.0.5",
                                      "--hostname-override=worker-0"])
    check_flags("kube-proxy", "1.35.0", ["--config=/var/lib/kube-proxy/config.yaml", "--hostname-override", "v"])


def test_removed_flag_fails_from_its_release():
    with pytest.raises(SettingsReferenceError) as err:
        check_flags("kubelet", "1.35.0", ["--pod-infra-container-image=registry.k8s.io/pause:3.10"])
    assert "kubelet 1.35.0 does not accept --pod-infra-container-image" in str(err.value)
    assert "pod-infra-container-image" not in known_flags("kubelet", "1.36.0")


def test_misspelt_flag_fails_with_hint():
    with pytest.raises(SettingsReferenceError) as err:
        check_flags("kube-apiserver", "1.36.0", ["--etcd-server=https://x", "--tls-min-version=VersionTLS12"])
    message = str(err.value)
    assert "kube-apiserver 1.36.0 does not accept --etcd-server (did you mean 'etcd-servers'?)" in message
    assert "kube-apiserver.md, documenting 1.35" in message
    # a flag that was removed long before the reference (insecure port) is unknown too
    with pytest.raises(SettingsReferenceError, match="--insecure-port"):
        check_flags("kube-apiserver", "1.35.0", ["--insecure-port=0"])


@pytest.mark.parametrize("call, expected", [
    (lambda: check_flags("kube-controller-manager", "1.36.0", ["--cluster-cidr=x"]),
     "kube-controller-manager: no flag reference is recorded"),
    (lambda: check_flags("etcd", "1.36.0", []), "component: 'etcd' is not one of"),
    (lambda: check_flags("kubelet", "1.34.2", []), "version: '1.34.2' is not a supported Kubernetes version (supported: 1.35, 1.36, 1.37)"),
    (lambda: check_flags("kubelet", "1.36.0", ["--"]), "flags: '--' is not a flag"),
    (lambda: check_flags("kubelet", "1.36.0", [None]), "flags: None is not a flag"),
    (lambda: check_config_fields("KubeletConfig", "1.36.0", {}), "kind: 'KubeletConfig' is not one of"),
    (lambda: check_config_fields("KubeletConfiguration", None, {}), "version: None is not a supported"),
])
def test_bad_calls(call, expected):
    with pytest.raises(SettingsReferenceError) as err:
        call()
    assert expected in str(err.value)


def test_reference_is_consistent():
    for (type_name, field), sub in K.STRUCT_FIELDS.items():
        assert field in K.TYPES[type_name], (type_name, field)
        assert (sub[0] if isinstance(sub, list) else sub) in K.TYPES
    for kind in K.CONFIG_KINDS:
        assert {"apiVersion", "kind"} <= K.TYPES[kind]
    assert set(K.FLAG_SOURCES) == set(K.FLAGS)
    for names in K.FLAGS.values():
        assert all(n == n.strip("-") and " " not in n for n in names)
