# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.artifact_manifest as a real process (AnsibleModule reading its JSON args), and
playbooks/artifacts.yml through ansible-playbook on the local example model."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils._model import load_model

from tests.helpers import run_module

REPO = Path(__file__).resolve().parents[4]
MODEL = load_model([str(REPO / "inventories/local/model")]).to_dict()


def run(check=False, diff=False, **args):
    args.setdefault("model", MODEL)
    return run_module("artifact_manifest", args, check, diff, timeout=60)


def test_writes_then_unchanged(tmp_path):
    dest = tmp_path / "mirror"
    result = run(dest=str(dest), check=True, diff=True)
    assert result["changed"] and not dest.exists()
    assert [d["after_header"] for d in result["diff"]] == [str(dest / "artifacts.json"), str(dest / "urls.txt")]
    result = run(dest=str(dest))
    assert result["changed"], result
    plan = json.loads((dest / "artifacts.json").read_text())
    assert plan["kubernetes"] == {"dev": "1.36.0"}
    urls = (dest / "urls.txt").read_text().splitlines()
    assert "https://dl.k8s.io/v1.36.0/kubernetes-server-linux-amd64.tar.gz" in urls
    assert urls == result["urls"]
    assert oct((dest / "urls.txt").stat().st_mode & 0o777) == "0o644"
    assert "without a checksum or a pinned version" in json.dumps(result["warnings"])
    again = run(dest=str(dest), diff=True)
    assert not again["changed"] and again["diff"] == []
    # an override changes the plan: reported and written
    changed = run(dest=str(dest), diff=True, overrides={"pause": {"version": "3.10"}})
    assert changed["changed"] and "registry.k8s.io/pause:3.10" in (dest / "urls.txt").read_text()
    assert [d["after_header"] for d in changed["diff"]] == [str(dest / "artifacts.json"), str(dest / "urls.txt")]


def test_require_checksums_lists_inputs(tmp_path):
    result = run(dest=str(tmp_path), require_checksums=True)
    assert result["failed"]
    assert "require_checksums:" in result["msg"]
    assert "set overrides.crictl.checksum" in result["msg"] and "set overrides.pause.version" in result["msg"]
    assert not list(tmp_path.iterdir())


def test_unsupported_version_fails_before_writing(tmp_path):
    model = json.loads(json.dumps(MODEL))
    model["clusters"]["dev"]["spec"]["kubernetesVersion"] = "1.33.1"
    result = run(dest=str(tmp_path), model=model)
    assert result["failed"]
    assert "Cluster/dev spec.kubernetesVersion: Kubernetes 1.33.1 is not supported (supported: 1.35.x, 1.36.x, 1.37.x" in result["msg"]
    assert not list(tmp_path.iterdir())


def test_bad_etcd_checksum(tmp_path):
    result = run(dest=str(tmp_path), etcd_release_version="3.5.1", etcd_release_sha256="nope")
    assert result["failed"] and "etcd_release_sha256: 'nope' is not a sha256" in result["msg"]


@pytest.mark.skipif(shutil.which("ansible-playbook") is None and not (REPO / ".venv/bin/ansible-playbook").exists(),
                    reason="ansible-playbook is not installed (make venv)")
def test_playbook(tmp_path):
    exe = shutil.which("ansible-playbook") or str(REPO / ".venv/bin/ansible-playbook")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".collections"))
    cmd = [exe, str(REPO / "playbooks/artifacts.yml"), "-e", "apron_artifacts_dest=%s" % tmp_path,
           "-e", json.dumps({"apron_artifact_overrides": {"coredns": {"version": "1.12.0"}}})]
    result = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clusters: dev=1.36.0" in result.stdout
    assert "registry.k8s.io/coredns/coredns:v1.12.0" in (tmp_path / "urls.txt").read_text()
    again = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert "changed=0" in again.stdout and "failed=0" in again.stdout
