# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""A persistent exec channel into a podman container: SSH ControlPersist for ``podman exec``.

Every ``podman exec`` starts a podman client, conmon and ``runc exec`` (about a tenth of a
CPU-second and 0.1-0.2 s on the 2-core test machine). The channel pays that once per host:

* an **agent** (``AGENT``, stdlib Python) runs inside the container on the stdin/stdout of one
  ``podman exec --interactive``; it reads one JSON request a line (argv, stdin), runs it as a
  child process and writes one JSON answer a line (rc, stdout, stderr);
* a **holder** process on the controller (this file run as a script) owns that exec and serves
  it on a Unix socket, one request at a time, until it is idle for ``persist`` seconds or the
  agent ends (container stopped or removed);
* **clients** (the ``apron.cluster.podman_pipelined`` connection, one per task) send a request
  to the socket and read the answer, starting a holder when none listens.

A request that never reached the agent reports ``ChannelUnavailable`` and the caller runs the
command with a plain ``podman exec`` instead; once a request is delivered its outcome is final
(``ChannelBroken`` when the agent ended while running it), so no command ever runs twice.
Controller-side only (Python 3 of the controller); the agent needs ``python3`` in the container.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import fcntl
import hashlib
import json
import os
import socket
import subprocess
import sys
import time

AGENT = r"""
import base64, json, subprocess, sys
src, dst = sys.stdin.buffer, sys.stdout.buffer
dst.write(b'{"ready": true}\n'); dst.flush()
for line in iter(src.readline, b''):
    req = json.loads(line)
    try:
        proc = subprocess.Popen(req['argv'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate(base64.b64decode(req['in']))
        ans = {'rc': proc.returncode, 'out': base64.b64encode(out).decode(),
               'err': base64.b64encode(err).decode()}
    except OSError as exc:
        ans = {'rc': 127, 'out': '', 'err': base64.b64encode(str(exc).encode()).decode()}
    dst.write(json.dumps(ans).encode() + b'\n'); dst.flush()
"""

CONNECT_TIMEOUT = 10
START_TIMEOUT = 30


class ChannelUnavailable(Exception):
    """The request did not reach an agent; running it another way is safe."""


class ChannelBroken(Exception):
    """The agent ended while it ran the request; its outcome is unknown."""


def socket_path(podman_args, user, base_dir=None):
    """The holder's socket for one (podman command line, container, user): short, per controller user."""
    base_dir = base_dir or os.path.join("/tmp", "apron-podman-channel-%d" % os.getuid())
    key = hashlib.sha256(json.dumps([list(podman_args), user or ""]).encode()).hexdigest()[:20]
    return os.path.join(base_dir, key + ".sock")


def _encode_request(argv, in_data):
    return json.dumps({"argv": list(argv), "in": base64.b64encode(in_data or b"").decode()}).encode() + b"\n"


def _decode_answer(line):
    ans = json.loads(line)
    if "error" in ans:
        raise ChannelBroken(ans["error"])
    return ans["rc"], base64.b64decode(ans["out"]), base64.b64decode(ans["err"])


def _readline(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)


def _connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        sock.connect(path)
    except (OSError, socket.error):
        sock.close()
        raise
    return sock


def request(path, argv, in_data=None):
    """Run argv in the container through the holder at path; (rc, stdout, stderr)."""
    try:
        sock = _connect(path)
    except (OSError, socket.error) as exc:
        raise ChannelUnavailable("no holder at %s: %s" % (path, exc))
    try:
        try:
            sock.sendall(_encode_request(argv, in_data))
        except (OSError, socket.error) as exc:
            raise ChannelUnavailable("holder at %s refused the request: %s" % (path, exc))
        sock.settimeout(None)
        line = _readline(sock)
    finally:
        sock.close()
    if not line:
        raise ChannelBroken("the holder at %s closed without an answer" % path)
    if line.startswith(b'{"unavailable"'):
        raise ChannelUnavailable(json.loads(line)["unavailable"])
    return _decode_answer(line)


def ensure_holder(path, podman_cmd, persist):
    """Start a holder for podman_cmd (``podman [extra] exec -i [--user U] CONTAINER``) unless one listens."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    lock_path = path + ".lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _connect(path).close()
            return
        except (OSError, socket.error):
            pass
        if os.path.exists(path):
            os.unlink(path)
        # The holder detaches (own session, no inherited stdio) so that it outlives this task.
        devnull = open(os.devnull, "r+b")
        try:
            holder = subprocess.Popen([sys.executable, os.path.abspath(__file__).replace(".pyc", ".py"), path,
                                       str(persist)] + list(podman_cmd), stdin=devnull, stdout=devnull,
                                      stderr=devnull, close_fds=True, start_new_session=True)
        finally:
            devnull.close()
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if holder.poll() is not None:
                # e.g. the container is not running: the caller's plain podman exec says why.
                raise ChannelUnavailable("the holder for %s ended at start (exit %s)"
                                         % (" ".join(podman_cmd), holder.returncode))
            if os.path.exists(path):
                try:
                    _connect(path).close()
                    return
                except (OSError, socket.error):
                    pass
            time.sleep(0.05)
    raise ChannelUnavailable("the holder for %s did not start within %ds" % (" ".join(podman_cmd), START_TIMEOUT))


def _retire(listener, path):
    """Stop listening: no new client can connect once the path is gone; those already queued are
    told the channel is unavailable (their requests never reached the agent, so they may retry)."""
    try:
        os.unlink(path)
    except OSError:
        pass
    listener.setblocking(False)
    while True:
        try:
            conn = listener.accept()[0]
        except (OSError, socket.error):
            break
        try:
            conn.setblocking(True)
            conn.settimeout(1)
            conn.sendall(b'{"unavailable": "the holder is shutting down"}\n')
        except (OSError, socket.error):
            pass
        finally:
            conn.close()
    listener.close()


def serve(path, persist, podman_cmd):
    """The holder: one agent on podman_cmd, served on a Unix socket until idle or the agent ends."""
    agent = subprocess.Popen(list(podman_cmd) + ["python3", "-u", "-c", AGENT],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if agent.stdout.readline().strip() != b'{"ready": true}':
        agent.kill()
        return 1
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    listener.settimeout(persist)
    try:
        while True:
            try:
                conn = listener.accept()[0]
            except socket.timeout:
                return 0
            with conn:
                conn.settimeout(CONNECT_TIMEOUT)
                try:
                    line = _readline(conn)
                except (OSError, socket.error):
                    continue
                if not line:
                    continue
                if agent.poll() is not None:
                    conn.sendall(b'{"unavailable": "the agent has ended"}\n')
                    return 0
                try:
                    agent.stdin.write(line)
                    agent.stdin.flush()
                except (OSError, IOError) as exc:
                    if exc.errno == errno.EPIPE:
                        conn.sendall(b'{"unavailable": "the agent has ended"}\n')
                        return 0
                    raise
                answer = agent.stdout.readline()
                if not answer:
                    conn.sendall(json.dumps({"error": "the container's agent ended while running the command"})
                                 .encode() + b"\n")
                    return 0
                try:
                    conn.settimeout(None)
                    conn.sendall(answer)
                except (OSError, socket.error):
                    pass
    finally:
        _retire(listener, path)
        if agent.poll() is None:
            agent.stdin.close()
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], float(sys.argv[2]), sys.argv[3:]))
