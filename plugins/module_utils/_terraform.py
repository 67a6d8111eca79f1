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
import signal

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


def shell_quote(text):
    """Quote ``text`` for a POSIX shell command line printed in a message."""
    text = str(text)
    if text and re.match(r"^[A-Za-z0-9_@%+=:,./-]+$", text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def force_unlock_command(lock_id, release):
    """The ``terraform force-unlock`` command line that works for this stack as printed."""
    env = ["TF_DATA_DIR=%s" % shell_quote(release["data_dir"])] if release.get("data_dir") else []
    if release.get("workspace") and release["workspace"] != "default":
        env.append("TF_WORKSPACE=%s" % shell_quote(release["workspace"]))
    chdir = ["-chdir=%s" % shell_quote(release["project_path"])] if release.get("project_path") else []
    return " ".join(env + ["terraform"] + chdir + ["force-unlock", shell_quote(lock_id)])


def lock_error_message(lock, stack=None, release=None):
    """An operator message for a held lock: who holds it, and how to release it (never done for you).

    ``release`` describes the stack: ``backend`` (local, s3), ``data_dir``, ``project_path``,
    ``workspace``, and for s3 ``dynamodb_table``, ``region``, ``endpoint_url``. The hints name only
    what works for that backend: a local lock is a lock on the state file held by a live process,
    which nothing but the end of that process releases.
    """
    lock = lock or {}
    release = release or {}
    lock_id = lock.get("id") or "<unknown>"
    where = " of stack %s" % stack if stack else ""
    text = ("The Terraform state%s is locked (lock ID %s, held by %s, operation %s, created %s, path %s). "
            "Nothing was changed and the lock was not touched. "
            % (where, lock_id, lock.get("who") or "unknown", lock.get("operation") or "unknown",
               lock.get("created") or "unknown", lock.get("path") or "unknown"))
    if release.get("backend") == "local":
        return text + ("A local-backend lock is held by a running terraform process (of %s) and is released when "
                       "that process ends, even when it is killed: wait for it and retry (or raise lock_timeout), or "
                       "stop that process. Neither `terraform force-unlock` nor apron.cluster.state_lock can release "
                       "it." % (lock.get("who") or "its holder"))
    text += ("If that run is still going, wait for it and retry (or raise lock_timeout). If it died, release the "
             "lock with `%s`" % force_unlock_command(lock_id, release))
    if release.get("backend") == "s3" and release.get("dynamodb_table"):
        args = ["table=%s" % release["dynamodb_table"], "path=%s" % (lock.get("path") or "<bucket>/<key>"),
                "lock_id=%s" % lock_id, "state=absent"]
        for key in ("region", "endpoint_url"):
            if release.get(key):
                args.append("%s=%s" % (key, release[key]))
        text += " or with the apron.cluster.state_lock module (%s)" % " ".join(args)
    elif not release:
        text += " or, for a DynamoDB lock table, with the apron.cluster.state_lock module (state=absent lock_id=%s)" \
            % lock_id
    return text + "."


def parse_human_diagnostics(text):
    """Terraform's human error output (``-no-color``) -> diagnostics like the ``-json`` ones.

    Each ``Error: <summary>`` block becomes ``{"severity": "error", "summary", "detail", "range"}``;
    the source snippet lines are dropped. Used for ``init`` of Terraform < 1.9 (no ``init -json``).
    """
    text = clean_stderr(text)
    found = []
    for block in re.split(r"(?m)^(?=Error: )", text):
        if not block.startswith("Error: "):
            continue
        lines = block.splitlines()
        summary = lines[0][len("Error: "):].strip()
        diag = {"severity": "error", "summary": summary, "detail": ""}
        detail = []
        for line in lines[1:]:
            match = re.match(r"^\s+on (.+?) line (\d+)", line)
            if match and "range" not in diag:
                diag["range"] = {"filename": match.group(1), "start": {"line": int(match.group(2))}}
                continue
            if re.match(r"^\s+(\d+:|\(source code not available\))", line) or re.match(r"^\s+[\^|]", line):
                continue
            detail.append(line.strip())
        diag["detail"] = re.sub(r"\n{2,}", "\n", "\n".join(detail)).strip()
        found.append(diag)
    return found


# Diagnostics that only announce the ones that follow.
_PREAMBLE_SUMMARIES = ("Terraform encountered problems during initialisation",
                       "There are some problems with the configuration")


def relevant_diagnostics(diags, files=None):
    """Drop the preamble diagnostics and rename files: ``files`` maps a path (as Terraform prints it,
    relative to the stack) to a label, e.g. the generated backend settings file -> ``the backend option``."""
    result = []
    for diag in diags:
        if (diag.get("summary") or "").startswith(_PREAMBLE_SUMMARIES):
            continue
        rng = diag.get("range") or {}
        label = (files or {}).get(rng.get("filename"))
        if label:
            diag = dict(diag, range=dict(rng, filename=label))
        result.append(diag)
    return result


def error_from_output(command, rc, out, err, stack=None, release=None, files=None, human=False):
    """Build the right TerraformError from a failed command's stdout (``-json``) and stderr.

    ``human``: the command ran without ``-json``; its ``Error:`` blocks are parsed instead.
    """
    messages = parse_json_lines(out) + parse_json_lines(err)
    diags = diagnostics(messages)
    if human and not relevant_diagnostics(diags):
        diags = diags + (parse_human_diagnostics(err) or parse_human_diagnostics(out))
    for diag in diags:
        if "state lock" in diag.get("summary", "").lower() and "Lock Info" in (diag.get("detail") or ""):
            lock = parse_lock_info(diag.get("detail"))
            return StateLockError(lock_error_message(lock, stack, release), lock, command=command, rc=rc,
                                  diagnostics=diags, stderr=err)
    plain = clean_stderr(err)
    if "Error acquiring the state lock" in plain and "Lock Info" in plain:
        lock = parse_lock_info(plain)
        return StateLockError(lock_error_message(lock, stack, release), lock, command=command, rc=rc,
                              diagnostics=diags, stderr=err)
    diags = relevant_diagnostics(diags, files)
    if diags:
        text = "; ".join(format_diagnostic(d) for d in diags)
    else:
        # never the raw ``-json`` stream: only lines that are not JSON messages
        rest = "\n".join(line for line in clean_stderr(out).splitlines() if not line.lstrip().startswith("{"))
        text = plain or rest.strip() or ended_by(rc)
    where = " (stack %s)" % stack if stack else ""
    return TerraformError("terraform %s failed%s: %s" % (command, where, text), command=command, rc=rc,
                          diagnostics=diags, stderr=err)


def ended_by(rc):
    """``signal 9 (SIGKILL)`` for a negative return code, ``exit code 1`` otherwise."""
    if rc is not None and rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "unknown signal"
        return "signal %d (%s)" % (-rc, name)
    return "exit code %s" % rc


def in_progress(messages):
    """Addresses whose apply started but neither completed nor errored (from ``apply -json`` messages)."""
    started = []
    for msg in messages:
        hook = msg.get("hook") if isinstance(msg.get("hook"), dict) else {}
        address = (hook.get("resource") or {}).get("addr")
        if not address:
            continue
        if msg.get("type") == "apply_start" and address not in started:
            started.append(address)
        elif msg.get("type") in ("apply_complete", "apply_errored") and address in started:
            started.remove(address)
    return started


def apply_failure_message(stack, rc, diags, messages, log_file):
    """One paragraph for a failed ``terraform apply``: how it ended, what that means, where the log is."""
    where = "stack %s" % stack if stack else "the stack"
    errors = "; ".join(format_diagnostic(d) for d in relevant_diagnostics(diags))
    if rc is not None and rc < 0:
        head = "terraform was ended by %s during the apply of %s" % (ended_by(rc), where)
    elif errors:
        head = "terraform apply of %s failed (%s): %s" % (where, ended_by(rc), errors.rstrip("."))
    else:
        head = "terraform ended with %s during the apply of %s, without an error message (it may have crashed)" % (
            ended_by(rc), where)
    busy = in_progress(messages)
    text = head + ". The state may be partially applied: what finished before is recorded"
    if busy:
        text += ", %s was in progress and may be missing, tainted or incompletely provisioned" % ", ".join(busy)
    text += (". Re-running the task converges: it plans again from the recorded state (a resource recorded although "
             "its create-time provisioner did not finish needs replace: ['<address>']).")
    if log_file:
        text += " Terraform's output is in %s." % log_file
    return text


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


def makedirs_private(path):
    """Create ``path`` and every missing parent with mode 0700; returns the created directories, top first."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.exists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    created = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except OSError:
            if not os.path.isdir(directory):
                raise
            continue
        os.chmod(directory, 0o700)      # mkdir's mode is reduced by the umask, never widened: make it exact
        created.append(directory)
    return created


def _chmod_if(path, mode):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if os.path.islink(path) or (st.st_mode & 0o7777) == mode:
        return False
    os.chmod(path, mode)
    return True


def local_state_files(config):
    """The files and directories the local backend writes for ``config`` (``path``, ``workspace_dir``):
    (files, directories) that exist."""
    path = config.get("path")
    files = []
    dirs = []
    if path:
        files.extend([path, path + ".backup"])
    workspace_dir = config.get("workspace_dir")
    if workspace_dir and os.path.isdir(workspace_dir):
        dirs.append(workspace_dir)
        for name in sorted(os.listdir(workspace_dir)):
            sub = os.path.join(workspace_dir, name)
            if os.path.isdir(sub) and not os.path.islink(sub):
                dirs.append(sub)
                # workspace states are always named terraform.tfstate, whatever ``path`` is called
                files.extend([os.path.join(sub, "terraform.tfstate"), os.path.join(sub, "terraform.tfstate.backup")])
    return [f for f in files if os.path.isfile(f)], dirs


def enforce_private_state(config, own_dir=False):
    """Make the local state private: state files (and their backups) 0600, workspace directories 0700, and the
    state file's directory 0700 when ``own_dir`` (a directory of apron's state layout). Returns warnings
    for a directory that is not ``own_dir`` and readable by others."""
    files, dirs = local_state_files(config)
    for path in files:
        _chmod_if(path, 0o600)
    for path in dirs:
        _chmod_if(path, 0o700)
    warnings = []
    state_dir = os.path.dirname(config.get("path") or "")
    if state_dir and os.path.isdir(state_dir):
        if own_dir:
            _chmod_if(state_dir, 0o700)
        elif os.stat(state_dir).st_mode & 0o077:
            warnings.append("backend.path: the state directory %s is mode %s: other users can list it (the state "
                            "files in it are 0600); make it 0700 or choose a private directory" % (
                                state_dir, oct(os.stat(state_dir).st_mode & 0o777)))
    return warnings


def _targets(value):
    return ["-target=%s" % t for t in (value or [])]


def _replace(value):
    return ["-replace=%s" % t for t in (value or [])]


def check_binary(path):
    """Raise TerraformMissingError unless ``path`` is an executable program (ELF or ``#!`` script)."""
    if not os.path.exists(path):
        raise TerraformMissingError("binary_path: %s does not exist; expected the terraform executable" % path)
    if os.path.isdir(path):
        inside = os.path.join(path, "terraform")
        hint = " (it contains one: %s)" % inside if os.path.isfile(inside) else ""
        raise TerraformMissingError("binary_path: %s is a directory; expected the terraform executable itself%s"
                                    % (path, hint))
    if not os.path.isfile(path):
        raise TerraformMissingError("binary_path: %s is not a regular file; expected the terraform executable" % path)
    if not os.access(path, os.X_OK):
        raise TerraformMissingError("binary_path: %s is not executable (mode %s); expected the terraform executable"
                                    % (path, oct(os.stat(path).st_mode & 0o7777)))
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except (IOError, OSError) as exc:
        raise TerraformMissingError("binary_path: %s cannot be read (%s); expected the terraform executable"
                                    % (path, exc))
    if head != b"\x7fELF" and not head.startswith(b"#!"):
        raise TerraformMissingError("binary_path: %s is not a program (it starts with %r, not an ELF header or a "
                                    "#! line); expected the terraform executable" % (path, head))


def not_terraform_message(binary, rc, out, err):
    """binary_path ran but did not answer ``version -json`` as Terraform does."""
    said = clean_stderr(err) or clean_stderr(out) or "nothing"
    if len(said) > 300:
        said = said[:300] + "..."
    return ("binary_path: %s is not terraform: `%s version -json` ended with %s and printed %s; expected Terraform's "
            "version JSON" % (binary, os.path.basename(binary), ended_by(rc), json.dumps(said)))


class Terraform(object):
    """Runs terraform subcommands for one stack with a private TF_DATA_DIR, through CmdRunner."""

    def __init__(self, module, project_path, data_dir, binary="terraform", env=None, stack=None, release=None,
                 files=None):
        if not HAS_CMD_RUNNER:
            raise TerraformError("community.general (CmdRunner) is required by apron.cluster.terraform_stack")
        self.module = module
        self.project_path = project_path
        self.data_dir = data_dir
        self.stack = stack
        self.release = release or {}
        self.files = files or {}
        self.redact_log = None
        self.version_tuple = None
        self.warnings = []
        environ = {"TF_DATA_DIR": data_dir, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        environ.update(env or {})
        fmt = cmd_runner_fmt
        if os.path.isabs(binary) or os.sep in binary:
            binary_path = os.path.abspath(binary)
        else:
            binary_path = module.get_bin_path(binary)
        if not binary_path:
            raise TerraformMissingError("terraform was not found on PATH (%s); install Terraform >= %s or set "
                                        "binary_path" % (os.environ.get("PATH", ""),
                                                         ".".join(str(x) for x in MIN_VERSION)))
        check_binary(binary_path)
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
        # umask 077: whatever terraform creates (local state, its backup, workspace directories) is private
        with self.runner(["tf_chdir", "tf_subcommand"] + order, umask=0o077) as ctx:
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
                    self.version_tuple = version
                    return version
            except (IOError, OSError, ValueError, KeyError, TypeError):
                pass
        version = self._version()
        self.version_tuple = version
        if key:
            write_private(cache_file, json.dumps({"key": key, "version": list(version)}))
        return version

    def _version(self):
        rc, out, err = self._run([], tf_subcommand=["version", "-json"])
        try:
            if rc != 0:
                raise ValueError(rc)
            version = parse_version(out)
        except ValueError:
            raise TerraformMissingError(not_terraform_message(self.binary, rc, out, err))
        check_version(version)
        return version

    def init(self, backend_config_file, reconfigure=False):
        """``terraform init``; errors read as those of ``plan`` (``-json`` diagnostics from Terraform 1.9 on)."""
        use_json = bool(self.version_tuple) and tuple(self.version_tuple) >= (1, 9, 0)
        rc, out, err = self._run(["tf_input", "tf_json", "tf_no_color", "tf_reconfigure", "tf_backend_config"],
                                 tf_subcommand=["init"], tf_json=use_json, tf_reconfigure=reconfigure,
                                 tf_backend_config=backend_config_file)
        if rc != 0:
            raise error_from_output("init", rc, out, err, self.stack, self.release, self.files, human=not use_json)
        return out

    def workspace_select(self, name, create):
        args = ["workspace", "select"] + (["-or-create=true"] if create else [])
        rc, out, err = self._run(["tf_no_color", "tf_positional"], tf_subcommand=args, tf_positional=[name])
        if rc != 0:
            if not create and "doesn't exist" in (err + out):
                return False
            raise error_from_output("workspace select", rc, out, err, self.stack, self.release, self.files)
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
        raise error_from_output("plan", rc, out, err, self.stack, self.release, self.files)

    def show_plan(self, plan_file):
        rc, out, err = self._run(["tf_json", "tf_no_color", "tf_positional"], tf_subcommand=["show"],
                                 tf_json=True, tf_positional=[plan_file])
        if rc != 0:
            raise error_from_output("show", rc, out, err, self.stack, self.release, self.files)
        try:
            return json.loads(out)
        except ValueError as exc:
            raise TerraformError("terraform show -json returned invalid JSON: %s" % exc)

    def apply(self, plan_file, lock_timeout=None, parallelism=None, log_file=None):
        """Apply the saved plan. On failure Terraform's output goes to ``log_file`` (0600, secrets redacted by
        ``self.redact_log``) and the error is one paragraph (see :func:`apply_failure_message`)."""
        rc, out, err = self._run(
            ["tf_input", "tf_json", "tf_lock_timeout", "tf_parallelism", "tf_positional"],
            tf_subcommand=["apply"], tf_json=True, tf_lock_timeout=lock_timeout, tf_parallelism=parallelism,
            tf_positional=[plan_file])
        if rc == 0:
            return parse_json_lines(out)
        error = error_from_output("apply", rc, out, err, self.stack, self.release, self.files)
        if isinstance(error, StateLockError):
            raise error
        if log_file:
            text = "# terraform apply of %s ended with %s\n# --- stdout ---\n%s\n# --- stderr ---\n%s\n" % (
                self.stack or self.project_path, ended_by(rc), out, err)
            write_private(log_file, self.redact_log(text) if self.redact_log else text)
        messages = parse_json_lines(out) + parse_json_lines(err)
        raise TerraformError(apply_failure_message(self.stack, rc, error.diagnostics, messages, log_file),
                             command="apply", rc=rc, diagnostics=error.diagnostics, stderr=err)

    def outputs(self):
        rc, out, err = self._run(["tf_json", "tf_no_color"], tf_subcommand=["output"], tf_json=True)
        if rc != 0:
            raise error_from_output("output", rc, out, err, self.stack, self.release, self.files)
        try:
            return json.loads(out or "{}")
        except ValueError as exc:
            raise TerraformError("terraform output -json returned invalid JSON: %s" % exc)
