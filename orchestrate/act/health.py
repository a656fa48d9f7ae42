"""Waiting for an app to be healthy: its healthcheck, or staying up for a settle period.

Polls the engine until healthy, unhealthy, exited, or out of time. While it waits it also runs
the container's healthcheck command itself (exec, every PROBE_S, each within the check's timeout),
as newer engines do during a start interval: the first success is healthy, without waiting for the
engine's next check (30 s apart by default). The engine's status still counts: `unhealthy` from
either fails the gate. It must not change the container: it only looks and runs the check.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from orchestrate.backends import Engine
from orchestrate.model.desired import Healthcheck
from orchestrate.model.observed import ObservedContainer

DEFAULT_INTERVAL_S = 30.0  # the engine's defaults when a healthcheck leaves them out
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 3
POLL_S = 0.1  # between looks at the engine's status of a container with a healthcheck
SETTLE_POLL_S = 0.25  # without one: it only has to stay up, and 8 gates at once should not flood the engine
PROBE_S = 0.1  # between two runs of the healthcheck command by the gate


@dataclass(frozen=True)
class HealthGate:
    timeout: float
    settle: float

    @classmethod
    def for_container(cls, container: ObservedContainer, *, timeout: float | None, settle: float) -> HealthGate:
        """Time allowed from the container's effective healthcheck (the spec's merged with the image's)."""
        if timeout is not None:
            return cls(timeout, settle)
        check = container.healthcheck
        if check is None or check.test == ("NONE",):
            return cls(settle + 30.0, settle)
        interval = (check.interval_ns / 1e9) or DEFAULT_INTERVAL_S
        retries = check.retries or DEFAULT_RETRIES
        return cls(check.start_period_ns / 1e9 + interval * (retries + 1) + 30.0, settle)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""


class Prober:
    """Runs a healthcheck command in the container, again and again, on a thread of its own, until
    it passes, counts as failed as the engine would count it, or the gate is done.

    Only the exit code counts (an engine can lose a quick exec's output). A run that takes longer
    than the check's timeout is a failure, as it is for the engine. Failures before the end of the
    start period do not count; after it, failing for as long as the engine's `retries` checks
    would take is unhealthy.
    """

    def __init__(self, engine: Engine, container_id: str, check: Healthcheck) -> None:
        self.engine = engine
        self.container_id = container_id
        self.argv = command_of(check)
        self.timeout = check.timeout_ns / 1e9 or DEFAULT_TIMEOUT_S
        self.start_period = check.start_period_ns / 1e9
        self.failing_for = (check.interval_ns / 1e9 or DEFAULT_INTERVAL_S) * (check.retries or DEFAULT_RETRIES)
        self.health = ""  # "healthy" | "unhealthy" once it knows
        self.known = threading.Event()  # set with health
        self.done = threading.Event()  # set by the gate: stop probing

    def start(self) -> None:
        # A daemon: a check that hangs past the gate must not keep the run alive.
        threading.Thread(target=self._run, name=f"probe-{self.container_id[:12]}", daemon=True).start()

    def _run(self) -> None:
        began = time.monotonic()
        first_failure: float | None = None
        while not self.done.is_set():
            asked = time.monotonic()
            try:
                code = self.engine.exec_capture(self.container_id, list(self.argv))[0]
            except Exception:  # not running (yet, or any more), or any failure to exec: not a pass
                code = -1  # the engine's status says what the container is doing
            now = time.monotonic()
            if code == 0 and now - asked <= self.timeout:
                self._know("healthy")
                return
            if now - began >= self.start_period:
                first_failure = now if first_failure is None else first_failure
                if now - first_failure >= self.failing_for:
                    self._know("unhealthy")
                    return
            self.done.wait(PROBE_S)

    def _know(self, health: str) -> None:
        self.health = health
        self.known.set()


def command_of(check: Healthcheck | None) -> tuple[str, ...]:
    """The argv the engine runs for a healthcheck, or () when it runs none."""
    if check is None or not check.test:
        return ()
    form, *rest = check.test
    if form == "CMD" and rest:
        return tuple(rest)
    if form == "CMD-SHELL" and rest:
        return ("/bin/sh", "-c", rest[0])
    return ()  # NONE, or a form this engine version does not run


def wait_healthy(engine: Engine, container_id: str, gate: HealthGate, *, probe: bool = False) -> Verdict:
    """Healthy by its healthcheck, or (without one) still running `settle` seconds after start.

    With `probe`, the gate also runs the healthcheck command itself (Prober) while it waits.
    """
    started = time.monotonic()
    first = engine.inspect_container(container_id)
    if first is None:
        return Verdict(False, "vanished")
    baseline = (first.started_at, first.restart_count)
    check = first.healthcheck
    prober = Prober(engine, container_id, check) if probe and check is not None and command_of(check) else None
    if prober is not None:
        prober.start()
    try:
        every = POLL_S if command_of(check) else SETTLE_POLL_S
        return _poll(engine, container_id, gate, started, baseline, prober, every)
    finally:
        if prober is not None:
            prober.done.set()


def _poll(
    engine: Engine, container_id: str, gate: HealthGate, started: float, baseline: tuple[str, int], prober: Prober | None, every: float
) -> Verdict:

    def verdict(container: ObservedContainer | None) -> Verdict | None:
        if container is None:
            return Verdict(False, "vanished")
        if not container.running:
            return Verdict(False, f"stopped ({container.status}) instead of becoming healthy")
        if (container.started_at, container.restart_count) != baseline:
            return Verdict(False, "exited and was restarted instead of becoming healthy")
        if container.health == "healthy":
            return Verdict(True)
        if container.health == "unhealthy":
            return Verdict(False, "reported unhealthy by its healthcheck")
        if prober is not None and prober.health == "unhealthy":
            return Verdict(False, "unhealthy: its healthcheck command kept failing when run by the health gate")
        if prober is not None and prober.health == "healthy":
            return Verdict(True)  # the check passed when the gate ran it; the engine says so at its next check
        if not container.health and time.monotonic() - started >= gate.settle:
            return Verdict(True)  # no healthcheck: up for the settle period
        return None

    deadline = started + gate.timeout
    while True:
        result = verdict(engine.inspect_container(container_id))
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            return Verdict(False, f"did not become healthy within {gate.timeout:.0f}s")
        if prober is not None:
            prober.known.wait(every)  # look again at once when the prober knows
        else:
            time.sleep(every)
