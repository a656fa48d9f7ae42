"""The spec cache: hit when nothing that shapes the desired state changed, miss otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.errors import SpecError
from orchestrate.runs import pipeline

SPEC = """apiVersion: stateful/v1
kind: App
name: db
image: ${IMAGE:-mariadb:11}
env_file: [./db.env]
volumes:
  data: {target: /var/lib/mysql}
"""


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "db.yaml").write_text(SPEC)
    (tmp_path / "specs" / "db.env").write_text("A=1\n")
    return tmp_path / "specs"


def _load(specs: Path, cache: Path, environ: dict[str, str], parses: list[int]) -> str:
    real = pipeline.build_desired

    def counting(sourced: object) -> object:
        parses.append(1)
        return real(sourced)  # type: ignore[arg-type]

    pipeline.build_desired = counting  # type: ignore[assignment]
    try:
        apps = pipeline.load([specs], environ, cache_dir=cache)
    finally:
        pipeline.build_desired = real
    return f"{apps[0].image} A={apps[0].env['A']}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("nothing", "mariadb:11 A=1"),
        ("spec content", "mariadb:10 A=1"),
        ("a referenced variable", "mysql:8 A=1"),
        ("an env file", "mariadb:11 A=2"),
    ],
)
def test_cache_hits_only_when_every_input_is_unchanged(specs: Path, tmp_path: Path, change: str, expected: str) -> None:
    cache, parses = tmp_path / "state", []
    environ: dict[str, str] = {}
    assert _load(specs, cache, environ, parses) == "mariadb:11 A=1"
    if change == "spec content":
        (specs / "db.yaml").write_text(SPEC.replace("mariadb:11", "mariadb:10"))
    elif change == "a referenced variable":
        environ["IMAGE"] = "mysql:8"
    elif change == "an env file":
        (specs / "db.env").write_text("A=2\n")
    assert _load(specs, cache, environ, parses) == expected
    assert len(parses) == (1 if change == "nothing" else 2)


def test_a_spec_with_problems_is_never_cached(specs: Path, tmp_path: Path) -> None:
    (specs / "db.yaml").write_text(SPEC.replace("volumes:", "volumez:"))
    for _ in range(2):
        with pytest.raises(SpecError):
            pipeline.load([specs], {}, cache_dir=tmp_path / "state")
    assert not list((tmp_path / "state").glob("specs-*"))
