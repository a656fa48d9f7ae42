"""Plans and reports as plain data: JSON documents and Prometheus metrics. Pure; no rich.

Unattended runs (reconcile from cron) write these without loading the terminal renderer.
"""

from __future__ import annotations

from typing import Any

from orchestrate.act.report import Report
from orchestrate.decide.compare import FieldDiff
from orchestrate.decide.plan import AppAction, Kind, Plan

REDACTED = "***"


def diff_value(diff: FieldDiff, which: str) -> Any:
    value = getattr(diff, which)
    return REDACTED if diff.secret and value is not None else value


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "changes": plan.changes,
        "apps": [_action_json(a) for a in plan.actions],
        "orphans": list(plan.orphans),
        "recoveries": [{"app": app, "note": note} for app, note in plan.recoveries],
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
        "datadir_written_by": action.written_by or None,
        "problem": action.problem.message if action.problem else None,
        "exit_code": int(action.problem.exit_code) if action.problem else None,
        "pull": action.pull,
        "migrations": [str(m) for m in action.migrations],
        "recovery": action.recovery,
        "create": {
            "network": action.create_networks[0] if action.create_networks else None,  # the first, as before `networks`
            "networks": list(action.create_networks),
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
