"""Files written for other programs to read (the metrics for node_exporter), atomically."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: str, text: str, *, mode: int = 0o644) -> None:
    """Readers (node_exporter's textfile collector) never see a half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)
