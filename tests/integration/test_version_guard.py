"""The version guard on a real engine: a server is never started on a datadir it cannot open.

Needs the second-major images (`scripts/images.sh --second-majors`; scripts/test.sh builds them
beside the unit tests). Without them these tests skip, or fail under STATEFUL_REQUIRE_ENGINE.
"""

from __future__ import annotations

import os
import subprocess

import docker
import pytest

from tests.integration.conftest import REDIS, World, _has_image, _unavailable, mariadb_spec, redis_spec

POSTGRES = os.environ.get("STATEFUL_POSTGRES_IMAGE", "stateful-test/postgres:15")
POSTGRES_NEXT = os.environ.get("STATEFUL_POSTGRES_NEXT_IMAGE", "stateful-test/postgres:17")
MARIADB_NEXT = os.environ.get("STATEFUL_MARIADB_NEXT_IMAGE", "stateful-test/mariadb:11.8")
REDIS_NEXT = os.environ.get("STATEFUL_REDIS_NEXT_IMAGE", "stateful-test/redis:8.0")


@pytest.fixture(scope="session")
def next_images(client: docker.DockerClient) -> None:
    missing = [i for i in (POSTGRES, POSTGRES_NEXT, MARIADB_NEXT, REDIS_NEXT) if not _has_image(client, i)]
    if missing:
        _unavailable(f"version-change images missing: {missing} (run scripts/images.sh --second-majors)")


def _pg_spec(name: str, image: str, key: str = "data") -> str:
    return f"""apiVersion: stateful/v1
kind: App
name: {name}
image: {image}
env:
  POSTGRES_PASSWORD: pw
volumes:
  {key}:
    target: /var/lib/postgresql/data
restart: unless-stopped
"""


def _psql(world: World, app: str, statement: str) -> str:
    code, out = world.container(app).exec_run(["psql", "-U", "postgres", "-h", "127.0.0.1", "-tAc", statement])
    assert code == 0, out.decode()
    return out.decode().strip()


def _database(world: World, app: str, spec: object) -> tuple[str, str]:
    (row,) = [r for r in world.run("status", str(spec), "--output", "json", check=0).json() if r["app"] == app]
    return row["database"], row["written_by"]


def _started(world: World, app: str) -> tuple[str, str]:
    container = world.container(app)
    return container.id, container.attrs["State"]["StartedAt"]


@pytest.mark.usefixtures("next_images")
def test_postgres_major_change_is_refused_and_the_dump_and_restore_path_works(world: World) -> None:
    app = world.name("pg")
    spec = world.write("pg.yaml", _pg_spec(app, POSTGRES))
    world.run("apply", str(spec), check=0)
    _psql(world, app, "CREATE TABLE t (id int primary key, note text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 500) i")
    summary = _psql(world, app, "SELECT count(*), sum(id), md5(string_agg(note, ',' ORDER BY id)) FROM t")
    assert _database(world, app, spec) == ("postgres", "PostgreSQL 15")
    before = _started(world, app)

    world.write("pg.yaml", _pg_spec(app, POSTGRES_NEXT))
    diff = world.run("diff", str(spec), check=1)
    assert f'image: "{POSTGRES}" -> "{POSTGRES_NEXT}" (datadir written by PostgreSQL 15)' in diff.out
    refused = world.run("apply", str(spec), check=5)
    assert "version guard" in refused.out + refused.err and "Nothing was stopped" in refused.out + refused.err
    assert _started(world, app) == before and world.running(app)

    # The way through that the message names: a dump, a new volume key with the new image, the load.
    backup = world.dir / "backup"
    world.run("backup", app, "--hot", "--to", str(backup), check=0)
    world.write("pg.yaml", _pg_spec(app, POSTGRES_NEXT, key="data17"))
    world.run("apply", str(spec), "--allow-empty-volume", f"{app}/data17", check=0)
    with (backup / "dump.sql").open("rb") as dump:
        subprocess.run(
            ["docker", "exec", "-i", app, "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=0", "-q", "-f", "-", "postgres"],
            stdin=dump, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    assert _psql(world, app, "SELECT count(*), sum(id), md5(string_agg(note, ',' ORDER BY id)) FROM t") == summary
    assert _psql(world, app, "SHOW server_version_num").startswith("17")
    assert _database(world, app, spec) == ("postgres", "PostgreSQL 17")


@pytest.mark.usefixtures("next_images")
def test_mariadb_upgrade_goes_ahead_and_a_downgrade_is_refused(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    world.write("db.yaml", mariadb_spec(app, image=MARIADB_NEXT))
    world.run("apply", spec, check=0)  # 10.11 -> 11.8: one generation up
    assert world.sql(app, "SELECT id FROM shop.t ORDER BY id") == "1\n2"
    assert world.sql(app, "SELECT VERSION()").startswith("11.8")
    # The official image's upgrade step (MARIADB_AUTO_UPGRADE); the test image leaves it to us.
    # (as a plain-passworded admin: mariadb-upgrade hands its password on through a shell)
    world.sql(app, "CREATE USER up@'%' IDENTIFIED BY 'up'; GRANT ALL ON *.* TO up@'%' WITH GRANT OPTION")
    code, out = world.container(app).exec_run(["mariadb-upgrade", "-h127.0.0.1", "--protocol=tcp", "-uup", "-pup"])
    assert code == 0, out.decode()
    assert _database(world, app, spec)[1].startswith("MariaDB 11.8")  # the datadir's version moved with it

    before = _started(world, app)
    world.write("db.yaml", mariadb_spec(app))  # back to 10.11
    refused = world.run("apply", spec, check=5)
    assert "MariaDB cannot be downgraded from 11.8 to 10.11" in refused.out + refused.err
    assert _started(world, app) == before and world.running(app)


@pytest.mark.usefixtures("next_images")
def test_redis_downgrade_past_the_file_format_is_refused(world: World) -> None:
    app = world.name("cache")
    spec = str(world.write("cache.yaml", redis_spec(app, image=REDIS_NEXT)))
    world.run("apply", spec, check=0)
    world.redis(app, "SET", "k", "v")
    world.redis(app, "SAVE")
    before = _started(world, app)
    world.write("cache.yaml", redis_spec(app, image=REDIS))
    refused = world.run("apply", spec, check=5)
    text = refused.out + refused.err
    assert "written by Redis 8.0" in text and "reads RDB files up to format" in text
    assert _started(world, app) == before and world.redis(app, "GET", "k") == "v"
