# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The admin kubeconfig of a cluster on the controller (playbooks/kubeconfig.yml), in three steps:

* ``kubernetes_admin_masters(hostvars, masters, cluster)``: the cluster and its masters, with the files the
  master role keeps the admin identity in (``<kubernetes_pki_dir>/admin/{admin.crt,admin.key,ca.crt}``);
* ``kubernetes_admin_kubeconfig_plan(candidates, probes, options)``: the master to read (the first that
  answered and has the admin certificate), the server, the SOCKS proxy through the bastion when the masters
  are private, the files on the controller and what to tell the operator;
* ``kubernetes_admin_kubeconfig(plan, public, key)``: the kubeconfig document with everything embedded.

Each returns its ``errors`` (messages naming the fix, never a secret) instead of raising, so that the
playbook refuses in a task whose output is shown: the tasks that hold the key are no_log.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import os
import shlex

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_control_plane as _cp
from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_node as _node

DEFAULT_PKI_DIR = "/etc/kubernetes/pki"     # kubernetes_pki_dir (roles/kubernetes/defaults)
DEFAULT_API_PORT = 6443                     # kubernetes_api_port
DEFAULT_USER = "apron-admin"                # master_admin_user (roles/master/defaults)
DEFAULT_SOCKS_PORT = 1080


def _get(hvars, name, default=None):
    value = hvars.get(name) if hasattr(hvars, "get") else None
    return default if value in (None, "") else value


def kubernetes_admin_masters(hostvars, masters, cluster=None):
    """The masters of one cluster in inventory order: {cluster, masters: [{name, cert, key, ca, address,
    environment, controller_dir, jump_host, endpoint, api_port, user}], errors}.

    ``cluster`` (apron_cluster) picks the cluster; without it the masters must belong to one cluster.
    """
    if not (hasattr(hostvars, "get") and hasattr(hostvars, "__contains__")):
        raise AnsibleFilterError("apron.cluster.kubernetes_admin_masters: hostvars is a %s, expected a mapping"
                                 % type(hostvars).__name__)
    names = [str(n) for n in (masters or [])]
    wanted = str(cluster or "").strip()
    errors, found = [], []
    for name in names:
        hvars = hostvars[name] if name in hostvars else {}
        apron = _get(hvars, "apron")
        if not isinstance(apron, dict) or not apron.get("cluster"):
            errors.append("host %s of the group master has no 'apron' variable with its cluster: expected a host of "
                          "the apron.cluster.instance_pools inventory" % name)
            continue
        found.append((name, apron, hvars))
    clusters = sorted(set(str(apron["cluster"]) for _name, apron, _hvars in found))
    if not names:
        errors.append("the inventory has no master host (the group master is empty): provision the cluster first "
                      "(playbooks/cluster.yml), and use an apron.cluster.instance_pools inventory source (-i)")
    if not errors:
        if wanted and wanted not in clusters:
            errors.append("no master of cluster %s in the inventory (masters of: %s): check -e apron_cluster"
                          % (wanted, ", ".join(clusters)))
        elif not wanted and len(clusters) > 1:
            errors.append("the masters belong to several clusters (%s): choose one with -e apron_cluster=NAME"
                          % ", ".join(clusters))
    if errors:
        return {"cluster": wanted, "masters": [], "errors": errors}
    chosen = wanted or clusters[0]
    out = []
    for name, apron, hvars in found:
        if str(apron["cluster"]) != chosen:
            continue
        admin_dir = "%s/%s" % (str(_get(hvars, "kubernetes_pki_dir", DEFAULT_PKI_DIR)).rstrip("/"),
                               _cp.PKI_SUBDIRS["admin"])
        out.append({
            "name": name,
            "cert": admin_dir + "/admin.crt",
            "key": admin_dir + "/admin.key",
            "ca": admin_dir + "/ca.crt",
            "address": apron.get("private_address") or "",
            "environment": apron.get("environment") or "",
            "controller_dir": apron.get("controller_dir") or "",
            "jump_host": (apron.get("ssh") or {}).get("jump_host") or "",
            "endpoint": str(_get(hvars, "kubernetes_api_endpoint", "")).strip(),
            "api_port": _get(hvars, "kubernetes_api_port", DEFAULT_API_PORT),
            "user": str(_get(hvars, "master_admin_user", DEFAULT_USER)),
        })
    return {"cluster": chosen, "masters": out, "errors": []}


def _result_message(result):
    """The first line of a task result's message, without ansible-core's 'Task failed: ' prefix."""
    text = str(result.get("msg") or "no message").strip().splitlines()[0]
    return text[len("Task failed: "):] if text.startswith("Task failed: ") else text


