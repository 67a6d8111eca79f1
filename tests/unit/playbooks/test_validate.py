# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""End to end: playbooks/validate.yml runs the cluster_model module through ansible-playbook."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.model import base_model, find, write

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "validate.yml"

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook") is None and not (REPO / ".venv/bin/ansible-playbook").exists(),
                                reason="ansible-playbook is not installed (make venv)")


def _run(*extra, cwd=REPO):
    exe = shutil.which("ansible-playbook") or str(REPO / ".venv/bin/ansible-playbook")
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".collections"))
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_LOCALHOST_WARNING"] = "0"
    return subprocess.run([exe, str(PLAYBOOK), *extra], cwd=str(cwd), env=env, capture_output=True,
                          text=True, check=False, timeout=300)


def test_validate_local_example():
    result = _run()
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "changed=0" in out and "failed=0" in out
    assert "dev-etcd-0, dev-etcd-1, dev-etcd-2" in out
    # every resource printed with values and sources
    for ref in ("Provider/local", "Environment/dev", "Cluster/dev", "InstancePool/dev-etcd"):
        assert "item=%s" % ref in out
    assert "builtin:role/etcd" in out
    assert "inventories/local/model/pool-dev-etcd.yml:" in out


def test_validate_bad_model_fails_with_location(tmp_path):
    files = base_model()
    find(files, "InstancePool", "dev-etcd")["spec"]["count"] = 2
    find(files, "Cluster", "dev")["spec"]["network"]["vpcCIDR"] = "10.98.0.0/40"
    directory = write(tmp_path / "model", files)
    result = _run("-e", "apron_model=%s" % directory)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "invalid cluster model: 2 errors (each listed under errors)" in out
    # each error is printed once (not in the error line, the result's msg and its errors list)
    assert out.count("an odd count (1, 3, 5...): etcd needs a quorum") == 1, out
    assert out.count("a prefix length of at most 32 for IPv4") == 1, out
    assert "file: %s/pools.yml" % directory in out and "path: spec.count" in out
    assert "file: %s/cluster.yml" % directory in out and "path: spec.network.vpcCIDR" in out
    # values as YAML, not Python
    assert "'10.98.0.0/40'" not in out and "None" not in out


def test_validate_warns_about_an_empty_file_and_an_open_api_server(tmp_path):
    files = base_model()
    files["empty.yml"] = "# nothing yet\n"
    find(files, "Cluster", "dev")["spec"]["apiServer"] = {
        "exposure": "public", "allowedCIDRs": ["0.0.0.0/0"], "acknowledgeOpenToInternet": True}
    directory = write(tmp_path / "model", files)
    result = _run("-e", "apron_model=%s" % directory)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, out
    assert "[WARNING]: cluster model: %s: empty model file" % (directory / "empty.yml") in out
    assert "[WARNING]: cluster model: %s:22: Cluster/dev: spec.apiServer.allowedCIDRs[0]: 0.0.0.0/0: the public API " \
           "server is open to the whole internet" % (directory / "cluster.yml") in out
    # and in the resolved-model print, under the value
    assert "!! WARNING: the public API server is open to the whole internet" in out


def test_validate_filters_one_cluster(tmp_path):
    # a relative path is relative to where ansible-playbook runs
    result = _run("-e", "apron_model=inventories/aws-example/multi/model", "-e", "apron_cluster=green")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "item=Cluster/green" in out and "item=Cluster/platform-hub" in out
    assert "item=Cluster/blue" not in out


def test_module_check_mode_and_unknown_cluster():
    extra = ["--check", "-e", "apron_cluster=nope"]
    result = _run(*extra)
    assert result.returncode != 0
    assert "cluster nope is not in the model (known: dev)" in result.stdout
