"""PostgreSQL as a first-class app: its rows survive every replacement, a remap, both backups, the
data guard, adopt of a hand-started container and a compose import.

Rows are checked by asking the server (psql), never by looking at files.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess

import docker.errors
import pytest
from dotenv import dotenv_values
from ruamel.yaml import YAML

from tests.integration.conftest import POSTGRES, POSTGRES_ALT, ROOT_PW, World, exec_output, postgres_spec
from tests.integration.test_import import _compose

ROWS = "1|apple\n2|pear"
SELECT = "SELECT id, item FROM t ORDER BY id"
DATADIR = "/var/lib/postgresql/data"


def _rows(world: World, app: str, n: int = 2000) -> str:
    world.psql(app, f"CREATE TABLE big (id INT PRIMARY KEY, note TEXT); INSERT INTO big SELECT i, md5(i::text) FROM generate_series(1, {n}) i")
    return _summary(world, app)


def _summary(world: World, app: str) -> str:
    return world.psql(app, "SELECT COUNT(*), SUM(id), md5(string_agg(note, ',' ORDER BY id)) FROM big")


def test_rows_survive_env_change_image_change_rm_and_destroy(world: World) -> None:
    app, spec = world.postgres_with_rows()
    first_id = world.container(app).id

    # An ordinary setting changes: recreated on the same volume.
    world.write("pg.yaml", postgres_spec(app, extra_env={"TZ": "UTC"}))
    assert f'~ {app} recreate: env.TZ: (unset) -> "UTC"' in world.run("diff", spec, check=1).out
    world.run("apply", spec, check=0)
    assert world.container(app).id != first_id
    assert world.psql(app, SELECT) == ROWS

    # The image is rebuilt under another tag.
    world.write("pg.yaml", postgres_spec(app, image=POSTGRES_ALT, extra_env={"TZ": "UTC"}))
    assert f"~ {app} recreate: image:" in world.run("diff", spec, check=1).out
    world.run("apply", spec, check=0)
    assert world.container(app).attrs["Config"]["Image"] == POSTGRES_ALT
    assert world.psql(app, SELECT) == ROWS

    # Removed by hand.
    world.container(app).remove(force=True)
    world.run("apply", spec, check=0)
    assert world.psql(app, SELECT) == ROWS

    world.run("destroy", app, check=0)
    world.run("apply", spec, check=0)
    assert world.psql(app, SELECT) == ROWS
    world.run("diff", spec, check=0)


def test_init_only_password_change_is_a_note_not_a_recreate(world: World) -> None:
    app, spec = world.postgres_with_rows()
    container_id = world.container(app).id
    world.write("pg.yaml", postgres_spec(app, password="another-one"))
    diff = world.run("diff", spec, check=0)
    assert f"i {app} note: env.POSTGRES_PASSWORD: *** -> *** has no effect" in diff.out
    assert "another-one" not in diff.out and ROOT_PW not in diff.out
    assert "has no effect" in world.run("apply", spec, check=0).out
    assert world.container(app).id == container_id
    assert world.psql(app, SELECT) == ROWS


def test_remap_named_volume_to_bind_keeps_every_row(world: World) -> None:
    app, spec = world.postgres_with_rows()
    summary = _rows(world, app)
    world.write("pg.yaml", postgres_spec(app, volumes="\n    bind: ./srv-pg"))
    assert f"~ {app} migrate data: volume {app}-data (" in world.run("diff", spec, check=1).out
    moved = world.run("apply", spec, check=0)
    assert "verified:" in moved.out
    assert [m["Source"] for m in world.container(app).attrs["Mounts"]] == [str(world.dir / "srv-pg")]
    assert (world.dir / "srv-pg" / "PG_VERSION").is_file()
    assert world.psql(app, SELECT) == ROWS
    assert _summary(world, app) == summary
    listed = {(v["source"], v["state"]) for v in world.run("volumes", "--output", "json", check=0).json()}
    assert (f"volume {app}-data", "retired") in listed
    world.run("diff", spec, check=0)


def test_hot_backup_purge_then_the_dump_loaded_with_psql_gives_the_same_rows(world: World) -> None:
    app, spec = world.postgres_with_rows()
    summary = _rows(world, app)
    started = world.container(app).attrs["State"]["StartedAt"]
    target = world.dir / "hot"
    made = world.run("backup", app, "--hot", "--to", str(target), check=0)
    assert "pg_dumpall" in made.out
    assert world.container(app).attrs["State"]["StartedAt"] == started  # never stopped
    manifest = json.loads((target / "manifest.json").read_text())
    assert (manifest["mode"], manifest["database"]) == ("hot: pg_dumpall", "postgres")
    dump = (target / "dump.sql").read_text()
    assert "CREATE TABLE public.big" in dump and dump.rstrip().endswith("-- PostgreSQL database cluster dump complete\n--")

    world.run("destroy", app, "--purge-volumes", "--yes", check=0)
    refused = world.run("restore", app, str(target), check=4)
    hint = "psql -U postgres -d postgres < dump.sql"
    assert hint in refused.err
    world.run("apply", spec, check=0)
    assert world.psql(app, "SELECT to_regclass('public.big') IS NULL") == "t"  # a fresh cluster
    # The documented way: the hint's command, inside the app's container.
    with (target / "dump.sql").open("rb") as stdin:
        loaded = subprocess.run(["docker", "exec", "-i", app, *hint.split(" < ")[0].split()], stdin=stdin, capture_output=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert world.psql(app, SELECT) == ROWS
    assert _summary(world, app) == summary
    # Logging in from outside still takes the password the dump carried.
    code, out = world.container(app).exec_run(
        ["psql", "-h", world.container(app).attrs["NetworkSettings"]["IPAddress"], "-U", "postgres", "-d", "shop", "-Atc", "SELECT 1"],
        environment={"PGPASSWORD": ROOT_PW},
    )
    assert (code, out.decode().strip()) == (0, "1")


def test_stop_copy_start_backup_purge_restore(world: World) -> None:
    app, spec = world.postgres_with_rows()
    summary = _rows(world, app)
    target = world.dir / "backup"
    made = world.run("backup", app, "--to", str(target), check=0)
    assert f"started {app} again: healthy" in made.out
    world.run("destroy", app, "--purge-volumes", "--yes", check=0)
    restored = world.run("restore", app, str(target), check=0)
    assert f"-> volume {app}-data" in restored.out
    assert world.psql(app, SELECT) == ROWS
    assert _summary(world, app) == summary
    world.run("diff", spec, check=0)


def test_data_guard_refuses_a_missing_volume_and_creates_nothing(world: World) -> None:
    app, spec = world.postgres_with_rows()
    world.container(app).remove(force=True)
    world.client.volumes.get(f"{app}-data").remove()
    refused = world.run("apply", spec, check=5)
    assert f"volume {app}-data is missing now" in refused.out
    assert world.names() == []
    with pytest.raises(docker.errors.NotFound):
        world.client.volumes.get(f"{app}-data")


def test_data_guard_refuses_an_emptied_bind_dir_and_writes_nothing_into_it(world: World) -> None:
    app, spec = world.postgres_with_rows(volumes="\n    bind: ./pg-data")
    world.container(app).stop()
    datadir = world.dir / "pg-data"
    subprocess.run(["find", str(datadir), "-mindepth", "1", "-delete"], check=True)
    before = os.stat(datadir)
    for command in ("diff", "apply"):
        refused = world.run(command, spec, check=1 if command == "diff" else 5)
        assert "data guard" in refused.out
        assert list(datadir.iterdir()) == []  # initdb refuses a non-empty directory: not even a marker
    assert f"bind {datadir} is empty now" in refused.out
    assert not world.running(app)
    assert os.stat(datadir).st_mtime_ns == before.st_mtime_ns

    # Allowed explicitly, the image initialises the still-empty directory.
    world.run("apply", "--allow-empty-volume", f"{app}/data", spec, check=0)
    assert world.psql(app, "SELECT to_regclass('public.t') IS NULL") == "t"


def test_capture_then_adopt_a_hand_started_postgres(world: World) -> None:
    app, volume = world.name("pg"), world.name("pgdata")
    world.client.containers.run(POSTGRES, name=app, detach=True, environment={"POSTGRES_PASSWORD": ROOT_PW}, volumes={volume: {"bind": DATADIR}})
    world.psql(app, "CREATE TABLE t (id INT PRIMARY KEY, item TEXT); INSERT INTO t VALUES (1, 'apple'), (2, 'pear')", database="postgres")
    spec, secrets = world.dir / "spec.yaml", world.dir / f"{app}.secrets.env"

    captured = world.run("capture", app, "-o", str(spec), check=0)
    assert ROOT_PW not in spec.read_text() + captured.out + captured.err
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert dotenv_values(secrets, interpolate=False) == {"POSTGRES_PASSWORD": ROOT_PW}
    doc = YAML(typ="safe", pure=True).load(spec.read_text())
    assert "env" not in doc  # PGDATA, PG_MAJOR, PATH...: the image's own
    assert doc["env_file"] == [f"./{app}.secrets.env"]
    assert doc["volumes"] == {"data": {"target": DATADIR, "name": volume}}

    adopted = world.run("adopt", app, "-o", str(spec), check=0)
    assert ROOT_PW not in adopted.out + adopted.err
    container = world.container(app)
    assert container.attrs["Config"]["Labels"]["io.stateful.managed"] == "true"
    assert [m["Name"] for m in container.attrs["Mounts"]] == [volume]
    assert world.psql(app, SELECT, database="postgres") == ROWS
    world.run("diff", str(spec), check=0)


COMPOSE_FILE = f"""services:
  db:
    image: {POSTGRES}
    env_file: [db.env]
    environment:
      POSTGRES_USER: shop
      POSTGRES_DB: shop
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U shop -d shop"]
      interval: 2s
      retries: 30
    restart: unless-stopped
