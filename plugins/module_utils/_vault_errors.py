# Copyright (c) apron.cluster contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The domain error of the Vault modules (no I/O, no hvac import)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class VaultError(Exception):
    """A refusal or a failed Vault call: which input or API path, and what was expected.

    ``field`` is the module option or Vault API path concerned, ``expected`` says what would have
    been accepted. The message never contains a token, a key or a request body.
    """

    def __init__(self, field, problem, expected=None, status=None):
        self.field = field
        self.problem = problem
        self.expected = expected
        self.status = status
        msg = "%s: %s" % (field, problem)
        if expected:
            msg += ": expected %s" % expected
        super(VaultError, self).__init__(msg)

    def as_dict(self):
        return {"field": self.field, "problem": self.problem, "expected": self.expected, "status": self.status}
