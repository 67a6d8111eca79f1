# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The collection tarball ships only the collection, and an installed tarball is the copy Ansible
uses when scripts/env.sh is sourced with APRON_COLLECTIONS_PATH (the checkout does not shadow it)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
TARBALL = "apron-cluster-%s.tar.gz" % VERSION

# What a development checkout holds besides the collection (made by bootstrap, tests, terraform, tools).
JUNK = [
    ".venv/bin/python3",
    ".venv-checkov/lib/python3.11/site-packages/checkov/__init__.py",
    ".collections/ansible_collections/README",
    ".apron/state/dev/dev/state/terraform.tfstate",
    ".apron/pki/dev/etcd-k8s-main/ca.key",
    ".cache/pip/x",
    ".ansible/tmp/x",
    ".pytest_cache/v/cache/nodeids",
    "tests/output/junit/x.xml",
    "tests/unit/__pycache__/x.cpython-311.pyc",
    "plugins/module_utils/__pycache__/_model.cpython-311.pyc",
    "terraform/local/state/.terraform/terraform.tfstate",
    "terraform/local/state/.terraform.lock.hcl",
    "terraform/local/state/terraform.tfstate",
    "terraform/local/state/terraform.tfstate.1700000000.backup",
    "build/dist/apron-cluster-0.0.1.tar.gz",
    "benchmarks/results/run.json",
]
# Never in a tarball, whatever the checkout holds.
FORBIDDEN = [".venv*", ".collections*", ".apron*", ".cache*", ".ansible/*", ".pytest_cache*", "tests/output*",
             "*__pycache__*", "*.pyc", "*/.terraform/*", "*.tfstate", "*.tfstate.*", "build/*", "*.tar.gz",
             "benchmarks/results*", "*.terraform.lock.hcl"]
# Must be in it: what installed users run.
REQUIRED = ["MANIFEST.json", "FILES.json", "meta/runtime.yml", "meta/execution-environment.yml",
            "execution-environment.yml", "requirements.txt", "bindep.txt",
            "plugins/modules/cluster_model.py", "plugins/inventory/instance_pools.py",
            "roles/etcd/tasks/main.yml", "roles/bastion/tasks/main.yml", "roles/pki/tasks/main.yml",
            "playbooks/site.yml", "playbooks/cluster.yml", "playbooks/infrastructure.yml", "playbooks/status.yml",
            "terraform/local/kubernetes/main.tf", "terraform/amazon/state/main.tf",
            "inventories/local/dev.apron.yml", "meta/schemas/apron.io_v1alpha1.schema.json"]
MAX_BYTES = 2 * 1024 * 1024


def _run(cmd, cwd=None, env=None):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (cmd, result.stdout, result.stderr)
    return result


def _build(src, out):
    _run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(out), str(src)])
    tarball = out / TARBALL
    with tarfile.open(tarball) as tar:
        names = [m.name for m in tar.getmembers()]
    return tarball, names


def _forbidden(names):
    return sorted(n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in FORBIDDEN))


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory):
    """The collection's files (scripts/copy-collection.sh) plus the junk of a used checkout."""
    src = tmp_path_factory.mktemp("src") / "cluster"
    _run([str(REPO / "scripts" / "copy-collection.sh"), str(src)])
    for rel in JUNK:
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 4096)
    return src


@pytest.fixture(scope="module")
def built(checkout_copy, tmp_path_factory):
    return _build(checkout_copy, tmp_path_factory.mktemp("dist"))


def test_tarball_holds_no_development_files(built):
    names = built[1]
    assert _forbidden(names) == []


def test_tarball_holds_what_installed_users_run(built):
    names = built[1]
    assert sorted(set(REQUIRED) - set(names)) == []


def test_tarball_size_is_sane(built):
    tarball, names = built
    assert tarball.stat().st_size < MAX_BYTES, "%s is %d bytes" % (tarball, tarball.stat().st_size)
    assert len(names) < 1000


def test_the_repository_itself_builds_clean(tmp_path):
    """The real checkout (with whatever bootstrap, tests and tools left in it) builds the same way."""
    tarball, names = _build(REPO, tmp_path)
    assert _forbidden(names) == []
    assert tarball.stat().st_size < MAX_BYTES


def _shell(script, cwd, extra_env):
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "PYTHONPATH", "APRON_COLLECTIONS_PATH")}
    env.update(extra_env)
    return _run(["bash", "-c", "set -euo pipefail; source %s; %s" % (REPO / "scripts" / "env.sh", script)],
                cwd=cwd, env=env)


def test_installed_tarball_is_used_from_another_directory(built, tmp_path):
    """env.sh with APRON_COLLECTIONS_PATH: the install goes there and Ansible loads that copy, not the checkout."""
    tarball = built[0]
    installed = tmp_path / "collections"
    elsewhere = tmp_path / "project"
    elsewhere.mkdir()
    env = {"APRON_COLLECTIONS_PATH": str(installed),
           # an older env.sh exported the checkout on PYTHONPATH: sourcing the new one removes it
           "PYTHONPATH": str(REPO / ".collections")}
    install = _shell("ansible-galaxy collection install --no-deps %s" % tarball, elsewhere, env)
    assert "Nothing to do" not in install.stdout
    target = installed / "ansible_collections" / "apron" / "cluster"
    assert (target / "MANIFEST.json").is_file()

    listed = _shell("ansible-galaxy collection list apron.cluster", elsewhere, env).stdout
    assert str(installed / "ansible_collections") in listed
    assert str(REPO) not in listed

    # a playbook of the installed collection runs from another directory and loads the installed module
    run = _shell("echo \"PYTHONPATH=${PYTHONPATH:-}\"; ansible-playbook apron.cluster.validate -e apron_model=%s"
                 % (REPO / "inventories" / "local" / "model"), elsewhere, env)
    assert "PYTHONPATH=\n" in run.stdout
    assert "instances (" in run.stdout
    # the checkout is not importable as a Python package any more (Ansible would scan it)
    probe = _shell("python -c 'import ansible_collections.apron.cluster' 2>&1 || echo not-importable", elsewhere, env)
    assert "not-importable" in probe.stdout


def test_checkout_is_the_default(tmp_path):
    listed = _shell("ansible-galaxy collection list apron.cluster", tmp_path, {}).stdout
    assert str(REPO / ".collections" / "ansible_collections") in listed
