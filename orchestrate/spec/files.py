"""Which files a set of paths means: files as given, directories as every *.yaml / *.yml in them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from orchestrate.errors import SpecProblem
from orchestrate.spec.inputs import not_regular

SPEC_SUFFIXES = (".yaml", ".yml")
HOSTS_FILES = ("hosts.yaml", "hosts.yml")  # kind: Hosts, not an app (spec/hosts.py)
LOCAL_HOST = "local"  # the host of an app whose spec names none: the engine of --engine / DOCKER_HOST


def spec_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[SpecProblem]]:
    """Expand files and directories (every *.yaml / *.yml, not recursive) into spec files."""
    files: list[Path] = []
    problems: list[SpecProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
            if not found:
                problems.append(SpecProblem(str(path), 0, 0, "", "no *.yaml or *.yml spec files in this directory"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif kind := not_regular(path):
            problems.append(SpecProblem(str(path), 0, 0, "", f"is {kind}, not a spec file"))
        else:
            problems.append(SpecProblem(str(path), 0, 0, "", "no such file or directory"))
    return files, problems
