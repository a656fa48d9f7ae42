"""Kill `stateful` (SIGKILL) right after each step of a MariaDB recreate: the next apply heals.

After each kill, one plain `stateful apply` must bring the app back healthy on its volume with
every row intact, leave no temporary container behind, and at no moment may two containers of
the app have been running (proved from the engine's own start/die events).
"""

from __future__ import annotations

import shutil
import signal

import pytest

from tests.integration.conftest import World, engine_health, mariadb_spec
from tests.integration.test_recreate_safety import NEVER_HEALTHY, RunningWatcher

RECREATE_STEPS = ["create-new", "stop-old", "rename-old", "rename-new", "start-new", "health-gate", "remove-old"]
ROLLBACK_STEPS = ["rollback-stop-new", "rollback-remove-new", "rollback-rename-old", "rollback-start-old"]
ROWS = "SELECT COUNT(*), SUM(id) FROM shop.orders"


def _app_with_rows(world: World) -> tuple[str, str]:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    values = ",".join(f"({i})" for i in range(1, 501))
    world.sql(app, f"CREATE TABLE shop.orders (id INT PRIMARY KEY); INSERT INTO shop.orders VALUES {values}")
    assert world.sql(app, ROWS) == "500\t125250"
    return app, spec


# Each step once: the decision after every kill point (and after kills during recovery itself)
# is tabled in tests/unit/test_recover.py; here the real engine proves each point end to end.
@pytest.mark.parametrize("step", RECREATE_STEPS)
def test_killed_after_each_recreate_step_the_next_apply_heals(world: World, step: str) -> None:
    app, spec = _app_with_rows(world)
    watcher = RunningWatcher(world, app)
    world.write("db.yaml", mariadb_spec(app, extra_env={"TZ": "UTC"}))

    world.env["STATEFUL_FAULT_KILL_AFTER"] = step
    killed = world.run("apply", spec)
    assert killed.code == -signal.SIGKILL, killed.out + killed.err

    del world.env["STATEFUL_FAULT_KILL_AFTER"]
    healed = world.run("apply", spec, check=0)

    container = world.container(app)
    assert container.status == "running"
    # The gate passed on its own run of the healthcheck; the engine's next check agrees.
    assert engine_health(world, app, within=15.0) == "healthy"
    assert "TZ=UTC" in container.attrs["Config"]["Env"]  # the change is in place after all
    assert [m["Name"] for m in container.attrs["Mounts"]] == [f"{app}-data"]
    assert world.sql(app, ROWS) == "500\t125250"
    assert world.names() == [app], healed.out
    assert watcher.most_running_at_once() == 1, watcher.seen
    world.run("diff", spec, check=0)


@pytest.mark.parametrize("step", ROLLBACK_STEPS)
def test_killed_during_a_rollback_the_next_apply_restores_the_old_container(world: World, step: str) -> None:
    app, spec = _app_with_rows(world)
    old_id = world.container(app).id
    watcher = RunningWatcher(world, app)
    world.write("db.yaml", mariadb_spec(app, extra_env={"BROKEN": "yes"}, healthcheck=NEVER_HEALTHY))

    world.env["STATEFUL_FAULT_KILL_AFTER"] = step
    assert world.run("apply", spec).code == -signal.SIGKILL
    del world.env["STATEFUL_FAULT_KILL_AFTER"]
    # The spec is still broken: the next apply finishes the rollback, tries again, rolls back again.
    world.run("apply", spec, check=4)

    container = world.container(app)
    assert container.id == old_id and container.status == "running"
    assert world.sql(app, ROWS) == "500\t125250"
    assert world.names() == [app]
    assert watcher.most_running_at_once() == 1


def _killed_mid_recreate(world: World) -> tuple[str, str]:
    """A recreate killed after the old container was renamed away: the app's name is free."""
    app, spec = _app_with_rows(world)
    world.write("db.yaml", mariadb_spec(app, extra_env={"TZ": "UTC"}))
    world.env["STATEFUL_FAULT_KILL_AFTER"] = "rename-old"
    assert world.run("apply", spec).code == -signal.SIGKILL
    del world.env["STATEFUL_FAULT_KILL_AFTER"]
    return app, spec


def test_leftovers_are_recognised_without_the_journal(world: World) -> None:
    """The state dir is lost mid-recreate and made again in its place: labels and names suffice."""
    app, spec = _killed_mid_recreate(world)
    shutil.rmtree(world.dir / "state")
    world.run("apply", spec, check=0)
    assert world.names() == [app]
    assert world.sql(app, ROWS) == "500\t125250"


def test_another_state_dir_leaves_the_app_and_its_leftovers_alone(world: World) -> None:
    """root's cron and a user's shell keep different state dirs. A run from the other one must not
    roll back (or race) a recreate it has no journal of: it refuses the app and touches nothing."""
    app, spec = _killed_mid_recreate(world)
    left = sorted((c.name, c.id, c.status) for c in world.ours())
    own_state_dir = world.env_for_run()["STATEFUL_STATE_DIR"]

    world.env["STATEFUL_STATE_DIR"] = str(world.dir / "another-state-dir")
    refused = world.run("apply", spec, check=4)
    assert f"{app} is managed from another state dir, {own_state_dir}:" in refused.out
    assert f"--state-dir {own_state_dir}" in refused.out
    assert "managed from another state dir" in world.run("diff", spec, check=1).out
    assert "managed from another state dir" in world.run("destroy", app, check=4).err
    assert sorted((c.name, c.id, c.status) for c in world.ours()) == left

    del world.env["STATEFUL_STATE_DIR"]  # its own state dir finishes what it began
    world.run("apply", spec, check=0)
    assert world.names() == [app]
    assert world.sql(app, ROWS) == "500\t125250"
    assert world.container(app).attrs["Config"]["Labels"]["io.stateful.state-dir"] == own_state_dir

    # A backup or a restore from the other state dir would stop the app outside its owner's lock.
    backup = world.dir / "backup"
    world.run("backup", app, "--to", str(backup), check=0)
    world.env["STATEFUL_STATE_DIR"] = str(world.dir / "another-state-dir")
    assert "managed from another state dir" in world.run("backup", app, "--to", str(world.dir / "other"), check=4).err
    assert "managed from another state dir" in world.run("restore", app, str(backup), "--force", check=4).err
    assert world.running(app) and not (world.dir / "other").exists()
    assert world.sql(app, ROWS) == "500\t125250"
