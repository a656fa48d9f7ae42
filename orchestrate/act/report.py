"""What a run was asked to respect and what it did: options, outcomes, the report. Light on purpose.

Kept apart from the executor so that a run with nothing to do, and the JSON/metrics writers, never
load the executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrate.decide.plan import Kind
from orchestrate.errors import ExitCode

# Apps applied side by side at most, by default. The engine does the work and our threads mostly
# wait on it (stops, starts, health gates): on a 2-core host, 8 took the first apply of 100 apps
# from 46 s (one at a time) to 17-22 s (bench/noop.py); more mostly queues in the engine.
DEFAULT_PARALLEL = 8

Reporter = Callable[[str, str, float | None], None]  # (app, step description, seconds taken)


@dataclass(frozen=True)
class Options:
    health_timeout: float | None = None  # None: derived from the app's healthcheck
    settle_seconds: float = 5.0  # how long an app without a healthcheck must stay up
    pull_backoff: float = 1.0  # seconds before the first retry of a transiently failed pull (doubles)
    state_dir: str = ""  # the run's state dir identity, labelled on the containers it makes
    parallel: int = DEFAULT_PARALLEL  # apps applied side by side at most (act/schedule.py orders them)


@dataclass(frozen=True)
class Outcome:
    app: str
    kind: Kind
    ok: bool
    message: str = ""
    exit_code: ExitCode = ExitCode.OK
    seconds: float = 0.0
    # The executor set out to change the engine for this app (worked or not): what is there now
    # must be looked at again. False for noops, refusals, deferrals and skipped dependants.
    acted: bool = False


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: bool = False  # asked to stop (SIGTERM) before every action ran

    @property
    def exit_code(self) -> ExitCode:
        codes = {o.exit_code for o in self.outcomes if not o.ok}
        for code in (ExitCode.DATA_GUARD, ExitCode.APPLY_FAILED, ExitCode.BAD_SPEC):
            if code in codes:
                return code
        return ExitCode.OK
