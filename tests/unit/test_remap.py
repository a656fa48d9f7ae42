"""Remap planning (decide/remap.migrations_for): when a key's data is carried to the spec's new place."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.decide.remap import Migration, migrations_for
from orchestrate.model.facts import DataFacts, Fingerprint, data_key
from tests.unit.builders import load_app

SPEC = """
apiVersion: stateful/v1
kind: App
name: db
image: mariadb:11.4
volumes:
  data: {target: /var/lib/mysql, bind: /srv/db}
  cache: {target: /tmp/cache, tmpfs: {}}
"""
OLD = DataFacts("volume", "db-data", exists=True, identity="id 1", entries=13)
TARGET_EMPTY = DataFacts("bind", "/srv/db", exists=True, identity="device 1", entries=0)
TARGET_FULL = DataFacts("bind", "/srv/db", exists=True, identity="device 1", entries=4)
TARGET_MISSING = DataFacts("bind", "/srv/db", exists=False)
MOVE = Migration("db", "data", "volume", "db-data", "bind", "/srv/db", 13, 2048)
REFUSED = (
    "remap db/data: the target bind /srv/db already holds other data (4 entries); nothing was stopped. "
    "Empty it, choose another target, or run again with --force-target db/data"
)


def _remembered(kind: str = "volume", source: str = "db-data", *, held_data: bool = True) -> Fingerprint:
    return Fingerprint("db", "data", kind, source, "id 1", 13, 2048, held_data, 0.0, "/var/lib/mysql")


def _facts(*facts: DataFacts) -> dict[str, DataFacts]:
    return {data_key(f.kind, f.source): f for f in facts}


CASES = [
    # (remembered, facts now, unfinished copies, force_target, migrations, problems)
    ("nothing remembered", None, [OLD, TARGET_EMPTY], frozenset(), frozenset(), [], []),
    ("remembered where the spec says", _remembered("bind", "/srv/db"), [TARGET_FULL], frozenset(), frozenset(), [], []),
    ("remembered place held no data", _remembered(held_data=False), [OLD, TARGET_EMPTY], frozenset(), frozenset(), [], []),
    ("moved to an empty target", _remembered(), [OLD, TARGET_EMPTY], frozenset(), frozenset(), [MOVE], []),
    ("moved to a target not there yet", _remembered(), [OLD, TARGET_MISSING], frozenset(), frozenset(), [MOVE], []),
    ("old place gone", _remembered(), [DataFacts("volume", "db-data", exists=False), TARGET_EMPTY], frozenset(), frozenset(), [], []),
    ("old place empty", _remembered(), [DataFacts("volume", "db-data", exists=True, entries=0), TARGET_EMPTY], frozenset(), frozenset(), [], []),
    ("target holds other data", _remembered(), [OLD, TARGET_FULL], frozenset(), frozenset(), [], [REFUSED]),
    ("target forced", _remembered(), [OLD, TARGET_FULL], frozenset(), frozenset({"db/data"}), [MOVE], []),
    (
        "our unfinished copy is resumed",
        _remembered(),
        [OLD, TARGET_FULL],
        frozenset({("db", "data", "/srv/db")}),
        frozenset(),
        [Migration("db", "data", "volume", "db-data", "bind", "/srv/db", 13, 2048, resume=True)],
        [],
    ),
    (
        "an unfinished copy into another target is not this one",
        _remembered(),
        [OLD, TARGET_FULL],
        frozenset({("db", "data", "/srv/elsewhere")}),
        frozenset(),
        [],
        [REFUSED],
    ),
]


@pytest.mark.parametrize(
    ("remembered", "facts", "unfinished", "force", "migrations", "problems"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_migrations_for(
    tmp_path: Path,
    remembered: Fingerprint | None,
    facts: list[DataFacts],
    unfinished: frozenset[tuple[str, str, str]],
    force: frozenset[str],
    migrations: list[Migration],
    problems: list[str],
) -> None:
    app = load_app(tmp_path, SPEC)
    fingerprints = {("db", "data"): remembered} if remembered else {}
    assert migrations_for(app, _facts(*facts), fingerprints, unfinished=unfinished, force_target=force) == (migrations, problems)


def test_a_migration_says_what_moves_where() -> None:
    assert str(MOVE) == "data: volume db-data (2.0 KiB, 13 top-level entries) -> bind /srv/db"
