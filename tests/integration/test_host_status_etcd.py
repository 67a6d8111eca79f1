# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.host_status against a live etcd member (skips without the etcd binary)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from tests.helpers import run_module


def host_status(**args):
    return run_module("host_status", args, check=True, timeout=120)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def etcd_server(tmp_path):
    if shutil.which("etcd") is None or shutil.which("etcdctl") is None:
        pytest.skip("etcd / etcdctl are not installed (Debian etcd-server, etcd-client)")
    client, peer = _free_port(), _free_port()
    proc = subprocess.Popen(["etcd", "--name", "m0", "--data-dir", str(tmp_path / "data"),
                             "--listen-client-urls", "http://127.0.0.1:%d" % client,
                             "--advertise-client-urls", "http://127.0.0.1:%d" % client,
                             "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                             "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                             "--initial-cluster", "m0=http://127.0.0.1:%d" % peer],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = "http://127.0.0.1:%d" % client
    for _attempt in range(100):
        ok = subprocess.run(["etcdctl", "--endpoints", endpoint, "endpoint", "health"], capture_output=True,
                            env=dict(os.environ, ETCDCTL_API="3"), check=False)
        if ok.returncode == 0:
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("etcd did not become healthy")
    yield endpoint
    proc.terminate()
    proc.wait(timeout=30)


def test_module_etcd_health_and_leader(tmp_path, etcd_server):
    root = tmp_path / "etc-apron-etcd"
    for cluster in ("k8s-main", "unconfigured"):
        (root / cluster).mkdir(parents=True)
    (root / "k8s-main" / "etcd.env").write_text("ETCD_NAME=m0\n")
    # apron-etcdctl's interface (`<wrapper> <cluster> <etcdctl args>`) over the real etcdctl, without TLS
    wrapper = tmp_path / "apron-etcdctl"
    wrapper.write_text("#!/bin/sh\nshift\nETCDCTL_API=3 exec etcdctl --endpoints=%s \"$@\"\n" % etcd_server)
    wrapper.chmod(0o755)
    result = host_status(etcd_config_root=str(root), etcdctl=str(wrapper), units=[],
                         certificate_registry_dir=str(tmp_path / "none"))
    [item] = result["etcd"]
    assert item["cluster"] == "k8s-main" and item["error"] is None, item
    assert item["healthy"] is True and item["is_leader"] is True
    assert item["version"].startswith("3.") and item["member_id"] == item["leader_id"]
