# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The release manifest and the artifact planner: supported minors are one list, every pinned
checksum is a published one with its source, and bad input names the field to fix."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_releases as R
from ansible_collections.apron.cluster.plugins.module_utils import _model_defaults as D
from ansible_collections.apron.cluster.plugins.module_utils._artifact_plan import (
    NO_PUBLISHED_CHECKSUM,
    PUBLISHED,
    UNPINNED,
    USER_SUPPLIED,
    ArtifactPlanError,
    check_kubernetes_version,
    normalize_checksum,
    plan_artifacts,
    require_verified,
    url_list,
)
from ansible_collections.apron.cluster.plugins.module_utils._model import load_model

REPO = Path(__file__).resolve().parents[4]
SHA256 = "ab" * 32
SHA512 = "cd" * 64


def _model(version="1.36.0", roles=("master", "worker"), addons=("calico", "coredns"), ctype="cluster"):
    pools = {}
    for role in roles:
        pools["dev-%s" % role] = {"spec": {"cluster": "dev", "role": role}}
    pools["dev-etcd"] = {"spec": {"cluster": "dev", "role": "etcd"}}
    return {
        "clusters": {"dev": {"spec": {"type": ctype, "kubernetesVersion": version, "network": {"overlay": None},
                                      "addons": [{"name": a} for a in addons]}}},
        "pools": pools,
    }


def _file(plan, name, version=None):
    found = [f for f in plan["files"] if f["name"] == name and (version is None or f["version"] == version)]
    assert len(found) == 1, (name, version, plan["files"])
    return found[0]


# --- the manifest ---------------------------------------------------------------------------

def test_model_uses_the_manifest_list():
    assert D.SUPPORTED_KUBERNETES_MINORS is R.SUPPORTED_KUBERNETES_MINORS
    assert D.DEFAULT_KUBERNETES_VERSION is R.DEFAULT_KUBERNETES_VERSION
    assert R.SUPPORTED_KUBERNETES_MINORS == (35, 36, 37)
    assert int(R.DEFAULT_KUBERNETES_VERSION.split(".")[1]) in R.SUPPORTED_KUBERNETES_MINORS


def test_every_minor_is_pinned_with_sources_and_well_formed_checksums():
    for minor in R.SUPPORTED_KUBERNETES_MINORS:
        release = R.KUBERNETES[minor]
        assert release["version"].startswith("1.%d." % minor)
        assert release["source"] in R.SOURCES
        sums = [s for kind in release["tarballs"].values() for s in kind.values()]
        if not sums:
            assert release["checksum_note"], minor
        for value in sums:
            assert re.match(r"^[0-9a-f]{128}$", value), (minor, value)
        for tool in R.TOOLS.values():
            assert minor in tool["versions"]
        for image in R.IMAGES.values():
            assert minor in image["versions"]
    for tool in R.TOOLS.values():
        assert tool["source"] in R.SOURCES and tool["version_source"] in R.SOURCES
    # the default version has published checksums (so the example models are installable)
    default_minor = int(R.DEFAULT_KUBERNETES_VERSION.split(".")[1])
    assert R.KUBERNETES[default_minor]["version"] == R.DEFAULT_KUBERNETES_VERSION
    assert R.KUBERNETES[default_minor]["tarballs"]["server"]["amd64"]


def test_docs_list_the_supported_minors():
    text = (REPO / "docs" / "artifacts.md").read_text()
    for minor, version in R.pinned_versions().items():
        assert "| 1.%d | %s |" % (minor, version) in text
    assert "1.35 .. 1.37" in (REPO / "docs" / "model.md").read_text()


# --- the planner ----------------------------------------------------------------------------

def test_pinned_version_gets_published_checksums():
    plan = plan_artifacts(_model("1.36.0"))
    server = _file(plan, "kubernetes-server")
    assert server["url"] == "https://dl.k8s.io/v1.36.0/kubernetes-server-linux-amd64.tar.gz"
    assert server["checksum"] == "sha512:" + R.KUBERNETES[36]["tarballs"]["server"]["amd64"]
    assert server["checksum_status"] == PUBLISHED and "CHANGELOG-1.36.md" in server["source"]
    assert "kube-apiserver" in server["components"] and server["roles"] == ["master"]
    node = _file(plan, "kubernetes-node")
    assert node["checksum"] == "sha512:" + R.KUBERNETES[36]["tarballs"]["node"]["amd64"]
    assert plan["kubernetes"] == {"dev": "1.36.0"}
    assert require_verified(server) == server["checksum"]


def test_arm64():
    node = _file(plan_artifacts(_model("1.35.0"), arch="arm64"), "kubernetes-node")
    assert node["url"].endswith("/v1.35.0/kubernetes-node-linux-arm64.tar.gz")
    assert node["checksum"] == "sha512:" + R.KUBERNETES[35]["tarballs"]["node"]["arm64"]


