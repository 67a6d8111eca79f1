# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""roles/pki/tasks/main.yml: the normalisation and validation of pki_certificates, rendered from the task file
with the role's defaults and vars, and the message a user gets for invalid entries."""
from __future__ import annotations

from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[4] / "roles" / "pki"


def tasks():
    return {task["name"]: task for task in yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())}


def validate(certificates, **overrides):
    """(the normalised certificates, the invalid entries, the assert's fail_msg) as the role renders them."""
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))
    variables.update(overrides, pki_certificates=certificates)

    def render(expression, **extra):
        return Templar(loader=DataLoader(), variables=dict(variables, **extra)).template(trust_as_template(expression))

    found = tasks()
    variables["__pki_certs"] = render(found["Normalise the certificate list"]["ansible.builtin.set_fact"]["__pki_certs"])
    check = found["Validate the certificate list"]
    invalid = render(check["vars"]["__pki_invalid"])
    return variables["__pki_certs"], invalid, render(check["ansible.builtin.assert"]["fail_msg"], __pki_invalid=invalid)


RULES = ("are invalid: name must match [A-Za-z0-9][A-Za-z0-9._-]* and not be 'ca', ca must match [a-z0-9][a-z0-9-]*, "
         "dir must be absolute, key_type one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, validity (days) "
         "must exceed pki_renewal_window_days (30) or the certificate would be reissued on every run, and <dir>/<name> "
         "must be unique.")


def test_the_message_names_every_invalid_entry():
    certs, invalid, message = validate([
        {"name": "member", "ca": "etcd-k8s", "dir": "/etc/x", "common_name": "a", "validity": 10},
        {"name": "ca", "ca": "Etcd_K8s", "dir": "etc/x", "common_name": "b", "key_type": "dsa"},
        {"name": "member", "ca": "etcd-k8s", "dir": "/etc/x", "common_name": "c", "owner": "etcd", "group": None},
        {"name": "ok", "ca": "etcd", "dir": "/etc/y", "common_name": "d", "validity": "400"},
    ])
    assert message == (
        "pki_certificates entries /etc/x/member (ca etcd-k8s, key_type ecdsa-p256, validity 10), "
        "etc/x/ca (ca Etcd_K8s, key_type dsa, validity 365), /etc/x/member (ca etcd-k8s, key_type ecdsa-p256, "
        "validity 365) " + RULES)
    assert [c["group"] for c in certs] == ["root", "root", "etcd", "root"]


def test_valid_entries_pass_with_the_role_defaults():
    certs, invalid, _message = validate([{"name": "member", "ca": "etcd-k8s", "dir": "/etc/x", "common_name": "a"}])
    assert invalid == []
    assert certs == [{"name": "member", "ca": "etcd-k8s", "dir": "/etc/x", "common_name": "a", "subject_alt_names": [],
                      "owner": "root", "group": "root", "key_usage": ["digitalSignature", "keyEncipherment"],
                      "extended_key_usage": ["serverAuth", "clientAuth"], "key_type": "ecdsa-p256", "validity": 365}]


def test_the_renewal_window_is_the_one_configured():
    _certs, invalid, message = validate([{"name": "m", "ca": "c", "dir": "/d", "common_name": "a", "validity": 90}],
                                        pki_renewal_window_days=90)
    assert invalid == ["/d/m (ca c, key_type ecdsa-p256, validity 90)"]
    assert "must exceed pki_renewal_window_days (90)" in message
