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

import hashlib
import json
import os
import pwd
import time
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.apron.cluster.plugins.module_utils import _terraform as tf
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_config as tfconfig
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_plan as tfplan
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_state as tfstate
from ansible_collections.apron.cluster.plugins.module_utils import _stack_vars as sv
from ansible_collections.apron.cluster.plugins.module_utils._project import find_project_dir

try:
    from ansible_collections.apron.cluster.plugins.module_utils._model import load_model
    MODEL_IMPORT_ERROR = None
except Exception:  # pylint: disable=broad-except
    load_model = None
    MODEL_IMPORT_ERROR = traceback.format_exc()


def _boto3():
    """boto3 when installed (imported lazily: it costs ~0.4 s and only s3 dependency checks need it)."""
    try:
        import boto3
    except ImportError:
        return None
    return boto3


class StackFailure(Exception):
    """A domain error; turned into fail_json in one place."""

    def __init__(self, msg, **result):
        super(StackFailure, self).__init__(msg)
        self.msg = msg
        self.result = result


def find_base_dir(start):
    """The project directory of ``start`` (galaxy.yml or .git at or above it), else ``start`` itself."""
    return find_project_dir(start) or os.path.abspath(start)


def user_state_dir(environ=None):
    """``$XDG_STATE_HOME/apron`` (default ``~/.local/state/apron``): plain mode's default work directories."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME")
    if not base or not os.path.isabs(base):
        home = environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
        base = os.path.join(home, ".local", "state")
    return os.path.join(base, "apron")


def default_work_dir(project_path, base_dir=None, environ=None):
    """Plain mode: ``<base_dir>/.apron/work/stacks/<name>-<hash>``, without base_dir
    ``<user state dir>/work/stacks/<name>-<hash>`` (hash of the stack's absolute path)."""
    digest = hashlib.sha256(project_path.encode("utf-8")).hexdigest()[:10]
    name = "%s-%s" % (os.path.basename(project_path), digest)
    if base_dir:
        return os.path.join(os.path.abspath(base_dir), ".apron", "work", "stacks", name)
    return os.path.join(user_state_dir(environ), "work", "stacks", name)


def backend_mismatch(option, wanted, declarations):
    """One sentence when the backend option does not fit the stack's ``backend`` block, else None."""
    if not declarations["files"]:
        return None
    declared = declarations["backend"]
    if declared is None:
        return ("%s=%s: the stack declares no backend block, so Terraform would ignore these settings and keep "
                "the state in the stack directory; expected an empty `backend \"%s\" {}` in its terraform block"
                % (option, wanted, wanted))
    if declared != wanted:
        values = (option, wanted, declarations["backend_file"], declared, option, declared, wanted)
        return ("%s=%s does not match the stack: %s declares `backend \"%s\"`; expected %s=%s or a stack "
                "declaring `backend \"%s\" {}`" % values)
    return None


def backend_from_params(params):
    """The backend option -> (type, backend-config dict)."""
    btype = params["type"]
    if btype == "local":
        if not params.get("path"):
            raise StackFailure("backend.path is required with backend.type=local")
        path = os.path.abspath(params["path"])
        return btype, {"path": path, "workspace_dir": os.path.join(os.path.dirname(path), "terraform.tfstate.d")}
    missing = [k for k in ("bucket", "key", "region") if not params.get(k)]
    if missing:
        raise StackFailure("backend.type=s3 needs %s" % ", ".join("backend." + k for k in missing))
    config = {"bucket": params["bucket"], "key": params["key"], "region": params["region"],
              "encrypt": params.get("encrypt", True)}
    for key in ("dynamodb_table", "kms_key_id", "profile"):
        if params.get(key):
            config[key] = params[key]
    if params.get("endpoint_url"):
        config.update(sv.s3_endpoint_settings(params["endpoint_url"]))
    return btype, config


def read_state_outputs(backend, env, reader=None):
    """Outputs of a stack's state (dict), None when the state does not exist (yet), "unknown" when an
    S3 state cannot be read because boto3 is missing. The reader is module_utils/_terraform_state.py."""
    if backend["type"] != "local" and _boto3() is None:
        return "unknown"
    reader = reader or tfstate.StateReader(env=env)
    try:
        state, _reason = reader.read(backend)
        return tfstate.outputs(state)
    except tfstate.StateReadError as exc:
        raise StackFailure(exc.msg)


class TerraformStack(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.result = {"changed": False, "applied": False}
        self.warnings = []
        self.stack_label = None
        self.shared_with = None
        self.shared_msg = None
        self.dependency_labels = {}
        self.declarations = None
        self.secrets = None
        self.own_state_dir = False
        self.backend_option = "backend.type"
        self.typo_hints = []

    # --- configuration -------------------------------------------------------------------------
    def resolve(self):
        p = self.p
        self.variables = p["variables"] or {}
        self.backend = None
        self.dependencies = []
        if p["model"]:
            self.resolve_model()
        else:
            if not p["project_path"]:
                raise StackFailure("project_path is required unless model, cluster and stack are given")
            self.project_path = os.path.abspath(p["project_path"])
            self.stack_label = os.path.basename(self.project_path)
            if p["backend"]:
                btype, config = backend_from_params(p["backend"])
                self.backend = {"type": btype, "config": config}
            self.work_dir = os.path.abspath(p["work_dir"] or default_work_dir(self.project_path, p["base_dir"]))
        if not os.path.isdir(self.project_path):
            raise StackFailure("project_path %s is not a directory (expected a Terraform stack)" % self.project_path)
        self.result["project_path"] = self.project_path
        self.result["work_dir"] = self.work_dir
        self.declarations = tfconfig.scan_stack(self.project_path)
        self.secrets = self.secrets_from([])
        if self.backend:
            mismatch = backend_mismatch(self.backend_option, self.backend["type"], self.declarations)
            if mismatch:
                raise StackFailure(mismatch)
        for name, suggestion in tfconfig.undeclared_variables(self.variables, self.declarations):
            if suggestion:
                self.typo_hints.append((name, tfconfig.undeclared_message(name, suggestion)))

    def secrets_from(self, plan_names, plan_values=None):
        """Secrets of this run: values of the variables declared sensitive (by the scan or by the plan)."""
        names = sorted(set(tfconfig.sensitive_names(self.declarations)) | set(plan_names))
        defaults = dict((name, spec["default"]) for name, spec in self.declarations["variables"].items()
                        if spec.get("default") is not None)
        return tfplan.secret_values(names, self.variables, defaults, plan_values or {})

    def resolve_model(self):
        p = self.p
        if load_model is None:
            raise StackFailure("cannot import the apron.cluster model (plugins/module_utils/_model.py): %s"
                               % MODEL_IMPORT_ERROR)
        model_path = os.path.abspath(p["model"])
        if not os.path.exists(model_path):
            raise StackFailure("model %s does not exist (expected a model file or directory)" % model_path)
        model_dir = model_path if os.path.isdir(model_path) else os.path.dirname(model_path)
        base_dir = os.path.abspath(p["base_dir"] or find_base_dir(model_dir))
        try:
            model = load_model([model_path])
        except Exception as exc:  # pylint: disable=broad-except
            errors = getattr(exc, "errors", None)
            detail = "; ".join(str(e) for e in errors) if errors else str(exc)
            raise StackFailure("model %s is invalid: %s" % (model_path, detail))
        cluster, stack = p["cluster"], p["stack"]
        self.stack_label = "%s/%s" % (cluster, stack)
        try:
            _c, environment, provider = sv.cluster_context(model, cluster)
            owner = sv.stack_owner(model, cluster, stack)
            if owner != cluster:
                # a shared stack (tools/vault) of a multi-cluster environment: the hub runs it
                self.shared_with = owner
                self.shared_msg = ("stack %s of cluster %s is shared in environment %s: it is the hub %s's stack "
                                   "(run it for cluster %s); nothing to do" % (
                                       stack, cluster, sv.resource_name(environment), owner, owner))
            self.variables = sv.stack_variables(model, cluster, stack, base_dir=base_dir, model_dir=model_dir)
            self.backend = sv.backend_settings(model, cluster, stack, base_dir, model_dir)
            self.backend_option = "Environment %s spec.state.backend" % sv.resource_name(environment)
            # the default state layout (<state dir>/<environment>/<cluster>/<stack>/) is apron's own
            self.own_state_dir = True
            if self.backend["type"] == "local":
                self.backend["config"]["workspace_dir"] = os.path.join(
                    os.path.dirname(self.backend["config"]["path"]), "terraform.tfstate.d")
            self.dependencies = [(earlier, sv.backend_settings(model, cluster, earlier, base_dir, model_dir))
                                 for earlier in sv.earlier_stacks(stack)]
            for earlier in sv.earlier_stacks(stack):
                earlier_owner = sv.stack_owner(model, cluster, earlier)
                self.dependency_labels[earlier] = earlier if earlier_owner == cluster else "%s (of the hub %s)" % (
                    earlier, earlier_owner)
        except sv.StackVarsError as exc:
            raise StackFailure("model %s: %s" % (model_path, exc))
        self.result["owner_cluster"] = owner
        provider_type = getattr(provider, "effective", {}).get("type")
        if p["project_path"]:
            self.project_path = os.path.abspath(p["project_path"])
        elif p["stacks_dir"]:
            self.project_path = os.path.join(os.path.abspath(p["stacks_dir"]), provider_type, stack)
        else:
            raise StackFailure("model mode needs project_path or stacks_dir (holding <provider type>/<stack>)")
        env_name = sv.resource_name(environment)
        self.work_dir = os.path.abspath(p["work_dir"] or os.path.join(base_dir, ".apron", "work", env_name, owner, stack))

    # --- helpers ---------------------------------------------------------------------------------
    def prepare_work_dir(self):
        data_dir = os.path.join(self.work_dir, "terraform-data")
        tf.makedirs_private(data_dir)
        os.chmod(self.work_dir, 0o700)
        os.chmod(data_dir, 0o700)
        self.data_dir = data_dir
        self.var_file = os.path.join(self.work_dir, "variables.tfvars.json")
        self.plan_file = os.path.join(self.work_dir, "stack.tfplan")
        self.backend_file = os.path.join(self.work_dir, "backend.tfbackend")
        tf.write_private(self.var_file, json.dumps(self.variables, sort_keys=True, indent=1))

    def check_dependencies(self):
        """Earlier stacks whose state has no outputs yet."""
        pending = []
        reader = tfstate.StateReader(env=self.p["env"])
        for earlier, backend in self.dependencies:
            outputs = read_state_outputs(backend, self.p["env"], reader)
            if outputs == "unknown":
                self.warnings.append("boto3 is missing: cannot check that stack %s has been applied" % earlier)
                continue
            if not outputs:
                pending.append(earlier)
        return pending

    def init(self, terraform, force_reason=None):
        """Run ``terraform init`` when needed (or when ``force_reason`` is given); returns the reason or None."""
        if self.backend:
            wanted = tf.backend_hash(self.backend["type"], self.backend["config"], self.project_path)
            tf.write_private(self.backend_file, tf.backend_config_text(self.backend["config"]))
        else:
            wanted = tf.backend_hash(None, None, self.project_path)
        reason = force_reason or tf.init_needed(self.data_dir, self.work_dir, wanted)
        if not reason:
            return None
        terraform.init(self.backend_file if self.backend else None, reconfigure=True)
        tf.write_private(os.path.join(self.work_dir, tf.BACKEND_HASH_FILE), wanted + "\n")
        return reason

    # --- the run -----------------------------------------------------------------------------------
    def run(self):
        p = self.p
        self.resolve()
        if self.backend:
            self.result["backend"] = {"type": self.backend["type"],
                                      "config": dict((k, v) for k, v in self.backend["config"].items()
                                                     if k not in ("profile",))}
        destroy = p["state"] == "absent"
        if self.shared_with:
            self.result.update(msg=self.shared_msg, shared_with=self.shared_with, outputs={}, stateful_losses=[],
                               plan_summary={"counts": dict((a, 0) for a in tfplan.ACTIONS),
                                             "addresses": dict((a, []) for a in tfplan.ACTIONS),
                                             "output_changes": [], "changes_pending": False, "stateful_losses": []})
            return self.result
        if self.dependencies and not destroy:
            pending = self.check_dependencies()
            if pending:
                names = ", ".join(self.dependency_labels[name] for name in pending)
                msg = "stack %s depends on outputs of %s %s, which %s not been applied yet" % (
                    self.stack_label, "stacks" if len(pending) > 1 else "stack", names,
                    "have" if len(pending) > 1 else "has")
                self.result["pending_dependencies"] = pending
                if not self.check:
                    raise StackFailure(msg + "; apply %s first (playbooks/infrastructure.yml runs the stacks in order, "
                                       "the hub's cluster before the others)" % names, **self.result)
                summary = {"counts": dict((a, 0) for a in tfplan.ACTIONS),
                           "addresses": dict((a, []) for a in tfplan.ACTIONS), "output_changes": [],
                           "changes_pending": True, "stateful_losses": [], "unknown": True}
                self.result.update(changed=True, msg=msg, plan_summary=summary, stateful_losses=[], outputs={})
                if self.module._diff:
                    self.result["diff"] = {"before": {}, "after": {}, "prepared": "=== %s ===\n# %s; it will be "
                                           "planned once they are applied.\n" % (self.stack_label, msg)}
                return self.result

        env = dict((str(k), str(v)) for k, v in (p["env"] or {}).items())
        if p["workspace"] and p["workspace"] != "default":
            env["TF_WORKSPACE"] = p["workspace"]
        self.prepare_work_dir()
        created_by_terraform = self.missing_state_dirs() if self.check else []
        if self.backend and self.backend["type"] == "local":
            tf.makedirs_private(os.path.dirname(self.backend["config"]["path"]))
        try:
            return self.plan_and_apply(env, destroy)
        finally:
            self.enforce_private_state()
            # check mode changes nothing outside the work dir: the local backend creates the state
            # file's directory even for a plan; remove the empty directories it made
            for path in created_by_terraform:
                try:
                    os.rmdir(path)
                except OSError:
                    pass

    def enforce_private_state(self):
        """Local state files 0600, their directories 0700 (run after every terraform call)."""
        if self.backend and self.backend["type"] == "local":
            for warning in tf.enforce_private_state(self.backend["config"], self.own_state_dir):
                if warning not in self.warnings:
                    self.warnings.append(warning)

    def release_info(self, env):
        """What the lock-release hints need (see tf.lock_error_message)."""
        btype = self.backend["type"] if self.backend else (self.declarations["backend"] or "local")
        info = {"backend": btype, "data_dir": self.data_dir, "project_path": self.project_path,
                "workspace": env.get("TF_WORKSPACE") or "default"}
        if self.backend and btype == "s3":
            config = self.backend["config"]
            info["dynamodb_table"] = config.get("dynamodb_table")
            info["region"] = config.get("region")
            info["endpoint_url"] = (config.get("endpoints") or {}).get("dynamodb")
        return info

    def redact(self, value):
        return tfplan.redact(value, self.secrets)

    def missing_state_dirs(self):
        """Directories above a local state file that do not exist yet, deepest first."""
        if not self.backend or self.backend["type"] != "local":
            return []
        missing = []
        path = os.path.dirname(self.backend["config"]["path"])
        while path and not os.path.exists(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        return missing

    def plan_and_apply(self, env, destroy):
        p = self.p
        files = {}
        if self.backend:
            files[os.path.relpath(self.backend_file, self.project_path)] = "the backend settings (%s)" % (
                "backend option" if self.backend_option == "backend.type" else self.backend_option)
        terraform = tf.Terraform(self.module, self.project_path, self.data_dir,
                                 binary=p["binary_path"] or "terraform", env=env, stack=self.stack_label,
                                 release=self.release_info(env), files=files)
        terraform.redact_log = lambda text: tfplan.redact_text(text, self.secrets)
        terraform.version(os.path.join(self.work_dir, "terraform-version.json"))
        for _name, hint in self.typo_hints:
            self.warnings.append(hint)
        init_reason = self.init(terraform)
        self.enforce_private_state()
        lock_timeout = "%ds" % p["lock_timeout"]
        plan_kwargs = dict(destroy=destroy, lock_timeout=lock_timeout, parallelism=p["parallelism"],
                           targets=p["targets"], replace=[] if destroy else p["replace"])
        try:
            try:
                has_changes = terraform.plan(self.plan_file, self.var_file, **plan_kwargs)
            except tf.TerraformError as exc:
                if init_reason or not exc.needs_init():
                    raise
                init_reason = self.init(terraform, "the stack's modules, providers or backend changed")
                has_changes = terraform.plan(self.plan_file, self.var_file, **plan_kwargs)
        except tf.TerraformError as exc:
            if self.typo_hints and not isinstance(exc, tf.StateLockError):
                # the likely cause first: a misspelt variable leaves the declared one without its value
                exc.message = " ".join([hint for _name, hint in self.typo_hints] + [exc.message])
            raise
        self.enforce_private_state()
        self.result["init"] = init_reason
        flagged = ['named "%s"' % name for name, _hint in self.typo_hints]
        self.warnings.extend("terraform (stack %s): %s" % (self.stack_label, w) for w in terraform.warnings
                             if not any(f in w for f in flagged))
        os.chmod(self.plan_file, 0o600)
        plan = terraform.show_plan(self.plan_file)
        self.secrets = tfplan.merge_secrets(self.secrets, self.secrets_from(
            tfplan.plan_sensitive_names(plan), tfplan.plan_variable_values(plan)))
        analysis = self.redact(tfplan.analyse_plan(plan))
        summary = analysis["summary"]
        # -detailed-exitcode is authoritative for "changes pending"
        summary["changes_pending"] = bool(has_changes)
        losses = analysis["stateful_losses"]
        self.result.update(plan_summary=summary, stateful_losses=losses)
        if self.module._diff:
            self.result["diff"] = tfplan.diff_from_analysis(analysis, self.stack_label)
        if losses:
            if self.check:
                self.warnings.append(tfplan.data_loss_message(losses, self.stack_label, check_mode=True))
            elif p["allow_destroy_stateful"]:
                self.warnings.append("allow_destroy_stateful=true: applying a plan that destroys data held by %s"
                                     % ", ".join(loss["address"] for loss in losses))
            else:
                raise StackFailure(tfplan.data_loss_message(losses, self.stack_label), **self.result)
        if not has_changes:
            self.result["outputs"] = tfplan.planned_outputs(plan, p["show_sensitive_outputs"])
            return self.result
        self.result["changed"] = True
        if self.check:
            self.result["outputs"] = tfplan.planned_outputs(plan, p["show_sensitive_outputs"])
            return self.result
        log_file = os.path.join(self.work_dir, "apply-%s.log" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        try:
            terraform.apply(self.plan_file, lock_timeout=lock_timeout, parallelism=p["parallelism"],
                            log_file=log_file)
        finally:
            self.enforce_private_state()
        self.result["applied"] = True
        try:
            os.remove(self.plan_file)
        except OSError:
            pass
        self.result["outputs"] = tfplan.outputs_from_json(terraform.outputs(), p["show_sensitive_outputs"])
        return self.result


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
