# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Where an apron project lives: the one lookup shared by the modules and the inventory plugin."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

PROJECT_MARKERS = ("galaxy.yml", ".git")


def find_project_dir(start):
    """The nearest directory at or above ``start`` (a file's directory for a file) holding one of
    ``PROJECT_MARKERS``, else None. Never the current directory: the same model must find the same
    state wherever the playbook runs."""
    path = os.path.abspath(start)
    if not os.path.isdir(path):
        path = os.path.dirname(path)
    while True:
        if any(os.path.exists(os.path.join(path, marker)) for marker in PROJECT_MARKERS):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
