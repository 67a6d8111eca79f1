"""Fixtures of the AWS module tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def boto(moto_endpoint):
    import boto3
    return lambda service: boto3.client(service, endpoint_url=moto_endpoint, region_name="eu-west-1")
