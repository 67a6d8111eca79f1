#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: terraform_stack
short_description: Plan and apply one Terraform stack with exact C(--check --diff) plans
version_added: 0.1.0
description:
  - Runs one Terraform stack the way an operator would, but without ever writing into the stack's
    source directory. C(terraform init) runs only when needed (first run, or when the backend
    settings changed), then C(terraform plan -detailed-exitcode -out=<planfile>),
    C(terraform show -json <planfile>) and, when the plan has changes and not in check mode,
    C(terraform apply <planfile>) - exactly the saved plan that was shown.
  - Terraform runs with C(-chdir=<project_path>) and C(TF_DATA_DIR), the tfvars file, the backend
    configuration and the plan file in O(work_dir).
  - In model mode (O(model), O(cluster), O(stack)) the stack's variables and backend are computed from
    the apron.cluster model (see C(docs/architecture.md)), and the earlier stacks' states are checked
    for outputs before planning.
  - A plan that deletes or replaces a stateful resource (data volumes, buckets, KMS keys, lock tables,
    etcd/vault instances, anything marked C(stateful = true)) fails unless O(allow_destroy_stateful=true).
    See C(docs/terraform.md) for the marking convention.
  - The state lock is never force-unlocked. A held lock fails with the lock ID, its holder and how to
    release it.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode runs C(init) (when needed) and C(plan) but never C(apply). It only writes inside O(work_dir)
        (Terraform data dir, tfvars, backend config, plan file); no state and no resource changes.
      - Plans that would destroy stateful resources are reported (warning and RV(stateful_losses)) without failing.
  diff_mode:
    support: full
    details:
      - The diff is the saved plan as an operator reads it; sensitive values are masked, and values of variables the
        stack declares C(sensitive) are redacted wherever they appear (also inside longer strings).
  idempotent:
    support: full
    details:
      - A run whose plan has no changes does not call C(terraform apply) and reports RV(ignore:changed=false).
