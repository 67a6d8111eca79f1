# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Where each etcd cluster of the apron.cluster.etcd role lives, how it is reached and which
certificates it needs (private; used by the etcd filters). Pure functions, unit-tested in
tests/unit/plugins/module_utils/test_etcd_layout.py."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

UNIT = "apron-etcd@%s.service"
BACKUP_TIMER = "apron-etcd-backup@%s.timer"
KEY_USAGE = ["digitalSignature", "keyEncipherment"]


def url(address, port, scheme="https"):
    """https://address:port, with an IPv6 address in brackets."""
    address = str(address)
    if ":" in address and not address.startswith("["):
        address = "[%s]" % address
    return "%s://%s:%s" % (scheme, address, int(port))


def member_urls(hosts, addresses, port):
    """Inventory host -> URL of its member on ``port``."""
    hosts, addresses = list(hosts), list(addresses)
    if len(hosts) != len(addresses):
        raise ValueError("etcd_urls: %d hosts but %d addresses" % (len(hosts), len(addresses)))
    return dict((host, url(address, port)) for host, address in zip(hosts, addresses))


def clusters(etcd_clusters, data_root, config_root, backup_root, token_prefix, member_cert):
    """The role's clusters with everything derived from their names: directories, units, token and the
    files whose change owes a restart of the member (its certificate, key and CA bundle)."""
    result = []
    for cluster in etcd_clusters:
        name = cluster["name"]
        config_dir = "%s/%s" % (config_root, name)
        pki_dir = config_dir + "/pki"
        unit = UNIT % name
        derived = {
            "data_dir": "%s/%s" % (data_root, name),
            "config_dir": config_dir,
            "pki_dir": pki_dir,
            "backup_dir": "%s/%s" % (backup_root, name),
            "unit": unit,
            "service": {"unit": unit, "files": ["%s/%s.crt" % (pki_dir, member_cert),
                                                "%s/%s.key" % (pki_dir, member_cert),
                                                pki_dir + "/ca.crt"]},
            "backup_timer": BACKUP_TIMER % name,
            "token": "%s-%s" % (token_prefix, name),
        }
        entry = {"env": {}}
        entry.update(cluster)
        entry.update(derived)
        result.append(entry)
    return result


def certificates(clusters, host, subject_alt_names, key_type, client_organization, owner, group,
                 member_cert="member", client_cert="client"):
    """apron.cluster.pki certificates of one host: per cluster a member certificate (server and peer:
    serverAuth + clientAuth, CN = the host) and a client certificate for etcdctl, health checks and
    backups (clientAuth, CN apron-etcd-client-<host>), in the cluster's own pki directory."""
    result = []
    for cluster in clusters:
        common = {"key_usage": list(KEY_USAGE), "key_type": key_type, "owner": owner, "group": group}
        member = {"name": member_cert, "ca": cluster["ca"], "dir": cluster["pki_dir"], "common_name": host,
                  "subject_alt_names": list(subject_alt_names), "extended_key_usage": ["serverAuth", "clientAuth"]}
        client = {"name": client_cert, "ca": cluster["ca"], "dir": cluster["pki_dir"],
                  "common_name": "apron-etcd-client-" + host, "organization": client_organization,
                  "extended_key_usage": ["clientAuth"]}
        member.update(common)
        client.update(common)
        result.extend([member, client])
    return result
