"""A whole mutating run (runs/converge.apply) on the fake engine, with a real state dir.

What the run adds around the plan and the executor: the lock, recovery before planning, history
only for runs that did something, fingerprints only of healthy apps, rounds while drift remains,
and the cap on recreates across rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrate import labels as L
from orchestrate.act import fault
from orchestrate.act.execute import Executor
from orchestrate.act.recover import Resolution
from orchestrate.act.report import Options
from orchestrate.backends import Fleet
from orchestrate.decide.plan import Kind
from orchestrate.errors import ExitCode, LockBusy
from orchestrate.model.desired import DesiredApp
from orchestrate.runs import pipeline
from orchestrate.runs.converge import Policy, RunResult, apply
from orchestrate.state import RunLock, Store
from tests.unit.builders import MARIADB, load_apps
from tests.unit.fake_engine import FakeEngine, fleet_of

OPTIONS = Options(health_timeout=5.0, settle_seconds=0.0, pull_backoff=0.0)


def _spec(name: str, database: str = "demo") -> str:
    return f"""
apiVersion: stateful/v1
kind: App
name: {name}
image: mariadb:11.4
env: {{MARIADB_DATABASE: {database}}}
volumes:
  data: {{target: /var/lib/mysql, bind: ./{name}-data}}
healthcheck: {{test: [CMD, healthcheck.sh], interval: 1s, retries: 3}}
"""


def _load(tmp_path: Path, *specs: str) -> list[DesiredApp]:
    """The apps of one spec file, always the same file: a changed spec is that file edited."""
    directory = tmp_path / "specs"
    directory.mkdir(exist_ok=True)
    return load_apps(directory, "---\n".join(specs))


class Run:
    """One engine and one state dir, and the `apply` a user's runs would make against them."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.state_dir = tmp_path / "state"
        self.engine = FakeEngine(images={"mariadb:11.4": MARIADB})
        self.made = 0  # how often the run asked for an engine
        self.said: list[tuple[str, str]] = []

    def factory(self) -> Fleet:
        self.made += 1
        self.engine.mutations = 0  # each run gets its own engine connection, counting from zero
        return fleet_of(self.engine)

    def apply(self, desired: list[DesiredApp], policy: Policy | None = None, on_say: Callable[[str, str], None] | None = None) -> RunResult:
        def report(app: str, what: str, seconds: float | None) -> None:
            self.said.append((app, what))
            if on_say is not None:
                on_say(app, what)

        return apply(self.factory, desired, state_dir=self.state_dir, options=OPTIONS, policy=policy or Policy(), report=report)

    def store(self) -> Store:
        return Store.open(self.state_dir)

    def running(self) -> dict[str, str]:
        """name -> the MARIADB_DATABASE its running container was made with."""
        return {c.name: c.app.env["MARIADB_DATABASE"] for c in self.engine.containers.values() if c.running}

    def recreates(self) -> int:
        return sum(1 for entry in self.engine.mutating_calls() if entry.startswith("create ") and entry.endswith(L.NEW_SUFFIX))


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


def test_a_second_run_while_the_lock_is_held_exits_75_and_touches_nothing(run: Run, tmp_path: Path) -> None:
    desired = _load(tmp_path, _spec("db"))
    with RunLock(run.state_dir), pytest.raises(LockBusy) as busy:
        run.apply(desired)
    assert busy.value.exit_code is ExitCode.BUSY and int(ExitCode.BUSY) == 75
    assert run.made == 0 and run.engine.timeline == []
    # Positive control: with the lock free, the same run does its work.
    assert run.apply(desired).report.exit_code is ExitCode.OK
    assert run.running() == {"db": "demo"}


def test_history_has_a_row_only_for_runs_that_changed_something(run: Run, tmp_path: Path) -> None:
    desired = _load(tmp_path, _spec("db"))
    first = run.apply(desired)
    second = run.apply(desired)  # in sync: cron's usual minute
    assert (first.mutations > 0, second.mutations, second.in_sync) == (True, 0, True)
    store = run.store()
    try:
        (row,) = store.history()
    finally:
        store.close()
    assert (row.apps, row.exit_code) == (["db"], 0)
    assert row.plan is not None and row.outcome is not None


