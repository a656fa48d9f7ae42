"""One writer per state dir: a file lock, with who holds it written beside it.

The lock is an flock(2) on a file in the state dir, taken with the standard library (a cron run
every minute should not pay for importing more): the kernel releases it when its holder dies, so
a run killed with SIGKILL never leaves a lock that blocks the next one. The holder file is only
information.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from orchestrate.errors import LockBusy, StateDirUnusable
from orchestrate.state.paths import ensure_private_dir


class RunLock:
    def __init__(self, directory: Path, *, wait_seconds: float = 0.0) -> None:
        ensure_private_dir(directory)
        self.path = directory / "lock"
        self.holder_path = directory / "lock.holder"
        self.wait_seconds = wait_seconds
        self._fd = -1

    def __enter__(self) -> RunLock:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateDirUnusable(f"cannot take the lock {self.path}: {exc.strerror or exc}") from None
        deadline = time.monotonic() + self.wait_seconds
        while not self._try_lock():
            if time.monotonic() >= deadline:
                os.close(self._fd)
                raise LockBusy(f"another stateful run holds the lock ({self.describe_holder()}); try again, or pass --wait-lock SECONDS")
            time.sleep(0.1)
        self._write_holder()
        return self

    def _try_lock(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.holder_path.unlink(missing_ok=True)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)

    def _write_holder(self) -> None:
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv), "since": time.time()}
        try:
            fd = os.open(self.holder_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError:
            return  # only information: the flock is what excludes other runs
        with os.fdopen(fd, "w") as out:
            json.dump(holder, out)

    def describe_holder(self) -> str:
        try:
            holder = json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return "holder unknown"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
        return f"pid {holder.get('pid')} on {holder.get('host')}, `{holder.get('command')}`, since {since}"
