# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""instance_pools with backend aws_ec2 against a real moto server over HTTP.

The large fleet (1,058 running instances in two regions) is built once per module on a moto server of
this module's own, in a separate process: moto keeps its state per process, so the shared
``moto_endpoint`` fixture (which resets the state before every test that uses it) would wipe a fleet
living in the test process even behind another ThreadedMotoServer. Tests that change EC2 state use
``moto_endpoint``.

Note: moto pages DescribeInstances by reservation (one per RunInstances call), AWS by instance; the
fleet is launched in batches so that small page sizes give many pages.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest

from tests.helpers.inventory import ansible_env, copy_fixture, free_port, group_hosts, hostvars, parse, write_source

pytestmark = pytest.mark.slow

ENV, CLUSTER = "staging", "staging-main"
# pool -> (region, zones, running count, batch size); the model declares etcd 3 (2 run: one missing)
FLEET = {
    "staging-bastion": ("eu-west-1", ["eu-west-1a"], 1, 1),
    "staging-etcd": ("eu-west-1", ["eu-west-1a", "eu-west-1b"], 2, 1),
    "staging-master": ("eu-west-1", ["eu-west-1a", "eu-west-1b"], 2, 1),
    "staging-worker": ("eu-west-1", ["eu-west-1a", "eu-west-1b"], 600, 25),
    "staging-batch": ("eu-central-1", ["eu-central-1a", "eu-central-1b"], 450, 25),
}
ROLES = {"staging-bastion": "bastion", "staging-etcd": "etcd", "staging-master": "master",
         "staging-worker": "worker", "staging-batch": "worker", "staging-vault": "vault", "staging-legacy": "worker"}


def tags(pool, env=ENV, cluster=CLUSTER, **extra):
    items = {"apron.io/environment": env, "apron.io/cluster": cluster, "apron.io/pool": pool,
             "apron.io/role": ROLES.get(pool, "worker")}
    items.update(extra)
    return [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in items.items()]}]


def launch(ec2, image, pool, count, zone, batch, **tag_extra):
    ids = []
    while count > 0:
        n = min(batch, count)
        reply = ec2.run_instances(ImageId=image, MinCount=n, MaxCount=n, InstanceType="t3.small",
                                  Placement={"AvailabilityZone": zone}, TagSpecifications=tags(pool, **tag_extra))
        ids.extend(i["InstanceId"] for i in reply["Instances"])
        count -= n
    return ids


