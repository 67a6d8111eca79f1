# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The etcd role's filters (plugins/filter/etcd.py) through Ansible's templating, as the role calls them."""
from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.apron.cluster.plugins.filter.etcd import FilterModule


def render(expression, **variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def test_every_filter_is_exported_under_its_name():
    assert sorted(FilterModule().filters()) == [
        "etcd_certificates", "etcd_clusters", "etcd_membership_plan", "etcd_removal_plan", "etcd_urls"]


def test_urls_as_the_role_renders_them():
    assert render("{{ hosts | apron.cluster.etcd_urls(addrs, 2380) }}", hosts=["a"], addrs=["[fd00::1]"]) == {
        "a": "https://[fd00::1]:2380"}


def test_membership_plan_from_etcdctl_stdout():
    listing = json.dumps({"members": [{"ID": 1, "name": "a", "peerURLs": ["https://10.0.0.1:2380"], "clientURLs": ["x"]}]})
    result = render("{{ out | apron.cluster.etcd_membership_plan(c, ['a', 'b', 'c'], ['a', 'b', 'c'], ['a'], peers, []) }}",
                    out=listing, c={"name": "k8s-main", "data_dir": "/d"},
                    peers={"a": "https://10.0.0.1:2380", "b": "https://10.0.0.2:2380", "c": "https://10.0.0.3:2380"})
    assert [j["host"] for j in result["joiners"]] == ["b", "c"] and result["refusals"] == []


def test_errors_name_the_filter():
    with pytest.raises(AnsibleError, match="apron.cluster.etcd_membership_plan: etcdctl member list did not print JSON"):
        render("{{ 'oops' | apron.cluster.etcd_membership_plan({'name': 'x'}, [], [], [], {}, []) }}")
