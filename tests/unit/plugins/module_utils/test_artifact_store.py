"""Installing the Kubernetes binaries (roles/kubernetes tasks_from: binaries): which tarball,
which member, which checksum, every refusal naming the variable to fix, the controller's cache, and
the start / stage outcome. No tarball here carries anything named like a Kubernetes binary: the
unpacking is tested with neutral member names; the real tarball is exercised by
tests/integration/test_kubernetes_binaries.py when it is supplied."""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_releases as R
from ansible_collections.apron.cluster.plugins.module_utils._artifact_plan import (
    NO_PUBLISHED_CHECKSUM,
    OFFLINE_LAYOUT,
    PUBLISHED,
    USER_SUPPLIED,
    ArtifactPlanError,
    binaries_outcome,
    binary_changes,
    binary_changes_diff,
    check_wanted,
    kubernetes_binaries_tarball,
)
from ansible_collections.apron.cluster.plugins.module_utils._artifact_store import (
    STAMP,
    cached_download,
    default_cache_dir,
    file_checksum,
    offline_tarball,
    unpack_members,
    unpacked_dir,
)
from ansible_collections.apron.cluster.plugins.modules.kubernetes_binaries_status import missing_binaries

from tests.helpers import run_module

REPO = Path(__file__).resolve().parents[4]
MASTER = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]
WORKER = ["kubelet", "kube-proxy", "kubectl"]


