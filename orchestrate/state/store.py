"""The SQLite store: run history, the journal of recreate steps, volume fingerprints.

Every journal write is committed with synchronous=FULL before the step it names runs, so a
run killed at any point leaves a record of where it was.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import socket
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.errors import StateDirUnusable, StoreCorrupt
from orchestrate.model.facts import Fingerprint
from orchestrate.model.journal import JournalEntry, Operation
from orchestrate.state.paths import ensure_private_dir, identity

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started REAL NOT NULL, finished REAL, user TEXT, host TEXT, pid INTEGER,
    command TEXT, apps TEXT, plan TEXT, outcome TEXT, exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY, run_id INTEGER, app TEXT NOT NULL, kind TEXT NOT NULL,
    old_id TEXT, new_id TEXT, state TEXT NOT NULL DEFAULT 'open', started REAL, ended REAL
);
CREATE TABLE IF NOT EXISTS steps (
    id INTEGER PRIMARY KEY, operation_id INTEGER NOT NULL, step TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS copies (
    app TEXT NOT NULL, key TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL, at REAL, PRIMARY KEY (app, key, target)
);
CREATE TABLE IF NOT EXISTS retired (
    app TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, at REAL, PRIMARY KEY (kind, source)
);
CREATE TABLE IF NOT EXISTS fingerprints (
    app TEXT NOT NULL, key TEXT NOT NULL, kind TEXT, source TEXT, identity TEXT, entries INTEGER,
    size INTEGER, held_data INTEGER, recorded_at REAL, target TEXT, PRIMARY KEY (app, key)
);
"""


