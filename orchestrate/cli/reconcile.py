"""`stateful reconcile`: the unattended loop (cron's --once, a service's --watch) and --check.

Quiet when nothing happens, loud when something cannot be fixed: in sync prints nothing (cron
mails nothing); every change and every failure is printed, logged and counted in the metrics.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from orchestrate.cli.base import OUTPUT, PARALLEL, PATHS, cli, console, duration, engine_for, fleet_for, load_specs, state_dir_of
from orchestrate.errors import ExitCode, LockBusy, UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from orchestrate.runs.converge import RunResult
    from orchestrate.runs.pipeline import Planned, Policy


class Output:
    """Where a run's lines go: the terminal (or cron's mail), and an optional log file."""

    def __init__(self, *, json_lines: bool, log_file: str | None) -> None:
        self.json_lines = json_lines
        self.log_file = Path(log_file) if log_file else None

    @functools.cached_property
    def out(self) -> Console:  # made on first use: a quiet run never loads the renderer
        return console()

    @functools.cached_property
    def err(self) -> Console:
        return console(stderr=True)

    def line(self, text: Text | str, *, problem: bool = False) -> None:
        """Problems go to stderr: what cron mails, once stdout is sent to /dev/null."""
        if not self.json_lines:
            target = self.err if problem else self.out
            target.print(text)
            target.file.flush()  # watch mode runs for days under a service manager: line by line
        self._log(str(text) if isinstance(text, str) else text.plain)

    def record(self, body: dict[str, Any]) -> None:
        if self.json_lines:
            click.echo(json.dumps(body, default=str))
            sys.stdout.flush()
        self._log(json.dumps(body, default=str) if self.log_file and self.json_lines else "")

    def _log(self, text: str) -> None:
        if self.log_file and text:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            with self.log_file.open("a") as log:
                log.write(f"{stamp} {text}\n")


@cli.command()
@PATHS
@click.option("--once", "mode", flag_value="once", default=True, help="One run, for cron (the default).")
@click.option("--watch", "mode", flag_value="watch", help="Run forever: every --interval, and within seconds of a container dying.")
@click.option("--check", is_flag=True, help="Only plan: print the drift and exit 1 if there is any (for monitoring).")
@click.option("--interval", default="30s", show_default=True, metavar="DURATION", help="Time between rounds in --watch mode.")
@click.option("--max-recreates", type=click.IntRange(min=0), metavar="N", help="Recreate at most N apps per run; the rest wait.")
@click.option("--max-rounds", default=3, show_default=True, type=click.IntRange(min=1), help="Observe-plan-execute rounds per run.")
@click.option(
    "--allow-version-change", "allow_version", multiple=True, metavar="APP", help="Let APP's server start on a datadir another version wrote."
)
@click.option("--prune", is_flag=True, help="Remove containers of apps whose spec is gone (never their volumes).")
@click.option("--health-timeout", metavar="DURATION", help="How long a started app may take to become healthy.")
@click.option("--settle", default="5s", show_default=True, metavar="DURATION", help="How long an app without a healthcheck must stay up.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Also append every line (timestamped) to this file.")
@click.option("--metrics-file", type=click.Path(dir_okay=False), help="Write Prometheus metrics here after each run (atomically).")
@PARALLEL
@OUTPUT
@click.pass_context
def reconcile(
    ctx: click.Context,
    paths: tuple[str, ...],
    mode: str,
    check: bool,
    interval: str,
    max_recreates: int | None,
    max_rounds: int,
    allow_version: tuple[str, ...],
    prune: bool,
    health_timeout: str | None,
    settle: str,
    log_file: str | None,
    metrics_file: str | None,
    parallel: int | None,
    output: str,
) -> None:
    """Bring the engine back to the specs, unattended. Safe to run from cron every minute.

    \b
    --once (default): one run; another run holding the lock -> exit 75 at once.
    --watch: forever; SIGTERM finishes the current action and exits 0.
    --check: plan only; exit 1 when anything has drifted.
    """
    from orchestrate.runs.pipeline import Policy

    out = Output(json_lines=output == "json", log_file=log_file)
    policy = Policy(max_recreates=max_recreates, prune=prune, max_rounds=max_rounds, allow_version_change=frozenset(allow_version))
    if check:
        ctx.exit(_check(ctx, paths, out, metrics_file, policy))
    from orchestrate.act.report import Options
    from orchestrate.runs import converge

    options = Options(health_timeout=duration(health_timeout), settle_seconds=duration(settle) or 0.0)
    options = replace(options, parallel=parallel) if parallel else options

    watched: set[str] = set()  # the apps of the last loaded specs: only their events wake --watch

    def one_run(should_stop: Any = lambda: False) -> RunResult:
        desired = load_specs(ctx, paths)
        watched.clear()
        watched.update(a.name for a in desired)
        result = converge.apply(
            lambda: fleet_for(ctx),
            desired,
            state_dir=state_dir_of(ctx),
            options=options,
            policy=policy,
            report=lambda app, step, seconds: out.line(_step_line(app, step, seconds)),
            on_plan=lambda planned: _show_plan(out, planned),
            should_stop=should_stop,
        )
        _show_outcome(out, result)
        if metrics_file:
            _write_metrics(metrics_file, result)
        return result

    if mode == "watch":
        _watch(ctx, one_run, out, duration(interval) or 30.0, watched)
        ctx.exit(ExitCode.OK)
    try:
        result = one_run()
    except LockBusy as busy:
        # Cron overlap is normal, not something to mail: stdout (and the log), and exit 75.
        out.line(f"busy: {busy}")
        ctx.exit(ExitCode.BUSY)
    ctx.exit(result.report.exit_code)


def _step_line(app: str, step: str, seconds: float | None) -> Text:
    from orchestrate.output import terminal

    return terminal.step_line(app, step, seconds)


def _show_plan(out: Output, planned: Planned) -> None:
    """Nothing when in sync (cron mails nothing); otherwise what is about to be done."""
    if out.json_lines or not (planned.plan.changes or planned.plan.orphans):
        return  # and the terminal renderer is never loaded
    from orchestrate.output import terminal

    for line in terminal.plan_lines(planned.plan):
        out.line(line, problem=line.plain.startswith("!"))


def _show_outcome(out: Output, result: RunResult) -> None:
    if out.json_lines:
        out.record(_run_json(result))
        return
    if result.planned.plan.changes or result.recovered or result.pruned:
        from orchestrate.output import terminal

        for line in terminal.outcome_lines(result.report):
            out.line(line, problem=line.plain.startswith("!"))


def _run_json(result: RunResult) -> dict[str, Any]:
    from orchestrate.output import documents

    return {
        "time": time.time(),
        "exit_code": int(result.report.exit_code),
        "in_sync": result.in_sync,
        "rounds": result.rounds,
        "seconds": round(result.seconds, 3),
        "recovered": [{"app": r.app, "outcome": r.outcome} for r in result.recovered],
        "pruned": result.pruned,
        "plan": documents.plan_json(result.planned.plan),
        "result": documents.report_json(result.report, result.mutations),
    }


def _write_metrics(path: str, result: RunResult) -> None:
    from orchestrate.decide.plan import Kind
    from orchestrate.output import documents
    from orchestrate.output.files import write_atomically

    final = (result.remaining or result.planned).plan
    recreates = sum(1 for o in result.report.outcomes if o.ok and o.kind is Kind.RECREATE)
    text = documents.metrics_text(
        apps=documents.app_states(final, result.report),
        exit_code=int(result.report.exit_code),
        seconds=result.seconds,
        recreates=recreates,
        finished_at=time.time(),
    )
    write_atomically(path, text)


def _check(ctx: click.Context, paths: tuple[str, ...], out: Output, metrics_file: str | None, policy: Policy) -> int:
    from orchestrate.output import documents, terminal
    from orchestrate.runs import pipeline

    desired = load_specs(ctx, paths)
    guards = pipeline.read_safeguards(state_dir_of(ctx), policy)
    planned = pipeline.plan(fleet_for(ctx), desired, guards, max_recreates=policy.max_recreates)
    if out.json_lines:
        out.record({"time": time.time(), **documents.plan_json(planned.plan)})
    else:
        for line in terminal.plan_lines(planned.plan):
            out.line(line)
    if metrics_file:
        from orchestrate.act.report import Report
        from orchestrate.output.files import write_atomically

        apps = documents.app_states(planned.plan, Report())
        text = documents.metrics_text(apps=apps, exit_code=int(planned.plan.changes), seconds=0.0, recreates=0, finished_at=time.time())
        write_atomically(metrics_file, text)
    return ExitCode.CHANGES_PENDING if planned.plan.changes else ExitCode.OK


def _watch(ctx: click.Context, one_run: Any, out: Output, interval: float, watched: set[str]) -> None:
    from orchestrate.runs.watch import Watcher

    if interval <= 0:
        raise UsageError("--interval must be more than 0")
    say = (lambda text: out.record({"time": time.time(), "event": text})) if out.json_lines else (lambda text: out.line(f"watch: {text}"))
    say(f"watching every {interval:g}s and on container events (SIGTERM stops)")
    Watcher(connect=lambda: engine_for(ctx), run_round=one_run, interval=interval, say=say, relevant=watched.__contains__).loop()