def sha512(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


# --- which tarball, which member, which checksum ------------------------------------------------

@pytest.mark.parametrize("wanted, kind", [
    (WORKER, "node"),
    (["kubectl"], "node"),
    (["kube-proxy"], "node"),
    (MASTER, "server"),
    (["kubelet", "kube-apiserver"], "server"),
    (MASTER + WORKER, "server"),
])
def test_smallest_tarball_that_carries_every_wanted_binary(wanted, kind):
    entry = kubernetes_binaries_tarball("1.36.0", "amd64", wanted)
    assert entry["kind"] == kind
    assert entry["filename"] == "kubernetes-%s-linux-amd64.tar.gz" % kind
    assert entry["url"] == "https://dl.k8s.io/v1.36.0/kubernetes-%s-linux-amd64.tar.gz" % kind
    assert set(entry["members"]) == set(wanted)
    for name, member in entry["members"].items():
        assert member == "kubernetes/%s/bin/%s" % (kind, name)


@pytest.mark.parametrize("version, minor", [("1.35.0", 35), ("1.36.0", 36)])
@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_published_checksum_of_the_pinned_release(version, minor, arch):
    node = kubernetes_binaries_tarball(version, arch, WORKER)
    server = kubernetes_binaries_tarball(version, arch, MASTER)
    assert node["checksum"] == "sha512:" + R.KUBERNETES[minor]["tarballs"]["node"][arch]
    assert server["checksum"] == "sha512:" + R.KUBERNETES[minor]["tarballs"]["server"][arch]
    assert node["checksum_status"] == server["checksum_status"] == PUBLISHED


def test_offline_layout_path():
    entry = kubernetes_binaries_tarball("1.36.0", "arm64", WORKER)
    assert entry["offline_path"] == "kubernetes/v1.36.0/kubernetes-node-linux-arm64.tar.gz"
    assert entry["offline_path"] == OFFLINE_LAYOUT["file"].format(
        name="kubernetes", version="1.36.0", filename="kubernetes-node-linux-arm64.tar.gz")


def test_wanted_names_deduplicated_in_order():
    assert check_wanted(["kubectl", "kubelet", "kubectl"]) == ["kubectl", "kubelet"]
    entry = kubernetes_binaries_tarball("1.36.0", "amd64", ["kubectl", "kubelet", "kubectl"])
    assert list(entry["members"]) == ["kubectl", "kubelet"]


@pytest.mark.parametrize("version", ["1.37.0", "1.36.3"])
def test_missing_checksum_refused_naming_the_override(version):
    with pytest.raises(ArtifactPlanError) as err:
        kubernetes_binaries_tarball(version, "amd64", WORKER)
    msg = str(err.value)
    assert "without a checksum (%s)" % NO_PUBLISHED_CHECKSUM in msg
    assert "Set kubernetes_artifact_overrides.kubernetes-%s.checksums.node-amd64" % version in msg
    assert "kubelet, kube-proxy, kubectl" in msg


def test_supplied_checksum_is_used():
    overrides = {"kubernetes-1.37.0": {"checksums": {"server-amd64": "ab" * 64}}}
    entry = kubernetes_binaries_tarball("1.37.0", "amd64", MASTER, overrides)
    assert entry["checksum"] == "sha512:" + "ab" * 64
    assert entry["checksum_status"] == USER_SUPPLIED
    assert entry["checksum_field"] == "kubernetes_artifact_overrides.kubernetes-1.37.0.checksums.server-amd64"


def test_malformed_supplied_checksum_names_the_field():
    with pytest.raises(ArtifactPlanError, match=r"kubernetes_artifact_overrides\.kubernetes-1\.37\.0\.checksums\."
                                                r"node-amd64: 'nope' is not a sha256"):
        kubernetes_binaries_tarball("1.37.0", "amd64", WORKER, {"kubernetes-1.37.0": {"checksums": {"node-amd64": "nope"}}})


@pytest.mark.parametrize("version", ["1.34.2", "1.38.0", "2.36.0"])
def test_unsupported_version_names_kubernetes_version(version):
    with pytest.raises(ArtifactPlanError) as err:
        kubernetes_binaries_tarball(version, "amd64", WORKER)
    assert str(err.value).startswith("kubernetes_version: Kubernetes %s is not supported (supported: 1.35.x" % version)


def test_bad_version_arch_and_names():
    with pytest.raises(ArtifactPlanError, match=r"^kubernetes_version: '1\.36' is not a full version"):
        kubernetes_binaries_tarball("1.36", "amd64", WORKER)
    with pytest.raises(ArtifactPlanError, match=r"^kubernetes_arch: 's390x' is not supported"):
        kubernetes_binaries_tarball("1.36.0", "s390x", WORKER)
    with pytest.raises(ArtifactPlanError, match=r"^kubernetes_binaries_wanted: 'kubeadm' not a Kubernetes binary"):
        kubernetes_binaries_tarball("1.36.0", "amd64", ["kubelet", "kubeadm"])
    with pytest.raises(ArtifactPlanError, match=r"^kubernetes_binaries_wanted: expected a non-empty list"):
        kubernetes_binaries_tarball("1.36.0", "amd64", [])
    with pytest.raises(ArtifactPlanError, match=r"^kubernetes_artifact_overrides: expected a dict"):
        kubernetes_binaries_tarball("1.36.0", "amd64", WORKER, ["x"])


# --- the offline directory and the download cache -------------------------------------------------

def user_entry(data, kind="node"):
    """A plan entry whose (user-supplied) checksum is that of ``data``."""
    return kubernetes_binaries_tarball("1.37.0", "amd64", WORKER if kind == "node" else MASTER,
                                       {"kubernetes-1.37.0": {"checksums": {"%s-amd64" % kind: sha512(data)}}})


def test_offline_missing_file_names_the_directory(tmp_path):
    entry = kubernetes_binaries_tarball("1.36.0", "amd64", WORKER)
    with pytest.raises(ArtifactPlanError) as err:
        offline_tarball(str(tmp_path), entry)
    msg = str(err.value)
    assert msg.startswith("kubernetes_artifacts_dir: %s/kubernetes/v1.36.0/kubernetes-node-linux-amd64.tar.gz does not "
                          "exist on the controller" % tmp_path)
    assert "https://dl.k8s.io/v1.36.0/kubernetes-node-linux-amd64.tar.gz" in msg and "Nothing was installed." in msg
    with pytest.raises(ArtifactPlanError, match=r"^kubernetes_artifacts_dir: empty, but kubernetes_artifacts_source=offline"):
        offline_tarball("", entry)


def test_offline_wrong_checksum_against_published(tmp_path):
    entry = kubernetes_binaries_tarball("1.36.0", "amd64", WORKER)
    path = tmp_path / entry["offline_path"]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the upstream file")
    with pytest.raises(ArtifactPlanError) as err:
        offline_tarball(str(tmp_path), entry)
    msg = str(err.value)
    assert msg.startswith("kubernetes_artifacts_dir: %s has %s, expected %s (published upstream, recorded in the "
                          "release manifest)" % (path, sha512(b"not the upstream file"), entry["checksum"]))
    assert "Replace it with the upstream https://dl.k8s.io/v1.36.0/kubernetes-node-linux-amd64.tar.gz" in msg
    assert msg.endswith("Nothing was installed.")


def test_offline_wrong_checksum_against_supplied_names_the_override(tmp_path):
    entry = user_entry(b"what I expected")
    path = tmp_path / entry["offline_path"]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"something else")
    with pytest.raises(ArtifactPlanError) as err:
        offline_tarball(str(tmp_path), entry)
    assert "(your kubernetes_artifact_overrides.kubernetes-1.37.0.checksums.node-amd64)" in str(err.value)
    assert "correct kubernetes_artifact_overrides.kubernetes-1.37.0.checksums.node-amd64" in str(err.value)


