# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Plan JSON (real `terraform show -json` output of the fixture stack) -> diff, summary, data-loss guard."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _terraform_plan as tfplan

DATA = Path(__file__).parent / "data" / "terraform_plan"


def load(name):
    return json.loads((DATA / name).read_text())


def resource(analysis, address):
    return next(r for r in analysis["resources"] if r["address"] == address)


def change(res, path):
    return next(c for c in res["changes"] if c["path"] == path)


def test_classify_actions():
    assert tfplan.classify_actions(["create"]) == "create"
    assert tfplan.classify_actions(["update"]) == "update"
    assert tfplan.classify_actions(["delete", "create"]) == "replace"
    assert tfplan.classify_actions(["create", "delete"]) == "replace"
    assert tfplan.classify_actions(["delete"]) == "delete"
    assert tfplan.classify_actions(["read"]) == "read"
    assert tfplan.classify_actions(["no-op"]) == "no-op"
    assert tfplan.classify_actions(["forget"]) == "forget"


def test_mixed_plan_summary():
    analysis = tfplan.analyse_plan(load("plan_mixed.json"))
    summary = analysis["summary"]
    assert summary["changes_pending"] is True
    assert summary["counts"] == {"create": 1, "update": 1, "replace": 1, "delete": 1, "read": 0, "forget": 0}
    assert summary["addresses"]["create"] == ['terraform_data.item["c"]']
    assert summary["addresses"]["update"] == ['terraform_data.item["b"]']
    assert summary["addresses"]["replace"] == ['terraform_data.item["a"]']
    assert summary["addresses"]["delete"] == ["terraform_data.app_data_volume[0]"]
    # no-op resources are not listed
    assert "terraform_data.token" not in [r["address"] for r in analysis["resources"]]
    assert summary["output_changes"] == ["names", "zones"]


def test_replace_names_forcing_attributes():
    analysis = tfplan.analyse_plan(load("plan_mixed.json"))
    res = resource(analysis, 'terraform_data.item["a"]')
    assert res["action"] == "replace"
    assert res["replace_paths"] == ["triggers_replace"]
    forced = change(res, "triggers_replace[0]")
    assert (forced["before"], forced["after"], forced["forces_replacement"]) == ("z1", "z9", True)
    zone = change(res, "input.zone")
    assert zone["forces_replacement"] is False
    text = tfplan.render(analysis)
    assert '# terraform_data.item["a"] must be replaced (forced by: triggers_replace)' in text
    assert '~ triggers_replace[0]: "z1" -> "z9"  # forces replacement' in text


def test_update_in_place_lists_changed_attributes_only():
    analysis = tfplan.analyse_plan(load("plan_mixed.json"))
    res = resource(analysis, 'terraform_data.item["b"]')
    assert res["action"] == "update"
    paths = [c["path"] for c in res["changes"]]
    assert "input.size" in paths
    assert "input.zone" not in paths and "input.name" not in paths and "id" not in paths
    assert change(res, "input.size")["before"] == 2 and change(res, "input.size")["after"] == 3
    # output is computed from input: unknown until apply, shown as one subtree
    assert change(res, "output")["after"] == tfplan.UNKNOWN
    assert "# terraform_data.item[\"b\"] will be updated in-place" in tfplan.render(analysis)


def test_unknown_values_rendered_as_known_after_apply():
    analysis = tfplan.analyse_plan(load("plan_mixed.json"))
    res = resource(analysis, 'terraform_data.item["c"]')
    assert res["action"] == "create"
    assert change(res, "id")["after"] == tfplan.UNKNOWN
    assert '+ id = (known after apply)' in tfplan.render(analysis)
    zones = next(o for o in analysis["outputs"] if o["name"] == "zones")
    assert zones["after"] == {"a": tfplan.UNKNOWN, "b": tfplan.UNKNOWN, "c": tfplan.UNKNOWN}


def test_sensitive_values_masked_everywhere():
    plan = load("plan_create.json")
    analysis = tfplan.analyse_plan(plan)
    token = resource(analysis, "terraform_data.token")
    assert change(token, "input")["after"] == tfplan.SENSITIVE
    diff = tfplan.diff_from_analysis(analysis, "items")
    blob = json.dumps(diff)
    assert "s3cr3t" not in blob
    assert "s3cr3t" not in tfplan.render(analysis)
    secret = next(o for o in analysis["outputs"] if o["name"] == "secret")
    assert secret["after"] == tfplan.SENSITIVE
    assert tfplan.planned_outputs(plan)["secret"] == tfplan.SENSITIVE
    assert tfplan.planned_outputs(plan, show_sensitive=True)["secret"] == "s3cr3t"


def test_sensitive_nested_attribute_of_update():
    plan = {"resource_changes": [{
        "address": "x.y", "type": "x", "name": "y", "mode": "managed",
        "change": {"actions": ["update"],
                   "before": {"a": {"pw": "old", "user": "u"}, "n": 1},
                   "after": {"a": {"pw": "new", "user": "v"}, "n": 1},
                   "after_unknown": {}, "before_sensitive": {"a": {"pw": True}},
                   "after_sensitive": {"a": {"pw": True}}}}]}
    res = tfplan.analyse_plan(plan)["resources"][0]
    assert [c["path"] for c in res["changes"]] == ["a.user"]
    assert "old" not in json.dumps(res) and "new" not in json.dumps(res)


