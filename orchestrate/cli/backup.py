"""`stateful backup` and `stateful restore`."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrate.cli.base import cli, console, fleet_for, load_specs, state_dir_of


@cli.command()
@click.argument("app")
@click.option("--to", "to", type=click.Path(file_okay=False), help="Backup directory (default: <state dir>/backups/APP/<time>).")
@click.option("--hot", is_flag=True, help="Keep the app running: its database's own dump (MariaDB, MySQL, PostgreSQL), or Redis BGSAVE + copy.")
@click.pass_context
def backup(ctx: click.Context, app: str, to: str | None, hot: bool) -> None:
    """Write a consistent archive of APP's volumes, with a manifest of checksums."""
    from orchestrate.tools import backup as backups

    out = console()
    say = lambda text: out.print(text, markup=False)  # noqa: E731
    done = backups.backup_app(lambda: fleet_for(ctx), app, state_dir_of(ctx), to=Path(to) if to else None, hot=hot, say=say)
    say(f"backup of {app} in {done}")


@cli.command()
@click.argument("app")
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Replace data already on the app's volumes.")
@click.pass_context
def restore(ctx: click.Context, app: str, source: str, force: bool) -> None:
    """Put a backup back onto APP's volumes, then start APP from its spec (health-gated)."""
    from orchestrate.output import terminal
    from orchestrate.tools.restore import restore as put_back

    out = console()
    result = put_back(
        lambda: fleet_for(ctx),
        app,
        Path(source),
        state_dir_of(ctx),
        force=force,
        load=lambda paths: load_specs(ctx, paths),
        say=lambda text: out.print(text, markup=False),
        report=lambda name, step, seconds: out.print(terminal.step_line(name, step, seconds)),
    )
    if result is None:
        return
    for line in terminal.outcome_lines(result.report):
        out.print(line)
    ctx.exit(result.report.exit_code)