options:
  project_path:
    description:
      - Directory of the Terraform stack (the root module). It is never written to.
      - Required unless O(model) and O(stacks_dir) are given, in which case it is
        C(<stacks_dir>/<provider type>/<stack>).
    type: path
  stacks_dir:
    description:
      - Model mode only. Directory holding C(<provider type>/<stack>) stack directories, for example the
        collection's C(terraform) directory.
    type: path
  state:
    description:
      - V(present) plans and applies the configuration, V(absent) plans and applies a destroy plan.
    type: str
    choices: [present, absent]
    default: present
  workspace:
    description:
      - Terraform workspace (passed as C(TF_WORKSPACE); created by the first apply).
    type: str
    default: default
  variables:
    description:
      - Input variables of the stack. They are written to a tfvars JSON file (mode 0600) in O(work_dir),
        never put on the command line, never returned and never logged (C(no_log)).
      - Values of variables the stack declares C(sensitive = true) are redacted as C((sensitive value)) from the diff,
        the plan summary, the outputs, messages and warnings; the other values stay visible in the diff.
      - A name the stack does not declare but that is close to a declared one is reported as a probable typo.
      - Mutually exclusive with O(model).
    type: dict
  model:
    description:
      - Path of the apron.cluster model (a file or a directory of YAML files). With O(cluster) and
        O(stack), the stack variables and the backend are computed from the model.
    type: path
  cluster:
    description:
      - In model mode, the cluster whose stack runs.
    type: str
  stack:
    description:
      - In model mode, which stack runs.
    type: str
    choices: [state, network, tools, vault, kubernetes]
  base_dir:
    description:
      - The repository directory that holds C(.apron/) (default state directory and work directories).
      - Defaults to the nearest parent of O(model) holding C(galaxy.yml) or C(.git), else the model's directory.
      - Without O(model), only used for the default O(work_dir).
    type: path
  backend:
    description:
      - Backend settings passed to C(terraform init -backend-config) (a generated file). The stack must
        declare an empty C(backend "local" {}) or C(backend "s3" {}) block of the same type.
      - In model mode they come from C(Environment.spec.state) and must not be given.
      - Without it Terraform uses the stack's own backend configuration.
    type: dict
    suboptions:
      type:
        description: Backend type.
        type: str
        choices: [local, s3]
        required: true
      path:
        description: V(local) - the state file. Non-default workspaces go to C(terraform.tfstate.d) next to it.
        type: path
      bucket:
        description: V(s3) - the bucket.
        type: str
      key:
        description: V(s3) - the state object key.
        type: str
      region:
        description: V(s3) - the bucket's region.
        type: str
      dynamodb_table:
        description: V(s3) - DynamoDB table used for state locking (C(LockID) hash key).
        type: str
      encrypt:
        description: V(s3) - server-side encryption of the state object.
        type: bool
        default: true
      kms_key_id:
        description: V(s3) - KMS key (ARN or alias) for the state object.
        type: str
      endpoint_url:
        description:
          - V(s3) - an S3-compatible endpoint (for example the moto server). Sets path-style access,
            the same endpoint for DynamoDB/STS/IAM and skips credential/region validation.
        type: str
      profile:
        description: V(s3) - AWS profile. Credentials otherwise come from the environment.
        type: str
  work_dir:
    description:
      - Directory for the Terraform data dir, tfvars, backend config and plan files (created 0700).
      - Defaults to C(<base_dir>/.apron/work/<environment>/<cluster>/<stack>) in model mode; otherwise to
        C(<base_dir>/.apron/work/stacks/<stack dir name>-<hash of its path>) when O(base_dir) is given, else
        C($XDG_STATE_HOME/apron/work/stacks/<stack dir name>-<hash of its path>) (C(~/.local/state/apron/...)).
        It never depends on the directory the playbook runs from.
    type: path
  lock_timeout:
    description: Seconds to wait for the state lock (C(-lock-timeout)).
    type: int
    default: 0
  parallelism:
    description: C(-parallelism) of plan and apply.
    type: int
  targets:
    description: Resource addresses to C(-target). Meant for recovery, not regular use.
    type: list
    elements: str
    default: []
  replace:
    description:
      - Resource addresses to plan for replacement (C(-replace)), for example a resource whose create-time
        provisioner was killed. Ignored with O(state=absent).
    type: list
    elements: str
    default: []
  env:
    description: Extra environment variables for Terraform (for example credentials). Not logged.
    type: dict
    default: {}
  allow_destroy_stateful:
    description:
      - Apply a plan even though it deletes or replaces stateful resources (data is lost).
    type: bool
    default: false
  show_sensitive_outputs:
    description: Return sensitive outputs in clear instead of masked.
    type: bool
    default: false
  binary_path:
    description:
      - The terraform executable. Default C(terraform) on C(PATH).
      - Checked before use; a directory, a file that is not a program or a program that does not answer
        C(version -json) as Terraform does is refused, saying what was found.
    type: path
requirements:
  - Terraform >= 1.5 on the controller (C(PATH) or O(binary_path)).
  - community.general (C(CmdRunner)).
  - boto3, in model mode with the V(s3) backend, to check the earlier stacks' states.
notes:
  - A changed backend runs C(terraform init -reconfigure); state is not migrated between backends.
  - The backend option must match the stack's C(backend) block (checked before C(init)).
  - Local state files are kept 0600 and the state directories the module creates 0700 (terraform runs with umask 077).
  - A failed apply is reported in one paragraph (how terraform ended, what was in progress, that re-running converges);
    Terraform's output is kept in C(<work_dir>/apply-<time>.log) (0600, sensitive values redacted).
  - Stacks that require external providers get their C(.terraform.lock.hcl) from C(init) in the stack
    directory (Terraform has no setting to put it elsewhere); provider-free stacks write nothing there.
seealso:
  - module: community.general.terraform
