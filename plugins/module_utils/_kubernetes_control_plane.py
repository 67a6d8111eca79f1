# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The decisions of the ``apron.cluster.master`` role, as pure functions: input checks, the
certificates each master needs (requests for ``apron.cluster.pki``), the command-line flags of
kube-apiserver, kube-controller-manager and kube-scheduler, their configuration documents
(KubeSchedulerConfiguration, AuthenticationConfiguration, EncryptionConfiguration) and the key
list of the encryption at rest.

Every flag and field rendered here is checked against ``_kubernetes_reference`` in
tests/unit/plugins/module_utils/test_kubernetes_control_plane.py (kube-controller-manager has no recorded flag
reference; its flag list is kept short and listed in docs/roles/master.md).
"""
from __future__ import annotations

import base64
import ipaddress
import os
import re

from ansible_collections.apron.cluster.plugins.module_utils._kubernetes_releases import SUPPORTED_KUBERNETES_MINORS


class ControlPlaneError(ValueError):
    """Bad input of the master role: names the variable and what is expected."""


# Where the certificates live under kubernetes_pki_dir: one directory per CA and owner, because
# apron.cluster.pki writes <dir>/ca.crt as the bundle of the certificates of that directory.
PKI_SUBDIRS = {
    "apiserver": "apiserver",          # CA kubernetes, owner kube: serving, kubelet client
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "front-proxy": "front-proxy",      # CA kubernetes-front-proxy
    "etcd": "etcd",                    # CA of the etcd clusters the API server uses
    "admin": "admin",                  # CA kubernetes, owner root
}

# Admission plugins enabled besides the default set (the reference of kube-apiserver lists the
# defaults; NodeRestriction and the others below are the upstream recommendation for production).
ADMISSION_PLUGINS = (
    "NodeRestriction",
    "PodSecurity",
    "EventRateLimit",
    "ServiceAccount",
    "LimitRanger",
    "ResourceQuota",
)

# TLS 1.2 cipher suites with forward secrecy and AEAD (TLS 1.3 suites are not configurable in Go).
TLS_CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)

# Anonymous requests are allowed only on these paths (AuthenticationConfiguration
# anonymous.conditions; apiserver.config.k8s.io/v1, GA with structured authentication in 1.34).
ANONYMOUS_PATHS = ("/livez", "/readyz", "/healthz")

_VERSION_RE = re.compile(r"^1\.([0-9]+)\.([0-9]+)$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _minor(version):
    match = _VERSION_RE.match(str(version))
    if not match or int(match.group(1)) not in SUPPORTED_KUBERNETES_MINORS:
        raise ControlPlaneError(
            "kubernetes_version: %r is not in the release manifest (supported minors: %s); set the model's "
            "kubernetesVersion or kubernetes_version to one of them" % (
                version, ", ".join("1.%d" % m for m in SUPPORTED_KUBERNETES_MINORS)))
    return int(match.group(1))


def _network(value, variable):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise ControlPlaneError("%s: %r is not a network in CIDR form (%s)" % (variable, value, exc))


def first_service_ip(service_cidr):
    """The ClusterIP of the ``kubernetes`` Service: the first address of the service CIDR."""
    return str(next(_network(service_cidr, "kubernetes_service_cidr").hosts()))


def _url_host(address):
    return "[%s]" % address if ":" in address else address


def etcd_endpoints(cluster, addresses):
    return ["https://%s:%d" % (_url_host(a), int(cluster["client_port"])) for a in addresses]


def select_etcd_clusters(clusters, main_name, events_name, etcd_hosts, etcd_addresses):
    """The etcd clusters the API servers use, checked: both exist, share one CA, hosts have addresses.

    Returns {"main": {...cluster, "endpoints"}, "events": {...}, "ca": <the shared CA>}.
    """
    if not etcd_hosts:
        raise ControlPlaneError(
            "kubernetes_etcd_group: the inventory group has no hosts; the API servers need the etcd clusters "
            "%s and %s (add the etcd hosts, run apron.cluster.etcd on them first)" % (main_name, events_name))
    if not clusters:
        raise ControlPlaneError(
            "master_etcd_clusters: no etcd cluster list: set it, or set etcd_clusters for the etcd hosts, or run "
            "apron.cluster.etcd on them earlier in the same playbook (playbooks/site.yml does)")
    by_name = {c.get("name"): c for c in clusters if isinstance(c, dict)}
    missing = [n for n in (main_name, events_name) if n not in by_name]
    if missing:
        raise ControlPlaneError("master_etcd_main_cluster/master_etcd_events_cluster: no etcd cluster named %s (known: %s)" % (
            ", ".join(missing), ", ".join(sorted(str(n) for n in by_name))))
    main, events = by_name[main_name], by_name[events_name]
    if main.get("ca") != events.get("ca"):
        raise ControlPlaneError(
            "etcd_clusters: kube-apiserver has ONE etcd client certificate and CA file for --etcd-servers and "
            "--etcd-servers-overrides, but %s uses the CA %r and %s the CA %r; give both the same ca (the etcd "
            "role's default is etcd-k8s; existing clusters reissue their certificates once with reason 'ca changed')"
            % (main_name, main.get("ca"), events_name, events.get("ca")))
    # Per host an address, or a list of candidates of which the first non-empty one is used.
    etcd_addresses = [next((c for c in a if c), "") if isinstance(a, (list, tuple)) else a for a in etcd_addresses]
    unaddressed = [h for h, a in zip(etcd_hosts, etcd_addresses) if not a]
    if unaddressed or len(etcd_addresses) != len(etcd_hosts):
        raise ControlPlaneError("etcd hosts without an address: %s (set etcd_address or ansible_host for them)" % (
            ", ".join(unaddressed) or "?"))
    return {
        "ca": main["ca"],
        "main": dict(main, endpoints=etcd_endpoints(main, etcd_addresses)),
        "events": dict(events, endpoints=etcd_endpoints(events, etcd_addresses)),
    }


def validate(settings):
    """Raise ControlPlaneError for bad input, before any host changes."""
    _minor(settings["version"])
    service = _network(settings["service_cidr"], "kubernetes_service_cidr")
    pod = _network(settings["pod_cidr"], "kubernetes_pod_cidr")
    if service.version == pod.version and service.overlaps(pod):
        raise ControlPlaneError(
            "kubernetes_pod_cidr %s overlaps kubernetes_service_cidr %s: pods and Services need disjoint ranges "
            "(the model's Cluster.spec.network.podCIDR and serviceCIDR)" % (pod, service))
    if service.num_addresses < 16:
        raise ControlPlaneError("kubernetes_service_cidr %s is too small (at least a /28)" % service)
    for key in ("advertise_address",):
        try:
            ipaddress.ip_address(settings[key])
        except ValueError:
            raise ControlPlaneError("master_advertise_address: %r is not an IP address (set it per host)" % (settings[key],))
    oidc = settings.get("oidc") or {}
    if oidc.get("enabled") and not (oidc.get("issuerURL") and oidc.get("clientID")):
        raise ControlPlaneError("the model's features.oidc is enabled but issuerURL or clientID is empty")
    if settings.get("pki_backend") not in ("local_ca", "vault"):
        raise ControlPlaneError("pki_backend: %r is not local_ca or vault" % (settings.get("pki_backend"),))
    return True


def _dir(settings, what):
    return "%s/%s" % (settings["pki_dir"], PKI_SUBDIRS[what])


def apiserver_sans(settings):
    """Every name a client uses for the API: endpoint names, kubernetes.default.svc..., the first
    service IP, the host's names and addresses, loopback."""
    domain = settings["cluster_domain"]
    dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + domain,
           "localhost", settings["node_name"]]
    dns += [h for h in settings.get("hostnames") or [] if h]
    ips = [first_service_ip(settings["service_cidr"]), "127.0.0.1", settings["advertise_address"]]
    for name in list(settings.get("endpoint_names") or []) + list(settings.get("node_addresses") or []):
        try:
            ips.append(str(ipaddress.ip_address(name)))
        except ValueError:
            dns.append(name)
    out = []
    for entry in ["DNS:" + d for d in dns] + ["IP:" + str(ipaddress.ip_address(i)) for i in ips]:
        if entry not in out:
            out.append(entry)
    return out


