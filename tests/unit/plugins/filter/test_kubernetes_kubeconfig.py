# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The filters of playbooks/kubeconfig.yml (plugins/filter/kubernetes_kubeconfig.py): the masters of a
cluster, the plan (source master, server, SOCKS proxy through the bastion, files) and the document."""
from __future__ import annotations

import base64

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.apron.cluster.plugins.filter.kubernetes_kubeconfig import (
    FilterModule, kubernetes_admin_kubeconfig, kubernetes_admin_kubeconfig_plan, kubernetes_admin_masters)

from tests.helpers import admin_pki


def render(expression, **variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def _host(name, cluster="dev", address="10.98.2.10", jump="dev-bastion-0", **extra):
    apron = {"cluster": cluster, "environment": "dev", "role": "master", "private_address": address,
             "controller_dir": "/repo/.apron", "ssh": {"jump_host": jump, "known_hosts_file": None}}
    return dict(extra, apron=apron)


HOSTVARS = {"dev-master-0": _host("dev-master-0"), "dev-master-1": _host("dev-master-1", address="10.98.2.11")}


def _candidates(hostvars=None, masters=("dev-master-0", "dev-master-1"), cluster=""):
    return kubernetes_admin_masters(hostvars or HOSTVARS, list(masters), cluster)


def _probe(master, exists=True, unreachable=False, msg=None):
    if unreachable:
        return {"item": master["name"], "unreachable": True, "msg": msg or "Failed to connect to the host via ssh"}
    return {"item": master["name"], "changed": False, "stat": {"exists": exists}}


def _plan(candidates=None, probes=None, **options):
    candidates = candidates or _candidates()
    if probes is None:
        probes = [_probe(m) for m in candidates["masters"]]
    return kubernetes_admin_kubeconfig_plan(candidates, probes, options)


def test_every_filter_is_exported_under_its_name():
    assert sorted(FilterModule().filters()) == [
        "kubernetes_admin_kubeconfig", "kubernetes_admin_kubeconfig_plan", "kubernetes_admin_masters"]


# kubernetes_admin_masters

def test_masters_of_the_only_cluster_with_the_master_roles_files():
    result = render("{{ hostvars | apron.cluster.kubernetes_admin_masters(groups.master, '') }}",
                    hostvars=HOSTVARS, groups={"master": ["dev-master-0", "dev-master-1"]})
    assert result["errors"] == [] and result["cluster"] == "dev"
    first = result["masters"][0]
    assert [m["name"] for m in result["masters"]] == ["dev-master-0", "dev-master-1"]
    admin = "/etc/kubernetes/pki/admin/"
    assert (first["cert"], first["key"], first["ca"]) == (admin + "admin.crt", admin + "admin.key", admin + "ca.crt")
    assert (first["address"], first["jump_host"], first["endpoint"], first["api_port"], first["user"]) == (
        "10.98.2.10", "dev-bastion-0", "", 6443, "apron-admin")


def test_inventory_settings_of_a_master():
    hostvars = {"m": _host("m", kubernetes_pki_dir="/srv/pki/", kubernetes_api_endpoint=" https://api.example:6443 ",
                           kubernetes_api_port=7443, master_admin_user="ops-admin")}
    [master] = _candidates(hostvars, ["m"])["masters"]
    assert master["cert"] == "/srv/pki/admin/admin.crt"
    assert (master["endpoint"], master["api_port"], master["user"]) == ("https://api.example:6443", 7443, "ops-admin")


def test_apron_cluster_picks_one_cluster_of_several():
    hostvars = dict(HOSTVARS, **{"blue-master-0": _host("blue-master-0", cluster="blue")})
    masters = ["dev-master-0", "blue-master-0", "dev-master-1"]
    result = _candidates(hostvars, masters, "blue")
    assert result["cluster"] == "blue" and [m["name"] for m in result["masters"]] == ["blue-master-0"]
    [error] = _candidates(hostvars, masters)["errors"]
    assert error == "the masters belong to several clusters (blue, dev): choose one with -e apron_cluster=NAME"


@pytest.mark.parametrize("masters, cluster, hostvars, message", [
    ([], "", HOSTVARS, "the inventory has no master host (the group master is empty): provision the cluster first"),
    (["dev-master-0"], "prod", HOSTVARS, "no master of cluster prod in the inventory (masters of: dev)"),
    (["static-0"], "", {"static-0": {"ansible_host": "10.0.0.1"}},
     "host static-0 of the group master has no 'apron' variable with its cluster"),
])
def test_refusals_of_the_master_list(masters, cluster, hostvars, message):
    result = _candidates(hostvars, masters, cluster)
    assert result["masters"] == [] and len(result["errors"]) == 1 and result["errors"][0].startswith(message)


# kubernetes_admin_kubeconfig_plan

def test_first_master_that_answers_and_has_the_certificate_is_read():
    hostvars = dict(HOSTVARS, **{"dev-master-2": _host("dev-master-2", address="10.98.2.12")})
    candidates = _candidates(hostvars, ["dev-master-0", "dev-master-1", "dev-master-2"])
    m0, m1, m2 = candidates["masters"]
    plan = _plan(candidates, [_probe(m0, unreachable=True), _probe(m1, exists=False), _probe(m2)])
    assert plan["errors"] == [] and plan["source"] == "dev-master-2"
    assert plan["server"] == "https://10.98.2.12:6443"
    assert (plan["cert"], plan["key"], plan["ca"]) == (m2["cert"], m2["key"], m2["ca"])
    assert (plan["cluster"], plan["context"], plan["user"]) == ("dev", "dev", "apron-admin@dev")
    assert plan["identity"] == "apron-admin"     # the CN; the entry name carries the cluster
    assert plan["path"] == "/repo/.apron/kubeconfig/dev.kubeconfig"


def test_private_masters_get_the_socks_proxy_and_the_tunnel_command(tmp_path):
    ssh_config = tmp_path / "dev.config"
    plan = _plan(ssh_config_file=str(ssh_config), socks_port="1081", inventory="inventories/local")
    assert plan["private"] is True and plan["bastion"] == "dev-bastion-0"
    assert plan["proxy_url"] == "socks5://127.0.0.1:1081"
    assert plan["tunnel"] == "ssh -F %s -D 127.0.0.1:1081 -N dev-bastion-0" % ssh_config
    assert plan["instructions"] == [
        "open the SOCKS proxy through the bastion (leave it running): %s" % plan["tunnel"],
        "(%s does not exist yet: ansible-playbook -i inventories/local playbooks/ssh-config.yml)" % ssh_config,
        "then: kubectl --kubeconfig /repo/.apron/kubeconfig/dev.kubeconfig get nodes"]
    assert plan["tunnel"] in plan["header"] and plan["header"].endswith("\n")
    assert all(line.startswith("# ") for line in plan["header"].splitlines())
    ssh_config.write_text("Host dev-bastion-0\n")
    assert len(_plan(ssh_config_file=str(ssh_config))["instructions"]) == 2


def test_ssh_config_of_the_environment_by_default():
    plan = _plan()
    assert plan["ssh_config"] == "/repo/.apron/ssh/dev.config"
    assert plan["tunnel"] == "ssh -F /repo/.apron/ssh/dev.config -D 127.0.0.1:1080 -N dev-bastion-0"


@pytest.mark.parametrize("proxy", [False, "false", "no"])
def test_proxy_can_be_left_out(proxy):
    plan = _plan(proxy=proxy)
    assert plan["errors"] == [] and plan["proxy_url"] == "" and plan["tunnel"] == ""
    assert plan["instructions"][-1] == ("no proxy-url (apron_kubeconfig_proxy=false): https://10.98.2.10:6443 must "
                                        "be reachable from this machine")


def test_directly_reachable_masters_get_no_proxy():
    hostvars = {"m": _host("m", jump=None)}
    plan = _plan(_candidates(hostvars, ["m"]))
    assert (plan["private"], plan["proxy_url"], plan["tunnel"]) == (False, "", "")
    assert plan["instructions"] == ["kubectl --kubeconfig /repo/.apron/kubeconfig/dev.kubeconfig get nodes"]


def test_endpoint_wins_and_ipv6_addresses_get_brackets():
    hostvars = {"lb": _host("lb", kubernetes_api_endpoint="https://api.dev.example:6443/"),
                "v6": _host("v6", address="fd00::10", kubernetes_api_port="7443")}
    assert _plan(_candidates(hostvars, ["lb"]))["server"] == "https://api.dev.example:6443"
    assert _plan(_candidates(hostvars, ["v6"]))["server"] == "https://[fd00::10]:7443"


def test_file_option_names_the_kubeconfig():
    assert _plan(file="/tmp/x/admin.kubeconfig")["path"] == "/tmp/x/admin.kubeconfig"


def test_no_certificate_yet_says_to_run_the_master_play():
    candidates = _candidates()
    m0, m1 = candidates["masters"]
    plan = _plan(candidates, [_probe(m0, unreachable=True, msg="ssh: connect to host 127.0.0.1 port 2299: refused\nx"),
                              _probe(m1, exists=False)])
    assert "source" not in plan
    assert plan["errors"] == [
        "the admin certificate /etc/kubernetes/pki/admin/admin.crt does not exist on dev-master-1 yet: run "
        "playbooks/site.yml --tags master first (the master role issues it)",
        "no answer from dev-master-0 (ssh: connect to host 127.0.0.1 port 2299: refused): check that the masters run "
        "(playbooks/infrastructure.yml) and that the bastion answers"]


def test_a_failed_probe_counts_as_no_answer():
    m0 = _candidates()["masters"][0]
    plan = _plan(probes=[{"item": m0["name"], "failed": True, "msg": "sudo: a password is required"}])
    assert plan["errors"] == ["no answer from dev-master-0 (sudo: a password is required): check that the masters "
                              "run (playbooks/infrastructure.yml) and that the bastion answers"]


def test_a_probe_of_another_host_is_a_bug_of_the_caller():
    with pytest.raises(AnsibleFilterError, match="a probe of 'dev-etcd-0', which is not among the masters"):
        _plan(probes=[{"item": "dev-etcd-0", "stat": {"exists": True}}])


@pytest.mark.parametrize("hostvars, options, message", [
    ({"m": _host("m")}, {"socks_port": "socks"}, "apron_kubeconfig_socks_port: 'socks' is not a TCP port"),
    ({"m": _host("m")}, {"socks_port": 70000}, "apron_kubeconfig_socks_port: 70000 is not a TCP port"),
    ({"m": _host("m")}, {"proxy": "maybe"}, "apron_kubeconfig_proxy: 'maybe' is not a boolean"),
    ({"m": _host("m", kubernetes_api_endpoint="http://api:6443")}, {}, "kubernetes_api_endpoint: 'http://api:6443' "
                                                                       "must be an https:// URL"),
    ({"m": _host("m", address="")}, {}, "master m has no apron.private_address and kubernetes_api_endpoint is empty"),
])
def test_bad_options_and_settings(hostvars, options, message):
    plan = _plan(_candidates(hostvars, ["m"]), **options)
    assert len(plan["errors"]) == 1 and plan["errors"][0].startswith(message), plan["errors"]


def test_without_controller_dir_the_files_must_be_named():
    hostvars = {"m": _host("m")}
    hostvars["m"]["apron"]["controller_dir"] = None
    assert _plan(_candidates(hostvars, ["m"]))["errors"] == [
        "master m has no apron.controller_dir: set apron_kubeconfig_file and apron_ssh_config_file"]
    plan = _plan(_candidates(hostvars, ["m"]), file="/k/dev.kubeconfig", ssh_config_file="/k/dev.config")
    assert plan["errors"] == [] and plan["path"] == "/k/dev.kubeconfig"


# kubernetes_admin_kubeconfig

def _slurp(data, path):
    return {"item": path, "content": base64.b64encode(data).decode(), "encoding": "base64", "source": path}


def _build(identity, plan=None, **drop):
    plan = plan or _plan()
    public = [_slurp(identity["ca"], plan["ca"]), _slurp(identity["cert"], plan["cert"])]
    public = [r for r in public if r["item"] not in drop.get("public", ())]
    key = drop.get("key_result") or dict(_slurp(identity["key"], plan["key"]), item=None)
    return kubernetes_admin_kubeconfig(plan, public, key)


@pytest.fixture(scope="module")
def identity():
    return admin_pki.admin()


def test_document_embeds_the_identity_and_names_everything_after_the_cluster(identity):
    built = render("{{ plan | apron.cluster.kubernetes_admin_kubeconfig(public, key) }}", plan=_plan(),
                   public=[_slurp(identity["ca"], "/etc/kubernetes/pki/admin/ca.crt"),
                           _slurp(identity["cert"], "/etc/kubernetes/pki/admin/admin.crt")],
                   key=_slurp(identity["key"], None))
    assert built["errors"] == []
    doc = built["document"]
    assert doc == {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": "https://10.98.2.10:6443",
            "certificate-authority-data": base64.b64encode(identity["ca"]).decode(),
            "proxy-url": "socks5://127.0.0.1:1080"}}],
        "users": [{"name": "apron-admin@dev", "user": {
            "client-certificate-data": base64.b64encode(identity["cert"]).decode(),
            "client-key-data": base64.b64encode(identity["key"]).decode()}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "apron-admin@dev"}}],
        "current-context": "dev", "preferences": {}}
    # the YAML the playbook writes reads back the same
    text = render("{{ doc | to_nice_yaml(indent=2, sort_keys=False) }}", doc=doc)
    assert yaml.safe_load(text) == doc and text.startswith("apiVersion: v1\nkind: Config\nclusters:\n")


def test_no_proxy_url_without_proxy(identity):
    built = _build(identity, _plan(proxy=False))
    assert "proxy-url" not in built["document"]["clusters"][0]["cluster"]


def _secret_free(errors, identity):
    key_b64 = base64.b64encode(identity["key"]).decode()
    body = identity["key"].decode().splitlines()[1]
    return all(key_b64[:40] not in e and body not in e for e in errors)


def test_unreadable_files_are_named_never_their_content(identity):
    plan = _plan()
    built = _build(identity, plan, public=[plan["ca"]], key_result={
        "failed": False, "msg": "file not found: /etc/kubernetes/pki/admin/admin.key", "changed": False})
    assert built["document"] is None
    assert built["errors"] == [
        "could not read the CA bundle /etc/kubernetes/pki/admin/ca.crt on dev-master-0: no message",
        "could not read the admin key /etc/kubernetes/pki/admin/admin.key on dev-master-0: file not found: "
        "/etc/kubernetes/pki/admin/admin.key"]


@pytest.mark.parametrize("case, message", [
    ("other key", "the admin key /etc/kubernetes/pki/admin/admin.key on dev-master-0 does not belong to the "
                  "certificate /etc/kubernetes/pki/admin/admin.crt"),
    ("other ca", "the admin certificate /etc/kubernetes/pki/admin/admin.crt on dev-master-0 is not issued by the CA "
                 "bundle /etc/kubernetes/pki/admin/ca.crt next to it"),
    ("expired", "the admin certificate /etc/kubernetes/pki/admin/admin.crt on dev-master-0 expired on "),
    ("not pem", "the admin key /etc/kubernetes/pki/admin/admin.key on dev-master-0 is not an unencrypted PEM "
                "private key"),
    ("not a cert", "the admin certificate /etc/kubernetes/pki/admin/admin.crt on dev-master-0 is not a PEM "
                   "certificate"),
])
def test_a_broken_identity_is_refused(identity, case, message):
    bad = dict(identity)
    if case == "other key":
        bad["key"] = admin_pki.admin()["key"]
    elif case == "other ca":
        bad["ca"] = admin_pki.admin()["ca"]
    elif case == "expired":
        bad = admin_pki.admin(days=-1)
    elif case == "not pem":
        bad["key"] = b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    else:
        bad["cert"] = bad["ca"][:40]
    built = _build(bad)
    assert built["document"] is None and len(built["errors"]) == 1 and built["errors"][0].startswith(message)
    assert _secret_free(built["errors"], bad)


def test_a_ca_bundle_with_several_cas_chains_through_any(identity):
    bad = dict(identity, ca=admin_pki.admin()["ca"] + identity["ca"])
    assert _build(bad)["errors"] == []


def test_slurp_content_that_is_not_base64():
    plan = _plan()
    public = [{"item": plan["ca"], "content": "%%"}, {"item": plan["cert"], "content": "%%"}]
    built = kubernetes_admin_kubeconfig(plan, public, {"content": "%%"})
    assert built["errors"][0] == ("the CA bundle /etc/kubernetes/pki/admin/ca.crt on dev-master-0 is not what "
                                  "slurp returns (base64)")


def test_a_plan_with_errors_builds_nothing():
    expected = {"document": None, "errors": ["no master"]}
    assert kubernetes_admin_kubeconfig({"errors": ["no master"]}, [], {}) == expected
