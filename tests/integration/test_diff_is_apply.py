"""After a killed run, `diff --output json` is the plan the next `apply` runs, to the letter.

The state a run killed midway leaves (an open journal entry, a copy begun) is where a read-only
plan built differently from apply's would part ways with it: diff said "blocked: the target
already holds other data" while apply resumed the copy.
"""

from __future__ import annotations

import signal
from typing import Any

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
    assert [a["action"] for a in ran["apps"]] == ["recreate"]
    assert world.sql(app, ROWS) == before
    assert "TZ=UTC" in world.container(app).attrs["Config"]["Env"]
    assert world.names() == [app]
