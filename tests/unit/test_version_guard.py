"""The version guard: which server may open which datadir (each kind's table), what the datadir's
own files say, and the plan that refuses before anything stops. Fake engine, fake host files."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.backends import Fleet
from orchestrate.databases import BY_NAME
from orchestrate.databases.versions import Written, parse
from orchestrate.decide.plan import Kind, Safeguards
from orchestrate.errors import ExitCode
from orchestrate.model.observed import ImageDefaults
from orchestrate.output import documents, status, terminal
from orchestrate.runs import pipeline
from tests.unit.builders import load_app
from tests.unit.fake_engine import FakeEngine
from tests.unit.fake_host_files import FakeHostFiles


def _refusal(kind: str, written: str, server: str, file_format: int | None = None) -> str:
    versioning = BY_NAME[kind].versioning
    assert versioning is not None
    server_version = parse(server)
    assert server_version is not None
    return versioning.refusal(Written(parse(written) if written else None, file_format), server_version)


@pytest.mark.parametrize(
    ("kind", "written", "server", "file_format", "refused"),
    [
        ("postgres", "15", "15", None, False),
        ("postgres", "15", "17", None, True),  # up a major: pg_upgrade or dump and restore
        ("postgres", "17", "15", None, True),
        ("postgres", "9.6", "9.6", None, False),
        ("postgres", "9.5", "9.6", None, True),  # before 10 the major is two numbers
        ("postgres", "", "17", None, False),  # no marker: unknown, not guessed
        ("mariadb", "10.11.19", "10.11.6", None, False),  # a patch downgrade within a series is supported
        ("mariadb", "10.11.19", "11.8.2", None, False),  # one generation up: the upgrade step handles it
        ("mariadb", "11.8.2", "10.11.14", None, True),  # downgrade
        ("mariadb", "11.8.2", "11.4.5", None, True),  # downgrade within a generation
        ("mariadb", "10.6.1", "12.0.2", None, True),  # skips 11
        ("mariadb", "5.5.68", "10.3.39", None, False),
        ("mariadb", "5.5.68", "11.4.5", None, True),
        ("mysql", "5.7.44", "8.0.36", None, False),
        ("mysql", "8.0.36", "8.4.2", None, False),
        ("mysql", "5.7.44", "8.4.2", None, True),  # skips 8.0
        ("mysql", "8.4.2", "8.0.36", None, True),
        ("mysql", "8.4.2", "9.1.0", None, False),
        ("redis", "7.0.15", "8.0.2", 10, False),
        ("redis", "8.0.2", "7.0.15", 12, True),  # RDB 12 is past 7.0's format 10
        ("redis", "7.2.4", "7.2.0", 11, False),
        ("redis", "", "7.0.15", 11, True),  # the format alone decides
        ("redis", "8.0.2", "7.0.15", None, False),  # no RDB: an AOF of commands, readable
        ("redis", "8.0.2", "9.0.0", 13, False),  # a server newer than the table: not guessed
    ],
)
def test_each_kinds_rule(kind: str, written: str, server: str, file_format: int | None, refused: bool) -> None:
    assert bool(_refusal(kind, written, server, file_format)) is refused


def test_markers_are_read_from_the_files_first_bytes() -> None:
    postgres, mariadb, redis = (BY_NAME[k].versioning for k in ("postgres", "mariadb", "redis"))
    assert postgres and mariadb and redis
    assert postgres.read({"PG_VERSION": b"15\n"}) == Written(parse("15"))
    assert postgres.read({}) is None
    redo = b"Phys" + b"\0" * 12 + b"MariaDB 11.8.2" + b"\0" * 20
    # The newest marker wins: 11.8 ran on a datadir whose system tables say 10.11.
    assert mariadb.read({"mysql_upgrade_info": b"10.11.19-MariaDB", "ib_logfile0": redo}) == Written(parse("11.8.2"))
    rdb = b"REDIS0012\xfa\x09redis-ver\x058.0.2\xfa\x0aredis-bits\xc0\x40"
    assert redis.read({"dump.rdb": rdb, "appendonlydir/appendonly.aof.1.base.rdb": b"REDIS0010"}) == Written(parse("8.0.2"), 12)
    assert redis.read({"appendonly.aof": b"*2\r\n$6\r\nSELECT"}) is None


def test_the_image_version_comes_from_its_env() -> None:
    postgres, mariadb = BY_NAME["postgres"].versioning, BY_NAME["mariadb"].versioning
    assert postgres and mariadb
    assert postgres.image_version({"PG_MAJOR": "17", "PG_VERSION": "17.2-1.pgdg120+1"}) == parse("17")
    assert mariadb.image_version({"MARIADB_VERSION": "1:10.11.14-0+deb12u2"}) == parse("10.11.14")
    assert mariadb.image_version({"LANG": "C.UTF-8"}) is None


PG15 = ImageDefaults(id="sha256:" + "1" * 64, env={"PG_MAJOR": "15", "PGDATA": "/var/lib/postgresql/data"}, cmd=("postgres",))
PG17 = ImageDefaults(id="sha256:" + "7" * 64, env={"PG_MAJOR": "17", "PGDATA": "/var/lib/postgresql/data"}, cmd=("postgres",))
SPEC = """
apiVersion: stateful/v1
kind: App
name: pg
image: {image}
volumes:
  data: {{target: /var/lib/postgresql/data}}
