"""`stateful export`: the compose export runs on the same engine, on the same data; and what it
writes is a compose file that Compose v2 itself accepts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.integration.conftest import BUSYBOX, ROOT_PW, STATEFUL, World
from tests.integration.test_import import _compose


def _config(file: Path) -> subprocess.CompletedProcess[str]:
    # The real binary: its Python wrapper exits 0 whatever Compose says.
    return subprocess.run([str(_compose()), "-f", str(file), "config", "--quiet"], capture_output=True, text=True)


def test_compose_export_round_trip_keeps_the_rows(world: World) -> None:
    app, spec = world.mariadb_with_rows()
    world.run("destroy", app, check=0)  # the volume stays
    out = world.dir / "exported"
    exported = world.run("export", "--to", "compose", "--out", str(out), spec, check=0)
    assert ROOT_PW not in exported.out + exported.err
    assert os.stat(out / f"{app}.secret.env").st_mode & 0o777 == 0o600
    checked = _config(out / "compose.yaml")
    assert checked.returncode == 0, checked.stderr
    run = [str(_compose()), "-p", world.name("compose"), "-f", str(out / "compose.yaml")]
    up = subprocess.run([*run, "up", "-d", "--wait"], capture_output=True, text=True, timeout=300)
    try:
        assert up.returncode == 0, up.stderr
        assert world.client.volumes.get(f"{app}-data").name == f"{app}-data"  # compose made no volume of its own
        assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "2"
    finally:
        subprocess.run([*run, "down"], capture_output=True, timeout=120)  # never -v: the World removes its volumes


def test_compose_accepts_an_export_of_every_field(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("x")
    (tmp_path / "spec.yaml").write_text(f"""apiVersion: stateful/v1
kind: App
name: cache
image: {BUSYBOX}
command: ["sh", "-c", "echo $$HOME; sleep 1000"]
env: {{API_TOKEN: "a'b$$c", PLAIN: "no"}}
secrets: {{token: {{file: ./pw}}}}
ports: ["127.0.0.1:6380:6379", "53/udp"]
volumes:
  data: {{target: /data}}
  conf: {{target: /conf, bind: ./conf, read_only: true}}
  scratch: {{target: /tmp, tmpfs: {{size: 64m, mode: "1777"}}}}
network: {{name: backend, aliases: [redis]}}
restart: on-failure:3
healthcheck: {{test: "true", interval: 1500ms, timeout: 3s, retries: 2, start_period: 10s}}
stop_grace_period: 45s
resources: {{memory: 256m, cpus: 0.5}}
user: "999:999"
labels: {{team: data}}
""")
    env = {**os.environ, "STATEFUL_STATE_DIR": str(tmp_path / "state")}
    command = [STATEFUL, "export", "--to", "compose", "--out", str(tmp_path / "out"), str(tmp_path / "spec.yaml")]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "a'b$c" not in done.stdout + done.stderr
    checked = _config(tmp_path / "out" / "compose.yaml")
    assert checked.returncode == 0, checked.stderr
    config = [str(_compose()), "-f", str(tmp_path / "out" / "compose.yaml"), "config"]
    resolved = subprocess.run(config, capture_output=True, text=True, check=True).stdout
    assert "API_TOKEN: a'b$$c" in resolved  # read back literally from the env file ($$ is compose's own escape)
    assert "echo $$HOME" in resolved
