# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Terraform CLI wrapper built on community.general's CmdRunner (argument lists, never shell strings).

Besides the runner it holds the pure helpers the module and the unit tests share: version
parsing, ``-json`` diagnostics parsing, state-lock error parsing, backend config files and the
"does this work dir need ``terraform init``" logic. Python 3.8 syntax (module_utils).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

try:
    from ansible_collections.community.general.plugins.module_utils.cmd_runner import CmdRunner, cmd_runner_fmt
    HAS_CMD_RUNNER = True
except ImportError:  # pragma: no cover - community.general is a declared dependency
    CmdRunner = None
    cmd_runner_fmt = None
    HAS_CMD_RUNNER = False

MIN_VERSION = (1, 5, 0)
BACKEND_HASH_FILE = "apron-backend.sha256"

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_BOX_RE = re.compile(u"^[\u2577\u2502\u2575]\\s?", re.UNICODE)
# Errors after which a fresh ``terraform init`` makes the command work (new module/provider, changed backend).
_REINIT_SUMMARIES = (
    "Backend initialization required",
    "Module not installed",
    "Required plugins are not installed",
    "Inconsistent dependency lock file",
    "Missing required provider",
    "Backend configuration changed",
    "Module source has changed",
    "Module version requirements have changed",
)


class TerraformError(Exception):
    """A failed terraform command, with its diagnostics already turned into readable text."""

    def __init__(self, message, command=None, rc=None, diagnostics=None, stderr=None):
        super(TerraformError, self).__init__(message)
        self.message = message
        self.command = command
        self.rc = rc
        self.diagnostics = diagnostics or []
        self.stderr = stderr

    def needs_init(self):
        return any(d.get("summary", "").startswith(_REINIT_SUMMARIES) for d in self.diagnostics)


class TerraformMissingError(TerraformError):
    pass


class StateLockError(TerraformError):
    """The state is locked by someone else; ``lock`` holds the parsed Lock Info."""

    def __init__(self, message, lock, **kwargs):
        super(StateLockError, self).__init__(message, **kwargs)
        self.lock = lock


def parse_version(text):
    """``terraform version -json`` output (or the plain text) -> (major, minor, patch)."""
    version = None
    try:
        version = json.loads(text).get("terraform_version")
    except (ValueError, AttributeError):
        match = re.search(r"Terraform v?(\d+\.\d+\.\d+)", text or "")
        version = match.group(1) if match else None
    if not version:
        raise ValueError("cannot find the Terraform version in %r" % (text or "")[:200])
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise ValueError("cannot parse the Terraform version %r" % version)
    return tuple(int(x) for x in match.groups())


def check_version(version):
    """Raise TerraformError when ``version`` (tuple) is older than MIN_VERSION."""
    if tuple(version) < MIN_VERSION:
        raise TerraformError("Terraform %s is too old: apron.cluster.terraform_stack needs Terraform >= %s "
                             "(saved plans with replace_paths, -chdir, TF_DATA_DIR, workspace select -or-create)."
                             % (".".join(str(x) for x in version), ".".join(str(x) for x in MIN_VERSION)))


def parse_json_lines(text):
    """Terraform's ``-json`` machine-readable UI stream -> list of message dicts (other lines dropped)."""
    messages = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg, dict):
            messages.append(msg)
    return messages


def diagnostics(messages, severity="error"):
    """Diagnostics of the given severity from parsed ``-json`` messages."""
    found = []
    for msg in messages:
        diag = msg.get("diagnostic")
        if msg.get("type") == "diagnostic" and isinstance(diag, dict) and diag.get("severity") == severity:
            found.append(diag)
    return found


def format_diagnostic(diag):
    """One diagnostic -> ``summary: detail (main.tf:12)`` text."""
    text = diag.get("summary", "error")
    detail = (diag.get("detail") or "").strip()
    if detail:
        text += ": " + detail
    rng = diag.get("range") or {}
    if rng.get("filename"):
        text += " (%s:%s)" % (rng["filename"], (rng.get("start") or {}).get("line", "?"))
    address = diag.get("address")
    if address:
        text += " [%s]" % address
    return text


