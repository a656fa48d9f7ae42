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


def test_no_secret_value_at_rest_and_a_hit_re_derives_it(specs: Path, tmp_path: Path) -> None:
    (specs / "db.yaml").write_text(SPEC.replace("env_file:", "env: {DB_PASSWORD: '${PW}', PLAIN: x}\nenv_file:"))
    (specs / "db.env").write_text("A=1\nAPI_TOKEN=from-the-file\n")
    cache, parses = tmp_path / "state", []
    environ = {"PW": "hunter2-secret"}
    for _ in range(2):
        assert _load(specs, cache, environ, parses) == "mariadb:11 A=1"
        apps = pipeline.load([specs], environ, cache_dir=cache)
        assert (apps[0].env["DB_PASSWORD"], apps[0].env["API_TOKEN"], apps[0].env["PLAIN"]) == ("hunter2-secret", "from-the-file", "x")
    assert len(parses) == 1  # the second and later loads were hits
    stored = b"".join(p.read_bytes() for p in cache.glob("specs-*"))
    assert stored.startswith(b"{") and b"hunter2-secret" not in stored and b"from-the-file" not in stored


def test_a_secret_variable_outside_env_is_not_cached(specs: Path, tmp_path: Path) -> None:
    (specs / "db.yaml").write_text(SPEC + "command: [--password, '${DB_PASSWORD}']\n")
    pipeline.load([specs], {"DB_PASSWORD": "hunter2"}, cache_dir=tmp_path / "state")
    assert not list((tmp_path / "state").glob("specs-*"))