def test_open_operations_are_resolved_before_the_plan_is_made(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _load(tmp_path, _spec("db"))
    run.apply(old)
    # A run killed after renaming the new container into place, with its journal in the state dir.
    new = _load(tmp_path, _spec("db", "shop"))

    def killed(step: str) -> None:
        if step == "rename-new":
            raise KeyboardInterrupt(step)  # stands for SIGKILL: nothing in `orchestrate` catches it

    monkeypatch.setattr(fault, "after", killed)
    store = run.store()
    try:
        plan = pipeline.plan(fleet_of(run.engine), new).plan
        with pytest.raises(KeyboardInterrupt):
            Executor(fleet_of(run.engine), options=OPTIONS, journal=store, run_id=1).run(plan, new)
    finally:
        store.close()
    monkeypatch.undo()
    old_id = next(c.id for c in run.engine.containers.values() if c.name == "db" + L.OLD_SUFFIX)

    result = run.apply(new)

    assert result.recovered == [Resolution("db", "rolled-back")]
    # The plan was made from what recovery left: the old container back under its name.
    (action,) = result.planned.plan.actions
    assert (action.kind, action.container_id) == (Kind.RECREATE, old_id)
    assert result.report.exit_code is ExitCode.OK and run.running() == {"db": "shop"}
    assert run.engine.most_running == {"db": 1}


def test_fingerprints_are_remembered_only_for_apps_that_ended_up_healthy(run: Run, tmp_path: Path) -> None:
    run.engine.health_on_start["sick"] = "unhealthy"
    result = run.apply(_load(tmp_path, _spec("well"), _spec("sick")))
    assert {o.app: o.ok for o in result.report.outcomes} == {"well": True, "sick": False}
    store = run.store()
    try:
        remembered = store.fingerprints()
    finally:
        store.close()
    assert set(remembered) == {("well", "data")}
    assert remembered[("well", "data")].source == str(tmp_path / "specs" / "well-data")


def test_rounds_stop_as_soon_as_the_apps_are_in_sync(run: Run, tmp_path: Path) -> None:
    run.apply(_load(tmp_path, _spec("db")))
    result = run.apply(_load(tmp_path, _spec("db", "shop")), Policy(max_rounds=5))
    assert (result.rounds, result.in_sync, run.recreates()) == (1, True, 1)


def _crash_once(engine: FakeEngine, victim: str, when: tuple[str, str]) -> Callable[[str, str], None]:
    """A report hook: the first time `when` is said, `victim`'s container dies (drift mid-run)."""
    done: list[bool] = []

    def hook(app: str, what: str) -> None:
        container = engine.by_name(victim)
        if (app, what) == when and not done and container is not None:
            done.append(True)
            container.status, container.health = "exited", ""

    return hook


@pytest.mark.parametrize(("max_rounds", "rounds", "in_sync"), [(1, 1, False), (3, 2, True)])
def test_drift_found_after_a_round_is_worked_off_in_the_next_round(run: Run, tmp_path: Path, max_rounds: int, rounds: int, in_sync: bool) -> None:
    run.apply(_load(tmp_path, _spec("db"), _spec("cache")))
    new = _load(tmp_path, _spec("db", "shop"), _spec("cache"))
    result = run.apply(new, Policy(max_rounds=max_rounds), on_say=_crash_once(run.engine, "cache", ("db", "remove old container")))
    assert (result.rounds, result.in_sync) == (rounds, in_sync)
    assert ("cache" in run.running()) is in_sync


def test_max_recreates_holds_for_the_whole_run_not_per_round(run: Run, tmp_path: Path) -> None:
    run.apply(_load(tmp_path, _spec("a"), _spec("b"), _spec("c")))
    new = _load(tmp_path, _spec("a", "shop"), _spec("b", "shop"), _spec("c"))
    # c dies during the first round, so a second round runs; it must not spend a second recreate.
    hook = _crash_once(run.engine, "c", ("a", "remove old container"))
    result = run.apply(new, Policy(max_recreates=1, max_rounds=3), on_say=hook)

    assert result.rounds >= 2 and "c" in run.running()
    assert run.recreates() == 1
    assert sorted(run.running().values()) == ["demo", "demo", "shop"]
    assert not result.in_sync  # the held-back recreate waits for a later run
