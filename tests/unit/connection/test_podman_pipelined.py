"""apron.cluster.podman_pipelined against a real podman container (the base image).

Skips without podman or the base image (``make image``).
"""
from __future__ import annotations

import os
import subprocess
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


def ansible(inventory, *args):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1")
    return subprocess.run(["ansible", "-i", str(inventory), "all", "-vvv", *args], capture_output=True, text=True,
                          timeout=180, check=False, env=env)


def podman_runs(output):
    return [line for line in output.splitlines() if "RUN [b'" in line and "podman" in line]


def test_module_goes_through_stdin_of_one_exec(container):
    name, inventory = container
    proc = ansible(inventory, "-m", "ansible.builtin.ping")
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
    proc = ansible(inventory, *env_off)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [r for r in podman_runs(proc.stdout) if "b'--interactive'" in r]


def test_failing_module_reports_its_error(container):
    name, inventory = container
    proc = ansible(inventory, "-m", "ansible.builtin.command", "-a", "false")
    assert proc.returncode != 0
    assert "FAILED" in proc.stdout and "rc=1" in proc.stdout
