"""Reading the files a spec names (spec files, env files, secrets) without trusting them.

Only a regular file is read, and at most a fixed number of bytes: a FIFO would block forever,
`/dev/zero` would fill memory, a directory is a mistake. The kind is checked on the opened file
(opened non-blocking, so a FIFO does not wait for a writer), so nothing can be swapped in between.
Nothing here writes.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE_MAX = 1024 * 1024
SECRET_MAX = 1024 * 1024  # what a Kubernetes Secret holds, so that `export` can carry every secret

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputRefused(Exception):
    """The file cannot be used: `str()` names it and says why; `reason` says why without the name."""

    def __init__(self, path: Path, reason: str, *, too_large: bool = False) -> None:
        super().__init__(f"{path} {reason}")
        self.reason = reason
        self.too_large = too_large


def kind_of(mode: int) -> str:
    """`a directory`, `a FIFO (named pipe)`, … for anything that is not a regular file."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def not_regular(path: Path) -> str | None:
    """What `path` is when it exists but is not a regular file (or a directory), else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else kind_of(mode)


def read_input(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; InputRefused otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise InputRefused(path, f"cannot be read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputRefused(path, f"is {kind_of(mode)}, not a regular file")
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise InputRefused(path, f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputRefused(path, f"is larger than {_size(limit)}, the most such a file may hold", too_large=True)
    return data


def _read_at_most(fd: int, count: int) -> bytes:
    chunks: list[bytes] = []
    while count > 0 and (chunk := os.read(fd, min(count, 1024 * 1024))):
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def read_env_file(path: Path, *, interpolate: bool = False) -> dict[str, str]:
    """The variables of an env file (NAME=value lines), read with `read_input`'s limits."""
    data = read_input(path, ENV_FILE_MAX)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputRefused(path, f"is not UTF-8 text (at byte {exc.start + 1})") from None
    return {k: v or "" for k, v in dotenv_values(stream=io.StringIO(text), interpolate=interpolate).items()}


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
