"""tests/FIELD-NOTES.md names a test for each of the 30 field-note stories: every story has one,
and every test it names exists (a renamed or deleted test breaks this, not the map's reader)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "tests" / "FIELD-NOTES.md"
STORIES = 30
ROW = re.compile(r"^\| (\d+) \|.*\| (.+) \|$")
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)(?:\[([^\]]+)\])?`")


def _rows() -> dict[int, list[tuple[str, str, str | None]]]:
    rows = {}
    for line in MAP.read_text().splitlines():
        if match := ROW.match(line):
            rows[int(match[1])] = [(m[1], m[2], m[3]) for m in REFERENCE.finditer(match[2])]
    return rows


def test_every_story_is_replayed_by_at_least_one_test() -> None:
    rows = _rows()
    assert sorted(rows) == list(range(1, STORIES + 1))
    assert [story for story, tests in rows.items() if not tests] == []


def test_every_named_test_exists() -> None:
    missing = []
    for story, tests in _rows().items():
        for path, name, case in tests:
            source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
            if f"def {name}(" not in source or (case is not None and f'"{case}"' not in source):
                missing.append(f"story {story}: {path}::{name}" + (f"[{case}]" if case else ""))
    assert missing == []
