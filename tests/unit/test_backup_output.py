"""Hot backups read a dump through an exec, and the engine can lose an exec's output while still
reporting exit 0. A dump is written only when it is complete; read-only commands are asked again.
(The real dump and BGSAVE are exercised against MariaDB and Redis in tests/integration/test_backup.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrate import databases
from orchestrate.backends.local_files import LocalHostFiles
from orchestrate.errors import ApplyFailed
from orchestrate.tools.backup import _hot, backup
from tests.unit.builders import MARIADB, foreign_container, load_app
from tests.unit.fake_engine import FakeEngine
from tests.unit.fake_host_files import FakeHostFiles

DUMP = b"-- MariaDB dump 10.19\nCREATE TABLE t (n INT);\nINSERT INTO t VALUES (1);\n-- Dump completed on 2026-11-29  9:30:00\n"


class ExecEngine:
    """Only what a hot backup calls: each exec answers the next of the given outputs."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.commands: list[list[str]] = []

    def exec_capture(self, container_id: str, command: list[str]) -> tuple[int, bytes]:
        self.commands.append(command)
        return self.answers.pop(0)


def _backup(engine: ExecEngine, tmp_path: Path, kind: str = "mariadb") -> dict[str, Any]:
    manifest: dict[str, Any] = {"app": "db", "archives": []}
    container = foreign_container("db")
    _hot(engine, LocalHostFiles(engine), container, databases.BY_NAME[kind], tmp_path, [], manifest, lambda line: None)  # type: ignore[arg-type]
    return manifest


def test_a_lost_dump_output_is_asked_again_and_the_complete_dump_is_written(tmp_path: Path) -> None:
    engine = ExecEngine((0, b""), (0, DUMP[:30]), (0, DUMP))
    manifest = _backup(engine, tmp_path)
    assert (tmp_path / "dump.sql").read_bytes() == DUMP
    assert manifest["archives"][0]["bytes"] == len(DUMP)
    assert len(engine.commands) == 3


def test_a_dump_that_never_completes_fails_and_writes_nothing(tmp_path: Path) -> None:
    engine = ExecEngine((0, b""), (0, b""), (0, DUMP[:30]))
    with pytest.raises(ApplyFailed, match="output ended early"):
        _backup(engine, tmp_path)
    assert not (tmp_path / "dump.sql").exists()


def test_a_failing_dump_is_not_retried(tmp_path: Path) -> None:
    engine = ExecEngine((2, b"mariadb-dump: Got error: 1045: Access denied"))
    with pytest.raises(ApplyFailed, match=r"exit 2.*Access denied"):
        _backup(engine, tmp_path)
    assert len(engine.commands) == 1


def test_redis_lastsave_lost_once_is_asked_again(tmp_path: Path) -> None:
    # LASTSAVE (lost, then 100), BGSAVE, LASTSAVE 100 (not yet), LASTSAVE 101 (saved)
    engine = ExecEngine((0, b""), (0, b"100\n"), (0, b"Background saving started\n"), (0, b"100\n"), (0, b"101\n"))
    assert _backup(engine, tmp_path, kind="redis")["archives"] == []
    assert [c[-1] for c in engine.commands] == ["LASTSAVE", "LASTSAVE", "BGSAVE", "LASTSAVE", "LASTSAVE"]


def test_a_stop_grace_of_zero_stays_zero_for_the_stop_copy_start_backup(tmp_path: Path) -> None:
    """`stop_grace_period: 0s` is a choice: the backup's stop must not turn it into the engine's 10 s."""
    engine = FakeEngine(images={"mariadb:11.4": MARIADB})
    spec = "apiVersion: stateful/v1\nkind: App\nname: db\nimage: mariadb:11.4\nstop_grace_period: 0s\n"
    app = load_app(tmp_path, spec + "volumes:\n  data: {target: /var/lib/mysql}\n")
    engine.add_container(app, container_id="db-1")
    container = engine.inspect_container("db-1")
    assert container is not None and container.stop_timeout == 0
    backup(engine, FakeHostFiles(), container, tmp_path / "b", hot=False, say=lambda line: None, restart=lambda: None)  # type: ignore[arg-type]
    assert "stop db-1 (grace 0s)" in engine.mutating_calls()
