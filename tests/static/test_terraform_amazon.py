# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Static checks of the amazon Terraform stacks (terraform/amazon/<stack>/).

No Terraform provider can be downloaded on this machine kind (docs: /work/shared/platform-notes.md),
so ``terraform init``/``terraform validate``/``plan`` cannot run for the amazon stacks: validate needs
the hashicorp/aws provider schema. What *can* be checked without providers is checked here:

* ``terraform fmt -check -recursive terraform/`` (all of terraform/, local stacks included);
* with python-hcl2: every ``data.terraform_remote_state.X.outputs.Y`` a stack reads is an output of
  stack X and X comes earlier in the stack order; every stack declares exactly the contract's
  variables (``STACK_VARIABLES`` of plugins/module_utils/_stack_vars.py, which implements the
  "Stack variables" table of docs/architecture.md), all of type ``any``; every instance-bearing
  resource carries the four ``apron.io/*`` tags; the outputs of the contract exist;
* checkov (policy-as-code) with zero failed checks; every skip is a ``checkov:skip=CKV_...: reason``
  comment at the resource, and every such comment must carry a reason.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is not installed (requirements/test.txt)")

REPO = Path(__file__).resolve().parents[2]
AMAZON = REPO / "terraform" / "amazon"
STACKS = ("state", "network", "tools", "vault", "kubernetes")
APRON_TAGS = ("apron.io/environment", "apron.io/cluster", "apron.io/pool", "apron.io/role")
# Outputs of the contract (docs/architecture.md "Terraform stack outputs").
REQUIRED_OUTPUTS = {
    "state": {"state"},
    "network": {"network"},
    "tools": {"instances"},
    "vault": {"instances"},
    "kubernetes": {"instances", "instance_pools"},
}
REMOTE_READ = re.compile(r"data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


def _unquote(value):
    """python-hcl2 >= 5 keeps the quotes of labels and string literals; strip them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _normalise(node):
    if isinstance(node, dict):
        return {_unquote(k): _normalise(v) for k, v in node.items() if k != "__is_block__"}
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    return _unquote(node)


def load_stack(stack, root=AMAZON):
    merged = {}
    for path in sorted((root / stack).glob("*.tf")):
        with open(path) as handle:
            doc = _normalise(hcl2.load(handle))
        for key, value in doc.items():
            merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return merged


def stack_text(stack):
    return "\n".join(p.read_text() for p in sorted((AMAZON / stack).glob("*.tf")))


def blocks(doc, kind):
    """Flatten [{type: {name: body}}] into [(type, name, body)]."""
    result = []
    for entry in doc.get(kind, []):
        for rtype, named in entry.items():
            for name, body in named.items():
                result.append((rtype, name, body))
    return result


def outputs(doc):
    return {name for entry in doc.get("output", []) for name in entry}


def variables(doc):
    return {name: body for entry in doc.get("variable", []) for name, body in entry.items()}


@pytest.fixture(scope="module")
def stacks():
    return {stack: load_stack(stack) for stack in STACKS}


def contract_variables():
    from ansible_collections.apron.cluster.plugins.module_utils import _stack_vars
    return {stack: set(_stack_vars.STACK_VARIABLES[stack]) for stack in STACKS}


# --------------------------------------------------------------------------- fmt
def test_terraform_fmt_whole_tree():
    """terraform fmt -check over all of terraform/ (amazon and local)."""
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform is not on PATH (the machine image provides 1.11.x)")
    proc = subprocess.run(check=False, args=[terraform, "fmt", "-check", "-recursive", "-list=true", str(REPO / "terraform")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, "terraform fmt would change:\n%s%s" % (proc.stdout, proc.stderr)


def test_terraform_fmt_flags_bad_formatting(tmp_path):
    """The fmt check really detects misformatted files (guards against a vacuous pass)."""
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform is not on PATH")
    (tmp_path / "bad.tf").write_text('locals {\nx=1\n  longer_name = 2\n}\n')
    proc = subprocess.run(check=False, args=[terraform, "fmt", "-check", "-recursive", str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "bad.tf" in proc.stdout


# --------------------------------------------------------------------------- structure
@pytest.mark.parametrize("stack", STACKS)
def test_stack_exists_with_required_files(stack):
    for name in ("main.tf", "variables.tf", "versions.tf"):
        assert (AMAZON / stack / name).is_file(), "%s/%s missing" % (stack, name)


@pytest.mark.parametrize("stack", STACKS)
def test_variables_are_exactly_the_contract(stacks, stack):
    declared = variables(stacks[stack])
    assert set(declared) == contract_variables()[stack]
    for name, body in declared.items():
        assert body.get("type") in ("any", "${any}"), "%s: variable %s must be type any, got %r" % (stack, name, body.get("type"))
        assert body.get("description"), "%s: variable %s has no description" % (stack, name)


def test_contract_variables_match_the_architecture_table():
    """STACK_VARIABLES and the table in docs/architecture.md agree."""
    text = (REPO / "docs" / "architecture.md").read_text()
    section = text.split("## Stack variables", 1)[1].split("\n## ", 1)[0]
    table = set(re.findall(r"^\| `(apron_[a-z_]+)` \|", section, re.M))
    assert table and all(table == names for names in contract_variables().values())


@pytest.mark.parametrize("stack", STACKS)
def test_remote_state_reads_are_produced_by_earlier_stacks(stacks, stack):
    reads = set(REMOTE_READ.findall(stack_text(stack)))
    sources = {name: body for rtype, name, body in blocks(stacks[stack], "data") if rtype == "terraform_remote_state"}
    for producer, output in reads:
        assert producer in sources, "%s reads %s.%s without a terraform_remote_state.%s" % (
            stack, producer, output, producer)
        assert producer in STACKS and STACKS.index(producer) < STACKS.index(stack), \
            "%s reads the later or unknown stack %s" % (stack, producer)
        assert output in outputs(stacks[producer]), \
            "%s reads data.terraform_remote_state.%s.outputs.%s, which stack %s does not output" % (
                stack, producer, output, producer)
    for producer, body in sources.items():
        assert body["backend"] == "${var.apron_remote_state.backend}"
        assert body["config"] == '${var.apron_remote_state.stacks["%s"]}' % producer


def test_remote_state_checker_catches_a_missing_output(stacks):
    """Bad input: a read of an output nobody declares is reported."""
    fake = 'x = data.terraform_remote_state.network.outputs.no_such_output'
    reads = set(REMOTE_READ.findall(fake))
    missing = [(p, o) for p, o in reads if o not in outputs(stacks[p])]
    assert missing == [("network", "no_such_output")]


@pytest.mark.parametrize("stack", STACKS)
def test_contract_outputs(stacks, stack):
    assert REQUIRED_OUTPUTS[stack] <= outputs(stacks[stack])


@pytest.mark.parametrize("stack", STACKS)
def test_local_stacks_have_the_amazon_outputs(stacks, stack):
    """Same output names per stack on both providers, so that a consumer of a stack's remote state
    (another stack, the inventory, a user's own Terraform) works unchanged on either."""
    local = load_stack(stack, REPO / "terraform" / "local")
    assert outputs(local) == outputs(stacks[stack])


def test_instances_output_fields(stacks):
    fields = {"name", "environment", "cluster", "pool", "role", "zone", "index", "private_address",
              "public_address", "ssh_host", "ssh_port"}
    for stack in ("tools", "vault", "kubernetes"):
        body = next(e["instances"] for e in stacks[stack]["output"] if "instances" in e)
        value = body["value"]
        for field in fields:
            assert re.search(r"\b%s\s*=" % field, value), "%s: output instances lacks %s" % (stack, field)


def _tag_keys(tags):
    if isinstance(tags, dict):
        return set(tags)
    return set(re.findall(r'"(apron\.io/[a-z]+)"', str(tags)))


def instance_tag_problems(doc):
    problems = []
    for rtype, name, body in blocks(doc, "resource"):
        if rtype == "aws_instance":
            missing = set(APRON_TAGS) - _tag_keys(body.get("tags", {}))
            if missing:
                problems.append("%s.%s: tags lack %s" % (rtype, name, sorted(missing)))
        elif rtype == "aws_launch_template":
            specs = [s for s in body.get("tag_specifications", []) if s.get("resource_type") == "instance"]
            if not specs or set(APRON_TAGS) - _tag_keys(specs[0].get("tags", {})):
                problems.append("%s.%s: instance tag_specifications lack apron.io tags" % (rtype, name))
        elif rtype == "aws_autoscaling_group":
            tags = {t.get("key"): t for t in body.get("tag", [])}
            for key in APRON_TAGS:
                if key not in tags or tags[key].get("propagate_at_launch") is not True:
                    problems.append("%s.%s: tag %s missing or not propagated at launch" % (rtype, name, key))
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_instance_bearing_resources_carry_apron_tags(stacks, stack):
    assert instance_tag_problems(stacks[stack]) == []


def test_tag_checker_catches_missing_tags():
    doc = {"resource": [
        {"aws_instance": {"x": {"tags": {"Name": "x", "apron.io/role": "etcd"}}}},
        {"aws_autoscaling_group": {"y": {"tag": [{"key": "apron.io/pool", "value": "p",
                                                  "propagate_at_launch": False}]}}},
        {"aws_launch_template": {"z": {"tag_specifications": [{"resource_type": "volume", "tags": {}}]}}},
    ]}
    problems = instance_tag_problems(doc)
    assert any("aws_instance.x" in p for p in problems)
    assert any("aws_autoscaling_group.y: tag apron.io/pool" in p for p in problems)
    assert any("aws_launch_template.z" in p for p in problems)


def test_instance_resources_exist_where_the_contract_says(stacks):
    types = {stack: {rtype for rtype, _n, _b in blocks(stacks[stack], "resource")} for stack in STACKS}
    assert "aws_instance" in types["tools"] and "aws_eip" in types["tools"]
    assert {"aws_instance", "aws_volume_attachment"} <= types["vault"]
    assert {"aws_instance", "aws_volume_attachment", "aws_launch_template", "aws_autoscaling_group",
            "aws_lb"} <= types["kubernetes"]
    assert {"aws_kms_key", "aws_s3_bucket", "aws_dynamodb_table", "aws_ebs_volume"} <= types["state"]
    assert {"aws_vpc", "aws_nat_gateway", "aws_flow_log", "aws_route53_zone"} <= types["network"]


def test_stateful_volumes_are_protected_and_encrypted(stacks):
    volumes = [b for t, _n, b in blocks(stacks["state"], "resource") if t == "aws_ebs_volume"]
    assert volumes
    for body in volumes:
        assert body["encrypted"] is True and "aws_kms_key" in body["kms_key_id"]
        assert body["lifecycle"][0]["prevent_destroy"] is True


def test_instances_require_imdsv2_and_encrypted_root(stacks):
    for stack in ("tools", "vault", "kubernetes"):
        for rtype, name, body in blocks(stacks[stack], "resource"):
            if rtype == "aws_instance":
                assert body["metadata_options"][0]["http_tokens"] == "required", name
                assert body["root_block_device"][0]["encrypted"] is True, name
            if rtype == "aws_launch_template":
                assert body["metadata_options"][0]["http_tokens"] == "required", name


def test_etcd_ports_only_between_etcd_and_masters():
    text = stack_text("kubernetes")
    rules = re.findall(r'\{ to = "(\w+)", from = "(\w+)", port = (\d+), proto = "(\w+)"', text)
    assert rules
    for to, source, port, _proto in rules:
        port = int(port)
        if port in (2379, 2369, 2359):
            assert to == "etcd" and source in ("etcd", "master")
        if port in (2380, 2370, 2360):
            assert to == "etcd" and source == "etcd"
        if port == 10250:
            assert source == "master"


# --------------------------------------------------------------------------- checkov
def checkov_binary():
    candidates = [os.environ.get("APRON_CHECKOV"), str(REPO / ".venv-checkov" / "bin" / "checkov")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.slow
def test_checkov_zero_failed_checks():
    checkov = checkov_binary()
    if not checkov:
        pytest.skip("checkov not found: set APRON_CHECKOV or create .venv-checkov (scripts/bootstrap.sh); "
                    "it conflicts with the test venv pins so it is not in .venv")
    args = [checkov, "-d", str(AMAZON), "--framework", "terraform", "--output", "json",
            "--quiet", "--skip-download", "--compact"]
    proc = subprocess.run(args, check=False,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false"))
    start = proc.stdout.find("{")
    assert start >= 0, "checkov printed no JSON report (rc %s): %s" % (proc.returncode, proc.stderr[-2000:])
    report = json.loads(proc.stdout[start:])
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 100, "checkov checked suspiciously little: %s" % passed
    assert not failed, "\n".join(
        "%s %s %s:%s" % (c["check_id"], c["resource"], c["file_path"], c["file_line_range"]) for c in failed)
    for check in (c for r in reports for c in r.get("results", {}).get("skipped_checks", [])):
        assert check.get("suppress_comment", "").strip(), "skip of %s at %s has no reason" % (
            check["check_id"], check["resource"])


def test_checkov_skip_comments_have_reasons():
    pattern = re.compile(r"checkov:skip=(CKV2?_[A-Z0-9_]+)(.*)")
    found = 0
    for path in AMAZON.rglob("*.tf"):
        for line in path.read_text().splitlines():
            match = pattern.search(line)
            if match:
                found += 1
                assert re.match(r":\s*\S.{10,}", match.group(2)), "%s: %s has no reason" % (path, line.strip())
    assert found
