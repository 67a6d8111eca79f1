# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Shared AWS connection options (plugins/module_utils/_aws.py)."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region to use.
      - If not set, the E(AWS_REGION) or E(AWS_DEFAULT_REGION) environment variable or the profile's region is used.
    type: str
    aliases: [aws_region]
  profile:
    description:
      - A named AWS profile from the shared credentials/config files.
      - Mutually exclusive with O(access_key), O(secret_key) and O(session_token).
    type: str
    aliases: [aws_profile]
  endpoint_url:
    description:
      - URL of an alternative endpoint for every AWS API the module calls (for example a moto server in tests).
    type: str
    aliases: [aws_endpoint_url]
  access_key:
    description:
      - AWS access key ID. If not set, boto3's credential chain is used (environment, profile, instance role).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key. Required together with O(access_key).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS STS session token for temporary credentials.
    type: str
    aliases: [aws_session_token]
  validate_certs:
    description:
      - When V(false), TLS certificates of the endpoint are not verified.
    type: bool
    default: true
  retries:
    description:
      - How many times a throttled or transiently failing API call is retried
        (jittered exponential backoff) before the module fails.
    type: int
    default: 8
requirements:
  - python >= 3.8
  - boto3 >= 1.28
  - botocore >= 1.31
"""
