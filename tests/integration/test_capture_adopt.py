"""capture and adopt against a real engine: containers started by hand become specs, then managed apps.

Every container here is first started the way a person would (`docker run ...`, through the SDK),
then captured and adopted with the real `stateful` command. The data is checked by reading it back
from the containers (files) or by asking the server (MariaDB), never by trusting the spec.
"""

from __future__ import annotations

import contextlib
import re
import socket
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import docker.types
import pytest
from dotenv import dotenv_values
from ruamel.yaml import YAML

from tests.integration.conftest import BUSYBOX, MARIADB, REDIS, ROOT_PW, World, exec_output

LOOP = "trap 'exit 0' TERM; while :; do sleep 1; done"
SETTLE = ("--settle", "1s")
ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Hand:
    """Containers started by hand (as `docker run` would), and the anonymous volumes they made."""

    world: World
    volumes: set[str] = field(default_factory=set)

    def run(self, suffix: str, image: str = BUSYBOX, command: list[str] | str | None = None, **kwargs: Any) -> Any:
        container = self.world.client.containers.run(image, command, name=self.world.name(suffix), detach=True, **kwargs)
        self.track(container.name)
        return container

    def track(self, name: str) -> None:
        """Remember the volumes a container mounts (anonymous ones carry no prefix to be found by)."""
        container = self.world.container(name)
        self.volumes.update(m["Name"] for m in container.attrs["Mounts"] if m.get("Type") == "volume" and ANONYMOUS.match(m["Name"]))

    def cleanup(self) -> None:
        for listed in self.world.ours():
            try:
                self.track(listed.id)
            except docker.errors.NotFound:
                continue
        for container in self.world.ours():
            container.remove(force=True)
        for name in self.volumes:
            with contextlib.suppress(docker.errors.NotFound):
                self.world.client.volumes.get(name).remove(force=True)


@pytest.fixture
def hand(world: World) -> Iterator[Hand]:
    made = Hand(world)
    try:
        yield made
    finally:
        made.cleanup()


def read(world: World, container: str, path: str) -> str:
    code, out = exec_output(world.container(container), ["cat", path])
    assert code == 0, f"cat {path} in {container}: {out.decode()}"
    return out.decode().strip()


def write(world: World, container: str, path: str, text: str) -> None:
    code, out = world.container(container).exec_run(["sh", "-c", f"echo {text} > {path}"])
    assert code == 0, out.decode()


def mounts(world: World, container: str) -> dict[str, dict[str, Any]]:
    return {m["Destination"]: m for m in world.container(container).attrs["Mounts"]}


def managed(world: World, container: str) -> bool:
    return world.container(container).attrs["Config"]["Labels"].get("io.stateful.managed") == "true"


def fidelity(err: str) -> list[str]:
    return [line.split("fidelity: ", 1)[1] for line in err.splitlines() if "fidelity: " in line]


def docs(path: Path) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in YAML(typ="safe", pure=True).load_all(path.read_text()) if d}


def essentials(world: World, name: str) -> dict[str, Any]:
    """What a person chose when starting the container, as the engine reports it: what adopt keeps."""
    container = world.container(name)
    attrs, config, host = container.attrs, container.attrs["Config"], container.attrs["HostConfig"]
    code, out = exec_output(container, ["cat", "/proc/mounts"])
    assert code == 0, out.decode()
    tmpfs = sorted(
        (parts[1], parts[3])
        for parts in (line.split() for line in out.decode().splitlines())
        if parts[2] == "tmpfs" and not parts[1].startswith(("/dev", "/proc", "/sys"))
    )
    return {
        "env": sorted(config["Env"] or ()),
        "cmd": config["Cmd"],
        "entrypoint": config["Entrypoint"],
        "user": config["User"],
        "labels": {k: v for k, v in (config["Labels"] or {}).items() if not k.startswith("io.stateful.")},
        "healthcheck": config.get("Healthcheck"),
        "stop_signal": config.get("StopSignal"),
        "working_dir": config["WorkingDir"],
        "ports": host["PortBindings"] or {},
        "restart": {**host["RestartPolicy"], "Name": host["RestartPolicy"]["Name"] or "no"},  # "" is the engine's "no"
        "memory": host["Memory"],
        "nano_cpus": host["NanoCpus"],
        "networks": {
            net: sorted(set(endpoint.get("Aliases") or ()) - {container.id[:12], name})
            for net, endpoint in attrs["NetworkSettings"]["Networks"].items()
        },
        # tmpfs mounts are listed by one way of making them and not the other: compared as mounted
        "mounts": sorted((m["Type"], m.get("Name") or m["Source"], m["Destination"], m["RW"]) for m in attrs["Mounts"] if m["Type"] != "tmpfs"),
        "tmpfs": tmpfs,
    }


