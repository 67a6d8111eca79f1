# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""state_backend's settings from the model and its parameter checks (module_utils/_state_backend.py, no AWS)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.apron.cluster.plugins.module_utils import _state_backend as sb
from ansible_collections.apron.cluster.plugins.module_utils._model import load_model

REPO = Path(__file__).resolve().parents[4]
AWS_MODEL = REPO / "inventories" / "aws-example" / "single" / "model"
LOCAL_MODEL = REPO / "inventories" / "local" / "model"
PARAMS = {"bucket": None, "lock_table": None, "kms_key": None, "create_kms_key": None, "region": None,
          "endpoint_url": None, "profile": None, "enforce_tls": None, "environment": None, "cluster": "prod",
          "tags": {}, "state": "present"}


def test_model_settings_of_an_amazon_environment():
    settings, reason = sb.model_settings(load_model([str(AWS_MODEL)]), "prod")
    assert reason is None
    assert settings == {"bucket": "apron-prod-state", "lock_table": "apron-prod-lock", "kms_key": "alias/apron-prod",
                        "create_kms_key": True, "region": "eu-west-1", "endpoint_url": None, "profile": "prod",
                        "enforce_tls": True, "environment": "prod", "role_arn": None,
                        "tags": {"apron.io/environment": "prod"}}


def test_local_backend_has_nothing_to_manage():
    settings, reason = sb.model_settings(load_model([str(LOCAL_MODEL)]), "dev")
    assert settings is None and "local backend" in reason and "nothing" not in reason.split(":")[0]


def test_unknown_cluster_is_a_domain_error():
    with pytest.raises(sb.StateBackendError, match="model: .*nope"):
        sb.model_settings(load_model([str(AWS_MODEL)]), "nope")


def test_apply_model_fills_in_and_keeps_equal_options():
    settings = sb.model_settings(load_model([str(AWS_MODEL)]), "prod")[0]
    merged = sb.apply_model(dict(PARAMS, bucket="apron-prod-state", tags={"team": "x"}), settings, "m (cluster prod)")
    assert merged["bucket"] == "apron-prod-state" and merged["lock_table"] == "apron-prod-lock"
    assert merged["tags"] == {"apron.io/environment": "prod", "team": "x"}
    # the model has no endpoint: the explicit one stays
    assert sb.apply_model(dict(PARAMS, endpoint_url="http://x"), settings, "m")["endpoint_url"] == "http://x"


def test_conflicting_explicit_values_name_both():
    settings = sb.model_settings(load_model([str(AWS_MODEL)]), "prod")[0]
    with pytest.raises(sb.StateBackendError) as err:
        sb.apply_model(dict(PARAMS, bucket="other", region="us-east-1"), settings, "m (cluster prod)")
    assert "bucket='other' (option) but the model m (cluster prod) gives 'apron-prod-state'" in err.value.msg
    assert "region='us-east-1' (option)" in err.value.msg
    with pytest.raises(sb.StateBackendError, match="tags"):
        sb.apply_model(dict(PARAMS, tags={"apron.io/environment": "dev"}), settings, "m")


def test_check_params_defaults_and_refusals():
    params = sb.check_params(dict(PARAMS, bucket="b-state", lock_table="lock", kms_key="alias/k"))
    assert params["create_kms_key"] is False and params["enforce_tls"] is True
    with pytest.raises(sb.StateBackendError, match="bucket: not set"):
        sb.check_params(PARAMS)
    with pytest.raises(sb.StateBackendError, match="kms_key: not set"):
        sb.check_params(dict(PARAMS, bucket="b-state", lock_table="lock"))
    assert sb.check_params(dict(PARAMS, bucket="b-state", lock_table="lock", state="absent"))["kms_key"] is None
    with pytest.raises(sb.StateBackendError, match="bucket: 'Bad_B'"):
        sb.check_params(dict(PARAMS, bucket="Bad_B", lock_table="lock", kms_key="k"))


def test_backend_configs_use_the_one_state_key():
    params = dict(PARAMS, bucket="b", lock_table="t", kms_key="alias/k", environment="prod",
                  endpoint_url="http://127.0.0.1:5000")
    configs = sb.backend_configs(params, "eu-west-1")
    assert list(configs) == ["state", "network", "tools", "vault", "kubernetes"]
    assert configs["vault"]["key"] == "prod/prod/vault/terraform.tfstate"
    assert configs["vault"]["use_path_style"] is True
    assert sb.backend_configs(dict(params, environment=None), "eu-west-1") is None