def test_offline_matching_file(tmp_path):
    entry = user_entry(b"payload")
    path = tmp_path / entry["offline_path"]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"payload")
    assert offline_tarball(str(tmp_path), entry) == str(path)


class Fetcher:
    def __init__(self, data=None, error=None):
        self.data, self.error, self.calls = data, error, []

    def __call__(self, url, handle):
        self.calls.append(url)
        if self.error:
            raise IOError(self.error)
        handle.write(self.data)


def test_download_verified_then_cached(tmp_path):
    entry = user_entry(b"payload")
    fetch = Fetcher(b"payload")
    path, downloaded = cached_download(str(tmp_path), entry, fetch)
    assert downloaded and path == str(tmp_path / entry["offline_path"])
    assert fetch.calls == ["https://dl.k8s.io/v1.37.0/kubernetes-node-linux-amd64.tar.gz"]
    again = Fetcher(error="must not be called")
    assert cached_download(str(tmp_path), entry, again) == (path, False)
    assert again.calls == []
    # a cached copy that no longer matches is downloaded again
    Path(path).write_bytes(b"bit rot")
    assert cached_download(str(tmp_path), entry, Fetcher(b"payload")) == (path, True)
    assert Path(path).read_bytes() == b"payload"


def test_download_failure_says_use_offline(tmp_path):
    entry = kubernetes_binaries_tarball("1.36.0", "amd64", WORKER)
    with pytest.raises(ArtifactPlanError) as err:
        cached_download(str(tmp_path), entry, Fetcher(error="Name or service not known"))
    assert str(err.value).startswith(
        "could not download https://dl.k8s.io/v1.36.0/kubernetes-node-linux-amd64.tar.gz: Name or service not known; "
        "use kubernetes_artifacts_source=offline with kubernetes_artifacts_dir")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_download_with_wrong_checksum_is_refused_and_removed(tmp_path):
    entry = user_entry(b"payload")
    with pytest.raises(ArtifactPlanError) as err:
        cached_download(str(tmp_path), entry, Fetcher(b"tampered"))
    assert str(err.value).startswith("kubernetes_artifacts_source=url: the download of "
                                     "https://dl.k8s.io/v1.37.0/kubernetes-node-linux-amd64.tar.gz has %s" % sha512(b"tampered"))
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_default_cache_dir_is_xdg():
    assert default_cache_dir({"XDG_CACHE_HOME": "/x/cache"}) == "/x/cache/apron/artifacts"
    assert default_cache_dir({}) == os.path.join(os.path.expanduser("~"), ".cache", "apron", "artifacts")


# --- unpacking (neutral member names, never a Kubernetes binary's) ---------------------------------

def make_tarball(path, members, links=()):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return str(path)


def test_unpack_wanted_members_and_keep_them(tmp_path):
    tarball = make_tarball(tmp_path / "t.tar.gz", {"pkg/bin/alpha": b"A" * 10, "pkg/bin/beta": b"B", "pkg/README": b"r"})
    checksum = file_checksum(tarball, "sha512")
    out = tmp_path / "bin"
    result, changed = unpack_members(tarball, checksum, {"alpha": "pkg/bin/alpha"}, str(out))
    assert changed
    assert result == {"alpha": {"src": str(out / "alpha"), "sha256": hashlib.sha256(b"A" * 10).hexdigest(),
                                "member": "pkg/bin/alpha"}}
    assert stat.S_IMODE((out / "alpha").stat().st_mode) == 0o755
    assert sorted(p.name for p in out.iterdir()) == [STAMP, "alpha"]
    # again: kept (verified by sha256), nothing unpacked
    assert unpack_members(tarball, checksum, {"alpha": "pkg/bin/alpha"}, str(out)) == (result, False)
    # a further member is added to the stamp, the first stays
    both, changed = unpack_members(tarball, checksum, {"alpha": "pkg/bin/alpha", "beta": "pkg/bin/beta"}, str(out))
    assert changed and set(both) == {"alpha", "beta"}
    assert set(json.loads((out / STAMP).read_text())["members"]) == {"alpha", "beta"}
    # a changed unpacked file is unpacked again
    (out / "alpha").write_bytes(b"changed")
    again, changed = unpack_members(tarball, checksum, {"alpha": "pkg/bin/alpha"}, str(out))
    assert changed and (out / "alpha").read_bytes() == b"A" * 10 and again["alpha"] == result["alpha"]