def image_of(ec2):
    """An AMI id from moto's default set."""
    return ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def build_fleet(endpoint):
    clients = {r: boto3.client("ec2", endpoint_url=endpoint, region_name=r) for r in ("eu-west-1", "eu-central-1")}
    images = {r: image_of(c) for r, c in clients.items()}
    for pool, (region, zones, count, batch) in FLEET.items():
        ec2 = clients[region]
        per_zone = [count // len(zones) + (1 if i < count % len(zones) else 0) for i in range(len(zones))]
        for zone, n in zip(zones, per_zone):
            if n:
                launch(ec2, images[region], pool, n, zone, batch)
    west = clients["eu-west-1"]
    # vault: one instance per RunInstances with its Name tag <pool>-<index> (as terraform tags them)
    for i in range(3):
        launch(west, images["eu-west-1"], "staging-vault", 1, "eu-west-1a", 1, Name="staging-vault-%d" % i)
    # a stopped etcd member: filtered out server side (instance-state-name running)
    stopped = launch(west, images["eu-west-1"], "staging-etcd", 1, "eu-west-1b", 1)
    west.stop_instances(InstanceIds=stopped)
    # another environment: filtered out server side (tag apron.io/environment)
    launch(west, images["eu-west-1"], "prod-worker", 4, "eu-west-1a", 4, env="prod", cluster="prod-main")
    # a pool the model does not know: discovered, reported, not added
    launch(west, images["eu-west-1"], "staging-legacy", 3, "eu-west-1b", 3)
    return clients


@pytest.fixture(scope="module")
def fleet(aws_credentials, tmp_path_factory):
    server = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or shutil.which("moto_server")
    if server is None:
        pytest.skip("moto_server (moto[server]) is not installed")
    port = free_port()
    endpoint = "http://127.0.0.1:%d" % port
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start (exit %s)" % proc.poll())
                time.sleep(0.2)
        build_fleet(endpoint)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def aws_dir(tmp_path_factory):
    return copy_fixture("aws", tmp_path_factory.mktemp("aws") / "inv")


@pytest.fixture(scope="module")
def fleet_inventory(fleet, aws_dir):
    from ansible.utils.display import Display

    seen = []
    original = Display.warning

    def record(self, msg, *args, **kwargs):
        seen.append(str(msg))

    Display.warning = record
    try:
        started = time.monotonic()
        inv = parse(write_source(aws_dir, model="model.yml", backend="aws_ec2", endpoint_url=fleet))
        elapsed = time.monotonic() - started
    finally:
        Display.warning = original
    return inv, seen, elapsed


def test_fleet_hosts_and_groups(fleet_inventory):
    inv, _warnings, elapsed = fleet_inventory
    hosts = set(inv.hosts)
    assert len(hosts) == 1 + 3 + 2 + 2 + 600 + 450
    assert len(group_hosts(inv, "worker")) == 1050
    assert len(group_hosts(inv, "pool_staging_batch")) == 450
    assert group_hosts(inv, "vault") == ["staging-vault-0", "staging-vault-1", "staging-vault-2"]
    assert len(group_hosts(inv, "zone_eu_central_1a")) == 225
    assert len(group_hosts(inv, "zone_eu_west_1b")) == 300 + 1 + 1
    assert len(group_hosts(inv, "environment_staging")) == 1058
    assert not any(h.startswith(("prod-", "staging-legacy")) for h in hosts)
    # indexes 0..n-1, no gaps, no duplicates
    assert {h for h in hosts if h.startswith("staging-worker-")} == {"staging-worker-%d" % i for i in range(600)}
    assert elapsed < 60


def test_fleet_hostvars_and_proxy(fleet_inventory):
    inv, _warnings, _elapsed = fleet_inventory
    bastion = hostvars(inv, "staging-bastion-0")
    assert bastion["ansible_user"] == "admin"
    assert bastion["ansible_host"] == bastion["apron"]["public_address"] and bastion["ansible_host"]
    assert "ProxyCommand" not in bastion.get("ansible_ssh_common_args", "")
    worker = hostvars(inv, "staging-worker-17")
    apron = worker["apron"]
    assert apron["environment"] == ENV and apron["cluster"] == CLUSTER and apron["role"] == "worker"
    assert apron["instance_id"].startswith("i-") and apron["region"] == "eu-west-1"
    assert apron["zone"] in ("eu-west-1a", "eu-west-1b")
    assert apron["pool_spec"]["size"] == "large" and apron["pool_spec"]["count"] == 600
    assert apron["cluster_spec"]["network"]["vpcCIDR"] == "10.98.0.0/20"
    assert worker["ansible_host"] == apron["private_address"]
    assert "ansible_ssh_private_key_file" not in worker
    args = shlex.split(worker["ansible_ssh_common_args"])
    proxy = shlex.split(args[-1][len("ProxyCommand="):])
    assert proxy == ["ssh", "-p", "22", "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes",
                     "-l", "admin", "-W", "%h:%p", bastion["ansible_host"]]
    assert hostvars(inv, "staging-worker-18")["apron"]["pool_spec"] is apron["pool_spec"]


def test_fleet_missing_and_unmodelled(fleet_inventory):
    inv, warnings, _elapsed = fleet_inventory
    status = inv.groups["pool_staging_etcd"].get_vars()["apron_pool_status"]
    assert status == {"declared": 3, "discovered": 2, "missing": ["staging-etcd-2"], "unexpected": []}
    assert any("pool staging-etcd: 1 of 3 declared member(s) not discovered: staging-etcd-2" in w for w in warnings)
    report = inv.groups["all"].get_vars()["apron_inventory_report"]
    assert report["missing"] == ["staging-etcd-2"]
    assert len(report["unmodelled"]) == 3 and all("pool=staging-legacy" in u for u in report["unmodelled"])
    assert any("3 discovered instance(s) not in the model (not added)" in w for w in warnings)
    assert report["stats"]["regions"] == 2 and report["stats"]["calls"] == 2  # one page per region


def test_pagination(fleet, aws_dir):
    inv = parse(write_source(aws_dir, name="paged.apron.yml", model="model.yml", backend="aws_ec2",
                             endpoint_url=fleet, page_size=5))
    report = inv.groups["all"].get_vars()["apron_inventory_report"]
    assert report["stats"]["pages"] > 8
    assert len(inv.hosts) == 1058


def test_regions_option_limits_the_query(fleet, aws_dir, warnings_seen):
    inv = parse(write_source(aws_dir, name="west.apron.yml", model="model.yml", backend="aws_ec2",
                             endpoint_url=fleet, regions=["eu-west-1"]))
    assert len(group_hosts(inv, "pool_staging_batch")) == 0
    assert len(inv.hosts) == 608
    assert warnings_seen.matching("pool staging-batch: 450 of 450 declared member(s) not discovered")


def test_endpoint_from_environment(fleet, aws_dir, monkeypatch):
    monkeypatch.setenv("APRON_AWS_ENDPOINT_URL", fleet)
    inv = parse(write_source(aws_dir, name="env.apron.yml", model="model.yml", backend="aws_ec2",
                             regions=["eu-central-1"]))
    assert len(inv.hosts) == 450


def test_cache_serves_second_parse_without_ec2(moto_endpoint, tmp_path, warnings_seen):
    inv_dir = copy_fixture("aws", tmp_path / "inv")
    west = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    launch(west, image_of(west), "staging-etcd", 3, "eu-west-1a", 3)
    cache_dir = tmp_path / "cache"
    options = dict(model="model.yml", backend="aws_ec2", endpoint_url=moto_endpoint, regions=["eu-west-1"],
                   cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache_dir),
                   cache_timeout=600)
    source = write_source(inv_dir, **options)
    first = parse(source)
    assert group_hosts(first, "etcd") == ["staging-etcd-0", "staging-etcd-1", "staging-etcd-2"]
    assert first.groups["all"].get_vars()["apron_inventory_report"]["from_cache"] is False
    assert list(cache_dir.iterdir())

    # wipe EC2: whatever the next parse shows cannot have come from EC2
    urllib.request.urlopen(urllib.request.Request(moto_endpoint + "/moto-api/reset", method="POST"), timeout=10)
    assert west.describe_instances()["Reservations"] == []
    second = parse(source)
    assert group_hosts(second, "etcd") == ["staging-etcd-0", "staging-etcd-1", "staging-etcd-2"]
    assert second.groups["all"].get_vars()["apron_inventory_report"]["from_cache"] is True
    assert hostvars(second, "staging-etcd-1")["apron"]["instance_id"] == \
        hostvars(first, "staging-etcd-1")["apron"]["instance_id"]

    # cache=False (what --flush-cache / refresh_inventory do) asks EC2 again and refreshes the cache
    third = parse(source, cache=False)
    assert list(third.hosts) == []
    fourth = parse(source)
    assert list(fourth.hosts) == [] and fourth.groups["all"].get_vars()["apron_inventory_report"]["from_cache"]


