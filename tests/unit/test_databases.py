"""The registry of database kinds: which kind an image is (from its ENV and command, never its
name), what that changes in the comparison, in `backup --hot` and in the restore hint, and the
spec's `database:` field that overrides it."""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrate import databases
from orchestrate import labels as L
from orchestrate.decide.compare import Effect, Sides, compare
from orchestrate.errors import ApplyFailed, Refused, SpecError
from orchestrate.model.observed import ImageDefaults, ObservedContainer, ObservedMount
from orchestrate.tools.backup import backup, check_targets
from tests.unit.builders import container_for, load_app, write_spec
from tests.unit.fake_host_files import FakeHostFiles

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENTRY = ("docker-entrypoint.sh",)


def image(env: dict[str, str], cmd: tuple[str, ...] = (), entrypoint: tuple[str, ...] = ENTRY) -> ImageDefaults:
    return ImageDefaults(id="sha256:" + "d" * 64, env={"PATH": PATH, **env}, cmd=cmd, entrypoint=entrypoint)


OFFICIAL_MARIADB = image({"MARIADB_VERSION": "1:11.4.2+maria~ubu2404"}, ("mariadbd",))
# A mirror or a rename of the official image: the name says nothing, the ENV still does.
RENAMED_MARIADB = OFFICIAL_MARIADB
OFFICIAL_POSTGRES = image({"PG_MAJOR": "16", "PG_VERSION": "16.2-1.pgdg120+2", "PGDATA": "/var/lib/postgresql/data"}, ("postgres",))
OFFICIAL_REDIS = image({"REDIS_VERSION": "7.2.4"}, ("redis-server",))
PLAIN = image({}, ("sh",), ())

# (description, image defaults, kind)
DETECTION = [
    ("official mariadb", OFFICIAL_MARIADB, "mariadb"),
    ("older official mariadb: a mysqld CMD", image({"MARIADB_MAJOR": "10.5", "MARIADB_VERSION": "1:10.5.4"}, ("mysqld",)), "mariadb"),
    ("official mysql", image({"MYSQL_MAJOR": "8.0", "MYSQL_VERSION": "8.0.36-1.el8", "MYSQL_SHELL_VERSION": "8.0.36-1.el8"}, ("mysqld",)), "mysql"),
    ("official postgres", OFFICIAL_POSTGRES, "postgres"),
    ("official postgres, PG_VERSION only", image({"PG_VERSION": "16.2"}, ("postgres",)), "postgres"),
    ("official redis", OFFICIAL_REDIS, "redis"),
    ("local test image mariadb (Debian package)", image({"LANG": "C.UTF-8", "MARIADB_MAJOR": "10.11"}, ("mariadbd",)), "mariadb"),
    ("local test image redis (Debian package): by its CMD", image({"LANG": "C.UTF-8", "REDIS_MAJOR": "7.0"}, ("redis-server",)), "redis"),
    ("local test image busybox", PLAIN, "none"),
    ("no ENV marker, the server by path with arguments", image({}, ("/usr/local/bin/redis-server", "/etc/redis.conf")), "redis"),
    ("no ENV marker, the server started by the entrypoint", image({}, (), ("postgres", "-c", "fsync=off")), "postgres"),
    ("a server's name as an argument is not the server", image({}, ("backup-tool", "--to", "postgres"), ()), "none"),
    ("an app bundling clients of two kinds", image({"MARIADB_VERSION": "10.2.15-r0", "REDIS_VERSION": "4.0.11-r0"}, ("/init",)), "none"),
    ("bundled clients, but the CMD starts one of them", image({"MARIADB_VERSION": "10.2", "REDIS_VERSION": "4.0"}, ("redis-server",)), "redis"),
]


@pytest.mark.parametrize(("description", "defaults", "kind"), DETECTION, ids=[c[0] for c in DETECTION])
def test_detection_reads_the_image_env_and_command(description: str, defaults: ImageDefaults, kind: str) -> None:
    assert databases.detect(defaults).name == kind


def test_every_kind_module_is_registered_once() -> None:
    # Adding a kind is one module and one entry in KINDS: a module left out would be silently unused.
    modules = [importlib.import_module(f"orchestrate.databases.{m.name}") for m in pkgutil.iter_modules(databases.__path__)]
    defined = {module.KIND.name for module in modules if hasattr(module, "KIND")}
    assert defined | {"none"} == set(databases.BY_NAME)
    assert len(databases.KINDS) == len(databases.BY_NAME)


# (kind, exit code, output, ready)
PROBES = [
    ("mariadb", 0, b"mysqld is alive\n", True),
    ("mariadb", 1, b"connect to server at '127.0.0.1' failed\n", False),
    ("mysql", 0, b"mysqld is alive\n", True),
    ("postgres", 0, b"", True),
    ("postgres", 2, b"", False),
    ("redis", 0, b"PONG\n", True),
    ("redis", 0, b"LOADING Redis is loading the dataset in memory\n", False),
    ("redis", 0, b"NOAUTH Authentication required.\n", True),
]


