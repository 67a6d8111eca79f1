# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Redaction of sensitive variable values (pure functions of _terraform_plan) on real plan JSON shapes."""
from __future__ import annotations

import copy
import json

from ansible_collections.apron.cluster.plugins.module_utils import _terraform_plan as tfplan

S = tfplan.SENSITIVE
SECRET = "Hunter2-PLANTED"


def plan(action, before, after, before_sensitive=None, after_sensitive=None):
    """A plan (as ``terraform show -json`` prints it) whose sensitive ``password`` flows into attributes
    Terraform does not mark sensitive (``terraform_data.output``)."""
    return {
        "variables": {"password": {"value": SECRET}, "rev": {"value": 2}},
        "configuration": {"root_module": {"variables": {"password": {"sensitive": True}, "rev": {"default": 1}}}},
        "resource_changes": [{
            "address": "terraform_data.conn", "mode": "managed", "type": "terraform_data", "name": "conn",
            "change": {"actions": action, "before": before, "after": after,
                       "before_sensitive": before_sensitive or {}, "after_sensitive": after_sensitive or {},
                       "after_unknown": {}}}],
    }


def value(rev):
    dsn = "postgres://app:%s@db/app?rev=%d" % (SECRET, rev)
    return {"id": "x", "input": {"dsn": dsn, "rev": rev}, "output": {"dsn": dsn, "rev": rev},
            "triggers_replace": None}


def analyse(p):
    secrets = tfplan.secret_values(tfplan.plan_sensitive_names(p), tfplan.plan_variable_values(p))
    analysis = tfplan.redact(tfplan.analyse_plan(p), secrets)
    return analysis, secrets


def test_plan_sensitive_names_and_values():
    p = plan(["update"], value(1), value(2))
    assert tfplan.plan_sensitive_names(p) == ["password"]
    assert tfplan.plan_variable_values(p) == {"password": SECRET, "rev": 2}
    assert tfplan.plan_sensitive_names({}) == [] and tfplan.plan_variable_values(None) == {}


def test_every_action_is_redacted_in_diff_summary_and_rendering():
    marked = {"input": {"dsn": True}, "output": {}}
    for action, before, after in ((["create"], None, value(1)), (["update"], value(1), value(2)),
                                  (["delete", "create"], value(1), value(2)), (["delete"], value(1), None)):
        p = plan(action, before, after, marked if before else None, marked if after else None)
        analysis, _secrets = analyse(p)
        diff = tfplan.diff_from_analysis(analysis, "stack")
        text = json.dumps([analysis, diff])
        assert SECRET not in text, action
        # output.dsn is not marked by Terraform: redacted as a substring, the rest stays readable
        assert "postgres://app:(sensitive value)@db/app" in text, action


def test_redact_nested_keys_numbers_and_escaped_spellings():
    values = {"pw": 'a"b\\c-secret', "pin": 4711, "obj": {"k": ["deep-secret", True, None]}}
    secrets = tfplan.secret_values(["pw", "pin", "obj"], values)
    data = {
        "json": json.dumps({"x": 'a"b\\c-secret'}),      # JSON-escaped inside a string
        "pin": 4711, "pin_text": "code 4711 ok", "flag": True, "none": None,
        "list": ["deep-secret", ("deep-secret-2",)],
        'key deep-secret': "v",                             # dict keys too
    }
    original = copy.deepcopy(data)
    out = tfplan.redact(data, secrets)
    assert data == original                                  # not modified in place
    assert out["json"] == '{"x": "%s"}' % S
    assert out["pin"] == S and out["pin_text"] == "code %s ok" % S
    assert out["flag"] is True and out["none"] is None
    assert out["list"] == [S, ["%s-2" % S]]
    assert out["key %s" % S] == "v"


def test_short_secrets_only_as_whole_values():
    secrets = tfplan.secret_values(["a"], {"a": "ab"})
    assert tfplan.redact({"x": "ab", "y": "abc tab"}, secrets) == {"x": S, "y": "abc tab"}


def test_nothing_to_redact():
    assert tfplan.redact({"a": "b"}, None) == {"a": "b"}
    assert tfplan.redact({"a": "b"}, tfplan.secret_values([], {"x": "y"})) == {"a": "b"}
    assert tfplan.secret_values(["e"], {"e": ""}) == {"strings": [], "numbers": set()}


def test_longest_secret_first_and_merge():
    merged = tfplan.merge_secrets(tfplan.secret_values(["a"], {"a": "secret"}),
                                  tfplan.secret_values(["b"], {"b": "secret-longer"}))
    assert merged["strings"][0] == "secret-longer"
    assert tfplan.redact_text("x secret-longer y secret", merged) == "x %s y %s" % (S, S)