def explain(world: World, name: str, spec: Path, output: str) -> str:
    """What a failed comparison needs to be read: the spec, what adopt said, and what the engine made."""
    attrs = world.container(name).attrs
    made = {"Mounts": attrs["Mounts"], "HostConfig.Mounts": attrs["HostConfig"].get("Mounts"), "HostConfig.Tmpfs": attrs["HostConfig"].get("Tmpfs")}
    return f"spec:\n{spec.read_text()}\nadopt said:\n{output}\nengine made: {made}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- 1. an anonymous volume ----------------------------------------------------------------


def test_adopt_keeps_the_anonymous_volume_by_name(world: World, hand: Hand) -> None:
    app = world.name("b2")
    hand.run("b2", command=["sh", "-c", f"echo before > /data/f; {LOOP}"], volumes=["/data"])
    volume = mounts(world, app)["/data"]["Name"]
    assert ANONYMOUS.match(volume)
    write(world, app, "/data/live", "written-while-running")  # not re-made by the command at restart
    old_id = world.container(app).id
    specs = world.dir / "specs"

    adopted = world.run("adopt", app, "--into", str(specs), *SETTLE, check=0)

    assert world.container(app).id != old_id
    assert managed(world, app)
    mount = mounts(world, app)["/data"]
    assert (mount["Type"], mount["Name"], mount["RW"]) == ("volume", volume, True)
    assert read(world, app, "/data/f") == "before"
    assert read(world, app, "/data/live") == "written-while-running"
    assert docs(specs / f"{app}.yaml")[app]["volumes"]["data"] == {"target": "/data", "name": volume}
    assert any("anonymous volume" in line for line in fidelity(adopted.err))
    world.run("diff", str(specs), check=0)
    assert world.names() == [app]  # no temporary container left behind


# --- 2. a bind mount -------------------------------------------------------------------------


def test_bind_mount_is_captured_by_path_and_kept_by_adopt(world: World, hand: Hand) -> None:
    app = world.name("bind")
    host_dir = world.dir / "x"
    host_dir.mkdir()
    (host_dir / "from-host").write_text("host file\n")
    hand.run("bind", command=["sh", "-c", LOOP], volumes=[f"{host_dir}:/data/tmp"])
    write(world, app, "/data/tmp/from-container", "container file")
    spec = world.dir / "spec.yaml"

    captured = world.run("capture", app, "-o", str(spec), check=0)
    assert f"    bind: {host_dir}\n" in spec.read_text()
    assert docs(spec)[app]["volumes"] == {"tmp": {"target": "/data/tmp", "bind": str(host_dir)}}
    assert fidelity(captured.err) == []

    world.run("adopt", app, "-o", str(spec), *SETTLE, check=0)
    assert managed(world, app)
    assert mounts(world, app)["/data/tmp"]["Source"] == str(host_dir)
    assert read(world, app, "/data/tmp/from-host") == "host file"
    assert read(world, app, "/data/tmp/from-container") == "container file"
    world.run("diff", str(spec), check=0)


# --- 3. two containers on one host dir ------------------------------------------------------


