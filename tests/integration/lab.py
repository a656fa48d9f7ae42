"""The lab of several Docker engines on this machine (tests/lab/lab.sh), as the tests see it.

`lab_session` brings the lab up for a test session and down after it; conftest turns it into the
`lab` fixture, so only a session with a test that asks for it pays for it, and only when
STATEFUL_LAB=1 (it needs root; up takes about 35 s, down about 15 s). `Lab` runs lab.sh's failure injections and
opens docker-py clients on a node's unix, tcp or ssh endpoint; `probe` says whether endpoints
answer, within a bounded time.

Must not: touch the main engine, or leave a lab up that it brought up.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "lab" / "lab.sh"
ENABLED = os.environ.get("STATEFUL_LAB") == "1"
SKIP_REASON = "the several-engines lab runs only with STATEFUL_LAB=1 (needs root, about two minutes: tests/lab/lab.sh)"
VIAS = ("unix", "tcp", "ssh")

# docker-py's ssh transport (paramiko) reads ~/.ssh/config and ~/.ssh/known_hosts when a client is
# made, so HOME is pointed at the lab's for that moment; the lock keeps other threads out of it.
_home_lock = threading.Lock()
# A probe, run as a child process: argv is base_url, timeout; prints the engine ID.
_ASK = "import sys, docker; print(docker.DockerClient(base_url=sys.argv[1], timeout=float(sys.argv[2])).info()['ID'])"


@dataclass(frozen=True)
class Probe:
    engine_id: str | None  # None: refused, failed or timed out
    seconds: float


@dataclass(frozen=True)
class Node:
    index: int
    urls: dict[str, str]  # via ("unix", "tcp", "ssh") -> base_url

    @property
    def name(self) -> str:
        return f"sf-n{self.index}"


@dataclass(frozen=True)
class Lab:
    nodes: list[Node]
    ssh_home: Path
    shared: Path  # the sshfs mount point inside every node
    export: Path  # the same files, seen from the host (the sftp server's side)

    def node(self, index: int) -> Node:
        return self.nodes[index - 1]

    def run(self, *args: str, timeout: float = 120) -> str:
        """lab.sh ARGS (a failure injection, status); its output. The test fails when it fails."""
        return _script(*args, timeout=timeout)

    def client(self, index: int, via: str, *, timeout: float = 10) -> docker.DockerClient:
        url = self.node(index).urls[via]
        if via != "ssh":
            return docker.DockerClient(base_url=url, timeout=timeout)
        with _home_lock, _environ("HOME", str(self.ssh_home)):
            return docker.DockerClient(base_url=url, timeout=timeout)

    def probe(self, index: int, vias: tuple[str, ...] = VIAS, *, within: float = 15) -> dict[str, Probe]:
        """Ask node `index` for its engine ID on each of `vias` at once, each in a child process that
        is killed after `within` seconds: paramiko's connect has no timeout of its own, and a thread
        stuck in it could not be stopped. The seconds include the child's start (about 0.3 s)."""
        start = time.monotonic()
        env = {**os.environ, "HOME": str(self.ssh_home)}
        children = {
            via: subprocess.Popen(
                [sys.executable, "-c", _ASK, self.node(index).urls[via], str(within)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for via in vias
        }
        return {via: _answer(child, start, within) for via, child in children.items()}


def lab_session() -> Iterator[Lab]:
    """Up once for the session, down at its end unless it was up already (someone is using it)."""
    if not ENABLED:
        pytest.skip(SKIP_REASON)
    was_up = subprocess.run([str(SCRIPT), "status"], capture_output=True, check=False).returncode == 0
    start = time.monotonic()
    _script("up", timeout=900)
    print(f"\nlab up: {time.monotonic() - start:.1f} s")
    try:
        yield _from_env(_script("env"))
    finally:
        if not was_up and os.environ.get("STATEFUL_LAB_KEEP") != "1":
            start = time.monotonic()
            _script("down", timeout=600)
            print(f"\nlab down: {time.monotonic() - start:.1f} s")


def _script(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"lab.sh {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def _from_env(text: str) -> Lab:
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    count = int(values["STATEFUL_LAB_NODES"])
    nodes = [Node(i, {via: values[f"STATEFUL_LAB_N{i}_{via.upper()}"] for via in VIAS}) for i in range(1, count + 1)]
    return Lab(nodes, Path(values["STATEFUL_LAB_SSH_HOME"]), Path(values["STATEFUL_LAB_SHARED"]), Path(values["STATEFUL_LAB_EXPORT"]))


def _answer(child: subprocess.Popen[str], start: float, within: float) -> Probe:
    try:
        out, _ = child.communicate(timeout=max(0.0, start + within - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return Probe(None, time.monotonic() - start)
    return Probe(out.strip() or None if child.returncode == 0 else None, time.monotonic() - start)


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old
