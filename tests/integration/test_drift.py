"""Hand edits to a managed container (stop, update, rm) are named by diff and undone by apply."""

from __future__ import annotations

from tests.integration.conftest import World, busybox_spec, engine_health, mariadb_spec


def test_stop_and_restart_policy_drift_is_named_and_restored_on_the_same_data(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    world.sql(app, "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (7)")
    container_id = world.container(app).id

    world.container(app).update(restart_policy={"Name": "no"})
    world.container(app).stop()
    diff = world.run("diff", spec, check=1)
    assert f'~ {app} update: restart: "no" -> "unless-stopped"' in diff.out
    assert f"~ {app} update: container is exited" in diff.out

    applied = world.run("apply", spec, check=0)
    assert "update restart policy to unless-stopped" in applied.out
    container = world.container(app)
    assert container.id == container_id  # fixed in place: no recreate for a restart policy
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert container.status == "running"
    assert world.sql(app, "SELECT id FROM shop.t") == "7"
    world.run("diff", spec, check=0)


def test_status_shows_state_volumes_and_drift(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    assert engine_health(world, app, within=15.0) == "healthy"
    rows = {r["app"]: r for r in world.run("status", "--output", "json", spec, check=0).json()}
    assert rows[app]["state"] == "running"
    assert rows[app]["health"] == "healthy"
    assert rows[app]["volumes"] == [f"/var/lib/mysql <- volume {app}-data"]
    assert rows[app]["drift"] == "in sync"

    world.container(app).stop()
    # Without a path, status finds the spec through the container's labels.
    rows = {r["app"]: r for r in world.run("status", "--output", "json", check=0).json()}
    assert rows[app]["state"] == "exited"
    assert rows[app]["drift"] == "needs start"
    table = world.run("status", spec, check=0).out
    assert app in table and "exited" in table and "needs start" in table


def test_a_changed_tmpfs_size_is_drift_and_apply_makes_it(world: World) -> None:
    app = world.name("cache")
    spec = world.write("cache.yaml", busybox_spec(app, extra="volumes:\n  scratch: {target: /scratch, tmpfs: {size: 16m}}\n"))
    world.run("apply", str(spec), check=0)
    world.run("diff", str(spec), check=0)

    spec.write_text(spec.read_text().replace("size: 16m", "size: 32m"))
    diff = world.run("diff", str(spec), check=1)
    assert f'~ {app} recreate: volumes.scratch: "tmpfs (size 16 MiB)" -> "tmpfs (size 32 MiB)"' in diff.out
    world.run("apply", str(spec), check=0)
    mounts = world.container(app).attrs["HostConfig"]["Mounts"]
    assert [m["TmpfsOptions"]["SizeBytes"] for m in mounts if m["Type"] == "tmpfs"] == [32 * 1024**2]
    world.run("diff", str(spec), check=0)
