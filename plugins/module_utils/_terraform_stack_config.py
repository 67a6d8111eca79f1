# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""terraform_stack, configuration: the stack directory, variables, backend and work directory of a
run, from the module's options (plain mode) or from the cluster model (model mode, via
``_stack_vars``); the domain error :class:`StackFailure`; the dependency check on the earlier
stacks' states (through the one state reader, ``_terraform_state``).
"""
from __future__ import annotations

import hashlib
import os
import pwd
import traceback

from ansible_collections.apron.cluster.plugins.module_utils import _stack_vars as sv
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_config as tfconfig
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_plan as tfplan
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_state as tfstate
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


class StackSettings(object):
    """What a run of one stack works with: stack directory, variables, backend, work directory, the
    earlier stacks it depends on (model mode: all from the cluster model via _stack_vars; plain mode:
    from the options). ``resolve()`` fills it in or raises StackFailure."""

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
