# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the integration tests: boto3 clients of the moto server (moto_endpoint, tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def boto(moto_endpoint):
    import boto3
    return lambda service: boto3.client(service, endpoint_url=moto_endpoint, region_name="eu-west-1")
