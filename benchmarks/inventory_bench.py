#!/usr/bin/env python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Inventory build time: apron.cluster.instance_pools (backend aws_ec2) vs amazon.aws.aws_ec2.

Starts a moto server in this process (ThreadedMotoServer on a free loopback port), launches
100 / 1,000 / 5,000 tagged EC2 instances (batches of 50 per RunInstances, 3 zones, one region)
and builds the inventory of the same running instances with the same server-side filters
(tag apron.io/environment, instance-state-name running):

* instance_pools, cold: DescribeInstances + model + hosts/groups/hostvars (no cache)
* instance_pools, cached: the same source with the jsonfile cache filled (no EC2 call)
* aws_ec2, cold: amazon.aws.aws_ec2 with hostnames/compose/keyed_groups giving comparable
  names, groups (pool, role, zone) and ansible_host; no cache
* aws_ec2, cached: the same with the jsonfile cache filled
* raw DescribeInstances: boto3's paginator alone (what every cold row pays to moto)

Each plugin runs through Ansible's plugin loader on a fresh InventoryData, several repetitions,
the median is reported. moto serves the API from Python, so the cold rows are dominated by the
emulator; the "plugin work" column subtracts the raw DescribeInstances median.

Usage: source scripts/env.sh && python benchmarks/inventory_bench.py [--sizes 100,1000,5000]
       [--repeat 5] [--output benchmarks/results/inventory.md]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGION = "eu-west-1"
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
ENV, CLUSTER = "bench", "bench-main"
BATCH = 50


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pool_layout(total):
    """pool -> (role, count): the control plane plus at least two worker pools of at most 900
    instances each (the model allows 1000 per pool) taking the rest."""
    fixed = {"bench-bastion": ("bastion", 1), "bench-vault": ("vault", 3), "bench-etcd": ("etcd", 3),
             "bench-master": ("master", 3)}
    rest = total - sum(c for _r, c in fixed.values())
    pools = max(2, -(-rest // 900))
    layout = dict(fixed)
    for i in range(pools):
        layout["bench-worker-%d" % i] = ("worker", rest // pools + (1 if i < rest % pools else 0))
    return layout


def write_model(directory, layout):
    docs = [
        "apiVersion: apron.io/v1alpha1\nkind: Provider\nmetadata: {name: aws-bench}\n"
        "spec:\n  type: amazon\n  amazon:\n    regions: [%s]\n" % REGION,
        "apiVersion: apron.io/v1alpha1\nkind: Environment\nmetadata: {name: %s}\n"
        "spec: {provider: aws-bench, project: apron, privateZone: bench.apron.internal}\n" % ENV,
        "apiVersion: apron.io/v1alpha1\nkind: Cluster\nmetadata: {name: %s}\nspec:\n  environment: %s\n"
        "  network:\n    vpcCIDR: 10.98.0.0/16\n    zones: [%s]\n"
        % (CLUSTER, ENV, ", ".join("{name: %s}" % z for z in ZONES)),
    ]
    for pool, (role, count) in layout.items():
        docs.append("apiVersion: apron.io/v1alpha1\nkind: InstancePool\nmetadata: {name: %s}\n"
                    "spec: {cluster: %s, role: %s, count: %d, zones: [%s]}\n"
                    % (pool, CLUSTER, role, count, ", ".join(ZONES)))
    (directory / "model.yml").write_text("---\n" + "---\n".join(docs))


def launch(ec2, image, layout):
    for pool, (role, count) in layout.items():
        tags = {"apron.io/environment": ENV, "apron.io/cluster": CLUSTER, "apron.io/pool": pool,
                "apron.io/role": role}
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        done = 0
        while done < count:
            n = min(BATCH, count - done)
            ec2.run_instances(ImageId=image, MinCount=n, MaxCount=n, InstanceType="t3.small",
                              Placement={"AvailabilityZone": ZONES[(done // BATCH) % len(ZONES)]},
                              TagSpecifications=spec)
            done += n


def write_sources(directory, endpoint, cache_dir):
    ours = ("plugin: apron.cluster.instance_pools\nmodel: model.yml\nbackend: aws_ec2\n"
            "endpoint_url: %s\nregions: [%s]\n" % (endpoint, REGION))
    theirs = (
        "plugin: amazon.aws.aws_ec2\nregions: [%s]\nendpoint_url: %s\n"
        "filters:\n  tag:apron.io/environment: %s\n  instance-state-name: running\n"
        "hostnames:\n  - private-ip-address\n"
        "compose:\n  ansible_host: private_ip_address\n"
        "keyed_groups:\n"
        "  - {key: 'tags[\"apron.io/pool\"]', prefix: pool}\n"
        "  - {key: 'tags[\"apron.io/role\"]', separator: '', prefix: ''}\n"
        "  - {key: placement.availability_zone, prefix: zone}\n" % (REGION, endpoint, ENV))
    cache = "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 3600\n"
    paths = {}
    for name, text in (("ours.apron.yml", ours), ("ours-cached.apron.yml", ours + cache % (cache_dir / "ours")),
                       ("theirs.aws_ec2.yml", theirs),
                       ("theirs-cached.aws_ec2.yml", theirs + cache % (cache_dir / "theirs"))):
        (directory / name).write_text(text)
        paths[name] = str(directory / name)
    return paths


def build(plugin_name, source, cache):
    """One inventory build with a fresh InventoryData; returns (seconds, host count)."""
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get(plugin_name)
    inventory = InventoryData()
    started = time.perf_counter()
    plugin.parse(inventory, DataLoader(), source, cache=cache)
    try:
        plugin.update_cache_if_changed()
    except AttributeError:
        pass
    inventory.reconcile_inventory()
    elapsed = time.perf_counter() - started
    return elapsed, len(inventory.hosts)


def raw_describe(endpoint):
    import boto3

    client = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
    started = time.perf_counter()
    count = 0
    for page in client.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "tag:apron.io/environment", "Values": [ENV]},
                     {"Name": "instance-state-name", "Values": ["running"]}],
            PaginationConfig={"PageSize": 1000}):
        count += sum(len(r["Instances"]) for r in page["Reservations"])
    return time.perf_counter() - started, count


def measure(fn, repeat):
    times = []
    hosts = None
    for _run in range(repeat):
        try:
            elapsed, hosts = fn()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            print("  failed: %s" % str(exc).splitlines()[0][:200], flush=True)
            return None, None, None, "failed: %s" % type(exc).__name__
        times.append(elapsed)
    return statistics.median(times), min(times), max(times), hosts


def _fmt(value):
    return "-" if value is None else "%.3f" % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--repeat-large", type=int, default=3, help="repetitions for sizes above 1000")
    parser.add_argument("--full-up-to", type=int, default=1000,
                        help="sizes above this get one cold run per plugin (the cache fill) and no raw row")
    parser.add_argument("--read-timeout", type=int, default=900, help="botocore read timeout (s) for all clients")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "inventory.md"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", REGION)):
        os.environ[key] = value
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "APRON_AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)

    import boto3
    import botocore.config
    import urllib.request
    from moto.server import ThreadedMotoServer
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.display import Display

    init_plugin_loader()
    # moto's DescribeInstances time grows faster than linearly (about 70 s for 4,000 instances on a loaded
    # 2-core machine): raise botocore's default 60 s read timeout for both plugins alike.
    botocore.config.Config.OPTION_DEFAULTS["read_timeout"] = args.read_timeout
    Display.warning = lambda self, msg, *a, **k: None  # the cold runs would print the same warnings each time

    load_start = os.getloadavg()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = "http://127.0.0.1:%d" % port
    rows = []
    try:
        for size in sizes:
            repeat = args.repeat if size <= 1000 else args.repeat_large
            urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"), timeout=30)
            ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
            image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
            layout = pool_layout(size)
            started = time.perf_counter()
            launch(ec2, image, layout)
            print("%d instances launched in %.1fs" % (size, time.perf_counter() - started), flush=True)
            with tempfile.TemporaryDirectory(prefix="apron-inv-bench-") as tmp:
                tmp = Path(tmp)
                write_model(tmp, layout)
                src = write_sources(tmp, endpoint, tmp / "cache")
                results = {}
                large = size > args.full_up_to
                if not large:
                    results["raw DescribeInstances (boto3 paginator)"] = measure(lambda: raw_describe(endpoint), repeat)
                    results["instance_pools, cold"] = measure(
                        lambda: build("apron.cluster.instance_pools", src["ours.apron.yml"], True), repeat)
                # the run that fills the cache is a cold run too (cache=False: discover, then write the cache);
                # above --full-up-to it is the only cold run (moto needs minutes per DescribeInstances there)
                fill = measure(lambda: build("apron.cluster.instance_pools", src["ours-cached.apron.yml"], False), 1)
                if large:
                    results["instance_pools, cold (fills the cache)"] = fill
                results["instance_pools, cached"] = measure(
                    lambda: build("apron.cluster.instance_pools", src["ours-cached.apron.yml"], True), repeat)
                if not large:
                    results["amazon.aws.aws_ec2, cold"] = measure(
                        lambda: build("amazon.aws.aws_ec2", src["theirs.aws_ec2.yml"], True), repeat)
                fill = measure(lambda: build("amazon.aws.aws_ec2", src["theirs-cached.aws_ec2.yml"], False), 1)
                if large:
                    results["amazon.aws.aws_ec2, cold (fills the cache)"] = fill
                results["amazon.aws.aws_ec2, cached"] = measure(
                    lambda: build("amazon.aws.aws_ec2", src["theirs-cached.aws_ec2.yml"], True), repeat)
            raw = results.get("raw DescribeInstances (boto3 paginator)", (None,))[0]
            for name, (median, low, high, hosts) in results.items():
                work = ""
                if median is not None and raw is not None and not (name.startswith("raw") or "cached" in name):
                    work = "%.3f" % max(median - raw, 0.0)
                rows.append((size, name, median, low, high, hosts, 1 if "fills the cache" in name else repeat, work))
                print("%5d  %-42s median %s  (min %s, max %s, hosts %s)" % (size, name, _fmt(median), _fmt(low),
                                                                            _fmt(high), hosts), flush=True)
            write_table(args.output, rows, load_start)  # after every size: partial results survive an abort
    finally:
        server.stop()
    print("written to %s" % args.output)
    return 0


def write_table(output, rows, load_start):
    import ansible
    import moto
    lines = [
        "# Inventory benchmark: apron.cluster.instance_pools vs amazon.aws.aws_ec2",
        "",
        "Generated by `benchmarks/inventory_bench.py` on %s UTC (%s, Python %s, ansible-core %s, moto %s, %d CPUs)."
        % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), platform.platform(),
           platform.python_version(), ansible.__version__, moto.__version__, os.cpu_count() or 0),
        "",
        "1-minute load average at start / end: %.1f / %.1f (the machine is shared; compare rows of one run,"
        " not runs)." % (load_start[0], os.getloadavg()[0]),
        "",
        "Same running instances, same server-side filters (tag `apron.io/environment`, `instance-state-name`"
        " running), one region, moto server in-process over HTTP (instances launched 50 per RunInstances,"
        " so moto returns all of them in one page; botocore read timeout raised to --read-timeout for all"
        " clients because moto needs minutes for 5,000 instances). Times are seconds per inventory build"
        " on a fresh InventoryData (median of the repetitions; min/max in brackets). *Plugin work* = cold"
        " median minus the raw DescribeInstances median: what the plugin adds on top of the API. Sizes above"
        " 1,000: one cold run per plugin (the run that fills the cache) and no raw row, because one moto"
        " DescribeInstances of 5,000 instances takes minutes here.",
        "",
        "| instances | build | median s | min / max s | hosts | runs | plugin work s |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, name, median, low, high, hosts, repeat, work in rows:
        lines.append("| %d | %s | %s | %s / %s | %s | %d | %s |" % (size, name, _fmt(median), _fmt(low), _fmt(high),
                                                                    hosts, repeat, work or "-"))
    lines += [
        "",
        "Notes: the moto emulator renders DescribeInstances in Python, so the cold rows are dominated by the"
        " emulator (compare the raw row); against AWS the API part differs, the plugin work does not."
        " instance_pools builds more per host than the aws_ec2 configuration here (the `apron` dict with"
        " the shared pool and cluster specs, ProxyCommand arguments, pool status and missing-member report).",
        "",
    ]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
