"""Status rows: what each managed app is doing, on which volumes, and whether it has drifted. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrate.compare import describe_mount
from orchestrate.observed import ObservedContainer, ObservedState
from orchestrate.plan import AppAction, Kind, Plan


@dataclass(frozen=True)
class StatusRow:
    app: str
    state: str
    health: str
    image: str
    volumes: list[str]
    drift: str


def status_rows(observed: ObservedState, plan: Plan | None, spec_apps: set[str]) -> list[StatusRow]:
    actions = {a.app: a for a in plan.actions} if plan else {}
    rows: dict[str, StatusRow] = {}
    for container in observed.managed():
        if container.name != container.app:
            continue  # a temporary container of a recreate in progress
        rows[container.app] = _row(container, _drift(container.app, actions, spec_apps))
    for app, action in actions.items():
        if app not in rows:
            rows[app] = StatusRow(app, "missing", "", "", [], _describe(action.kind, len(action.diffs)))
    return [rows[name] for name in sorted(rows)]


def _row(container: ObservedContainer, drift: str) -> StatusRow:
    volumes = [f"{m.target} <- {describe_mount(m.kind, m.source, m.read_only)}" for m in container.mounts]
    return StatusRow(container.app, container.status, container.health, container.image, volumes, drift)


def _drift(app: str, actions: dict[str, AppAction], spec_apps: set[str]) -> str:
    action = actions.get(app)
    if action is None:
        return "no spec" if app not in spec_apps else "unknown"
    return _describe(action.kind, len(action.diffs))


def _describe(kind: Kind, diff_count: int) -> str:
    if kind is Kind.NOOP:
        return "in sync"
    if kind is Kind.BLOCKED:
        return "blocked"
    if diff_count:
        return f"drifted ({diff_count} field{'s' if diff_count != 1 else ''}): {kind.value}"
    return f"needs {kind.value}"
