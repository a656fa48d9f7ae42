"""HostFiles for an engine on another machine (ssh://, tcp://): short helper containers look for us.

The controller's own paths say nothing about the engine's host, so every fact is read inside a
helper container on THAT engine: the host's root is bind-mounted read-only at /host (bind sources
are looked at as /host/<path>), volumes are mounted by name. Archives travel through the engine's
API: the helper writes a GNU tar inside its own filesystem and the controller copies it out
(get_archive), or the controller copies one in (put_archive) and the helper unpacks it; so a
backup needs room for one archive in the engine's container storage while it runs.

Looking runs no mutation (a quiet run stays quiet); only create_dir and restore_from change data.
A symlink on the host that points to an absolute path is followed inside the helper, not on the
host: bind sources are expected to be real directories, as the engine itself resolves them.
"""

from __future__ import annotations

import io
import shlex
import shutil
import tarfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrate import labels as L
from orchestrate.backends.docker.engine import DockerEngine, _docker_mount, translated
from orchestrate.backends.host_files import HELPER_IMAGE, SIZE_LIMIT, TAR_OPTIONS
from orchestrate.backends.local_files import unpack_command, volume_identity
from orchestrate.errors import ApplyFailed, EngineError
from orchestrate.model.desired import BindDir, Mount
from orchestrate.model.facts import DataFacts, data_key
from orchestrate.model.observed import HostDir, ObservedVolume

HOST_ROOT = "/host"
INNER_ARCHIVE = "/tmp/archive.tar"  # inside the helper's own filesystem, never on a data place

# Per argument, one line: "@ index exists is_dir device entries" (entries "-" when not a directory).
FACTS = r"""i=0
for p in "$@"; do
  if [ -e "$p" ]; then
    d=0; n=-
    if [ -d "$p" ]; then d=1; n=$(find "$p" -mindepth 1 -maxdepth 1 ! -name lost+found -printf x 2>/dev/null | wc -c); fi
    printf '@ %s 1 %s %s %s\n' "$i" "$d" "$(stat -L -c %d "$p")" "$n"
  else
    printf '@ %s 0 0 0 -\n' "$i"
  fi
  i=$((i+1))
done"""

FREE = r"""p="$1"
while [ ! -e "$p" ]; do p=$(dirname "$p"); done
printf '@ %s\n' "$(stat -f -c '%a %S' "$p")" """

SIZE = rf"""find "$1" ! -type d -printf '%s\n' 2>/dev/null | head -n {SIZE_LIMIT} | awk '{{s+=$1}} END {{printf "@ %d\n", s}}'"""


# In the place (the first argument) for each pattern after the limit: "@ path hex" per regular file.
# The patterns expand here, in the helper's shell; one that matches nothing stays as written and
# is no regular file.
HEADS = r"""cd "$1" 2>/dev/null || exit 0
n=$2; shift 2
for pattern in "$@"; do
  for f in $pattern; do
    [ -f "$f" ] && printf '@ %s %s\n' "$f" "$(head -c "$n" "$f" | od -An -v -tx1 | tr -d ' \n')"
  done
done
exit 0"""


