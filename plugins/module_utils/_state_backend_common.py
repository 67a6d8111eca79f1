# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""state_backend: what its parts share: the domain error and the action recorder (check mode)."""
from __future__ import annotations


class StateBackendError(Exception):
    """A refusal of state_backend (bad input, a resource in a state it cannot repair); the module
    turns it into fail_json in one place. ``result`` holds extra return values (objects, errors ...)."""

    def __init__(self, msg, **result):
        super(StateBackendError, self).__init__(msg)
        self.msg = msg
        self.result = result


class Recorder(object):
    """Records what is (or in check mode would be) done, in order; runs it unless in check mode."""

    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.actions = []
        self.changed = False
        self.operation = None

    def act(self, description, func=None, *args, **kwargs):
        self.actions.append(description)
        self.changed = True
        if func is not None and not self.check_mode:
            self.operation = description
            return func(*args, **kwargs)
        return None
