"""The executor against a fake engine: the recreate order, no overlap, rollback, image first, no-op."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrate.act.execute import Executor
from orchestrate.act.report import Options, Outcome, Report
from orchestrate.backends import Fleet
from orchestrate.backends.local_files import LocalHostFiles
from orchestrate.decide.plan import Kind, Plan
from orchestrate.errors import EngineError, ExitCode, TransientEngineError
from orchestrate.model.desired import DesiredApp
from orchestrate.runs import pipeline
from tests.unit.builders import MARIADB, MYSQL_CHANGED, MYSQL_SPEC, foreign_container, load_app, load_apps
from tests.unit.fake_engine import FakeEngine, OverlapError

SPEC, CHANGED = MYSQL_SPEC, MYSQL_CHANGED
OPTIONS = Options(health_timeout=5.0, settle_seconds=0.0, pull_backoff=0.0)
ROLLED_BACK = "\nrolled back: the previous container runs again, healthy, on the same volumes"
# A recreate's calls up to the new container's start; what follows tells success from rollback.
UNTIL_START = ["create mysql.stateful-new", "stop old (grace 30s)", "rename old mysql.stateful-old", "rename new-1 mysql", "start new-1"]


def _load(tmp_path: Path, name: str, spec: str) -> DesiredApp:
    directory = tmp_path / name
    directory.mkdir()
    return load_app(directory, spec)


def _engine(tmp_path: Path, *, running: DesiredApp | None = None, status_running: bool = True) -> FakeEngine:
    """An engine with the mariadb image, the app's volume, and (optionally) its container `old`."""
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    engine.create_volume(next(iter(_load(tmp_path, "volume", SPEC).volumes)))
    if running is not None:
        engine.add_container(running, container_id="old", running=status_running)
    engine.timeline.clear()
    engine.mutations = 0
    return engine


def _run(engine: FakeEngine, desired: list[DesiredApp]) -> tuple[Plan, Report, list[tuple[str, str]]]:
    """Plan through the shared path (pipeline.plan) and execute that plan; return the steps reported."""
    fleet = Fleet.single(engine, LocalHostFiles(engine))  # its binds are under tmp_path: local is right here
    planned = pipeline.plan(fleet, desired)
    steps: list[tuple[str, str]] = []
    report = Executor(fleet, report=lambda app, step, seconds: steps.append((app, step)), options=OPTIONS).run(planned.plan, desired)
    return planned.plan, report, steps


def _running(engine: FakeEngine) -> list[tuple[str, str, str]]:
    return sorted((c.id, c.name, c.health) for c in engine.containers.values() if c.running)


def test_recreate_order(tmp_path: Path) -> None:
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    plan, report, steps = _run(engine, [_load(tmp_path, "new", CHANGED)])
    assert [a.kind for a in plan.actions] == [Kind.RECREATE]
    assert engine.mutating_calls() == [*UNTIL_START, "remove old"]
    assert steps == [
        ("mysql", "create new container (not started)"),
        ("mysql", "stop old container (grace 30s)"),
        ("mysql", "rename old container"),
        ("mysql", "rename new container"),
        ("mysql", "start new container"),
        ("mysql", "healthy"),
        ("mysql", "remove old container"),
    ]
    # The new container was seen healthy before the old one was removed.
    last_look = max(i for i, entry in enumerate(engine.timeline) if entry == "inspect new-1")
    assert last_look < engine.timeline.index("remove old")
    assert report.outcomes == [Outcome("mysql", Kind.RECREATE, True, seconds=report.outcomes[0].seconds, acted=True)]
    assert report.exit_code is ExitCode.OK
    assert _running(engine) == [("new-1", "mysql", "healthy")]
    assert engine.containers["new-1"].app.env == {"MARIADB_DATABASE": "shop"}
    assert engine.containers["new-1"].labels["io.stateful.generation"] == "2"


def test_recreate_never_runs_two_containers_of_the_app(tmp_path: Path) -> None:
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    _run(engine, [_load(tmp_path, "new", CHANGED)])  # the fake raises OverlapError on an overlapping start
    assert engine.most_running == {"mysql": 1}


def test_fake_engine_refuses_an_overlapping_start(tmp_path: Path) -> None:
    app = _load(tmp_path, "old", SPEC)
    engine = _engine(tmp_path, running=app)
    new_id = engine.create_container(app, name="mysql-2", labels={"io.stateful.app": "other"})
    with pytest.raises(OverlapError, match=r"start mysql-2 \(new-1\) while mysql \(old\) runs"):
        engine.start(new_id)  # another app's label, but the same writable volume mysql-data


