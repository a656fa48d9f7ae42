"""The replace strategy: Docker's steps (on the fake engine), and act/ driving any strategy.

act/ swaps an app's instance only through `engine.replace`; a backend whose strategy is not
renames (here: a table of who holds each app's place) recreates and rolls back the same way,
journaling the same step names the crash-safety tests kill after.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate import labels as L
from orchestrate.act.execute import Executor
from orchestrate.act.recover import resolve
from orchestrate.act.report import Options
from orchestrate.backends.interface import SwapParts
from orchestrate.model.desired import DesiredApp
from orchestrate.model.observed import ListedContainer, ObservedContainer
from orchestrate.runs import pipeline
from orchestrate.state import JournalEntry, Operation
from tests.unit.builders import MARIADB, MYSQL_CHANGED, MYSQL_SPEC, load_app
from tests.unit.fake_engine import FakeEngine, fleet_of

SPEC, CHANGED = MYSQL_SPEC, MYSQL_CHANGED
OPTIONS = Options(health_timeout=5.0, settle_seconds=0.0, pull_backoff=0.0)
LABELS = {L.APP: "mysql", L.MANAGED: "true"}
SWAP_STEPS = ["create-new", "stop-old", "rename-old", "rename-new", "start-new", "health-gate", "health-passed", "remove-old"]


def _load(tmp_path: Path, name: str, spec: str) -> DesiredApp:
    directory = tmp_path / name
    directory.mkdir()
    return load_app(directory, spec)


def _engine(tmp_path: Path) -> FakeEngine:
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    engine.create_volume(next(iter(_load(tmp_path, "volume", SPEC).volumes)))
    engine.add_container(_load(tmp_path, "old", SPEC), container_id="old")
    engine.timeline.clear()
    return engine


class StepJournal:
    """Records the journal's step names in order (the executor's Journal, without a store)."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    def begin_operation(self, run_id: int, app: str, kind: str, old_id: str | None) -> int:
        return 1

    def set_new_container(self, operation_id: int, new_id: str) -> None:
        return None

    def journal(self, operation_id: int, step: str) -> None:
        self.steps.append(step)

    def close_operation(self, operation_id: int, state: str) -> None:
        self.steps.append(f"closed {state}")

    def begin_copy(self, app: str, key: str, target: str) -> None:
        return None

    def end_copy(self, app: str, key: str, target: str) -> None:
        return None

    def retire(self, app: str, key: str, kind: str, source: str) -> None:
        return None


def _recreate(engine: FakeEngine, tmp_path: Path) -> StepJournal:
    desired = [_load(tmp_path, "new", CHANGED)]
    journal = StepJournal()
    Executor(fleet_of(engine), options=OPTIONS, journal=journal).run(pipeline.plan(fleet_of(engine), desired).plan, desired)
    return journal


# --- Docker's strategy, step by step ---------------------------------------------------------


