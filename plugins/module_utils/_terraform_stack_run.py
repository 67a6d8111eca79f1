# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""terraform_stack, the run: work directory, ``terraform init`` when needed, plan, the checks on the
plan (stateful losses, pending dependencies), apply, outputs; local state kept private. Raises
StackFailure or the errors of ``_terraform`` (TerraformError, StateLockError); the module turns
them into fail_json in one place.
"""
from __future__ import annotations

import json
import os
import time

from ansible_collections.apron.cluster.plugins.module_utils import _terraform as tf
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_plan as tfplan
from ansible_collections.apron.cluster.plugins.module_utils import _terraform_state as tfstate
from ansible_collections.apron.cluster.plugins.module_utils._terraform_stack_config import (
    StackFailure,
    StackSettings,
    read_state_outputs,
)


class TerraformStack(StackSettings):
    """One run of one stack (``module`` gives the options, check mode, diff, and runs terraform)."""

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
