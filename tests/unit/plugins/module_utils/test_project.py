# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""module_utils/_project.py: the one project-directory lookup of the modules and the inventory plugin."""
from __future__ import annotations

from ansible_collections.apron.cluster.plugins.inventory import instance_pools
from ansible_collections.apron.cluster.plugins.module_utils._project import find_project_dir
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_stack_config as terraform_stack


def test_nearest_marker_wins_and_files_start_from_their_directory(tmp_path, monkeypatch):
    (tmp_path / "repo" / "inventories" / "m").mkdir(parents=True)
    (tmp_path / "repo" / "galaxy.yml").write_text("")
    (tmp_path / "repo" / "inventories" / "m" / "model.yml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert find_project_dir(str(tmp_path / "repo" / "inventories" / "m")) == str(tmp_path / "repo")
    assert find_project_dir(str(tmp_path / "repo" / "inventories" / "m" / "model.yml")) == str(tmp_path / "repo")
    (tmp_path / "outside").mkdir()
    assert find_project_dir(str(tmp_path / "outside")) is None


def test_module_and_inventory_share_the_lookup():
    assert instance_pools.find_project_dir is find_project_dir
    assert terraform_stack.find_project_dir is find_project_dir
    assert instance_pools.LOCAL_DEFAULTS["sshPort"] == 2222
