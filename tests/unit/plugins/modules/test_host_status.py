# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""apron.cluster.host_status: its parsers (module_utils/_host_status.py) and the module itself
against real openssl certificates, dpkg-query and statvfs (against a live etcd member:
tests/integration/test_host_status_etcd.py)."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections import namedtuple
from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _host_status as hs

from tests.helpers import run_module

REPO = Path(__file__).resolve().parents[4]


def host_status(**args):
    return run_module("host_status", args, check=True, timeout=120)


# ---------------------------------------------------------------- parsers
def test_parse_dpkg():
    out = "etcd-server\t3.4.23-4+b6\tinstalled\nopenssl\t3.0.15-1~deb12u1\tinstalled\nold\t1.0\tconfig-files\n\n"
    assert hs.parse_dpkg(out) == {"etcd-server": "3.4.23-4+b6", "openssl": "3.0.15-1~deb12u1"}


def test_parse_units():
    out = ("apron-etcd@k8s-main.service   loaded active running etcd k8s-main\n"
           "\u25cf apron-etcd@overlay.service loaded failed failed  etcd overlay\n"
           "apron-pki-check.timer         loaded active waiting Daily check\n")
    assert hs.parse_units(out) == [
        {"name": "apron-etcd@k8s-main.service", "load": "loaded", "state": "active", "sub": "running"},
        {"name": "apron-etcd@overlay.service", "load": "loaded", "state": "failed", "sub": "failed"},
        {"name": "apron-pki-check.timer", "load": "loaded", "state": "active", "sub": "waiting"}]


def test_parse_enddate():
    assert hs.parse_enddate("notAfter=Dec  1 08:00:00 2027 GMT\n", "/x.crt") == "2027-12-01T08:00:00Z"
    with pytest.raises(hs.HostStatusError, match=r"/x.crt printed 'garbage': expected notAfter=<date>"):
        hs.parse_enddate("garbage", "/x.crt")
    with pytest.raises(hs.HostStatusError, match="expected 'Mon DD HH:MM:SS YYYY GMT'"):
        hs.parse_enddate("notAfter=tomorrow", "/x.crt")


def test_registry_entries_and_ca_bundles():
    docs = {"/r/b.json": json.dumps({"name": "client", "certificate": "/p/client.crt", "ca_bundle": "/p/ca.crt",
                                     "ca": "etcd-k8s-main", "renewal_window_days": "30"}),
            "/r/a.json": json.dumps({"name": "member", "certificate": "/p/member.crt", "ca_bundle": "/p/ca.crt",
                                     "ca": "etcd-k8s-main", "renewal_window_days": 30})}
    certs = hs.certificates_to_check(hs.registry_entries(docs))
    assert [(c["name"], c["path"]) for c in certs] == [
        ("member", "/p/member.crt"), ("client", "/p/client.crt"), ("ca (etcd-k8s-main)", "/p/ca.crt")]
    assert {c["renewal_window_days"] for c in certs} == {30}


@pytest.mark.parametrize("text, message", [
    ("{", r"/r/x.json: not JSON .*: expected a certificate registry entry"),
    ("[]", "/r/x.json: expected a JSON object with 'certificate'"),
    ('{"certificate": "/c", "renewal_window_days": "soon"}', "renewal_window_days is 'soon': expected a number"),
])
def test_registry_bad_entries(text, message):
    with pytest.raises(hs.HostStatusError, match=message):
        hs.registry_entries({"/r/x.json": text})


def test_disk_usage_like_df():
    st = namedtuple("st", "f_blocks f_bfree f_bavail f_frsize")(1000, 400, 350, 4096)
    assert hs.disk_usage("/d", st) == {"path": "/d", "size": 4096000, "used": 2457600, "avail": 1433600,
                                       "percent": 64}
    assert hs.disk_usage("/e", st._replace(f_blocks=0, f_bfree=0, f_bavail=0))["percent"] == 0


def test_parse_etcd_bad_output():
    with pytest.raises(hs.HostStatusError, match="apron-etcdctl k8s-main endpoint status -w json printed 'x': expected JSON"):
        hs.parse_etcd_status("x", "k8s-main")
    with pytest.raises(hs.HostStatusError, match="no 'health'"):
        hs.parse_etcd_health("[{}]", "k8s-main")


# ---------------------------------------------------------------- the module
def _openssl_cert(directory, name, days):
    key, crt = directory / ("%s.key" % name), directory / ("%s.crt" % name)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", str(days), "-subj", "/CN=%s" % name],
                   check=True, capture_output=True)
    return key, crt


def test_module_certificates_disks_versions(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    pki = tmp_path / "pki"
    pki.mkdir()
    registry = tmp_path / "registry"
    registry.mkdir()
    _openssl_cert(pki, "ca", 3650)
    for name, days in (("member", 365), ("client", 10)):
        key, crt = _openssl_cert(pki, name, days)
        (registry / ("%s.json" % name)).write_text(json.dumps({
            "name": name, "certificate": str(crt), "key": str(key), "ca_bundle": str(pki / "ca.crt"),
            "ca": "etcd-k8s-main", "renewal_window_days": 30}))
    (registry / "gone.json").write_text(json.dumps({"name": "gone", "certificate": str(pki / "gone.crt"),
                                                    "renewal_window_days": 30}))
    result = host_status(certificate_registry_dir=str(registry), disks=[str(tmp_path), str(tmp_path / "nope")],
                         packages=["openssl", "no-such-package-apron"], units=[],
                         etcd_config_root=str(tmp_path / "no-etcd"))
    assert result["changed"] is False, result
    certs = {c["name"]: c for c in result["certificates"]}
    assert sorted(certs) == ["ca (etcd-k8s-main)", "client", "gone", "member"]
    assert certs["gone"]["error"] == "missing" and certs["gone"]["not_after"] is None
    assert certs["client"]["not_after"] < certs["member"]["not_after"] < certs["ca (etcd-k8s-main)"]["not_after"]
    assert result["disks"][0]["path"] == str(tmp_path) and result["disks"][0]["size"] > 0
    assert "No such file" in result["disks"][1]["error"]
    if shutil.which("dpkg-query"):
        assert "openssl" in result["versions"] and "no-such-package-apron" not in result["versions"]
    assert result["etcd"] == []


def test_module_bad_registry_names_the_file(tmp_path):
    (tmp_path / "broken.json").write_text("{")
    result = host_status(certificate_registry_dir=str(tmp_path), units=[])
    assert result["failed"] is True
    assert str(tmp_path / "broken.json") in result["msg"]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_module_etcd_down_is_reported_not_fatal(tmp_path):
    root = tmp_path / "etc-apron-etcd"
    (root / "k8s-main").mkdir(parents=True)
    (root / "k8s-main" / "etcd.env").write_text("")
    if shutil.which("etcdctl") is None:
        pytest.skip("etcdctl is not installed")
    wrapper = tmp_path / "apron-etcdctl"
    wrapper.write_text("#!/bin/sh\nshift\nETCDCTL_API=3 exec etcdctl --endpoints=http://127.0.0.1:%d "
                       "--dial-timeout=1s --command-timeout=2s \"$@\"\n" % _free_port())
    wrapper.chmod(0o755)
    result = host_status(etcd_config_root=str(root), etcdctl=str(wrapper), units=[])
    [item] = result["etcd"]
    assert item["healthy"] is False and item["error"], item