"""

EXAMPLES = r"""
- name: Plan and apply the network stack of cluster main from the model
  apron.cluster.terraform_stack:
    model: "{{ playbook_dir }}/../inventories/local/model"
    cluster: main
    stack: network
    stacks_dir: "{{ playbook_dir }}/../terraform"
  register: network

- name: A stack with explicit variables on an S3 backend
  apron.cluster.terraform_stack:
    project_path: /srv/stacks/dns
    variables:
      zone: example.internal
      records: {www: 10.0.0.10}
    backend:
      type: s3
      bucket: apron-staging-state
      key: staging/dns/terraform.tfstate
      region: eu-west-1
      dynamodb_table: apron-staging-lock
    lock_timeout: 60

- name: Destroy a stack, including its data volumes
  apron.cluster.terraform_stack:
    project_path: /srv/stacks/dns
    backend: {type: local, path: /var/lib/apron/dns.tfstate}
    state: absent
    allow_destroy_stateful: true
"""

RETURN = r"""
plan_summary:
  description: What the plan does.
  returned: success
  type: dict
  contains:
    counts:
      description: Number of resources per action (create, update, replace, delete, read, forget).
      type: dict
    addresses:
      description: Resource addresses per action.
      type: dict
    output_changes:
      description: Names of outputs the plan changes.
      type: list
      elements: str
    changes_pending:
      description: Whether the plan has changes (resources or outputs).
      type: bool
    stateful_losses:
      description: Stateful resources the plan deletes or replaces.
      type: list
      elements: dict
  sample:
    counts: {create: 1, update: 0, replace: 1, delete: 0, read: 0, forget: 0}
    addresses: {create: ['terraform_data.item["c"]'], replace: ['terraform_data.item["a"]']}
    changes_pending: true
    stateful_losses: []
stateful_losses:
  description: Stateful resources the plan deletes or replaces, with the reason each is stateful.
  returned: success
  type: list
  elements: dict
  sample:
    - address: terraform_data.app_data_volume[0]
      action: delete
      reason: resource name ends with _data_volume
outputs:
  description: The stack's outputs after the run (planned values in check mode); sensitive ones masked
    unless O(show_sensitive_outputs).
  returned: success
  type: dict
  sample: {names: [a, b], secret: "(sensitive value)"}
diff:
  description: The plan; C(prepared) is the readable rendering, C(before)/C(after) the changed attributes per address.
  returned: diff mode
  type: dict
applied:
  description: Whether C(terraform apply) ran.
  returned: always
  type: bool
init:
  description: Why C(terraform init) ran, or null when the work dir was already initialised.
  returned: success
  type: str
pending_dependencies:
  description: Model mode - earlier stacks whose state has no outputs yet (check mode only; a real run fails).
  returned: when dependencies are pending
  type: list
  elements: str
work_dir:
  description: The work directory used.
  returned: always
  type: str
project_path:
  description: The stack directory used.
  returned: always
  type: str
backend:
  description: Backend type and settings used (no credentials).
  returned: when a backend is configured
  type: dict
owner_cluster:
  description: Model mode - the cluster whose stack this is (the hub for shared stacks of multi-cluster environments).
  returned: model mode
  type: str
shared_with:
  description:
    - Model mode - set when O(stack) is a shared stack (tools, vault) of a non-hub cluster in a multi-cluster
      environment; the module does nothing, the hub's run manages it.
  returned: when the stack is shared
  type: str
lock:
  description: Lock Info of a held state lock (ID, Who, Operation, Created, Path).
  returned: when the state is locked
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apron.cluster.plugins.module_utils import _stack_vars as sv
from ansible_collections.apron.cluster.plugins.module_utils import _terraform as tf
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_plan as tfplan
from ansible_collections.apron.cluster.plugins.module_utils._terraform_stack_config import StackFailure
from ansible_collections.apron.cluster.plugins.module_utils._terraform_stack_run import TerraformStack


