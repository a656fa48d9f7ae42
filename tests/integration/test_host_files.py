"""The helper-container HostFiles (what an ssh:// or tcp:// engine gets) against the real engine.

Here the engine's host is this machine, so the local HostFiles is the reference: the helper one
must report the same facts for volumes and bind dirs (missing, empty, holding data), create a bind
dir with its owner and mode, measure free space and size, and carry an archive there and back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.backends.docker import host_files as helper_module
from orchestrate.backends.docker.engine import DockerEngine
from orchestrate.backends.docker.host_files import HelperHostFiles
from orchestrate.backends.local_files import LocalHostFiles
from orchestrate.model.desired import BindDir, Mount, VolumeSpec
from tests.integration.conftest import HELPER, World


@pytest.fixture
def both(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DockerEngine, LocalHostFiles, HelperHostFiles]]:
    monkeypatch.setattr(helper_module, "HELPER_IMAGE", HELPER)
    monkeypatch.setattr("orchestrate.backends.local_files.HELPER_IMAGE", HELPER)
    engine = DockerEngine()
    yield engine, LocalHostFiles(engine), HelperHostFiles(engine)


def _places(world: World, engine: DockerEngine) -> dict[str, Mount]:
    """A volume holding data, an empty volume, a missing one, and bind dirs: missing, empty, full."""
    full = world.dir / "full"
    (full / "sub").mkdir(parents=True)
    (full / "a.txt").write_text("x" * 1000)
    (full / "sub" / "b.bin").write_bytes(os.urandom(5000))
    (full / "lost+found").mkdir()  # not counted, as on a fresh filesystem
    os.chown(full / "a.txt", 999, 998)
    (world.dir / "empty").mkdir()
    for key in ("vol", "blank"):
        engine.create_volume(VolumeSpec(world.name(key), world.name("app"), key))
    engine.run_helper(HELPER, ["sh", "-c", "echo hi > /v/one && mkdir /v/two"], [Mount("/v", "volume", world.name("vol"))], name=world.name("fill"))
    return {
        "vol": Mount("/a", "volume", world.name("vol"), key="vol"),
        "blank": Mount("/b", "volume", world.name("blank"), key="blank"),
        "gone": Mount("/c", "volume", world.name("gone"), key="gone"),
        "full": Mount("/d", "bind", str(full), key="full"),
        "empty": Mount("/e", "bind", str(world.dir / "empty"), key="empty"),
        "missing": Mount("/f", "bind", str(world.dir / "missing"), key="missing"),
    }


def test_the_helper_sees_what_the_local_files_see(world: World, both: tuple[DockerEngine, LocalHostFiles, HelperHostFiles]) -> None:
    engine, local, helper = both
    places = _places(world, engine)
    volumes = engine.snapshot(app_names=[], image_refs=[]).volumes
    paths = [m.source for m in places.values() if m.kind == "bind"] + [str(world.dir / "full" / "a.txt")]
    assert helper.observe_dirs(paths) == local.observe_dirs(paths)
    found = helper.data_facts(places.values(), volumes)
    assert found == local.data_facts(places.values(), volumes)
    assert [(f.exists, f.entries) for f in found.values()] == [(True, 2), (True, 0), (False, None), (True, 2), (True, 0), (False, None)]
    for key in ("vol", "full"):
        kind, source = places[key].kind, places[key].source
        assert helper.tree_size(kind, source, volumes) == local.tree_size(kind, source, volumes) > 0
    free_here, free_there = local.free_bytes(str(world.dir / "not" / "yet")), helper.free_bytes(str(world.dir / "not" / "yet"))
    assert abs(free_here - free_there) < 256 << 20  # other tests write meanwhile


def test_the_helper_creates_a_bind_dir_with_owner_and_mode(world: World, both: tuple[DockerEngine, LocalHostFiles, HelperHostFiles]) -> None:
    _, _, helper = both
    path = world.dir / "made" / "deep"
    helper.create_dir(BindDir(str(path), world.name("app"), "data", True, 0o750, "999:998"))
    st = path.stat()
    assert (path.is_dir(), st.st_mode & 0o7777, st.st_uid, st.st_gid) == (True, 0o750, 999, 998)


def test_an_archive_goes_to_the_controller_and_back(world: World, both: tuple[DockerEngine, LocalHostFiles, HelperHostFiles]) -> None:
    engine, local, helper = both
    places = _places(world, engine)
    archive = world.dir / "backup" / "full.tar"
    archive.parent.mkdir()
    helper.archive_to("bind", places["full"].source, archive, name=world.name("backup"))
    reference = world.dir / "backup" / "reference.tar"
    local.archive_to("bind", places["full"].source, reference, name=world.name("reference"))
    assert archive.stat().st_size == reference.stat().st_size > 5000  # the same GNU tar, carried through the API
    helper.restore_from(archive, "volume", world.name("blank"), clear=False, name=world.name("restore"))
    helper.restore_from(archive, "bind", places["empty"].source, clear=True, name=world.name("restore2"))
    volumes = engine.snapshot(app_names=[], image_refs=[]).volumes
    restored = Path(volumes[world.name("blank")].mountpoint)
    assert sorted(p.name for p in restored.iterdir()) == ["a.txt", "lost+found", "sub"]
    assert (restored / "a.txt").stat().st_uid == 999
    assert (world.dir / "empty" / "sub" / "b.bin").read_bytes() == (world.dir / "full" / "sub" / "b.bin").read_bytes()
    assert helper.tree_size("volume", world.name("blank"), volumes) == local.tree_size("bind", places["full"].source, volumes)
