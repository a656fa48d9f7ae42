"""Recovery's decision, from every state a killed recreate can leave, on the fake engine.

A kill is simulated by making the fault hook (the one the real-engine crash tests use to SIGKILL
`stateful`) raise an exception nothing in `orchestrate` catches, so the recreate stops exactly
where a kill would stop it, with its journal in a real store. Recovery then runs as the next run
would. Every case checks behaviour, not engine calls: the resolution, that one container carries
the app's name and runs (the right one), that no temporary container is left, and that two
containers of the app never ran at once (the fake engine raises on an overlapping start).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrate import labels as L
from orchestrate.act import fault
from orchestrate.act.execute import Executor
from orchestrate.act.recover import Resolution, needs_recovery, recover_open_operations, resolve
from orchestrate.act.report import Options
from orchestrate.model.desired import DesiredApp
from orchestrate.model.observed import ObservedState
from orchestrate.output import documents
from orchestrate.runs import pipeline
from orchestrate.state import Store
from tests.unit.builders import MARIADB, MYSQL_CHANGED, MYSQL_SPEC, load_app
from tests.unit.fake_engine import FakeEngine, fleet_of

SPEC, CHANGED = MYSQL_SPEC, MYSQL_CHANGED
APP = "mysql"
OLD = "old"  # the container an earlier apply left
NEW = "new-1"  # the fake engine's id for the first container it creates
FINISHED, ROLLED_BACK = "finished", "rolled-back"


class Killed(BaseException):
    """Stands for SIGKILL: a BaseException, so no handler in `orchestrate` sees it."""


@dataclass
class Scene:
    """One test's engine, store and specs."""

    engine: FakeEngine
    store: Store
    old_spec: DesiredApp
    new_spec: DesiredApp
    state_dir: Path

    def options(self) -> Options:
        return Options(health_timeout=5.0, settle_seconds=0.0, pull_backoff=0.0, state_dir=self.store.identity)

    def recreate(self) -> None:
        """Apply the changed spec: a recreate of the running `old` container, journaled in the store."""
        desired = [self.new_spec]
        plan = pipeline.plan(fleet_of(self.engine), desired).plan
        Executor(fleet_of(self.engine), options=self.options(), journal=self.store, run_id=1).run(plan, desired)

    def recover(self) -> list[Resolution]:
        listed = self.engine.snapshot(app_names=[APP], image_refs=[]).listed
        return recover_open_operations(self.engine, self.store, apps={APP}, listed=listed, say=lambda app, what: None)

    def lose_state_dir(self) -> None:
        """The state dir is deleted and made again in the same place (its identity stays)."""
        self.store.close()
        shutil.rmtree(self.state_dir)
        self.store = Store.open(self.state_dir)


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old_spec, new_spec = load_app(tmp_path / "old", SPEC), load_app(tmp_path / "new", CHANGED)
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    engine.create_volume(next(iter(old_spec.volumes)))
    engine.add_container(old_spec, container_id=OLD)
    state_dir = tmp_path / "state"
    made = Scene(engine, Store.open(state_dir), old_spec, new_spec, state_dir)
    yield made
    made.store.close()