def test_docker_strategy_creates_the_new_instance_beside_the_old_one_not_started(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    new_id = engine.replace.create_new(_load(tmp_path, "new", CHANGED), labels=LABELS)
    assert (engine.containers[new_id].name, engine.containers[new_id].running) == ("mysql.stateful-new", False)
    assert engine.replace.holds_place("mysql", engine.observed("mysql")) is True
    assert engine.replace.holds_place("mysql", engine.observed("mysql.stateful-new")) is False


def test_docker_strategy_swaps_and_gives_the_place_back_by_renames(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    new_id = engine.replace.create_new(_load(tmp_path, "new", CHANGED), labels=LABELS)
    engine.stop("old", timeout=1)
    engine.replace.step_aside("mysql", "old")
    engine.replace.take_place("mysql", new_id)
    assert sorted((c.id, c.name) for c in engine.containers.values()) == [("new-1", "mysql"), ("old", "mysql.stateful-old")]
    parts = engine.replace.parts("mysql")
    assert (parts.current and parts.current.id, parts.aside and parts.aside.id, parts.new) == ("new-1", "old", None)
    # A rollback: the new one steps aside (it is removed by the caller), the old one takes the place back.
    engine.remove_container(new_id)
    engine.replace.take_place("mysql", "old")
    assert engine.mutating_calls()[-4:] == ["rename old mysql.stateful-old", "rename new-1 mysql", "remove new-1", "rename old mysql"]


def test_docker_strategy_finds_an_unrecorded_new_instance_and_what_is_mid_swap(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    assert engine.replace.find_new("mysql", old_id="old") is None
    new_id = engine.replace.create_new(_load(tmp_path, "new", CHANGED), labels=LABELS)
    found = engine.replace.find_new("mysql", old_id="old")
    assert found is not None and found.id == new_id
    listed = engine.snapshot(app_names=[], image_refs=[]).listed
    assert {name: engine.replace.mid_swap(c) for name, c in listed.items()} == {"mysql": False, "mysql.stateful-new": True}


# --- act/ drives whatever strategy the backend has -------------------------------------------


class PlaceTable:
    """A strategy without renames: the backend keeps who holds each app's place in a table."""

    def __init__(self, engine: FakeEngine, holder: dict[str, str]) -> None:
        self.engine = engine
        self.holder = holder

    def create_new(self, app: DesiredApp, *, labels: dict[str, str]) -> str:
        return self.engine.create_container(app, name=f"{app.name}#candidate", labels=labels)

    def step_aside(self, app: str, instance_id: str) -> None:
        self.engine.timeline.append(f"aside {instance_id}")
        self.holder.pop(app, None)

    def take_place(self, app: str, instance_id: str) -> None:
        self.engine.timeline.append(f"place {instance_id}")
        self.holder[app] = instance_id

    def holds_place(self, app: str, instance: ObservedContainer) -> bool:
        return self.holder.get(app) == instance.id

    def find_new(self, app: str, *, old_id: str | None) -> ObservedContainer | None:
        return self.engine.inspect_container(f"{app}#candidate")

    def mid_swap(self, listed: ListedContainer) -> bool:
        return listed.name.endswith("#candidate")

    def parts(self, app: str) -> SwapParts:
        raise AssertionError("not asked when the journal is there")


def _place_table_engine(tmp_path: Path) -> tuple[FakeEngine, dict[str, str]]:
    engine = _engine(tmp_path)
    holder = {"mysql": "old"}
    engine.replace = PlaceTable(engine, holder)  # type: ignore[assignment]
    return engine, holder


def test_recreate_goes_through_the_strategy_and_journals_the_same_steps(tmp_path: Path) -> None:
    engine, holder = _place_table_engine(tmp_path)
    journal = _recreate(engine, tmp_path)
    assert journal.steps == [*SWAP_STEPS, "closed finished"]
    assert [c for c in engine.timeline if c.startswith(("create", "stop", "aside", "place", "start", "remove", "rename"))] == [
        "create mysql#candidate",
        "stop old (grace 30s)",
        "aside old",
        "place new-1",
        "start new-1",
        "remove old",
    ]
    assert holder == {"mysql": "new-1"}
    assert engine.most_running == {"mysql": 1}


def test_rollback_goes_through_the_strategy(tmp_path: Path) -> None:
    engine, holder = _place_table_engine(tmp_path)
    engine.health_on_start["mysql#candidate"] = "unhealthy"
    journal = _recreate(engine, tmp_path)
    assert journal.steps == [
        *SWAP_STEPS[:6],
        "rollback-stop-new",
        "rollback-remove-new",
        "rollback-rename-old",
        "rollback-start-old",
        "closed rolled-back",
    ]
    assert holder == {"mysql": "old"}
    assert sorted((c.id, c.running) for c in engine.containers.values()) == [("old", True)]
    assert not any(entry.startswith("rename") for entry in engine.timeline)


def test_finishing_a_swap_that_passed_its_gate_goes_through_the_strategy(tmp_path: Path) -> None:
    engine, holder = _place_table_engine(tmp_path)
    new_id = engine.replace.create_new(_load(tmp_path, "new", CHANGED), labels=LABELS)
    engine.stop("old", timeout=1)
    engine.start(new_id)
    # Killed after the gate passed, before the new id was recorded: the strategy finds it, and
    # the old one still holds the app's place.
    op = Operation(1, "mysql", "recreate", "old", None, (JournalEntry("health-passed", 0.0),))
    steps: list[str] = []
    resolution = resolve(engine, op, journal=steps.append, say=lambda app, what: None)
    assert (resolution.outcome, steps) == ("finished", ["finish-rename-old", "finish-rename-new", "finish-remove-old"])
    assert holder == {"mysql": new_id}
    assert sorted(engine.containers) == [new_id]
