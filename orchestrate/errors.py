"""The exception hierarchy and the stable exit codes.

Imports nothing of ours. Every error the CLI shows is a StatefulError; the CLI catches that one
base in one place and exits with the error's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHANGES_PENDING = 1
    BAD_SPEC = 2
    ENGINE_UNREACHABLE = 3
    APPLY_FAILED = 4
    DATA_GUARD = 5
    BUSY = 75


class StatefulError(Exception):
    """Base of every error we expect and explain. A subclass names its code; a raise site that
    carries a planner's Problem passes that problem's code instead."""

    exit_code: ExitCode = ExitCode.APPLY_FAILED

    def __init__(self, *args: object, exit_code: ExitCode | None = None) -> None:
        super().__init__(*args)
        if exit_code is not None:
            self.exit_code = exit_code


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec, located in its file."""

    file: str
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    field: str  # dotted path, e.g. "volumes.data.target"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return printable(text)


def printable(text: str) -> str:
    """`text` on one line with no terminal controls: a spec's own bytes reach error messages."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class SpecError(StatefulError):
    """One or more problems in the specs; all of them are reported at once."""

    exit_code = ExitCode.BAD_SPEC

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.field))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(StatefulError):
    """The command line itself is wrong (an unknown option value, a missing confirmation):
    nothing was looked at or touched."""

    exit_code = ExitCode.BAD_SPEC


class Refused(StatefulError):
    """The command was understood, but what the engine or the state dir shows forbids it (no such
    app, nothing to back up, data in the way): a run-time refusal, not a usage error."""

    exit_code = ExitCode.APPLY_FAILED


class NotOurs(Refused):
    """A container holding the app's name was not made by stateful: it is left alone."""


class StateDirUnusable(StatefulError):
    """The state dir cannot be made or written (under a file, on a kernel file system, no
    permission): a usage error, fixed by choosing another with --state-dir."""

    exit_code = ExitCode.BAD_SPEC


class StoreCorrupt(Refused):
    """`state.db` is not a store we can open (garbage, a directory). It is never replaced: the
    journal and fingerprints in it may be all that is left of an interrupted run."""


class EngineUnreachable(StatefulError):
    exit_code = ExitCode.ENGINE_UNREACHABLE

    def __init__(self, endpoint: str, reason: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"cannot reach the Docker engine at {endpoint}: {reason}")


class EngineError(StatefulError):
    """The engine refused an operation (a permanent error: retrying will not help)."""

    exit_code = ExitCode.APPLY_FAILED


class TransientEngineError(EngineError):
    """The engine failed in a way that may pass (server error, timeout); worth a retry."""


class NotFoundError(EngineError):
    """The object asked for does not exist."""


class ApplyFailed(StatefulError):
    exit_code = ExitCode.APPLY_FAILED


class LockBusy(StatefulError):
    exit_code = ExitCode.BUSY
