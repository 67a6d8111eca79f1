# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters of the Kubernetes roles (apron.cluster.worker, apron.cluster.master and
apron.cluster.kubernetes); the logic lives in module_utils/_kubernetes_node.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_node as _node


def _wrap(name, func):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _node.NodeConfigError as exc:
            raise AnsibleFilterError("apron.cluster.%s: %s" % (name, exc))
    run.__name__ = name
    return run


_FILTERS = {
    "kubernetes_dns_ip": _node.dns_service_ip,
    "kubernetes_service_ip": _node.service_ip,
    "kubernetes_check_networks": _node.check_networks,
    "kubernetes_node_pod_subnet": _node.node_pod_subnet,
    "kubernetes_api_endpoint": _node.api_endpoint,
    "kubernetes_proxy_backends": _node.proxy_backends,
    "kubernetes_host_address": _node.host_address,
    "kubernetes_node_labels": _node.node_labels,
    "kubernetes_labels_to_apply": _node.labels_to_apply,
    "kubernetes_node_taints": _node.node_taints,
    "kubernetes_kubelet_config": _node.kubelet_config,
    "kubernetes_kubelet_flags": _node.kubelet_flags,
    "kubernetes_kube_proxy_config": _node.kube_proxy_config,
    "kubernetes_kube_proxy_flags": _node.kube_proxy_flags,
    "kubernetes_cni_config": _node.cni_config,
    "kubernetes_snapshotter": _node.snapshotter,
    "kubernetes_cgroup_driver": _node.cgroup_driver,
    "kubernetes_sandbox_image": _node.sandbox_image,
    "kubernetes_registry_hosts": _node.registry_hosts,
    "kubernetes_registry_files": _node.registry_files,
    "kubernetes_host_state": _node.host_state,
    "kubernetes_file_unchanged": _node.file_unchanged,
}


class FilterModule(object):
    """apron.cluster filters of the Kubernetes roles."""

    def filters(self):
        return dict((name, _wrap(name, func)) for name, func in _FILTERS.items())
