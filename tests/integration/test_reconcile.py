"""`stateful reconcile`: cron's --once, --check, --watch, and the policies for unattended runs."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.integration.conftest import MUTATING, STATEFUL, EngineProxy, EventRecorder, World, busybox_spec, mariadb_spec


def _healthy(world: World, app: str) -> bool:
    try:
        return world.container(app).attrs["State"].get("Health", {}).get("Status") == "healthy"
    except Exception:
        return False


def test_once_heals_rm_stop_and_restart_policy_and_is_quiet_in_sync(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("reconcile", "--once", spec, check=0)
    world.sql(app, "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1), (2), (3)")

    quiet = world.run("reconcile", "--once", spec, check=0)
    assert (quiet.out, quiet.err) == ("", "")

    world.container(app).remove(force=True)
    assert f"+ {app} create: no container" in world.run("reconcile", "--once", spec, check=0).out
    assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "3"

    world.container(app).stop()
    world.run("reconcile", "--once", spec, check=0)
    assert world.running(app)

    world.container(app).update(restart_policy={"Name": "no"})
    world.run("reconcile", "--once", spec, check=0)
    assert world.container(app).attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "3"


def test_check_reports_drift_and_touches_nothing(world: World) -> None:
    app = world.name("box")
    spec = str(world.write("box.yaml", busybox_spec(app)))
    world.run("reconcile", "--once", "--settle", "1s", spec, check=0)
    world.run("reconcile", "--check", spec, check=0)
    world.container(app).stop()
    drift = world.run("reconcile", "--check", spec, check=1)
    assert f"> {app} start: container is exited" in drift.out
    assert not world.running(app)


def test_in_sync_reconcile_makes_no_mutating_call(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("reconcile", "--once", spec, check=0)
    time.sleep(1.0)
    recorder = EventRecorder(world.client, {"type": "container", "label": f"io.stateful.app={app}"})
    result = world.run("reconcile", "--once", "--output", "json", spec, check=0).json()
    events = [e["Action"] for e in recorder.stop_proven(world.prefix) if e.get("Action", "").split(":")[0] in MUTATING]
    assert result["result"]["engine_mutations"] == 0 and result["in_sync"] is True
    assert events == []


def test_two_runs_at_once_one_works_the_other_exits_75_untouched(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("reconcile", "--once", spec, check=0)
    world.container(app).remove(force=True)
    first = subprocess.Popen([STATEFUL, "reconcile", "--once", spec], env=world.env_for_run(), stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (world.dir / "state" / "lock.holder").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = world.run("reconcile", "--once", spec, check=75)
    assert "busy: another stateful run holds the lock" in second.out
    assert first.wait(timeout=120) == 0
    assert len(world.names()) == 1 and world.running(app)


def test_engine_unreachable_exits_3_then_the_next_run_works(world: World, engine_proxy: EngineProxy) -> None:
    app = world.name("box")
    spec = str(world.write("box.yaml", busybox_spec(app)))
    world.env["DOCKER_HOST"] = engine_proxy.url
    engine_proxy.stop()
    down = world.run("reconcile", "--once", spec, check=3)
    assert engine_proxy.url in down.err and "Traceback" not in down.err
    engine_proxy.start()
    world.run("reconcile", "--once", "--settle", "1s", spec, check=0)
    assert world.running(app)


def test_orphans_are_reported_and_pruned_only_on_request_volumes_kept(world: World) -> None:
    keep, gone = world.name("keep"), world.name("gone")
    world.write("specs/keep.yaml", busybox_spec(keep))
    world.write("specs/gone.yaml", busybox_spec(gone, extra="volumes:\n  data: {target: /data}\n"))
    specs = str(world.dir / "specs")
    world.run("reconcile", "--once", "--settle", "1s", specs, check=0)
    (world.dir / "specs" / "gone.yaml").unlink()
    reported = world.run("reconcile", "--once", specs, check=0)
    assert f"? {gone} orphan" in reported.out
    assert world.running(gone)
    world.run("reconcile", "--once", "--prune", specs, check=0)
    assert world.names() == [keep]
    assert world.client.volumes.get(f"{gone}-data")  # data is never pruned


def test_max_recreates_caps_the_blast_radius(world: World) -> None:
    a, b = world.name("a"), world.name("b")
    world.write("specs/a.yaml", busybox_spec(a))
    world.write("specs/b.yaml", busybox_spec(b))
    specs = str(world.dir / "specs")
    world.run("reconcile", "--once", "--settle", "1s", specs, check=0)
    ids = {n: world.container(n).id for n in (a, b)}
    for name in ("a", "b"):
        world.write(f"specs/{name}.yaml", busybox_spec(world.name(name), extra="env: {CHANGED: 'yes'}\n"))
    first = world.run("reconcile", "--once", "--settle", "1s", "--max-recreates", "1", specs, check=0)
    assert f"- {b}: recreate held back: --max-recreates 1 reached in this run" in first.out
    assert world.container(a).id != ids[a] and world.container(b).id == ids[b]
    world.run("reconcile", "--once", "--settle", "1s", "--max-recreates", "1", specs, check=0)
    assert world.container(b).id != ids[b]


def test_metrics_file_and_log_file(world: World) -> None:
    app = world.name("box")
    spec = str(world.write("box.yaml", busybox_spec(app)))
    metrics, log = world.dir / "stateful.prom", world.dir / "stateful.log"
    world.run("reconcile", "--once", "--settle", "1s", "--metrics-file", str(metrics), "--log-file", str(log), spec, check=0)
    text = metrics.read_text()
    assert 'stateful_apps{state="in_sync"} 1' in text
    assert f'stateful_app_in_sync{{app="{app}"}} 1' in text
    assert "stateful_last_run_exit_code 0" in text
    assert f"+ {app} create: no container" in log.read_text()


def test_watch_heals_a_removed_container_within_seconds_and_stops_on_sigterm(world: World, record_property: pytest.FixtureRequest) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("reconcile", "--once", spec, check=0)
    world.sql(app, "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)")
    watch = subprocess.Popen(
        [STATEFUL, "reconcile", "--watch", "--interval", "300s", spec], env=world.env_for_run(), stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(2)  # let it subscribe to the engine's events
        world.container(app).remove(force=True)
        removed = time.monotonic()
        while not _healthy(world, app):
            assert time.monotonic() - removed < 60, "not healed within 60 s"
            time.sleep(0.1)
        healed = time.monotonic() - removed
        record_property("heal_seconds", round(healed, 2))
        print(f"\nwatch mode healed a removed MariaDB in {healed:.2f} s")
        assert healed < 30  # generous; measured figure is printed
        assert world.sql(app, "SELECT COUNT(*) FROM shop.t") == "1"
    finally:
        watch.send_signal(signal.SIGTERM)
        out, _ = watch.communicate(timeout=60)
    assert watch.returncode == 0
    assert "SIGTERM: stopped after the current action; the lock is released" in out
    world.run("reconcile", "--once", spec, check=0)  # the lock is free


def test_watch_survives_the_engine_going_away(world: World, engine_proxy: EngineProxy) -> None:
    app = world.name("box")
    spec = str(world.write("box.yaml", busybox_spec(app)))
    world.run("reconcile", "--once", "--settle", "1s", spec, check=0)
    world.env["DOCKER_HOST"] = engine_proxy.url
    watch = subprocess.Popen(
        [STATEFUL, "reconcile", "--watch", "--interval", "2s", "--settle", "1s", spec],
        env=world.env_for_run(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)
        engine_proxy.stop()  # the engine goes away: rounds fail, the event stream breaks
        time.sleep(5)
        assert watch.poll() is None, "the watch loop died with the engine"
        engine_proxy.start()
        time.sleep(1)
        world.container(app).remove(force=True)
        deadline = time.monotonic() + 60
        while not world.running(app):
            assert time.monotonic() < deadline, "not healed after the engine came back"
            time.sleep(0.2)
    finally:
        watch.send_signal(signal.SIGTERM)
        out, _ = watch.communicate(timeout=60)
    assert "round failed (exit 3)" in out
    assert watch.returncode == 0


def test_cron_line_has_absolute_paths(world: World) -> None:
    spec = world.write("specs/box.yaml", busybox_spec(world.name("box")))
    line = next(x for x in world.run("cron", str(spec.parent), check=0).out.splitlines() if not x.startswith("#"))
    assert line.startswith("* * * * * /") and f" reconcile --once --log-file /var/log/stateful.log {spec.parent}" in line
    assert f"--state-dir {world.dir / 'state'}" in line
    units = world.run("cron", "--systemd", "--write", str(world.dir / "units"), str(spec.parent), check=0).out
    assert "wrote" in units
    assert "SuccessExitStatus=75" in (world.dir / "units" / "stateful-reconcile.service").read_text()
