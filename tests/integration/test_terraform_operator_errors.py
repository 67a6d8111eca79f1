# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Errors an operator can act on, with real terraform: init errors, backend mismatch, default work dir, state modes."""
from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "terraform"))
from tfstack_helpers import FIXTURES, run_module, terraform_or_skip  # noqa: E402

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def needs_terraform():
    terraform_or_skip()


def broken_stack(tmp_path):
    """A copy of the items stack (so it can be broken) and its module arguments."""
    stack = tmp_path / "stack"
    shutil.copytree(FIXTURES / "items", stack)
    args = {"project_path": str(stack), "work_dir": str(tmp_path / "work"),
            "backend": {"type": "local", "path": str(tmp_path / "state" / "items.tfstate")},
            "variables": {"out_dir": str(tmp_path / "out"), "items": {}}}
    return stack, args


def test_first_run_init_error_is_the_same_line_as_later(tmp_path):
    stack, args = broken_stack(tmp_path)
    main = stack / "main.tf"
    good = main.read_text()
    broken = good.replace('output "names" {\n  value = sort(keys(terraform_data.item))\n}',
                          'output "names" {\n  value = [\n}')
    assert broken != good
    main.write_text(broken)
    first = run_module(tmp_path, args)              # init fails: the configuration does not parse
    assert first["_rc"] != 0
    main.write_text(good)
    assert run_module(tmp_path, args)["_rc"] == 0   # initialised
    main.write_text(broken)
    later = run_module(tmp_path, args)              # now plan fails the same way
    assert later["_rc"] != 0
    assert first["msg"] == later["msg"].replace("terraform plan failed", "terraform init failed"), (first, later)
    assert first["msg"].startswith("terraform init failed (stack stack): ")
    assert "(main.tf:" in first["msg"] and "\n" not in first["msg"]
    assert "encountered problems during initialisation" not in first["msg"]


def test_backend_that_does_not_fit_the_stack_is_one_sentence(tmp_path):
    stack, args = broken_stack(tmp_path)
    s3 = dict(args, backend={"type": "s3", "bucket": "b", "key": "k", "region": "eu-west-1"})
    result = run_module(tmp_path, s3)
    assert result["_rc"] != 0
    assert result["msg"] == ('backend.type=s3 does not match the stack: main.tf declares `backend "local"`; expected '
                             'backend.type=local or a stack declaring `backend "s3" {}`')
    main = stack / "main.tf"
    main.write_text(main.read_text().replace('  backend "local" {}\n', ""))
    result = run_module(tmp_path, args)
    assert result["_rc"] != 0 and result["msg"].startswith(
        "backend.type=local: the stack declares no backend block, so Terraform would ignore these settings")
    assert not (stack / "terraform.tfstate").exists()


def test_default_work_dir_does_not_depend_on_the_current_directory(tmp_path):
    _stack, args = broken_stack(tmp_path)
    del args["work_dir"]
    env = {"XDG_STATE_HOME": str(tmp_path / "xdg")}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run_module(tmp_path, args, env=env, cwd=str(tmp_path / "a"))
    second = run_module(tmp_path, args, env=env, cwd=str(tmp_path / "b"))
    assert first["_rc"] == 0 and second["_rc"] == 0, (first.get("msg"), second.get("msg"))
    assert first["work_dir"] == second["work_dir"]
    assert first["work_dir"].startswith(str(tmp_path / "xdg" / "apron" / "work" / "stacks" / "stack-"))
    assert second["init"] is None and second["changed"] is False
    for path in (tmp_path / "xdg", tmp_path / "xdg" / "apron", Path(first["work_dir"])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert not (tmp_path / "a" / ".apron").exists() and not (tmp_path / "b" / ".apron").exists()
    # with base_dir: under it
    with_base = run_module(tmp_path, dict(args, base_dir=str(tmp_path / "repo")), env=env, cwd=str(tmp_path / "a"))
    assert with_base["work_dir"].startswith(str(tmp_path / "repo" / ".apron" / "work" / "stacks" / "stack-"))


def test_local_state_is_private_even_in_a_loose_existing_directory(tmp_path):
    _stack, args = broken_stack(tmp_path)
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o755)
    state_dir.chmod(0o755)
    result = run_module(tmp_path, dict(args, workspace="blue"))
    assert result["_rc"] == 0, result.get("msg")
    ws = state_dir / "terraform.tfstate.d"
    assert stat.S_IMODE(ws.stat().st_mode) == 0o700
    assert stat.S_IMODE((ws / "blue").stat().st_mode) == 0o700
    assert stat.S_IMODE((ws / "blue" / "terraform.tfstate").stat().st_mode) == 0o600
    assert any("the state directory %s is mode 0o755" % state_dir in w for w in result["warnings"])
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o755      # someone else's directory: warned, not changed