def clean_stderr(text):
    """Human stderr -> text without colour codes, box drawing and the CLI-config noise."""
    text = _ANSI_RE.sub("", text or "")
    # drop the "There are some problems with the CLI configuration" warning block (box drawn)
    text = re.sub(u"There are some problems with the CLI configuration:\\s*\n\u2577.*?\u2575\n?", "", text,
                  flags=re.DOTALL)
    lines = [_BOX_RE.sub("", line).rstrip() for line in text.splitlines()]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def parse_lock_info(text):
    """The ``Lock Info:`` block of an "Error acquiring the state lock" message -> dict (or None)."""
    if not text or "Lock Info:" not in text:
        return None
    block = text.split("Lock Info:", 1)[1]
    info = {}
    for line in block.splitlines():
        match = re.match(r"^\s+([A-Za-z]+):\s*(.*)$", line)
        if match:
            info[match.group(1).lower()] = match.group(2).strip()
        elif line.strip() and info:
            break
    error = re.search(r"Error message:\s*(.*)", text)
    if error:
        info["error"] = error.group(1).strip()
    return info or None


def lock_error_message(lock, stack=None):
    """An operator message for a held lock: who holds it, and how to release it (never done for you)."""
    lock = lock or {}
    lock_id = lock.get("id") or "<unknown>"
    where = " of stack %s" % stack if stack else ""
    return ("The Terraform state%s is locked (lock ID %s, held by %s, operation %s, created %s, path %s). "
            "Nothing was changed and the lock was not touched. If that run is still going, wait for it and "
            "retry (or raise lock_timeout). If it died, release the lock with `terraform force-unlock %s` in "
            "the stack, or with the apron.cluster.state_lock module (state=absent lock_id=%s)."
            % (where, lock_id, lock.get("who") or "unknown", lock.get("operation") or "unknown",
               lock.get("created") or "unknown", lock.get("path") or "unknown", lock_id, lock_id))


def error_from_output(command, rc, out, err, stack=None):
    """Build the right TerraformError from a failed command's stdout (``-json``) and stderr."""
    messages = parse_json_lines(out) + parse_json_lines(err)
    diags = diagnostics(messages)
    for diag in diags:
        if "state lock" in diag.get("summary", "").lower() and "Lock Info" in (diag.get("detail") or ""):
            lock = parse_lock_info(diag.get("detail"))
            return StateLockError(lock_error_message(lock, stack), lock, command=command, rc=rc,
                                  diagnostics=diags, stderr=err)
    plain = clean_stderr(err)
    if "Error acquiring the state lock" in plain and "Lock Info" in plain:
        lock = parse_lock_info(plain)
        return StateLockError(lock_error_message(lock, stack), lock, command=command, rc=rc,
                              diagnostics=diags, stderr=err)
    if diags:
        text = "; ".join(format_diagnostic(d) for d in diags)
    else:
        text = plain or clean_stderr(out) or "exit code %s" % rc
    where = " (stack %s)" % stack if stack else ""
    return TerraformError("terraform %s failed%s: %s" % (command, where, text), command=command, rc=rc,
                          diagnostics=diags, stderr=err)