def _source(masters, probes):
    """The first master that answered and has the admin certificate; and the others, by why they were passed.
    ``probes``: the results of a loop over the masters' names (``item``)."""
    by_name = dict((m["name"], m) for m in masters)
    unreachable, missing = [], []
    for result in probes or []:
        master = by_name.get(str(result.get("item")))
        if master is None:
            raise AnsibleFilterError("apron.cluster.kubernetes_admin_kubeconfig_plan: a probe of %r, which is not "
                                     "among the masters" % (result.get("item"),))
        if result.get("unreachable") or result.get("failed") or not isinstance(result.get("stat"), dict):
            unreachable.append("%s (%s)" % (master.get("name"), _result_message(result)))
        elif not result["stat"].get("exists"):
            missing.append(master)
        else:
            return master, unreachable, missing
    return None, unreachable, missing


def _port(value, name):
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise ValueError("%s: %r is not a TCP port (1-65535)" % (name, value))
    return port


def kubernetes_admin_kubeconfig_plan(candidates, probes, options=None):
    """What playbooks/kubeconfig.yml writes, from the masters (kubernetes_admin_masters), the stat of each
    master's admin certificate (a loop over their names: its results, unreachable ones included) and the options
    {proxy, socks_port, file, ssh_config_file, inventory}. Reads nothing but whether the ssh configuration
    file exists (to tell the operator to write it first).

    The masters are private when the inventory reaches them through a bastion (``apron.ssh.jump_host``,
    set exactly when it gives them the ProxyCommand): then the cluster entry gets
    ``proxy-url: socks5://127.0.0.1:<socks_port>`` unless ``proxy`` is false, and the operator is told the
    ``ssh -D`` command that opens that SOCKS proxy through the bastion.
    """
    options = dict(options or {})
    cluster = str((candidates or {}).get("cluster") or "")
    plan = {"cluster": cluster, "errors": []}
    masters = (candidates or {}).get("masters") or []
    source, unreachable, missing = _source(masters, probes)
    if source is None:
        if missing:
            plan["errors"].append(
                "the admin certificate %s does not exist on %s yet: run playbooks/site.yml --tags master first "
                "(the master role issues it)" % (missing[0]["cert"], ", ".join(m["name"] for m in missing)))
        if unreachable:
            plan["errors"].append(
                "no answer from %s: check that the masters run (playbooks/infrastructure.yml) and that the bastion "
                "answers" % ", ".join(unreachable))
        if not plan["errors"]:
            plan["errors"].append("no master of cluster %s was probed (%d candidates)" % (cluster, len(masters)))
        return plan
    try:
        want_proxy = boolean(options.get("proxy", True), strict=True)
    except TypeError:
        plan["errors"].append("apron_kubeconfig_proxy: %r is not a boolean (true or false)" % (options.get("proxy"),))
        return plan
    try:
        socks_port = _port(options.get("socks_port", DEFAULT_SOCKS_PORT), "apron_kubeconfig_socks_port")
        api_port = _port(source["api_port"], "kubernetes_api_port")
        if source["endpoint"]:
            server = _node.api_endpoint(source["endpoint"], True, [source["name"]], api_port, api_port)
        elif source["address"]:
            address = str(source["address"])
            server = "https://%s:%d" % ("[%s]" % address if ":" in address else address, api_port)
        else:
            raise ValueError("master %s has no apron.private_address and kubernetes_api_endpoint is empty: set "
                             "kubernetes_api_endpoint" % source["name"])
    except ValueError as exc:  # NodeConfigError is a ValueError
        plan["errors"].append(str(exc))
        return plan
    proxy = bool(want_proxy and source["jump_host"])
    controller_dir = str(source["controller_dir"]).rstrip("/")
    path = str(options.get("file") or "")
    ssh_config = str(options.get("ssh_config_file") or "")
    if not controller_dir and (not path or (proxy and not ssh_config)):
        plan["errors"].append("master %s has no apron.controller_dir: set apron_kubeconfig_file%s"
                              % (source["name"], " and apron_ssh_config_file" if proxy else ""))
        return plan
    path = path or "%s/kubeconfig/%s.kubeconfig" % (controller_dir, cluster)
    ssh_config = ssh_config or "%s/ssh/%s.config" % (controller_dir, source["environment"])
    plan.update({
        "source": source["name"], "cert": source["cert"], "key": source["key"], "ca": source["ca"],
        # the entry's name carries the cluster, so that merged kubeconfigs (KUBECONFIG=a:b) keep one user per
        # cluster; the identity is the certificate's CN, ``identity``
        "user": "%s@%s" % (source["user"], cluster), "identity": source["user"],
        "context": cluster, "server": server, "path": path,
        "private": bool(source["jump_host"]), "bastion": source["jump_host"],
        "proxy_url": "socks5://127.0.0.1:%d" % socks_port if proxy else "",
        "ssh_config": ssh_config if proxy else "",
        "tunnel": "ssh -F %s -D 127.0.0.1:%d -N %s" % (shlex.quote(ssh_config), socks_port, source["jump_host"])
                  if proxy else "",
    })
    header = ["apron cluster %s: admin kubeconfig (%s), written by playbooks/kubeconfig.yml from the master's "
              "admin certificate; the client key is embedded: keep this file private." % (cluster, plan["identity"])]
    usage = "kubectl --kubeconfig %s get nodes" % shlex.quote(path)
    if proxy:
        header.append("The API is private: open the SOCKS proxy through the bastion first: %s" % plan["tunnel"])
        plan["instructions"] = ["open the SOCKS proxy through the bastion (leave it running): %s" % plan["tunnel"],
                                "then: %s" % usage]
        if not os.path.isfile(ssh_config):
            plan["instructions"].insert(1, "(%s does not exist yet: ansible-playbook -i %s playbooks/ssh-config.yml)"
                                        % (ssh_config, options.get("inventory") or "<inventory>"))
    else:
        plan["instructions"] = [usage]
        if source["jump_host"]:
            plan["instructions"].append("no proxy-url (apron_kubeconfig_proxy=false): %s must be reachable from "
                                        "this machine" % server)
    plan["header"] = "".join("# %s\n" % line for line in header)
    return plan