@pytest.mark.parametrize(("kind", "code", "output", "ready"), PROBES)
def test_readiness_probes(kind: str, code: int, output: bytes, ready: bool) -> None:
    probe = databases.BY_NAME[kind].readiness
    assert probe is not None and probe.argv
    assert probe.ready(code, output) is ready


HEAD = "apiVersion: stateful/v1\nkind: App\nname: app\nvolumes:\n  data: {target: /data}\n"


def _env_change(tmp_path: Path, *, image_ref: str, defaults: ImageDefaults, key: str, database: str = "") -> Effect:
    """What changing one env value costs on an app whose data is initialised."""
    extra = f"database: {database}\n" if database else ""
    app = load_app(tmp_path, HEAD + f"image: {image_ref}\nenv: {{{key}: new}}\n{extra}")
    running = container_for(replace(app, env={key: "old"}), defaults)
    (diff,) = compare(Sides(app, running, defaults, defaults.id, initialised=True))
    assert (diff.field, diff.old, diff.new) == (f"env.{key}", "old", "new")
    return diff.effect


# (description, image reference, image defaults, env key, spec's database field, effect)
ENV_CHANGES = [
    ("POSTGRES_PASSWORD on PostgreSQL: init-only", "postgres:16", OFFICIAL_POSTGRES, "POSTGRES_PASSWORD", "", Effect.INIT_ONLY),
    ("POSTGRES_INITDB_WALDIR_FILE on PostgreSQL: init-only", "postgres:16", OFFICIAL_POSTGRES, "POSTGRES_INITDB_WALDIR_FILE", "", Effect.INIT_ONLY),
    ("PGDATA on PostgreSQL: read at every start", "postgres:16", OFFICIAL_POSTGRES, "PGDATA", "", Effect.RECREATE),
    ("POSTGRES_PASSWORD on an app that is no PostgreSQL", "ghcr.io/acme/web:2", PLAIN, "POSTGRES_PASSWORD", "", Effect.RECREATE),
    ("POSTGRES_PASSWORD on MariaDB", "mariadb:11", OFFICIAL_MARIADB, "POSTGRES_PASSWORD", "", Effect.RECREATE),
    ("MARIADB_ROOT_PASSWORD on a renamed MariaDB image", "registry.example/ops/db:7", RENAMED_MARIADB, "MARIADB_ROOT_PASSWORD", "", Effect.INIT_ONLY),
    ("MYSQL_DATABASE on MariaDB (its image reads the MYSQL_ names too)", "mariadb:11", OFFICIAL_MARIADB, "MYSQL_DATABASE", "", Effect.INIT_ONLY),
    ("MARIADB_ROOT_PASSWORD on Redis", "redis:7", OFFICIAL_REDIS, "MARIADB_ROOT_PASSWORD", "", Effect.RECREATE),
    ("database: none overrides a MariaDB image", "mariadb:11", OFFICIAL_MARIADB, "MARIADB_ROOT_PASSWORD", "none", Effect.RECREATE),
    ("database: postgres on an image that does not say", "ghcr.io/acme/pg:1", PLAIN, "POSTGRES_PASSWORD", "postgres", Effect.INIT_ONLY),
]


@pytest.mark.parametrize(
    ("description", "image_ref", "defaults", "key", "database", "effect"), ENV_CHANGES, ids=[c[0] for c in ENV_CHANGES]
)
def test_init_only_settings_are_the_apps_database_kinds(
    tmp_path: Path, description: str, image_ref: str, defaults: ImageDefaults, key: str, database: str, effect: Effect
) -> None:
    assert _env_change(tmp_path, image_ref=image_ref, defaults=defaults, key=key, database=database) is effect


def test_an_unknown_database_kind_is_a_spec_error_with_its_place(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_app(tmp_path, HEAD + "image: mariadb:11\ndatabase: mysqll\n")
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{tmp_path}/apps.yaml:7:11: database: unknown database kind 'mysqll'; one of mariadb, mysql, postgres, redis, none; did you mean 'mysql'?"
    )


SPEC_WITHOUT_DATABASE = """\
apiVersion: stateful/v1
kind: App
name: db
image: mariadb:11
env: {MARIADB_ROOT_PASSWORD: secret}
ports: ["127.0.0.1:3306:3306"]
volumes:
  data: {target: /var/lib/mysql}
"""


def test_the_new_field_leaves_the_spec_hash_of_existing_apps_as_it_was(tmp_path: Path) -> None:
    # The hash the tool gave this spec before `database:` existed: a running app keeps its label.
    assert load_app(tmp_path, SPEC_WITHOUT_DATABASE).spec_hash == "a9a21d7aa87a439b"
    chosen = load_app(tmp_path, SPEC_WITHOUT_DATABASE + "database: mariadb\n")
    assert chosen.database == "mariadb" and chosen.spec_hash != "a9a21d7aa87a439b"


# --- hot backups ---------------------------------------------------------------------------


