# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""A role variable set over a model value wins, and validate.yml's resolved-model print says so
(apron.cluster.model_overrides); make demo's line after the recap (callback change_summary)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.apron.cluster.plugins.callback.change_summary import summary_line
from ansible_collections.apron.cluster.plugins.filter.apron_site import MODEL_ROLE_VARS, model_overrides

REPO = Path(__file__).resolve().parents[3]


def _etcd(host, **extra):
    apron = {"role": "etcd", "cluster": "dev", "data_mount": "/var/lib/apron/etcd", "admin_cidrs": ["10.0.0.0/8"]}
    return dict(extra, apron=apron, inventory_hostname=host)


def test_role_variable_over_a_model_value_is_named_with_both_values_and_its_hosts():
    hostvars = {"e0": _etcd("e0", etcd_data_root="/srv/etcd"), "e1": _etcd("e1", etcd_data_root="/srv/etcd"),
                "e2": _etcd("e2")}
    [entry] = model_overrides(hostvars, ["e0", "e1", "e2"])
    assert entry["variable"] == "etcd_data_root" and entry["hosts"] == ["e0", "e1"]
    assert entry["model_path"] == "apron.data_mount" and entry["same"] is False
    assert entry["message"] == ('etcd_data_root = "/srv/etcd" (role variable) wins over the model\'s '
                                'apron.data_mount = "/var/lib/apron/etcd" on e0, e1')


def test_same_value_is_reported_as_such_and_distinct_values_separately():
    hostvars = {"e0": _etcd("e0", etcd_data_root="/var/lib/apron/etcd"), "e1": _etcd("e1", etcd_data_root="/x")}
    entries = model_overrides(hostvars, ["e0", "e1"])
    assert sorted((e["hosts"][0], e["same"]) for e in entries) == [("e0", True), ("e1", False)]
    assert any("is set to the same value as" in e["message"] for e in entries)


def test_variables_of_other_roles_hosts_without_apron_and_empty_model_values_are_left_out():
    hostvars = {
        "e0": _etcd("e0", bastion_admin_cidrs=["1.2.3.4/32"]),           # not a bastion: not read
        "static": {"etcd_data_root": "/srv"},                              # not from the instance_pools inventory
        "b0": {"apron": {"role": "bastion", "admin_users": [], "admin_cidrs": ["10.0.0.0/8"]},
               "bastion_admin_users": [{"name": "ops"}], "bastion_admin_cidrs": ["192.0.2.0/24"]},
    }
    [entry] = model_overrides(hostvars, ["e0", "static", "b0", "absent"])
    assert entry["variable"] == "bastion_admin_cidrs" and entry["hosts"] == ["b0"]


def test_nested_model_paths():
    hostvars = {"m0": {"apron": {"role": "master", "cluster_spec": {"kubernetesVersion": "1.36.0"}},
                       "kubernetes_version": "1.35.2"}}
    [entry] = model_overrides(hostvars, ["m0"])
    assert entry["model_path"] == "apron.cluster_spec.kubernetesVersion" and entry["model_value"] == "1.36.0"


def test_bad_hosts_argument_names_it():
    with pytest.raises(AnsibleFilterError, match="expected a list of host names"):
        model_overrides({}, "dev-etcd-0")


@pytest.mark.parametrize("name", sorted(MODEL_ROLE_VARS))
def test_table_matches_the_role_defaults(name):
    """One owner: each table entry's role default reads exactly that path of the apron hostvar."""
    path, _roles = MODEL_ROLE_VARS[name]
    role = "kubernetes" if name.startswith("kubernetes_") else name.split("_")[0]
    defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
    expr = defaults[name]
    assert "apron" in expr, expr
    for key in path:
        assert re.search(r"\.%s\b" % re.escape(key), expr), (name, key, expr)


def test_every_role_default_read_from_the_model_is_in_the_table():
    known = set(MODEL_ROLE_VARS) | {"pki_ca_dir"}  # pki_ca_dir: a directory under apron.controller_dir, not a model value
    for defaults in (REPO / "roles").glob("*/defaults/main.yml"):
        for name, value in (yaml.safe_load(defaults.read_text()) or {}).items():
            # a filter's FQCN (| apron.cluster.<filter>) is not a read of the `apron` hostvar
            if isinstance(value, str) and re.search(r"\(?apron\b[ |)]*[.|]", re.sub(r"\|\s*apron\.cluster\.\w+", "|", value)):
                assert name in known, "%s (%s) reads the model: add it to MODEL_ROLE_VARS" % (name, defaults)


def test_change_summary_line():
    assert summary_line({"a": {"changed": 0}, "b": {"changed": 0}}) == \
        "apron: nothing changed (changed=0 on every host: 2 host(s))"
    assert summary_line({"a": {"changed": 3}, "b": {"changed": 0}}) == "apron: changes made; changed: a=3"
    assert summary_line({"a": {"changed": 1, "failures": 1}, "b": {"unreachable": 1}}) == \
        "apron: the run FAILED on a, b; changed: a=1"


STATIC_MODEL = """
apiVersion: apron.io/v1alpha1
kind: Provider
metadata: {name: dc}
spec: {type: static, static: {sshUser: nobody}}
---
apiVersion: apron.io/v1alpha1
kind: Environment
metadata: {name: lab}
spec: {provider: dc}
---
apiVersion: apron.io/v1alpha1
kind: Cluster
metadata: {name: lab}
spec: {environment: lab, network: {zones: [{name: z1}]}}
---
apiVersion: apron.io/v1alpha1
kind: InstancePool
metadata: {name: lab-etcd}
spec:
  cluster: lab
  role: etcd
  count: 1
  hosts: [{name: lab-etcd-0, address: 127.0.0.2}]
---
apiVersion: apron.io/v1alpha1
kind: InstancePool
metadata: {name: lab-bastion}
spec: {cluster: lab, role: bastion, hosts: [{name: lab-bastion-0, address: 127.0.0.1}]}
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


def test_validate_prints_the_role_variable_that_wins(tmp_path):
    """Through a real inventory: group_vars/etcd.yml sets pki_cluster over the model's cluster name."""
    import os
    import subprocess

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "lab.yml").write_text(STATIC_MODEL)
    (tmp_path / "lab.apron.yml").write_text(yaml.safe_dump({
        "plugin": "apron.cluster.instance_pools", "model": "model/", "backend": "static", "proxy_jump": False}))
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "etcd.yml").write_text("pki_cluster: lab-pki\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(["ansible-playbook", "-i", str(tmp_path), str(REPO / "playbooks" / "validate.yml"),
                             "-e", "apron_model=%s" % (tmp_path / "model")], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    printed = out.split("Role variables set over a model value")[1]
    assert "pki_cluster" in printed and "(role variable) wins over the model's apron.cluster" in printed, out
    assert "lab-etcd-0" in printed, out
