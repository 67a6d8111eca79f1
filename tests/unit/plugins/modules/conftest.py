# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the module tests: ``vault``, a replay of recorded Vault API responses over real HTTP
(tests/helpers/vault.py), and ``run``, a Vault module run in this process against it."""
from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

import pytest

from tests.helpers import run_module
from tests.helpers.vault import TOKEN, Replay, _Handler


@pytest.fixture
def vault():
    """A Replay whose ``url`` hvac can talk to; routes are registered per test."""
    replay = Replay()
    handler = type("Handler", (_Handler,), {"replay": replay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    replay.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield replay
    server.shutdown()
    server.server_close()


@pytest.fixture
def run(vault):
    """run(name, args, check=..., diff=..., no_log=...) -> (result dict, printed text)."""
    def _run(name, args=None, **kwargs):
        full = {"url": vault.url, "token": TOKEN}
        full.update(args or {})
        return run_module(name, full, via="inline", output=True, **kwargs)
    return _run
