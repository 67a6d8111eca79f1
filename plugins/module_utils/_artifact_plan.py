# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Artifact planner: from the resolved cluster model (apron.cluster.cluster_model's ``model``),
every file and container image the clusters need, with upstream URL and checksum.

Pure functions over plain data; the facts come from _kubernetes_releases (the one release
manifest). An artifact whose checksum was not published (or not read) carries
``checksum: None`` and ``checksum_status: "no published checksum"`` with the reason, and
``require_verified`` refuses it until the user supplies one (``overrides``).

Overrides (the user's pins), keyed by override name:
  kubernetes-<version>: {checksums: {"server-<arch>": "sha512:..", "node-<arch>": ".."}}
  crictl / cni-plugins: {version: "x.y.z", checksum: "sha256:.." (or a bare hex digest)}
  pause / coredns / calico: {version: "x.y.z", digest: "sha256:.." (optional)}
  etcd: given by the etcd role's variables (etcd_release_version / etcd_release_sha256).
"""
from __future__ import annotations

import re

from ansible_collections.apron.cluster.plugins.module_utils import _kubernetes_releases as R

NO_PUBLISHED_CHECKSUM = "no published checksum"
PUBLISHED = "published"
USER_SUPPLIED = "user-supplied"
UNPINNED = "unpinned"

_VERSION_RE = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9]+)$")
_IMAGE_TAG_RE = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
_HEX_LEN = {"sha256": 64, "sha512": 128}
_K8S_ROLES = ("master", "worker")
# Masters install from the server tarball, workers from the node tarball.
_TARBALL_ROLE = {"kubernetes-server": "master", "kubernetes-node": "worker"}


# Where each artifact lives in the offline artifacts directory on the controller (relative path):
# the one owner of that layout (docs/artifacts.md shows it; the roles read entry["offline_path"]).
# etcd keeps the etcd role's existing layout (etcd_release_artifacts_dir/<file>).
OFFLINE_LAYOUT = {
    "file": "{name}/v{version}/{filename}",
    "etcd": "{filename}",
    "image": "images/{name}_{version}.tar",
}


def offline_path(entry):
    """The path of ``entry`` relative to the offline artifacts directory (None while unpinned)."""
    if entry.get("version") is None:
        return None
    if entry["type"] == "image":
        return OFFLINE_LAYOUT["image"].format(name=entry["name"], version=entry["version"])
    if entry["name"] == "etcd":
        return OFFLINE_LAYOUT["etcd"].format(filename=entry["filename"])
    name = "kubernetes" if entry["name"].startswith("kubernetes-") else entry["name"]
    return OFFLINE_LAYOUT["file"].format(name=name, version=entry["version"], filename=entry["filename"])


class ArtifactPlanError(Exception):
    """A bad input: the message names the field to fix and what was expected."""


def parse_version(value, field):
    """(major, minor, patch) of an x.y.z string; ArtifactPlanError naming ``field`` otherwise."""
    match = _VERSION_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise ArtifactPlanError("%s: %r is not a full version x.y.z (expected e.g. %r)" % (
            field, value, R.DEFAULT_KUBERNETES_VERSION))
    return tuple(int(part) for part in match.groups())


def check_kubernetes_version(version, field):
    """The supported minor of ``version``; an ArtifactPlanError naming the field and the list otherwise."""
    major, minor, _patch = parse_version(version, field)
    if major != 1 or minor not in R.SUPPORTED_KUBERNETES_MINORS:
        raise ArtifactPlanError("%s: Kubernetes %s is not supported (supported: %s; pinned: %s)" % (
            field, version, R.supported_versions_text(),
            ", ".join(R.pinned_versions()[m] for m in R.SUPPORTED_KUBERNETES_MINORS)))
    return minor


def normalize_checksum(value, algorithm, field):
    """'<algorithm>:<hex>' from a bare hex digest or an '<algorithm>:<hex>' string."""
    if not isinstance(value, str) or not value:
        raise ArtifactPlanError("%s: expected a %s checksum (hex, optionally prefixed '%s:'), got %r" % (
            field, algorithm, algorithm, value))
    algo, _sep, digest = value.rpartition(":")
    algo = algo or algorithm
    digest = digest.lower()
    if algo not in _HEX_LEN or len(digest) != _HEX_LEN[algo] or not re.match(r"^[0-9a-f]+$", digest):
        raise ArtifactPlanError("%s: %r is not a sha256 (64 hex digits) or sha512 (128 hex digits) checksum" % (
            field, value))
    return "%s:%s" % (algo, digest)


def _override(overrides, name):
    entry = (overrides or {}).get(name)
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        raise ArtifactPlanError("overrides.%s: expected a dict (version, checksum, digest), got %r" % (name, entry))
    unknown = sorted(set(entry) - {"version", "checksum", "checksums", "digest"})
    if unknown:
        raise ArtifactPlanError("overrides.%s: unknown key(s) %s (expected version, checksum, checksums, digest)" % (
            name, ", ".join(unknown)))
    return entry


def _cluster_needs(model):
    """{cluster: {"version", "roles": set, "addons": set}} of the clusters that run Kubernetes."""
    needs = {}
    for name, pool in sorted((model.get("pools") or {}).items()):
        spec = pool.get("spec") or {}
        role = spec.get("role")
        if role not in _K8S_ROLES:
            continue
        cluster_name = spec.get("cluster")
        cluster = (model.get("clusters") or {}).get(cluster_name)
        if cluster is None:
            raise ArtifactPlanError("InstancePool/%s spec.cluster: %r is not a cluster of the model" % (name, cluster_name))
        cspec = cluster.get("spec") or {}
        entry = needs.setdefault(cluster_name, {"version": cspec.get("kubernetesVersion"), "roles": set(), "addons": set()})
        entry["roles"].add(role)
        for addon in cspec.get("addons") or []:
            if isinstance(addon, dict) and addon.get("name"):
                entry["addons"].add(addon["name"])
        overlay = (cspec.get("network") or {}).get("overlay")
        if overlay:
            entry["addons"].add(overlay)
    return needs


def _merge(items, key, entry, cluster, roles):
    existing = items.get(key)
    if existing is None:
        entry["clusters"] = [cluster]
        entry["roles"] = sorted(roles)
        items[key] = entry
    else:
        existing["clusters"] = sorted(set(existing["clusters"]) | {cluster})
        existing["roles"] = sorted(set(existing["roles"]) | set(roles))


def _kubernetes_files(version, minor, arch, roles, overrides):
    kinds = ["server"] if "master" in roles else []
    if "worker" in roles:
        kinds.append("node")
    return [_kubernetes_file(version, minor, arch, kind, overrides) for kind in kinds]


def _kubernetes_file(version, minor, arch, kind, overrides, field_prefix="overrides"):
    """The entry of one Kubernetes tarball (``kind`` server or node); ``field_prefix`` names the
    variable that holds the overrides in the messages (``overrides`` of the module, or a role variable)."""
    release = R.KUBERNETES[minor]
    pinned = release["version"] == version
    user = _override(overrides, "kubernetes-%s" % version)
    user_sums = user.get("checksums") or {}
    if not isinstance(user_sums, dict):
        raise ArtifactPlanError("%s.kubernetes-%s.checksums: expected a dict like {server-%s: sha512:...}, got %r" % (
            field_prefix, version, arch, user_sums))
    filename = "kubernetes-%s-linux-%s.tar.gz" % (kind, arch)
    entry = {
        "name": "kubernetes-%s" % kind,
        "type": "file",
        "version": version,
        "arch": arch,
        "filename": filename,
        "url": "%s/%s" % (R.K8S_BASE_URL.format(version=version), filename),
        "components": list(R.K8S_TARBALL_BINARIES[kind]),
        "source": R.SOURCES[release["source"]]["read"] if pinned else None,
    }
    published = release["tarballs"].get(kind, {}).get(arch) if pinned else None
    user_sum = user_sums.get("%s-%s" % (kind, arch))
    field = "%s.kubernetes-%s.checksums.%s-%s" % (field_prefix, version, kind, arch)
    if user_sum is not None:
        entry["checksum"] = normalize_checksum(user_sum, release["algorithm"], field)
        entry["checksum_status"] = USER_SUPPLIED
        entry["checksum_field"] = field
    elif published:
        entry["checksum"] = "%s:%s" % (release["algorithm"], published)
        entry["checksum_status"] = PUBLISHED
    else:
        entry["checksum"] = None
        entry["checksum_status"] = NO_PUBLISHED_CHECKSUM
        entry["checksum_field"] = field
        if not pinned:
            entry["reason"] = ("Kubernetes %s is not the pinned 1.%d release (%s) of the release manifest, so no "
                               "published checksum is recorded for it" % (version, minor, release["version"]))
        else:
            entry["reason"] = release.get("checksum_note") or "the manifest records no %s checksum for %s" % (arch, filename)
    return entry


def _tool_file(name, minor, arch, overrides):
    tool = R.TOOLS[name]
    user = _override(overrides, name)
    version = user.get("version") or tool["versions"].get(minor)
    entry = {"name": name, "type": "file", "arch": arch, "source": R.SOURCES[tool["source"]]["read"]}
    if version is None:
        entry.update(version=None, url=None, filename=None, checksum=None, checksum_status=UNPINNED,
                     checksum_field="overrides.%s.checksum" % name,
                     reason=R.not_read_note(name, minor, name))
        return "%s-unpinned-1.%d" % (name, minor), entry
    parse_version(version, "overrides.%s.version" % name)
    entry["version_source"] = ("user-supplied (overrides.%s.version)" % name if user.get("version")
                               else R.SOURCES[tool["version_source"]]["read"])
    url = tool["url"].format(version=version, arch=arch)
    entry.update(version=version, url=url, filename=url.rsplit("/", 1)[1],
                 checksum_url=tool["checksum_url"].format(version=version, arch=arch))
    if user.get("checksum") is not None:
        entry["checksum"] = normalize_checksum(user["checksum"], tool["algorithm"], "overrides.%s.checksum" % name)
        entry["checksum_status"] = USER_SUPPLIED
        entry["checksum_field"] = "overrides.%s.checksum" % name
    else:
        entry.update(checksum=None, checksum_status=NO_PUBLISHED_CHECKSUM, checksum_field="overrides.%s.checksum" % name,
                     reason="upstream publishes it at %s, but it was not read into the release manifest" % entry["checksum_url"])
    return "%s-%s" % (name, version), entry


def _image(name, minor, overrides):
    spec = R.IMAGES[name]
    group = R.IMAGE_VERSION_GROUPS.get(name, name)
    user = _override(overrides, group)
    version = user.get("version") or spec["versions"].get(minor)
    entry = {"name": name, "type": "image"}
    if version is None:
        entry.update(version=None, image=None, digest=None, checksum_status=UNPINNED,
                     checksum_field="overrides.%s.version" % group, reason=R.not_read_note(group, minor, group, image=True))
        return "%s-unpinned-1.%d" % (name, minor), entry
    if not isinstance(version, str) or not _IMAGE_TAG_RE.match(version):
        raise ArtifactPlanError("overrides.%s.version: %r is not a release version x.y or x.y.z (without 'v')" % (
            group, version))
    entry.update(version=version, image=spec["image"].format(version=version))
    if user.get("digest") is not None:
        entry["digest"] = normalize_checksum(user["digest"], "sha256", "overrides.%s.digest" % group)
        entry["checksum_status"] = USER_SUPPLIED
    else:
        entry.update(digest=None, checksum_status=NO_PUBLISHED_CHECKSUM, checksum_field="overrides.%s.digest" % group,
                     reason="no image digest was read into the release manifest; the image is pinned by tag only")
    return entry["image"], entry


def _etcd_file(etcd, arch):
    version = etcd.get("version")
    parse_version(version, "etcd_release_version")
    url = R.ETCD["url"].format(version=version, arch=arch)
    entry = {"name": "etcd", "type": "file", "version": version, "arch": arch, "url": url,
             "filename": url.rsplit("/", 1)[1], "clusters": [], "roles": ["etcd"],
             "source": R.SOURCES[R.ETCD["source"]]["read"]}
    if etcd.get("checksum"):
        entry["checksum"] = normalize_checksum(etcd["checksum"], R.ETCD["algorithm"], "etcd_release_sha256")
        entry["checksum_status"] = USER_SUPPLIED
        entry["checksum_field"] = "etcd_release_sha256"
    else:
        entry.update(checksum=None, checksum_status=NO_PUBLISHED_CHECKSUM, checksum_field="etcd_release_sha256",
                     reason="the etcd role refuses a release install without etcd_release_sha256")
    return entry


def plan_artifacts(model, arch="amd64", etcd=None, overrides=None):
    """Every artifact and image the clusters of ``model`` need.

    ``etcd``: None (Debian package install, nothing to mirror) or {version, checksum} of the
    etcd role's pinned release. Returns {kubernetes: {cluster: version}, files: [...],
    images: [...], unverified: [...], unpinned: [...]}; raises ArtifactPlanError on bad input.
    """
    if arch not in R.ARCHES:
        raise ArtifactPlanError("arch: %r is not supported (expected one of %s)" % (arch, ", ".join(R.ARCHES)))
    if overrides is not None and not isinstance(overrides, dict):
        raise ArtifactPlanError("overrides: expected a dict keyed by artifact name, got %r" % (overrides,))
    files, images, versions = {}, {}, {}
    for cluster, need in sorted(_cluster_needs(model).items()):
        version = need["version"]
        minor = check_kubernetes_version(version, "Cluster/%s spec.kubernetesVersion" % cluster)
        versions[cluster] = version
        for entry in _kubernetes_files(version, minor, arch, need["roles"], overrides):
            _merge(files, "%s-%s" % (entry["name"], version), entry, cluster, [_TARBALL_ROLE[entry["name"]]])
        for name in sorted(R.TOOLS):
            roles = need["roles"] & set(R.TOOLS[name]["needed_by"])
            if roles:
                key, entry = _tool_file(name, minor, arch, overrides)
                _merge(files, key, entry, cluster, roles)
        for name in sorted(R.IMAGES):
            spec = R.IMAGES[name]
            roles = need["roles"] & set(spec["needed_by"])
            if roles and (spec["addon"] is None or spec["addon"] in need["addons"]):
                key, entry = _image(name, minor, overrides)
                _merge(images, key, entry, cluster, roles)
    file_list = [files[k] for k in sorted(files)]
    if etcd and etcd.get("version"):
        file_list.append(_etcd_file(etcd, arch))
    image_list = [images[k] for k in sorted(images)]
    everything = file_list + image_list
    for entry in everything:
        entry["offline_path"] = offline_path(entry)
    return {
        "arch": arch,
        "kubernetes": versions,
        "files": file_list,
        "images": image_list,
        "unverified": [_label(e) for e in everything if e["checksum_status"] == NO_PUBLISHED_CHECKSUM],
        "unpinned": [_label(e) for e in everything if e["checksum_status"] == UNPINNED],
    }


def _label(entry):
    what = entry.get("filename") or entry.get("image") or entry["name"]
    return {"name": entry["name"], "artifact": what, "field": entry.get("checksum_field"), "reason": entry.get("reason")}


def require_verified(entry):
    """The checksum of an artifact to install; refuses one without a checksum, naming the input to set."""
    if entry.get("checksum_status") == UNPINNED:
        raise ArtifactPlanError("%s is not pinned: %s" % (entry["name"], entry.get("reason")))
    if not entry.get("checksum"):
        raise ArtifactPlanError("refusing to install %s %s without a checksum (%s): %s. Set %s." % (
            entry["name"], entry.get("version"), NO_PUBLISHED_CHECKSUM, entry.get("reason"), entry.get("checksum_field")))
    return entry["checksum"]


def url_list(plan):
    """The plain list an air-gapped user mirrors: one URL or image reference a line, unpinned ones left out."""
    lines = [e["url"] for e in plan["files"] if e.get("url")]
    lines.extend(e["image"] for e in plan["images"] if e.get("image"))
    return lines


# --- installing Kubernetes binaries (roles/kubernetes/tasks/binaries.yml) ----------------
# The sources a role can install the binaries from, and how each is supplied (the refusals and
# the stage-mode notice name all three).
BINARY_SOURCES = ("url", "offline", "preinstalled")
# Smallest first: the node tarball (~ 1/4 of the server tarball) when it carries every wanted binary.
TARBALL_KINDS_BY_SIZE = ("node", "server")
TARBALL_MEMBER = "kubernetes/{kind}/bin/{name}"


def how_to_supply(version, arch, bin_dir):
    """The three ways to supply the Kubernetes binaries (for refusals and the stage-mode notice)."""
    node = "kubernetes-node-linux-%s.tar.gz" % arch
    return ("supply them one of three ways: kubernetes_artifacts_source=url (downloads %s/%s on the controller, "
            "needs internet); kubernetes_artifacts_source=offline with kubernetes_artifacts_dir holding %s "
            "(or the server tarball), see docs/artifacts.md; or kubernetes_artifacts_source=preinstalled with the "
            "binaries already executable in %s on the host (e.g. baked into the image)" % (
                R.K8S_BASE_URL.format(version=version), node,
                OFFLINE_LAYOUT["file"].format(name="kubernetes", version=version, filename=node), bin_dir))


def check_wanted(wanted, field="kubernetes_binaries_wanted"):
    """The wanted binary names, deduplicated in order; refuses an empty list or an unknown name."""
    if not isinstance(wanted, (list, tuple)) or not wanted:
        raise ArtifactPlanError("%s: expected a non-empty list of binaries from %s, got %r" % (
            field, ", ".join(R.K8S_COMPONENTS), wanted))
    unknown = [name for name in wanted if name not in R.K8S_COMPONENTS]
    if unknown:
        raise ArtifactPlanError("%s: %s not a Kubernetes binary of the upstream tarballs (expected names from %s)" % (
            field, ", ".join(repr(n) for n in unknown), ", ".join(R.K8S_COMPONENTS)))
    result = []
    for name in wanted:
        if name not in result:
            result.append(name)
    return result


def kubernetes_binaries_tarball(version, arch, wanted, overrides=None, version_field="kubernetes_version",
                                overrides_field="kubernetes_artifact_overrides"):
    """The one upstream tarball to install ``wanted`` from: the smallest that carries every name.

    Returns the tarball's plan entry (url, filename, checksum, checksum_status, offline_path, ...)
    plus ``kind`` and ``members`` ({binary: member path in the tarball}). Refuses (ArtifactPlanError
    naming the variable) an unsupported version, an unknown arch or binary, and a tarball without a
    checksum (published in the manifest or supplied in ``overrides``).
    """
    if arch not in R.ARCHES:
        raise ArtifactPlanError("kubernetes_arch: %r is not supported (expected one of %s)" % (
            arch, ", ".join(R.ARCHES)))
    if overrides is not None and not isinstance(overrides, dict):
        raise ArtifactPlanError("%s: expected a dict keyed by artifact name, got %r" % (overrides_field, overrides))
    minor = check_kubernetes_version(version, version_field)
    names = check_wanted(wanted)
    kind = next(k for k in TARBALL_KINDS_BY_SIZE if set(names) <= set(R.K8S_TARBALL_BINARIES[k]))
    entry = _kubernetes_file(version, minor, arch, kind, overrides, field_prefix=overrides_field)
    if entry["checksum"] is None:
        raise ArtifactPlanError("refusing to install %s from %s (Kubernetes %s) without a checksum (%s): %s. Set %s "
                                "to the sha512 the upstream CHANGELOG-1.%d.md publishes for it." % (
                                    ", ".join(names), entry["filename"], version, NO_PUBLISHED_CHECKSUM,
                                    entry["reason"], entry["checksum_field"], minor))
    entry["kind"] = kind
    entry["offline_path"] = offline_path(entry)
    entry["members"] = dict((name, TARBALL_MEMBER.format(kind=kind, name=name)) for name in names)
    return entry


def binaries_outcome(wanted, missing, mode, version, arch, bin_dir):
    """What a run ends with when ``missing`` of ``wanted`` are not installed.

    Returns {"missing": [...], "failed": bool, "msg": str or None}. ``start`` with anything missing
    is a refusal naming each file and how to supply it; ``stage`` reports what was staged without.
    Nothing missing: no message. Never silent when something is missing.
    """
    if mode not in ("start", "stage"):
        raise ArtifactPlanError("kubernetes_mode: %r is not start or stage" % (mode,))
    missing = [name for name in wanted if name in set(missing)]
    if not missing:
        return {"missing": [], "failed": False, "msg": None}
    paths = ", ".join("%s/%s" % (bin_dir.rstrip("/") or "", name) for name in missing)
    supply = how_to_supply(version, arch, bin_dir)
    if mode == "start":
        msg = ("kubernetes_mode=start needs the Kubernetes %s binaries, and these are missing (not executable): %s. "
               "%s. Or set kubernetes_mode=stage to install and configure everything without starting them." % (
                   version, paths, supply[0].upper() + supply[1:]))
        return {"missing": missing, "failed": True, "msg": msg}
    msg = ("staged without: %s (kubernetes_mode=stage: configured, not started; missing %s). To start them, %s, "
           "then run with kubernetes_mode=start." % (", ".join(missing), paths, supply))
    return {"missing": missing, "failed": False, "msg": msg}


def _installed_text(stat):
    if not stat or not stat.get("exists"):
        return "absent"
    if not stat.get("isreg") or stat.get("islnk"):
        return "not a regular file"
    return "sha256:%s %s %s:%s" % (stat.get("checksum"), stat.get("mode"), stat.get("pw_name", stat.get("uid")),
                                   stat.get("gr_name", stat.get("gid")))


def binary_changes(binaries, current, version):
    """Per wanted binary what installing it does on one host, from its ``stat`` (sha256 checksum).

    ``binaries``: {name: {"sha256": hex, ...}} (unpacked on the controller); ``current``: {name: stat
    result}. Returns [{name, action, before, after}] in the order of ``binaries``; action is
    ``install`` (absent), ``replace`` (other content, e.g. another version), ``fix`` (same content,
    other owner or mode) or ``keep``.
    """
    changes = []
    for name, wanted in binaries.items():
        stat = current.get(name) or {}
        after = "sha256:%s 0755 root:root (Kubernetes %s)" % (wanted["sha256"], version)
        if not stat.get("exists"):
            action = "install"
        elif not stat.get("isreg") or stat.get("islnk") or stat.get("checksum") != wanted["sha256"]:
            action = "replace"
        elif stat.get("mode") != "0755" or stat.get("uid") != 0 or stat.get("gid") != 0:
            action = "fix"
        else:
            action = "keep"
        before = after if action == "keep" else _installed_text(stat)
        changes.append({"name": name, "action": action, "before": before, "after": after})
    return changes


def binary_changes_diff(changes, bin_dir):
    """The --diff of an install: one line per binary, before and after."""
    return {
        "before_header": "%s (Kubernetes binaries)" % bin_dir,
        "after_header": "%s (Kubernetes binaries)" % bin_dir,
        "before": "".join("%s: %s\n" % (c["name"], c["before"]) for c in changes),
        "after": "".join("%s: %s\n" % (c["name"], c["after"]) for c in changes),
    }