"""


def _plan(tmp_path: Path, image: str, marker: bytes | None, guards: Safeguards | None = None) -> pipeline.Planned:
    directory = tmp_path / image.replace(":", "-")
    directory.mkdir()
    app = load_app(directory, SPEC.format(image=image))
    old = load_app(tmp_path, SPEC.format(image="postgres:15")) if not (tmp_path / "apps.yaml").exists() else None
    engine = FakeEngine(images={"postgres:15": PG15, "postgres:17": PG17})
    engine.create_volume(app.volumes[0])
    engine.add_container(old or app, container_id="old")
    files = FakeHostFiles(files={f"volume:{app.volumes[0].name}": {"PG_VERSION": marker}} if marker is not None else {})
    return pipeline.plan(Fleet.single(engine, files), [app], guards)


def test_a_major_change_is_refused_before_anything_stops(tmp_path: Path) -> None:
    planned = _plan(tmp_path, "postgres:17", b"15\n")
    (action,) = planned.plan.actions
    assert action.kind is Kind.BLOCKED
    assert action.problem is not None and action.problem.exit_code is ExitCode.DATA_GUARD
    message = action.problem.message
    assert message.startswith("version guard: pg's datadir (volume ") and "was written by PostgreSQL 15" in message
    assert "image postgres:17 runs PostgreSQL 17" in message and "Nothing was stopped" in message
    ways = ("stateful backup pg --hot", "--allow-empty-volume pg/<new key>", "psql -U postgres -d postgres < dump.sql", "--allow-version-change pg")
    assert [way for way in ways if way not in message] == []
    lines = [str(line) for line in terminal.plan_lines(planned.plan)]
    assert '! pg blocked: image: "postgres:15" -> "postgres:17" (datadir written by PostgreSQL 15)' in lines
    assert documents.plan_json(planned.plan)["apps"][0]["datadir_written_by"] == "PostgreSQL 15"


def test_the_override_lets_the_operators_upgrade_go_ahead(tmp_path: Path) -> None:
    planned = _plan(tmp_path, "postgres:17", b"15\n", Safeguards(allow_version_change=frozenset({"pg"})))
    assert [a.kind for a in planned.plan.actions] == [Kind.RECREATE]


def test_an_unknown_datadir_version_is_said_and_not_refused(tmp_path: Path) -> None:
    planned = _plan(tmp_path, "postgres:17", None)
    (action,) = planned.plan.actions
    assert action.kind is Kind.RECREATE
    assert action.written_by == "PostgreSQL, version unknown"


def test_status_shows_the_kind_and_the_datadirs_version(tmp_path: Path) -> None:
    planned = _plan(tmp_path, "postgres:15", b"15\n")
    assert [a.kind for a in planned.plan.actions] == [Kind.NOOP]
    (row,) = status.status_rows(planned.observed, planned.plan, {"pg"})
    assert (row.database, row.written_by) == ("postgres", "PostgreSQL 15")