def certificates(settings):
    """The requests for apron.cluster.pki (one list for the host)."""
    user, group = settings["user"], settings["group"]
    key_type = settings.get("key_type", "ecdsa-p256")
    ku = ["digitalSignature", "keyEncipherment"]

    def cert(name, where, ca, cn, eku, owner=user, grp=group, organization=None, sans=None):
        entry = {"name": name, "ca": ca, "dir": _dir(settings, where), "common_name": cn,
                 "key_usage": ku, "extended_key_usage": eku, "key_type": key_type,
                 "owner": owner, "group": grp}
        if organization:
            entry["organization"] = organization
        if sans is not None:
            entry["subject_alt_names"] = sans
        return entry

    k8s = settings["ca"]
    return [
        cert("apiserver", "apiserver", k8s, "kube-apiserver", ["serverAuth"], sans=apiserver_sans(settings)),
        cert("apiserver-kubelet-client", "apiserver", k8s, settings["kubelet_client_user"], ["clientAuth"]),
        cert("apiserver-etcd-client", "etcd", settings["etcd_ca"], "kube-apiserver-etcd-client-" + settings["node_name"],
             ["clientAuth"]),
        cert("front-proxy-client", "front-proxy", settings["front_proxy_ca"], settings["front_proxy_client_user"],
             ["clientAuth"]),
        cert("controller-manager", "controller-manager", k8s, "system:kube-controller-manager", ["clientAuth"]),
        cert("scheduler", "scheduler", k8s, "system:kube-scheduler", ["clientAuth"]),
        cert("admin", "admin", k8s, settings["admin_user"], ["clientAuth"], owner="root", grp="root",
             organization=settings["admin_group"]),
        # Break-glass identity (system:masters) the role uses once to create the RBAC bindings that
        # give the admin group its rights; root-only on the masters, never for day-to-day use.
        cert("super-admin", "admin", k8s, settings["super_admin_user"], ["clientAuth"], owner="root", grp="root",
             organization="system:masters"),
    ]


