#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: state_backend
short_description: Ensure the S3 bucket and DynamoDB lock table that hold Terraform state on amazon
version_added: 0.1.0
description:
  - Runs before any Terraform stack of an amazon environment and makes the remote state backend safe to use.
  - "The S3 state bucket is versioned, encrypted with SSE-KMS using O(kms_key) (an S3 bucket key is enabled),
    blocks all public access, enforces bucket ownership (C(BucketOwnerEnforced)) and carries a bucket policy
    statement (Sid C(DenyInsecureTransport)) that denies every request not sent over TLS. Other statements of an
    existing policy are kept."
  - The DynamoDB lock table has the string hash key C(LockID), on-demand billing (C(PAY_PER_REQUEST))
    and point-in-time recovery enabled.
  - Settings that drifted (for example versioning suspended by hand) are put back.
  - Returns the Terraform backend configuration of each of the five stacks
    (key C(<environment>/<cluster>/<stack>/terraform.tfstate)) when O(environment) and O(cluster) are given.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.actiongroup_aws
  - apron.cluster.aws
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the bucket settings, the lock table and the KMS key before and after.
  idempotent:
    support: full
options:
  model:
    description:
      - "The cluster model (a file or a directory), as for M(apron.cluster.terraform_stack). With O(cluster), the
        settings come from the model, so that playbooks do not derive them
        (C(Environment.spec.state) and C(Provider.spec.amazon) of the cluster's environment): O(bucket),
        O(lock_table), O(kms_key), O(create_kms_key) (true for an alias), O(region), O(endpoint_url), O(profile),
        O(enforce_tls) (false for a plain-HTTP endpoint), O(environment), the role to assume
        (C(Provider.spec.amazon.roleArn)) and the tag C(apron.io/environment)."
      - An option given as well must equal the model's value (a different value is an error naming both); an
        option the model leaves empty keeps its explicit value.
      - When the environment keeps its state in the local backend (or its provider is not amazon), the module
        changes nothing and says so in RV(msg).
    type: path
  bucket:
    description:
      - Name of the S3 state bucket.
      - Required unless O(model) is given.
    type: str
  lock_table:
    description:
      - Name of the DynamoDB lock table.
      - Required unless O(model) is given.
    type: str
  kms_key:
    description:
      - KMS key used for SSE-KMS of the bucket, as C(alias/<name>), key ID or key ARN.
      - Required with O(state=present) (from the option or the model).
    type: str
  create_kms_key:
    description:
      - Create the KMS key (with automatic rotation) and the alias named by O(kms_key) when the alias does not exist.
      - Needs O(kms_key) to be an alias (C(alias/<name>)).
      - Default V(false); with O(model) V(true) when the model's key is an alias.
    type: bool
  state:
    description:
      - V(present) creates or repairs the bucket and the table.
      - V(absent) deletes the lock table and the bucket. The KMS key is never deleted (KMS can only schedule
        deletion; do that deliberately).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), delete the bucket even though it holds objects (every object version and delete
        marker is removed first). Without it, a non-empty bucket is refused.
    type: bool
    default: false
  enforce_tls:
    description:
      - Add the C(DenyInsecureTransport) statement to the bucket policy.
      - Set V(false) only for an S3-compatible endpoint reached over plain HTTP (for example a moto server in tests),
        where that statement denies every object write, Terraform's state included. An existing statement is
        left in place either way.
      - Default V(true); with O(model) V(false) when the endpoint is plain HTTP.
    type: bool
  environment:
    description: Environment name, for the state keys of RV(backend) (with O(model), the cluster's environment).
    type: str
  cluster:
    description:
      - Cluster name, for the state keys of RV(backend).
      - Required with O(model), where it names a C(Cluster) of the model.
    type: str
  tags:
    description: Tags put on a bucket and a table this module creates.
    type: dict
    default: {}
notes:
  - Terraform's C(s3) backend stores its lock as an item with C(LockID) = C(<bucket>/<key>);
    use M(apron.cluster.state_lock) to inspect or release a stuck lock.
seealso:
  - module: apron.cluster.state_lock
  - module: apron.cluster.terraform_stack
"""

EXAMPLES = r"""
- name: Make sure the state backend of the cluster's environment exists (settings from the model)
  apron.cluster.state_backend:
    model: inventories/aws-example/single/model
    cluster: prod
  register: backend

- name: Make sure the state backend of staging exists (creating its KMS key on the first run)
  apron.cluster.state_backend:
    bucket: apron-staging-state
    lock_table: apron-staging-lock
    kms_key: alias/apron-staging
    create_kms_key: true
    region: eu-west-1
    environment: staging
    cluster: staging-main
  register: backend

- name: Tear the backend down, state objects included
  apron.cluster.state_backend:
    bucket: apron-staging-state
    lock_table: apron-staging-lock
    region: eu-west-1
    state: absent
    force: true
"""

RETURN = r"""
msg:
  description: With O(model), why there is nothing to manage (the environment's state is not in S3).
  returned: when the model's environment has no s3 state backend
  type: str
bucket:
  description: Settings of the bucket after the run (in check mode, what they would be).
  returned: when there is a bucket to manage
  type: dict
  sample:
    name: apron-staging-state
    exists: true
    versioning: Enabled
    encryption: {algorithm: "aws:kms", kms_key: "arn:aws:kms:eu-west-1:123456789012:key/0d5f...", bucket_key: true}
    public_access_block: {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
    ownership: BucketOwnerEnforced
    tls_only_policy: true
lock_table:
  description: The lock table after the run.
  returned: when there is a lock table to manage
  type: dict
  sample: {name: apron-staging-lock, exists: true, hash_key: LockID, billing_mode: PAY_PER_REQUEST, point_in_time_recovery: true}
kms_key_arn:
  description: ARN of the KMS key (null when it would only be created in check mode).
  returned: success and state=present
  type: str
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: ["create bucket apron-staging-state", "enable versioning"]
backend:
  description: Stack name -> Terraform s3 backend configuration of that stack.
  returned: state=present and environment and cluster are given
  type: dict
  sample:
    network: {bucket: apron-staging-state, key: staging/staging-main/network/terraform.tfstate, region: eu-west-1,
              encrypt: true, dynamodb_table: apron-staging-lock, kms_key_id: alias/apron-staging}
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.apron.cluster.plugins.module_utils import _state_backend as sb
from ansible_collections.apron.cluster.plugins.module_utils._aws import (
    AWS_MUTUALLY_EXCLUSIVE, AWS_REQUIRED_TOGETHER, AwsError, BotoCoreError, ClientError, aws_argument_spec,
    check_boto3, fail_json_aws,
)

try:
    from ansible_collections.apron.cluster.plugins.module_utils._model import load_model
    MODEL_IMPORT_ERROR = None
except Exception:  # pylint: disable=broad-except
    load_model = None
    MODEL_IMPORT_ERROR = traceback.format_exc()


def resolve(params):
    """The module's parameters completed from the model (model + cluster), then checked.
    Returns (params, reason) where reason says why there is nothing to manage, or None."""
    if params.get("model"):
        if load_model is None:
            raise sb.StateBackendError("cannot import the apron.cluster model: %s" % MODEL_IMPORT_ERROR)
        path = os.path.abspath(params["model"])
        if not os.path.exists(path):
            raise sb.StateBackendError("model: %s does not exist (expected a model file or directory)" % path)
        try:
            model = load_model([path])
        except Exception as exc:  # pylint: disable=broad-except
            errors = getattr(exc, "errors", None)
            raise sb.StateBackendError("model %s is invalid: %s" % (
                path, "; ".join(str(e) for e in errors) if errors else exc))
        settings, reason = sb.model_settings(model, params["cluster"])
        if settings is None:
            return params, reason
        params = sb.apply_model(params, settings, "%s (cluster %s)" % (path, params["cluster"]))
    return sb.check_params(params), None


def main():
    argument_spec = aws_argument_spec()
    argument_spec.update(
        bucket=dict(type="str"),
        lock_table=dict(type="str"),
        kms_key=dict(type="str", no_log=False),
        create_kms_key=dict(type="bool"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        force=dict(type="bool", default=False),
        enforce_tls=dict(type="bool"),
        model=dict(type="path"),
        environment=dict(type="str"),
        cluster=dict(type="str"),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=AWS_MUTUALLY_EXCLUSIVE, required_together=AWS_REQUIRED_TOGETHER,
                           required_one_of=[["bucket", "model"], ["lock_table", "model"]],
                           required_by={"model": "cluster"})
    recorder = sb.Recorder(module.check_mode)
    where = None
    # the one place where domain errors become fail_json
    try:
        params, reason = resolve(module.params)
        if reason:
            module.exit_json(changed=False, actions=[], msg=reason)
        check_boto3(module)
        where = "bucket %s / lock table %s" % (params["bucket"], params["lock_table"])
        result = sb.run(params, sb.connect(params), recorder, diff=module._diff)
    except sb.StateBackendError as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    except (AwsError, ClientError, BotoCoreError) as exc:
        fail_json_aws(module, exc, msg=where, actions=recorder.actions,
                      changed=recorder.changed and not module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
