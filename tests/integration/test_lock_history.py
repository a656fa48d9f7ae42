"""One writer per state dir; every run is remembered; secrets stay out of the state store."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

from tests.integration.conftest import ROOT_PW, STATEFUL, World, mariadb_spec


def _slow_apply(world: World, spec: str) -> subprocess.Popen[str]:
    """An apply that holds the lock for a while (a recreate whose new container never gets healthy)."""
    command = [STATEFUL, "apply", "--health-timeout", "8s", spec]
    return subprocess.Popen(command, env=world.env_for_run(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_second_concurrent_run_exits_75_at_once_and_names_the_holder(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    never_healthy = 'healthcheck: {test: ["CMD", "false"], interval: 1s, start_period: 1s}\n'
    world.write("db.yaml", mariadb_spec(app, extra_env={"X": "1"}, healthcheck=never_healthy))
    first = _slow_apply(world, spec)
    try:
        time.sleep(1.5)
        started = time.monotonic()
        busy = world.run("apply", spec, check=75)
        assert time.monotonic() - started < 5
        assert "another stateful run holds the lock" in busy.err
        assert f"pid {first.pid}" in busy.err and "stateful apply" in busy.err
        waited = world.run("apply", "--wait-lock", "120", spec)
        assert waited.code == 4  # it waited for the lock, then ran (and rolled back the same broken change)
    finally:
        first.wait(timeout=120)
    assert first.returncode == 4


def test_history_records_runs_without_secrets(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    world.write("db.yaml", mariadb_spec(app, extra_env={"API_TOKEN": "tok-123"}))
    world.run("apply", spec, check=0)
    runs = world.run("history", app, "--output", "json", check=0).json()
    assert [r["exit_code"] for r in runs] == [0, 0]
    assert [a["action"] for a in runs[0]["plan"]["apps"]] == ["recreate"]
    assert runs[1]["plan"]["apps"][0]["action"] == "create"
    table = world.run("history", app, check=0).out
    assert f"{app} recreate ok" in table and f"{app} create ok" in table
    state = world.dir / "state"
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "state.db").stat().st_mode & 0o777 == 0o600
    dump = "\n".join(sqlite3.connect(state / "state.db").iterdump())
    assert ROOT_PW not in dump and "tok-123" not in dump
    assert json.dumps(ROOT_PW)[1:-1] not in world.run("diff", "--output", "json", spec).out
