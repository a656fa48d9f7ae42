"""The state store (state/store.py): journal, operations, fingerprints, copies, retired places, history."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.model.facts import Fingerprint
from orchestrate.state import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state")
    yield opened
    opened.close()


def _reopen(store: Store) -> Store:
    """What the next run sees: the same state dir, opened again."""
    store.close()
    return Store.open(store.path.parent)


def test_the_state_dir_and_its_database_are_private(store: Store) -> None:
    assert store.path.parent.stat().st_mode & 0o777 == 0o700
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert store.identity == str(store.path.parent.resolve())


def test_an_operations_journal_survives_until_it_is_closed(store: Store) -> None:
    first = store.begin_operation(7, "db", "recreate", "old")
    second = store.begin_operation(7, "cache", "recreate", "old-cache")
    store.journal(first, "create-new")
    store.set_new_container(first, "new")
    store.journal(first, "stop-old")
    store.close_operation(second, "finished")

    store = _reopen(store)
    try:
        (op,) = store.open_operations()
        assert (op.id, op.app, op.kind, op.old_id, op.new_id) == (first, "db", "recreate", "old", "new")
        assert [e.step for e in op.steps] == ["create-new", "stop-old"]
        assert op.steps[-1].step == "stop-old" and op.reached("create-new") and not op.reached("health-passed")
        store.close_operation(first, "rolled-back")
        assert store.open_operations() == []
    finally:
        store.close()


def test_an_operation_without_steps_or_new_container(store: Store) -> None:
    store.begin_operation(1, "db", "recreate", "old")
    (op,) = store.open_operations()
    assert (op.new_id, op.steps) == (None, ())


FP = Fingerprint("db", "data", "volume", "db-data", "id 1", 13, 2048, True, 100.0, "/var/lib/mysql")


def test_fingerprints_are_saved_replaced_and_forgotten(store: Store) -> None:
    store.save_fingerprint(FP)
    store.save_fingerprint(Fingerprint("db", "logs", "bind", "/srv/logs", "device 1", 0, 0, False, 100.0, "/logs"))
    store.save_fingerprint(Fingerprint("cache", "data", "volume", "cache-data", "", 3, 1, True, 100.0, "/data"))
    moved = Fingerprint("db", "data", "bind", "/srv/db", "device 1", 13, 2048, True, 200.0, "/var/lib/mysql")
    store.save_fingerprint(moved)
    store = _reopen(store)
    try:
        assert store.fingerprints()[("db", "data")] == moved
        store.forget_fingerprint("db", "logs")
        assert set(store.fingerprints()) == {("db", "data"), ("cache", "data")}
        store.forget_fingerprints("db")
        assert set(store.fingerprints()) == {("cache", "data")}
    finally:
        store.close()


def test_an_old_store_without_the_target_column_is_upgraded_in_place(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    old = sqlite3.connect(directory / "state.db")
    old.execute(
        "CREATE TABLE fingerprints (app TEXT NOT NULL, key TEXT NOT NULL, kind TEXT, source TEXT, identity TEXT, entries INTEGER,"
        " size INTEGER, held_data INTEGER, recorded_at REAL, PRIMARY KEY (app, key))"
    )
    old.execute("INSERT INTO fingerprints VALUES ('db', 'data', 'volume', 'db-data', 'id 1', 13, 2048, 1, 100.0)")
    old.commit()
    old.close()

    store = Store.open(directory)
    try:
        # The old row reads with an empty target, and new rows keep theirs.
        assert store.fingerprints() == {("db", "data"): Fingerprint("db", "data", "volume", "db-data", "id 1", 13, 2048, True, 100.0, "")}
        store.save_fingerprint(FP)
        assert store.fingerprints()[("db", "data")].target == "/var/lib/mysql"
    finally:
        store.close()
    Store.open(directory).close()  # opening an upgraded store again changes nothing and fails not


def test_copies_are_unfinished_until_ended(store: Store) -> None:
    store.begin_copy("db", "data", "/srv/db")
    store.begin_copy("db", "data", "/srv/db")  # a resumed copy begins again
    store.begin_copy("cache", "data", "cache-data-2")
    store = _reopen(store)
    try:
        assert store.unfinished_copies() == {("db", "data", "/srv/db"), ("cache", "data", "cache-data-2")}
        store.end_copy("db", "data", "/srv/db")
        assert store.unfinished_copies() == {("cache", "data", "cache-data-2")}
    finally:
        store.close()


def test_retired_places_are_kept_until_forgotten(store: Store) -> None:
    store.retire("db", "data", "volume", "db-data")
    store.retire("db", "data", "bind", "/srv/db-old")
    store.retire("db", "data", "volume", "db-data")  # retired again: still one entry
    assert [(app, key, kind, source) for app, key, kind, source, _ in store.retired()] == [
        ("db", "data", "bind", "/srv/db-old"),
        ("db", "data", "volume", "db-data"),
    ]
    store.forget_retired("volume", "db-data")
    assert [source for _, _, _, source, _ in store.retired()] == ["/srv/db-old"]


def test_history_newest_first_filtered_by_app_and_limited(store: Store) -> None:
    first = store.begin_run(["db", "cache"])
    store.record_plan(first, {"apps": [{"app": "db", "action": "recreate"}]})
    store.finish_run(first, {"ok": True}, 0)
    second = store.begin_run(["cache"])  # still running (or killed): no outcome
    store = _reopen(store)
    try:
        newest, oldest = store.history()
        assert (newest.id, newest.apps, newest.finished, newest.outcome, newest.exit_code) == (second, ["cache"], None, None, None)
        assert (oldest.id, oldest.plan, oldest.outcome, oldest.exit_code) == (first, {"apps": [{"app": "db", "action": "recreate"}]}, {"ok": True}, 0)
        assert oldest.finished is not None and oldest.finished >= oldest.started
        assert oldest.command.startswith("stateful")
        assert [r.id for r in store.history("db")] == [first]
        assert [r.id for r in store.history(limit=1)] == [second]
    finally:
        store.close()
