"""Waiting for an app to be healthy: its healthcheck, or staying up for a settle period.

Polls the engine (tenacity) until healthy, unhealthy, exited, or out of time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from orchestrate.backends import Engine
from orchestrate.model.observed import ObservedContainer

DEFAULT_INTERVAL_S = 30.0  # the engine's defaults when a healthcheck leaves them out
DEFAULT_RETRIES = 3
POLL_S = 0.25


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


def wait_healthy(engine: Engine, container_id: str, gate: HealthGate) -> Verdict:
    """Healthy by its healthcheck, or (without one) still running `settle` seconds after start."""
    started = time.monotonic()
    first = engine.inspect_container(container_id)
    if first is None:
        return Verdict(False, "vanished")
    baseline = (first.started_at, first.restart_count)

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
        if not container.health and time.monotonic() - started >= gate.settle:
            return Verdict(True)  # no healthcheck: up for the settle period
        return None

    from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed  # only when waiting

    poll = Retrying(
        retry=retry_if_result(lambda v: v is None),
        stop=stop_after_delay(gate.timeout),
        wait=wait_fixed(POLL_S),
    )
    try:
        result: Verdict | None = poll(lambda: verdict(engine.inspect_container(container_id)))
    except RetryError:
        result = None
    return result or Verdict(False, f"did not become healthy within {gate.timeout:.0f}s")
