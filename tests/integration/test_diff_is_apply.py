"""After a killed run, `diff --output json` is the plan the next `apply` runs, to the letter.

The state a run killed midway leaves (an open journal entry, a copy begun) is where a read-only
plan built differently from apply's would part ways with it: diff said "blocked: the target
already holds other data" while apply resumed the copy.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.integration.conftest import World, mariadb_spec

ROWS = "SELECT COUNT(*), SUM(id) FROM shop.t"


def _killed_after(world: World, spec: str, step: str) -> None:
    world.env["STATEFUL_FAULT_KILL_AFTER"] = step
    killed = world.run("apply", spec)
    del world.env["STATEFUL_FAULT_KILL_AFTER"]
    assert killed.code == -signal.SIGKILL, killed.out + killed.err


def _diff_then_apply(world: World, spec: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan diff shows, and the plan the next apply ran (as it prints it and as history holds it)."""
    shown = world.run("diff", "--output", "json", spec, check=1).json()
    applied = world.run("apply", "--output", "json", spec, check=0).json()
    recorded = world.run("history", "--limit", "1", "--output", "json", check=0).json()[0]["plan"]
    assert applied["plan"] == recorded
    return shown, applied["plan"]


def test_a_remap_copy_killed_midway_diff_shows_the_resumed_copy_apply_runs(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    before = world.sql(app, ROWS)
    world.write("db.yaml", mariadb_spec(app, volumes="\n    bind: ./srv-mysql"))
    _killed_after(world, spec, "migrate-copy")

    shown, ran = _diff_then_apply(world, spec)
    assert shown == ran
    (action,) = ran["apps"]
    assert action["action"] == "recreate" and action["problem"] is None and action["migrations"], action
    assert world.sql(app, ROWS) == before
    assert [m["Source"] for m in world.container(app).attrs["Mounts"]] == [str(world.dir / "srv-mysql")]
    world.run("diff", spec, check=0)


def test_a_recreate_killed_after_stopping_the_old_container_diff_shows_what_apply_runs(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    before = world.sql(app, ROWS)
    world.write("db.yaml", mariadb_spec(app, extra_env={"TZ": "UTC"}))
    _killed_after(world, spec, "stop-old")

    shown, ran = _diff_then_apply(world, spec)
    assert shown == ran
    assert [(a["action"], a["recovery"]) for a in ran["apps"]] == [("recreate", _note("roll it back", "stop-old"))]
    assert world.sql(app, ROWS) == before
    assert "TZ=UTC" in world.container(app).attrs["Config"]["Env"]
    assert world.names() == [app]


def _note(what: str, step: str) -> str:
    return f"interrupted recreate: {what} first (the journal stopped after {step})"


# (the step the recreate was killed after, the plan once recovery has run, the recovery's note).
# Planned from the engine as the kill left it, diff said "create" (no container has the app's
# name), "start" (the new one has it, not started) and twice "in sync" (the new one runs).
KILLED_AFTER = [
    ("rename-old", "recreate", _note("roll it back", "rename-old")),
    ("rename-new", "recreate", _note("roll it back", "rename-new")),
    ("start-new", "recreate", _note("roll it back", "start-new")),
    ("health-gate", "noop", _note("finish it", "health-passed")),
]


@pytest.mark.parametrize(("step", "action", "note"), KILLED_AFTER)
def test_a_recreate_killed_midway_diff_shows_the_recovery_and_the_plan_apply_runs(world: World, step: str, action: str, note: str) -> None:
    app, spec = world.mariadb_with_rows()
    before = world.sql(app, ROWS)
    world.write("db.yaml", mariadb_spec(app, extra_env={"TZ": "UTC"}))
    _killed_after(world, spec, step)
    text = world.run("diff", spec)

    shown, ran = _diff_then_apply(world, spec)
    assert shown == ran
    assert text.code == 1 and f"{app} {action}: {note}" in text.out, text.out
    assert [(a["app"], a["action"], a["recovery"]) for a in ran["apps"]] == [(app, action, note)]
    assert ran["recoveries"] == [{"app": app, "note": note}] and ran["changes"] is True
    assert world.sql(app, ROWS) == before
    assert "TZ=UTC" in world.container(app).attrs["Config"]["Env"]
    assert world.names() == [app]
    world.run("diff", spec, check=0)
