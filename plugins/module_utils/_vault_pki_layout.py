# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The Vault side of the ``vault`` pki backend, as data (issue 11 §3). Pure: no I/O.

What a cluster's Vault holds, and who may use what:

* one PKI secrets engine per CA of the pki interface, at ``apron/<cluster>/pki/<ca>``, with its root
  generated inside Vault (the key never leaves it) — :func:`ca_mounts`;
* per host, one PKI role per certificate the host requests, restricted to exactly that certificate's
  common name, DNS names, organisation and key usages, and one ACL policy that lets the host *sign*
  with its own roles and nothing else — :func:`host_access`. The roles are derived from the very
  requests the component roles give ``apron.cluster.pki`` (``pki_certificates``), so the layout never
  repeats what an etcd member, a master or a kubelet needs, and a worker's token cannot get a
  certificate for another node's name;
* per InstancePool role, one ACL policy (the masters read and create the cluster-wide secrets under
  ``apron/<cluster>/secrets``) and one token role from which the play creates each host's init token,
  allowed exactly the pool's policy and the host policies of the pool's hosts — :func:`pool_access`.

Vault's PKI roles cannot restrict IP SANs to given addresses (``allow_ip_sans`` is all or none): a
role allows IP SANs only when its certificate has some, and the limitation is documented.
"""

from __future__ import annotations

import ipaddress
import re

POOL_ROLES = ("etcd", "master", "worker")
DEFAULT_PREFIX = "apron"
DEFAULT_CERT_TTL = "8760h"          # pki_certificate_validity_days 365
DEFAULT_CA_TTL = "87600h"           # pki_ca_validity_days 3650
DEFAULT_TOKEN_PERIOD = "72h"        # renewed daily by the host's timer; a host down longer needs a new init token

# apron.cluster.pki key usage names -> Vault's (Go's x509 KeyUsage names without the prefix)
_KEY_USAGES = {
    "digitalSignature": "DigitalSignature", "nonRepudiation": "ContentCommitment",
    "contentCommitment": "ContentCommitment", "keyEncipherment": "KeyEncipherment",
    "dataEncipherment": "DataEncipherment", "keyAgreement": "KeyAgreement", "keyCertSign": "CertSign",
    "cRLSign": "CRLSign", "encipherOnly": "EncipherOnly", "decipherOnly": "DecipherOnly",
}
_EXTENDED_KEY_USAGES = ("serverAuth", "clientAuth")
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


class LayoutError(ValueError):
    """Input the layout cannot represent; the message names the input and what was expected."""


def _check_name(value, what, pattern=_NAME_RE, expected="lower-case letters, digits and '-'"):
    text = str(value or "")
    if not pattern.match(text):
        raise LayoutError("%s %r is not usable in a Vault path: expected %s" % (what, value, expected))
    return text


def mount_path(cluster, ca, prefix=DEFAULT_PREFIX):
    """The PKI engine of one CA of one cluster: apron/<cluster>/pki/<ca>."""
    return "%s/%s/pki/%s" % (prefix, _check_name(cluster, "cluster"), _check_name(ca, "CA name"))


def secrets_mount(cluster, prefix=DEFAULT_PREFIX):
    """The kv (version 2) engine of the cluster-wide secrets (service-account key, encryption configuration)."""
    return "%s/%s/secrets" % (prefix, _check_name(cluster, "cluster"))


def host_policy_name(cluster, host, prefix=DEFAULT_PREFIX):
    return "%s-%s-host-%s" % (prefix, _check_name(cluster, "cluster"),
                              _check_name(host, "host name", _HOST_RE, "letters, digits, '.' and '-'"))


def pool_name(cluster, pool, prefix=DEFAULT_PREFIX):
    """The name of a pool's ACL policy and of its token role."""
    if pool not in POOL_ROLES:
        raise LayoutError("InstancePool role %r has no Vault access: expected one of %s"
                          % (pool, ", ".join(POOL_ROLES)))
    return "%s-%s-%s" % (prefix, _check_name(cluster, "cluster"), pool)


