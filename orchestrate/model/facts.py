"""What is at a data mount's source now (facts) and what was there at the last healthy run
(fingerprints): the data guard's two inputs. Plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataFacts:
    """What is at a data mount's source right now (looked at on the host)."""

    kind: str  # volume | bind
    source: str
    exists: bool
    identity: str = ""  # volume: its creation time; bind: the filesystem (device) it lives on
    entries: int | None = None  # top-level entries; None when the content cannot be seen

    @property
    def empty(self) -> bool:
        return self.exists and self.entries == 0


@dataclass(frozen=True)
class Fingerprint:
    """What a data mount looked like at the app's last healthy run (kept in the state store)."""

    app: str
    key: str
    kind: str
    source: str
    identity: str
    entries: int
    size: int
    held_data: bool
    recorded_at: float
    target: str = ""  # where the app mounted it (a key renamed in the spec still names this path)


@dataclass(frozen=True)
class DatadirVersion:
    """Which server version wrote an app's datadir, as the datadir's own files say (read on its host)."""

    kind: str  # the app's database kind
    version: str = ""  # "" = no marker says
    format: int | None = None  # a file format the server must know (Redis: RDB)
    place: str = ""  # data_key of the place it was read from; "" when the app mounts none there


def data_key(kind: str, source: str) -> str:
    return f"{kind}:{source}"
