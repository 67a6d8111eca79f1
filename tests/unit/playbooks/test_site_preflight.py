# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""playbooks/site.yml stops before any host changes: when the inventory's model is invalid, when
nothing is provisioned, and when a targeted host does not answer (every such host is named)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
SITE = REPO / "playbooks" / "site.yml"


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(source, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="False")
    return subprocess.run(["ansible-playbook", "-i", str(source), str(SITE)] + list(extra), env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _no_role_ran(output):
    assert "TASK [apron.cluster." not in output
    for play in ("Bastion", "Vault", "Etcd", "Masters", "Nodes"):
        assert "PLAY [%s]" % play not in output


def test_invalid_model_stops_before_any_host(tmp_path):
    shutil.copytree(REPO / "inventories" / "local" / "model", tmp_path / "model")
    pool = tmp_path / "model" / "pool-dev-etcd.yml"
    pool.write_text(pool.read_text().replace("count: 3", "count: three"))
    source = tmp_path / "dev.apron.yml"
    source.write_text(yaml.safe_dump({"plugin": "apron.cluster.instance_pools", "model": "model/",
                                      "backend": "terraform", "base_dir": str(tmp_path)}))
    result = _run(source)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "holds no apron model" in out
    assert "count" in out  # the inventory's warning names the invalid value
    _no_role_ran(out)


def test_nothing_provisioned_says_what_to_run(tmp_path):
    shutil.copytree(REPO / "inventories" / "local" / "model", tmp_path / "model")
    source = tmp_path / "dev.apron.yml"
    source.write_text(yaml.safe_dump({"plugin": "apron.cluster.instance_pools", "model": "model/",
                                      "backend": "terraform", "base_dir": str(tmp_path)}))
    result = _run(source)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "has no provisioned host yet" in out and "playbooks/cluster.yml" in out
    _no_role_ran(out)


# Distinct loopback addresses: the model refuses one address twice in a provider's pools.
STATIC_MODEL = """
apiVersion: apron.io/v1alpha1
kind: Provider
metadata: {name: dc}
spec:
  type: static
  static: {sshUser: nobody, sshPort: PORT}
---
apiVersion: apron.io/v1alpha1
kind: Environment
metadata: {name: lab}
spec: {provider: dc}
---
apiVersion: apron.io/v1alpha1
kind: Cluster
metadata: {name: lab}
spec:
  environment: lab
  network: {zones: [{name: z1}]}
---
apiVersion: apron.io/v1alpha1
kind: InstancePool
metadata: {name: lab-bastion}
spec: {cluster: lab, role: bastion, hosts: [{name: lab-bastion-0, address: 127.0.0.1}]}
---
apiVersion: apron.io/v1alpha1
kind: InstancePool
metadata: {name: lab-etcd}
spec:
  cluster: lab
  role: etcd
  count: 3
  hosts:
    - {name: lab-etcd-0, address: 127.0.0.2}
    - {name: lab-etcd-1, address: 127.0.0.3}
    - {name: lab-etcd-2, address: 127.0.0.4}
---
apiVersion: apron.io/v1alpha1
kind: InstancePool
metadata: {name: lab-master}
spec: {cluster: lab, role: master, hosts: [{name: lab-master-0, address: 127.0.0.5}]}
---
apiVersion: apron.io/v1alpha1
kind: InstancePool
metadata: {name: lab-vault}
spec: {cluster: lab, role: vault, hosts: [{name: lab-vault-0, address: 127.0.0.6}]}
"""


def test_unreachable_hosts_are_named_and_nothing_is_applied(tmp_path):
    (tmp_path / "model.yml").write_text(STATIC_MODEL.replace("PORT", str(_closed_port())))
    source = tmp_path / "lab.apron.yml"
    # lab-etcd-0 answers (local connection); the bastion and the other members do not
    source.write_text(yaml.safe_dump({
        "plugin": "apron.cluster.instance_pools", "model": "model.yml", "backend": "static", "proxy_jump": False,
        "compose": {"ansible_connection": "'local' if inventory_hostname == 'lab-etcd-0' else 'ssh'",
                    "ansible_python_interpreter": "'%s' if inventory_hostname == 'lab-etcd-0' else 'auto'"
                    % shutil.which("python3")}}))
    result = _run(source, "-e", "apron_preflight_timeout=3")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert ("Not reachable: lab-bastion-0, lab-vault-0, lab-etcd-1, lab-etcd-2, lab-master-0."
            " Nothing was applied to any host.") in out
    _no_role_ran(out)
