"""One writer per state dir: a file lock, with who holds it written beside it.

The lock is an flock(2): the kernel releases it when its holder dies, so a run killed with
SIGKILL never leaves a lock that blocks the next one. The holder file is only information.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from orchestrate.errors import LockBusy
from orchestrate.state.paths import ensure_private_dir


class RunLock:
    def __init__(self, directory: Path, *, wait_seconds: float = 0.0) -> None:
        ensure_private_dir(directory)
        self.path = directory / "lock"
        self.holder_path = directory / "lock.holder"
        self.wait_seconds = wait_seconds
        self._lock = FileLock(str(self.path), mode=0o600)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire(timeout=self.wait_seconds, poll_interval=0.1)
        except Timeout:
            raise LockBusy(f"another stateful run holds the lock ({self.describe_holder()}); try again, or pass --wait-lock SECONDS") from None
        self._write_holder()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.holder_path.unlink(missing_ok=True)
        self._lock.release()

    def _write_holder(self) -> None:
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv), "since": time.time()}
        fd = os.open(self.holder_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(holder, out)

    def describe_holder(self) -> str:
        try:
            holder = json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return "holder unknown"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
        return f"pid {holder.get('pid')} on {holder.get('host')}, `{holder.get('command')}`, since {since}"