def test_two_containers_sharing_a_host_dir_both_list_it_shared_and_both_adopt(world: World, hand: Hand) -> None:
    shared = world.dir / "shared"
    shared.mkdir()
    first, second = world.name("w1"), world.name("w2")
    for suffix in ("w1", "w2"):
        hand.run(suffix, command=["sh", "-c", LOOP], volumes=[f"{shared}:/shared"])
    write(world, first, "/shared/one", "from-w1")
    write(world, second, "/shared/two", "from-w2")
    specs = world.dir / "specs"

    captured = world.run("capture", first, second, "--into", str(specs), check=0)
    for app in (first, second):
        doc = docs(specs / f"{app}.yaml")[app]
        assert doc["volumes"] == {"shared": {"target": "/shared", "bind": str(shared)}}
        assert doc["shared_volumes"] == ["shared"]
    notes = fidelity(captured.err)
    for peer in (second, first):
        assert f"shared_volumes: shared: bind {shared} is also written by {peer}; listed as shared (as it was)" in notes, captured.err

    # The pair is a valid spec set: diff sees two unmanaged containers, not a spec problem.
    pending = world.run("diff", str(specs), check=1)
    assert f"container '{first}' exists but was not created by stateful" in pending.out

    world.run("adopt", first, "--into", str(specs), *SETTLE, check=0)
    assert managed(world, first) and world.running(second)
    world.run("adopt", second, "--into", str(specs), *SETTLE, check=0)
    assert managed(world, second)
    for app in (first, second):
        assert read(world, app, "/shared/one") == "from-w1"
        assert read(world, app, "/shared/two") == "from-w2"
        assert docs(specs / f"{app}.yaml")[app]["shared_volumes"] == ["shared"]
    write(world, first, "/shared/three", "after-adopt")
    assert read(world, second, "/shared/three") == "after-adopt"
    world.run("diff", str(specs), check=0)


# --- 4. --volumes-from -----------------------------------------------------------------------


def test_volumes_from_is_captured_as_a_reference_and_both_adopt(world: World, hand: Hand) -> None:
    source, user = world.name("src"), world.name("user")
    hand.run("src", command=["sh", "-c", LOOP], volumes=["/vol"])
    write(world, source, "/vol/seed", "from-source")
    hand.run("user", command=["sh", "-c", LOOP], volumes_from=[source])
    volume = mounts(world, source)["/vol"]["Name"]
    assert mounts(world, user)["/vol"]["Name"] == volume
    specs = world.dir / "specs"

    captured = world.run("capture", source, user, "--into", str(specs), check=0)
    user_doc = docs(specs / f"{user}.yaml")[user]
    assert user_doc["volumes_from"] == [source]
    assert "volumes" not in user_doc  # no copy of the source's mounts
    source_doc = docs(specs / f"{source}.yaml")[source]
    assert source_doc["volumes"]["vol"] == {"target": "/vol", "name": volume}
    # The user writes to the source's volume: the source lists it shared, or adopting the source
    # would be refused while the user runs (a foreign writer).
    assert source_doc["shared_volumes"] == ["vol"]
    assert f"shared_volumes: vol: volume {volume} is also written by {user}; listed as shared (as it was)" in fidelity(captured.err)

    world.run("adopt", source, "--into", str(specs), *SETTLE, check=0)
    assert managed(world, source) and world.running(user)
    assert read(world, user, "/vol/seed") == "from-source"
    world.run("adopt", user, "--into", str(specs), *SETTLE, check=0)
    assert managed(world, user)
    assert docs(specs / f"{user}.yaml")[user]["volumes_from"] == [source]
    assert "volumes" not in docs(specs / f"{user}.yaml")[user]
    assert mounts(world, user)["/vol"]["Name"] == volume
    assert read(world, user, "/vol/seed") == "from-source"
    write(world, user, "/vol/back", "from-user")
    assert read(world, source, "/vol/back") == "from-user"
    world.run("diff", str(specs), check=0)


# --- 5. MariaDB with a password and an anonymous datadir ------------------------------------


