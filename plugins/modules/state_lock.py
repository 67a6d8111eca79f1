#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: state_lock
short_description: Inspect and release stuck Terraform state locks in the DynamoDB lock table
version_added: 0.1.0
description:
  - Terraform's C(s3) backend locks a state by writing an item with C(LockID) = C(<bucket>/<key>) and an
    C(Info) JSON document (C(ID), C(Operation), C(Who), C(Version), C(Created), C(Path)) into the lock table.
    A crashed run can leave that item behind.
  - V(query) lists the current locks (or the one of O(path)) with their holder; it never changes anything.
  - V(absent) releases the lock of O(path), but only when O(lock_id) equals the lock's C(ID) (the UUID Terraform
    prints in "Lock Info"), so the operator has to name the very lock they mean to break. A lock held by anybody
    else is refused and its holder shown. The delete is conditional on the lock not having changed meanwhile.
  - The state digest items (C(<bucket>/<key>-md5)) are not locks and are never touched.
  - Only DynamoDB locks of the C(s3) backend. A C(local) backend's lock is an OS lock held by a running terraform
    process and ends with it (nothing else can release it); an C(s3) backend with C(use_lockfile) keeps its lock
    in the bucket (C(terraform force-unlock)). M(apron.cluster.terraform_stack) prints the release command that fits
    the stack's backend.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
  - apron.cluster.attributes.actiongroup_aws
  - apron.cluster.aws
attributes:
  check_mode:
    support: full
    details:
      - In check mode V(absent) reports the lock that would be released.
  diff_mode:
    support: full
    details:
      - The diff shows the lock item before and after.
  idempotent:
    support: full
    details:
      - Releasing a lock that is already gone reports no change.
options:
  table:
    description: Name of the DynamoDB lock table.
    type: str
    required: true
    aliases: [lock_table]
  path:
    description:
      - The locked state, C(<bucket>/<key>), which is the item's C(LockID),
        for example C(apron-staging-state/staging/main/network/terraform.tfstate).
      - Required with O(state=absent).
    type: str
    aliases: [lock_path]
  lock_id:
    description:
      - The C(ID) of the lock to release (a UUID, shown by O(state=query) and by Terraform as "Lock Info ID").
      - Required with O(state=absent).
    type: str
  state:
    description:
      - V(query) reports locks, V(absent) releases one.
    type: str
    choices: [query, absent]
    default: query
seealso:
  - module: apron.cluster.state_backend
"""

EXAMPLES = r"""
- name: Who holds a lock?
  apron.cluster.state_lock:
    table: apron-staging-lock
    region: eu-west-1
  register: locks

- name: Release the stuck lock of the network stack (the ID comes from the query or Terraform's message)
  apron.cluster.state_lock:
    table: apron-staging-lock
    path: apron-staging-state/staging/staging-main/network/terraform.tfstate
    lock_id: 6f1c3a4e-2b1d-4c55-9a0e-6b2f2f0d6c11
    state: absent
    region: eu-west-1
"""

RETURN = r"""
locks:
  description: The current locks (only that of O(path) when given), before any release.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The C(LockID), C(<bucket>/<key>).
      type: str
    id:
      description: The lock's C(ID) (UUID).
      type: str
    operation:
      description: The Terraform operation holding the lock, e.g. C(OperationTypeApply).
      type: str
    who:
      description: C(user@host) of the holder.
      type: str
    created:
      description: When the lock was taken.
      type: str
    version:
      description: Terraform version of the holder.
      type: str
    info:
      description: The whole C(Info) document (null when the item has none or it is not JSON).
      type: dict
  sample:
    - path: apron-staging-state/staging/main/network/terraform.tfstate
      id: 6f1c3a4e-2b1d-4c55-9a0e-6b2f2f0d6c11
      operation: OperationTypeApply
      who: alice@laptop
      created: "2026-11-23T00:10:00.000Z"
      version: 1.11.4
released:
  description: The lock that was (in check mode, would be) released; null when nothing was released.
  returned: state=absent
  type: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.apron.cluster.plugins.module_utils._aws import (
    AWS_MUTUALLY_EXCLUSIVE, AWS_REQUIRED_TOGETHER, BotoCoreError, ClientError, aws_argument_spec, client,
    error_code, fail_json_aws,
)


def describe(item):
    """A lock item (DynamoDB attribute values) -> plain dict."""
    path = item["LockID"]["S"]
    raw = (item.get("Info") or {}).get("S")
    info = None
    if raw:
        try:
            info = json.loads(raw)
        except ValueError:
            info = None
    info_dict = info if isinstance(info, dict) else {}
    return {"path": path, "id": info_dict.get("ID"), "operation": info_dict.get("Operation"),
            "who": info_dict.get("Who"), "created": info_dict.get("Created"),
            "version": info_dict.get("Version"), "info": info, "raw_info": raw}


def is_lock(item):
    return "Info" in item and "Digest" not in item


def main():
    argument_spec = aws_argument_spec()
    argument_spec.update(
        table=dict(type="str", required=True, aliases=["lock_table"]),
        path=dict(type="str", aliases=["lock_path"]),
        lock_id=dict(type="str"),
        state=dict(type="str", default="query", choices=["query", "absent"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=AWS_MUTUALLY_EXCLUSIVE, required_together=AWS_REQUIRED_TOGETHER,
                           required_if=[["state", "absent", ["path", "lock_id"]]])
    params = module.params
    ddb = client(module, "dynamodb")
    result = {"changed": False}
    try:
        if params["path"]:
            item = ddb.get_item(TableName=params["table"], Key={"LockID": {"S": params["path"]}},
                                ConsistentRead=True).get("Item")
            items = [item] if item and is_lock(item) else []
        else:
            items = []
            for page in ddb.client.get_paginator("scan").paginate(TableName=params["table"], ConsistentRead=True):
                items.extend(i for i in page.get("Items", []) if is_lock(i))
        locks = sorted((describe(i) for i in items), key=lambda lock: lock["path"])
        result["locks"] = [dict((k, v) for k, v in lock.items() if k != "raw_info") for lock in locks]

        if params["state"] == "absent":
            result["released"] = None
            lock = locks[0] if locks else None
            if lock is not None:
                if lock["id"] != params["lock_id"]:
                    module.fail_json(
                        msg="lock_id: %r: does not match the lock on %s, held by %s (ID %s, operation %s, created %s): "
                            "expected the ID of the lock to release" % (
                                params["lock_id"], lock["path"], lock["who"], lock["id"], lock["operation"],
                                lock["created"]),
                        locks=result["locks"])
                if not module.check_mode:
                    ddb.delete_item(TableName=params["table"], Key={"LockID": {"S": lock["path"]}},
                                    ConditionExpression="Info = :info",
                                    ExpressionAttributeValues={":info": {"S": lock["raw_info"]}})
                result["changed"] = True
                result["released"] = result["locks"][0]
            if module._diff:
                before = result["locks"][0] if lock else {}
                result["diff"] = {"before": before, "after": {} if result["changed"] else before,
                                  "before_header": "lock %s" % params["path"],
                                  "after_header": "lock %s" % params["path"]}
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and error_code(exc) == "ConditionalCheckFailedException":
            module.fail_json(msg="path: %s: the lock changed while it was being released; query it again" %
                             params["path"], error={"code": error_code(exc), "operation": "DeleteItem"})
        fail_json_aws(module, exc, msg="lock table %s" % params["table"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
