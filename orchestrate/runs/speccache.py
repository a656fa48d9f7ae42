"""Validated specs, remembered: an unchanged spec set skips YAML parsing and validation.

`reconcile` from cron reads the same files every minute. The cache key holds every input of the
desired state: each spec file's path and content, the values of the variables the files refer to,
and the content of the env files and secrets they read. Any difference means a full load, and a
spec with problems is never cached. The cache lives in the private state dir (0700): pickle only
ever reads files we wrote there ourselves.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from orchestrate import __version__
from orchestrate.model.desired import DesiredApp
from orchestrate.spec.files import spec_files

FORMAT = f"specs/1/{__version__}"
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def load_cached(
    paths: Iterable[str | Path], environ: Mapping[str, str], cache_dir: Path | None, load: Callable[[], list[DesiredApp]]
) -> list[DesiredApp]:
    files, problems = spec_files(paths)
    if cache_dir is None or problems or not files:
        return load()
    key = _key(files, environ)
    which = _digest("\n".join(str(f.resolve()) for f in files).encode())[:16]
    entry = cache_dir / f"specs-{which}.pickle"
    cached = _read(entry)
    if cached is not None and cached.get("key") == key and _unchanged(cached.get("inputs", {})):
        return list(cached["desired"])
    desired = load()
    _write(entry, {"key": key, "inputs": {p: _file_digest(p) for a in desired for p in a.inputs}, "desired": desired})
    return desired


def _key(files: list[Path], environ: Mapping[str, str]) -> str:
    parts = [FORMAT]
    for path in files:
        content = path.read_bytes()
        names = sorted(set(VARIABLE.findall(content.decode("utf-8", "replace"))))
        parts += [str(path.resolve()), _digest(content), *(f"{n}={environ.get(n, chr(0))}" for n in names)]
    return _digest("\n".join(parts).encode())


def _unchanged(inputs: Mapping[str, str]) -> bool:
    return all(_file_digest(path) == digest for path, digest in inputs.items())


def _file_digest(path: str) -> str:
    try:
        return _digest(Path(path).read_bytes())
    except OSError:
        return ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_uid != os.geteuid():
            return None  # only what we wrote ourselves is unpickled
        with path.open("rb") as source:
            entry = pickle.load(source)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return entry if isinstance(entry, dict) else None


def _write(path: Path, entry: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            pickle.dump(entry, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        return  # a cache that cannot be written is only a slower next run
