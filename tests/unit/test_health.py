"""The health gate (act/health.py) on the fake engine, with short waits.

A scripted look changes the container between the gate's polls: it turns healthy, unhealthy,
exits, or is restarted by its restart policy while the gate waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrate.act import health
from orchestrate.act.health import HealthGate, Verdict, wait_healthy
from orchestrate.model.desired import Healthcheck
from orchestrate.model.observed import ObservedContainer
from tests.unit.builders import MARIADB, load_app
from tests.unit.fake_engine import FakeContainer, FakeEngine

SPEC = """
apiVersion: stateful/v1
kind: App
name: db
image: mariadb:11.4
"""
Change = Callable[[FakeContainer], None]


@dataclass
class ScriptedEngine(FakeEngine):
    """Before its n-th look at a container, applies the n-th change of the script (if any)."""

    script: list[Change | None] = field(default_factory=list)
    looks: int = 0

    def inspect_container(self, ref: str) -> ObservedContainer | None:
        if self.looks < len(self.script) and (change := self.script[self.looks]) is not None:
            change(self.containers[ref])
        self.looks += 1
        return super().inspect_container(ref)


def healthy(c: FakeContainer) -> None:
    c.health = "healthy"


def unhealthy(c: FakeContainer) -> None:
    c.health = "unhealthy"


def exited(c: FakeContainer) -> None:
    c.status, c.health = "exited", ""


def restarted(c: FakeContainer) -> None:
    c.started += 1  # its restart policy brought it back: a new StartedAt, still "starting"



@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "POLL_S", 0.01)
    monkeypatch.setattr(health, "SETTLE_POLL_S", 0.01)


def _engine(tmp_path: Path, health_now: str, script: list[Change | None]) -> ScriptedEngine:
    engine = ScriptedEngine(images={"mariadb:11.4": MARIADB}, script=script)
    engine.add_container(load_app(tmp_path, SPEC), container_id="c1", health=health_now)
    return engine


GATE = HealthGate(timeout=2.0, settle=0.0)

CASES: list[tuple[str, str, list[Change | None], Verdict]] = [
    ("healthy at once", "healthy", [], Verdict(True)),
    ("healthy after a while", "starting", [None, None, None, healthy], Verdict(True)),
    ("unhealthy", "starting", [None, None, unhealthy], Verdict(False, "reported unhealthy by its healthcheck")),
    ("exited", "starting", [None, exited], Verdict(False, "stopped (exited) instead of becoming healthy")),
    ("restarted meanwhile", "starting", [None, restarted, healthy], Verdict(False, "exited and was restarted instead of becoming healthy")),
]


@pytest.mark.parametrize(("health_now", "script", "verdict"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_verdicts(tmp_path: Path, health_now: str, script: list[Change | None], verdict: Verdict) -> None:
    engine = _engine(tmp_path, health_now, script)
    assert wait_healthy(engine, "c1", GATE) == verdict
    assert engine.mutations == 0  # the gate only looks


def test_without_a_healthcheck_it_must_stay_up_for_the_settle_period(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "", [])
    started = time.monotonic()
    assert wait_healthy(engine, "c1", HealthGate(timeout=2.0, settle=0.2)) == Verdict(True)
    assert time.monotonic() - started >= 0.2


def test_without_a_healthcheck_exiting_during_the_settle_period_fails(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "", [None, None, exited])
    assert wait_healthy(engine, "c1", HealthGate(timeout=2.0, settle=0.5)) == Verdict(False, "stopped (exited) instead of becoming healthy")


def test_never_healthy_times_out(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "starting", [])
    started = time.monotonic()
    assert wait_healthy(engine, "c1", HealthGate(timeout=0.3, settle=0.0)) == Verdict(False, "did not become healthy within 0s")
    assert 0.3 <= time.monotonic() - started < 2.0


def test_a_container_that_vanishes_fails(tmp_path: Path) -> None:
    engine = _engine(tmp_path, "starting", [])
    engine.remove_container("c1")
    assert wait_healthy(engine, "c1", GATE) == Verdict(False, "vanished")


HC = "healthcheck: {test: [CMD, healthcheck.sh], interval: 2s, retries: 4, start_period: 10s}\n"


@pytest.mark.parametrize(
    ("extra", "timeout", "expected"),
    [
        ("", 7.0, HealthGate(7.0, 1.0)),  # an explicit timeout wins
        ("", None, HealthGate(31.0, 1.0)),  # no healthcheck: settle plus 30 s
        ("healthcheck: {test: [NONE]}\n", None, HealthGate(31.0, 1.0)),  # a disabled one counts as none
        (HC, None, HealthGate(10.0 + 2.0 * 5 + 30.0, 1.0)),  # start period + interval x (retries + 1) + 30 s
    ],
)
def test_time_allowed_follows_the_healthcheck(tmp_path: Path, extra: str, timeout: float | None, expected: HealthGate) -> None:
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    engine.add_container(load_app(tmp_path, SPEC + extra), container_id="c1")
    assert HealthGate.for_container(engine.observed("db"), timeout=timeout, settle=1.0) == expected


CHECKED = SPEC + "healthcheck: {test: [CMD-SHELL, healthcheck.sh --connect], interval: 30s, retries: 3, timeout: 5s}\n"


def _checked(tmp_path: Path, spec: str = CHECKED) -> FakeEngine:
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    engine.add_container(load_app(tmp_path, spec), container_id="c1", health="starting")  # the engine's first check is 30 s away
    return engine


def test_the_gate_passes_at_the_first_successful_run_of_the_check(tmp_path: Path) -> None:
    engine = _checked(tmp_path)
    engine.exec_results = [1, 1, 0]  # the server answers at the third try
    started = time.monotonic()
    assert wait_healthy(engine, "c1", HealthGate(timeout=5.0, settle=0.0), probe=True) == Verdict(True)
    assert time.monotonic() - started < 2.0
    execs = [e for e in engine.timeline if e.startswith("exec")]
    assert execs == ["exec c1 /bin/sh -c healthcheck.sh --connect"] * 3
    assert engine.mutations == 0


def test_without_probing_the_gate_waits_for_the_engine(tmp_path: Path) -> None:
    engine = _checked(tmp_path)
    engine.exec_results = [0]
    assert wait_healthy(engine, "c1", HealthGate(timeout=0.3, settle=0.0)) == Verdict(False, "did not become healthy within 0s")
    assert not [e for e in engine.timeline if e.startswith("exec")]


def test_the_gate_fails_when_its_runs_of_the_check_keep_failing(tmp_path: Path) -> None:
    engine = _checked(tmp_path, CHECKED.replace("interval: 30s, retries: 3", "interval: 100ms, retries: 2"))
    started = time.monotonic()
    verdict = wait_healthy(engine, "c1", HealthGate(timeout=5.0, settle=0.0), probe=True)
    assert verdict == Verdict(False, "unhealthy: its healthcheck command kept failing when run by the health gate")
    assert 0.2 <= time.monotonic() - started < 2.0  # as long as the engine's two checks would take


def test_unhealthy_from_the_engine_fails_the_probing_gate_too(tmp_path: Path) -> None:
    engine = ScriptedEngine(images={"mariadb:11.4": MARIADB}, script=[None, None, unhealthy])
    engine.add_container(load_app(tmp_path, CHECKED), container_id="c1", health="starting")
    verdict = wait_healthy(engine, "c1", HealthGate(timeout=5.0, settle=0.0), probe=True)
    assert verdict == Verdict(False, "reported unhealthy by its healthcheck")


def test_the_command_the_engine_would_run() -> None:
    assert health.command_of(Healthcheck(("CMD", "pg_isready", "-q"))) == ("pg_isready", "-q")
    assert health.command_of(Healthcheck(("CMD-SHELL", "redis-cli ping | grep PONG"))) == ("/bin/sh", "-c", "redis-cli ping | grep PONG")
    assert health.command_of(Healthcheck(("NONE",))) == ()
    assert health.command_of(None) == ()
