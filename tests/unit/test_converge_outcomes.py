"""A run looks at the engine again when the executor says it acted, never because of a call counter.

Through the whole mutating run (converge.apply: lock, store, plan, execute) on the fake engine.
The engine's count of mutating calls is only reported; these tests set it against the truth to
show that the run does not read it, and count the fake's calls to show a no-op makes none.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate.act.report import Options
from orchestrate.decide.plan import Kind
from orchestrate.model.desired import DesiredApp
from orchestrate.runs import converge
from tests.unit.builders import MARIADB, MYSQL_CHANGED, MYSQL_SPEC, load_app
from tests.unit.fake_engine import FakeEngine, fleet_of

SPEC, CHANGED = MYSQL_SPEC, MYSQL_CHANGED
OPTIONS = Options(health_timeout=5.0, settle_seconds=0.0, pull_backoff=0.0)


class UncountedEngine(FakeEngine):
    """Makes its changes but counts none of them (the counter says nothing happened)."""

    def _mutate(self, entry: str) -> None:
        self.timeline.append(entry)


def _load(tmp_path: Path, name: str, spec: str) -> DesiredApp:
    directory = tmp_path / name
    directory.mkdir()
    return load_app(directory, spec)


def _engine(tmp_path: Path, engine: FakeEngine) -> FakeEngine:
    engine.images["mariadb:11.4"] = MARIADB
    engine.create_volume(next(iter(_load(tmp_path, "volume", SPEC).volumes)))
    engine.add_container(_load(tmp_path, "old", SPEC), container_id="old")
    engine.timeline.clear()
    return engine


def _apply(engine: FakeEngine, tmp_path: Path, spec: str) -> converge.RunResult:
    desired = [_load(tmp_path, "new", spec)]
    state = tmp_path / "state"
    state.mkdir()
    return converge.apply(lambda: fleet_of(engine), desired, state_dir=state, options=OPTIONS, report=lambda app, step, seconds: None)


def _looks(engine: FakeEngine) -> int:
    return engine.timeline.count("inspect snapshot")


def test_a_quiet_run_looks_once_and_changes_nothing_whatever_the_counter_says(tmp_path: Path) -> None:
    engine = _engine(tmp_path, FakeEngine())
    engine.mutations = 7  # an engine shared with earlier runs (reconcile --watch) has counted before
    result = _apply(engine, tmp_path, SPEC)
    assert [(o.kind, o.ok, o.acted) for o in result.report.outcomes] == [(Kind.NOOP, True, False)]
    assert (_looks(engine), engine.mutating_calls(), result.remaining) == (1, [], None)
    assert result.in_sync is True


def test_a_run_that_acted_looks_again_even_when_no_call_was_counted(tmp_path: Path) -> None:
    engine = _engine(tmp_path, UncountedEngine())
    result = _apply(engine, tmp_path, SPEC.replace("MARIADB_DATABASE: demo", "MARIADB_DATABASE: shop"))
    assert [(o.kind, o.ok, o.acted) for o in result.report.outcomes] == [(Kind.RECREATE, True, True)]
    assert engine.mutations == 0 and "remove old" in engine.mutating_calls()
    # Planned from one look, looked again after executing, and once more for what remains.
    assert _looks(engine) == 3
    assert result.remaining is not None and result.in_sync is True


def test_a_failed_action_still_counts_as_acted(tmp_path: Path) -> None:
    engine = _engine(tmp_path, UncountedEngine())
    engine.health_on_start["mysql.stateful-new"] = "unhealthy"
    result = _apply(engine, tmp_path, SPEC.replace("MARIADB_DATABASE: demo", "MARIADB_DATABASE: shop"))
    assert [(o.kind, o.ok, o.acted) for o in result.report.outcomes] == [(Kind.RECREATE, False, True)]
    assert _looks(engine) == 3  # the rollback changed containers: what is there is looked at again
    assert result.remaining is not None and result.in_sync is False
