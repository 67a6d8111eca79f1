# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The documented restore procedure (playbooks/etcd-restore.yml), end to end, on `overlay`.

Runs last (file name). First a restore that fails after the members were stopped (one member
refuses to start on the restored data): every member is back on its previous data, started and
healthy, and no snapshot copy is left on the controller or the members. Then the real one: put a
key, snapshot it with the backup service, delete the key and write another one, restore the newest
snapshot, then the first key is back on every member, the later one is gone, the cluster is
healthy and the old data directories were kept aside. Both runs pass a wrong etcd_data_root: the
restore must use the data directory the members were deployed with.
"""

import glob
import json
import os
import subprocess
import uuid

import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
MEMBERS = sorted(testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("etcd"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLUSTER = "overlay"

# No host fixture: the test drives all members itself.
testinfra_hosts = [f"podman://{MEMBERS[0]}"]


def _member(name):
    return testinfra.get_host(f"podman://{name}")


def _ctl(host, *args):
    return host.run(f"apron-etcdctl {CLUSTER} " + " ".join(args))


def _restore(*extra):
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "etcd-restore.yml"),
         "-e", f"etcd_restore_cluster={CLUSTER}", "-e", "etcd_restore_confirm=true",
         # Not where the members keep their data: the restore reads the deployed directory.
         "-e", "etcd_data_root=/var/lib/apron/not-the-data-root", *extra],
        capture_output=True, text=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), timeout=600, check=False)


def test_failed_restore_puts_the_members_back_on_their_data():
    first, second = _member(MEMBERS[0]), _member(MEMBERS[1])
    data = f"/var/lib/apron/etcd/{CLUSTER}"
    assert first.run(f"systemctl start apron-etcd-backup@{CLUSTER}.service").rc == 0
    later_key = f"/restore/after-snapshot-{uuid.uuid4().hex}"
    assert _ctl(first, "put", later_key, "kept").rc == 0
    # The second member starts only on its old data directory (which holds the marker).
    dropin = f"/etc/systemd/system/apron-etcd@{CLUSTER}.service.d"
    second.check_output(f"touch {data}/apron-test-marker && mkdir -p {dropin} && printf '%s\\n' '[Service]' "
                        f"'ExecStartPre=/usr/bin/test -e {data}/apron-test-marker' > {dropin}/marker.conf "
                        "&& systemctl daemon-reload")
    try:
        result = _restore("-e", "etcd_health_retries=8")
    finally:
        second.check_output(f"rm -rf {dropin} {data}/apron-test-marker && systemctl daemon-reload")
    assert result.returncode != 0, result.stdout[-3000:]
    # Failures are printed on stderr (display_failed_stderr), wrapped.
    output = " ".join((result.stdout + result.stderr).split())
    assert "the members were put back on their previous data and the cluster is healthy" in output, output[-6000:]
    # It failed where the member refused the restored data: after the stop, at the health gate.
    assert "Restore | stop the cluster on every member" in output, output[-6000:]
    for name in MEMBERS:
        member = _member(name)
        assert _ctl(member, "get", later_key, "--print-value-only").stdout.strip() == "kept"
        assert member.service(f"apron-etcd@{CLUSTER}.service").is_running
        assert member.run(f"ls /var/lib/apron/etcd/.restore-{CLUSTER}-*.db").rc != 0, "snapshot copy left"
        assert member.run(f"ls -d {data}.restored-*").rc != 0, "restored directory left"
    assert second.run(f"ls -d {data}.failed-restore-*").rc == 0
    leftovers = glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), "apron-etcd-restore-*"))
    assert leftovers == [], leftovers


def test_restore_from_snapshot():
    first = _member(MEMBERS[0])
    kept_key, kept_value = f"/restore/kept-{uuid.uuid4().hex}", uuid.uuid4().hex
    later_key = f"/restore/later-{uuid.uuid4().hex}"
    assert _ctl(first, "put", kept_key, kept_value).rc == 0
    backup = first.run(f"systemctl start apron-etcd-backup@{CLUSTER}.service")
    assert backup.rc == 0, backup.stderr
    assert _ctl(first, "del", kept_key).stdout.strip() == "1"
    assert _ctl(first, "put", later_key, "x").rc == 0

    result = _restore()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]

    for name in MEMBERS:
        member = _member(name)
        health = _ctl(member, "endpoint", "health", "--cluster", "--write-out=json")
        assert health.rc == 0, health.stderr
        assert len(json.loads(health.stdout)) == len(MEMBERS)
        assert _ctl(member, "get", kept_key, "--print-value-only").stdout.strip() == kept_value
        assert _ctl(member, "get", later_key, "--print-value-only").stdout.strip() == ""
        aside = member.run(f"ls -d /var/lib/apron/etcd/{CLUSTER}.before-restore-*")
        assert aside.rc == 0 and aside.stdout.strip(), "old data directory not kept aside"
        data = member.file(f"/var/lib/apron/etcd/{CLUSTER}")
        assert data.mode == 0o700 and data.user == "etcd"
        assert member.service(f"apron-etcd@{CLUSTER}.service").is_running
    # The members are the same (names from the inventory), all started.
    members = json.loads(_ctl(first, "member", "list", "--write-out=json").stdout)["members"]
    assert sorted(m["name"] for m in members) == MEMBERS
    # The other clusters were not touched.
    assert first.run("apron-etcdctl k8s-main endpoint health --cluster").rc == 0
