# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""playbooks/status.yml and playbooks/logs.yml end to end on a static inventory whose first etcd
host is this machine (local connection) and whose other hosts do not answer: the table and the
JSON report, the archive, and unreachable hosts named instead of failing the run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import yaml

from test_site_preflight import STATIC_MODEL, _closed_port

REPO = Path(__file__).resolve().parents[3]


def _inventory(tmp_path):
    (tmp_path / "model.yml").write_text(STATIC_MODEL.replace("PORT", str(_closed_port())))
    source = tmp_path / "lab.apron.yml"
    source.write_text(yaml.safe_dump({
        "plugin": "apron.cluster.instance_pools", "model": "model.yml", "backend": "static", "proxy_jump": False,
        "base_dir": str(tmp_path),
        "compose": {"ansible_connection": "'local' if inventory_hostname == 'lab-etcd-0' else 'ssh'",
                    "ansible_python_interpreter": "'%s' if inventory_hostname == 'lab-etcd-0' else 'auto'"
                    % shutil.which("python3"),
                    "ansible_become": "false"}}))
    return source


def _run(source, playbook, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_TIMEOUT="5")
    return subprocess.run(["ansible-playbook", "-i", str(source), str(REPO / "playbooks" / playbook),
                           "--limit", "lab-etcd-0,lab-etcd-1,lab-bastion-0"] + list(extra),
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def test_status_reports_reachable_and_unreachable_hosts(tmp_path):
    source = _inventory(tmp_path)
    out_file = tmp_path / "status.json"
    run = _run(source, "status.yml", "-e", "apron_status_file=%s" % out_file)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(out_file.read_text())
    hosts = {h["name"]: h for h in report["hosts"]}
    assert sorted(hosts) == ["lab-bastion-0", "lab-etcd-0", "lab-etcd-1"]
    assert hosts["lab-etcd-0"]["reachable"] is True and hosts["lab-etcd-0"]["role"] == "etcd"
    assert "debian" in hosts["lab-etcd-0"]["versions"]
    assert hosts["lab-etcd-1"]["reachable"] is False
    assert report["summary"]["unreachable"] == ["lab-bastion-0", "lab-etcd-1"]
    assert report["summary"]["ok"] is False
    assert "HOSTS" in run.stdout and "SUMMARY: ATTENTION - 3 host(s), unreachable: lab-bastion-0, lab-etcd-1" in run.stdout
    # with apron_status_fail the same findings fail the run
    failing = _run(source, "status.yml", "-e", "apron_status_file=%s" % out_file, "-e", "apron_status_fail=true")
    assert failing.returncode != 0 and "SUMMARY: ATTENTION" in failing.stdout


def test_logs_archive(tmp_path):
    source = _inventory(tmp_path)
    run = _run(source, "logs.yml", "-e", "apron_logs_dir=%s" % (tmp_path / "logs"))
    assert run.returncode == 0, run.stdout + run.stderr
    [archive] = list((tmp_path / "logs").glob("apron-logs-*.tar.gz"))
    with tarfile.open(archive) as tar:
        names = sorted(os.path.basename(m.name) for m in tar.getmembers() if m.isfile())
        missing = tar.extractfile([m for m in tar.getmembers() if m.name.endswith("MISSING")][0]).read().decode()
    assert names == ["MISSING", "lab-etcd-0.log"]
    assert missing.split() == ["lab-bastion-0", "lab-etcd-1"]
    assert "not read: lab-bastion-0, lab-etcd-1" in run.stdout
