# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the inventory plugin tests."""
from __future__ import annotations

import pytest


class Warnings(list):
    """Warnings shown by Ansible's Display during the test."""

    def matching(self, text):
        return [w for w in self if text in w]


@pytest.fixture
def warnings_seen(monkeypatch):
    from ansible.utils.display import Display
    seen = Warnings()
    original = Display.warning

    def record(self, msg, *args, **kwargs):
        seen.append(str(msg))
        return original(self, msg, *args, **kwargs)

    monkeypatch.setattr(Display, "warning", record)
    return seen
