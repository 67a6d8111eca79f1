#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_status
short_description: What runs on an apron host, in one read-only call (for playbooks/status.yml)
version_added: 0.1.0
description:
  - Reports the versions of O(packages) (and the Debian release), the state of the systemd units matching O(units),
    the disk use of O(disks), the expiry of every certificate in the C(apron.cluster.pki) registry (and of their CA
    bundles), and - on etcd members - the health, version and leader of every local etcd cluster.
  - The etcd clusters are the directories of O(etcd_config_root) that hold an C(etcd.env); each is asked through
    O(etcdctl) (C(apron-etcdctl <cluster> endpoint status|health -w json)).
  - Read-only. Nothing it finds wrong makes it fail; problems are reported per item (C(error)).
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.info_module
options:
  packages:
    description: Debian packages whose installed versions to report (missing ones are left out).
    type: list
    elements: str
    default: []
  units:
    description: systemd unit name patterns (C(systemctl list-units) patterns, for example C(apron-*)).
    type: list
    elements: str
    default: ['apron-*']
  disks:
    description: Paths whose file system use to report (paths that do not exist are reported with an error).
    type: list
    elements: path
    default: []
  certificate_registry_dir:
    description: The C(apron.cluster.pki) registry (one JSON per certificate); a missing directory means no certificates.
    type: path
    default: /etc/apron/pki/certificates.d
  etcd_config_root:
    description: Parent of the etcd clusters' configuration directories (C(apron.cluster.etcd)'s C(etcd_config_root)).
    type: path
    default: /etc/apron/etcd
  etcdctl:
    description: The etcdctl wrapper of C(apron.cluster.etcd).
    type: path
    default: /usr/local/sbin/apron-etcdctl
requirements:
  - openssl on the host to read certificates (installed by C(apron.cluster.pki))
seealso:
  - name: playbooks/status.yml
    description: The cluster status report built from this module's results.
    link: https://github.com/apron-io/apron.cluster/blob/main/docs/playbooks.md
"""

EXAMPLES = r"""
- name: Status of an etcd member
  apron.cluster.host_status:
    packages: [etcd-server, openssl]
    units: ['apron-*', ssh.service]
    disks: [/var/lib/apron/etcd]
  register: status_host
"""

RETURN = r"""
versions:
  description: Installed versions of O(packages) and C(debian) (the release in /etc/debian_version).
  returned: always
  type: dict
  sample: {"etcd-server": "3.4.23-4+b6", "debian": "12.8"}
units:
  description: The matching units.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "apron-etcd@k8s-main.service", "load": "loaded", "state": "active", "sub": "running"}]
disks:
  description: File system use of O(disks) in bytes (C(percent) as df computes it), or C(error).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/lib/apron/etcd", "size": 10737418240, "used": 1073741824, "avail": 9663676416, "percent": 10}]
certificates:
  description: Every registered certificate and each CA bundle once, with C(not_after) (ISO 8601 UTC) or C(error).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "member", "path": "/etc/apron/etcd/k8s-main/pki/member.crt", "ca": "etcd-k8s-main",
            "renewal_window_days": 30, "not_after": "2027-12-01T08:00:00Z", "error": null}]
etcd:
  description: One entry per local etcd cluster.
  returned: always
  type: list
  elements: dict
  sample: [{"cluster": "k8s-main", "healthy": true, "is_leader": true, "version": "3.4.23", "member_id": 123,
            "leader_id": 123, "db_size": 20480, "raft_term": 2, "error": null}]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.apron.cluster.plugins.module_utils import _host_status as hs


class HostStatus(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def _run(self, argv):
        rc, out, err = self.module.run_command(argv, check_rc=False, environ_update={"LC_ALL": "C"})
        return rc, out, err

    def versions(self):
        versions = {}
        if self.params["packages"] and self.module.get_bin_path("dpkg-query"):
            rc, out, err = self._run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"]
                                     + self.params["packages"])
            versions.update(hs.parse_dpkg(out))
        try:
            with open("/etc/debian_version") as handle:
                versions["debian"] = handle.read().strip()
        except (IOError, OSError):
            pass
        return versions

    def units(self):
        if not self.params["units"] or not self.module.get_bin_path("systemctl"):
            return []
        rc, out, err = self._run(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager"]
                                 + self.params["units"])
        return hs.parse_units(out)

    def disks(self):
        out = []
        for path in self.params["disks"]:
            try:
                out.append(hs.disk_usage(path, os.statvfs(path)))
            except OSError as exc:
                out.append({"path": path, "error": to_native(exc)})
        return out

    def certificates(self):
        directory = self.params["certificate_registry_dir"]
        if not os.path.isdir(directory):
            return []
        documents = {}
        for name in sorted(os.listdir(directory)):
            if name.endswith(".json"):
                path = os.path.join(directory, name)
                with open(path) as handle:
                    documents[path] = handle.read()
        out = []
        for cert in hs.certificates_to_check(hs.registry_entries(documents)):
            cert = dict(cert, not_after=None, error=None)
            if not os.path.exists(cert["path"]):
                cert["error"] = "missing"
            else:
                rc, stdout, err = self._run(["openssl", "x509", "-noout", "-enddate", "-in", cert["path"]])
                try:
                    if rc != 0:
                        raise hs.HostStatusError("openssl x509 -in %s: %s" % (cert["path"], (err or stdout).strip()))
                    cert["not_after"] = hs.parse_enddate(stdout, cert["path"])
                except hs.HostStatusError as exc:
                    cert["error"] = str(exc)
            out.append(cert)
        return out

    def etcd(self):
        root = self.params["etcd_config_root"]
        if not os.path.isdir(root):
            return []
        out = []
        for cluster in sorted(os.listdir(root)):
            if not os.path.isfile(os.path.join(root, cluster, "etcd.env")):
                continue
            item = {"cluster": cluster, "healthy": False, "is_leader": False, "version": None, "member_id": None,
                    "leader_id": None, "db_size": None, "raft_term": None, "error": None}
            try:
                rc, out_h, err_h = self._run([self.params["etcdctl"], cluster, "endpoint", "health", "-w", "json"])
                if out_h.strip():
                    item["healthy"], item["error"] = hs.parse_etcd_health(out_h, cluster)
                else:
                    item["error"] = (err_h or "no output").strip()
                if item["healthy"]:
                    rc, out_s, err_s = self._run([self.params["etcdctl"], cluster, "endpoint", "status", "-w", "json"])
                    if rc != 0:
                        raise hs.HostStatusError("apron-etcdctl %s endpoint status: %s" % (cluster, err_s.strip()))
                    item.update(hs.parse_etcd_status(out_s, cluster))
            except hs.HostStatusError as exc:
                item["error"] = str(exc)
            out.append(item)
        return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            units=dict(type="list", elements="str", default=["apron-*"]),
            disks=dict(type="list", elements="path", default=[]),
            certificate_registry_dir=dict(type="path", default="/etc/apron/pki/certificates.d"),
            etcd_config_root=dict(type="path", default="/etc/apron/etcd"),
            etcdctl=dict(type="path", default="/usr/local/sbin/apron-etcdctl"),
        ),
        supports_check_mode=True,
    )
    status = HostStatus(module)
    try:
        result = dict(versions=status.versions(), units=status.units(), disks=status.disks(),
                      certificates=status.certificates(), etcd=status.etcd())
    except hs.HostStatusError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (getattr(exc, "filename", None) or "a status file", to_native(exc)))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