def ca_mounts(cluster, cas, prefix=DEFAULT_PREFIX, ca_ttl=DEFAULT_CA_TTL, cert_ttl=DEFAULT_CERT_TTL):
    """One PKI engine per CA name (in the given order, each once): {ca, mount, common_name, description,
    max_lease_ttl, default_lease_ttl}. The root's common name says which cluster and CA it is."""
    result, seen = [], set()
    for ca in cas or []:
        if ca in seen:
            continue
        seen.add(ca)
        result.append({
            "ca": ca, "mount": mount_path(cluster, ca, prefix),
            "common_name": "apron %s %s CA" % (cluster, ca),
            "description": "apron cluster %s: CA %s (apron.cluster.pki backend vault)" % (cluster, ca),
            "max_lease_ttl": ca_ttl, "default_lease_ttl": cert_ttl,
        })
    if not result:
        raise LayoutError("no CA names: expected the CAs the pki interface uses (for example kubernetes, etcd-k8s)")
    return result


def _sans(request, where):
    dns, ips = [], []
    for entry in request.get("subject_alt_names") or []:
        text = str(entry).strip()
        if text.startswith("DNS:"):
            value = text[4:]
            if value not in dns:
                dns.append(value)
        elif text.startswith("IP:"):
            value = str(ipaddress.ip_address(text[3:]))
            if value not in ips:
                ips.append(value)
        else:
            raise LayoutError("%s: subject alternative name %r: the vault backend signs DNS: and IP: names only"
                              % (where, entry))
    return dns, ips


def pki_role(host, request, cert_ttl=DEFAULT_CERT_TTL):
    """The PKI role that signs exactly one request of one host: {name, settings, sign}.

    ``sign`` is what the host sends to <mount>/sign/<name> besides the CSR (common_name, alt_names,
    ip_sans, ttl): Vault takes the subject's O from the role, the names from the request."""
    where = "host %s, certificate %s/%s" % (host, request.get("dir"), request.get("name"))
    common_name = str(request.get("common_name") or "").strip()
    if not common_name:
        raise LayoutError("%s: no common_name: the vault backend requires one" % where)
    dns, ips = _sans(request, where)
    usages = []
    for usage in request.get("key_usage") or []:
        if usage not in _KEY_USAGES:
            raise LayoutError("%s: key usage %r: expected one of %s" % (where, usage, ", ".join(sorted(_KEY_USAGES))))
        if _KEY_USAGES[usage] not in usages:
            usages.append(_KEY_USAGES[usage])
    extended = list(request.get("extended_key_usage") or [])
    unknown = [e for e in extended if e not in _EXTENDED_KEY_USAGES]
    if unknown:
        raise LayoutError("%s: extended key usage %s: the vault backend signs serverAuth and clientAuth only"
                          % (where, ", ".join(map(repr, unknown))))
    organization = request.get("organization")
    allowed = [common_name] + [name for name in dns if name != common_name]
    settings = {
        "allowed_domains": allowed,
        "allow_bare_domains": True,
        "allow_subdomains": False,
        "allow_glob_domains": False,
        "allow_any_name": False,
        "allow_localhost": "localhost" in allowed,
        "allow_ip_sans": bool(ips),
        # Kubernetes identities are not host names (system:node:<name>): the role's list is the check.
        "enforce_hostnames": False,
        "cn_validations": ["disabled"],
        "server_flag": "serverAuth" in extended,
        "client_flag": "clientAuth" in extended,
        "organization": [str(organization)] if organization else [],
        "ou": [],
        "key_type": "any",
        "key_usage": usages,
        "ext_key_usage": [],
        "require_cn": True,
        "no_store": False,
        "generate_lease": False,
        "ttl": cert_ttl,
        "max_ttl": cert_ttl,
    }
    name = "%s-%s" % (host, _check_name(request.get("name"), "%s: certificate name" % where))
    sign = {"common_name": common_name, "alt_names": ",".join(n for n in dns if n != common_name),
            "ip_sans": ",".join(ips), "ttl": cert_ttl}
    return {"name": name, "settings": settings, "sign": sign}