def _decode(result, path, host, what):
    """The PEM bytes of one slurp result, or an error (never the content)."""
    if not isinstance(result, dict) or "content" not in result:
        return None, "could not read the %s %s on %s: %s" % (what, path, host, _result_message(result or {}))
    try:
        data = base64.b64decode(str(result["content"]), validate=True)
    except (binascii.Error, ValueError):
        return None, "the %s %s on %s is not what slurp returns (base64)" % (what, path, host)
    return data, None


def _check_identity(ca_pem, cert_pem, key_pem, plan):
    """The certificate chains to the CA bundle, the key belongs to it, it has not expired."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    host = plan["source"]
    try:
        cas = x509.load_pem_x509_certificates(ca_pem)
    except ValueError:
        return ["the CA bundle %s on %s holds no PEM certificate" % (plan["ca"], host)]
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return ["the admin certificate %s on %s is not a PEM certificate" % (plan["cert"], host)]
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):  # never the key's bytes in the message
        return ["the admin key %s on %s is not an unencrypted PEM private key" % (plan["key"], host)]
    errors = []
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        errors.append("the admin key %s on %s does not belong to the certificate %s: run playbooks/site.yml --tags "
                      "master (the pki role reissues the pair)" % (plan["key"], host, plan["cert"]))
    issued = False
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
            issued = True
            break
        except (InvalidSignature, ValueError, TypeError):  # another CA of the bundle, another key type
            continue
    if not issued:
        errors.append("the admin certificate %s on %s is not issued by the CA bundle %s next to it"
                      % (plan["cert"], host, plan["ca"]))
    not_after = cert.not_valid_after_utc
    if not_after <= datetime.datetime.now(datetime.timezone.utc):
        errors.append("the admin certificate %s on %s expired on %s: run playbooks/site.yml --tags master (the pki "
                      "role renews it)" % (plan["cert"], host, not_after.isoformat()))
    return errors


def kubernetes_admin_kubeconfig(plan, public, key):
    """{document, errors}: the kubeconfig (apiVersion v1, kind Config) with the CA bundle, the client
    certificate and key embedded (``*-data``, base64 of the PEM files), cluster and context named after the
    cluster. ``public``: the slurp results of the CA bundle and the certificate (a loop over their paths);
    ``key``: the slurp result of the key."""
    plan = plan or {}
    if plan.get("errors") or not plan.get("source"):
        errors = plan.get("errors") or ["no plan: kubernetes_admin_kubeconfig_plan chose no master"]
        return {"document": None, "errors": list(errors)}
    by_path = dict((str(r.get("item")), r) for r in (public or []) if isinstance(r, dict))
    host, errors, pem = plan["source"], [], {}
    for what, label, result in (("ca", "CA bundle", by_path.get(plan["ca"])),
                                ("cert", "admin certificate", by_path.get(plan["cert"])),
                                ("key", "admin key", key)):
        pem[what], error = _decode(result, plan[what], host, label)
        if error:
            errors.append(error)
    if not errors:
        errors = _check_identity(pem["ca"], pem["cert"], pem["key"], plan)
    if errors:
        return {"document": None, "errors": errors}

    def data(what):
        return base64.b64encode(pem[what]).decode("ascii")

    cluster = {"server": plan["server"], "certificate-authority-data": data("ca")}
    if plan.get("proxy_url"):
        cluster["proxy-url"] = plan["proxy_url"]
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": plan["cluster"], "cluster": cluster}],
        "users": [{"name": plan["user"], "user": {"client-certificate-data": data("cert"),
                                                  "client-key-data": data("key")}}],
        "contexts": [{"name": plan["context"], "context": {"cluster": plan["cluster"], "user": plan["user"]}}],
        "current-context": plan["context"],
        "preferences": {},
    }
    return {"document": document, "errors": []}


class FilterModule(object):
    """apron.cluster filters of playbooks/kubeconfig.yml."""

    def filters(self):
        return {
            "kubernetes_admin_masters": kubernetes_admin_masters,
            "kubernetes_admin_kubeconfig_plan": kubernetes_admin_kubeconfig_plan,
            "kubernetes_admin_kubeconfig": kubernetes_admin_kubeconfig,
        }