def test_unhealthy_new_container_is_rolled_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    engine.health_on_start["mysql.stateful-new"] = "unhealthy"
    engine.logs = "[ERROR] InnoDB: Unknown database 'shop'\n[ERROR] Aborting"
    _, report, steps = _run(engine, [_load(tmp_path, "new", CHANGED)])
    assert engine.mutating_calls() == [*UNTIL_START, "stop new-1 (grace 30s)", "remove new-1", "rename old mysql", "start old"]
    assert steps[-5:] == [
        ("mysql", "rollback: stop new container"),
        ("mysql", "rollback: remove new container"),
        ("mysql", "rollback: rename old container back"),
        ("mysql", "rollback: start old container"),
        ("mysql", "rollback: old container healthy"),
    ]
    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.exit_code, outcome.message) == (
        False,
        ExitCode.APPLY_FAILED,
        "the new container failed: mysql reported unhealthy by its healthcheck\n"
        "  last log lines:\n"
        "    | [ERROR] InnoDB: Unknown database 'shop'\n"
        "    | [ERROR] Aborting" + ROLLED_BACK,
    )
    assert report.exit_code is ExitCode.APPLY_FAILED
    assert _running(engine) == [("old", "mysql", "healthy")]
    assert sorted(engine.containers) == ["old"]
    assert engine.most_running == {"mysql": 1}


def test_a_rollback_whose_old_container_is_not_healthy_says_the_app_is_down(tmp_path: Path) -> None:
    # The old container fails for the same reason as the new one (a datadir neither can open).
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    engine.health_on_start["mysql.stateful-new"] = "unhealthy"
    engine.health_on_start["mysql"] = "unhealthy"
    engine.logs = "[ERROR] Aborting"
    _, report, steps = _run(engine, [_load(tmp_path, "new", CHANGED)])
    assert engine.mutating_calls()[-2:] == ["rename old mysql", "start old"]
    assert ("mysql", "rollback: old container healthy") not in steps
    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.exit_code) == (False, ExitCode.APPLY_FAILED)
    assert outcome.message == (
        "the new container failed: mysql reported unhealthy by its healthcheck\n  last log lines:\n    | [ERROR] Aborting\n"
        "rolled back, but the previous container is not healthy either: mysql reported unhealthy by its healthcheck\n"
        "  last log lines:\n    | [ERROR] Aborting\nmysql is DOWN"
    )
    assert "runs again" not in outcome.message


def test_new_container_that_exits_is_rolled_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    real_start = engine.start

    def start_then_crash(container_id: str) -> None:
        real_start(container_id)
        if container_id != "old":
            engine.containers[container_id].status = "exited"

    engine.start = start_then_crash  # type: ignore[method-assign]
    _, report, _ = _run(engine, [_load(tmp_path, "new", CHANGED)])
    assert report.outcomes[0].message == "the new container failed: mysql stopped (exited) instead of becoming healthy" + ROLLED_BACK
    # The rollback works from facts: an exited container needs no stop before it is removed.
    assert engine.mutating_calls()[-4:] == ["start new-1", "remove new-1", "rename old mysql", "start old"]
    assert _running(engine) == [("old", "mysql", "healthy")]


def test_failed_rename_rolls_back_before_anything_started(tmp_path: Path) -> None:
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    real_rename = engine.rename

    def rename(container_id: str, name: str) -> None:
        if container_id == "new-1":
            engine.timeline.append(f"rename {container_id} {name}")
            raise EngineError(f"rename {container_id} to {name}: engine said no")
        real_rename(container_id, name)

    engine.rename = rename  # type: ignore[method-assign]
    _, report, _ = _run(engine, [_load(tmp_path, "new", CHANGED)])
    assert engine.mutating_calls() == [*UNTIL_START[:-1], "remove new-1", "rename old mysql", "start old"]
    assert report.outcomes[0].message == "the new container failed: rename new-1 to mysql: engine said no" + ROLLED_BACK
    assert _running(engine) == [("old", "mysql", "healthy")]


def test_failed_pull_leaves_the_old_container_untouched(tmp_path: Path) -> None:
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    engine.pull_errors.append(EngineError("pull mariadb:11.8: manifest for mariadb:11.8 not found"))
    plan, report, _ = _run(engine, [_load(tmp_path, "new", SPEC.replace("mariadb:11.4", "mariadb:11.8"))])
    assert [(a.kind, a.pull) for a in plan.actions] == [(Kind.RECREATE, "mariadb:11.8")]
    assert engine.mutating_calls() == ["pull mariadb:11.8"]
    (outcome,) = report.outcomes
    assert (outcome.ok, outcome.exit_code, outcome.message) == (
        False,
        ExitCode.APPLY_FAILED,
        "image mariadb:11.8 could not be pulled; nothing was stopped: pull mariadb:11.8: manifest for mariadb:11.8 not found",
    )
    assert report.exit_code is ExitCode.APPLY_FAILED
    assert _running(engine) == [("old", "mysql", "healthy")]


