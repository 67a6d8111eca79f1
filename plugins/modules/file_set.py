#!/usr/bin/python
# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_set
short_description: Make several directories and small files in one call (content, owner, group, mode)
version_added: 0.1.0
description:
  - Makes each directory of O(directories) exist with the given owner, group and mode, then each file of O(files)
    hold the given content, owner, group and mode, in one module call on the host.
  - A loop of M(ansible.builtin.copy) or M(ansible.builtin.template) costs two module runs per file even when
    nothing changes (a C(stat) and a C(file)); roles that install many small files (units, settings, wrapper
    scripts, registry entries) use this module so that a run that changes nothing stays fast.
    Render templates on the controller with the C(ansible.builtin.template) lookup and pass the text.
  - Each file is written atomically (a temporary file in the same directory, given its owner, group and mode
    before it replaces the old one). The directory of a file must exist or be in O(directories).
  - Not for secrets - the content is shown by C(--diff). Use M(ansible.builtin.copy) with C(no_log) for those.
author:
  - apron.cluster contributors (@apron-io)
extends_documentation_fragment:
  - apron.cluster.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - One diff per file whose content changes or directory that is created, and one per path whose owner, group
        or mode changes.
  idempotent:
    support: full
options:
  directories:
    description:
      - Directories, made in this order before the files. Missing parents are made too, with the same owner, group
        and mode (as M(ansible.builtin.file) does).
      - At least one of O(directories) and O(files) is needed.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner:
        description: Owner (name or UID). Left as it is when not given.
        type: str
      group:
        description: Group (name or GID). Left as it is when not given.
        type: str
      mode:
        description: Octal mode such as V('0750'). Left as it is when not given (a new directory gets V('0755')).
        type: raw
  files:
    description: The files.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: The whole content of the file (text, written as UTF-8).
        type: str
        required: true
      owner:
        description: Owner (name or UID). Left as it is when not given (a new file is owned by the module's user).
        type: str
      group:
        description: Group (name or GID). Left as it is when not given.
        type: str
      mode:
        description: Octal mode such as V('0644'). Left as it is when not given (a new file gets V('0600')).
        type: raw
requirements: []
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.template
"""

EXAMPLES = r"""
- name: Make the directories and install the unit and its settings in one call
  apron.cluster.file_set:
    directories:
      - path: /etc/apron/example
        owner: root
        group: root
        mode: "0755"
    files:
      - path: /etc/systemd/system/apron-example.service
        content: "{{ lookup('ansible.builtin.template', 'apron-example.service.j2') }}"
        owner: root
        group: root
        mode: "0644"
      - path: /etc/apron/example/example.env
        content: "LISTEN=127.0.0.1:8080\n"
        owner: root
        group: root
        mode: "0640"
  register: written
  notify: Reload systemd

- name: Show what changed
  ansible.builtin.debug:
    msg: "{{ written.changed_paths }}"
"""

RETURN = r"""
changed_paths:
  description:
    - The directories made or changed, then the files whose content, owner, group or mode changed (or would change in
      check mode), in the order of O(directories) and O(files).
  returned: always
  type: list
  elements: str
  sample: [/etc/apron/etcd/k8s-main/etcd.env]
directories:
  description: One entry per O(directories) entry, in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The directory.
      type: str
    changed:
      description: Whether it was made or its owner, group or mode changed.
      type: bool
files:
  description: One entry per O(files) entry, in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    changed:
      description: Whether anything about it changed.
      type: bool
    content_changed:
      description: Whether its content changed (true for a new file).
      type: bool
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.apron.cluster.plugins.module_utils._file_set import (
    FileSetError, check_input, content_diff, decode_for_diff,
)


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise FileSetError("%s is a directory, not a file" % path)


def _ids(entry):
    uid = gid = -1
    if entry.get("owner") is not None:
        uid = _lookup_user(entry["owner"], entry["path"])
    if entry.get("group") is not None:
        gid = _lookup_group(entry["group"], entry["path"])
    return uid, gid


def _lookup_user(owner, path):
    import pwd
    try:
        return int(owner) if str(owner).isdigit() else pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise FileSetError("%s: owner %r does not exist on the host; create the user first" % (path, owner))


def _lookup_group(group, path):
    import grp
    try:
        return int(group) if str(group).isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise FileSetError("%s: group %r does not exist on the host; create the group first" % (path, group))


def _write(entry, data, uid, gid):
    """Write atomically; the temporary file has its final owner and mode before it replaces the old one."""
    directory = os.path.dirname(entry["path"])
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(entry["path"]))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if uid != -1 or gid != -1:
            os.chown(tmp, uid, gid)
        os.chmod(tmp, entry["mode"] if entry["mode"] is not None else 0o600)
        os.replace(tmp, entry["path"])
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _attributes(module, entry, diffs):
    """Owner, group and mode of an existing path; True when they changed (or would in check mode)."""
    attribute_diff = {"before": {"path": entry["path"]}, "after": {"path": entry["path"]}}
    file_args = module.load_file_common_arguments(
        {"owner": entry.get("owner"), "group": entry.get("group"), "mode": entry["mode"]}, path=entry["path"])
    changed = module.set_fs_attributes_if_different(file_args, False, diff=attribute_diff)
    if changed:
        diffs.append(attribute_diff)
    return changed


