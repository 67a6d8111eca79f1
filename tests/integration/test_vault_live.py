"""The Vault modules against a real Vault or OpenBao server.

No server binary can be obtained on the development machines, so this skips there. It runs
unchanged when one is supplied:

- ``VAULT_BINARY=/path/to/vault`` (or ``bao``): a ``server -dev`` is started on a loopback port;
- or ``VAULT_ADDR`` + ``VAULT_TOKEN`` of a disposable server (the test mounts ``apron-test-*`` paths
  and removes them).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
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


def _sign(url, token, path, body):
    request = urllib.request.Request("%s/v1/%s" % (url, path), data=json.dumps(body).encode(), method="POST",
                                     headers={"X-Vault-Token": token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _token(url, token, role, policies):
    status, answer = _sign(url, token, "auth/token/create/" + role, {"policies": policies})
    assert status == 200, answer
    return answer["auth"]["client_token"]


def _csr(common_name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def test_pki_layout_scopes_each_host_to_its_own_identities(live_vault):
    """The vault pki backend's layout in a real Vault: a worker's token signs its own kubelet identity, with
    the subject the layout sets, and is refused another node's name and another node's role."""
    from cryptography import x509
    from ansible_collections.apron.cluster.plugins.module_utils import _vault_pki_layout as layout
    from tests.helpers.pki_requests import worker_requests

    url, token = live_vault
    prefix = "apron-test-%d" % os.getpid()
    cluster, hosts = "dev", ["dev-worker-0", "dev-worker-1"]
    [mount] = layout.ca_mounts(cluster, ["kubernetes"], prefix)
    _twice(url, token, "vault_mount", {"path": mount["mount"], "type": "pki", "max_lease_ttl": mount["max_lease_ttl"]})
    _twice(url, token, "vault_pki_root", {"mount": mount["mount"], "common_name": mount["common_name"],
                                          "ttl": mount["max_lease_ttl"]})
    accesses = {}
    for index, host in enumerate(hosts):
        access = layout.host_access(cluster, host, worker_requests(host, "10.0.1.%d" % (5 + index)), prefix)
        for role in access["roles"]:
            _twice(url, token, "vault_pki_role", dict(role["settings"], mount=role["mount"], name=role["name"]))
        _twice(url, token, "vault_policy", {"name": access["policy"]["name"], "policy": access["policy"]["text"]})
        accesses[host] = access
    [pool] = layout.pool_access(cluster, {"worker": hosts}, prefix)
    _twice(url, token, "vault_token_role", dict(pool["token_role"]["settings"], name=pool["token_role"]["name"]))

    own = _token(url, token, pool["token_role"]["name"], [accesses["dev-worker-0"]["policy"]["name"]])
    signing = accesses["dev-worker-0"]["sign"]["/etc/kubernetes/pki/kubelet/kubelet-client"]
    path = "%s/sign/%s" % (signing["mount"], signing["role"])
    status, answer = _sign(url, own, path, {"csr": _csr("system:node:dev-worker-0"),
                                            "common_name": signing["common_name"], "ttl": "720h"})
    assert status == 200, answer
    cert = x509.load_pem_x509_certificate(answer["data"]["certificate"].encode())
    assert cert.subject.rfc4514_string() in ("CN=system:node:dev-worker-0,O=system:nodes",
                                             "O=system:nodes,CN=system:node:dev-worker-0")
    # another node's name through its own role: refused by the role
    status, _answer = _sign(url, own, path, {"csr": _csr("system:node:dev-worker-1"),
                                             "common_name": "system:node:dev-worker-1"})
    assert status == 400
    # another node's role: refused by the policy
    other = accesses["dev-worker-1"]["sign"]["/etc/kubernetes/pki/kubelet/kubelet-client"]
    status, _answer = _sign(url, own, "%s/sign/%s" % (other["mount"], other["role"]),
                            {"csr": _csr("system:node:dev-worker-1"), "common_name": other["common_name"]})
    assert status == 403
    for host, access in accesses.items():
        run_module("vault_policy", {"url": url, "token": token, "name": access["policy"]["name"], "state": "absent"},
                   via="inline")
    run_module("vault_token_role", {"url": url, "token": token, "name": pool["token_role"]["name"], "state": "absent"},
               via="inline")
    run_module("vault_mount", {"url": url, "token": token, "path": mount["mount"], "state": "absent"}, via="inline")