def test_mariadb_password_goes_only_to_the_secrets_file_and_rows_survive_adopt(world: World, hand: Hand) -> None:
    app = world.name("db")
    hand.run("db", MARIADB, environment={"MARIADB_ROOT_PASSWORD": ROOT_PW, "MARIADB_DATABASE": "shop"})
    world.sql(app, "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20)); INSERT INTO shop.orders VALUES (1,'apple'),(2,'pear')")
    rows = world.sql(app, "SELECT id, item FROM shop.orders ORDER BY id")
    datadir = mounts(world, app)["/var/lib/mysql"]["Name"]
    assert ANONYMOUS.match(datadir)
    spec = world.dir / "spec.yaml"
    secrets = world.dir / f"{app}.secrets.env"

    captured = world.run("capture", app, "-o", str(spec), check=0)
    assert ROOT_PW not in spec.read_text()
    assert ROOT_PW not in captured.out + captured.err
    assert "MARIADB_ROOT_PASSWORD" in captured.err  # named, never shown
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert dotenv_values(secrets, interpolate=False) == {"MARIADB_ROOT_PASSWORD": ROOT_PW}
    doc = docs(spec)[app]
    assert doc["env"] == {"MARIADB_DATABASE": "shop"}
    assert doc["env_file"] == [f"./{app}.secrets.env"]
    assert doc["volumes"] == {"mysql": {"target": "/var/lib/mysql", "name": datadir}}

    adopted = world.run("adopt", app, "-o", str(spec), check=0)
    assert ROOT_PW not in adopted.out + adopted.err
    assert ROOT_PW not in spec.read_text()
    assert managed(world, app)
    assert mounts(world, app)["/var/lib/mysql"]["Name"] == datadir
    assert world.sql(app, "SELECT id, item FROM shop.orders ORDER BY id", password=ROOT_PW) == rows
    diff = world.run("diff", str(spec), check=0)
    assert ROOT_PW not in diff.out + diff.err


# --- 6. --into a commented spec file --------------------------------------------------------

HEADER = "# Hand-kept spec of the web tier.\n# Edit with care: stateful capture --into keeps these comments.\n"


def test_into_an_existing_commented_file_keeps_comments_and_unchanged_lines(world: World, hand: Hand) -> None:
    app = world.name("web")
    other = world.name("other")
    run_web: Callable[[str], Any] = lambda colour: hand.run(  # noqa: E731
        "web",
        command=["sh", "-c", LOOP],
        environment={"COLOUR": colour, "SIZE": "large"},
        labels={"team": "data"},
        restart_policy={"Name": "unless-stopped"},
    )
    run_web("blue")
    spec = world.dir / "web.yaml"
    world.run("capture", app, "-o", str(spec), check=0)

    # A person takes over the file: a header, a comment on a field, another app after it.
    lines = [line for line in spec.read_text().splitlines(keepends=True) if not line.startswith("# ")]
    text = HEADER + "".join(lines)
    text = text.replace("restart: unless-stopped\n", "restart: unless-stopped  # never 'always': see the runbook\n")
    text = text.replace("  SIZE: large\n", "  # the big box\n  SIZE: large\n")
    text += f"---\n# not captured: must stay as written\napiVersion: stateful/v1\nkind: App\nname: {other}\nimage: {BUSYBOX}\n"
    spec.write_text(text)
    before = spec.read_text()
    assert "# the big box" in before and "# never 'always'" in before and "  COLOUR: blue\n" in before

    # Same container, captured again: nothing changes at all.
    world.run("capture", app, "--into", str(spec), check=0)
    assert spec.read_text() == before

    # The container is replaced by hand with one env value changed: only that line changes.
    world.container(app).remove(force=True)
    run_web("green")
    world.run("capture", app, "--into", str(spec), check=0)
    after = spec.read_text()
    assert after == before.replace("  COLOUR: blue\n", "  COLOUR: green\n"), after
    assert docs(spec)[app]["env"] == {"COLOUR": "green", "SIZE": "large"}

    world.run("adopt", app, "--into", str(spec), *SETTLE, check=0)
    assert spec.read_text() == after
    assert managed(world, app)
    assert world.container(app).attrs["Config"]["Labels"]["team"] == "data"
    assert not world.running(other)  # adopt acts on its app only
    diff = world.run("diff", str(spec), check=1)
    assert [line.split()[:2] for line in diff.out.splitlines() if line.strip()] == [["+", other]], diff.out