def test_unpack_refuses_absent_and_non_regular_members(tmp_path):
    tarball = make_tarball(tmp_path / "t.tar.gz", {"pkg/bin/alpha": b"A"}, links=[("pkg/bin/link", "/etc/passwd")])
    checksum = file_checksum(tarball, "sha512")
    with pytest.raises(ArtifactPlanError, match=r"does not contain pkg/bin/gamma \(expected the upstream layout"):
        unpack_members(tarball, checksum, {"gamma": "pkg/bin/gamma"}, str(tmp_path / "out"))
    with pytest.raises(ArtifactPlanError, match=r"member pkg/bin/link is not a regular file"):
        unpack_members(tarball, checksum, {"link": "pkg/bin/link"}, str(tmp_path / "out"))


def test_unpacked_dir_is_next_to_the_tarball():
    entry = kubernetes_binaries_tarball("1.36.0", "amd64", MASTER)
    assert unpacked_dir("/c/kubernetes/v1.36.0/kubernetes-server-linux-amd64.tar.gz", entry) == \
        "/c/kubernetes/v1.36.0/bin-server-linux-amd64"


# --- on the host: install / replace / fix / keep, and start vs stage -------------------------------

def test_binary_changes_and_diff():
    binaries = {"kubelet": {"sha256": "11" * 32}, "kube-proxy": {"sha256": "22" * 32},
                "kubectl": {"sha256": "33" * 32}, "crictl-like": {"sha256": "44" * 32}}
    current = {
        "kubelet": {"exists": False},
        "kube-proxy": {"exists": True, "isreg": True, "checksum": "99" * 32, "mode": "0755", "uid": 0, "gid": 0,
                       "pw_name": "root", "gr_name": "root"},
        "kubectl": {"exists": True, "isreg": True, "checksum": "33" * 32, "mode": "0700", "uid": 0, "gid": 0,
                    "pw_name": "root", "gr_name": "root"},
        "crictl-like": {"exists": True, "isreg": True, "checksum": "44" * 32, "mode": "0755", "uid": 0, "gid": 0},
    }
    changes = binary_changes(binaries, current, "1.36.0")
    assert [(c["name"], c["action"]) for c in changes] == [
        ("kubelet", "install"), ("kube-proxy", "replace"), ("kubectl", "fix"), ("crictl-like", "keep")]
    diff = binary_changes_diff(changes, "/usr/local/bin")
    assert diff["before"].splitlines() == [
        "kubelet: absent",
        "kube-proxy: sha256:%s 0755 root:root" % ("99" * 32),
        "kubectl: sha256:%s 0700 root:root" % ("33" * 32),
        "crictl-like: sha256:%s 0755 root:root (Kubernetes 1.36.0)" % ("44" * 32),
    ]
    assert diff["after"].splitlines()[0] == "kubelet: sha256:%s 0755 root:root (Kubernetes 1.36.0)" % ("11" * 32)
    link = binary_changes({"kubelet": {"sha256": "11" * 32}}, {"kubelet": {"exists": True, "islnk": True}}, "1.36.0")
    assert link[0]["action"] == "replace" and link[0]["before"] == "not a regular file"


def test_missing_binaries_needs_executable_files(tmp_path):
    (tmp_path / "kubectl").write_bytes(b"x")
    (tmp_path / "kubectl").chmod(0o755)
    (tmp_path / "kubelet").write_bytes(b"x")
    (tmp_path / "kubelet").chmod(0o644)
    (tmp_path / "kube-proxy").mkdir()
    assert missing_binaries(WORKER, str(tmp_path)) == ["kubelet", "kube-proxy"]
    # in check mode, what the install task would put there counts as present
    assert missing_binaries(WORKER, str(tmp_path), ["kubelet"], check_mode=True) == ["kube-proxy"]
    assert missing_binaries(WORKER, str(tmp_path), ["kubelet"], check_mode=False) == ["kubelet", "kube-proxy"]


def test_outcome_nothing_missing():
    assert binaries_outcome(WORKER, [], "start", "1.36.0", "amd64", "/usr/local/bin") == {
        "missing": [], "failed": False, "msg": None}


