# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""instance_pools with backend terraform on states written by real services: terraform itself, and S3 on a real moto server."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.helpers.inventory import copy_fixture, group_hosts, hostvars, instance, parse, tfstate, write_source

ENV, CLUSTER = "dev", "main"


@pytest.fixture
def local_dir(tmp_path):
    """fixtures/local copied to tmp/inv; the model's state path (../state) is tmp/state."""
    inv = copy_fixture("local", tmp_path / "inv")
    return inv


def test_real_terraform_state(local_dir, tmp_path):
    """A state written by terraform itself (provider-free config with the instances output)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    stack = tmp_path / "tf"
    stack.mkdir()
    instances = {"dev-etcd-0": instance("dev-etcd-0", ENV, CLUSTER, "dev-etcd", "etcd", "local-a", 0, "10.90.0.10")}
    state = tmp_path / "state" / ENV / CLUSTER / "kubernetes" / "terraform.tfstate"
    (stack / "main.tf").write_text(
        'terraform {\n  backend "local" {}\n}\n'
        'variable "instances" {\n  type = any\n}\n'
        'output "instances" {\n  value = var.instances\n}\n')
    (stack / "terraform.tfvars.json").write_text(json.dumps({"instances": instances}))
    env = {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(tmp_path / "tfdata"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    subprocess.run([terraform, "-chdir=%s" % stack, "init", "-input=false", "-backend-config=path=%s" % state],
                   check=True, env=env, capture_output=True)
    subprocess.run([terraform, "-chdir=%s" % stack, "apply", "-auto-approve", "-input=false"],
                   check=True, env=env, capture_output=True)
    assert state.exists()
    inv = parse(write_source(local_dir, model="model.yml", base_dir=".."))
    assert list(inv.hosts) == ["dev-etcd-0"]
    assert hostvars(inv, "dev-etcd-0")["apron"]["private_address"] == "10.90.0.10"


def test_s3_state_on_moto(local_dir, moto_endpoint, warnings_seen):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-west-1")
    s3.create_bucket(Bucket="apron-dev-state", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    etcd = {"dev-etcd-%d" % i: instance("dev-etcd-%d" % i, ENV, CLUSTER, "dev-etcd", "etcd", "local-a", i,
                                        "10.90.0.%d" % (10 + i)) for i in range(3)}
    s3.put_object(Bucket="apron-dev-state", Key="dev/main/kubernetes/terraform.tfstate",
                  Body=json.dumps(tfstate(etcd)).encode())
    inv = parse(write_source(local_dir, model="model.yml", base_dir="..", state_bucket="apron-dev-state",
                             state_region="eu-west-1", endpoint_url=moto_endpoint))
    assert group_hosts(inv, "etcd") == ["dev-etcd-0", "dev-etcd-1", "dev-etcd-2"]
    assert warnings_seen.matching("stack dev/main/tools is not applied yet (no object (NoSuchKey) at "
                                  "s3://apron-dev-state/dev/main/tools/terraform.tfstate)")
    # a bucket that does not exist (the state stack not applied): reported, no crash
    warnings_seen.clear()
    inv = parse(write_source(local_dir, model="model.yml", base_dir="..", state_bucket="no-such-bucket",
                             state_region="eu-west-1", endpoint_url=moto_endpoint))
    assert list(inv.hosts) == []
    assert len(warnings_seen.matching("(no object (NoSuchBucket)")) == 3
