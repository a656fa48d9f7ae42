"""Test-only fault injection: die with SIGKILL right after a named step.

Set STATEFUL_FAULT_KILL_AFTER=<step> (e.g. `stop-old`) and `stateful` kills itself, uncleanly,
right after that step of a recreate (or of a rollback) has run. The crash-safety tests use it to
prove that the next run finishes or rolls back from any point. Never set it in production.
"""

from __future__ import annotations

import os
import signal

ENV = "STATEFUL_FAULT_KILL_AFTER"


def after(step: str) -> None:
    if os.environ.get(ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
