"""Integration fixtures: a real Docker engine, real MariaDB, PostgreSQL and Redis, unique names per test.

Every test gets a `World`: a fresh name prefix, a spec directory, the `stateful` command run as
a user would run it (a subprocess), and helpers that check data by asking the servers. At the
end, everything carrying the prefix is removed, and nothing else is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.integration.lab import Lab, lab_session

STATEFUL = str(Path(sys.executable).parent / "stateful")
MARIADB = os.environ.get("STATEFUL_MARIADB_IMAGE", "stateful-test/mariadb:10.11")
MARIADB_ALT = os.environ.get("STATEFUL_MARIADB_IMAGE_ALT", "stateful-test/mariadb:10.11-alt")
POSTGRES = os.environ.get("STATEFUL_POSTGRES_IMAGE", "stateful-test/postgres:15")
POSTGRES_ALT = os.environ.get("STATEFUL_POSTGRES_IMAGE_ALT", "stateful-test/postgres:15-alt")
REDIS = os.environ.get("STATEFUL_REDIS_IMAGE", "stateful-test/redis:7.0")
REDIS_ALT = os.environ.get("STATEFUL_REDIS_IMAGE_ALT", "stateful-test/redis:7.0-alt")
BUSYBOX = os.environ.get("STATEFUL_BUSYBOX_IMAGE", "stateful-test/busybox:latest")
HELPER = os.environ.get("STATEFUL_HELPER_IMAGE", "stateful-test/base:bookworm")  # GNU cp, find, sha256sum
REDIS_READS = ("GET", "DBSIZE", "KEYS", "EXISTS", "PING", "LASTSAVE", "INFO", "HGET", "LRANGE", "MGET")
# Engine event actions that change something: a no-op run or a dry run must cause none.
MUTATING = {"create", "start", "stop", "kill", "die", "destroy", "rename", "update", "restart", "connect", "disconnect", "pull", "tag"}
ROOT_PW = "Root-pw-1'x"  # a quote and a dash: passwords are passed, never shell-interpreted


@pytest.fixture(scope="session")
def client() -> Iterator[docker.DockerClient]:
    try:
        api = docker.from_env()
        api.ping()
        missing = [i for i in (MARIADB, REDIS, POSTGRES, BUSYBOX) if not _has_image(api, i)]
    except docker.errors.DockerException as exc:
        _unavailable(f"no Docker engine: {exc}")
    if missing:
        _unavailable(f"test images missing: {missing} (run scripts/setup.sh)")
    yield api
    api.close()


def exec_output(container: Any, command: list[str], *, tries: int = 5) -> tuple[int, bytes]:
    """exec_run for a read-only command that always prints something, asked again when it exits 0
    having printed nothing: the engine (20.10) sometimes loses a quick exec's output, logging
    "stream copy error: reading from a closed fifo". Never for commands that change anything."""
    for _ in range(tries):
        code, out = container.exec_run(command)
        if code != 0 or out.strip():
            break
        time.sleep(0.2)
    return int(code), out


def _has_image(api: docker.DockerClient, ref: str) -> bool:
    try:
        api.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _unavailable(reason: str) -> None:
    if os.environ.get("STATEFUL_REQUIRE_ENGINE"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class World:
    """One test's corner of the engine: names under `prefix`, specs under `dir`."""

    client: docker.DockerClient
    prefix: str
    dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def write(self, filename: str, text: str) -> Path:
        path = self.dir / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def env_for_run(self) -> dict[str, str]:
        images = {
            "STATEFUL_MARIADB_IMAGE": MARIADB,
            "STATEFUL_REDIS_IMAGE": REDIS,
            "STATEFUL_POSTGRES_IMAGE": POSTGRES,
            "STATEFUL_BUSYBOX_IMAGE": BUSYBOX,
            "STATEFUL_HELPER_IMAGE": HELPER,
        }
        # Each test has its own state dir: its own lock, journal and fingerprints.
        return {**os.environ, **images, "STATEFUL_STATE_DIR": str(self.dir / "state"), **self.env}

    def run(self, *args: str, check: int | None = None, timeout: float = 300) -> Result:
        done = subprocess.run([STATEFUL, *args], capture_output=True, text=True, env=self.env_for_run(), timeout=timeout)
        result = Result(done.returncode, done.stdout, done.stderr)
        if check is not None:
            assert result.code == check, f"exit {result.code}, expected {check}\nstdout:\n{result.out}\nstderr:\n{result.err}"
        return result

    def container(self, name: str) -> Any:
        return self.client.containers.get(name)

    def running(self, name: str) -> bool:
        try:
            return self.container(name).status == "running"
        except docker.errors.NotFound:
            return False

    def ours(self) -> list[Any]:
        """This test's containers (sparse list: other tests' containers may vanish meanwhile)."""
        listed = self.client.containers.list(all=True, sparse=True, filters={"name": self.prefix})
        return sorted((c for c in listed if c.attrs["Names"][0].lstrip("/").startswith(self.prefix)), key=lambda c: c.id)

    def sql(self, app: str, statement: str, *, password: str = ROOT_PW, timeout: float = 90) -> str:
        """Run SQL in the app's MariaDB over TCP as root, waiting for the server to accept."""
        deadline = time.monotonic() + timeout
        while True:
            command = ["mariadb", "-h127.0.0.1", "-uroot", f"-p{password}", "-N", "-B", "-e", statement]
            # A read is asked again when its answer is lost; a write runs exactly once.
            reads = statement.lstrip().upper().startswith(("SELECT", "SHOW", "CHECKSUM"))
            code, out = exec_output(self.container(app), command, tries=3) if reads else self.container(app).exec_run(command)
            text = out.decode()
            if code == 0:
                return text.strip()
            # Retry only while the server does not answer yet (client errors 2xxx): a statement
            # that reached the server and failed must not run twice.
            if "ERROR 2" not in text or time.monotonic() > deadline:
                raise AssertionError(f"SQL failed on {app}: {text}")
            time.sleep(0.3)

    def mariadb_with_rows(self, *, filename: str = "db.yaml", volumes: str = "") -> tuple[str, str]:
        """MariaDB app `<prefix>-db` applied from `filename`, with two rows in shop.t; (app, spec path)."""
        app = self.name("db")
        spec = str(self.write(filename, mariadb_spec(app, volumes=volumes)))
        self.run("apply", spec, check=0)
        self.sql(app, "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1), (2)")
        return app, spec

    def psql(self, app: str, statement: str, *, database: str = "shop", user: str = "postgres", timeout: float = 90) -> str:
        """Run SQL in the app's PostgreSQL over TCP on 127.0.0.1 (trusted inside the container, and
        only the real server listens there, never the entrypoint's initialising one)."""
        deadline = time.monotonic() + timeout
        command = ["psql", "-h", "127.0.0.1", "-U", user, "-d", database, "-AtqX", "-v", "ON_ERROR_STOP=1", "-c", statement]
        reads = statement.lstrip().upper().startswith(("SELECT", "SHOW", "TABLE"))
        while True:
            # A read is asked again when its answer is lost; a write runs exactly once.
            code, out = exec_output(self.container(app), command, tries=3) if reads else self.container(app).exec_run(command)
            text = out.decode()
            if code == 0:
                return text.strip()
            # psql exits 2 when it could not talk to the server (not up yet); 3 when a statement failed,
            # which must not run twice.
            if code != 2 or time.monotonic() > deadline:
                raise AssertionError(f"SQL failed on {app} (exit {code}): {text}")
            time.sleep(0.3)

    def postgres_with_rows(self, *, filename: str = "pg.yaml", volumes: str = "") -> tuple[str, str]:
        """PostgreSQL app `<prefix>-pg` applied from `filename`, with two rows in shop's table t; (app, spec path)."""
        app = self.name("pg")
        spec = str(self.write(filename, postgres_spec(app, volumes=volumes)))
        self.run("apply", spec, check=0)
        self.psql(app, "CREATE TABLE t (id INT PRIMARY KEY, item TEXT); INSERT INTO t VALUES (1, 'apple'), (2, 'pear')")
        return app, spec

    def redis(self, app: str, *command: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            cli = ["redis-cli", *command]
            reads = command[0].upper() in REDIS_READS  # asked again when the answer is lost
            code, out = exec_output(self.container(app), cli, tries=3) if reads else self.container(app).exec_run(cli)
            text = out.decode().strip()
            if code == 0 and not text.startswith(("LOADING", "ERR", "Could not connect")):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-cli {command} failed on {app}: {text}")
            time.sleep(0.2)

    def names(self) -> list[str]:
        return sorted(c.attrs["Names"][0].lstrip("/") for c in self.ours())

    def cleanup(self) -> None:
        for container in self.ours():
            container.remove(force=True)
        for volume in self.client.volumes.list(filters={"name": self.prefix}):
            if volume.name.startswith(self.prefix):
                volume.remove(force=True)
        for network in self.client.networks.list(names=[self.prefix]):
            if network.name.startswith(self.prefix):
                network.remove()


class EventRecorder:
    """Streams the engine's events live from now on (its history keeps only the last 256, too few
    while healthchecks of parallel tests add several events a second).

    A recorder that fails quietly would pass every "nothing happened" test, so its own errors are
    raised by stop(), and stop_proven() first makes an event of its own and insists on seeing it.
    """

    def __init__(self, client: docker.DockerClient, filters: dict[str, Any]) -> None:
        self.client = client
        self.filters = filters
        self.events: list[dict[str, Any]] = []
        self._error: BaseException | None = None
        self._stopping = threading.Event()
        self._stream = client.api.events(decode=True, filters=filters)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for event in self._stream:
                self.events.append(event)
            ended: BaseException = ConnectionError("the engine ended the event stream")
        except Exception as exc:
            ended = exc
        if not self._stopping.is_set():  # closing the stream under the reader is how stop() ends it
            self._error = ended

    def stop(self) -> list[dict[str, Any]]:
        time.sleep(0.5)  # let the last events arrive
        return self._close()

    def _close(self) -> list[dict[str, Any]]:
        self._stopping.set()
        self._stream.close()
        self._thread.join(timeout=5)
        if self._error is not None:
            raise AssertionError(f"the event recorder failed: {self._error!r}") from self._error
        assert not self._thread.is_alive(), "the event recorder did not stop"
        return list(self.events)

    def stop_proven(self, prefix: str) -> list[dict[str, Any]]:
        """Stop, after proving the recorder sees what happens: a throw-away container named with the
        test's prefix (and the labels the filters ask for) is created and removed, and both events
        must arrive. Returns the other events."""
        assert set(self.filters) <= {"type", "label"} and self.filters.get("type", "container") == "container", self.filters
        labels = dict(label.split("=", 1) for label in _as_list(self.filters.get("label")))
        control = self.client.containers.create(BUSYBOX, ["true"], name=f"{prefix}-recorder-control-{uuid.uuid4().hex[:6]}", labels=labels)
        control.remove()
        deadline = time.monotonic() + 10
        while not {"create", "destroy"} <= {e.get("Action") for e in list(self.events) if e.get("id") == control.id}:
            assert time.monotonic() < deadline and self._error is None, f"the event recorder missed its own control container: {self._error!r}"
            time.sleep(0.1)
        return [e for e in self._close() if e.get("id") != control.id]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture
def world(client: docker.DockerClient, tmp_path: Path) -> Iterator[World]:
    w = World(client, f"st{uuid.uuid4().hex[:8]}", tmp_path)
    try:
        yield w
    finally:
        w.cleanup()


def engine_health(world: World, app: str, *, within: float) -> str:
    """The engine's health status of the app, once it is no longer `starting` (or after `within` s).

    The health gate passes an app on its own run of the healthcheck, before the engine's next
    check: right after an apply the engine may still say `starting` for up to one interval.
    """
    deadline = time.monotonic() + within
    while True:
        status = str(world.container(app).attrs["State"]["Health"]["Status"])
        if status != "starting" or time.monotonic() >= deadline:
            return status
        time.sleep(0.2)


def mariadb_spec(
    name: str,
    *,
    image: str = MARIADB,
    extra_env: dict[str, str] | None = None,
    healthcheck: str = "",
    volumes: str = "",
) -> str:
    env = "".join(f"\n  {k}: {json.dumps(v)}" for k, v in (extra_env or {}).items())
    return f"""apiVersion: stateful/v1
kind: App
name: {name}
image: {image}
env:
  MARIADB_ROOT_PASSWORD: {json.dumps(ROOT_PW)}
  MARIADB_DATABASE: shop{env}
volumes:
  data:
    target: /var/lib/mysql{volumes}
restart: unless-stopped
stop_grace_period: 30s
{healthcheck}"""


def postgres_spec(
    name: str,
    *,
    image: str = POSTGRES,
    extra_env: dict[str, str] | None = None,
    password: str = ROOT_PW,
    volumes: str = "",
) -> str:
    env = "".join(f"\n  {k}: {json.dumps(v)}" for k, v in (extra_env or {}).items())
    return f"""apiVersion: stateful/v1
kind: App
name: {name}
image: {image}
env:
  POSTGRES_PASSWORD: {json.dumps(password)}
  POSTGRES_DB: shop{env}
volumes:
  data:
    target: /var/lib/postgresql/data{volumes}
restart: unless-stopped
stop_grace_period: 30s
"""


def redis_spec(name: str, *, image: str = REDIS, extra: str = "") -> str:
    return f"""apiVersion: stateful/v1
kind: App
name: {name}
image: {image}
command: ["redis-server", "--appendonly", "yes", "--dir", "/data"]
volumes:
  data:
    target: /data
restart: unless-stopped
{extra}"""


def busybox_spec(name: str, *, extra: str = "", command: str = "while :; do sleep 1; done") -> str:
    return f"""apiVersion: stateful/v1
kind: App
name: {name}
image: {BUSYBOX}
command: ["sh", "-c", "trap 'exit 0' TERM; {command}"]
restart: unless-stopped
stop_grace_period: 5s
{extra}"""


class EngineProxy:
    """A unix socket that forwards to the real engine, and can be cut and restored.

    To the `stateful` under test, cutting it is the engine going away (connections drop, new
    ones are refused); nothing is mocked and the real engine keeps serving the other tests.
    """

    def __init__(self, path: Path, target: str = "/var/run/docker.sock") -> None:
        self.path, self.target = path, target
        self._server: socket.socket | None = None
        self._open: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> None:
        self.path.unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._open.clear()
        self.path.unlink(missing_ok=True)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def engine_proxy() -> Iterator[EngineProxy]:
    short = Path(tempfile.mkdtemp(prefix="stp"))  # unix socket paths must stay under 108 bytes
    proxy = EngineProxy(short / "engine.sock")
    proxy.start()
    yield proxy
    proxy.stop()
    short.rmdir()


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The lab of several engines (tests/lab/lab.sh): up once, for the sessions that ask, when STATEFUL_LAB=1."""
    yield from lab_session()
