# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Testinfra checks for the etcd-scale scenario: the clusters grew from 3 to 5 members and rolled
an upgrade (Debian's etcd 3.4.23 -> the pinned release 3.5.1 from an offline artifacts directory)
and a settings change through the members while the writer (files/apron-writer, started by
prepare.yml) kept writing.

The writer logs every put it attempts; it is stopped here, at a round boundary, so the log holds
every attempt. No failed write: no `fail` line. No lost key: every member holds exactly the keys
the writer was told were written. The changes happened under load: every member's unit started
(joined or restarted) between the first and the last write of its cluster.
"""

import json
import os
import time

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
_RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
MEMBERS = sorted(_RUNNER.get_hosts("etcd"))
SEEDS = sorted(_RUNNER.get_hosts("etcd_seed"))
JOINERS = [m for m in MEMBERS if m not in SEEDS]
testinfra_hosts = [f"podman://{name}" for name in MEMBERS]

CLUSTERS = ("k8s-main", "k8s-events", "overlay")
WRITER_LOG = "/var/tmp/apron-writer.log"
WRITER_STOP = "/var/tmp/apron-writer.stop"
NEW_SNAPSHOT_COUNT = "20000"  # converge.yml (prepare.yml bootstraps the seeds with 10000)
RELEASE = "3.5.1"  # converge.yml (prepare.yml bootstraps the seeds from Debian's 3.4.23 package)
PORTS = {"k8s-main": 2379, "k8s-events": 2369, "overlay": 2359}
# Successful writes of one cluster are never further apart than this (etcdctl dial and command
# timeouts are 5 s each): a longer gap means the writer stalled, which would hide failures.
MAX_GAP_MS = 20_000


def _member(name):
    return testinfra.get_host(f"podman://{name}")


def _ctl(host, cluster, *args):
    return host.run("apron-etcdctl " + cluster + " " + " ".join(args))


@pytest.fixture(scope="module")
def writes():
    """Stop the writer at a round boundary; return {cluster: [(ms, ok, round, error)]}."""
    writer_host = _member(SEEDS[0])
    state = writer_host.run("systemctl is-active apron-writer.service").stdout.strip()
    assert state == "active", (
        "the writer started by prepare.yml is not running any more (" + state + "): "
        + writer_host.run("journalctl -u apron-writer.service --no-pager -n 20").stdout)
    writer_host.check_output(f"touch {WRITER_STOP}")
    for _attempt in range(60):
        if writer_host.run("systemctl is-active apron-writer.service").stdout.strip() != "active":
            break
        time.sleep(1)
    else:
        pytest.fail("the writer did not stop within 60 s of the stop file")
    log = {c: [] for c in CLUSTERS}
    for line in writer_host.file(WRITER_LOG).content_string.splitlines():
        ms, result, cluster, rnd, *error = line.split(" ")
        log[cluster].append((int(ms), result == "ok", int(rnd), " ".join(error)))
    return log


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_no_failed_write(writes, cluster):
    attempts = writes[cluster]
    failed = [a for a in attempts if not a[1]]
    assert not failed, f"{len(failed)} of {len(attempts)} writes to {cluster} failed: {failed[:5]}"
    # Enough writes to have covered the converge (it takes minutes; a round takes well under 1 s).
    assert len(attempts) >= 100, attempts


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_writer_never_stalled(writes, cluster):
    times = [a[0] for a in writes[cluster] if a[1]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) < MAX_GAP_MS, f"longest pause between writes to {cluster}: {max(gaps)} ms"


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_changes_happened_while_writing(writes, cluster):
    """Every member's unit started (members 4-5 joined, 1-3 restarted) between the first and
    the last write: the grow and the roll both ran under the writer's load."""
    ok_times = [a[0] for a in writes[cluster] if a[1]]
    first, last = min(ok_times), max(ok_times)
    for name in MEMBERS:
        started = _member(name).check_output(
            f"systemctl show --property=ActiveEnterTimestamp --timestamp=unix --value apron-etcd@{cluster}.service")
        started_ms = int(started.lstrip("@")) * 1000
        assert first < started_ms < last, (
            f"{name}: apron-etcd@{cluster} started at {started_ms}, writes ran {first}..{last}")


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_no_lost_key(host, writes, cluster):
    written = {f"/apron-writer/{cluster}/{a[2]:08d}" for a in writes[cluster] if a[1]}
    # A put the writer logged as failed (a client timeout) may still have been committed: its
    # outcome is unknown, so it may be stored or not (test_no_failed_write reports the failure).
    unknown = {f"/apron-writer/{cluster}/{a[2]:08d}" for a in writes[cluster] if not a[1]}
    # A linearizable read through this member's own endpoint: what this member has applied.
    result = _ctl(host, cluster, "get", "--prefix", f"/apron-writer/{cluster}/", "--keys-only")
    assert result.rc == 0, result.stderr
    stored = {line for line in result.stdout.splitlines() if line}
    lost, unexpected = written - stored, stored - written - unknown
    # Messages name counts and five examples: a set comparison would print thousands of keys.
    assert not lost and not unexpected, (
        f"lost {sorted(lost)[:5]} ({len(lost)}), never written {sorted(unexpected)[:5]} ({len(unexpected)})")


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_five_healthy_members_from_every_member(host, cluster):
    result = _ctl(host, cluster, "endpoint", "health", "--cluster", "--write-out=json")
    assert result.rc == 0, result.stderr
    health = json.loads(result.stdout)
    assert len(health) == len(MEMBERS) == 5
    assert all(h["health"] for h in health), health
    members = json.loads(_ctl(host, cluster, "member", "list", "--write-out=json").stdout)["members"]
    assert sorted(m["name"] for m in members) == MEMBERS
    assert all(m["clientURLs"] for m in members), members  # every member started


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_new_setting_in_effect(host, cluster):
    env_file = host.file(f"/etc/apron/etcd/{cluster}/etcd.env").content_string
    assert f"ETCD_SNAPSHOT_COUNT={NEW_SNAPSHOT_COUNT}\n" in env_file
    # The running process read it: it started after the file was last written (the seeds were
    # restarted, not only rewritten; the process environment itself is not readable here).
    started = host.check_output(
        f"systemctl show --property=ActiveEnterTimestamp --timestamp=unix --value apron-etcd@{cluster}.service")
    written = host.check_output(f"stat -c %Y /etc/apron/etcd/{cluster}/etcd.env")
    assert int(started.lstrip("@")) >= int(written), (started, written)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_member_runs_the_release(host, cluster):
    pid = host.check_output(f"systemctl show --property=MainPID --value apron-etcd@{cluster}.service")
    assert host.check_output(f"ps -o args= -p {pid}") == f"/opt/apron/etcd/{RELEASE}/etcd"
    status = json.loads(_ctl(host, cluster, "endpoint", "status", "--write-out=json").stdout)
    assert status[0]["Status"]["version"] == RELEASE, status
    tree = host.file(f"/opt/apron/etcd/{RELEASE}")
    assert tree.user == "root" and tree.mode == 0o755
    assert host.file(f"/opt/apron/etcd/{RELEASE}/etcd").user == "root"


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_cluster_version_upgraded(host, cluster):
    """Once every member runs 3.5, the cluster itself moves to version 3.5 (the rolling upgrade
    is complete): read /version over TLS with the cluster's client certificate."""
    pki = f"/etc/apron/etcd/{cluster}/pki"
    script = (
        "import ssl, urllib.request; "
        f"c = ssl.create_default_context(cafile='{pki}/ca.crt'); "
        f"c.load_cert_chain('{pki}/client.crt', '{pki}/client.key'); "
        f"print(urllib.request.urlopen('https://127.0.0.1:{PORTS[cluster]}/version', context=c, timeout=10).read().decode())"
    )
    version = json.loads(host.check_output(f'python3 -c "{script}"'))
    assert version == {"etcdserver": RELEASE, "etcdcluster": "3.5.0"}, version


def test_joiners_bootstrapped_as_existing(host):
    """Members 4-5 joined the running clusters; the seeds bootstrapped them."""
    for cluster in CLUSTERS:
        bootstrap = host.file(f"/etc/apron/etcd/{cluster}/bootstrap.env").content_string
        state = "existing" if host.backend.name in JOINERS else "new"
        assert f"ETCD_INITIAL_CLUSTER_STATE={state}\n" in bootstrap, bootstrap
