"""Rows in MariaDB and keys in Redis survive every way a container gets replaced.

Data is checked by asking the servers, never by looking at files.
"""

from __future__ import annotations

from tests.integration.conftest import MARIADB_ALT, REDIS_ALT, World, mariadb_spec, redis_spec

ROWS = "2\tapple,pear"
COUNT_ROWS = "SELECT COUNT(*), GROUP_CONCAT(item ORDER BY id) FROM shop.orders"


def test_mariadb_rows_survive_env_change_image_change_rm_and_destroy(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    world.sql(app, "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20)); INSERT INTO shop.orders VALUES (1,'apple'),(2,'pear')")
    checksum = world.sql(app, "CHECKSUM TABLE shop.orders")
    first_id = world.container(app).id

    # (a) an env change: diff names the field, apply recreates on the same volume.
    world.write("db.yaml", mariadb_spec(app, extra_env={"MARIADB_EXTRA_FLAGS": "--skip-name-resolve"}))
    diff = world.run("diff", spec, check=1)
    assert f'~ {app} recreate: env.MARIADB_EXTRA_FLAGS: (unset) -> "--skip-name-resolve"' in diff.out
    world.run("apply", spec, check=0)
    assert world.container(app).id != first_id
    assert world.sql(app, COUNT_ROWS) == ROWS
    assert world.sql(app, "CHECKSUM TABLE shop.orders") == checksum

    # (b) an image tag change.
    world.write("db.yaml", mariadb_spec(app, image=MARIADB_ALT, extra_env={"MARIADB_EXTRA_FLAGS": "--skip-name-resolve"}))
    assert f"~ {app} recreate: image:" in world.run("diff", spec, check=1).out
    world.run("apply", spec, check=0)
    assert world.container(app).attrs["Config"]["Image"] == MARIADB_ALT
    assert world.sql(app, COUNT_ROWS) == ROWS

    # (c) someone removes the container by hand.
    world.container(app).remove(force=True)
    assert f"+ {app} create: no container" in world.run("diff", spec, check=1).out
    world.run("apply", spec, check=0)
    assert world.sql(app, COUNT_ROWS) == ROWS

    # (d) destroy keeps the volume; apply brings the app back on it.
    destroyed = world.run("destroy", app, check=0)
    assert f"kept volume {app}-data" in destroyed.out
    assert not world.ours()
    world.run("apply", spec, check=0)
    assert world.sql(app, COUNT_ROWS) == ROWS
    assert world.sql(app, "CHECKSUM TABLE shop.orders") == checksum
    world.run("diff", spec, check=0)


def test_redis_keys_survive_env_change_image_change_rm_and_destroy(world: World) -> None:
    app = world.name("cache")
    spec = str(world.write("cache.yaml", redis_spec(app)))
    world.run("apply", spec, check=0)
    world.redis(app, "SET", "greeting", "hello")
    world.redis(app, "RPUSH", "queue", "a", "b", "c")

    def keys_intact() -> None:
        assert world.redis(app, "GET", "greeting") == "hello"
        assert world.redis(app, "LRANGE", "queue", "0", "-1").split() == ["a", "b", "c"]

    world.write("cache.yaml", redis_spec(app, extra="env: {TZ: UTC}\n"))
    world.run("apply", spec, check=0)
    keys_intact()

    world.write("cache.yaml", redis_spec(app, image=REDIS_ALT, extra="env: {TZ: UTC}\n"))
    world.run("apply", spec, check=0)
    keys_intact()

    world.container(app).remove(force=True)
    world.run("apply", spec, check=0)
    keys_intact()

    world.run("destroy", app, check=0)
    world.run("apply", spec, check=0)
    keys_intact()
