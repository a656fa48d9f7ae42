"""The journal's values: a recreate's operation and the steps it wrote before running each.

Plain values, read from the store (orchestrate.state) and judged by recovery's rule
(orchestrate.decide.recovery). Nothing here reads or writes the store.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JournalEntry:
    step: str
    at: float


@dataclass(frozen=True)
class Operation:
    id: int
    app: str
    kind: str
    old_id: str | None
    new_id: str | None
    steps: tuple[JournalEntry, ...]

    def reached(self, step: str) -> bool:
        return any(entry.step == step for entry in self.steps)

    @property
    def last_step(self) -> str | None:
        return self.steps[-1].step if self.steps else None
