"""The data guard: an app whose volume held data is never started on a missing, empty or other one.

MariaDB initialises an empty datadir silently and then looks healthy: exactly the loss to stop.
"""

from __future__ import annotations

import shutil

import docker.errors
import pytest

from tests.integration.conftest import BUSYBOX, ROOT_PW, World, mariadb_spec

BIND = "\n    bind: ./mysql-data\n    owner: \"999:999\""


def test_named_volume_deleted_behind_its_back_is_refused_and_nothing_is_started(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    world.container(app).remove(force=True)
    world.client.volumes.get(f"{app}-data").remove()

    diff = world.run("diff", spec, check=1)
    assert "data guard" in diff.out
    refused = world.run("apply", spec, check=5)
    assert f"data guard: {app}/data held data at the last healthy run" in refused.out
    assert f"volume {app}-data is missing now" in refused.out
    assert f"--allow-empty-volume {app}/data" in refused.out
    assert world.names() == []
    with pytest.raises(docker.errors.NotFound):
        world.client.volumes.get(f"{app}-data")  # not even the empty volume was made

    # The operator says so explicitly: a fresh, empty database is started.
    world.run("apply", "--allow-empty-volume", f"{app}/data", spec, check=0)
    assert world.sql(app, "SHOW TABLES FROM shop") == ""
    world.run("apply", spec, check=0)  # and the guard now remembers the new volume


def test_volume_recreated_under_the_same_name_is_a_different_volume(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    world.container(app).remove(force=True)
    world.client.volumes.get(f"{app}-data").remove()
    volume = world.client.volumes.create(f"{app}-data")
    # Not even empty: someone put a file in it. Still not the volume the app's data lived on.
    world.client.containers.run(BUSYBOX, ["sh", "-c", "echo x > /v/file"], volumes={volume.name: {"bind": "/v"}}, remove=True)
    refused = world.run("apply", spec, check=5)
    assert f"volume {app}-data is a different volume now (not created by stateful" in refused.out
    assert world.names() == []


def test_emptied_bind_dir_is_refused(world: World) -> None:
    app, spec = world.mariadb_with_rows(volumes=BIND)
    world.container(app).stop()
    datadir = world.dir / "mysql-data"
    for entry in datadir.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    refused = world.run("apply", spec, check=5)
    assert f"bind {datadir} is empty now" in refused.out
    assert not world.running(app)


def test_spec_pointing_at_a_new_empty_dir_without_a_remap_is_refused(world: World) -> None:
    """Renaming the key is not a remap: the key is the data's identity (changing only the source is)."""
    app, spec = world.mariadb_with_rows(volumes=BIND)
    renamed = mariadb_spec(app, volumes="\n    bind: ./elsewhere")
    renamed = renamed.replace("  data:\n    target: /var/lib/mysql", "  mysql:\n    target: /var/lib/mysql")
    world.write("db.yaml", renamed)
    refused = world.run("apply", spec, check=5)
    assert f"data guard: {app}/data held data at /var/lib/mysql" in refused.out
    assert f"{app}/mysql now mounts bind {world.dir / 'elsewhere'} there, which is empty" in refused.out
    assert world.running(app)  # the running app was not touched
    assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "2"
    assert not (world.dir / "elsewhere").exists()


def test_foreign_container_writing_to_the_datadir_blocks_the_start(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    world.container(app).stop()
    intruder = world.client.containers.run(
        BUSYBOX, ["sleep", "300"], name=world.name("intruder"), volumes={f"{app}-data": {"bind": "/var/lib/mysql"}}, detach=True
    )
    refused = world.run("apply", spec, check=5)
    assert f"is mounted writable by running container {intruder.name} (not managed by stateful)" in refused.out
    assert not world.running(app)
    intruder.remove(force=True)
    world.run("apply", spec, check=0)
    assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "2"


def test_init_only_env_change_on_existing_data_is_explained_not_recreated(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    container_id = world.container(app).id
    world.write("db.yaml", mariadb_spec(app).replace(f'MARIADB_ROOT_PASSWORD: "{ROOT_PW}"', 'MARIADB_ROOT_PASSWORD: "another-one"'))
    diff = world.run("diff", spec, check=0)
    assert f"i {app} note: env.MARIADB_ROOT_PASSWORD: *** -> *** has no effect" in diff.out
    assert "another-one" not in diff.out and ROOT_PW not in diff.out
    applied = world.run("apply", spec, check=0)
    assert "has no effect" in applied.out
    assert world.container(app).id == container_id
    # Together with a real change, the new value is simply carried along.
    world.write("db.yaml", mariadb_spec(app, extra_env={"TZ": "UTC"}).replace(f'"{ROOT_PW}"', '"another-one"'))
    assert f"~ {app} recreate: env.TZ" in world.run("apply", spec, check=0).out
    assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "2"  # the old password still logs in
