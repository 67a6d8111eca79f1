# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""instance_pools with backend aws_ec2 on a real moto server: multi-cluster environments and the repository's example amazon inventories."""
from __future__ import annotations

import shutil
import subprocess

import boto3
import pytest

from tests.helpers.inventory import ansible_env, hostvars, parse, write_source
from tests.helpers import REPO


def test_multi_cluster_aws_ec2(moto_endpoint, tmp_path):
    inv_dir = tmp_path / "multi"
    shutil.copytree(REPO / "inventories" / "aws-example" / "multi" / "model", inv_dir / "model")
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for pool, cluster, role, count in (("platform-bastion", "platform-hub", "bastion", 1),
                                       ("green-master", "green", "master", 1), ("green-worker", "green", "worker", 2)):
        tags = {"apron.io/environment": "platform", "apron.io/cluster": cluster, "apron.io/pool": pool,
                "apron.io/role": role}
        ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.small",
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
    inv = parse(write_source(inv_dir, model="model/", backend="aws_ec2", endpoint_url=moto_endpoint))
    assert sorted(inv.hosts) == ["green-master-0", "green-worker-0", "green-worker-1", "platform-bastion-0"]
    bastion_ip = hostvars(inv, "platform-bastion-0")["ansible_host"]
    assert bastion_ip == hostvars(inv, "platform-bastion-0")["apron"]["public_address"]
    assert ("-W %h:%p " + bastion_ip) in hostvars(inv, "green-worker-1")["ansible_ssh_common_args"]
    status = inv.groups["pool_blue_etcd"].get_vars()["apron_pool_status"]
    assert status["missing"] == ["blue-etcd-0", "blue-etcd-1", "blue-etcd-2"]


def run_inventory(*args, **env):
    proc = subprocess.run(["ansible-inventory", *args], env=ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="1", **env),
                          capture_output=True, text=True, timeout=300, cwd=str(REPO), check=False)
    return proc


@pytest.mark.parametrize("example, env_name, pools", [
    ("single", "prod", {"prod-bastion": ("bastion", "prod", 1), "prod-etcd": ("etcd", "prod", 3)}),
    ("multi", "platform", {"platform-bastion": ("bastion", "platform-hub", 1), "blue-etcd": ("etcd", "blue", 2)}),
])
def test_aws_example_inventory_graph(moto_endpoint, tmp_path, example, env_name, pools):
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for pool, (role, cluster, count) in pools.items():
        tags = {"apron.io/environment": env_name, "apron.io/cluster": cluster, "apron.io/pool": pool,
                "apron.io/role": role}
        ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.small",
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
    # the example models name AWS profiles (single: prod): give them fake credentials for the emulator
    profiles = "".join("[profile %s]\naws_access_key_id = testing\naws_secret_access_key = testing\n" % name
                       for name in ("prod", "platform", "default"))
    (tmp_path / "aws-config").write_text(profiles)
    proc = run_inventory("-i", "inventories/aws-example/%s" % example, "--graph", "etcd",
                         APRON_AWS_ENDPOINT_URL=moto_endpoint, AWS_CONFIG_FILE=str(tmp_path / "aws-config"))
    assert proc.returncode == 0, proc.stderr
    etcd_pool = [p for p in pools if p.endswith("-etcd")][0]
    for i in range(pools[etcd_pool][2]):
        assert "%s-%d" % (etcd_pool, i) in proc.stdout
    assert "declared member(s) not discovered" in proc.stderr
