"""Who else may write to an app's datadir while it runs: only the container holding the app's name
(the one a recreate stops first), apps that borrow its volumes, and keys declared shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.decide.guard import borrowers_of, foreign_writer_problems
from orchestrate.model.facts import data_key
from orchestrate.model.observed import MountUser
from tests.unit.builders import load_apps

SPECS = """\
apiVersion: stateful/v1
kind: App
name: db
image: mariadb:11.4
volumes:
  data: {target: /var/lib/mysql, name: db-data}
  logs: {target: /var/log/mysql, name: db-logs}
shared_volumes: [logs]
---
apiVersion: stateful/v1
kind: App
name: tool
image: mariadb:11.4
volumes_from: [db]
"""

DATA, LOGS = data_key("volume", "db-data"), data_key("volume", "db-logs")

CASES = [
    # (id, users of the volumes, expected problem fragments; [] = allowed)
    ("the app's own container", {DATA: [MountUser("db", True, True, "db")]}, []),
    (
        "the app's container renamed by hand, running",
        {DATA: [MountUser("db-old", True, True, "db")]},
        ["running container db-old (this app's own container under another name: `docker rename db-old db` to take it back)"],
    ),
    ("the app's container renamed by hand, stopped", {DATA: [MountUser("db-old", False, True, "db")]}, []),
    ("a container started by hand, running", {DATA: [MountUser("x", True, True, "")]}, ["running container x (not managed by stateful)"]),
    ("a container started by hand, read-only", {DATA: [MountUser("x", True, False, "")]}, []),
    ("another managed app", {DATA: [MountUser("other", True, True, "other")]}, ["running container other;"]),
    ("an app of these specs borrowing the volumes (volumes_from)", {DATA: [MountUser("tool", True, True, "tool")]}, []),
    ("a writer on a key declared shared", {LOGS: [MountUser("x", True, True, "")]}, []),
]


@pytest.mark.parametrize(("users", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_foreign_writers(tmp_path: Path, users: dict[str, list[MountUser]], expected: list[str]) -> None:
    apps = load_apps(tmp_path, SPECS)
    db = next(a for a in apps if a.name == "db")
    problems = foreign_writer_problems(db, {k: tuple(v) for k, v in users.items()}, borrowers_of(apps))
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem
        assert "two servers on one datadir corrupt it" in problem