class HelperHostFiles:
    def __init__(self, engine: DockerEngine) -> None:
        self.engine = engine
        self._image_checked = False

    # --- looking -------------------------------------------------------------------------------

    def observe_dirs(self, paths: Iterable[str]) -> dict[str, HostDir]:
        paths = list(paths)
        if not paths:
            return {}
        rows = self._facts([_on_host(p) for p in paths], [_host_root()])
        return {path: HostDir(path, row[0] == "1", row[1] == "1") for path, row in zip(paths, rows, strict=True)}

    def data_facts(self, mounts: Iterable[Mount], volumes: Mapping[str, ObservedVolume]) -> dict[str, DataFacts]:
        places: dict[str, Mount] = {}
        for mount in mounts:
            if mount.holds_data and mount.kind in ("volume", "bind"):
                places.setdefault(data_key(mount.kind, mount.source), mount)
        # A volume that is not there is not mounted: mounting it by name would create it.
        present = [m for m in places.values() if m.kind == "bind" or m.source in volumes]
        helper_mounts = [_host_root()] + [Mount(f"/v{i}", "volume", m.source, read_only=True) for i, m in enumerate(present) if m.kind == "volume"]
        inner = [_on_host(m.source) if m.kind == "bind" else f"/v{i}" for i, m in enumerate(present)]
        rows = dict(zip((data_key(m.kind, m.source) for m in present), self._facts(inner, helper_mounts) if inner else [], strict=True))
        return {key: _data_fact(mount, rows.get(key), volumes) for key, mount in places.items()}

    def free_bytes(self, path: str) -> int:
        available, block = self._ask([FREE, _on_host(path)], [_host_root()], "free space")[0].split()
        return int(available) * int(block)

    def tree_size(self, kind: str, source: str, volumes: Mapping[str, ObservedVolume]) -> int:
        if kind == "volume":
            if source not in volumes:
                return 0
            return int(self._ask([SIZE, "/v"], [Mount("/v", "volume", source, read_only=True)], "size")[0])
        return int(self._ask([SIZE, _on_host(source)], [_host_root()], "size")[0])

    def read_heads(self, kind: str, source: str, paths: Iterable[str], volumes: Mapping[str, ObservedVolume], limit: int) -> dict[str, bytes]:
        if kind == "volume":
            if source not in volumes:
                return {}
            place, mounts = "/v", [Mount("/v", "volume", source, read_only=True)]
        else:
            place, mounts = _on_host(source), [_host_root()]
        rows = self._ask([HEADS, place, str(limit), *paths], mounts, "read version markers")
        return {name: bytes.fromhex(hexed) for name, _, hexed in (row.partition(" ") for row in rows)}

    def _facts(self, inner_paths: list[str], mounts: list[Mount]) -> list[list[str]]:
        rows = [line.split() for line in self._ask([FACTS, *inner_paths], mounts, "look at data places")]
        return [row[1:] for row in sorted(rows, key=lambda row: int(row[0]))]

    def _ask(self, script_and_args: list[str], mounts: list[Mount], what: str) -> list[str]:
        """Run a read-only script in a helper; its "@ " lines, without the marker."""
        script, *args = script_and_args
        code, output = self._run(["sh", "-c", script, "sh", *args], mounts, what=what)
        if code != 0:
            raise EngineError(f"{what} on {self.engine.endpoint}: helper exited {code}: {output.strip()[-400:]}")
        return [line[2:] for line in output.splitlines() if line.startswith("@ ")]

    # --- changing ------------------------------------------------------------------------------

    def create_dir(self, bind: BindDir) -> None:
        steps = ['mkdir -p "$1"']
        if bind.mode is not None:
            steps.append(f'chmod {bind.mode:o} "$1"')
        if bind.owner:
            steps.append(f'chown {shlex.quote(bind.owner)} "$1"')
        self.engine.mutations += 1
        root = Mount(HOST_ROOT, "bind", "/")
        code, output = self._run(["sh", "-c", " && ".join(steps), "sh", _on_host(bind.path)], [root], what=f"create {bind.path}")
        if code != 0:
            raise ApplyFailed(f"volume {bind.key}: cannot create {bind.path}: {output.strip()[-300:]}")

    def archive_to(self, kind: str, source: str, archive: Path, *, name: str) -> None:
        command = ["sh", "-c", f"tar -C /from {TAR_OPTIONS} -cf {INNER_ARCHIVE} ."]
        with self._helper(command, [Mount("/from", kind, source, read_only=True)], name=name) as helper:
            code, output = self._finish(helper, name)
            if code != 0:
                raise ApplyFailed(f"archive of {kind} {source} failed (exit {code}): {output.strip()[-400:]}")
            with translated(self.engine.endpoint, f"copy the archive out of {name}"):
                stream, _ = self.engine.api.get_archive(helper, INNER_ARCHIVE)
                _unwrap(stream, archive)

    def restore_from(self, archive: Path, kind: str, source: str, *, clear: bool, name: str) -> None:
        self.engine.mutations += 1
        with self._helper(unpack_command(INNER_ARCHIVE, clear=clear), [Mount("/to", kind, source)], name=name) as helper:
            with translated(self.engine.endpoint, f"copy {archive.name} into {name}"):
                self.engine.api.put_archive(helper, str(Path(INNER_ARCHIVE).parent), _wrapped(archive, Path(INNER_ARCHIVE).name))
            code, output = self._finish(helper, name)
        if code != 0:
            raise ApplyFailed(f"restore of {archive.name} onto {kind} {source} failed (exit {code}): {output.strip()[-400:]}")

    # --- helpers -------------------------------------------------------------------------------

    def _run(self, command: list[str], mounts: list[Mount], *, what: str) -> tuple[int, str]:
        name = f"stateful{L.RESERVED_INFIX}files-{uuid.uuid4().hex[:12]}"
        with self._helper(command, mounts, name=name) as helper:
            return self._finish(helper, what)

    @contextmanager
    def _helper(self, command: list[str], mounts: list[Mount], *, name: str) -> Iterator[str]:
        """A created (not started) helper container, removed whatever happens."""
        self._ensure_image()
        api = self.engine.api
        with translated(self.engine.endpoint, f"create helper {name}"):
            host_config = api.create_host_config(mounts=[_docker_mount(m) for m in mounts], network_mode="none")
            labels = {L.MANAGED: "true", L.APP: name.split(L.RESERVED_INFIX)[0]}
            helper = str(api.create_container(image=HELPER_IMAGE, command=command, name=name, host_config=host_config, labels=labels)["Id"])
        try:
            yield helper
        finally:
            with translated(self.engine.endpoint, f"remove helper {name}"):
                api.remove_container(helper, v=False, force=True)

    def _finish(self, helper: str, what: str) -> tuple[int, str]:
        with translated(self.engine.endpoint, what):
            self.engine.api.start(helper)
            status = self.engine.api.wait(helper, timeout=None)
            output = self.engine.api.logs(helper).decode("utf-8", "replace")
        return int(status.get("StatusCode", 1)), output

    def _ensure_image(self) -> None:
        if not self._image_checked and self.engine.inspect_image(HELPER_IMAGE) is None:
            self.engine.pull(HELPER_IMAGE)
        self._image_checked = True


