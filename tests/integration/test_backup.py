"""Backup and restore: the data comes back identical, even after the volumes were purged."""

from __future__ import annotations

import json

from tests.integration.conftest import World, mariadb_spec, redis_spec

SUMMARY = "SELECT COUNT(*), SUM(id), SUM(CRC32(note)) FROM shop.t"


def _rows(world: World, app: str) -> str:
    values = ",".join(f"({i}, MD5({i}))" for i in range(1, 2001))
    world.sql(app, f"CREATE TABLE shop.t (id INT PRIMARY KEY, note VARCHAR(40)); INSERT INTO shop.t VALUES {values}")
    return world.sql(app, SUMMARY)


def test_backup_destroy_purge_restore_gives_identical_data(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    summary = _rows(world, app)
    target = world.dir / "backup"
    made = world.run("backup", app, "--to", str(target), check=0)
    assert f"started {app} again: healthy" in made.out
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["mode"] == "stop-copy-start" and [a["file"] for a in manifest["archives"]] == ["var_lib_mysql.tar"]

    world.run("destroy", app, "--purge-volumes", "--yes", check=0)
    assert world.names() == []
    restored = world.run("restore", app, str(target), check=0)
    assert f"var_lib_mysql.tar -> volume {app}-data" in restored.out
    assert world.sql(app, SUMMARY) == summary
    world.run("diff", spec, check=0)

    # Restoring over data that exists is refused without --force.
    refused = world.run("restore", app, str(target), check=4)
    assert "restore refuses to write over data" in refused.err
    assert world.running(app)  # a refused restore touches nothing
    world.sql(app, "DELETE FROM shop.t WHERE id > 1000")
    world.run("restore", app, str(target), "--force", check=0)
    assert world.sql(app, SUMMARY) == summary


def test_a_damaged_backup_is_refused(world: World) -> None:
    app = world.name("cache")
    spec = str(world.write("cache.yaml", redis_spec(app)))
    world.run("apply", spec, check=0)
    world.redis(app, "SET", "k", "v")
    target = world.dir / "backup"
    world.run("backup", app, "--to", str(target), "--hot", check=0)
    assert world.running(app)
    with (target / "data.tar").open("r+b") as archive:
        archive.seek(600)
        archive.write(b"damage")
    assert "checksum differs" in world.run("restore", app, str(target), "--force", check=4).err


def test_hot_backups_keep_the_app_running(world: World) -> None:
    db, cache = world.name("db"), world.name("cache")
    world.write("specs/db.yaml", mariadb_spec(db))
    world.write("specs/cache.yaml", redis_spec(cache))
    world.run("apply", str(world.dir / "specs"), check=0)
    _rows(world, db)
    started = world.container(db).attrs["State"]["StartedAt"]
    made = world.run("backup", db, "--hot", "--to", str(world.dir / "db-backup"), check=0)
    assert "single-transaction" in made.out
    assert world.container(db).attrs["State"]["StartedAt"] == started
    dump = (world.dir / "db-backup" / "dump.sql").read_text()
    assert "INSERT INTO `t` VALUES" in dump and "CREATE TABLE `t`" in dump

    for i in range(100):
        world.redis(cache, "SET", f"k{i}", str(i))
    world.run("backup", cache, "--hot", "--to", str(world.dir / "cache-backup"), check=0)
    world.run("destroy", cache, "--purge-volumes", "--yes", check=0)
    world.run("restore", cache, str(world.dir / "cache-backup"), check=0)
    assert world.redis(cache, "DBSIZE") == "100"
