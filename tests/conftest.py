# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Shared pytest fixtures: the collection on sys.path, a real moto server over HTTP, Ansible's warnings."""
from __future__ import annotations

import os
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO_ROOT / ".collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# Install Ansible's collection loader before any test module imports ansible_collections.*:
# without it, plugins loaded later find no metadata for apron.cluster.
from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader([str(COLLECTIONS)] + [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BASE_IMAGE = "localhost/apron-debian:bookworm"


@pytest.fixture(scope="session")
def base_image() -> str:
    """The podman base image (``make image``); skips, saying what is missing, without it."""
    import shutil
    import subprocess

    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE], check=False).returncode != 0:
        pytest.skip("base image %s is missing (make image)" % BASE_IMAGE)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def aws_credentials():
    """Fake credentials so boto3 never looks for real ones (moto accepts any)."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1"})
    os.environ.pop("AWS_PROFILE", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_server(aws_credentials):
    """A real moto server on a loopback port; boto3 talks HTTP to it. Yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_endpoint(moto_server):
    """The moto endpoint with all state reset before the test."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    return moto_server


# Ansible's warnings during a test (the inventory plugin tests, unit and integration)
class Warnings(list):
    """Warnings shown by Ansible's Display during the test."""

    def matching(self, text):
        return [w for w in self if text in w]


@pytest.fixture
def warnings_seen(monkeypatch):
    from ansible.utils.display import Display
    seen = Warnings()
    original = Display.warning

    def record(self, msg, *args, **kwargs):
        seen.append(str(msg))
        return original(self, msg, *args, **kwargs)

    monkeypatch.setattr(Display, "warning", record)
    return seen