def kill_after(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    def after(done: str) -> None:
        if done == step:
            raise Killed(step)

    monkeypatch.setattr(fault, "after", after)


def killed_recreate(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """A recreate of the app, killed right after `step`; the kill hook is gone afterwards."""
    kill_after(monkeypatch, step)
    with pytest.raises(Killed):
        scene.recreate()
    monkeypatch.undo()


def assert_one_running(engine: FakeEngine, expected_id: str) -> None:
    """One container of the app is left: `expected_id`, with the app's name, running and healthy."""
    left = [(c.id, c.name, c.running) for c in engine.containers.values()]
    assert left == [(expected_id, APP, True)]
    assert engine.most_running.get(APP, 1) == 1


# --- the executor killed after each step of a recreate ----------------------------------------

RECREATE_KILLS = [
    ("create-new", ROLLED_BACK),
    ("stop-old", ROLLED_BACK),
    ("rename-old", ROLLED_BACK),
    ("rename-new", ROLLED_BACK),
    ("start-new", ROLLED_BACK),  # started, but its health gate never passed
    ("health-gate", FINISHED),  # the gate passed (health-passed is journaled inside that step)
]


@pytest.mark.parametrize(("step", "outcome"), RECREATE_KILLS)
def test_killed_after_a_recreate_step(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, outcome: str) -> None:
    killed_recreate(scene, monkeypatch, step)
    assert needs_recovery(scene.engine, scene.store, scene.engine.snapshot(app_names=[APP], image_refs=[]).listed, {APP})

    assert scene.recover() == [Resolution(APP, outcome)]

    assert_one_running(scene.engine, NEW if outcome == FINISHED else OLD)
    assert scene.store.open_operations() == []


def test_killed_after_remove_old_there_is_nothing_left_to_do(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    killed_recreate(scene, monkeypatch, "remove-old")
    (op,) = scene.store.open_operations()  # the kill came before the operation was closed
    assert op.steps[-1].step == "remove-old"
    mutations = scene.engine.mutations

    assert scene.recover() == [Resolution(APP, FINISHED)]

    assert scene.engine.mutations == mutations
    assert_one_running(scene.engine, NEW)


def test_killed_before_the_new_containers_id_was_recorded(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new container exists under its temporary name, but the journal has no id for it."""

    def killed(operation_id: int, new_id: str) -> None:
        raise Killed("set_new_container")

    monkeypatch.setattr(scene.store, "set_new_container", killed)
    with pytest.raises(Killed):
        scene.recreate()
    monkeypatch.undo()
    (op,) = scene.store.open_operations()
    assert op.new_id is None and scene.engine.by_name(APP + L.NEW_SUFFIX) is not None

    assert scene.recover() == [Resolution(APP, ROLLED_BACK)]

    assert_one_running(scene.engine, OLD)


# --- the executor's own rollback killed after each of its steps ------------------------------

ROLLBACK_STEPS = ["rollback-stop-new", "rollback-remove-new", "rollback-rename-old", "rollback-start-old"]


@pytest.mark.parametrize("step", ROLLBACK_STEPS)
def test_killed_during_the_rollback_of_an_unhealthy_new_container(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    scene.engine.health_on_start[APP + L.NEW_SUFFIX] = "unhealthy"
    killed_recreate(scene, monkeypatch, step)
    (op,) = scene.store.open_operations()
    assert op.reached("start-new") and op.steps[-1].step == step

    assert scene.recover() == [Resolution(APP, ROLLED_BACK)]

    assert_one_running(scene.engine, OLD)


# --- recovery itself killed, then recovered again -----------------------------------------------


def _old_removed_by_hand(scene: Scene) -> None:
    """Someone removed the stopped old container: only the new one can carry the app on."""
    scene.engine.remove_container(OLD)


def _old_started_by_hand(scene: Scene) -> None:
    """After its gate passed, the new container died and someone started the old one by hand."""
    scene.engine.stop(NEW, timeout=0)
    scene.engine.start(OLD)


def _nothing(scene: Scene) -> None:
    return None


# (where the recreate was killed, what happened then, the recovery step that was killed, outcome)
RECOVERY_KILLS: list[tuple[str, Callable[[Scene], None], str, str]] = [
    ("start-new", _nothing, "rollback-stop-new", ROLLED_BACK),
    ("start-new", _nothing, "rollback-remove-new", ROLLED_BACK),
    ("start-new", _nothing, "rollback-rename-old", ROLLED_BACK),
    ("start-new", _nothing, "rollback-start-old", ROLLED_BACK),
    ("stop-old", _old_removed_by_hand, "finish-rename-new", FINISHED),
    ("stop-old", _old_removed_by_hand, "finish-start-new", FINISHED),
    ("health-gate", _old_started_by_hand, "finish-stop-old", FINISHED),
    ("health-gate", _old_started_by_hand, "finish-start-new", FINISHED),
    ("health-gate", _nothing, "finish-remove-old", FINISHED),
]


@pytest.mark.parametrize(("step", "then", "recovery_step", "outcome"), RECOVERY_KILLS)
def test_recovery_killed_after_each_of_its_steps_is_recovered_again(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, then: Callable[[Scene], None], recovery_step: str, outcome: str
) -> None:
    killed_recreate(scene, monkeypatch, step)
    then(scene)
    kill_after(monkeypatch, recovery_step)
    with pytest.raises(Killed):
        scene.recover()
    monkeypatch.undo()
    (op,) = scene.store.open_operations()
    assert op.steps[-1].step == recovery_step  # journaled before it ran, and the operation is still open

    assert scene.recover() == [Resolution(APP, outcome)]

    assert_one_running(scene.engine, NEW if outcome == FINISHED else OLD)


# --- idempotency ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("step", "outcome"), [*RECREATE_KILLS, ("remove-old", FINISHED)])
def test_resolving_twice_changes_nothing_more(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, outcome: str) -> None:
    killed_recreate(scene, monkeypatch, step)
    (op,) = scene.store.open_operations()
    scene.recover()
    settled = sorted((c.id, c.name, c.status) for c in scene.engine.containers.values())
    mutations = scene.engine.mutations

    # The same journal entry resolved again (a kill just before it was closed), and a whole recovery again.
    assert resolve(scene.engine, op, say=lambda app, what: None) == Resolution(APP, outcome)
    assert scene.recover() == []

    assert scene.engine.mutations == mutations
    assert sorted((c.id, c.name, c.status) for c in scene.engine.containers.values()) == settled


# --- leftovers without a journal (the state dir was lost mid-recreate) ---------------------------

LEFTOVERS = [
    ("create-new", ROLLED_BACK),
    ("stop-old", ROLLED_BACK),
    ("rename-old", ROLLED_BACK),
    ("rename-new", ROLLED_BACK),
    ("start-new", FINISHED),  # without a journal, "it runs" stands in for "it passed its gate"
    ("health-gate", FINISHED),
]


@pytest.mark.parametrize(("step", "outcome"), LEFTOVERS)
def test_leftovers_of_a_recreate_whose_state_dir_was_lost(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, outcome: str) -> None:
    killed_recreate(scene, monkeypatch, step)
    scene.lose_state_dir()
    assert scene.store.open_operations() == []

    assert scene.recover() == [Resolution(APP, outcome)]

    assert_one_running(scene.engine, NEW if outcome == FINISHED else OLD)
    assert scene.recover() == []  # and nothing is left to find


def test_a_renamed_new_container_beside_another_leftover(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new one already has the app's name, and a stray temporary new one is there too: the
    stray goes first, then the renamed one is judged (it runs, so the recreate is finished)."""
    killed_recreate(scene, monkeypatch, "start-new")
    stray = scene.engine.create_container(scene.new_spec, name=APP + L.NEW_SUFFIX, labels=scene.engine.containers[NEW].labels)
    scene.lose_state_dir()

    assert scene.recover() == [Resolution(APP, FINISHED)]

    assert stray not in scene.engine.containers
    assert_one_running(scene.engine, NEW)


def test_the_new_one_started_under_its_temporary_name(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """No journal; the old one still has the app's name and is stopped, the new one runs under its
    temporary name: it stands for a passed gate, so it takes the name and the old one goes."""
    killed_recreate(scene, monkeypatch, "stop-old")
    scene.lose_state_dir()
    scene.engine.start(NEW)
    kill_after(monkeypatch, "finish-rename-old")  # and recovery is killed half-way too
    with pytest.raises(Killed):
        scene.recover()
    monkeypatch.undo()

    assert scene.recover() == [Resolution(APP, FINISHED)]

    assert_one_running(scene.engine, NEW)


def test_leftovers_made_from_another_state_dir_are_not_touched(scene: Scene, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    killed_recreate(scene, monkeypatch, "rename-old")
    left = sorted((c.id, c.name, c.status) for c in scene.engine.containers.values())
    other = Store.open(tmp_path / "another-state-dir")
    listed = scene.engine.snapshot(app_names=[APP], image_refs=[]).listed
    mutations = scene.engine.mutations
    try:
        assert not needs_recovery(scene.engine, other, listed, {APP})
        assert recover_open_operations(scene.engine, other, apps={APP}, listed=listed, say=lambda app, what: None) == []
    finally:
        other.close()
    assert scene.engine.mutations == mutations
    assert sorted((c.id, c.name, c.status) for c in scene.engine.containers.values()) == left
    # Positive control: from its own state dir, the same leftovers are found and resolved.
    assert scene.recover() == [Resolution(APP, ROLLED_BACK)]
    assert scene.engine.mutations > mutations


# --- what diff predicts recovery will leave, against what recovery leaves -------------------------


def _containers(observed: ObservedState) -> tuple[dict[str, tuple[str, bool]], dict[str, str]]:
    """What a plan can see of the app's containers: name -> (id, running), and the list's name -> id."""
    return {n: (c.id, c.running) for n, c in observed.containers.items()}, {n: c.id for n, c in observed.listed.items()}


def _predicted_then_recovered(scene: Scene) -> None:
    """diff's plan (predicted from the journal and the engine, nothing changed) is apply's plan
    after it recovered; the predicted state is the state recovery leaves."""
    fleet, desired = fleet_of(scene.engine), [scene.new_spec]
    guards = pipeline.safeguards(scene.store, pipeline.Policy(), state_dir=scene.store.identity)
    mutations = scene.engine.mutations
    shown = pipeline.plan(fleet, desired, guards)
    assert scene.engine.mutations == mutations  # predicting changed nothing

    resolved = scene.recover()

    after = pipeline.observe(fleet, desired)
    ran = pipeline.plan(
        fleet,
        desired,
        pipeline.safeguards(scene.store, pipeline.Policy(), state_dir=scene.store.identity),
        observed=after,
        recovered=tuple((r.app, r.note) for r in resolved),
    )
    assert _containers(shown.observed) == _containers(after)
    assert documents.plan_json(shown.plan) == documents.plan_json(ran.plan)
    assert [note for _, note in shown.plan.recoveries] == [r.note for r in resolved] != []
    (action,) = shown.plan.actions
    assert action.recovery == resolved[0].note


@pytest.mark.parametrize(("step", "outcome"), [*RECREATE_KILLS, ("remove-old", FINISHED)])
def test_the_predicted_state_is_what_recovery_leaves(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, outcome: str) -> None:
    killed_recreate(scene, monkeypatch, step)

    _predicted_then_recovered(scene)

    assert_one_running(scene.engine, NEW if outcome == FINISHED else OLD)


@pytest.mark.parametrize("step", ROLLBACK_STEPS)
def test_the_predicted_state_after_a_killed_rollback_is_what_recovery_leaves(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    scene.engine.health_on_start[APP + L.NEW_SUFFIX] = "unhealthy"
    killed_recreate(scene, monkeypatch, step)

    _predicted_then_recovered(scene)

    assert_one_running(scene.engine, OLD)


@pytest.mark.parametrize(("step", "outcome"), LEFTOVERS)
def test_the_predicted_state_of_leftovers_without_a_journal_is_what_recovery_leaves(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, outcome: str
) -> None:
    killed_recreate(scene, monkeypatch, step)
    scene.lose_state_dir()

    _predicted_then_recovered(scene)

    assert_one_running(scene.engine, NEW if outcome == FINISHED else OLD)


@pytest.mark.parametrize(("step", "then", "recovery_step", "outcome"), RECOVERY_KILLS)
def test_the_predicted_state_after_a_killed_recovery_is_what_recovery_leaves(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, then: Callable[[Scene], None], recovery_step: str, outcome: str
) -> None:
    killed_recreate(scene, monkeypatch, step)
    then(scene)
    kill_after(monkeypatch, recovery_step)
    with pytest.raises(Killed):
        scene.recover()
    monkeypatch.undo()

    _predicted_then_recovered(scene)

    assert_one_running(scene.engine, NEW if outcome == FINISHED else OLD)


@pytest.mark.parametrize(
    ("step", "kind", "note"),
    [
        ("rename-old", "recreate", "interrupted recreate: roll it back first (the journal stopped after rename-old)"),
        ("rename-new", "recreate", "interrupted recreate: roll it back first (the journal stopped after rename-new)"),
        ("start-new", "recreate", "interrupted recreate: roll it back first (the journal stopped after start-new)"),
        ("health-gate", "noop", "interrupted recreate: finish it first (the journal stopped after health-passed)"),
    ],
)
def test_diff_plans_from_the_resolution_and_says_so(scene: Scene, monkeypatch: pytest.MonkeyPatch, step: str, kind: str, note: str) -> None:
    """Planned from the engine as it is, these were "create", "start" and twice "in sync"."""
    killed_recreate(scene, monkeypatch, step)

    shown = pipeline.plan(
        fleet_of(scene.engine), [scene.new_spec], pipeline.safeguards(scene.store, pipeline.Policy(), state_dir=scene.store.identity)
    )

    (action,) = documents.plan_json(shown.plan)["apps"]
    assert (action["action"], action["recovery"]) == (kind, note)
    assert shown.plan.changes and shown.plan.recoveries == ((APP, note),)