def test_no_published_checksum_is_marked_and_refused():
    plan = plan_artifacts(_model("1.37.0"))
    server = _file(plan, "kubernetes-server")
    assert server["checksum"] is None and server["checksum_status"] == NO_PUBLISHED_CHECKSUM
    assert "CHANGELOG-1.37.md" in server["reason"]
    assert server["checksum_field"] == "overrides.kubernetes-1.37.0.checksums.server-amd64"
    assert {"name": "kubernetes-server", "artifact": "kubernetes-server-linux-amd64.tar.gz",
            "field": server["checksum_field"], "reason": server["reason"]} in plan["unverified"]
    with pytest.raises(ArtifactPlanError, match=r"refusing to install kubernetes-server 1\.37\.0 without a checksum "
                                                r"\(no published checksum\).*Set overrides\.kubernetes-1\.37\.0\.checksums\.server-amd64"):
        require_verified(server)


def test_unpinned_patch_has_no_published_checksum():
    server = _file(plan_artifacts(_model("1.36.7")), "kubernetes-server")
    assert server["checksum"] is None
    assert "not the pinned 1.36 release (1.36.0)" in server["reason"]


def test_user_supplied_checksum():
    overrides = {"kubernetes-1.37.0": {"checksums": {"server-amd64": SHA512, "node-amd64": "sha512:" + SHA512.upper()}}}
    plan = plan_artifacts(_model("1.37.0"), overrides=overrides)
    for name in ("kubernetes-server", "kubernetes-node"):
        entry = _file(plan, name)
        assert entry["checksum"] == "sha512:" + SHA512 and entry["checksum_status"] == USER_SUPPLIED
    assert not [u for u in plan["unverified"] if u["name"].startswith("kubernetes")]


@pytest.mark.parametrize("version, message", [
    ("1.34.2", r"Cluster/dev spec\.kubernetesVersion: Kubernetes 1\.34\.2 is not supported \(supported: 1\.35\.x, 1\.36\.x, 1\.37\.x"),
    ("1.38.0", r"Kubernetes 1\.38\.0 is not supported"),
    ("2.36.0", r"Kubernetes 2\.36\.0 is not supported"),
    ("1.36", r"Cluster/dev spec\.kubernetesVersion: '1\.36' is not a full version x\.y\.z"),
    (None, r"Cluster/dev spec\.kubernetesVersion: None is not a full version"),
])
def test_unsupported_version_names_field_and_list(version, message):
    with pytest.raises(ArtifactPlanError, match=message):
        plan_artifacts(_model(version))


def test_tools_pinned_from_changelog_without_checksum():
    plan = plan_artifacts(_model("1.35.0"))
    crictl = _file(plan, "crictl")
    assert crictl["version"] == "1.34.0"
    assert crictl["url"] == ("https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.34.0/"
                             "crictl-v1.34.0-linux-amd64.tar.gz")
    assert crictl["checksum_url"] == crictl["url"] + ".sha256"
    assert crictl["checksum_status"] == NO_PUBLISHED_CHECKSUM and crictl["checksum_field"] == "overrides.crictl.checksum"
    assert "CHANGELOG-1.35.md" in crictl["version_source"]
    cni = _file(plan, "cni-plugins")
    assert cni["filename"] == "cni-plugins-linux-amd64-v1.8.0.tgz"
    plan = plan_artifacts(_model("1.35.0"), overrides={"crictl": {"version": "1.35.1", "checksum": SHA256}})
    crictl = _file(plan, "crictl")
    assert crictl["version"] == "1.35.1" and crictl["checksum"] == "sha256:" + SHA256
    assert crictl["version_source"] == "user-supplied (overrides.crictl.version)"


def test_images_follow_roles_and_addons():
    plan = plan_artifacts(_model(addons=()))
    assert [i["name"] for i in plan["images"]] == ["pause"]
    pause = plan["images"][0]
    assert pause["checksum_status"] == UNPINNED and pause["checksum_field"] == "overrides.pause.version"
    plan = plan_artifacts(_model(), overrides={"calico": {"version": "3.30.0", "digest": SHA256}, "pause": {"version": "3.10"},
                                               "coredns": {"version": "1.12.0"}})
    images = dict((i["name"], i) for i in plan["images"])
    assert sorted(images) == ["calico-cni", "calico-kube-controllers", "calico-node", "coredns", "pause"]
    assert images["calico-node"]["image"] == "quay.io/calico/node:v3.30.0"
    assert images["calico-node"]["digest"] == "sha256:" + SHA256
    assert images["pause"]["image"] == "registry.k8s.io/pause:3.10"
    assert images["pause"]["checksum_status"] == NO_PUBLISHED_CHECKSUM
    assert images["coredns"]["image"] == "registry.k8s.io/coredns/coredns:v1.12.0"
    assert "registry.k8s.io/pause:3.10" in url_list(plan)


