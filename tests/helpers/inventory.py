# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Helpers of the inventory plugin tests: sources in temporary directories, the plugin
driven through Ansible's real plugin loader / InventoryData / DataLoader / InventoryManager."""
from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventory"
PLUGIN = "apron.cluster.instance_pools"


_LOADER = []


def _ansible():
    """Install Ansible's collection loader once per process (the CLI does this at start-up)."""
    if not _LOADER:
        from ansible.plugins.loader import init_plugin_loader
        from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

        if not any(isinstance(finder, _AnsibleCollectionFinder) for finder in sys.meta_path):
            init_plugin_loader()
        _LOADER.append(True)


def copy_fixture(name, dest):
    """Copy fixtures/<name>/ into ``dest`` (returns ``dest``)."""
    shutil.copytree(FIXTURES / name, dest, dirs_exist_ok=True)
    return Path(dest)


def write_source(directory, name="test.apron.yml", **options):
    data = {"plugin": PLUGIN}
    data.update(options)
    path = Path(directory) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def parse(source, cache=True):
    """Run the plugin on ``source`` with a fresh InventoryData; returns the InventoryData.
    Errors propagate (the InventoryManager would turn them into 'unable to parse' warnings)."""
    _ansible()
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get(PLUGIN)
    assert plugin is not None, "the plugin %s is not found on the collections path" % PLUGIN
    assert plugin.verify_file(str(source))
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(source), cache=cache)
    try:
        plugin.update_cache_if_changed()  # what InventoryManager does after a Cacheable plugin's parse
    except AttributeError:  # no cache configured (InventoryManager ignores this too)
        pass
    inventory.reconcile_inventory()
    return inventory


def manager(source):
    """An InventoryManager over ``source`` (the way ansible-playbook builds its inventory)."""
    _ansible()
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    return InventoryManager(loader=DataLoader(), sources=[str(source)])


def hostvars(inventory, name):
    return inventory.get_host(name).get_vars()


def group_hosts(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def tfstate(instances, serial=1):
    """A Terraform (format 4) state document with the ``instances`` output, as terraform writes it."""
    return {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": serial,
        "lineage": "00000000-0000-0000-0000-000000000000",
        "outputs": {"instances": {"value": instances, "type": ["map", ["object", {}]]}},
        "resources": [],
        "check_results": None,
    }


def instance(name, environment, cluster, pool, role, zone, index, private, public=None, ssh_host=None, ssh_port=None):
    return {"name": name, "environment": environment, "cluster": cluster, "pool": pool, "role": role,
            "zone": zone, "index": index, "private_address": private, "public_address": public,
            "ssh_host": ssh_host, "ssh_port": ssh_port}


def write_state(state_dir, env, cluster, stack, instances):
    path = Path(state_dir) / env / cluster / stack / "terraform.tfstate"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tfstate(instances)))
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ansible_env(**extra):
    env = dict(os.environ)
    env.update(extra)
    return env