def hcl_string(value):
    """A Python value -> HCL literal (strings escaped, including template sequences)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{\n" + "".join("    %s = %s\n" % (json.dumps(str(k)), hcl_string(v))
                               for k, v in sorted(value.items())) + "  }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hcl_string(v) for v in value) + "]"
    text = json.dumps(str(value))
    return text.replace("${", "$${").replace("%{", "%%{")


def backend_config_text(config):
    """Backend settings dict -> the contents of a ``-backend-config`` file (HCL attributes)."""
    lines = ["# generated by apron.cluster.terraform_stack; do not edit"]
    for key in sorted(config):
        value = config[key]
        if value is None:
            continue
        lines.append("%s = %s" % (key, hcl_string(value)))
    return "\n".join(lines) + "\n"


def backend_hash(backend_type, config, project_path):
    """Stable hash of everything that, when it changes, requires a new ``terraform init``."""
    payload = json.dumps({"type": backend_type, "config": config,
                          "project_path": os.path.realpath(project_path)}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def init_needed(data_dir, work_dir, wanted_hash):
    """Why ``terraform init`` must run (a string), or None when the work dir is initialised for this backend."""
    if not os.path.isfile(os.path.join(data_dir, "terraform.tfstate")):
        return "the work directory has not been initialised yet"
    hash_file = os.path.join(work_dir, BACKEND_HASH_FILE)
    try:
        with open(hash_file) as handle:
            stored = handle.read().strip()
    except (IOError, OSError):
        return "no record of the backend settings used at the last init"
    if stored != wanted_hash:
        return "the backend settings changed since the last init"
    return None


def write_private(path, text):
    """Write ``text`` to ``path`` with mode 0600 (created that way, never world-readable in between)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def _targets(value):
    return ["-target=%s" % t for t in (value or [])]


def _replace(value):
    return ["-replace=%s" % t for t in (value or [])]


