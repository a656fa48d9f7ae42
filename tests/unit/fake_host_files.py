"""A fake of our HostFiles boundary: the filesystem of an app's host, held in memory.

It answers only from what a test put in it, never from this machine's paths, which is the point:
whatever the controller's own filesystem holds, planning and guarding must judge these facts.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrate.model.desired import BindDir, Mount
from orchestrate.model.facts import DataFacts, data_key
from orchestrate.model.observed import HostDir, ObservedVolume


@dataclass
class FakeHostFiles:
    dirs: dict[str, int] = field(default_factory=dict)  # bind path -> top-level entries
    volume_entries: dict[str, int] = field(default_factory=dict)  # volume name -> top-level entries
    device: int = 7  # the filesystem every bind dir is on
    free: int = 1 << 40
    created: list[tuple[str, int | None, str | None]] = field(default_factory=list)  # (path, mode, owner)
    asked: list[str] = field(default_factory=list)  # every call, in order
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # data_key -> path in the place -> content

    def observe_dirs(self, paths: Iterable[str]) -> dict[str, HostDir]:
        self.asked.append("observe_dirs")
        return {p: HostDir(p, p in self.dirs, p in self.dirs) for p in paths}

    def data_facts(self, mounts: Iterable[Mount], volumes: Mapping[str, ObservedVolume]) -> dict[str, DataFacts]:
        self.asked.append("data_facts")
        facts: dict[str, DataFacts] = {}
        for m in mounts:
            if not m.holds_data:
                continue
            key = data_key(m.kind, m.source)
            if m.kind == "bind":
                there = m.source in self.dirs
                facts[key] = DataFacts("bind", m.source, there, f"device {self.device}" if there else "", self.dirs.get(m.source))
            elif m.kind == "volume":
                there = m.source in volumes
                facts[key] = DataFacts("volume", m.source, there, "", self.volume_entries.get(m.source, 0) if there else None)
        return facts

    def create_dir(self, bind: BindDir) -> None:
        self.asked.append(f"create_dir {bind.path}")
        self.created.append((bind.path, bind.mode, bind.owner))
        self.dirs[bind.path] = 0

    def free_bytes(self, path: str) -> int:
        self.asked.append(f"free_bytes {path}")
        return self.free

    def tree_size(self, kind: str, source: str, volumes: Mapping[str, ObservedVolume]) -> int:
        self.asked.append(f"tree_size {kind}:{source}")
        return 1234

    def read_heads(self, kind: str, source: str, paths: Iterable[str], volumes: Mapping[str, ObservedVolume], limit: int) -> dict[str, bytes]:
        self.asked.append(f"read_heads {kind}:{source}")
        if kind == "volume" and source not in volumes:
            return {}
        held = self.files.get(data_key(kind, source), {})
        return {name: content[:limit] for pattern in paths for name, content in sorted(held.items()) if fnmatch.fnmatchcase(name, pattern)}

    def archive_to(self, kind: str, source: str, archive: Path, *, name: str) -> None:
        self.asked.append(f"archive_to {kind}:{source}")
        archive.write_bytes(f"archive of {kind}:{source}".encode())

    def restore_from(self, archive: Path, kind: str, source: str, *, clear: bool, name: str) -> None:
        self.asked.append(f"restore_from {archive.name} -> {kind}:{source} clear={clear}")