def make_directories(module, entries, diffs):
    results = []
    for entry in entries:
        path = entry["path"]
        if os.path.isdir(path):
            results.append({"path": path, "changed": _attributes(module, entry, diffs)})
            continue
        if os.path.lexists(path):
            raise FileSetError("%s exists and is not a directory" % path)
        # Missing parents are made too, with the same owner, group and mode (as ansible.builtin.file does).
        missing = [path]
        while not os.path.isdir(os.path.dirname(missing[0])):
            parent = os.path.dirname(missing[0])
            if os.path.lexists(parent):
                raise FileSetError("%s: %s exists and is not a directory" % (path, parent))
            missing.insert(0, parent)
        diffs.append({"before": {"path": path, "state": "absent"}, "after": {"path": path, "state": "directory"}})
        if not module.check_mode:
            uid, gid = _ids(entry)
            for directory in missing:
                if os.path.isdir(directory):  # listed earlier in this call
                    continue
                os.mkdir(directory, 0o700)
                if uid != -1 or gid != -1:
                    os.chown(directory, uid, gid)
                os.chmod(directory, entry["mode"] if entry["mode"] is not None else 0o755)
        results.append({"path": path, "changed": True})
    return results


def converge(module, entries, diffs):
    results = []
    for entry in entries:
        path = entry["path"]
        data = to_bytes(entry["content"], errors="surrogate_or_strict")
        current = _read(path)
        content_changed = current != data
        if not os.path.isdir(os.path.dirname(path)):
            if not module.check_mode:
                raise FileSetError("%s: the directory %s does not exist; create it first"
                                   % (path, os.path.dirname(path)))
            # Check mode: O(directories) or an earlier task of the run would have made it.
            results.append({"path": path, "changed": True, "content_changed": True})
            diffs.append(content_diff(path, None, decode_for_diff(data)))
            continue
        if content_changed:
            diffs.append(content_diff(path, None if current is None else decode_for_diff(current),
                                      decode_for_diff(data)))
            if not module.check_mode:
                uid, gid = _ids(entry)
                # A replaced file keeps its current owner and mode unless the entry sets them.
                if current is not None:
                    stat = os.stat(path)
                    uid = stat.st_uid if uid == -1 else uid
                    gid = stat.st_gid if gid == -1 else gid
                    entry = dict(entry, mode=entry["mode"] if entry["mode"] is not None else stat.st_mode & 0o7777)
                _write(entry, data, uid, gid)
        attributes_changed = current is not None and _attributes(module, entry, diffs)
        results.append({"path": path, "changed": content_changed or attributes_changed,
                        "content_changed": content_changed})
    return results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="raw"),
            )),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="raw"),
            )),
        ),
        supports_check_mode=True,
    )
    diffs = []
    try:
        files, directories = check_input(module.params["files"], module.params["directories"])
        made = make_directories(module, directories, diffs)
        written = converge(module, files, diffs)
    except (FileSetError, OSError) as exc:
        module.fail_json(msg="apron.cluster.file_set: %s" % exc)
    changed_paths = [r["path"] for r in made + written if r["changed"]]
    kwargs = {"diff": diffs} if module._diff else {}
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, directories=made, files=written,
                     **kwargs)


if __name__ == "__main__":
    main()