@dataclass(frozen=True)
class RunRecord:
    id: int
    started: float
    finished: float | None
    user: str
    command: str
    apps: list[str]
    plan: dict[str, Any] | None
    outcome: dict[str, Any] | None
    exit_code: int | None


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db = connection
        self.path = path

    @property
    def identity(self) -> str:
        """The state dir's identity, labelled on the containers its runs make."""
        return identity(self.path.parent)

    @classmethod
    def open(cls, directory: Path) -> Store:
        ensure_private_dir(directory)
        path = directory / "state.db"
        try:
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            if not path.is_file():
                raise _corrupt(path, "it is not a regular file")
            # The executor writes the journal from the threads of apps applied side by side, one write at
            # a time (act/execute.py SerialJournal); autocommit: each write is committed on its own.
            db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        except OSError as exc:
            raise StateDirUnusable(f"cannot open the store {path}: {exc.strerror or exc}") from None
        except sqlite3.Error as exc:
            raise StateDirUnusable(f"cannot open the store {path}: {exc}") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            _upgrade(db)
        except sqlite3.OperationalError as exc:  # locked, read-only, disk full: the store may be fine
            db.close()
            raise StateDirUnusable(f"cannot use the store {path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            db.close()
            raise _corrupt(path, str(exc)) from None
        for extra in (path.with_name("state.db-wal"), path.with_name("state.db-shm")):
            if extra.exists():
                extra.chmod(0o600)
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- run history -------------------------------------------------------------------------

    def begin_run(self, apps: list[str]) -> int:
        cursor = self.db.execute(
            "INSERT INTO runs (started, user, host, pid, command, apps) VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), _user(), socket.gethostname(), os.getpid(), " ".join(["stateful", *sys.argv[1:]]), json.dumps(apps)),
        )
        return int(cursor.lastrowid or 0)

    def record_plan(self, run_id: int, plan: dict[str, Any]) -> None:
        self.db.execute("UPDATE runs SET plan = ? WHERE id = ?", (json.dumps(plan), run_id))

    def finish_run(self, run_id: int, outcome: dict[str, Any], exit_code: int) -> None:
        self.db.execute(
            "UPDATE runs SET finished = ?, outcome = ?, exit_code = ? WHERE id = ?", (time.time(), json.dumps(outcome), exit_code, run_id)
        )

    def history(self, app: str | None = None, limit: int = 50) -> list[RunRecord]:
        rows = self.db.execute(
            "SELECT id, started, finished, user, command, apps, plan, outcome, exit_code FROM runs ORDER BY id DESC"
        ).fetchall()
        records = [
            RunRecord(r[0], r[1], r[2], r[3] or "", r[4] or "", json.loads(r[5] or "[]"), _json(r[6]), _json(r[7]), r[8]) for r in rows
        ]
        if app is not None:
            records = [r for r in records if app in r.apps]
        return records[:limit]

    # --- journal -----------------------------------------------------------------------------

    def begin_operation(self, run_id: int, app: str, kind: str, old_id: str | None) -> int:
        cursor = self.db.execute(
            "INSERT INTO operations (run_id, app, kind, old_id, started) VALUES (?, ?, ?, ?, ?)", (run_id, app, kind, old_id, time.time())
        )
        return int(cursor.lastrowid or 0)

    def set_new_container(self, operation_id: int, new_id: str) -> None:
        self.db.execute("UPDATE operations SET new_id = ? WHERE id = ?", (new_id, operation_id))

    def journal(self, operation_id: int, step: str) -> None:
        """Record that `step` is about to run (committed and fsynced before returning)."""
        self.db.execute("INSERT INTO steps (operation_id, step, at) VALUES (?, ?, ?)", (operation_id, step, time.time()))

    def close_operation(self, operation_id: int, state: str) -> None:
        self.db.execute("UPDATE operations SET state = ?, ended = ? WHERE id = ?", (state, time.time(), operation_id))

    def open_operations(self) -> list[Operation]:
        rows = self.db.execute("SELECT id, app, kind, old_id, new_id FROM operations WHERE state = 'open' ORDER BY id").fetchall()
        return [Operation(r[0], r[1], r[2], r[3], r[4], self._steps(r[0])) for r in rows]

    def _steps(self, operation_id: int) -> tuple[JournalEntry, ...]:
        rows = self.db.execute("SELECT step, at FROM steps WHERE operation_id = ? ORDER BY id", (operation_id,)).fetchall()
        return tuple(JournalEntry(step, at) for step, at in rows)

    # --- fingerprints ------------------------------------------------------------------------

    def fingerprints(self) -> dict[tuple[str, str], Fingerprint]:
        rows = self.db.execute(
            "SELECT app, key, kind, source, identity, entries, size, held_data, recorded_at, target FROM fingerprints"
        ).fetchall()
        return {(r[0], r[1]): Fingerprint(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9] or "") for r in rows}

    def save_fingerprint(self, fp: Fingerprint) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (fp.app, fp.key, fp.kind, fp.source, fp.identity, fp.entries, fp.size, int(fp.held_data), fp.recorded_at, fp.target),
        )

    # --- remaps ---------------------------------------------------------------------------------

    def begin_copy(self, app: str, key: str, target: str) -> None:
        """A copy into `target` starts: until it is verified, what is there is our unfinished copy."""
        self.db.execute("INSERT OR REPLACE INTO copies VALUES (?, ?, ?, 'copying', ?)", (app, key, target, time.time()))

    def end_copy(self, app: str, key: str, target: str) -> None:
        self.db.execute("DELETE FROM copies WHERE app = ? AND key = ? AND target = ?", (app, key, target))

    def unfinished_copies(self) -> frozenset[tuple[str, str, str]]:
        return frozenset((app, key, target) for app, key, target in self.db.execute("SELECT app, key, target FROM copies"))

    def retire(self, app: str, key: str, kind: str, source: str) -> None:
        """The old place of remapped data: kept, never deleted implicitly, listed by `stateful volumes`."""
        self.db.execute("INSERT OR REPLACE INTO retired VALUES (?, ?, ?, ?, ?)", (app, key, kind, source, time.time()))

    def retired(self) -> list[tuple[str, str, str, str, float]]:
        rows = self.db.execute("SELECT app, key, kind, source, at FROM retired ORDER BY at")
        return [(app, key, kind, source, at) for app, key, kind, source, at in rows]

    def forget_retired(self, kind: str, source: str) -> None:
        self.db.execute("DELETE FROM retired WHERE kind = ? AND source = ?", (kind, source))

    def forget_fingerprints(self, app: str) -> None:
        self.db.execute("DELETE FROM fingerprints WHERE app = ?", (app,))

    def forget_fingerprint(self, app: str, key: str) -> None:
        self.db.execute("DELETE FROM fingerprints WHERE app = ? AND key = ?", (app, key))


def _upgrade(db: sqlite3.Connection) -> None:
    """Columns added after a store was first made: added in place, old rows keep working."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(fingerprints)")}
    if "target" not in columns:
        db.execute("ALTER TABLE fingerprints ADD COLUMN target TEXT")


def _json(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _corrupt(path: Path, why: str) -> StoreCorrupt:
    aside = path.with_name("state.db.broken")
    return StoreCorrupt(
        f"{path} is not a stateful store ({why}); it was left as it is. Move it aside "
        f"(mv {shlex.quote(str(path))} {shlex.quote(str(aside))}) "
        "and run again to start an empty store: the journal, history and volume fingerprints it held are then forgotten"
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
