# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""hvac connection shared by every apron.cluster Vault module.

One argument spec (documented in doc_fragments/vault.py, options named as in community.hashi_vault),
one client factory, and the one place (:meth:`VaultApi._call`) that turns hvac/requests exceptions
into :class:`VaultError` naming the API path and what was expected. :func:`run` is the one place
that turns a VaultError into ``fail_json``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.apron.cluster.plugins.module_utils._vault_errors import VaultError

try:
    import hvac
    import hvac.exceptions
    import requests
    HAS_HVAC = True
    HVAC_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through fail_json
    HAS_HVAC = False
    HVAC_IMPORT_ERROR = traceback.format_exc()


def vault_argument_spec():
    """The connection options of doc_fragments/vault.py."""
    return dict(
        url=dict(type="str", fallback=(env_fallback, ["VAULT_ADDR"])),
        token=dict(type="str", no_log=True, fallback=(env_fallback, ["VAULT_TOKEN"])),
        ca_cert=dict(type="path", aliases=["cacert"], fallback=(env_fallback, ["VAULT_CACERT"])),
        client_cert=dict(type="path", fallback=(env_fallback, ["VAULT_CLIENT_CERT"])),
        client_key=dict(type="path", no_log=False, fallback=(env_fallback, ["VAULT_CLIENT_KEY"])),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=30),
        namespace=dict(type="str", fallback=(env_fallback, ["VAULT_NAMESPACE"])),
    )


VAULT_REQUIRED_TOGETHER = [["client_cert", "client_key"]]


def vault_module(argument_spec, token_required=True, **kwargs):
    """An AnsibleModule with the connection options merged in (check mode always supported)."""
    spec = vault_argument_spec()
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    kwargs.setdefault("required_together", VAULT_REQUIRED_TOGETHER)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    if not HAS_HVAC:
        module.fail_json(msg=missing_required_lib("hvac"), exception=HVAC_IMPORT_ERROR)
    if not module.params.get("url"):
        module.fail_json(msg="url: not set: expected the url option or the VAULT_ADDR environment variable")
    if token_required and not module.params.get("token"):
        module.fail_json(msg="token: not set: expected the token option or the VAULT_TOKEN environment variable")
    return module


def make_client(params):
    """An hvac.Client from the connection options."""
    verify = params.get("validate_certs", True)
    if verify and params.get("ca_cert"):
        verify = params["ca_cert"]
    cert = None
    if params.get("client_cert"):
        cert = (params["client_cert"], params["client_key"])
    return hvac.Client(url=params["url"], token=params.get("token"), verify=verify, cert=cert,
                       timeout=params.get("timeout") or 30, namespace=params.get("namespace"))


class VaultApi(object):
    """Raw Vault HTTP API over hvac's adapter: read/write/delete by path, errors as VaultError.

    Using the documented paths directly (``sys/mounts``, ``<mount>/roles/<name>`` ...) keeps every
    call traceable to one page of Vault's API documentation.
    """

    def __init__(self, client):
        self.client = client
        self.writes = 0

    def _call(self, method, path, expected, json=None):
        url = "/v1/" + path.lstrip("/")
        try:
            response = getattr(self.client.adapter, method)(url, json=json) if json is not None \
                else getattr(self.client.adapter, method)(url)
        except hvac.exceptions.InvalidPath:
            raise
        except hvac.exceptions.VaultError as exc:
            errors = getattr(exc, "errors", None) or [str(exc)]
            if not isinstance(errors, list):
                errors = [errors]
            status = {hvac.exceptions.InvalidRequest: 400, hvac.exceptions.Unauthorized: 401,
                      hvac.exceptions.Forbidden: 403, hvac.exceptions.VaultNotInitialized: 501,
                      hvac.exceptions.InternalServerError: 500, hvac.exceptions.VaultDown: 503}.get(type(exc))
            if status == 503:
                expected = "an unsealed, active Vault (see apron.cluster.vault_status; unseal it first)"
            elif status == 403:
                expected = "a token whose policy allows this (%s)" % expected
            raise VaultError(path, "%s %s refused (%s): %s" % (method.upper(), path, type(exc).__name__,
                                                               "; ".join(str(e) for e in errors)),
                             expected, status=status)
        except requests.exceptions.RequestException as exc:
            raise VaultError(path, "%s %s: cannot reach Vault: %s" % (method.upper(), path, type(exc).__name__),
                             "a reachable Vault API at the url option (VAULT_ADDR)")
        if isinstance(response, dict):
            return response
        return {}

    def read(self, path, expected="a readable path"):
        """The JSON response of GET ``path``; None when Vault answers 404."""
        try:
            return self._call("get", path, expected)
        except hvac.exceptions.InvalidPath:
            return None

    def write(self, path, data, expected="a write Vault accepts", method="post"):
        self.writes += 1
        try:
            return self._call(method, path, expected, json=data)
        except hvac.exceptions.InvalidPath:
            raise VaultError(path, "%s %s: no such path (404)" % (method.upper(), path), expected, status=404)

    def delete(self, path, expected="a path that can be deleted"):
        self.writes += 1
        try:
            return self._call("delete", path, expected)
        except hvac.exceptions.InvalidPath:
            return {}


def data_of(response):
    """Vault wraps results in ``data``; some sys/ endpoints also return them at the top level."""
    if response is None:
        return None
    if isinstance(response.get("data"), dict):
        return response["data"]
    return response


def read_status(api):
    """The status fields of sys/init + sys/seal-status (vault_status, vault_init)."""
    init = api.read("sys/init", "a Vault API answering sys/init") or {}
    seal = api.read("sys/seal-status", "a Vault API answering sys/seal-status") or {}
    status = {"initialized": bool(init.get("initialized")), "sealed": bool(seal.get("sealed", True)),
              "seal_type": seal.get("type"), "threshold": seal.get("t"), "shares": seal.get("n"),
              "progress": seal.get("progress"), "version": seal.get("version"),
              "storage_type": seal.get("storage_type")}
    if seal.get("cluster_name"):
        status["cluster_name"] = seal["cluster_name"]
    return status


def require_mount(api, mount, engine_type):
    """Refuse unless ``mount`` is a mounted engine of ``engine_type`` (nothing is written before)."""
    mounts = data_of(api.read("sys/mounts", "the token may read sys/mounts")) or {}
    entry = mounts.get(mount + "/")
    if entry is None:
        raise VaultError("mount", "%r is not mounted" % mount,
                         "a %s secrets engine at that path (apron.cluster.vault_mount type=%s)" % (engine_type, engine_type))
    if entry.get("type") != engine_type:
        raise VaultError("mount", "%r is a %r engine" % (mount, entry.get("type")), "a %s engine" % engine_type)


def run(module, func):
    """Call ``func(module, api)`` and exit: the one place turning VaultError into fail_json."""
    try:
        api = VaultApi(make_client(module.params))
        result = func(module, api)
    except VaultError as exc:
        module.fail_json(msg=str(exc), error=exc.as_dict())
    module.exit_json(**result)


def diff_result(result, module, before, after, header):
    if module._diff:
        result["diff"] = {"before": before if before is not None else {},
                          "after": after if after is not None else {},
                          "before_header": header, "after_header": header}
    return result