class Terraform(object):
    """Runs terraform subcommands for one stack with a private TF_DATA_DIR, through CmdRunner."""

    def __init__(self, module, project_path, data_dir, binary="terraform", env=None, stack=None):
        if not HAS_CMD_RUNNER:
            raise TerraformError("community.general (CmdRunner) is required by apron.cluster.terraform_stack")
        self.module = module
        self.project_path = project_path
        self.data_dir = data_dir
        self.stack = stack
        self.warnings = []
        environ = {"TF_DATA_DIR": data_dir, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        environ.update(env or {})
        fmt = cmd_runner_fmt
        binary_path = binary if os.path.isabs(binary) else module.get_bin_path(binary)
        if not binary_path:
            raise TerraformMissingError("terraform was not found on PATH (%s); install Terraform >= %s or set "
                                        "binary_path" % (os.environ.get("PATH", ""),
                                                         ".".join(str(x) for x in MIN_VERSION)))
        if not os.access(binary_path, os.X_OK):
            raise TerraformMissingError("terraform binary %s does not exist or is not executable" % binary_path)
        self.binary = binary_path
        self.runner = CmdRunner(
            module,
            command=binary_path,
            arg_formats=dict(
                tf_chdir=fmt.as_opt_eq_val("-chdir"),
                tf_subcommand=fmt.as_list(),
                tf_input=fmt.as_fixed("-input=false"),
                tf_json=fmt.as_bool("-json"),
                tf_no_color=fmt.as_fixed("-no-color"),
                tf_backend_config=fmt.as_opt_eq_val("-backend-config"),
                tf_reconfigure=fmt.as_bool("-reconfigure"),
                tf_lock_timeout=fmt.as_opt_eq_val("-lock-timeout"),
                tf_parallelism=fmt.as_opt_eq_val("-parallelism"),
                tf_var_file=fmt.as_opt_eq_val("-var-file"),
                tf_destroy=fmt.as_bool("-destroy"),
                tf_detailed_exitcode=fmt.as_bool("-detailed-exitcode"),
                tf_out=fmt.as_opt_eq_val("-out"),
                tf_targets=fmt.as_func(_targets),
                tf_replace=fmt.as_func(_replace),
                tf_positional=fmt.as_list(),
            ),
            check_rc=False,
            force_lang="C",
            environ_update=environ,
        )

    def _run(self, order, **kwargs):
        with self.runner(["tf_chdir", "tf_subcommand"] + order) as ctx:
            rc, out, err = ctx.run(tf_chdir=self.project_path, **kwargs)
        return rc, out, err

    def version(self, cache_file=None):
        """Terraform's version (checked >= MIN_VERSION); cached in ``cache_file`` per binary path and mtime."""
        key = None
        if cache_file:
            try:
                st = os.stat(self.binary)
                key = "%s:%d:%d" % (self.binary, st.st_mtime_ns, st.st_size)
                with open(cache_file) as handle:
                    cached = json.load(handle)
                if cached.get("key") == key:
                    version = tuple(cached["version"])
                    check_version(version)
                    return version
            except (IOError, OSError, ValueError, KeyError, TypeError):
                pass
        version = self._version()
        if key:
            write_private(cache_file, json.dumps({"key": key, "version": list(version)}))
        return version

    def _version(self):
        rc, out, err = self._run([], tf_subcommand=["version", "-json"])
        if rc != 0:
            raise TerraformError("`%s version` failed: %s" % (self.binary, clean_stderr(err) or out))
        version = parse_version(out)
        check_version(version)
        return version

    def init(self, backend_config_file, reconfigure=False):
        rc, out, err = self._run(["tf_input", "tf_no_color", "tf_reconfigure", "tf_backend_config"],
                                 tf_subcommand=["init"], tf_reconfigure=reconfigure,
                                 tf_backend_config=backend_config_file)
        if rc != 0:
            raise error_from_output("init", rc, out, err, self.stack)
        return out

    def workspace_select(self, name, create):
        args = ["workspace", "select"] + (["-or-create=true"] if create else [])
        rc, out, err = self._run(["tf_no_color", "tf_positional"], tf_subcommand=args, tf_positional=[name])
        if rc != 0:
            if not create and "doesn't exist" in (err + out):
                return False
            raise error_from_output("workspace select", rc, out, err, self.stack)
        return True

    def plan(self, plan_file, var_file, destroy=False, lock_timeout=None, parallelism=None, targets=None,
             replace=None):
        """Returns True when the plan has changes (``-detailed-exitcode`` 2), False for 0."""
        rc, out, err = self._run(
            ["tf_input", "tf_json", "tf_detailed_exitcode", "tf_destroy", "tf_lock_timeout", "tf_parallelism",
             "tf_var_file", "tf_targets", "tf_replace", "tf_out"],
            tf_subcommand=["plan"], tf_json=True, tf_detailed_exitcode=True, tf_destroy=destroy,
            tf_lock_timeout=lock_timeout, tf_parallelism=parallelism, tf_var_file=var_file,
            tf_targets=targets, tf_replace=replace, tf_out=plan_file)
        if rc in (0, 2):
            self.warnings = [format_diagnostic(d) for d in diagnostics(parse_json_lines(out), "warning")]
            return rc == 2
        raise error_from_output("plan", rc, out, err, self.stack)

    def show_plan(self, plan_file):
        rc, out, err = self._run(["tf_json", "tf_no_color", "tf_positional"], tf_subcommand=["show"],
                                 tf_json=True, tf_positional=[plan_file])
        if rc != 0:
            raise error_from_output("show", rc, out, err, self.stack)
        try:
            return json.loads(out)
        except ValueError as exc:
            raise TerraformError("terraform show -json returned invalid JSON: %s" % exc)

    def apply(self, plan_file, lock_timeout=None, parallelism=None):
        rc, out, err = self._run(
            ["tf_input", "tf_json", "tf_lock_timeout", "tf_parallelism", "tf_positional"],
            tf_subcommand=["apply"], tf_json=True, tf_lock_timeout=lock_timeout, tf_parallelism=parallelism,
            tf_positional=[plan_file])
        if rc != 0:
            raise error_from_output("apply", rc, out, err, self.stack)
        return parse_json_lines(out)

    def outputs(self):
        rc, out, err = self._run(["tf_json", "tf_no_color"], tf_subcommand=["output"], tf_json=True)
        if rc != 0:
            raise error_from_output("output", rc, out, err, self.stack)
        try:
            return json.loads(out or "{}")
        except ValueError as exc:
            raise TerraformError("terraform output -json returned invalid JSON: %s" % exc)