def paths(settings):
    """Files the units read (also the files the restart plan compares with the process age)."""
    cfg, pki = settings["config_dir"], settings["pki_dir"]
    out = {
        "apiserver_cert": _dir(settings, "apiserver") + "/apiserver.crt",
        "apiserver_key": _dir(settings, "apiserver") + "/apiserver.key",
        "kubernetes_ca": _dir(settings, "apiserver") + "/ca.crt",
        "kubelet_client_cert": _dir(settings, "apiserver") + "/apiserver-kubelet-client.crt",
        "kubelet_client_key": _dir(settings, "apiserver") + "/apiserver-kubelet-client.key",
        "etcd_cert": _dir(settings, "etcd") + "/apiserver-etcd-client.crt",
        "etcd_key": _dir(settings, "etcd") + "/apiserver-etcd-client.key",
        "etcd_ca": _dir(settings, "etcd") + "/ca.crt",
        "front_proxy_cert": _dir(settings, "front-proxy") + "/front-proxy-client.crt",
        "front_proxy_key": _dir(settings, "front-proxy") + "/front-proxy-client.key",
        "front_proxy_ca": _dir(settings, "front-proxy") + "/ca.crt",
        "controller_manager_cert": _dir(settings, "controller-manager") + "/controller-manager.crt",
        "controller_manager_key": _dir(settings, "controller-manager") + "/controller-manager.key",
        "scheduler_cert": _dir(settings, "scheduler") + "/scheduler.crt",
        "scheduler_key": _dir(settings, "scheduler") + "/scheduler.key",
        "admin_cert": _dir(settings, "admin") + "/admin.crt",
        "admin_key": _dir(settings, "admin") + "/admin.key",
        "super_admin_cert": _dir(settings, "admin") + "/super-admin.crt",
        "super_admin_key": _dir(settings, "admin") + "/super-admin.key",
        "super_admin_kubeconfig": cfg + "/super-admin.kubeconfig",
        "sa_key": pki + "/service-account/sa.key",
        "encryption_config": cfg + "/encryption-config.yaml",
        "authentication_config": cfg + "/authentication-config.yaml",
        "admission_config": cfg + "/admission-config.yaml",
        "event_rate_limit_config": cfg + "/event-rate-limit.yaml",
        "audit_policy": cfg + "/audit-policy.yaml",
        "scheduler_config": cfg + "/scheduler-config.yaml",
        "controller_manager_kubeconfig": cfg + "/controller-manager.kubeconfig",
        "scheduler_kubeconfig": cfg + "/scheduler.kubeconfig",
        "admin_kubeconfig": cfg + "/admin.kubeconfig",
        "audit_log": settings["audit_log_dir"] + "/audit.log",
    }
    return out