def test_cache_of_another_model_is_not_used(moto_endpoint, tmp_path):
    inv_dir = copy_fixture("aws", tmp_path / "inv")
    west = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
    launch(west, image_of(west), "staging-etcd", 1, "eu-west-1a", 1)
    options = dict(model="model.yml", backend="aws_ec2", endpoint_url=moto_endpoint, regions=["eu-west-1"],
                   cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"))
    source = write_source(inv_dir, **options)
    parse(source)
    text = (inv_dir / "model.yml").read_text().replace("name: staging}", "name: qa}").replace(
        "environment: staging", "environment: qa")
    (inv_dir / "model.yml").write_text(text)
    inv = parse(source)
    assert inv.groups["all"].get_vars()["apron_inventory_report"]["from_cache"] is False
    assert "environment_qa" in inv.groups
    assert parse(source).groups["all"].get_vars()["apron_inventory_report"]["from_cache"] is True
    # other regions in the source: the cached discovery does not answer that query either
    options["regions"] = ["eu-west-1", "eu-central-1"]
    inv = parse(write_source(inv_dir, **options))
    assert inv.groups["all"].get_vars()["apron_inventory_report"]["from_cache"] is False


def test_ec2_errors_are_parser_errors(tmp_path, aws_credentials):
    from ansible.errors import AnsibleParserError

    inv_dir = copy_fixture("aws", tmp_path / "inv")
    port = free_port()  # nothing listens there
    with pytest.raises(AnsibleParserError) as err:
        parse(write_source(inv_dir, model="model.yml", backend="aws_ec2", regions=["eu-west-1"],
                           endpoint_url="http://127.0.0.1:%d" % port))
    assert "DescribeInstances in eu-west-1 failed" in str(err.value)


def test_ansible_inventory_cli_against_moto(fleet, aws_dir):
    """End to end: ansible-inventory --graph with the endpoint from APRON_AWS_ENDPOINT_URL."""
    source = write_source(aws_dir, name="cli.apron.yml", model="model.yml", backend="aws_ec2")
    env = ansible_env(APRON_AWS_ENDPOINT_URL=fleet, ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    proc = subprocess.run(["ansible-inventory", "-i", str(source), "--graph", "etcd"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "staging-etcd-0" in proc.stdout and "staging-etcd-1" in proc.stdout
    assert "staging-etcd-2" in proc.stderr, proc.stderr  # the missing-member warning