def test_worker_only_cluster_needs_no_server_tarball():
    plan = plan_artifacts(_model(roles=("worker",)))
    assert [f["name"] for f in plan["files"] if f["name"].startswith("kubernetes")] == ["kubernetes-node"]


def test_no_kubernetes_pools_no_artifacts():
    plan = plan_artifacts(_model(roles=(), ctype="hub"))
    assert plan["files"] == [] and plan["images"] == [] and plan["kubernetes"] == {}


def test_etcd_release():
    plan = plan_artifacts(_model(), etcd={"version": "3.5.1", "checksum": SHA256})
    etcd = _file(plan, "etcd")
    assert etcd["url"] == "https://github.com/etcd-io/etcd/releases/download/v3.5.1/etcd-v3.5.1-linux-amd64.tar.gz"
    assert etcd["checksum"] == "sha256:" + SHA256 and etcd["checksum_field"] == "etcd_release_sha256"
    etcd = _file(plan_artifacts(_model(), etcd={"version": "3.5.1", "checksum": ""}), "etcd")
    assert etcd["checksum_status"] == NO_PUBLISHED_CHECKSUM
    with pytest.raises(ArtifactPlanError, match="etcd_release_version: '3.5' is not a full version"):
        plan_artifacts(_model(), etcd={"version": "3.5", "checksum": SHA256})


@pytest.mark.parametrize("kwargs, message", [
    ({"arch": "s390x"}, r"arch: 's390x' is not supported \(expected one of amd64, arm64\)"),
    ({"overrides": []}, r"overrides: expected a dict"),
    ({"overrides": {"crictl": "1.35.0"}}, r"overrides\.crictl: expected a dict"),
    ({"overrides": {"crictl": {"versoin": "1.35.0"}}}, r"overrides\.crictl: unknown key\(s\) versoin"),
    ({"overrides": {"crictl": {"version": "v1.35.0"}}}, r"overrides\.crictl\.version: 'v1\.35\.0' is not a full version"),
    ({"overrides": {"crictl": {"checksum": "abc"}}}, r"overrides\.crictl\.checksum: 'abc' is not a sha256"),
    ({"overrides": {"calico": {"version": "latest"}}}, r"overrides\.calico\.version: 'latest' is not a release version"),
    ({"overrides": {"kubernetes-1.36.0": {"checksums": {"server-amd64": "md5:00"}}}},
     r"overrides\.kubernetes-1\.36\.0\.checksums\.server-amd64: 'md5:00' is not a sha256"),
    ({"overrides": {"kubernetes-1.36.0": {"checksums": "x"}}}, r"overrides\.kubernetes-1\.36\.0\.checksums: expected a dict"),
])
def test_bad_input_names_the_field(kwargs, message):
    with pytest.raises(ArtifactPlanError, match=message):
        plan_artifacts(_model(), **kwargs)


def test_normalize_checksum():
    assert normalize_checksum(SHA256.upper(), "sha256", "f") == "sha256:" + SHA256
    assert normalize_checksum("sha512:" + SHA512, "sha256", "f") == "sha512:" + SHA512
    with pytest.raises(ArtifactPlanError, match="f: expected a sha256 checksum"):
        normalize_checksum(None, "sha256", "f")


def test_check_kubernetes_version():
    assert check_kubernetes_version("1.37.2", "x") == 37


def test_example_models():
    plan = plan_artifacts(load_model([str(REPO / "inventories/aws-example/multi/model")]).to_dict())
    assert plan["kubernetes"] == {"blue": "1.36.0", "green": "1.35.0"}
    names = sorted((f["name"], f["version"]) for f in plan["files"])
    assert ("kubernetes-server", "1.35.0") in names and ("kubernetes-node", "1.36.0") in names
    # both clusters share nothing but the CNI plugins (one pinned version)
    cni = _file(plan, "cni-plugins")
    assert cni["clusters"] == ["blue", "green"]
    assert not [u for u in plan["unverified"] if u["name"].startswith("kubernetes")]


def test_offline_paths():
    plan = plan_artifacts(_model("1.35.0"), etcd={"version": "3.5.1", "checksum": SHA256},
                          overrides={"pause": {"version": "3.10"}})
    assert _file(plan, "kubernetes-server")["offline_path"] == "kubernetes/v1.35.0/kubernetes-server-linux-amd64.tar.gz"
    assert _file(plan, "crictl")["offline_path"] == "crictl/v1.34.0/crictl-v1.34.0-linux-amd64.tar.gz"
    assert _file(plan, "cni-plugins")["offline_path"] == "cni-plugins/v1.8.0/cni-plugins-linux-amd64-v1.8.0.tgz"
    assert _file(plan, "etcd")["offline_path"] == "etcd-v3.5.1-linux-amd64.tar.gz"
    images = dict((i["name"], i) for i in plan["images"])
    assert images["pause"]["offline_path"] == "images/pause_3.10.tar"
    assert images["coredns"]["offline_path"] is None  # unpinned