def apiserver_flags(settings):
    """The kube-apiserver flags, as an ordered list of (name, value)."""
    p = paths(settings)
    etcd = settings["etcd"]
    overrides = "/events#" + ";".join(etcd["events"]["endpoints"])
    flags = [
        ("advertise-address", settings["advertise_address"]),
        ("bind-address", "0.0.0.0"),
        ("secure-port", str(settings["api_port"])),
        ("service-cluster-ip-range", settings["service_cidr"]),
        ("etcd-servers", ",".join(etcd["main"]["endpoints"])),
        ("etcd-servers-overrides", overrides),
        ("etcd-cafile", p["etcd_ca"]),
        ("etcd-certfile", p["etcd_cert"]),
        ("etcd-keyfile", p["etcd_key"]),
        ("tls-cert-file", p["apiserver_cert"]),
        ("tls-private-key-file", p["apiserver_key"]),
        ("tls-min-version", "VersionTLS12"),
        ("tls-cipher-suites", ",".join(TLS_CIPHER_SUITES)),
        ("client-ca-file", p["kubernetes_ca"]),
        ("kubelet-certificate-authority", p["kubernetes_ca"]),
        ("kubelet-client-certificate", p["kubelet_client_cert"]),
        ("kubelet-client-key", p["kubelet_client_key"]),
        ("kubelet-preferred-address-types", "InternalIP,Hostname,ExternalIP"),
        ("proxy-client-cert-file", p["front_proxy_cert"]),
        ("proxy-client-key-file", p["front_proxy_key"]),
        ("requestheader-client-ca-file", p["front_proxy_ca"]),
        ("requestheader-allowed-names", settings["front_proxy_client_user"]),
        ("requestheader-username-headers", "X-Remote-User"),
        ("requestheader-group-headers", "X-Remote-Group"),
        ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
        ("authorization-mode", "Node,RBAC"),
        ("authentication-config", p["authentication_config"]),
        ("enable-admission-plugins", ",".join(ADMISSION_PLUGINS)),
        ("admission-control-config-file", p["admission_config"]),
        ("allow-privileged", "true"),
        ("profiling", "false"),
        ("service-account-issuer", settings["service_account_issuer"]),
        ("service-account-key-file", p["sa_key"]),
        ("service-account-signing-key-file", p["sa_key"]),
        ("service-account-lookup", "true"),
        ("enable-bootstrap-token-auth", "false"),
        ("event-ttl", "1h0m0s"),
    ]
    if settings.get("audit_enabled"):
        flags += [
            ("audit-policy-file", p["audit_policy"]),
            ("audit-log-path", p["audit_log"]),
            ("audit-log-maxage", str(settings["audit_log_maxage"])),
            ("audit-log-maxbackup", str(settings["audit_log_maxbackup"])),
            ("audit-log-maxsize", str(settings["audit_log_maxsize"])),
            ("audit-log-compress", "true"),
        ]
    if settings.get("encryption_enabled"):
        flags.append(("encryption-provider-config", p["encryption_config"]))
    flags += [(k, str(v)) for k, v in sorted((settings.get("apiserver_extra_flags") or {}).items())]
    return flags


