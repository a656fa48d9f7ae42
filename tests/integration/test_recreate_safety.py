"""The recreate is health-gated and never runs two containers of an app on its volume."""

from __future__ import annotations

from tests.integration.conftest import EventRecorder, World, mariadb_spec

NEVER_HEALTHY = """healthcheck:
  test: ["CMD", "false"]
  interval: 1s
  timeout: 2s
  retries: 2
  start_period: 1s
"""


class RunningWatcher:
    """Replays the engine's start/die events of one app to find the most containers running at once."""

    def __init__(self, world: World, app: str) -> None:
        self.recorder = EventRecorder(world.client, {"type": "container", "label": f"io.stateful.app={app}"})
        self.seen: list[tuple[str, str]] = []

    def most_running_at_once(self) -> int:
        running: set[str] = set()
        most = 0
        for event in self.recorder.stop():
            action = event.get("Action", "")
            self.seen.append((action, event.get("id", "")[:12]))
            if action == "start":
                running.add(event["id"])
            elif action in ("die", "destroy"):
                running.discard(event["id"])
            most = max(most, len(running))
        return most


def test_new_container_never_healthy_rolls_back_to_the_old_one(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    world.sql(app, "CREATE TABLE shop.orders (id INT PRIMARY KEY); INSERT INTO shop.orders VALUES (1),(2),(3)")
    old_id = world.container(app).id
    watcher = RunningWatcher(world, app)

    world.write("db.yaml", mariadb_spec(app, extra_env={"BROKEN": "yes"}, healthcheck=NEVER_HEALTHY))
    result = world.run("apply", spec, check=4)

    assert "rolled back" in result.out
    assert "reported unhealthy" in result.out
    container = world.container(app)
    assert container.id == old_id
    assert container.status == "running"
    assert "BROKEN=yes" not in container.attrs["Config"]["Env"]
    assert world.sql(app, "SELECT COUNT(*) FROM shop.orders") == "3"
    assert world.names() == [app]  # no temporary or failed container left
    assert watcher.most_running_at_once() == 1
    # The spec still differs: diff says so, and a fixed spec applies cleanly.
    world.run("diff", spec, check=1)


def test_successful_recreate_overlaps_nothing(world: World) -> None:
    app = world.name("db")
    spec = str(world.write("db.yaml", mariadb_spec(app)))
    world.run("apply", spec, check=0)
    watcher = RunningWatcher(world, app)
    world.write("db.yaml", mariadb_spec(app, extra_env={"TZ": "UTC"}))
    result = world.run("apply", spec, check=0)
    steps = [line.split(": ", 1)[1].split(" (")[0] for line in result.out.splitlines() if line.startswith(f"  {app}: ")]
    assert steps == [
        "create new container",
        "stop old container",
        "rename old container",
        "rename new container",
        "start new container",
        "healthy",
        "remove old container",
    ]
    assert watcher.most_running_at_once() == 1


