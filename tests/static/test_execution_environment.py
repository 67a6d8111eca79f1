# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""execution-environment.yml (ansible-builder v3): `ansible-builder create` makes a build context
whose galaxy step installs the collection tarball, and whose introspection finds the collection's
declared Python and system dependencies. No image is built (no base image can be pulled here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
TARBALL = "apron-cluster-%s.tar.gz" % VERSION


def _run(cmd, cwd=None):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (cmd, result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    if shutil.which("ansible-builder") is None:
        pytest.skip("ansible-builder is not installed (requirements/test.txt; make venv)")
    src = tmp_path_factory.mktemp("ee")
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(REPO / name, src / name)
    (src / "build" / "dist").mkdir(parents=True)
    _run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(src / "build" / "dist"), str(REPO)])
    ctx = src / "context"
    _run(["ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(ctx)], cwd=src)
    return ctx


def test_definition_is_version_3_and_names_the_built_tarball():
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    names = [c["name"] for c in ee["dependencies"]["galaxy"]["collections"]]
    assert names == ["apron/" + TARBALL], "execution-environment.yml must install the tarball of galaxy.yml's version"
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}


def test_create_makes_a_build_context(context):
    containerfile = (context / "Containerfile").read_text()
    assert "FROM base AS galaxy" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert (context / "_build" / "apron" / TARBALL).is_file()
    assert (context / "_build" / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    assert (context / "_build" / "bindep.txt").read_text() == (REPO / "bindep.txt").read_text()


def test_galaxy_step_and_introspection(context, tmp_path):
    """What the image's galaxy and builder stages run, run here: install from the context's
    requirements.yml (the dependencies are already in the venv: offline), then introspect."""
    build = context / "_build"
    collections = tmp_path / "collections"
    _run(["ansible-galaxy", "collection", "install", "--force", "-r", "requirements.yml",
          "--collections-path", str(collections)], cwd=build)
    installed = collections / "ansible_collections" / "apron" / "cluster"
    assert (installed / "meta" / "execution-environment.yml").is_file()
    found = yaml.safe_load(_run(["python", str(build / "scripts" / "introspect.py"), "introspect",
                                 str(collections)]).stdout)
    python = [line.split()[0] for line in found["python"] if "apron.cluster" in line]
    system = [line.split("#")[0].strip() for line in found["system"] if "apron.cluster" in line]
    assert "boto3>=1.28.0" in python and "cryptography>=41.0" in python
    assert "openssh-client [platform:dpkg]" in system