def controller_manager_flags(settings):
    """The kube-controller-manager flags. CSR signing (--cluster-signing-*) needs the CA key on the
    master: only a backend whose CA key may live there can sign (docs/roles/master.md); with
    local_ca the key never leaves the controller, so the csrsigning controller is turned off."""
    p = paths(settings)
    controllers = "*,bootstrapsigner,tokencleaner" if settings.get("bootstrap_tokens") else "*"
    if not settings.get("csr_signing_key_file"):
        controllers += ",-csrsigning"
    flags = [
        ("kubeconfig", p["controller_manager_kubeconfig"]),
        ("authentication-kubeconfig", p["controller_manager_kubeconfig"]),
        ("authorization-kubeconfig", p["controller_manager_kubeconfig"]),
        ("bind-address", "127.0.0.1"),
        ("client-ca-file", p["kubernetes_ca"]),
        ("requestheader-client-ca-file", p["front_proxy_ca"]),
        ("root-ca-file", p["kubernetes_ca"]),
        ("service-account-private-key-file", p["sa_key"]),
        ("use-service-account-credentials", "true"),
        ("service-cluster-ip-range", settings["service_cidr"]),
        ("cluster-cidr", settings["pod_cidr"]),
        ("allocate-node-cidrs", "true"),
        ("node-cidr-mask-size", str(settings["node_cidr_mask_size"])),
        ("cluster-name", settings["cluster_name"]),
        ("leader-elect", "true"),
        ("profiling", "false"),
        ("controllers", controllers),
        ("tls-min-version", "VersionTLS12"),
        ("tls-cipher-suites", ",".join(TLS_CIPHER_SUITES)),
    ]
    if settings.get("csr_signing_key_file"):
        flags += [("cluster-signing-cert-file", settings["csr_signing_cert_file"]),
                  ("cluster-signing-key-file", settings["csr_signing_key_file"])]
    flags += [(k, str(v)) for k, v in sorted((settings.get("controller_manager_extra_flags") or {}).items())]
    return flags


def scheduler_flags(settings):
    p = paths(settings)
    return [
        ("config", p["scheduler_config"]),
        ("authentication-kubeconfig", p["scheduler_kubeconfig"]),
        ("authorization-kubeconfig", p["scheduler_kubeconfig"]),
        ("bind-address", "127.0.0.1"),
        ("client-ca-file", p["kubernetes_ca"]),
        ("requestheader-client-ca-file", p["front_proxy_ca"]),
        ("tls-min-version", "VersionTLS12"),
        ("tls-cipher-suites", ",".join(TLS_CIPHER_SUITES)),
    ]


def scheduler_config(settings):
    """KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1)."""
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": paths(settings)["scheduler_kubeconfig"]},
        "leaderElection": {"leaderElect": True},
        "enableProfiling": False,
        "enableContentionProfiling": False,
    }


def authentication_config(settings):
    """AuthenticationConfiguration (apiserver.config.k8s.io/v1): anonymous only on the health
    paths; the model's OIDC issuer as a JWT authenticator (--oidc-* flags cannot be combined
    with --authentication-config)."""
    doc = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AuthenticationConfiguration",
        "anonymous": {"enabled": True, "conditions": [{"path": path} for path in ANONYMOUS_PATHS]},
    }
    oidc = settings.get("oidc") or {}
    if oidc.get("enabled"):
        doc["jwt"] = [{
            "issuer": {"url": oidc["issuerURL"], "audiences": [oidc["clientID"]]},
            "claimMappings": {
                "username": {"claim": oidc.get("usernameClaim") or "email", "prefix": oidc.get("usernamePrefix", "oidc:")},
                "groups": {"claim": oidc.get("groupsClaim") or "groups", "prefix": oidc.get("groupsPrefix", "oidc:")},
            },
        }]
    return doc


def kubeconfigs(settings):
    """The kubeconfigs of one master: {name: {path, server, user, cert, key, owner, group}}."""
    p = paths(settings)
    local = "https://127.0.0.1:%d" % int(settings["api_port"])
    admin_server = settings.get("api_endpoint") or "https://%s:%d" % (
        _url_host(settings["advertise_address"]), int(settings["api_port"]))
    user, group = settings["user"], settings["group"]
    return [
        {"name": "controller-manager", "path": p["controller_manager_kubeconfig"], "server": local,
         "user": "system:kube-controller-manager", "cert": p["controller_manager_cert"],
         "key": p["controller_manager_key"], "owner": user, "group": group},
        {"name": "scheduler", "path": p["scheduler_kubeconfig"], "server": local, "user": "system:kube-scheduler",
         "cert": p["scheduler_cert"], "key": p["scheduler_key"], "owner": user, "group": group},
        {"name": "admin", "path": p["admin_kubeconfig"], "server": admin_server, "user": settings["admin_user"],
         "cert": p["admin_cert"], "key": p["admin_key"], "owner": "root", "group": "root"},
        {"name": "super-admin", "path": p["super_admin_kubeconfig"], "server": local,
         "user": settings["super_admin_user"], "cert": p["super_admin_cert"], "key": p["super_admin_key"],
         "owner": "root", "group": "root"},
    ]


