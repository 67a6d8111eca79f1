# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Recorded Vault API responses served over real HTTP to hvac (the ``vault`` fixture of
tests/unit/plugins/modules/conftest.py).

The server only replays fixtures (tests/unit/plugins/modules/fixtures/vault/*.json, each naming the Vault
API documentation page its shape follows) for the exact method and path a test registers; it has no
Vault logic. Every request is recorded so a test can assert that check mode sent no write.
"""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "modules" / "fixtures" / "vault"
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
