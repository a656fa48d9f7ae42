"""Plans, reports and status as text (rich: colour on a terminal, plain when piped) and as JSON.

Pure formatting: takes values, returns strings or rich renderables; secrets print as ***.
"""

from __future__ import annotations

import json
import time
from typing import Any

from rich.table import Table
from rich.text import Text

from orchestrate.compare import Effect, FieldDiff
from orchestrate.execute import Report
from orchestrate.plan import AppAction, Kind, Plan
from orchestrate.state import RunRecord
from orchestrate.status import StatusRow

REDACTED = "***"
SYMBOL = {Kind.NOOP: "=", Kind.CREATE: "+", Kind.START: ">", Kind.UPDATE: "~", Kind.RECREATE: "~", Kind.BLOCKED: "!", Kind.DEFERRED: "-"}
STYLE = {
    Kind.NOOP: "dim",
    Kind.CREATE: "green",
    Kind.START: "green",
    Kind.UPDATE: "yellow",
    Kind.RECREATE: "yellow",
    Kind.BLOCKED: "bold red",
    Kind.DEFERRED: "magenta",
}


def value_text(value: Any, *, secret: bool = False) -> str:
    if value is None:
        return "(unset)"
    if secret:
        return REDACTED
    return json.dumps(value, ensure_ascii=False)


def diff_value(diff: FieldDiff, which: str) -> Any:
    value = getattr(diff, which)
    return REDACTED if diff.secret and value is not None else value


def plan_lines(plan: Plan, *, verbose: bool = False) -> list[Text]:
    """One line per reason: `~ mysql recreate: env.X: (unset) -> "y"`."""
    lines: list[Text] = []
    for action in plan.actions:
        lines.extend(_action_lines(action, verbose=verbose))
    for orphan in plan.orphans:
        lines.append(Text(f"? {orphan} orphan: managed container with no spec here (kept; see `stateful destroy {orphan}`)", style="magenta"))
    return lines


def _action_lines(action: AppAction, *, verbose: bool) -> list[Text]:
    head = f"{SYMBOL[action.kind]} {action.app} {action.kind.value}"
    style = STYLE[action.kind]
    reasons = [f"create network {action.create_network}"] if action.create_network else []
    reasons += [f"create volume {v.name}" for v in action.create_volumes]
    reasons += [f"create directory {d.path}" for d in action.create_dirs]
    if action.pull:
        reasons.append(f"pull {action.pull}")
    if action.problem:
        reasons.append(action.problem.message)
    reasons += list(action.notes)
    acting = [d for d in action.diffs if d.effect is not Effect.INIT_ONLY]
    reasons += [f"{d.field}: {value_text(d.old, secret=d.secret)} -> {value_text(d.new, secret=d.secret)}" for d in acting]
    notes = [Text(f"i {action.app} note: {_init_only_note(d)}", style="cyan") for d in action.diffs if d.effect is Effect.INIT_ONLY]
    if action.kind is Kind.NOOP and not reasons:
        return notes + ([Text(f"{head}: in sync", style=style)] if verbose else [])
    lines = [Text(f"{head}: {reason}", style=style) for reason in reasons] or [Text(head, style=style)]
    return lines + notes


def _init_only_note(diff: FieldDiff) -> str:
    change = f"{diff.field}: {value_text(diff.old, secret=diff.secret)} -> {value_text(diff.new, secret=diff.secret)}"
    return (
        f"{change} has no effect: the image reads it only when it initialises an empty datadir, and this data exists. "
        "Change it inside the database instead (e.g. ALTER USER / CREATE DATABASE); no recreate is done for it"
    )


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "changes": plan.changes,
        "apps": [_action_json(a) for a in plan.actions],
        "orphans": list(plan.orphans),
    }


def _action_json(action: AppAction) -> dict[str, Any]:
    return {
        "app": action.app,
        "action": action.kind.value,
        "diffs": [
            {"field": d.field, "old": diff_value(d, "old"), "new": diff_value(d, "new"), "effect": d.effect.value}
            for d in action.diffs
        ],
        "notes": list(action.notes),
        "problem": action.problem.message if action.problem else None,
        "exit_code": int(action.problem.exit_code) if action.problem else None,
        "pull": action.pull,
        "create": {
            "network": action.create_network,
            "volumes": [v.name for v in action.create_volumes],
            "directories": [d.path for d in action.create_dirs],
        },
    }


def report_json(report: Report, mutations: int) -> dict[str, Any]:
    return {
        "ok": all(o.ok for o in report.outcomes),
        "exit_code": int(report.exit_code),
        "engine_mutations": mutations,
        "apps": [
            {"app": o.app, "action": o.kind.value, "ok": o.ok, "message": o.message, "seconds": round(o.seconds, 3)}
            for o in report.outcomes
        ],
    }


