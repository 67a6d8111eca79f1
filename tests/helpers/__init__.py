# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the unit and the integration tests; import them as ``tests.helpers``
(pytest.ini puts the repository root on sys.path).

``run_module`` is the one way a test runs an apron.cluster module:

* ``via="process"`` (the default): ``python -m ansible_collections.apron.cluster.plugins.modules.<name>``
  with ``{"ANSIBLE_MODULE_ARGS": ...}`` on stdin -- the module alone, as a real process;
* ``via="ansible"``: ``ansible localhost -m apron.cluster.<name>`` with the json callback -- the result
  as a task reports it (no_log masking, the controller's view);
* ``via="inline"``: the module's ``main()`` in this process -- fast, and it sees this process's servers
  and monkeypatches.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"
MODULES = "ansible_collections.apron.cluster.plugins.modules"


def collection_env(extra=None):
    """os.environ with the collection (.collections) first on PYTHONPATH, updated with ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(COLLECTIONS), os.environ.get("PYTHONPATH", "")])
    env.update(extra or {})
    return env


def _module_args(args, check, diff, no_log):
    full = dict(args or {}, _ansible_check_mode=check, _ansible_diff=diff)
    if no_log:
        full["_ansible_no_log"] = True
    return full


def _run_process(name, args, env, timeout, cwd):
    proc = subprocess.run([sys.executable, "-m", "%s.%s" % (MODULES, name)],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True,
                          env=collection_env(env), timeout=timeout, cwd=cwd, check=False)
    try:
        return json.loads(proc.stdout), proc.stdout
    except ValueError:
        raise AssertionError("module %s printed no JSON (rc %s)\nstdout: %s\nstderr: %s" % (
            name, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))


def _run_ansible(name, args, check, diff, env, timeout, cwd):
    full_env = dict(os.environ)
    full_env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                    ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                    ANSIBLE_PYTHON_INTERPRETER=os.environ.get("APRON_TEST_PYTHON",
                                                              str(REPO / ".venv" / "bin" / "python")))
    paths = [str(COLLECTIONS)] + [p for p in full_env.get("ANSIBLE_COLLECTIONS_PATH", "").split(":") if p]
    full_env["ANSIBLE_COLLECTIONS_PATH"] = ":".join(paths)
    full_env.update(env or {})
    ansible = REPO / ".venv" / "bin" / "ansible"
    cmd = [str(ansible) if ansible.exists() else "ansible", "localhost", "-m", "apron.cluster.%s" % name,
           "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=cwd or str(REPO))
    try:
        report = json.loads(proc.stdout)
        return report["plays"][0]["tasks"][0]["hosts"]["localhost"], proc.stdout
    except (ValueError, KeyError, IndexError):
        raise AssertionError("ansible printed no result (rc %s):\n%s\n%s" % (
            proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))


def _run_inline(name, args):
    from ansible.module_utils.testing import patch_module_args

    module = importlib.import_module("%s.%s" % (MODULES, name))
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
        else:
            raise AssertionError("module %s returned without exit_json/fail_json" % name)
    text = out.getvalue()
    return json.loads(text), text


def run_module(name, args=None, check=False, diff=False, *, via="process", no_log=False, env=None, timeout=300,
               cwd=None, output=False):
    """Run apron.cluster.<name> with ``args``; returns its result dict, or (result, printed text) with
    ``output=True``. ``env`` adds to the environment of a process run. See the module docstring for ``via``."""
    if via == "process":
        result, text = _run_process(name, _module_args(args, check, diff, no_log), env, timeout, cwd)
    elif via == "ansible":
        if no_log:
            raise ValueError("via='ansible' takes no no_log (set it on the task)")
        result, text = _run_ansible(name, dict(args or {}), check, diff, env, timeout, cwd)
    elif via == "inline":
        if env or cwd:
            raise ValueError("via='inline' runs in this process: no env or cwd")
        result, text = _run_inline(name, _module_args(args, check, diff, no_log))
    else:
        raise ValueError("via: %r is not process, ansible or inline" % (via,))
    return (result, text) if output else result