class ExecEngine:
    """Only what a hot dump calls: each exec answers the next of the given outputs."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.commands: list[list[str]] = []

    def exec_capture(self, container_id: str, command: list[str]) -> tuple[int, bytes]:
        self.commands.append(command)
        return self.answers.pop(0)


MARIADB_DUMP = b"-- MariaDB dump 10.19\nCREATE TABLE t (n INT);\n-- Dump completed on 2026-11-29  9:30:00\n"
PG_DUMP = b"--\n-- PostgreSQL database cluster dump\n--\nCREATE ROLE app;\n--\n-- PostgreSQL database cluster dump complete\n--\n\n"


def _running(tmp_path: Path, image_ref: str, defaults: ImageDefaults, **labels: str) -> ObservedContainer:
    app = load_app(tmp_path, HEAD + f"image: {image_ref}\n")
    container = container_for(app, defaults, mounts=(ObservedMount("/data", "volume", "app-data", False),))
    return replace(container, labels={**container.labels, L.SPEC_FILE: "", **labels})


def _hot_backup(engine: ExecEngine, container: ObservedContainer, to: Path) -> dict[str, Any]:
    def never_restarted() -> None:
        raise AssertionError("a hot backup does not stop the app")

    backup(engine, FakeHostFiles(), container, to, hot=True, say=lambda line: None, restart=never_restarted)  # type: ignore[arg-type]
    manifest: dict[str, Any] = json.loads((to / "manifest.json").read_text())
    return manifest


def test_a_renamed_mariadb_image_gets_its_hot_backup(tmp_path: Path) -> None:
    engine = ExecEngine((0, MARIADB_DUMP))
    manifest = _hot_backup(engine, _running(tmp_path, "registry.example/ops/db:7", RENAMED_MARIADB), tmp_path / "b")
    assert "exec mariadb-dump" in engine.commands[0][-1] and "--single-transaction" in engine.commands[0][-1]
    assert (tmp_path / "b" / "dump.sql").read_bytes() == MARIADB_DUMP
    assert (manifest["mode"], manifest["database"]) == ("hot: mariadb-dump", "mariadb")


# (description, outputs of the dump, written)
PG_OUTPUTS = [
    ("complete at once", [(0, PG_DUMP)], True),
    ("lost once, then complete", [(0, PG_DUMP[:40]), (0, PG_DUMP)], True),
    ("never complete", [(0, PG_DUMP[:40])] * 3, False),
]


@pytest.mark.parametrize(("description", "outputs", "written"), PG_OUTPUTS, ids=[c[0] for c in PG_OUTPUTS])
def test_postgres_hot_backup_is_kept_only_when_pg_dumpall_finished(
    tmp_path: Path, description: str, outputs: list[tuple[int, bytes]], written: bool
) -> None:
    engine = ExecEngine(*outputs)
    container = _running(tmp_path, "postgres:16", OFFICIAL_POSTGRES)
    if written:
        assert _hot_backup(engine, container, tmp_path / "b")["mode"] == "hot: pg_dumpall"
        assert (tmp_path / "b" / "dump.sql").read_bytes() == PG_DUMP
    else:
        with pytest.raises(ApplyFailed, match="output ended early"):
            _hot_backup(engine, container, tmp_path / "b")
        assert not (tmp_path / "b" / "dump.sql").exists()
    assert all("pg_dumpall" in command[-1] for command in engine.commands)
    assert len(engine.commands) == len(outputs)


def test_the_specs_database_field_chooses_the_hot_backup(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, HEAD + "image: ghcr.io/acme/pg:1\ndatabase: postgres\n", name="pg.yaml")
    container = _running(tmp_path, "ghcr.io/acme/pg:1", PLAIN, **{L.SPEC_FILE: str(spec)})
    engine = ExecEngine((0, PG_DUMP))
    assert _hot_backup(engine, container, tmp_path / "b")["database"] == "postgres"


def test_an_app_without_a_database_has_no_hot_backup(tmp_path: Path) -> None:
    with pytest.raises(Refused, match=r"no hot backup for app \(database kind: none\)"):
        _hot_backup(ExecEngine(), _running(tmp_path, "busybox:1", PLAIN), tmp_path / "b")


# (the tool that made the dump, as the manifest names it, the hint)
HINTS = [
    ("pg_dumpall", "(psql -U postgres -d postgres < dump.sql)"),
    ("mariadb-dump", "(mariadb -uroot -p < dump.sql)"),
    ("mysqldump", "(mysql -uroot -p < dump.sql)"),
    ("some-other-dump", "load it with the database's client"),
]


@pytest.mark.parametrize(("tool", "hint"), HINTS)
def test_restoring_a_dump_names_the_kinds_client(tool: str, hint: str) -> None:
    manifest: dict[str, Any] = {"archives": [{"key": "dump", "kind": "sql", "source": tool, "file": "dump.sql"}]}
    with pytest.raises(Refused) as caught:
        check_targets(manifest, force=False, entries=lambda place: None)
    assert str(caught.value).endswith(hint)
