# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The checks behind the model's formats (Kubernetes label/taint rules, host addresses), open-to-the-
internet CIDRs with their acknowledgement, warnings (empty file) and values printed as YAML."""
from __future__ import annotations

import re

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _model_validate as V
from ansible_collections.apron.cluster.plugins.module_utils._model import ModelValidationError, load_model
from ansible_collections.apron.cluster.plugins.module_utils._model_errors import MISSING, ModelError, show
from ansible_collections.apron.cluster.plugins.module_utils._model_schema import (
    LABEL_VALUE_PATTERN,
    QUALIFIED_NAME_PATTERN,
    SCHEMA,
)
from ansible_collections.apron.cluster.plugins.modules import cluster_model

from tests.helpers.model import base_model, find, write
from test_model_invalid import to_amazon
from tests.helpers.model import run_cluster_model as run

GOOD_KEYS = ["a", "team", "apron.io/pool", "node-role.kubernetes.io/worker", "A_b.c-D", "x" * 63,
             "a" * 253 + "/" + "n" * 63, "example.com/X9", "1/2"]
BAD_KEYS = {
    "": "a non-empty name",
    "/name": "a prefix before the '/'",
    "apron.io/": "a name (after the prefix)",
    "a/b/c": "at most one '/'",
    "Apron.io/pool": "a prefix that is a DNS subdomain",
    "-a.io/x": "a prefix that is a DNS subdomain",
    "a" * 254 + "/x": "a prefix of at most 253 characters (it has 254)",
    "x" * 64: "a name of at most 63 characters (it has 64)",
    "bad key": "a name of letters, digits",
    "_x": "a name of letters, digits",
    "x.": "a name of letters, digits",
}
GOOD_VALUES = ["", "a", "etcd", "v1.2_3-x", "0", "x" * 63]
BAD_VALUES = {"-a": "starting and ending", "a-": "starting and ending", "a b": "only letters", "a/b": "only letters",
              "x" * 64: "at most 63 characters (it has 64)"}
GOOD_ADDRESSES = ["192.0.2.10", "10.0.0.1", "127.0.0.1", "2001:db8::1", "::1", "fe80::1%eth0", "node1",
                  "node-1.example.com", "NODE1.Example.COM.", "1node.dc1"]
BAD_ADDRESSES = {
    "192.0.2.300": "four numbers 0..255",
    "010.0.0.1": "without leading zeros",
    "192.0.2": "four numbers",
    "0.0.0.0": "the unspecified address",
    "::": "the unspecified address",
    "224.0.0.1": "a multicast address",
    "192.0.2.1:22": "without a port",
    "node1:2222": "without a port",
    "[2001:db8::1]": "without brackets",
    "[2001:db8::1]:22": "without a port",
    "2001:db8::1::2": "a valid IPv6 address",
    "192.0.2.0/24": "not a network",
    " node1": "no spaces",
    "node 1": "no spaces",
    "node_1.example.com": "labels of letters, digits and '-'",
    "-node.example.com": "labels of letters",
    "a..b": "labels of letters",
    "x" * 64 + ".example.com": "labels have at most 63 characters",
    "node.123": "last label is not all digits",
}


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_qualified_name_good(key):
    assert V.qualified_name_problem(key) is None
    # the schema's pattern (for editors) accepts what the exact check accepts
    assert re.match(QUALIFIED_NAME_PATTERN, key) or len(key.split("/")[0]) > 200


@pytest.mark.parametrize("key,problem", sorted(BAD_KEYS.items()))
def test_qualified_name_bad(key, problem):
    assert problem in (V.qualified_name_problem(key) or "")
    if len(key) < 254:
        assert not re.match(QUALIFIED_NAME_PATTERN, key)


@pytest.mark.parametrize("value", GOOD_VALUES)
def test_label_value_good(value):
    assert V.label_value_problem(value) is None
    assert re.match(LABEL_VALUE_PATTERN, value) and len(value) <= 63


@pytest.mark.parametrize("value,problem", sorted(BAD_VALUES.items()))
def test_label_value_bad(value, problem):
    assert problem in (V.label_value_problem(value) or "")
    assert not (re.match(LABEL_VALUE_PATTERN, value) and len(value) <= 63)


@pytest.mark.parametrize("address", GOOD_ADDRESSES)
def test_host_address_good(address):
    assert V.host_address_problem(address) is None


@pytest.mark.parametrize("address,problem", sorted(BAD_ADDRESSES.items()))
def test_host_address_bad(address, problem):
    assert problem in (V.host_address_problem(address) or "")


def test_schema_uses_the_formats():
    pool = SCHEMA["$defs"]["InstancePoolSpec"]["properties"]
    assert pool["labels"]["propertyNames"]["format"] == "k8s-qualified-name"
    assert pool["labels"]["additionalProperties"]["format"] == "k8s-label-value"
    assert pool["taints"]["items"]["properties"]["key"]["format"] == "k8s-qualified-name"
    assert pool["hosts"]["items"]["properties"]["address"]["format"] == "host-address"
    formats = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("format"), str):
                formats.add(node["format"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMA)
    assert formats == set(V.FORMATS)


@pytest.mark.parametrize("cidrs,wide", [
    (["0.0.0.0/0"], {0: "0.0.0.0/0"}),
    (["::/0"], {0: "::/0"}),
    (["0.0.0.0/1", "128.0.0.0/1"], {0: "0.0.0.0/0", 1: "0.0.0.0/0"}),
    (["203.0.113.0/24", "0.0.0.0/0"], {1: "0.0.0.0/0"}),
    (["0.0.0.0/0", "0.0.0.0/0"], {0: "0.0.0.0/0"}),
    (["10.0.0.0/7"], {0: "10.0.0.0/7"}),
    (["2000::/3"], {0: "2000::/3"}),
    (["::ffff:0.0.0.0/96"], {0: "::ffff:0:0/96"}),
    (["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "203.0.113.0/24"], {}),
    (["2001:db8::/32", "::ffff:10.0.0.0/104"], {}),
    (["not a cidr", "10.0.0.0/33"], {}),
])
def test_open_to_internet(cidrs, wide):
    assert dict((i, str(net)) for i, net in V.open_to_internet(cidrs).items()) == wide


def _amazon_open(files, ack):
    to_amazon(files)
    amazon = files["provider.yml"][0]["spec"]["amazon"]
    amazon["adminCIDRs"] = ["0.0.0.0/0"]
    if ack is not None:
        amazon["acknowledgeOpenToInternet"] = ack
    return files


def test_acknowledged_open_cidr_warns(tmp_path):
    files = _amazon_open(base_model(), True)
    find(files, "Cluster", "dev")["spec"]["apiServer"] = {
        "exposure": "public", "allowedCIDRs": ["0.0.0.0/1", "128.0.0.0/1"], "acknowledgeOpenToInternet": True}
    directory = write(tmp_path / "m", files)
    model = load_model(str(directory))
    texts = [str(w) for w in model.warnings]
    assert texts == [
        "%s:11: Provider/local: spec.amazon.adminCIDRs[0]: 0.0.0.0/0: SSH to the bastion is open to the whole internet "
        "(it covers more than a /8; acknowledged by spec.amazon.acknowledgeOpenToInternet)" % (directory / "provider.yml"),
        "%s:22: Cluster/dev: spec.apiServer.allowedCIDRs[0]: 0.0.0.0/1: the public API server is open to the whole "
        "internet (with the others it covers 0.0.0.0/0; acknowledged by spec.apiServer.acknowledgeOpenToInternet)"
        % (directory / "cluster.yml"),
        "%s:23: Cluster/dev: spec.apiServer.allowedCIDRs[1]: 128.0.0.0/1: the public API server is open to the whole "
        "internet (with the others it covers 0.0.0.0/0; acknowledged by spec.apiServer.acknowledgeOpenToInternet)"
        % (directory / "cluster.yml"),
    ]
    # the resolved-model print (effective_values) marks the value
    rows = model.values()["Provider/local"]
    row = next(r for r in rows if r["path"] == "spec.amazon.adminCIDRs")
    assert "open to the whole internet" in row["warning"]
    assert all("warning" not in r for r in rows if r["path"] != "spec.amazon.adminCIDRs")
    # the module warns and returns them
    out = run(path=[str(directory)])
    assert not out.failed and len(out.result["model_warnings"]) == 3
    assert out.result["model_warnings"][0]["path"] == "spec.amazon.adminCIDRs[0]"


@pytest.mark.parametrize("ack", [None, False])
def test_open_cidr_without_acknowledgement(tmp_path, ack):
    directory = write(tmp_path / "m", _amazon_open(base_model(), ack))
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    (err,) = info.value.errors
    assert (err.path, err.value) == ("spec.amazon.adminCIDRs[0]", "0.0.0.0/0")
    assert err.expected.endswith("or spec.amazon.acknowledgeOpenToInternet: true to allow it knowingly")


def test_private_api_server_is_not_open(tmp_path):
    files = base_model()
    find(files, "Cluster", "dev")["spec"]["apiServer"] = {"exposure": "private", "allowedCIDRs": ["0.0.0.0/0"]}
    model = load_model(str(write(tmp_path / "m", files)))
    assert model.warnings == []


def test_acknowledgement_without_open_cidr_warns(tmp_path):
    files = base_model()
    find(files, "Cluster", "dev")["spec"]["apiServer"] = {
        "exposure": "public", "allowedCIDRs": ["203.0.113.0/24"], "acknowledgeOpenToInternet": True}
    model = load_model(str(write(tmp_path / "m", files)))
    (warning,) = model.warnings
    assert warning.path == "spec.apiServer.acknowledgeOpenToInternet" and "has no effect" in warning.message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "---\n# c\n---\n"])
def test_empty_file_warns(tmp_path, text):
    files = base_model()
    files["zz-empty.yml"] = text
    directory = write(tmp_path / "m", files)
    model = load_model(str(directory))
    (warning,) = model.warnings
    assert warning.file == str(directory / "zz-empty.yml")
    assert str(warning) == "%s: empty model file: no YAML document in it (only comments or nothing), it adds " \
                           "nothing to the model" % (directory / "zz-empty.yml")


def test_empty_file_warning_comes_with_errors(tmp_path):
    files = base_model()
    files["zz-empty.yml"] = ""
    find(files, "InstancePool", "dev-etcd")["spec"]["count"] = 2
    directory = write(tmp_path / "m", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    assert [w.file for w in info.value.warnings] == [str(directory / "zz-empty.yml")]
    out = run(path=[str(directory)])
    assert out.failed and out.result["model_warnings"][0]["file"] == str(directory / "zz-empty.yml")


def test_only_empty_files(tmp_path):
    (tmp_path / "a.yml").write_text("")
    with pytest.raises(ModelValidationError) as info:
        load_model(str(tmp_path))
    assert "at least one apron.io/v1alpha1 document" in info.value.errors[0].expected
    assert [w.file for w in info.value.warnings] == [str(tmp_path / "a.yml")]


@pytest.mark.parametrize("value,text", [
    (None, "null"), (True, "true"), (False, "false"), ("abc", "abc"), ("", "''"), ("1.32", "'1.32'"), (1.32, "1.32"),
    ("a: b", "'a: b'"), ([{"name": "a"}], "[{name: a}]"), ({"x": [1, 2]}, "{x: [1, 2]}"), (MISSING, "<missing>"),
    ("yes", "'yes'"),
])
def test_values_print_as_yaml(value, text):
    assert show(value) == text
    assert str(ModelError("f.yml", "Cluster/x", "spec.a", value, "something", line=1)) == \
        "f.yml:1: Cluster/x: spec.a: %s: expected something" % text


def test_long_values_are_cut_in_messages():
    err = ModelError("f.yml", "Cluster/x", "spec.a", "x" * 500, "something", line=1)
    assert "x" * 97 + "...: expected something" in str(err)
    assert err.to_dict()["value"] == "x" * 500


def test_no_python_notation_in_messages(tmp_path):
    files = base_model()
    spec = find(files, "Cluster", "dev")["spec"]
    spec["features"] = {"oidc": {"enabled": True}}
    spec["kubernetesVersion"] = 1.32
    find(files, "InstancePool", "dev-worker")["spec"]["hosts"] = [{"name": "w", "address": "192.0.2.1"}]
    find(files, "Environment", "dev")["spec"]["hub"] = None
    find(files, "Environment", "dev")["spec"]["mode"] = "Single"
    directory = write(tmp_path / "m", files)
    with pytest.raises(ModelValidationError) as info:
        load_model(str(directory))
    text = str(info.value)
    for python in ("None", "True", "{'", "['", "': "):
        assert python not in text, text
    assert "spec.features.oidc.issuerURL: null: expected a value" in text
    assert "spec.kubernetesVersion: 1.32: expected type string" in text
    assert "spec.hosts: [{name: w, address: 192.0.2.1}]: expected no hosts" in text
    assert "spec.mode: Single: expected one of single, multi; did you mean single?" in text


def test_module_fails_with_warnings_and_short_msg(tmp_path):
    files = base_model()
    files["empty.yml"] = ""
    find(files, "Cluster", "dev")["kind"] = "Clustr"
    out = run(path=[str(write(tmp_path / "m", files))])
    assert out.failed
    assert out.result["msg"] == "invalid cluster model: 1 error and 7 follow-on errors (each listed under errors)"
    errors = out.result["errors"]
    assert errors[0]["path"] == "kind" and errors[0]["follows"] is None
    assert all(e["follows"] == errors[0]["file"] + ":2: kind" for e in errors[1:])
    assert out.result["model_warnings"][0]["message"].startswith("empty model file")
    assert cluster_model.ClusterModel  # the module under test


@pytest.mark.parametrize("example", ["inventories/local/model", "inventories/aws-example/single/model",
                                     "inventories/aws-example/multi/model"])
def test_examples_have_no_warnings(example):
    from pathlib import Path

    model = load_model(str(Path(__file__).resolve().parents[4] / example))
    assert model.warnings == []
