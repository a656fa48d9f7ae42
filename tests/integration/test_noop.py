"""A second apply of unchanged specs makes no mutating call: counted by stateful, proven by the engine."""

from __future__ import annotations

import time

from tests.integration.conftest import MUTATING, EventRecorder, World, mariadb_spec, redis_spec


def test_second_apply_changes_nothing(world: World) -> None:
    db, cache = world.name("db"), world.name("cache")
    world.write("specs/db.yaml", mariadb_spec(db))
    world.write("specs/cache.yaml", redis_spec(cache))
    specs = str(world.dir / "specs")
    world.run("apply", specs, check=0)

    time.sleep(1.0)  # the first apply's last events are behind us
    recorder = EventRecorder(world.client, {})
    result = world.run("apply", "--output", "json", specs, check=0).json()
    events = recorder.stop_proven(world.prefix)

    assert result["result"]["engine_mutations"] == 0
    assert [a["action"] for a in result["plan"]["apps"]] == ["noop", "noop"]
    ours = [e for e in events if (e.get("Actor", {}).get("Attributes", {}).get("name", "") or "").startswith(world.prefix)]
    assert [e for e in ours if e.get("Action", "").split(":")[0] in MUTATING] == []
    text = world.run("apply", specs, check=0)
    assert "nothing to do: every app is in sync" in text.out
    world.run("diff", specs, check=0)
