# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Action of apron.cluster.kubernetes_binaries: copy the binaries unpacked on the controller to one host,
with a --diff that names each binary installed, replaced or fixed (documentation in
plugins/modules/kubernetes_binaries.py). Decisions: _artifact_plan.binary_changes."""
from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.apron.cluster.plugins.module_utils._artifact_plan import (
    binary_changes,
    binary_changes_diff,
)

ARGSPEC = {
    "binaries": {"type": "dict", "required": True},
    "bin_dir": {"type": "path", "required": True},
    "version": {"type": "str", "required": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(ARGSPEC)

    def _fail(self, result, msg):
        result.update(failed=True, msg="apron.cluster.kubernetes_binaries: %s" % msg)
        return result

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGSPEC)
        binaries, bin_dir = args["binaries"], args["bin_dir"]
        for name, spec in binaries.items():
            if not isinstance(spec, dict) or not spec.get("src") or not spec.get("sha256"):
                return self._fail(result, "binaries.%s: expected {src, sha256} (the binaries returned by "
                                          "apron.cluster.kubernetes_artifacts), got %r" % (name, spec))
        changes = []
        try:
            current = {}
            for name in binaries:
                stat = self._execute_module(
                    module_name="ansible.legacy.stat", task_vars=task_vars,
                    module_args={"path": os.path.join(bin_dir, name), "follow": False, "get_checksum": True,
                                 "checksum_algorithm": "sha256", "get_mime": False, "get_attributes": False})
                if stat.get("failed"):
                    return self._fail(result, "cannot stat %s: %s" % (os.path.join(bin_dir, name), stat.get("msg")))
                current[name] = stat.get("stat") or {}
            changes = binary_changes(binaries, current, args["version"])
            for change in changes:
                if change["action"] == "keep":
                    continue
                copied = self._copy(binaries[change["name"]]["src"], os.path.join(bin_dir, change["name"]), task_vars)
                if copied.get("failed"):
                    return self._fail(result, "cannot install %s into %s: %s" % (
                        change["name"], bin_dir, copied.get("msg")))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result["changed"] = any(c["action"] != "keep" for c in changes)
        result["binaries"] = changes
        result["installed"] = [c["name"] for c in changes if c["action"] != "keep"]
        if self._task.diff and result["changed"]:
            result["diff"] = binary_changes_diff(changes, bin_dir)
        return result

    def _copy(self, src, dest, task_vars):
        task = self._task.copy()
        task.args = {"src": src, "dest": dest, "owner": "root", "group": "root", "mode": "0755"}
        task.diff = False
        action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return action.run(task_vars=task_vars)
