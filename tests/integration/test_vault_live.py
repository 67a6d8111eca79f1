"""The Vault modules against a real Vault or OpenBao server.

No server binary can be obtained on the development machines, so this skips there. It runs
unchanged when one is supplied:

- ``VAULT_BINARY=/path/to/vault`` (or ``bao``): a ``server -dev`` is started on a loopback port;
- or ``VAULT_ADDR`` + ``VAULT_TOKEN`` of a disposable server (the test mounts ``apron-test-*`` paths
  and removes them).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from tests.helpers import run_module

ROOT_TOKEN = "apron-dev-root"


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_vault(tmp_path_factory):
    binary = os.environ.get("VAULT_BINARY")
    if not binary and os.environ.get("VAULT_ADDR") and os.environ.get("VAULT_TOKEN"):
        yield os.environ["VAULT_ADDR"], os.environ["VAULT_TOKEN"]
        return
    if binary and not shutil.which(binary):
        pytest.fail("VAULT_BINARY=%s: not an executable; expected the path of a vault or bao binary" % binary)
    if not binary:
        pytest.skip("needs the vault (or OpenBao bao) binary: set VAULT_BINARY=/path/to/vault, "
                    "or VAULT_ADDR and VAULT_TOKEN of a disposable server")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("vault") / "server.log", "w")
    proc = subprocess.Popen([binary, "server", "-dev", "-dev-root-token-id=%s" % ROOT_TOKEN,
                             "-dev-listen-address=127.0.0.1:%d" % port], stdout=log, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    for _attempt in range(100):
        try:
            urllib.request.urlopen(url + "/v1/sys/health", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    yield url, ROOT_TOKEN
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _twice(url, token, module, args):
    """check mode (changed, nothing applied), real run (changed), second run (ok)."""
    full = dict(args, url=url, token=token)
    first_check = run_module(module, full, check=True, diff=True, via="inline")
    assert first_check.get("changed") is True, first_check
    applied = run_module(module, full, diff=True, via="inline")
    assert applied.get("changed") is True, applied
    second = run_module(module, full, diff=True, via="inline")
    assert second.get("changed") is False, second
    again_check = run_module(module, full, check=True, via="inline")
    assert again_check.get("changed") is False, again_check
    return applied


def test_modules_against_a_real_server(live_vault, tmp_path):
    url, token = live_vault
    mount = "apron-test-%d/pki/kubernetes" % os.getpid()
    _twice(url, token, "vault_mount", {"path": mount, "type": "pki", "max_lease_ttl": "87600h"})
    _twice(url, token, "vault_mount", {"path": mount, "type": "pki", "max_lease_ttl": "43800h"})
    _twice(url, token, "vault_pki_root", {"mount": mount, "common_name": "apron test CA", "ttl": "8760h"})
    _twice(url, token, "vault_pki_role", {"mount": mount, "name": "worker", "allowed_domains": ["system:node:w-1"],
                                          "allow_bare_domains": True, "enforce_hostnames": False,
                                          "organization": ["system:nodes"], "client_flag": True,
                                          "server_flag": False, "ttl": "720h", "max_ttl": "2160h"})
    _twice(url, token, "vault_policy", {"name": "apron-test-worker",
                                        "policy": 'path "%s/issue/worker" {\n  capabilities = ["update"]\n}\n' % mount})
    _twice(url, token, "vault_token_role", {"name": "apron-test-worker", "allowed_policies": ["apron-test-worker"],
                                            "orphan": True, "renewable": True, "token_period": "24h"})
    _twice(url, token, "vault_audit", {"path": "apron-test-file", "type": "file",
                                       "options": {"file_path": str(tmp_path / "audit.log")}})
    status = run_module("vault_status", {"url": url}, via="inline")
    assert status["initialized"] is True and status["sealed"] is False
    init = run_module("vault_init", {"url": url, "dest": str(tmp_path / "init.json")}, via="inline")
    assert init["changed"] is False and not (tmp_path / "init.json").exists()
    for module, args in (("vault_audit", {"path": "apron-test-file", "state": "absent"}),
                         ("vault_token_role", {"name": "apron-test-worker", "state": "absent"}),
                         ("vault_policy", {"name": "apron-test-worker", "state": "absent"}),
                         ("vault_mount", {"path": mount, "state": "absent"})):
        result = run_module(module, dict(args, url=url, token=token), via="inline")
        assert result["changed"] is True, result
