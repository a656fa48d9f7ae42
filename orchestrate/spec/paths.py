"""Path rules a spec must pass: host paths that need an explicit allow, and container paths a
secret may not cover.

Pure: strings in, a refusal (or None) out. The loader resolves each host path first (relative to
the spec's folder, symlinks followed) and passes the result here; nothing here reads the disk.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping

# Mounting any of these (or a folder that holds one) hands the container the host: its users and
# passwords, its kernel knobs, its devices and boot files, or the engine itself (write access to
# the engine socket is root on the host). `/` holds them all, so it is refused as their parent.
SENSITIVE_HOST_PATHS = (
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/lib/docker",
    "/run/containerd",
    "/var/lib/containerd",
)

# A secret bound over one of these replaces what the container's own users, name resolution or
# dynamic loader rely on; under the pseudo file systems and system folders it shadows the OS.
CRITICAL_FILES = (
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/ld.so.preload",
    "/etc/ld.so.cache",
)
CRITICAL_DIRS = ("/proc", "/sys", "/dev", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/usr", "/etc/pam.d", "/etc/sudoers.d")
# Folders a secret file may live in but not replace as a whole.
CRITICAL_FOLDERS = ("/", "/etc", "/run", "/run/secrets", "/var", "/tmp", "/home", "/root")

ALLOW_KEY = "allow_host_paths"


def within(path: str, base: str) -> bool:
    """Whether `path` is `base` or below it (whole components: /etcetera is not under /etc)."""
    return path == base or path.startswith(base.rstrip("/") + "/")


def engine_socket(environ: Mapping[str, str]) -> str | None:
    """The local engine's socket when DOCKER_HOST names one (unix://...), else None."""
    host = environ.get("DOCKER_HOST", "")
    return posixpath.normpath(host.removeprefix("unix://")) if host.startswith("unix://") else None


def host_path_refusal(path: str, allowed: Iterable[str], extra: Iterable[str] = ()) -> str | None:
    """Why the host path `path` (absolute, resolved) may not be mounted, or None.

    Refused: a sensitive path, anything under one, or a folder that holds one. An entry of
    `allowed` allows that path and everything under it.
    """
    path = posixpath.normpath(path)
    if any(within(path, posixpath.normpath(entry)) for entry in allowed):
        return None
    for sensitive in (*SENSITIVE_HOST_PATHS, *extra):
        if within(path, sensitive):
            return _refusal(path, f"is {sensitive}" if path == sensitive else f"is under {sensitive}")
        if within(sensitive, path):
            return _refusal(path, f"holds {sensitive}")
    return None


def _refusal(path: str, why: str) -> str:
    return f"host path {path} {why}, which gives the container control of the host; list it in {ALLOW_KEY}: to mount it anyway"


def secret_target_refusal(target: str) -> str | None:
    """Why a secret may not be mounted at `target` inside the container, or None."""
    target = posixpath.normpath(target)
    if target in CRITICAL_FILES or target in CRITICAL_FOLDERS:
        return f"a secret may not replace {target}"
    for folder in CRITICAL_DIRS:
        if within(target, folder):
            return f"a secret may not be mounted under {folder}"
    return None