def test_noop_plan():
    analysis = tfplan.analyse_plan(load("plan_noop.json"))
    assert analysis["resources"] == [] and analysis["outputs"] == []
    assert analysis["summary"]["changes_pending"] is False
    assert "No changes." in tfplan.render(analysis)
    diff = tfplan.diff_from_analysis(analysis)
    assert diff["before"] == {} and diff["after"] == {}


def test_destroy_plan_and_guard():
    analysis = tfplan.analyse_plan(load("plan_destroy.json"))
    assert analysis["summary"]["counts"]["delete"] == 3
    losses = analysis["stateful_losses"]
    assert [l["address"] for l in losses] == ["terraform_data.app_data_volume[0]"]
    message = tfplan.data_loss_message(losses, "items")
    assert "terraform_data.app_data_volume[0] would be destroyed" in message
    assert "allow_destroy_stateful=true" in message
    assert "DATA LOSS" in tfplan.render(analysis)


def test_diff_contains_only_changed_attributes():
    diff = tfplan.diff_from_analysis(tfplan.analyse_plan(load("plan_mixed.json")), "items")
    assert diff["before"]['terraform_data.item["b"]'] == {"input.size": 2, "output": {
        "label": "", "name": "b", "size": 2, "zone": "z2"}}
    assert diff["after"]['terraform_data.item["b"]']["input.size"] == 3
    assert diff["before"]['terraform_data.item["c"]'] is None
    assert diff["after"]["terraform_data.app_data_volume[0]"] is None
    assert diff["prepared"].startswith("=== items ===")


def rc(rtype, name, before, actions=("delete",)):
    return {"address": "%s.%s" % (rtype, name), "type": rtype, "name": name, "mode": "managed",
            "change": {"actions": list(actions), "before": before, "after": None,
                       "before_sensitive": {}, "after_sensitive": False, "after_unknown": {}}}


@pytest.mark.parametrize("rtype", sorted(tfplan.STATEFUL_TYPES))
def test_stateful_types(rtype):
    assert tfplan.stateful_reason(rc(rtype, "x", {"id": "1"}))


@pytest.mark.parametrize("before,expected", [
    ({"tags": {"role": "etcd"}}, True),
    ({"tags_all": {"apron.io/role": "vault"}}, True),
    ({"tags": {"Name": "staging-etcd-0"}}, True),
    ({"name": "main-vault-1"}, True),
    ({"tags": {"role": "worker", "Name": "staging-worker-0"}}, False),
    ({"tags": {"Name": "etcdish"}}, False),
])
def test_instances_of_stateful_roles(before, expected):
    assert bool(tfplan.stateful_reason(rc("aws_instance", "node", before))) is expected
    assert bool(tfplan.stateful_reason(rc("aws_launch_template", "lt", before))) is expected


@pytest.mark.parametrize("name,before,expected", [
    ("etcd_data_volume", {"input": {}}, True),
    ("vol", {"input": {"stateful": True}}, True),
    ("vol", {"input": {"apron_stateful": "true"}}, True),
    ("vol", {"triggers_replace": {"stateful": True}}, True),
    ("vol", {"input": {"stateful": False}}, False),
    ("container", {"input": {"name": "x"}}, False),
])
def test_convention_for_other_resources(name, before, expected):
    assert bool(tfplan.stateful_reason(rc("terraform_data", name, before))) is expected


def test_replace_of_stateful_is_a_loss_but_update_is_not():
    plan = {"resource_changes": [
        rc("aws_ebs_volume", "data", {"id": "vol-1"}, actions=("delete", "create")),
        dict(rc("aws_s3_bucket", "state", {"id": "b"}), change={
            "actions": ["update"], "before": {"id": "b", "tags": {}}, "after": {"id": "b", "tags": {"a": "1"}},
            "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}}),
    ]}
    analysis = tfplan.analyse_plan(plan)
    assert [(l["address"], l["action"]) for l in analysis["stateful_losses"]] == [("aws_ebs_volume.data", "replace")]
    assert "would be replaced" in tfplan.data_loss_message(analysis["stateful_losses"])


def test_data_sources_are_reads_and_never_losses():
    plan = {"resource_changes": [{
        "address": "data.terraform_remote_state.net", "type": "terraform_remote_state", "name": "net",
        "mode": "data", "change": {"actions": ["read"], "before": None, "after": {"backend": "local"},
                                   "after_unknown": {"outputs": True}, "after_sensitive": {}}}]}
    analysis = tfplan.analyse_plan(plan)
    assert analysis["summary"]["counts"]["read"] == 1
    assert analysis["stateful_losses"] == []
    assert "will be read during apply" in tfplan.render(analysis)


def test_mask_does_not_mutate_input():
    plan = load("plan_mixed.json")
    before = copy.deepcopy(plan)
    tfplan.analyse_plan(plan)
    assert plan == before