def host_access(cluster, host, requests, prefix=DEFAULT_PREFIX, cert_ttl=DEFAULT_CERT_TTL):
    """What one host may ask of Vault, from its pki requests: {roles: [{mount, ca, name, settings}],
    sign: {"<dir>/<name>": {mount, role, ...sign parameters}}, policy: {name, text}}.

    Two requests of the host on one CA with the same name (etcd's member certificate of k8s-main and
    k8s-events, both on CA etcd-k8s) share a role when they ask for the same certificate; different
    certificates under one name are refused (their roles would overwrite each other)."""
    roles, by_key, sign = [], {}, {}
    for request in requests or []:
        ca = request.get("ca")
        try:
            mount = mount_path(cluster, ca, prefix)
        except LayoutError as exc:
            raise LayoutError("host %s, certificate %s/%s: %s" % (host, request.get("dir"), request.get("name"), exc))
        role = pki_role(host, request, cert_ttl)
        key = (mount, role["name"])
        if key in by_key:
            if by_key[key]["settings"] != role["settings"]:
                raise LayoutError("host %s: two different certificates named %s on CA %s (%s and %s): give them "
                                  "different names" % (host, request.get("name"), ca, by_key[key]["dir"],
                                                       request.get("dir")))
        else:
            entry = {"mount": mount, "ca": ca, "name": role["name"], "settings": role["settings"],
                     "dir": request.get("dir")}
            by_key[key] = entry
            roles.append(entry)
        signed = {"mount": mount, "role": role["name"]}
        signed.update(role["sign"])
        sign["%s/%s" % (request.get("dir"), request.get("name"))] = signed
    if not roles:
        raise LayoutError("host %s requests no certificate: nothing to give it access to" % host)
    lines = ["# apron cluster %s, host %s: sign its own certificates, nothing else (apron.cluster.pki, backend vault)"
             % (cluster, host)]
    for role in roles:
        lines.append('path "%s/sign/%s" {\n  capabilities = ["update"]\n}' % (role["mount"], role["name"]))
    return {"roles": roles, "sign": sign,
            "policy": {"name": host_policy_name(cluster, host, prefix), "text": "\n".join(lines) + "\n"}}


def pool_access(cluster, pools, prefix=DEFAULT_PREFIX, period=DEFAULT_TOKEN_PERIOD):
    """Per InstancePool role with hosts: {pool, policy: {name, text} or None, token_role: {name, settings}}.

    ``pools``: {pool role: [host names]}. Only the masters have a pool policy (the shared secrets); the
    token role allows it and the host policy of each host of the pool, and the play creates each host's
    init token with exactly [the pool policy if any, its own host policy].
    Tokens are periodic (renewed by the host) orphans, so that revoking the operator's token leaves them."""
    unknown = sorted(set((pools or {})) - set(POOL_ROLES))
    if unknown:
        raise LayoutError("InstancePool roles %s have no Vault access: expected %s"
                          % (", ".join(unknown), ", ".join(POOL_ROLES)))
    result = []
    secrets = secrets_mount(cluster, prefix)
    for pool in POOL_ROLES:
        hosts = list((pools or {}).get(pool) or [])
        if not hosts:
            continue
        name = pool_name(cluster, pool, prefix)
        policy = None
        if pool == "master":
            # the cluster-wide secrets the control plane shares: created once (check-and-set 0), then read
            policy = {"name": name, "text": (
                "# apron cluster %s, InstancePool role master: the control plane's shared secrets\n"
                'path "%s/data/master/*" {\n  capabilities = ["create", "read"]\n}\n'
                'path "%s/metadata/master/*" {\n  capabilities = ["read"]\n}\n' % (cluster, secrets, secrets))}
        result.append({
            "pool": pool,
            "policy": policy,
            "token_role": {"name": name, "settings": {
                "allowed_policies": ([name] if policy else []) + [host_policy_name(cluster, host, prefix)
                                                                  for host in hosts],
                "orphan": True, "renewable": True, "token_period": period, "token_type": "service",
                "token_no_default_policy": False}},
        })
    return result
