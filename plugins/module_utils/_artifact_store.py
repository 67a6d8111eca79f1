# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The controller's side of installing a planned artifact: find it (offline artifacts directory or
the download cache), verify it against its checksum, download it into the cache, and unpack the
wanted members into the cache. Every refusal is an ArtifactPlanError naming the variable to fix.

The cache (one owner: ``default_cache_dir``) is ``$XDG_CACHE_HOME/apron/artifacts`` (or
``~/.cache/apron/artifacts``) on the controller, laid out like an offline artifacts directory
(``_artifact_plan.OFFLINE_LAYOUT``), so a filled cache can serve as one. Unpacked binaries live
next to their tarball in ``bin-<kind>-linux-<arch>/`` with a stamp (``.apron-binaries.json``) that
binds them to the tarball's checksum. Everything is verified again on every run.
"""
from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile

from ansible_collections.apron.cluster.plugins.module_utils._artifact_plan import ArtifactPlanError

CHUNK = 1024 * 1024
STAMP = ".apron-binaries.json"


def default_cache_dir(environ=None):
    """$XDG_CACHE_HOME/apron/artifacts, or ~/.cache/apron/artifacts (the controller's artifact cache)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "apron", "artifacts")


def file_checksum(path, algorithm):
    """'<algorithm>:<hex>' of the file at ``path``."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return "%s:%s" % (algorithm, digest.hexdigest())


def _algorithm(checksum):
    return checksum.split(":", 1)[0]


def mismatch_message(path, actual, entry, where):
    """The refusal of a file whose checksum is not the planned one; names the variable to fix."""
    if entry.get("checksum_status") == "user-supplied":
        expected_from = "your %s" % entry["checksum_field"]
        fix = ("replace it with the upstream %s, or correct %s if that checksum is wrong" % (
            entry["url"], entry["checksum_field"]))
    else:
        expected_from = "published upstream, recorded in the release manifest"
        fix = "replace it with the upstream %s (%s)" % (entry["url"], where)
    return ("%s has %s, expected %s (%s): it is not the upstream %s. %s. Nothing was installed." % (
        path, actual, entry["checksum"], expected_from, entry["filename"], fix[0].upper() + fix[1:]))


def offline_tarball(artifacts_dir, entry):
    """The verified path of ``entry`` in the offline artifacts directory ``artifacts_dir``."""
    if not artifacts_dir:
        raise ArtifactPlanError("kubernetes_artifacts_dir: empty, but kubernetes_artifacts_source=offline needs the "
                                "directory on the controller that holds %s (see docs/artifacts.md)" % entry["offline_path"])
    path = os.path.join(artifacts_dir, entry["offline_path"])
    if not os.path.isfile(path):
        raise ArtifactPlanError("kubernetes_artifacts_dir: %s does not exist on the controller (expected the upstream "
                                "%s at %s under kubernetes_artifacts_dir=%s, see docs/artifacts.md). Nothing was "
                                "installed." % (path, entry["url"], entry["offline_path"], artifacts_dir))
    actual = file_checksum(path, _algorithm(entry["checksum"]))
    if actual != entry["checksum"]:
        raise ArtifactPlanError("kubernetes_artifacts_dir: " + mismatch_message(
            path, actual, entry, "the file in kubernetes_artifacts_dir"))
    return path


def cached_download(cache_dir, entry, fetch, check_mode=False):
    """The verified path of ``entry`` in the cache, downloading it with ``fetch(url, handle)`` when it is
    not there (or no longer matches). Returns (path, downloaded). ``fetch`` raises IOError/OSError with
    a reason. The download is verified before it is moved into place; a bad one is deleted."""
    path = os.path.join(cache_dir, entry["offline_path"])
    algorithm = _algorithm(entry["checksum"])
    if os.path.isfile(path) and file_checksum(path, algorithm) == entry["checksum"]:
        return path, False
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, 0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".download-")
    except OSError as exc:
        raise ArtifactPlanError("kubernetes_artifacts_cache_dir: cannot write into %s: %s" % (directory, exc))
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                fetch(entry["url"], handle)
        except (IOError, OSError) as exc:
            raise ArtifactPlanError("could not download %s: %s; use kubernetes_artifacts_source=offline with "
                                    "kubernetes_artifacts_dir (a directory on the controller holding %s, see "
                                    "docs/artifacts.md)" % (entry["url"], exc, entry["offline_path"]))
        actual = file_checksum(tmp, algorithm)
        if actual != entry["checksum"]:
            raise ArtifactPlanError("kubernetes_artifacts_source=url: " + mismatch_message(
                "the download of %s" % entry["url"], actual, entry, "use kubernetes_artifacts_source=offline if the "
                "download is altered on the way"))
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path, True


def _read_stamp(directory):
    try:
        with open(os.path.join(directory, STAMP)) as handle:
            stamp = json.load(handle)
    except (IOError, OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def unpacked_dir(tarball_path, entry):
    """Where the members of ``tarball_path`` are unpacked: next to it, one directory per tarball."""
    return os.path.join(os.path.dirname(tarball_path), "bin-%s-linux-%s" % (entry["kind"], entry["arch"]))


def unpack_members(tarball_path, checksum, members, directory):
    """Unpack ``members`` ({name: member path}) of the verified tarball into ``directory`` (0755 each).

    A binary already unpacked from the same tarball (stamp) whose sha256 still matches is kept;
    anything else is unpacked again. Returns ({name: {"src", "sha256", "member"}}, changed).
    Only regular-file members with exactly the planned path are read (no links, no other paths).
    """
    stamp = _read_stamp(directory)
    known = stamp.get("members", {}) if stamp.get("tarball") == checksum else {}
    result, todo = {}, {}
    for name, member in sorted(members.items()):
        path = os.path.join(directory, name)
        sha = known.get(name)
        if sha and os.path.isfile(path) and file_checksum(path, "sha256") == sha:
            result[name] = {"src": path, "sha256": sha.split(":", 1)[1], "member": member}
        else:
            todo[name] = member
    if not todo:
        return result, False
    os.makedirs(directory, 0o755, exist_ok=True)
    wanted_members = dict((member, name) for name, member in todo.items())
    found = {}
    with tarfile.open(tarball_path, "r:gz") as archive:
        for info in archive:
            name = wanted_members.get(info.name)
            if name is None:
                continue
            if not info.isfile():
                raise ArtifactPlanError("%s: member %s is not a regular file" % (tarball_path, info.name))
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".unpack-")
            digest = hashlib.sha256()
            source = archive.extractfile(info)
            with os.fdopen(fd, "wb") as handle:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    digest.update(chunk)
                    handle.write(chunk)
            os.chmod(tmp, 0o755)
            os.rename(tmp, os.path.join(directory, name))
            found[name] = digest.hexdigest()
    absent = sorted(set(todo) - set(found))
    if absent:
        raise ArtifactPlanError("%s does not contain %s (expected the upstream layout kubernetes/<kind>/bin/<name>)" % (
            tarball_path, ", ".join(todo[n] for n in absent)))
    for name, sha in found.items():
        result[name] = {"src": os.path.join(directory, name), "sha256": sha, "member": todo[name]}
    members_stamp = dict(known)
    members_stamp.update(("%s" % n, "sha256:%s" % s) for n, s in found.items())
    tmp_fd, tmp = tempfile.mkstemp(dir=directory, prefix=".stamp-")
    with os.fdopen(tmp_fd, "w") as handle:
        json.dump({"tarball": checksum, "members": members_stamp}, handle, indent=2, sort_keys=True)
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(directory, STAMP))
    return dict(sorted(result.items())), True
