"""Apps applied side by side (act/schedule.py, Executor.run) on the thread-safe fake engine.

Bounded by --parallel, in dependency order, a failure skipping only its dependants, and one
journal operation per app, its steps in order, written to the real SQLite store from threads.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from orchestrate.act import schedule
from orchestrate.act.execute import Executor
from orchestrate.act.report import Options, Outcome, Report
from orchestrate.decide.plan import Kind, Plan
from orchestrate.errors import ExitCode
from orchestrate.model.desired import DesiredApp
from orchestrate.output import terminal
from orchestrate.runs import pipeline
from orchestrate.state import Store
from tests.unit.builders import MARIADB, load_apps
from tests.unit.fake_engine import FakeEngine, fleet_of

APP = """apiVersion: stateful/v1
kind: App
name: {name}
image: mariadb:11.4
env: {{MARIADB_DATABASE: {database}}}
volumes:
  data: {{target: /var/lib/mysql}}
{extra}"""
OPTIONS = Options(health_timeout=5.0, settle_seconds=0.0, pull_backoff=0.0)
RECREATE_STEPS = ["create-new", "stop-old", "rename-old", "rename-new", "start-new", "health-gate", "health-passed", "remove-old"]


def _apps(tmp_path: Path, names: list[str], *, database: str = "demo", extra: dict[str, str] | None = None) -> list[DesiredApp]:
    directory = tmp_path / f"specs-{database}"
    directory.mkdir(exist_ok=True)
    text = "---\n".join(APP.format(name=n, database=database, extra=(extra or {}).get(n, "")) for n in names)
    return load_apps(directory, text)


def _plan(engine: FakeEngine, desired: list[DesiredApp]) -> Plan:
    return pipeline.plan(fleet_of(engine), desired).plan


def _run(engine: FakeEngine, desired: list[DesiredApp], *, parallel: int, store: Store | None = None) -> Report:
    plan = _plan(engine, desired)
    return Executor(fleet_of(engine), options=replace(OPTIONS, parallel=parallel), journal=store).run(plan, desired)


def _names(n: int) -> list[str]:
    return [f"app{i}" for i in range(n)]


def test_at_most_n_apps_at_once(tmp_path: Path) -> None:
    most = {}
    for parallel in (1, 3):
        engine = FakeEngine(images={"mariadb:11.4": MARIADB}, start_delay=0.3)
        (tmp_path / str(parallel)).mkdir()
        report = _run(engine, _apps(tmp_path / str(parallel), _names(8)), parallel=parallel)
        assert [o.ok for o in report.outcomes] == [True] * 8
        assert [o.app for o in report.outcomes] == _names(8)  # reported in the plan's order
        most[parallel] = engine.most_starting
    assert most[1] == 1
    assert 2 <= most[3] <= 3  # side by side, never more than asked (3 unless a busy machine staggers them)


def test_an_app_waits_for_what_it_depends_on_the_rest_goes_on(tmp_path: Path) -> None:
    engine = FakeEngine(images={"mariadb:11.4": MARIADB}, start_delay=0.5)
    desired = _apps(tmp_path, ["db", "api", "other"], extra={"api": "depends_on: [db]\n"})
    report = _run(engine, desired, parallel=4)
    assert report.exit_code is ExitCode.OK
    db = engine.by_name("db")
    assert db is not None
    # api is created only after db started and its gate looked at it; other did not wait for db.
    assert engine.timeline.index("create api") > engine.timeline.index(f"start {db.id}")
    assert engine.timeline.index("create other") < engine.timeline.index(f"start {db.id}")


def test_a_failed_app_skips_its_dependants_not_the_others(tmp_path: Path) -> None:
    engine = FakeEngine(images={"mariadb:11.4": MARIADB}, health_on_start={"db": "unhealthy"})
    desired = _apps(tmp_path, ["db", "api", "other", "more"], extra={"api": "depends_on: [db]\n"})
    report = _run(engine, desired, parallel=4)
    outcomes = {o.app: (o.ok, o.message.splitlines()[0] if o.message else "") for o in report.outcomes}
    assert outcomes == {
        "db": (False, "db reported unhealthy by its healthcheck"),
        "api": (False, "skipped: depends on db, which failed"),
        "other": (True, ""),
        "more": (True, ""),
    }
    assert engine.by_name("api") is None
    assert report.exit_code is ExitCode.APPLY_FAILED


def test_each_recreate_has_its_own_journal_written_from_threads(tmp_path: Path) -> None:
    engine = FakeEngine(images={"mariadb:11.4": MARIADB}, start_delay=0.1)
    for i, app in enumerate(_apps(tmp_path, _names(4))):
        engine.create_volume(app.volumes[0])
        engine.add_container(app, container_id=f"old{i}")
    with Store.open(tmp_path / "state") as store:
        report = _run(engine, _apps(tmp_path, _names(4), database="shop"), parallel=4, store=store)
        operations = store.db.execute("SELECT id, app, old_id, new_id, state FROM operations ORDER BY app").fetchall()
        query = "SELECT step FROM steps WHERE operation_id = ? ORDER BY id"
        steps = {op_id: [s for (s,) in store.db.execute(query, (op_id,))] for op_id, *_ in operations}
    assert [(o.kind, o.ok) for o in report.outcomes] == [(Kind.RECREATE, True)] * 4
    assert engine.most_starting > 1  # they did run side by side
    assert [(app, old, state) for _, app, old, _, state in operations] == [(f"app{i}", f"old{i}", "finished") for i in range(4)]
    assert len({new for *_, new, _ in operations}) == 4
    assert all(steps[op_id] == RECREATE_STEPS for op_id, *_ in operations)
    assert all(count == 1 for count in engine.most_running.values())


def test_a_shared_network_is_created_once_before_the_apps_that_join_it(tmp_path: Path) -> None:
    desired = _apps(tmp_path, ["a", "b", "c"], extra={n: "network: backend\n" for n in ("a", "b", "c")})
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    plan = _plan(engine, desired)
    assert [a.create_networks for a in plan.actions] == [("backend",), (), ()]
    assert schedule.waits_for(plan.actions, {a.name: a for a in desired}) == [frozenset(), frozenset({0}), frozenset({0})]
    report = _run(engine, desired, parallel=3)
    assert report.exit_code is ExitCode.OK
    assert engine.mutating_calls().count("create network backend") == 1


def test_apps_on_the_same_data_go_one_after_another(tmp_path: Path) -> None:
    extra = {"worker": "volumes_from: [template]\n", "reader": "volumes_from: [template]\n"}
    desired = _apps(tmp_path, ["template", "worker", "reader", "alone"], extra=extra)
    plan = _plan(FakeEngine(images={"mariadb:11.4": MARIADB}), desired)
    waits = schedule.waits_for(plan.actions, {a.name: a for a in desired})
    order = [a.app for a in plan.actions]
    named = {order[i]: sorted(order[j] for j in waits[i]) for i in range(len(order))}
    # On template's volume: template first, then the others one at a time, in the plan's order.
    assert named == {"alone": [], "template": [], "reader": ["template"], "worker": ["reader"]}


def test_stop_is_asked_before_each_app_starts(tmp_path: Path) -> None:
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    desired = _apps(tmp_path, _names(6))
    asked: list[int] = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    report = Executor(fleet_of(engine), options=replace(OPTIONS, parallel=2)).run(_plan(engine, desired), desired, should_stop=should_stop)
    assert report.stopped
    assert [o.app for o in report.outcomes] == ["app0", "app1"]
    assert sorted(c.name for c in engine.containers.values()) == ["app0", "app1"]


def test_the_summary_counts_what_was_done_and_what_failed() -> None:
    outcomes = [
        Outcome("a", Kind.CREATE, True, acted=True),
        Outcome("b", Kind.CREATE, True, acted=True),
        Outcome("c", Kind.RECREATE, False, "unhealthy", ExitCode.APPLY_FAILED, acted=True),
        Outcome("d", Kind.CREATE, False, "skipped: depends on c, which failed", ExitCode.APPLY_FAILED),
        Outcome("e", Kind.NOOP, True),
    ]
    line = terminal.summary_line(Report(outcomes), 12.34)
    assert line is not None
    assert line.plain == "4 apps: 2 create, 1 recreate failed, 1 create failed in 12.3s"
    assert terminal.summary_line(Report(outcomes[:1]), 1.0) is None  # one app's own line says it all
