"""Where the state dir is, and making it private."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("STATEFUL_STATE_DIR"):
        return Path(env["STATEFUL_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/stateful")
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "stateful"


def identity(path: Path) -> str:
    """What containers are labelled with: the state dir's absolute path, stable when the dir is
    lost and made again in the same place."""
    return str(path.expanduser().resolve())


def ensure_private_dir(path: Path) -> Path:
    """Create the dir 0700 (journal and history say what runs where: not for other users)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path