def _host_root() -> Mount:
    return Mount(HOST_ROOT, "bind", "/", read_only=True)


def _on_host(path: str) -> str:
    return HOST_ROOT + "/" + path.lstrip("/")


def _data_fact(mount: Mount, row: list[str] | None, volumes: Mapping[str, ObservedVolume]) -> DataFacts:
    if row is None or row[0] != "1":
        return DataFacts(mount.kind, mount.source, exists=False)
    entries = None if row[3] == "-" else int(row[3])
    if mount.kind == "volume":
        identity = volume_identity(volumes[mount.source].labels.get(L.VOLUME_ID, ""))
        return DataFacts("volume", mount.source, exists=True, identity=identity, entries=entries)
    return DataFacts("bind", mount.source, exists=True, identity=f"device {row[2]}", entries=entries)


class _ChunkReader(io.RawIOBase):
    """A file view of the engine's chunked answer, for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.left:  # an empty chunk is not the end; the end of the chunks is
            chunk = next(self.chunks, None)
            if chunk is None:
                return 0
            self.left = chunk
        taken = self.left[: len(buffer)]
        buffer[: len(taken)] = taken
        self.left = self.left[len(taken) :]
        return len(taken)


def _unwrap(stream: Iterable[bytes], archive: Path) -> None:
    """The engine sends the helper's archive wrapped in a tar of one member: write that member."""
    with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(stream), 1 << 20), mode="r|") as outer:
        member = outer.next()
        inner = outer.extractfile(member) if member is not None else None
        if inner is None:
            raise EngineError(f"the engine sent no archive for {archive.name}")
        with archive.open("wb") as out:
            shutil.copyfileobj(inner, out, 1 << 20)


def _wrapped(archive: Path, name: str) -> Iterator[bytes]:
    """A tar of one member, `name`, holding the local archive, streamed without a second copy."""
    size = archive.stat().st_size
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o600
    yield info.tobuf(format=tarfile.GNU_FORMAT)
    with archive.open("rb") as source:
        yield from iter(lambda: source.read(1 << 20), b"")
    yield b"\0" * ((-size) % tarfile.BLOCKSIZE) + b"\0" * (2 * tarfile.BLOCKSIZE)