def test_outcome_start_refuses_naming_each_file_and_three_ways():
    out = binaries_outcome(WORKER, ["kubectl", "kubelet"], "start", "1.36.0", "amd64", "/usr/local/bin")
    assert out["failed"] and out["missing"] == ["kubelet", "kubectl"]
    msg = out["msg"]
    assert msg.startswith("kubernetes_mode=start needs the Kubernetes 1.36.0 binaries, and these are missing (not "
                          "executable): /usr/local/bin/kubelet, /usr/local/bin/kubectl. Supply them one of three ways: ")
    assert "kubernetes_artifacts_source=url (downloads https://dl.k8s.io/v1.36.0/kubernetes-node-linux-amd64.tar.gz" in msg
    assert ("kubernetes_artifacts_source=offline with kubernetes_artifacts_dir holding "
            "kubernetes/v1.36.0/kubernetes-node-linux-amd64.tar.gz") in msg
    assert "kubernetes_artifacts_source=preinstalled with the binaries already executable in /usr/local/bin" in msg
    assert msg.endswith("Or set kubernetes_mode=stage to install and configure everything without starting them.")


def test_outcome_stage_reports_and_does_not_fail():
    out = binaries_outcome(MASTER, ["kube-apiserver"], "stage", "1.35.0", "arm64", "/opt/bin/")
    assert not out["failed"] and out["missing"] == ["kube-apiserver"]
    assert out["msg"].startswith("staged without: kube-apiserver (kubernetes_mode=stage: configured, not started; "
                                 "missing /opt/bin/kube-apiserver). To start them, supply them one of three ways:")
    assert "kubernetes-node-linux-arm64.tar.gz" in out["msg"]
    assert out["msg"].endswith("then run with kubernetes_mode=start.")
    with pytest.raises(ArtifactPlanError, match="kubernetes_mode: 'run' is not start or stage"):
        binaries_outcome(MASTER, [], "run", "1.35.0", "arm64", "/opt/bin")


# --- the controller module as a real process -------------------------------------------------------

def module(name, check=False, **args):
    return run_module(name, args, check, timeout=60)


def test_module_preinstalled_checks_version_only(tmp_path):
    ok = module("kubernetes_artifacts", version="1.36.0", wanted=WORKER, source="preinstalled",
                cache_dir=str(tmp_path))
    assert not ok.get("failed") and not ok["changed"] and ok["wanted"] == WORKER and ok["binaries"] == {}
    bad = module("kubernetes_artifacts", version="1.33.0", wanted=WORKER, source="preinstalled",
                 cache_dir=str(tmp_path))
    assert bad["failed"] and bad["msg"].startswith("apron.cluster.kubernetes: kubernetes_version: Kubernetes "
                                                   "1.33.0 is not supported")
    assert not list(tmp_path.iterdir())


def test_module_offline_unpacks_into_the_cache_never_the_offline_dir(tmp_path):
    # a user-supplied checksum of a file that is not a tarball: verified, then unpacking refuses it
    art, cache = tmp_path / "art", tmp_path / "cache"
    data = b"not a tarball"
    path = art / "kubernetes/v1.37.0/kubernetes-node-linux-amd64.tar.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    result = module("kubernetes_artifacts", version="1.37.0", wanted=WORKER, source="offline",
                    artifacts_dir=str(art), cache_dir=str(cache),
                    overrides={"kubernetes-1.37.0": {"checksums": {"node-amd64": sha512(data)}}})
    assert result["failed"] and result["msg"].startswith(
        "apron.cluster.kubernetes: cannot unpack %s (verified against its checksum, but not a readable gzip "
        "tarball)" % path)
    assert sorted(p.name for p in art.rglob("*")) == ["kubernetes", "kubernetes-node-linux-amd64.tar.gz", "v1.37.0"]


def test_status_module_stage_warns_and_sets_the_fact(tmp_path):
    result = module("kubernetes_binaries_status", wanted=WORKER, bin_dir=str(tmp_path), mode="stage",
                    version="1.36.0")
    assert not result.get("failed") and not result["changed"]
    assert result["ansible_facts"] == {"kubernetes_binaries_missing": WORKER}
    assert "staged without: kubelet, kube-proxy, kubectl (kubernetes_mode=stage" in json.dumps(result["warnings"])
    failed = module("kubernetes_binaries_status", wanted=WORKER, bin_dir=str(tmp_path), mode="start",
                    version="1.36.0")
    assert failed["failed"] and "kubernetes_mode=start needs" in failed["msg"]
    assert failed["ansible_facts"] == {"kubernetes_binaries_missing": WORKER}
