# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""playbooks/kubeconfig.yml on a fixture inventory (terraform state files of a local-provider fleet):
dev-master-0 does not answer (its bastion's port is closed), dev-master-1 is this machine
(``ansible_connection: local``, its kubernetes_pki_dir a temporary directory holding an admin identity).
The file is read back with the real kubectl; a second run and --check --diff change nothing; the
refusals write nothing. The live cluster is tests/integration/test_cluster_e2e.py's."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import admin_pki
from tests.helpers.inventory import copy_fixture, free_port, instance, write_source, write_state

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "kubeconfig.yml"
ENV, CLUSTER = "dev", "main"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")


def _inventory(root, masters=2):
    inv = copy_fixture("local", root / "inv")
    model = inv / "model.yml"
    model.write_text(model.read_text().replace("role: master, zones", "role: master, count: %d, zones" % masters))
    write_state(root / "state", ENV, CLUSTER, "tools", {
        "dev-bastion-0": instance("dev-bastion-0", ENV, CLUSTER, "dev-bastion", "bastion", "local-a", 0,
                                  "10.90.0.2", ssh_host="127.0.0.1", ssh_port=free_port())})
    write_state(root / "state", ENV, CLUSTER, "kubernetes", dict(
        ("dev-master-%d" % i, instance("dev-master-%d" % i, ENV, CLUSTER, "dev-master", "master", "local-a", i,
                                       "10.90.0.%d" % (20 + i))) for i in range(masters)))
    (inv / "host_vars").mkdir()
    (inv / "host_vars" / "dev-master-1.yml").write_text(
        "ansible_connection: local\nansible_become: false\nansible_python_interpreter: %s\n"
        "kubernetes_pki_dir: %s\n" % (sys.executable, root / "pki"))
    return write_source(inv, model="model.yml", base_dir="..")


def _play(source, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    run = subprocess.run(["ansible-playbook", "-i", str(source), str(PLAYBOOK)] + list(extra), env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    return run, run.stdout + run.stderr


def _changed(output):
    return int(output.split("PLAY RECAP")[-1].split("changed=")[1].split()[0])


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("kubeconfig")
    source = _inventory(root)
    identity = admin_pki.admin()
    admin_pki.write(identity, root / "pki" / "admin")
    return root, source, identity


def test_writes_the_kubeconfig_from_the_first_master_that_answers(fleet):
    root, source, identity = fleet
    run, out = _play(source, "-v")
    assert run.returncode == 0, out
    path = root / ".apron" / "kubeconfig" / "main.kubeconfig"
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert "dev-master-0" in out and "UNREACHABLE" in out  # asked first, passed over
    view = json.loads(subprocess.run(["kubectl", "config", "view", "--kubeconfig", str(path), "--raw", "-o", "json"],
                                     capture_output=True, text=True, check=True).stdout)
    [cluster], [user], [context] = view["clusters"], view["users"], view["contexts"]
    assert cluster == {"name": "main", "cluster": {
        "server": "https://10.90.0.21:6443", "proxy-url": "socks5://127.0.0.1:1080",
        "certificate-authority-data": base64.b64encode(identity["ca"]).decode()}}
    assert user["name"] == "apron-admin@main" and view["current-context"] == "main"
    assert context == {"name": "main", "context": {"cluster": "main", "user": "apron-admin@main"}}
    cert = base64.b64decode(user["user"]["client-certificate-data"])
    assert admin_pki.subject_and_chain(cert, base64.b64decode(cluster["cluster"]["certificate-authority-data"])) == (
        "apron-admin", ["apron:cluster-admins"], True)
    assert base64.b64decode(user["user"]["client-key-data"]) == identity["key"]
    # the key is in the file only, never in the output (even with -v)
    for secret in (base64.b64encode(identity["key"]).decode()[:40], identity["key"].decode().splitlines()[1]):
        assert secret not in out
    # no host path in the file, and the tunnel is named in it and in the output
    text = path.read_text()
    assert "/admin/" not in text and str(root / "pki") not in text
    tunnel = "ssh -F %s -D 127.0.0.1:1080 -N dev-bastion-0" % (root / ".apron" / "ssh" / "dev.config")
    flat = " ".join(out.split())  # the callback wraps long lines
    assert tunnel in text and tunnel in flat and "playbooks/ssh-config.yml" in flat
    assert "then: kubectl --kubeconfig %s get nodes" % path in flat


def test_second_run_and_check_diff_change_nothing(fleet):
    root, source, _fixture = fleet
    run, out = _play(source)
    assert run.returncode == 0 and _changed(out) == 0, out
    run, out = _play(source, "--check", "--diff")
    assert run.returncode == 0 and _changed(out) == 0, out


def test_check_mode_writes_nothing(fleet):
    root, source, _fixture = fleet
    path = root / "elsewhere" / "admin.kubeconfig"
    run, out = _play(source, "--check", "--diff", "-e", "apron_kubeconfig_file=%s" % path)
    assert run.returncode == 0 and _changed(out) == 2, out  # the directory and the file
    assert not path.parent.exists()
    assert "would write %s" % path in " ".join(out.split())


def test_refusals_write_nothing(fleet, tmp_path):
    root, source, _fixture = fleet
    path = tmp_path / "admin.kubeconfig"
    run, out = _play(source, "-e", "kubernetes_pki_dir=%s" % (tmp_path / "empty"), "-e",
                     "apron_kubeconfig_file=%s" % path)
    assert run.returncode != 0 and not path.exists()
    assert ("the admin certificate %s/admin/admin.crt does not exist on dev-master-1 yet: run playbooks/site.yml "
            "--tags master first" % (tmp_path / "empty")) in " ".join(out.split())
    assert "no answer from dev-master-0" in out and "Nothing was written." in out
    # no master at all
    bare = _inventory(tmp_path / "bare", masters=0)
    run, out = _play(bare)
    assert run.returncode != 0 and "the inventory has no master host" in out, out
    assert not (tmp_path / "bare" / ".apron" / "kubeconfig").exists()
