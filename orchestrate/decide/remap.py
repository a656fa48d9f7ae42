"""Remaps: a volume key whose source changed in the spec takes its data along. Pure.

The key is the data's identity. When the state store remembers the key's data at one source and
the spec now names another, the data is copied there (verified, the old copy kept) instead of the
app starting on an empty place, which the data guard would refuse anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrate.decide.compare import describe_mount
from orchestrate.model.desired import DesiredApp
from orchestrate.model.facts import DataFacts, Fingerprint, data_key


@dataclass(frozen=True)
class Migration:
    app: str
    key: str
    source_kind: str  # where the data is now (as remembered)
    source: str
    target_kind: str  # where the spec wants it
    target: str
    entries: int
    size: int
    resume: bool = False  # the target holds our own unfinished copy

    def __str__(self) -> str:
        size = f"{_size(self.size)}, {self.entries:,} top-level entries" if self.size else f"{self.entries:,} top-level entries"
        old = describe_mount(self.source_kind, self.source, False)
        new = describe_mount(self.target_kind, self.target, False)
        return f"{self.key}: {old} ({size}) -> {new}" + (" (resuming an unfinished copy)" if self.resume else "")


def migrations_for(
    app: DesiredApp,
    data: Mapping[str, DataFacts],
    fingerprints: Mapping[tuple[str, str], Fingerprint],
    *,
    unfinished: frozenset[tuple[str, str, str]],
    force_target: frozenset[str],
) -> tuple[list[Migration], list[str]]:
    """The app's remaps, and the problems that refuse one (a target already holding other data).

    `unfinished`: (app, key, target) of copies a killed or failed run began; `force_target`:
    app/key whose target may be copied over although it holds data.
    """
    migrations: list[Migration] = []
    problems: list[str] = []
    for mount in app.mounts:
        if not mount.holds_data or mount.owner_app != app.name:
            continue
        remembered = fingerprints.get((app.name, mount.key))
        if remembered is None or not remembered.held_data or (remembered.kind, remembered.source) == (mount.kind, mount.source):
            continue
        old = data.get(data_key(remembered.kind, remembered.source))
        if old is None or not old.exists or old.entries == 0:
            continue  # the old place is gone or empty: nothing to carry; the data guard decides
        target = data.get(data_key(mount.kind, mount.source))
        resume = (app.name, mount.key, mount.source) in unfinished
        if target is not None and target.exists and target.entries and not resume and f"{app.name}/{mount.key}" not in force_target:
            where = describe_mount(mount.kind, mount.source, False)
            problems.append(
                f"remap {app.name}/{mount.key}: the target {where} already holds other data ({target.entries} entries); "
                f"nothing was stopped. Empty it, choose another target, or run again with --force-target {app.name}/{mount.key}"
            )
            continue
        migrations.append(
            Migration(
                app.name, mount.key, remembered.kind, remembered.source, mount.kind, mount.source, remembered.entries, remembered.size, resume
            )
        )
    return migrations, problems


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{size} B"
