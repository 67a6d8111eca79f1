# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.podman_pipelined against a real podman container (the base image).

Skips without podman or the base image (``make image``).
"""
from __future__ import annotations

import os
import stat
import subprocess
import threading
import time
import uuid

import pytest

pytestmark = pytest.mark.slow


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120, check=check)


@pytest.fixture(scope="module")
def container(tmp_path_factory, base_image):
    name = "apron-conntest-%s" % uuid.uuid4().hex[:8]
    podman("run", "-d", "--name", name, base_image, "sleep", "600")
    inventory = tmp_path_factory.mktemp("conn") / "inventory.ini"
    inventory.write_text("%s ansible_connection=apron.cluster.podman_pipelined\n" % name)
    try:
        yield name, inventory
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def ansible(inventory, *args, persistent=True):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1",
               APRON_PODMAN_PERSISTENT="1" if persistent else "0")
    return subprocess.run(["ansible", "-i", str(inventory), "all", "-vvv", *args], capture_output=True, text=True,
                          timeout=180, check=False, env=env)


def podman_runs(output):
    return [line for line in output.splitlines() if "RUN [b'" in line and "podman" in line]


def test_module_goes_through_stdin_of_one_exec(container):
    name, inventory = container
    proc = ansible(inventory, "-m", "ansible.builtin.ping", persistent=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = podman_runs(proc.stdout)
    execs = [r for r in runs if "b'exec'" in r]
    # interpreter discovery (no stdin) + the module itself (stdin): nothing is copied in
    assert len([r for r in execs if "b'--interactive'" in r]) == 1, runs
    assert not [r for r in runs if "b'cp'" in r], runs
    assert "SUCCESS" in proc.stdout


def test_large_module_arguments_and_become(container):
    name, inventory = container
    # Module arguments larger than a pipe buffer: stdin must be streamed completely.
    big = inventory.parent / "big.json"
    big.write_text('{"big": "%s"}' % ("x" * 300000))
    args = ["-b", "-e", "@%s" % big, "-m", "ansible.builtin.copy", "-a", "content={{ big }} dest=/tmp/big mode=0600"]
    proc = ansible(inventory, *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert podman("exec", name, "stat", "-c", "%s %a %U", "/tmp/big").stdout.split() == ["300000", "600", "root"]
    again = ansible(inventory, *args)
    assert again.returncode == 0 and "SUCCESS" in again.stdout, again.stdout[-3000:]


def test_pipelining_off_falls_back_to_file_copy(container):
    name, inventory = container
    env_off = ["-e", "ansible_pipelining=false", "-m", "ansible.builtin.ping"]
    proc = ansible(inventory, *env_off, persistent=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [r for r in podman_runs(proc.stdout) if "b'--interactive'" in r]


def test_persistent_channel_runs_tasks_without_podman_calls(container):
    name, inventory = container
    first = ansible(inventory, "-m", "ansible.builtin.ping")
    assert first.returncode == 0 and "SUCCESS" in first.stdout, first.stdout + first.stderr
    proc = ansible(inventory, "-m", "ansible.builtin.command", "-a", "cat /etc/hostname")
    assert proc.returncode == 0 and "CHANGED" in proc.stdout, proc.stdout + proc.stderr
    # Neither an exec nor the per-task mount: the holder started by the first run serves the second.
    assert podman_runs(proc.stdout) == [], podman_runs(proc.stdout)
    assert "persistent channel" in proc.stdout
    sockets = [line.split("persistent channel ", 1)[1].split(")", 1)[0]
               for line in proc.stdout.splitlines() if "RUN (persistent channel" in line]
    assert sockets
    assert stat.S_IMODE(os.stat(sockets[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(sockets[0])).st_mode) == 0o700


def test_file_transfer_mounts_on_demand(container):
    name, inventory = container
    proc = ansible(inventory, "-m", "ansible.builtin.copy", "-a", "content=hello dest=/tmp/hello mode=0640",
                   "-e", "ansible_pipelining=false")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert podman("exec", name, "cat", "/tmp/hello").stdout == "hello"


def test_failing_module_reports_its_error(container):
    name, inventory = container
    proc = ansible(inventory, "-m", "ansible.builtin.command", "-a", "false")
    assert proc.returncode != 0
    assert "FAILED" in proc.stdout and "rc=1" in proc.stdout


# The channel itself (plugins/plugin_utils/_podman_channel.py), driven directly.

@pytest.fixture
def holder(container, tmp_path):
    from ansible_collections.apron.cluster.plugins.plugin_utils import _podman_channel as channel

    name = container[0]
    cmd = ["podman", "exec", "--interactive", name]
    path = channel.socket_path(cmd, None, base_dir=str(tmp_path / "sockets"))
    return channel, path, cmd


def _holder_running(path):
    return subprocess.run(["pgrep", "-f", path], capture_output=True, check=False).returncode == 0


def test_channel_answers_exit_code_and_both_streams(holder):
    channel, path, cmd = holder
    channel.ensure_holder(path, cmd, 30)
    rc, out, err = channel.request(path, ["sh", "-c", "cat; echo err >&2; exit 3"], b"x" * 200000)
    assert (rc, len(out), err) == (3, 200000, b"err\n")
    rc, out, err = channel.request(path, ["/no/such/program"])
    assert rc == 127 and b"No such file" in err


def test_channel_ends_when_idle(holder):
    channel, path, cmd = holder
    channel.ensure_holder(path, cmd, 1)
    assert channel.request(path, ["true"])[0] == 0
    deadline = time.time() + 15
    while os.path.exists(path) and time.time() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(path)
    with pytest.raises(channel.ChannelUnavailable):
        channel.request(path, ["true"])


def test_channel_reports_an_agent_ending_mid_command_and_never_reruns_it(holder, container):
    channel, path, cmd = holder
    name = container[0]
    channel.ensure_holder(path, cmd, 30)
    marker = "/tmp/ran-%s" % uuid.uuid4().hex[:6]
    outcome = {}

    def run():
        try:
            outcome["result"] = channel.request(path, ["sh", "-c", "echo x >> %s; sleep 20" % marker])
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(1.5)
    podman("exec", name, "pkill", "-f", "python3 -u -c")
    thread.join(30)
    assert isinstance(outcome.get("error"), channel.ChannelBroken), outcome
    assert podman("exec", name, "cat", marker).stdout == "x\n"
    # The next request finds no holder (it ended with its agent) and may start a new one.
    with pytest.raises(channel.ChannelUnavailable):
        channel.request(path, ["true"])


def test_channel_to_a_stopped_container_is_unavailable_at_once(base_image, tmp_path):
    from ansible_collections.apron.cluster.plugins.plugin_utils import _podman_channel as channel

    name = "apron-conntest-stopped-%s" % uuid.uuid4().hex[:6]
    podman("create", "--name", name, base_image, "sleep", "600")
    try:
        cmd = ["podman", "exec", "--interactive", name]
        path = channel.socket_path(cmd, None, base_dir=str(tmp_path))
        start = time.time()
        with pytest.raises(channel.ChannelUnavailable, match="ended at start"):
            channel.ensure_holder(path, cmd, 30)
        assert time.time() - start < channel.START_TIMEOUT / 2
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def test_retiring_holder_tells_queued_clients_to_retry(tmp_path):
    import socket

    from ansible_collections.apron.cluster.plugins.plugin_utils import _podman_channel as channel

    path = str(tmp_path / "h.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    client.sendall(channel._encode_request(["true"], None))
    channel._retire(listener, path)
    assert not os.path.exists(path)
    assert client.recv(4096).startswith(b'{"unavailable"')
    client.close()
