"""Refusals: each leaves the engine untouched and exits with its documented code."""

from __future__ import annotations

import docker.errors
import pytest

from tests.integration.conftest import BUSYBOX, MARIADB, World, busybox_spec, mariadb_spec


def test_image_volume_not_in_spec_is_refused_before_anything_is_created(world: World) -> None:
    app = world.name("db")
    spec = world.write("db.yaml", mariadb_spec(app).replace("volumes:\n  data:\n    target: /var/lib/mysql\n", ""))
    result = world.run("apply", str(spec), check=2)
    assert "declares VOLUME /var/lib/mysql" in result.out
    assert world.ours() == []
    assert [v for v in world.client.volumes.list() if v.name.startswith(world.prefix)] == []


def test_foreign_container_with_the_apps_name_is_left_alone(world: World) -> None:
    app = world.name("box")
    foreign = world.client.containers.run(BUSYBOX, ["sleep", "300"], name=app, detach=True)
    spec = world.write("box.yaml", busybox_spec(app))
    result = world.run("apply", str(spec), check=4)
    assert "was not created by stateful" in result.out
    assert world.container(app).id == foreign.id


def test_missing_bind_dir_with_create_false_is_refused(world: World) -> None:
    app = world.name("box")
    spec = world.write("box.yaml", busybox_spec(app, extra="volumes:\n  data: {target: /data, bind: /nonexistent/disk, create: false}\n"))
    result = world.run("apply", str(spec), check=5)
    assert "does not exist" in result.out and "create: false" in result.out
    assert world.ours() == []


def test_failed_pull_leaves_the_running_app_untouched(world: World) -> None:
    app = world.name("db")
    spec = world.write("db.yaml", mariadb_spec(app))
    world.run("apply", str(spec), check=0)
    world.sql(app, "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)")
    before = world.container(app)
    world.write("db.yaml", mariadb_spec(app, image=f"{world.prefix}/no-such-image:1"))
    result = world.run("apply", str(spec), check=4)
    assert "could not be pulled; nothing was stopped" in result.out
    after = world.container(app)
    assert after.id == before.id
    assert after.attrs["State"]["StartedAt"] == before.attrs["State"]["StartedAt"]
    assert world.sql(app, "SELECT id FROM shop.t") == "1"


def test_bind_dir_is_created_with_the_specs_mode_and_owner(world: World) -> None:
    app = world.name("box")
    spec = world.write(
        "box.yaml",
        busybox_spec(app, extra='volumes:\n  data: {target: /data, bind: ./data/db, mode: "0750", owner: "999:999"}\n'),
    )
    world.run("apply", "--settle", "1s", str(spec), check=0)
    made = (world.dir / "data" / "db").stat()
    assert (made.st_mode & 0o777, made.st_uid, made.st_gid) == (0o750, 999, 999)


def test_unreachable_engine_exits_3_and_names_the_endpoint(world: World) -> None:
    spec = world.write("db.yaml", mariadb_spec(world.name("db"), image=MARIADB))
    world.env["DOCKER_HOST"] = f"unix://{world.dir}/no-engine.sock"
    result = world.run("apply", str(spec), check=3)
    assert f"unix://{world.dir}/no-engine.sock" in result.err
    assert "Traceback" not in result.err
    with pytest.raises(docker.errors.NotFound):
        world.client.containers.get(world.name("db"))
