"""`stateful export`: the specs' apps as Kubernetes manifests or a compose file, written to a
directory, with what does not translate. One way: nothing here touches an engine.

This is the flow around the pure translations (kubernetes.py, compose.py): it reads the measured
sizes from the state store (read only: a missing store means unknown sizes, never a new one) and
the `secrets:` files, and writes the files, the ones holding secret values 0600 from the first
byte. It prints nothing; the caller shows the paths and the notes, which never hold a value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrate.model.desired import DesiredApp
from orchestrate.state import Store
from orchestrate.tools.export import compose, kubernetes
from orchestrate.tools.export.report import Export, OutputFile, is_secret_file

TARGETS = ("kubernetes", "compose")


@dataclass(frozen=True)
class Written:
    paths: tuple[Path, ...]
    private: tuple[Path, ...]  # the ones holding secret values (0600)
    notes: tuple[str, ...]


def export(apps: Sequence[DesiredApp], *, to: str, out: Path, state_dir: Path) -> Written:
    if to == "compose":
        result = compose.translate(apps)
    else:
        sizes = measured_sizes(state_dir)
        parts = [
            kubernetes.translate(app, sizes={k: s for (a, k), s in sizes.items() if a == app.name}, secret_files=_secret_files(app))
            for app in apps
        ]
        result = Export(tuple(f for p in parts for f in p.files), tuple(n for p in parts for n in p.notes))
    return _write(out, result)


def measured_sizes(state_dir: Path) -> dict[tuple[str, str], int | None]:
    """Bytes per (app, key) at the app's last healthy run, from the state store's fingerprints."""
    if not (state_dir / "state.db").is_file():
        return {}
    with Store.open(state_dir) as store:
        return {key: fp.size for key, fp in store.fingerprints().items()}


def _secret_files(app: DesiredApp) -> dict[str, bytes]:
    # The spec's own inputs, read where the spec was loaded (as the loader hashed them).
    return {m.source: Path(m.source).read_bytes() for m in app.mounts if is_secret_file(m)}


def _write(out: Path, result: Export) -> Written:
    out.mkdir(parents=True, exist_ok=True)
    paths = [_write_file(out / f.name, f) for f in result.files]
    private = tuple(out / f.name for f in result.files if f.private)
    return Written(tuple(paths), private, result.notes)


def _write_file(path: Path, file: OutputFile) -> Path:
    mode = 0o600 if file.private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)  # an existing file keeps its old mode through O_CREAT: set it before writing
    with os.fdopen(fd, "w") as stream:
        stream.write(file.text)
    return path
