# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Testinfra checks for the smoke scenario: the converge really changed the host."""

import os

import testinfra.utils.ansible_runner

# The Molecule instances are podman containers: testinfra's podman backend (podman exec) is much
# faster than going through ansible for every command.
testinfra_hosts = [
    f"podman://{name}"
    for name in testinfra.utils.ansible_runner.AnsibleRunner(
        os.environ["MOLECULE_INVENTORY_FILE"]
    ).get_hosts("all")
]


def test_marker_file(host):
    f = host.file("/etc/apron-smoke")
    assert f.is_file
    assert f.user == "root"
    assert f.group == "root"
    assert f.mode == 0o644
    # testinfra strips the trailing newline of command output
    assert f.content_string.rstrip("\n") == "apron.cluster molecule smoke test"
    assert f.size == len("apron.cluster molecule smoke test\n")


def test_package_installed(host):
    assert host.package("less").is_installed


def test_systemd_is_pid1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running --wait").stdout.strip()
    assert state in ("running", "degraded"), state
