"""For tests that execute learner code in the grading sandbox: the sandbox, or a clear failure.

Without a usable sandbox such a test FAILS with the reason and what to install, unless the run
says sandboxes are optional (``NLPCOURSE_SANDBOX_OPTIONAL=1``); then it skips with that reason.
CI never sets it (``.ci/run``), so no grading test can silently skip there.
"""

from __future__ import annotations

import os

import pytest

from nlpcourse.grading import sandbox as sb

OPTIONAL = "NLPCOURSE_SANDBOX_OPTIONAL"


def require_sandbox(name: str = "auto") -> sb.Sandbox:
    """The sandbox ``name`` (see ``sandbox.NAMES``); fail, or skip when optional, without one."""
    try:
        return sb.get_sandbox(name)
    except sb.SandboxUnavailable as err:
        if os.environ.get(OPTIONAL) == "1":
            pytest.skip(f"{err} ({OPTIONAL}=1)")
        pytest.fail(f"{err} (or set {OPTIONAL}=1 to skip the tests that need a sandbox)", pytrace=False)