def kubeconfig_document(entry, cluster_name, ca_file):
    """A kubeconfig that references files (no embedded keys)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": entry["server"], "certificate-authority": ca_file}}],
        "users": [{"name": entry["user"], "user": {"client-certificate": entry["cert"], "client-key": entry["key"]}}],
        "contexts": [{"name": "%s@%s" % (entry["user"], cluster_name),
                      "context": {"cluster": cluster_name, "user": entry["user"]}}],
        "current-context": "%s@%s" % (entry["user"], cluster_name),
        "preferences": {},
    }


def unit_files(settings):
    """Files each unit reads at start (the restart plan compares them with the process age)."""
    p = paths(settings)
    apiserver = [p[k] for k in ("apiserver_cert", "apiserver_key", "kubernetes_ca", "kubelet_client_cert",
                                "kubelet_client_key", "etcd_cert", "etcd_key", "etcd_ca", "front_proxy_cert",
                                "front_proxy_key", "front_proxy_ca", "sa_key", "authentication_config",
                                "admission_config", "event_rate_limit_config")]
    if settings.get("audit_enabled"):
        apiserver.append(p["audit_policy"])
    if settings.get("encryption_enabled"):
        apiserver.append(p["encryption_config"])
    return [
        {"unit": "kube-apiserver.service", "files": apiserver},
        {"unit": "kube-controller-manager.service",
         "files": [p["controller_manager_kubeconfig"], p["controller_manager_cert"], p["controller_manager_key"],
                   p["kubernetes_ca"], p["front_proxy_ca"], p["sa_key"]]},
        {"unit": "kube-scheduler.service",
         "files": [p["scheduler_config"], p["scheduler_kubeconfig"], p["scheduler_cert"], p["scheduler_key"],
                   p["kubernetes_ca"], p["front_proxy_ca"]]},
    ]


def new_encryption_key():
    """A fresh 32-byte key, base64 (aescbc / secretbox)."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def encryption_keys(existing, rotate=False, prune=False, key=None):
    """The key list of the EncryptionConfiguration.

    ``existing``: the keys of the file on the masters (list of {name, secret}, first = the write
    key), or empty. No keys: one new key. ``rotate``: a new key first, the others kept for reads.
    ``prune``: only the first key (after every Secret was rewritten with it).
    """
    keys = [dict(k) for k in existing or [] if isinstance(k, dict) and k.get("name") and k.get("secret")]
    if not keys or rotate:
        used = {k["name"] for k in keys}
        index = 1
        while "key%d" % index in used:
            index += 1
        keys.insert(0, {"name": "key%d" % index, "secret": key or new_encryption_key()})
    if prune:
        keys = keys[:1]
    for k in keys:
        if len(base64.b64decode(k["secret"])) != 32:
            raise ControlPlaneError("encryption key %s is not 32 bytes (base64)" % k["name"])
    return keys


def existing_encryption_keys(doc):
    """The aescbc keys of an EncryptionConfiguration document (parsed YAML), or []."""
    try:
        for resource in doc.get("resources", []):
            for provider in resource.get("providers", []):
                if "aescbc" in provider:
                    return list(provider["aescbc"].get("keys", []))
    except AttributeError:
        return []
    return []


def encryption_config(keys):
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{
            "resources": ["secrets"],
            "providers": [{"aescbc": {"keys": keys}}, {"identity": {}}],
        }],
    }


def new_service_account_key():
    """A fresh RSA 2048 private key (PEM, PKCS#8), the service-account token signing key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def render_flags(flags):
    """Flags for a systemd unit: one '--name=value' per line (continued with backslashes)."""
    return ["--%s=%s" % (name, value) for name, value in flags]


def plan(settings):
    """Everything the role renders for one master (validated)."""
    validate(settings)
    return {
        "certificates": certificates(settings),
        "paths": paths(settings),
        "apiserver_flags": render_flags(apiserver_flags(settings)),
        "controller_manager_flags": render_flags(controller_manager_flags(settings)),
        "scheduler_flags": render_flags(scheduler_flags(settings)),
        "scheduler_config": scheduler_config(settings),
        "authentication_config": authentication_config(settings),
        "kubeconfigs": [dict(k, document=kubeconfig_document(k, settings["cluster_name"], paths(settings)["kubernetes_ca"]))
                        for k in kubeconfigs(settings)],
        "unit_files": unit_files(settings),
    }
