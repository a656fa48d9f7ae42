"""The data guard from a table: what the state store remembers of an app's data, what the spec
says now and what is found on the host -> the refusals (none, or the one expected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.decide.guard import data_guard_problems
from orchestrate.model.facts import DataFacts, Fingerprint, data_key
from tests.unit.builders import load_app

HEAD = "apiVersion: stateful/v1\nkind: App\nname: app\nimage: busybox\n"
ON_DATA = HEAD + "volumes:\n  data: {target: /data, name: app-data}\n"
RENAMED = HEAD + "volumes:\n  store: {target: /data, name: app-store}\n"
DROPPED = HEAD
ELSEWHERE = HEAD + "volumes:\n  logs: {target: /logs, name: app-logs}\n"


def remembered(key: str = "data", source: str = "app-data", *, held_data: bool = True, identity: str = "id 1") -> Fingerprint:
    return Fingerprint("app", key, "volume", source, identity, 3 if held_data else 0, 4096, held_data, 0.0, "/data")


def found(source: str, entries: int | None = 3, *, exists: bool = True, identity: str = "id 1") -> tuple[str, DataFacts]:
    return data_key("volume", source), DataFacts("volume", source, exists, identity, entries)


CASES = [
    # (id, spec, remembered, found on the host, allowed, expected fragment or None)
    ("the same volume, still holding data", ON_DATA, remembered(), [found("app-data")], (), None),
    ("the volume is gone", ON_DATA, remembered(), [found("app-data", exists=False)], (), "volume app-data is missing now"),
    ("the volume is empty", ON_DATA, remembered(), [found("app-data", 0)], (), "volume app-data is empty now"),
    ("another volume under the same name", ON_DATA, remembered(), [found("app-data", identity="id 2")], (), "is a different volume now"),
    ("empty, but allowed", ON_DATA, remembered(), [found("app-data", 0)], ("app/data",), None),
    ("it never held data", ON_DATA, remembered(held_data=False), [found("app-data", 0)], (), None),
    (
        "key renamed onto an empty volume on the same path",
        RENAMED,
        remembered(),
        [found("app-store", 0)],
        (),
        "app/store now mounts volume app-store there, which is empty",
    ),
    ("key renamed onto a volume that holds data", RENAMED, remembered(), [found("app-store")], (), None),
    ("key dropped: the path is mounted no more", DROPPED, remembered(), [], (), "the spec no longer mounts anything there"),
    ("key dropped, another key elsewhere", ELSEWHERE, remembered(), [found("app-logs", 0)], (), "the spec no longer mounts anything there"),
    ("key dropped, and allowed", DROPPED, remembered(), [], ("app/data",), None),
    ("key dropped that never held data", DROPPED, remembered(held_data=False), [], (), None),
]


@pytest.mark.parametrize(("spec", "fingerprint", "facts", "allowed", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_data_guard(
    tmp_path: Path, spec: str, fingerprint: Fingerprint, facts: list[tuple[str, DataFacts]], allowed: tuple[str, ...], expected: str | None
) -> None:
    app = load_app(tmp_path, spec)
    problems = data_guard_problems(app, dict(facts), {(fingerprint.app, fingerprint.key): fingerprint}, frozenset(allowed))
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems
        assert "Nothing was started" in problems[0] and "--allow-empty-volume" in problems[0]
