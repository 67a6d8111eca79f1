"""Recorded Vault API responses served over real HTTP to hvac, and in-process module runs.

The server only replays fixtures (tests/unit/vault/fixtures/*.json, each naming the Vault API
documentation page its shape follows) for the exact method and path a test registers; it has no
Vault logic. Every request is recorded so a test can assert that check mode sent no write.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOKEN = "s.TESTTOKENnotASecret0001"


def fixture(name):
    return json.loads((FIXTURES / (name + ".json")).read_text())


class Replay:
    def __init__(self):
        self.routes = {}
        self.requests = []

    def add(self, name, method=None, path=None, status=None, body=None):
        """Serve fixture ``name`` (or an inline body) for method+path; later adds for the same route queue up."""
        if name is not None:
            doc = fixture(name)
            method, path = method or doc["method"], path or doc["path"]
            status = status if status is not None else doc.get("status", 200)
            body = doc.get("body") if body is None else body
        self.routes.setdefault((method, path), []).append((status, body))

    def writes(self):
        return [r for r in self.requests if r["method"] != "GET"]

    def respond(self, method, path):
        queue = self.routes.get((method, path))
        if not queue:
            return 404, {"errors": []}
        return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(BaseHTTPRequestHandler):
    replay = None

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode()
        path = self.path.split("?")[0]
        self.replay.requests.append({"method": self.command, "path": path, "body": body,
                                     "token": self.headers.get("X-Vault-Token")})
        status, payload = self.replay.respond(self.command, path)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


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


def run_module(name, args, check=False, diff=False, no_log=False):
    """Run apron.cluster.<name> in this process; returns (result dict, printed text)."""
    from ansible.module_utils.testing import patch_module_args

    module = importlib.import_module("ansible_collections.apron.cluster.plugins.modules.%s" % name)
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_no_log=no_log)
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    text = out.getvalue()
    return json.loads(text), text


@pytest.fixture
def run(vault):
    def _run(name, args=None, **kwargs):
        full = {"url": vault.url, "token": TOKEN}
        full.update(args or {})
        return run_module(name, full, **kwargs)
    return _run