@pytest.mark.parametrize(
    ("transient_errors", "pulls", "ok"),
    [(1, 2, True), (2, 3, True), (3, 3, False)],
    ids=["one retry", "two retries", "gives up after three"],
)
def test_transient_pull_errors_are_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transient_errors: int, pulls: int, ok: bool
) -> None:
    engine = _engine(tmp_path, running=_load(tmp_path, "old", SPEC))
    engine.pull_errors.extend(TransientEngineError("pull mariadb:11.8: 503 Service Unavailable") for _ in range(transient_errors))
    engine.pulled_images["mariadb:11.8"] = MARIADB
    _, report, _ = _run(engine, [_load(tmp_path, "new", SPEC.replace("mariadb:11.4", "mariadb:11.8"))])
    calls = engine.mutating_calls()
    assert calls[:pulls] == ["pull mariadb:11.8"] * pulls
    assert calls.count("pull mariadb:11.8") == pulls
    assert report.outcomes[0].ok is ok
    assert ("stop old (grace 30s)" in calls) is ok


def test_noop_plan_makes_no_mutating_call(tmp_path: Path) -> None:
    app = _load(tmp_path, "app", SPEC)
    engine = _engine(tmp_path, running=app)
    plan, report, steps = _run(engine, [app])
    assert [a.kind for a in plan.actions] == [Kind.NOOP]
    assert (engine.mutations, engine.mutating_calls(), steps) == (0, [], [])
    assert (report.exit_code, [o.ok for o in report.outcomes]) == (ExitCode.OK, [True])


# (description, the spec applied, how the engine starts out, expected mutating calls, exit code)
ACTIONS = [
    (
        "create: network, volume and image first, then the container",
        SPEC + "network: backend\n",
        lambda tmp_path: FakeEngine(pulled_images={"mariadb:11.4": MARIADB}),
        ["create network backend", "create volume mysql-data", "pull mariadb:11.4", "create mysql", "start new-1"],
        ExitCode.OK,
    ),
    (
        "start an exited container",
        SPEC,
        lambda tmp_path: _engine(tmp_path, running=_load(tmp_path, "old", SPEC), status_running=False),
        ["start old"],
        ExitCode.OK,
    ),
    (
        "update the restart policy in place",
        SPEC + "restart: always\n",
        lambda tmp_path: _engine(tmp_path, running=_load(tmp_path, "old", SPEC)),
        ["update old restart=always:0"],
        ExitCode.OK,
    ),
    (
        "update the restart policy of an exited container, then start it",
        SPEC + "restart: on-failure:5\n",
        lambda tmp_path: _engine(tmp_path, running=_load(tmp_path, "old", SPEC), status_running=False),
        ["update old restart=on-failure:5", "start old"],
        ExitCode.OK,
    ),
    (
        "a refused app is not touched",
        SPEC.replace("volumes:\n", "volumes:\n  conf: {target: /etc/mysql/conf.d, bind: /nonexistent/stateful-unit-test, create: false}\n"),
        lambda tmp_path: _engine(tmp_path, running=_load(tmp_path, "old", SPEC)),
        [],
        ExitCode.DATA_GUARD,
    ),
]


@pytest.mark.parametrize(("spec", "make_engine", "calls", "code"), [a[1:] for a in ACTIONS], ids=[a[0] for a in ACTIONS])
def test_action_calls(tmp_path: Path, spec: str, make_engine: Callable[[Path], FakeEngine], calls: list[str], code: ExitCode) -> None:
    engine = make_engine(tmp_path)
    _, report, _ = _run(engine, [_load(tmp_path, "app", spec)])
    assert engine.mutating_calls() == calls
    assert report.exit_code is code
    assert engine.mutations == len(calls)


def test_foreign_container_is_left_alone(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    app = _load(tmp_path, "app", SPEC)
    engine.add_container(app, container_id="theirs")
    engine.containers["theirs"].labels = dict(foreign_container("mysql").labels)
    plan, report, _ = _run(engine, [app])
    assert [a.kind for a in plan.actions] == [Kind.BLOCKED]
    assert (engine.mutating_calls(), report.exit_code) == ([], ExitCode.APPLY_FAILED)


def test_dependent_app_is_skipped_when_its_dependency_fails(tmp_path: Path) -> None:
    specs = SPEC.replace("mariadb:11.4", "mariadb:11.8") + "---\n" + SPEC.replace("name: mysql", "name: api").replace(
        "volumes:\n  data: {target: /var/lib/mysql}\n", "volumes:\n  data: {target: /var/lib/mysql}\ndepends_on: [mysql]\n"
    )
    directory = tmp_path / "apps"
    directory.mkdir()
    apps = load_apps(directory, specs)
    engine = _engine(tmp_path)
    engine.pull_errors.append(EngineError("pull mariadb:11.8: denied"))
    _, report, _ = _run(engine, apps)
    assert [(o.app, o.ok, o.exit_code, o.message) for o in report.outcomes] == [
        ("mysql", False, ExitCode.APPLY_FAILED, "image mariadb:11.8 could not be pulled; nothing was stopped: pull mariadb:11.8: denied"),
        ("api", False, ExitCode.APPLY_FAILED, "skipped: depends on mysql, which failed"),
    ]
    assert engine.mutating_calls() == ["pull mariadb:11.8"]