def step_line(app: str, step: str, seconds: float | None) -> Text:
    timing = f" ({seconds:.2f}s)" if seconds is not None else ""
    return Text.assemble((f"  {app}", "bold"), f": {step}", (timing, "dim"))


def outcome_lines(report: Report) -> list[Text]:
    lines: list[Text] = []
    for o in report.outcomes:
        if o.ok and o.kind is Kind.NOOP:
            continue
        if o.kind is Kind.DEFERRED:
            lines.append(Text(f"- {o.app}: {o.message}", style="magenta"))
            continue
        if o.ok:
            lines.append(Text(f"{SYMBOL[o.kind]} {o.app}: {o.kind.value} done in {o.seconds:.1f}s", style="green"))
        else:
            lines.append(Text(f"! {o.app}: {o.kind.value} failed: {o.message}", style="bold red"))
    if not lines:
        lines.append(Text("nothing to do: every app is in sync"))
    return lines


def status_table(rows: list[StatusRow]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("APP", "STATE", "HEALTH", "IMAGE", "VOLUMES", "DRIFT"):
        table.add_column(column, overflow="fold")
    for row in rows:
        drift_style = "green" if row.drift == "in sync" else "yellow"
        table.add_row(row.app, row.state, row.health or "-", row.image, "\n".join(row.volumes) or "-", Text(row.drift, style=drift_style))
    return table


def status_json(rows: list[StatusRow]) -> list[dict[str, Any]]:
    return [row.__dict__ for row in rows]


def history_table(records: list[RunRecord], app: str | None) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("RUN", "STARTED", "USER", "COMMAND", "EXIT", "CHANGES"):
        table.add_column(column, overflow="fold")
    for record in records:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started))
        exit_code = "running or killed" if record.exit_code is None else str(record.exit_code)
        table.add_row(str(record.id), started, record.user, record.command, exit_code, _changes(record, app))
    return table


def _changes(record: RunRecord, app: str | None) -> str:
    outcome = {a["app"]: a for a in (record.outcome or {}).get("apps", [])}
    planned = [a for a in (record.plan or {}).get("apps", []) if a["action"] != "noop" and (app is None or a["app"] == app)]
    if not planned:
        return "none"
    parts = []
    for action in planned:
        done = outcome.get(action["app"])
        state = "" if done is None else (" ok" if done["ok"] else " FAILED")
        parts.append(f"{action['app']} {action['action']}{state}")
    return ", ".join(parts)


def metrics_text(*, apps: dict[str, str], exit_code: int, seconds: float, recreates: int, finished_at: float) -> str:
    """Prometheus text format for node_exporter's textfile collector.

    `apps` maps each app to in_sync | drifted | failed after the run.
    """
    states = ("in_sync", "drifted", "failed")
    lines = [
        "# HELP stateful_apps Managed apps by state after the last run.",
        "# TYPE stateful_apps gauge",
        *(f'stateful_apps{{state="{state}"}} {sum(1 for s in apps.values() if s == state)}' for state in states),
        "# HELP stateful_app_in_sync 1 when the app matched its spec after the last run.",
        "# TYPE stateful_app_in_sync gauge",
        *(f'stateful_app_in_sync{{app="{app}"}} {int(state == "in_sync")}' for app, state in sorted(apps.items())),
        "# HELP stateful_last_run_timestamp_seconds When the last run finished.",
        "# TYPE stateful_last_run_timestamp_seconds gauge",
        f"stateful_last_run_timestamp_seconds {finished_at:.3f}",
        "# HELP stateful_last_run_duration_seconds How long the last run took.",
        "# TYPE stateful_last_run_duration_seconds gauge",
        f"stateful_last_run_duration_seconds {seconds:.3f}",
        "# HELP stateful_last_run_exit_code The last run's exit code (0 ok, 4 failed, 5 refused by the data guard).",
        "# TYPE stateful_last_run_exit_code gauge",
        f"stateful_last_run_exit_code {exit_code}",
        "# HELP stateful_last_run_recreates Apps recreated by the last run.",
        "# TYPE stateful_last_run_recreates gauge",
        f"stateful_last_run_recreates {recreates}",
    ]
    return "\n".join(lines) + "\n"


def app_states(plan_after: Plan, report: Report) -> dict[str, str]:
    failed = {o.app for o in report.outcomes if not o.ok}
    return {
        a.app: "failed" if a.app in failed or a.kind is Kind.BLOCKED else ("drifted" if a.changes else "in_sync")
        for a in plan_after.actions
    }