# --- 7. round trip: capture, adopt, diff is clean --------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[World, Hand], None]
    expected_report: tuple[str, ...] = ()  # substrings: every fidelity line must match one
    settle: bool = True
    lost: tuple[str, ...] = ()  # settings (keys of `essentials`) the report says adopt cannot keep


def _env_and_command(world: World, hand: Hand) -> None:
    hand.run(
        "app",
        command=["sh", "-c", f'echo "$GREETING for $$" > /tmp/greeting; {LOOP}'],
        environment={"GREETING": "hello $USER, 100% sure", "EMPTY": "", "PATH": "/bin:/usr/bin:/opt/tools"},
    )


def _ports(world: World, hand: Hand) -> None:
    hand.run("app", REDIS, ports={"6379/tcp": ("127.0.0.1", free_port())})


def _network_alias(world: World, hand: Hand) -> None:
    net = world.client.networks.create(world.name("net"))
    endpoint = world.client.api.create_endpoint_config(aliases=["db", "primary"])
    hand.run("app", command=["sh", "-c", LOOP], network=net.name, networking_config={net.name: endpoint})


def _two_networks(world: World, hand: Hand) -> None:
    front, back = world.client.networks.create(world.name("front")), world.client.networks.create(world.name("back"))
    endpoint = world.client.api.create_endpoint_config(aliases=["web"])
    hand.run("app", command=["sh", "-c", LOOP], network=front.name, networking_config={front.name: endpoint})
    back.connect(world.name("app"), aliases=["db", "primary"])


def _limits(world: World, hand: Hand) -> None:
    hand.run(
        "app",
        command=["sh", "-c", LOOP],
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
        mem_limit="64m",
        nano_cpus=500_000_000,
    )


def _healthcheck(world: World, hand: Hand) -> None:
    check = {"test": ["CMD-SHELL", "test -f /tmp/ok"], "interval": 500_000_000, "timeout": 2_000_000_000, "retries": 5, "start_period": 1_000_000_000}
    hand.run("app", command=["sh", "-c", f"touch /tmp/ok; {LOOP}"], healthcheck=check)


def _tmpfs_and_labels(world: World, hand: Hand) -> None:
    hand.run(
        "app",
        command=["sh", "-c", LOOP],
        tmpfs={"/scratch": "size=16m"},
        labels={"team": "data", "tier": "cache"},
        user="1000:1000",
        stop_signal="SIGINT",
        working_dir="/tmp",
    )


CASES = [
    Case("env+command", _env_and_command),
    Case("ports", _ports, expected_report=("anonymous volume",), settle=False),
    Case("network+alias", _network_alias),
    Case("two networks", _two_networks),
    Case("restart+limits", _limits),
    Case("healthcheck", _healthcheck, settle=False),
    Case("tmpfs+labels+user", _tmpfs_and_labels, expected_report=("Config.StopSignal", "Config.WorkingDir"), lost=("stop_signal", "working_dir")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_round_trip_capture_adopt_then_diff_is_clean(world: World, hand: Hand, case: Case) -> None:
    app = world.name("app")
    case.make(world, hand)
    chosen = essentials(world, app)
    spec = world.dir / "spec.yaml"

    captured = world.run("capture", app, "-o", str(spec), check=0)
    unexpected = [line for line in fidelity(captured.err) if not any(e in line for e in case.expected_report)]
    assert unexpected == [], captured.err

    # What was captured is what runs: the spec is in sync with the hand-made container's settings
    # (only its being unmanaged differs), so adopt is the only change.
    adopted = world.run("adopt", app, "-o", str(spec), *(SETTLE if case.settle else ()), check=0)
    assert managed(world, app)
    kept = essentials(world, app)
    for key in case.lost:
        assert kept.pop(key) != chosen.pop(key)
    assert kept == chosen, explain(world, app, spec, adopted.out + adopted.err)
    world.run("diff", str(spec), check=0)
    world.run("apply", str(spec), check=0)
    assert world.names() == [app]
