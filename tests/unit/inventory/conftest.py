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
