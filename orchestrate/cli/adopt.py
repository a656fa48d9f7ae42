"""`stateful capture` and `stateful adopt`: containers started by hand become specs, then managed apps."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrate.cli.base import cli, console, duration, engine_for, load_specs, state_dir_of
from orchestrate.errors import UsageError

OUTPUT_FILE = click.option("-o", "output", type=click.Path(dir_okay=False), help="Write the spec(s) to this file (new or updated).")
INTO = click.option(
    "--into",
    type=click.Path(),
    help="Write into this spec directory (one file per app) or existing spec file, keeping its comments and layout.",
)


@cli.command()
@click.argument("containers", nargs=-1, required=True)
@OUTPUT_FILE
@INTO
@click.pass_context
def capture(ctx: click.Context, containers: tuple[str, ...], output: str | None, into: str | None) -> None:
    """Write a v1 spec from running (or stopped) containers, without their image's defaults.

    Anonymous volumes are written as named references (the data stays where it is); env values
    that look secret go to <app>.secrets.env (0600) beside the spec, never to the screen; what the
    spec cannot express is listed (stderr, and comments in the YAML).
    """
    from orchestrate.adopt import capture_containers, write_captures

    if output and into:
        raise UsageError("give -o or --into, not both")
    captures = capture_containers(engine_for(ctx), list(containers))
    written, printed = write_captures(captures, output=Path(output) if output else None, into=Path(into) if into else None)
    if printed:
        click.echo(printed, nl=False)
    _say_written(captures, written)


def _say_written(captures: list, written: list) -> None:  # type: ignore[type-arg]
    err = console(stderr=True)
    for item, done in zip(captures, written, strict=True):
        where = f"{done.spec} ({done.how})" if done.spec else "stdout"
        err.print(f"captured {item.name} -> {where}", markup=False)
        if done.secrets:
            err.print(f"  secrets: {', '.join(sorted(item.secrets))} -> {done.secrets} (0600)", markup=False)
        for line in item.report:
            err.print(f"  fidelity: {line}", markup=False)


@cli.command()
@click.argument("container")
@OUTPUT_FILE
@INTO
@click.option("--health-timeout", metavar="DURATION", help="How long the managed container may take to become healthy.")
@click.option("--settle", default="5s", show_default=True, metavar="DURATION", help="How long an app without a healthcheck must stay up.")
@click.pass_context
def adopt(ctx: click.Context, container: str, output: str | None, into: str | None, health_timeout: str | None, settle: str) -> None:
    """Capture CONTAINER into a spec, then replace it by a managed container on the same volumes.

    The replacement is the safe recreate of `apply` (journaled, health-gated, rolled back on
    failure); the data is untouched, and `stateful diff` of the spec is clean afterwards.
    """
    from orchestrate import render, run
    from orchestrate.adopt import capture_containers, write_captures
    from orchestrate.execute import Options

    if not (output or into):
        raise UsageError("adopt needs a place for the spec: -o FILE or --into DIR|FILE")
    engine = engine_for(ctx)
    captures = capture_containers(engine, [container])
    written, _ = write_captures(captures, output=Path(output) if output else None, into=Path(into) if into else None)
    _say_written(captures, written)
    name = captures[0].name
    if name != container:
        raise UsageError(f"{container!r} is not a valid app name; rename the container to {name!r} first (docker rename)")
    spec_file = written[0].spec
    assert spec_file is not None
    desired = [a for a in load_specs(ctx, [str(spec_file)]) if a.name == name]
    out = console()
    result = run.apply(
        lambda: engine,
        desired,
        state_dir=state_dir_of(ctx),
        options=Options(health_timeout=duration(health_timeout), settle_seconds=duration(settle) or 0.0),
        policy=run.Policy(adopt=frozenset({name})),
        report=lambda app, step, seconds: out.print(render.step_line(app, step, seconds)),
        on_plan=lambda planned: [out.print(line) for line in render.plan_lines(planned.plan)],
    )
    for line in render.outcome_lines(result.report):
        out.print(line)
    ctx.exit(result.report.exit_code)