def main():
    backend_spec = dict(
        type=dict(type="str", required=True, choices=["local", "s3"]),
        path=dict(type="path"),
        bucket=dict(type="str"),
        key=dict(type="str", no_log=False),
        region=dict(type="str"),
        dynamodb_table=dict(type="str"),
        encrypt=dict(type="bool", default=True),
        kms_key_id=dict(type="str", no_log=False),
        endpoint_url=dict(type="str"),
        profile=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            project_path=dict(type="path"),
            stacks_dir=dict(type="path"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            workspace=dict(type="str", default="default"),
            variables=dict(type="dict", no_log=True),
            model=dict(type="path"),
            cluster=dict(type="str"),
            stack=dict(type="str", choices=list(sv.STACKS)),
            base_dir=dict(type="path"),
            backend=dict(type="dict", options=backend_spec),
            work_dir=dict(type="path"),
            lock_timeout=dict(type="int", default=0),
            parallelism=dict(type="int"),
            targets=dict(type="list", elements="str", default=[]),
            replace=dict(type="list", elements="str", default=[]),
            env=dict(type="dict", default={}, no_log=True),
            allow_destroy_stateful=dict(type="bool", default=False),
            show_sensitive_outputs=dict(type="bool", default=False),
            binary_path=dict(type="path"),
        ),
        mutually_exclusive=[("variables", "model"), ("backend", "model")],
        required_together=[("model", "cluster", "stack")],
        required_one_of=[("project_path", "model")],
        supports_check_mode=True,
    )
    stack = TerraformStack(module)
    # variables are never echoed back (they may hold secrets); their names are enough to debug
    module_args = dict(module.params)
    for key in ("variables", "env"):
        if module_args.get(key) is not None:
            module_args[key] = dict((k, "(not logged)") for k in module_args[key])
    stack.result["invocation"] = {"module_args": module_args}
    try:
        result = stack.run()
    except tf.StateLockError as exc:
        stack.result["lock"] = exc.lock
        finish(module, stack, dict(stack.result, msg=exc.message), failed=True)
    except tf.TerraformError as exc:
        if exc.diagnostics:
            stack.result["diagnostics"] = exc.diagnostics
        finish(module, stack, dict(stack.result, msg=exc.message), failed=True)
    except StackFailure as exc:
        result = dict(stack.result)
        result.update(exc.result)
        finish(module, stack, dict(result, msg=exc.msg), failed=True)
    except (IOError, OSError) as exc:
        finish(module, stack, dict(stack.result, msg="terraform_stack %s: %s" % (stack.stack_label or "", exc)),
               failed=True)
    finish(module, stack, result)


def finish(module, stack, result, failed=False):
    """The one exit: secrets of sensitive variables redacted from the result, the message and the warnings.

    ``variables`` is ``no_log`` so that Ansible's invocation log (syslog/journal) never has its values; Ansible
    would also mask every variable value anywhere in the result, which makes the diff useless. Only values of
    variables the stack declares sensitive stay in its list (second line of defence after ``redact``).
    """
    secrets = stack.secrets or {}
    sensitive = set(s for s in secrets.get("strings") or () if len(s) >= tfplan.MIN_SUBSTRING_SECRET)
    if stack.p["show_sensitive_outputs"]:
        sensitive = set()                # asked for in clear: only redact() protects the rest of the result
    plain = set()
    for value in (module.params.get("variables") or {}).values():
        plain.update(str(leaf) for leaf in tfplan.leaves(value))
    env_values = set(str(leaf) for leaf in tfplan.leaves(module.params.get("env") or {}))
    module.no_log_values.difference_update(plain - env_values - sensitive)
    module.no_log_values.update(sensitive)
    outputs = result.get("outputs")
    counts = (result.get("plan_summary") or {}).get("counts")
    result = stack.redact(result)
    if stack.p["show_sensitive_outputs"] and outputs is not None:
        result["outputs"] = outputs
    if counts is not None:
        result["plan_summary"]["counts"] = counts     # our own numbers, even when one equals a numeric secret
    for warning in stack.warnings:
        module.warn(stack.redact(warning))
    if failed:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