volumes:
  pgdata:
"""


def test_compose_postgres_moves_to_stateful_with_its_rows(world: World) -> None:
    compose, project = _compose(), world.name("blog")
    file = world.write("compose/docker-compose.yml", COMPOSE_FILE)
    world.write("compose/db.env", f"POSTGRES_PASSWORD={ROOT_PW}\n")
    run = [str(compose), "-p", project, "-f", str(file)]
    subprocess.run([*run, "up", "-d", "--wait"], check=True, capture_output=True)
    try:
        world.psql(f"{project}-db-1", "CREATE TABLE t (id INT PRIMARY KEY, item TEXT); INSERT INTO t VALUES (1, 'apple'), (2, 'pear')", user="shop")
    finally:
        subprocess.run([*run, "down"], check=True, capture_output=True)  # never -v: the data stays

    world.run("import", "-p", project, "--into", str(world.dir / "specs"), str(file), check=0)
    spec = world.dir / "specs" / "db.yaml"
    text = spec.read_text().replace("name: db\n", f"name: {world.name('db')}\n")
    spec.write_text(text)
    assert f"name: {project}_pgdata" in text and "pg_isready" in text
    world.run("apply", str(spec), check=0)
    app = world.name("db")
    assert world.psql(app, SELECT, user="shop") == ROWS
    code, out = exec_output(world.container(app), ["printenv", "POSTGRES_PASSWORD"])
    assert (code, out.decode().strip()) == (0, ROOT_PW)  # the env_file came along
    world.run("diff", str(spec), check=0)
