"""Every example in examples/ applies and works: the seed scenarios, the MariaDB + Redis pair and PostgreSQL.

Each example is copied with its app, volume and network names prefixed, so it runs beside
anything else on the engine.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from tests.integration.conftest import ROOT_PW, World, exec_output

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_example(world: World, name: str, apps: list[str], networks: list[str] = ()) -> Path:
    target = world.dir / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("shared", "secrets"))
    for path in target.glob("*.yaml"):
        text = path.read_text()
        for word in [*apps, *networks]:
            text = re.sub(rf"(?<![\w/.-]){re.escape(word)}(?![\w-])", world.name(word), text)
        text = re.sub(r'ports: \["127\.0\.0\.1:\d+:(\d+)"\]', r'ports: ["127.0.0.1::\1"]', text)  # any free host port
        path.write_text(text)
    return target


def test_shared_host_dir_seen_by_both_containers(world: World) -> None:
    example = copy_example(world, "shared-dir", ["writer-a", "writer-b"])
    world.run("apply", "--settle", "1s", str(example), check=0)
    shared = example / "shared"
    assert sorted(os.listdir(shared)) == ["from-a", "from-b"]
    assert shared.stat().st_mode & 0o777 == 0o770
    for app in ("writer-a", "writer-b"):
        code, out = exec_output(world.container(world.name(app)), ["cat", "/shared/from-a", "/shared/from-b"])
        assert (code, out.decode()) == (0, "a\nb\n")
    world.run("diff", str(example), check=0)


def test_second_container_takes_the_first_ones_volumes(world: World) -> None:
    example = copy_example(world, "volumes-from", ["template", "worker"])
    world.run("apply", "--settle", "1s", str(example), check=0)
    worker = world.container(world.name("worker"))
    assert exec_output(worker, ["cat", "/data/seed"]) == (0, b"seeded\n")
    assert [(m["Name"], m["Destination"]) for m in worker.attrs["Mounts"]] == [(world.name("template") + "-data", "/data")]
    # Recreating the template keeps the worker on the same volume (it is named, not a container ref).
    template_spec = example / "volumes-from.yaml"
    template_spec.write_text(template_spec.read_text().replace("echo seeded", "echo reseeded", 1))
    world.run("apply", "--settle", "1s", str(example), check=0)
    assert exec_output(worker, ["cat", "/data/seed"]) == (0, b"reseeded\n")
    world.run("diff", str(example), check=0)


def test_mariadb_and_redis_example(world: World) -> None:
    example = copy_example(world, "mariadb", ["mariadb", "cache"], ["example-backend"])
    secret = example / "secrets" / "root-password"
    secret.parent.mkdir()
    secret.write_text(ROOT_PW)
    os.chown(secret, 999, 999)
    secret.chmod(0o400)
    world.run("apply", str(example), check=0)
    db, cache = world.name("mariadb"), world.name("cache")
    world.sql(db, "CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1), (2)")
    assert world.sql(db, "SELECT @@max_connections") == "50"  # from the read-only conf bind
    # The two apps reach each other by their aliases on the example network.
    code, out = exec_output(world.container(db), ["bash", "-c", f"exec 3<>/dev/tcp/{cache}/6379 && printf 'PING\\r\\n' >&3 && head -c 7 <&3"])
    assert (code, out.decode().strip()) == (0, "+PONG")
    code, out = exec_output(world.container(db), ["mariadb", "-hdb", "-uroot", f"-p{ROOT_PW}", "-N", "-e", "SELECT COUNT(*) FROM app.t"])
    assert (code, out.decode().strip()) == (0, "2")
    # The secret is mounted read-only and not in the container's env or labels.
    attrs = world.container(db).attrs
    assert ROOT_PW not in str(attrs["Config"]["Env"]) and ROOT_PW not in str(attrs["Config"]["Labels"])
    world.run("diff", str(example), check=0)


def test_postgres_example(world: World) -> None:
    example = copy_example(world, "postgres", ["pg"], ["example-backend"])
    secret = example / "secrets" / "postgres-password"
    secret.parent.mkdir()
    secret.write_text(ROOT_PW)
    os.chown(secret, 999, 999)
    secret.chmod(0o400)
    world.run("apply", str(example), check=0)
    app = world.name("pg")
    world.psql(app, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)", database="app")
    assert world.psql(app, "SHOW max_connections", database="app") == "50"  # from the command line
    # The password came from the secret file: a login over the network needs it, and it is nowhere in the container's config.
    code, out = world.container(app).exec_run(
        ["psql", "-h", "database", "-U", "postgres", "-d", "app", "-Atc", "SELECT COUNT(*) FROM t"], environment={"PGPASSWORD": ROOT_PW}
    )
    assert (code, out.decode().strip()) == (0, "2")
    code, out = world.container(app).exec_run(
        ["psql", "-h", "database", "-U", "postgres", "-d", "app", "-Atc", "SELECT 1"], environment={"PGPASSWORD": "wrong"}
    )
    assert code != 0 and "password authentication failed" in out.decode()
    attrs = world.container(app).attrs
    assert ROOT_PW not in str(attrs["Config"]["Env"]) and ROOT_PW not in str(attrs["Config"]["Labels"])
    world.run("diff", str(example), check=0)


def test_every_example_has_a_test() -> None:
    tested = {"shared-dir", "volumes-from", "mariadb", "postgres"}
    assert {p.name for p in EXAMPLES.iterdir() if p.is_dir()} == tested
