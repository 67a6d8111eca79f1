# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Planted secrets never leave terraform_stack: not in any result, diff, message, log record or loose file.

Real terraform on the provider-free ``secrets`` fixture stack, whose sensitive variables flow into
attributes Terraform does not mark sensitive (``terraform_data.output``, ``nonsensitive()``, a
substring of a DSN, JSON inside a string) - on create, update, replace and destroy, in check mode and
real runs, and on failures. The module runs as a real process; its syslog/journal records are captured
by ``log_capture.py`` (the module itself is not changed).
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "terraform"))
from tfstack_helpers import FIXTURES, MODULE, REPO_ROOT, args_file, module_env, terraform_or_skip  # noqa: E402

pytestmark = [pytest.mark.slow]

PASSWORD = "Hunter2-PLANTED-pw-9c41"
DEFAULT_TOKEN = "default-token-PLANTED-5d1f"   # the declared default of a sensitive variable
NESTED_KEY = "nested-key-PLANTED-77aa"         # inside a sensitive object's default
SECRETS = (PASSWORD, DEFAULT_TOKEN, NESTED_KEY)
LOG_CAPTURE = FIXTURES / "log_capture.py"


@pytest.fixture(autouse=True)
def needs_terraform():
    terraform_or_skip()


class Runner:
    """Runs the module with log capture and checks every run for the planted secrets."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.runs = 0

    def args(self, **variables):
        variables.setdefault("password", PASSWORD)
        variables.setdefault("replicas", 3)
        return {"project_path": str(FIXTURES / "secrets"), "work_dir": str(self.tmp / "work"),
                "backend": {"type": "local", "path": str(self.tmp / "state" / "secrets.tfstate")},
                "variables": variables}

    def run(self, args, check=False, diff=True):
        self.runs += 1
        records = self.tmp / ("records-%d.json" % self.runs)
        path = args_file(self.tmp, args, check, diff)
        proc = subprocess.run([sys.executable, str(LOG_CAPTURE), str(records), MODULE, str(path)],
                              capture_output=True, text=True, env=module_env(), cwd=str(self.tmp), timeout=300,
                              check=False)
        path.unlink()                       # the args file holds the secret by construction (the test's input)
        out = proc.stdout
        result = json.loads(out[out.index("{"):])
        result["_rc"] = proc.returncode
        result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) and "event" in w else str(w)
                              for w in result.get("warnings", [])]
        logged = json.loads(records.read_text()) if records.exists() else []
        assert any("variables=NOT_LOGGING_PARAMETER" in r.get("syslog", "") for r in logged), logged
        text = "\n".join([proc.stdout, proc.stderr, json.dumps(logged)])
        for secret in SECRETS:
            assert secret not in text, "secret %s leaked:\n%s" % (secret, text[:4000])
        return result


@pytest.fixture
def runner(tmp_path):
    return Runner(tmp_path)


def loose_files_with_secrets(root):
    """Files under root holding a planted secret that are not 0600 in a 0700 directory."""
    loose = []
    for path in Path(root).rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if not any(s.encode() in data for s in SECRETS):
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        parent = stat.S_IMODE(path.parent.stat().st_mode)
        if mode != 0o600 or parent != 0o700:
            loose.append("%s (%o in %o)" % (path, mode, parent))
    return loose


def diff_text(result):
    return json.dumps(result.get("diff"))


def test_secrets_never_leave_the_module_create_update_replace_destroy(runner, tmp_path):
    checked = runner.run(runner.args(), check=True)
    assert checked["_rc"] == 0, checked.get("msg")
    # the non-secret part of the diff stays readable
    prepared = checked["diff"]["prepared"]
    assert '+ input.replicas = 3' in prepared
    assert '+ input.password = (sensitive value)' in prepared
    created = runner.run(runner.args())
    assert created["_rc"] == 0 and created["applied"] is True, created.get("msg")
    assert created["outputs"] == {"dsn": "(sensitive value)", "replicas": 3}

    updated = runner.run(runner.args(rev=2), check=False)
    assert updated["_rc"] == 0 and updated["plan_summary"]["counts"]["update"] == 2, updated.get("msg")
    after = updated["diff"]["after"]['terraform_data.conn[0]']
    assert after["input.rev"] == 2
    before = updated["diff"]["before"]['terraform_data.conn[0]']
    # Terraform does not mark output.dsn sensitive: its value is redacted inside the larger string
    assert before.get("output.dsn") in (None, "postgres://app:(sensitive value)@db:5432/app")
    assert "postgres://app:(sensitive value)@db:5432/app" in diff_text(updated) or "output.dsn" not in before

    replaced = runner.run(runner.args(rev=2, generation="g2"))
    assert replaced["_rc"] == 0 and replaced["plan_summary"]["addresses"]["replace"] == ["terraform_data.conn[0]"]
    assert "(sensitive value)" in replaced["diff"]["prepared"]

    destroyed_check = runner.run(dict(runner.args(rev=2, generation="g2"), state="absent"), check=True)
    assert destroyed_check["plan_summary"]["counts"]["delete"] == 2
    prepared = destroyed_check["diff"]["prepared"]
    assert '- input.password = (sensitive value)' in prepared
    assert "postgres://app:(sensitive value)@db:5432/app" in prepared
    gone = runner.run(runner.args(present=False))
    assert gone["_rc"] == 0 and gone["plan_summary"]["counts"]["delete"] == 2
    assert loose_files_with_secrets(tmp_path) == []
    state = tmp_path / "state" / "secrets.tfstate"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state" / "secrets.tfstate.backup").stat().st_mode) == 0o600


def test_secrets_stay_out_of_failures_and_typo_hints(runner, tmp_path):
    args = runner.args()
    del args["variables"]["replicas"]
    args["variables"]["replica"] = 3
    failed = runner.run(args)
    assert failed["_rc"] != 0
    # the likely cause comes first, then Terraform's error
    assert failed["msg"].startswith("variables: `replica` is not declared by the stack; did you mean `replicas`? "
                                    "terraform plan failed (stack secrets): No value for required variable")
    args["variables"]["replicas"] = 3
    warned = runner.run(args, check=True)
    assert warned["_rc"] == 0
    assert "variables: `replica` is not declared by the stack; did you mean `replicas`?" in warned["warnings"]
    # terraform's own warning about the same variable is not repeated
    assert not any('named "replica"' in str(w) for w in warned["warnings"])
    # a stack error quoting the secret in a message Terraform does not mask
    bad = runner.run(runner.args(replicas="three-" + PASSWORD))       # Runner.run checks that nothing leaked
    assert bad["_rc"] != 0 and "replicas" in bad["msg"]
    assert loose_files_with_secrets(tmp_path) == []


def test_show_sensitive_outputs_returns_only_what_was_asked(runner):
    # run without the leak check: the output is asked for in clear
    path = args_file(runner.tmp, dict(runner.args(), show_sensitive_outputs=True))
    proc = subprocess.run([sys.executable, "-m", MODULE, str(path)], capture_output=True, text=True,
                          env=module_env(), cwd=str(runner.tmp), timeout=300, check=False)
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert out["outputs"]["dsn"] == "postgres://app:%s@db:5432/app" % PASSWORD
    # ... but the diff, the summary and the invocation still do not show it
    rest = dict(out)
    rest.pop("outputs")
    assert PASSWORD not in json.dumps(rest)
    path.unlink()


def test_through_ansible_playbook_with_diff(tmp_path):
    """The real controller path (-vvv, --diff): nothing of the secret in the playbook's output or registered
    result; the non-secret diff is printed."""
    runner = Runner(tmp_path)
    playbook = tmp_path / "play.yml"
    registered = tmp_path / "r.json"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "stack", "apron.cluster.terraform_stack": runner.args(), "register": "r"},
        {"name": "again with a change", "apron.cluster.terraform_stack": runner.args(rev=5), "register": "r2"},
        {"ansible.builtin.copy": {"content": "{{ [r, r2] | to_json }}", "dest": str(registered), "mode": "0600"}}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_INVENTORY_ENABLED="host_list",
               ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".collections")),
               TF_CLI_CONFIG_FILE="/dev/null")
    playbook.chmod(0o600)
    proc = subprocess.run(["ansible-playbook", "-vvv", "-i", "localhost,", "-c", "local", str(playbook), "--diff",
                           "-e", "ansible_python_interpreter=" + sys.executable],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    output = proc.stdout + proc.stderr + registered.read_text()
    for secret in SECRETS:
        assert secret not in output
    assert "~ input.rev: 1 -> 5" in proc.stdout
    assert '"plan_summary": {' in proc.stdout          # -vvv printed the whole results
    assert loose_files_with_secrets(tmp_path) == []
