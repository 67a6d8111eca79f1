# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Run apron.cluster AWS modules as real ``ansible`` processes against the moto server."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


REPO = Path(__file__).resolve().parents[3]


def run_module(module, args, check=False, diff=False):
    """``ansible localhost -m apron.cluster.<module> -a <json>`` -> the module result dict."""
    env = dict(os.environ)
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=os.environ.get("APRON_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python")))
    paths = [str(REPO / ".collections")] + [p for p in env.get("ANSIBLE_COLLECTIONS_PATH", "").split(":") if p]
    env["ANSIBLE_COLLECTIONS_PATH"] = ":".join(paths)
    ansible = REPO / ".venv" / "bin" / "ansible"
    cmd = [str(ansible) if ansible.exists() else "ansible", "localhost", "-m", "apron.cluster.%s" % module,
           "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=300, cwd=str(REPO))
    try:
        report = json.loads(proc.stdout)
        return report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("ansible printed no result (rc %s):\n%s\n%s" % (
            proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
