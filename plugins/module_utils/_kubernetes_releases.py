# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The release manifest of apron.cluster: ONE owner of the supported Kubernetes minors, the
pinned version of every artifact per minor, its upstream URL and its PUBLISHED checksum.

Plain data (no I/O): module_utils ship to targets, so the manifest is Python, imported by the
model validation (_model_defaults), the artifact planner (_artifact_plan) and the modules.

Rules for this file (see docs/artifacts.md):
- Every fact carries its source (``SOURCES`` key): the upstream file or page and the version read.
- A checksum is only ever copied from an upstream publication. Where none could be read, the
  entry has ``checksum: None`` and ``checksum_note`` says why; the planner then refuses the
  artifact unless the user supplies a checksum (``overrides``), naming that input.
- A component whose version could not be read from an upstream source for a minor has
  ``version: None``: the planner refuses it unless the user pins it (version + checksum).
"""
from __future__ import annotations

import copy

# --- sources ------------------------------------------------------------------------------
# Every fact below names one of these keys. "read" is what was read, and at which version.
SOURCES = {
    "k8s-changelog-1.35": {
        "url": "https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.35.md",
        "read": "kubernetes/kubernetes CHANGELOG/CHANGELOG-1.35.md, section 'Downloads for v1.35.0' "
                "(the newest 1.35 release in the copy read on 2026-12-02; sha512 column)",
    },
    "k8s-changelog-1.36": {
        "url": "https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.36.md",
        "read": "kubernetes/kubernetes CHANGELOG/CHANGELOG-1.36.md, section 'Downloads for v1.36.0' "
                "(the newest 1.36 release in the copy read on 2026-12-02; sha512 column)",
    },
    "k8s-changelog-1.38": {
        "url": "https://github.com/kubernetes/kubernetes/blob/master/CHANGELOG/CHANGELOG-1.38.md",
        "read": "kubernetes/kubernetes CHANGELOG/CHANGELOG-1.38.md: newest entry v1.38.0-alpha.2, and "
                "v1.38.0-alpha.1 'Changelog since v1.37.0' (so v1.37.0 is released; 1.38 is not)",
    },
    "k8s-changelog-deps": {
        "url": "https://github.com/kubernetes/kubernetes/tree/master/CHANGELOG",
        "read": "kubernetes/kubernetes CHANGELOG-1.35.md (v1.35.0, 'Changelog since v1.34.0'): 'Updated cri-tools to "
                "v1.34.0', 'Updated CNI plugins to v1.8.0'; CHANGELOG-1.36.md (v1.36.0-alpha.1): 'Updated cri-tools to "
                "v1.35.0'; CHANGELOG-1.37.md (v1.37.0-alpha.1): 'Updated cri-tools to v1.36.0'. No later CNI plugins "
                "update was found in the parts of CHANGELOG-1.36/1.37 read, so v1.8.0 stays pinned for them",
    },
    "k8s-version-skew": {
        "url": "https://kubernetes.io/releases/version-skew-policy/",
        "read": "kubernetes/website content/en/releases/version-skew-policy.md and content/en/releases/_index.md: "
                "'The Kubernetes project maintains release branches for the most recent three minor releases'",
    },
    "k8s-download-layout": {
        "url": "https://kubernetes.io/releases/download/",
        "read": "CHANGELOG download tables: https://dl.k8s.io/v<version>/kubernetes-{server,node,client}-linux-<arch>.tar.gz",
    },
    "etcd-release-layout": {
        "url": "https://github.com/etcd-io/etcd/releases",
        "read": "the etcd role's etcd_release_url (etcd-v<version>-linux-<arch>.tar.gz); etcd publishes SHA256SUMS per release",
    },
    "crictl-release-layout": {
        "url": "https://github.com/kubernetes-sigs/cri-tools/releases",
        "read": "crictl-v<version>-linux-<arch>.tar.gz with a published .sha256 file next to it",
    },
    "cni-release-layout": {
        "url": "https://github.com/containernetworking/plugins/releases",
        "read": "cni-plugins-linux-<arch>-v<version>.tgz with published .sha256/.sha512 files next to it",
    },
}

# --- supported minors -----------------------------------------------------------------------
# Upstream maintains the three newest minors (k8s-version-skew). The newest release found in
# upstream sources on 2026-12-02 is 1.37 (k8s-changelog-1.38: 1.38 is at alpha), so 1.35-1.37.
SUPPORTED_KUBERNETES_MINORS = (35, 36, 37)
SUPPORTED_MINORS_SOURCE = ("k8s-version-skew", "k8s-changelog-1.38")

# The default Kubernetes version of the model: the newest minor whose published checksums
# could be read (1.37's could not, see below).
DEFAULT_KUBERNETES_VERSION = "1.36.0"

ARCHES = ("amd64", "arm64")

K8S_BASE_URL = "https://dl.k8s.io/v{version}"
# Which binaries each Kubernetes tarball carries (upstream tarball layout kubernetes/<kind>/bin/).
K8S_TARBALL_BINARIES = {
    "server": ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"),
    "node": ("kubelet", "kube-proxy", "kubectl"),
}
K8S_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")

_NO_137_SUMS = ("no copy of the v1.37.x section of CHANGELOG-1.37.md could be read (only v1.37.0-alpha.1), so no "
                "published sha512 is recorded; supply one (overrides) from the upstream CHANGELOG")

# Per minor: the pinned patch release of every Kubernetes component (they ship together in
# the server and node tarballs) with the published sha512 of each tarball per architecture.
KUBERNETES = {
    35: {
        "version": "1.35.0",
        "source": "k8s-changelog-1.35",
        "algorithm": "sha512",
        "tarballs": {
            "server": {
                "amd64": "23af53c49de841a0d5c19d9525d820cecc9d55367c132296a5f381d051438bf06dcddff3d0236df8ba6011a6aa5d0ffc31960d277c7f53a0ad98e66d6f8d6a0a",
                "arm64": "fd245273c6ace20abc893f868d678c4a24c0dbe7d5340087f852d245e59329e66f79afce489dc1b396908d2f005b132eca8d15a7664508fe923627bb2eddee18",
            },
            "node": {
                "amd64": "179278fecb65d246443f58cef00ca2f2a9d0ac6fbdb310994f0ac7fca249f7bdc1c79ea7f3e5455c1e2d2460f5447d006bfa579f97b502ee7034b2a1927f934a",
                "arm64": "01178703c84e0f671770e53024e3cc53f540c0cf93b0804d35884a777c3e3bc44c44d62b6fd25204348986fa589969a9255c0ef04235a0bb9d5560b09867aa0b",
            },
        },
    },
    36: {
        "version": "1.36.0",
        "source": "k8s-changelog-1.36",
        "algorithm": "sha512",
        "tarballs": {
            "server": {
                "amd64": "1c64da92575451c2c7ff97c79b772e603995f8e76da1371a6b0746aaa27b65dce81c4d734cbb50f40e71486a8e08df36f14e12974f97d4d29e41f23a172a6a25",
                "arm64": "7f95e451baedd9368a2fa637afa84c9ed1b958736540ca27a379e5e292e1a10c5d9a29539f833047574bf5d3b6f907f32dee5735acecc11aa4686f078108dcf8",
            },
            "node": {
                "amd64": "8bba5bd0cb77997ad965739caff3c8839fd16f284cf28a0e46c44538ce0b6fd83c5f3c608dd86c4831c3de9306bbfd02ce26bbe9a426754b6253efa1d5cc030f",
                "arm64": "10a4c3660e6e19fae998b04345dbe42711e61745bf374405c33e8604335b12ff55ce7b68f8a0d67d1f7ce4519f706fbd8d80781b7128369fe047c38915e8d189",
            },
        },
    },
    37: {
        "version": "1.37.0",
        "source": "k8s-changelog-1.38",
        "algorithm": "sha512",
        "tarballs": {"server": {}, "node": {}},
        "checksum_note": _NO_137_SUMS,
    },
}

_NOT_READ = ("no upstream source naming the {what} version for Kubernetes 1.{minor} could be read on 2026-12-02; "
             "pin it yourself (overrides.{name}.version and {second} from the upstream release)")

# Node tools and container images: URL templates (upstream layouts) and, per minor, the pinned
# version where an upstream source for it was read (version_source). None: not pinned here
# (see _NOT_READ). No published checksum of crictl or the CNI plugins could be read (upstream
# publishes them as .sha256 files next to each release asset), so the user supplies one.
TOOLS = {
    "crictl": {
        "source": "crictl-release-layout",
        "version_source": "k8s-changelog-deps",
        "url": "https://github.com/kubernetes-sigs/cri-tools/releases/download/v{version}/crictl-v{version}-linux-{arch}.tar.gz",
        "checksum_url": "https://github.com/kubernetes-sigs/cri-tools/releases/download/v{version}/crictl-v{version}-linux-{arch}.tar.gz.sha256",
        "algorithm": "sha256",
        "needed_by": ("master", "worker"),
        "versions": {35: "1.34.0", 36: "1.35.0", 37: "1.36.0"},
    },
    "cni-plugins": {
        "source": "cni-release-layout",
        "version_source": "k8s-changelog-deps",
        "url": "https://github.com/containernetworking/plugins/releases/download/v{version}/cni-plugins-linux-{arch}-v{version}.tgz",
        "checksum_url": "https://github.com/containernetworking/plugins/releases/download/v{version}/cni-plugins-linux-{arch}-v{version}.tgz.sha256",
        "algorithm": "sha256",
        "needed_by": ("master", "worker"),
        "versions": {35: "1.8.0", 36: "1.8.0", 37: "1.8.0"},
    },
}

IMAGES = {
    "pause": {"image": "registry.k8s.io/pause:{version}", "needed_by": ("master", "worker"), "addon": None,
              "versions": {35: None, 36: None, 37: None}},
    "coredns": {"image": "registry.k8s.io/coredns/coredns:v{version}", "needed_by": ("worker",), "addon": "coredns",
                "versions": {35: None, 36: None, 37: None}},
    "calico-node": {"image": "quay.io/calico/node:v{version}", "needed_by": ("master", "worker"), "addon": "calico",
                    "versions": {35: None, 36: None, 37: None}},
    "calico-cni": {"image": "quay.io/calico/cni:v{version}", "needed_by": ("master", "worker"), "addon": "calico",
                   "versions": {35: None, 36: None, 37: None}},
    "calico-kube-controllers": {"image": "quay.io/calico/kube-controllers:v{version}", "needed_by": ("worker",),
                                "addon": "calico", "versions": {35: None, 36: None, 37: None}},
}
# The Calico images share one version (one Calico release); an override of "calico" pins all three.
IMAGE_VERSION_GROUPS = {"calico-node": "calico", "calico-cni": "calico", "calico-kube-controllers": "calico"}

ETCD = {
    "source": "etcd-release-layout",
    "url": "https://github.com/etcd-io/etcd/releases/download/v{version}/etcd-v{version}-linux-{arch}.tar.gz",
    "algorithm": "sha256",
}


def not_read_note(what, minor, name, image=False):
    second = ("optionally overrides.%s.digest" if image else "overrides.%s.checksum") % name
    return _NOT_READ.format(what=what, minor=minor, name=name, second=second)


def supported_versions_text():
    """'1.35.x, 1.36.x, 1.37.x' - for error messages and docs."""
    return ", ".join("1.%d.x" % m for m in SUPPORTED_KUBERNETES_MINORS)


def kubernetes_release(minor):
    """The manifest entry of a supported minor (a copy), or None."""
    entry = KUBERNETES.get(minor)
    return copy.deepcopy(entry) if entry is not None else None


def pinned_versions():
    """{minor: pinned Kubernetes version} of every supported minor."""
    return dict((m, KUBERNETES[m]["version"]) for m in SUPPORTED_KUBERNETES_MINORS)
