"""Where the state dir is, and making it private.

A state dir that cannot be made or written is a StateDirUnusable naming it; nothing here
removes or replaces what is already there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from orchestrate.errors import StateDirUnusable

# Kernel file systems: writes there are not files (or are refused), and nothing persists.
PSEUDO_FILE_SYSTEMS = ("/proc", "/sys", "/dev")


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
    resolved = os.path.realpath(path)
    for pseudo in PSEUDO_FILE_SYSTEMS:
        if resolved == pseudo or resolved.startswith(pseudo + "/"):
            raise _unusable(path, f"it is on {pseudo}, a kernel file system")
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)
    except OSError as exc:
        raise _unusable(path, _why(exc)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise _unusable(path, "it is not writable by this user")
    return path


def _why(error: OSError) -> str:
    if isinstance(error, (FileExistsError, NotADirectoryError)):
        return "it, or a folder above it, is a file and not a directory"
    return error.strerror or str(error)


def _unusable(path: Path, why: str) -> StateDirUnusable:
    return StateDirUnusable(f"state dir {path}: {why}; choose another with --state-dir or STATEFUL_STATE_DIR")
