"""`stateful cron`: a ready crontab line, or systemd units (a timer, and a --watch service)."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from orchestrate.cli.base import cli, state_dir_of

TIMER = """[Unit]
Description=Reconcile stateful apps every minute

[Timer]
OnBootSec=30s
OnUnitActiveSec=60s
AccuracySec=5s

[Install]
WantedBy=timers.target
"""

ONESHOT = """[Unit]
Description=Reconcile stateful apps with their specs (one run)
After=docker.service
Wants=docker.service

[Service]
Type=oneshot
ExecStart={command}
# 75: another run holds the lock; a normal overlap, not a failure.
SuccessExitStatus=75
"""

WATCH = """[Unit]
Description=Keep stateful apps in line with their specs (watch mode)
After=docker.service
Wants=docker.service

[Service]
ExecStart={command}
Restart=always
RestartSec=5s
# SIGTERM lets the current action finish, releases the lock and exits 0.
KillSignal=SIGTERM
TimeoutStopSec=300

[Install]
WantedBy=multi-user.target
"""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--systemd", is_flag=True, help="Print systemd units (service + timer, and a --watch service) instead.")
@click.option("--write", "write_dir", type=click.Path(file_okay=False), help="With --systemd: write the units into this directory.")
@click.option("--log-file", default="/var/log/stateful.log", show_default=True, help="Where the runs log.")
@click.option("--metrics-file", help="Prometheus textfile collector path (e.g. /var/lib/node_exporter/textfile/stateful.prom).")
@click.pass_context
def cron(ctx: click.Context, paths: tuple[str, ...], systemd: bool, write_dir: str | None, log_file: str, metrics_file: str | None) -> None:
    """Print how to run `stateful reconcile` unattended, with every path filled in.

    PATHS default to /etc/stateful/specs.
    """
    specs = [str(Path(p).resolve()) for p in (paths or ("/etc/stateful/specs",))]
    base = [_executable(), "--state-dir", str(state_dir_of(ctx).resolve())]
    if ctx.obj.get("env_file"):
        base += ["--env-file", str(Path(ctx.obj["env_file"]).resolve())]
    extra = ["--log-file", log_file] + (["--metrics-file", metrics_file] if metrics_file else [])
    once = shlex.join([*base, "reconcile", "--once", *extra, *specs])
    watch = shlex.join([*base, "reconcile", "--watch", "--interval", "30s", *extra, *specs])
    if not systemd:
        click.echo("# stateful: reconcile every minute. Every change is logged; only what it cannot fix reaches")
        click.echo("# stderr (and so cron's mail). A run finding the previous one still busy exits 75 quietly.")
        click.echo(f"* * * * * {once} >/dev/null")
        return
    units = {
        "stateful-reconcile.service": ONESHOT.format(command=once),
        "stateful-reconcile.timer": TIMER,
        "stateful-watch.service": WATCH.format(command=watch),
    }
    if write_dir:
        target = Path(write_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            (target / name).write_text(text)
            click.echo(f"wrote {target / name}")
        click.echo("enable one: systemctl enable --now stateful-reconcile.timer  (or stateful-watch.service)")
        return
    for name, text in units.items():
        click.echo(f"# --- {name}\n{text}")


def _executable() -> str:
    """The absolute path of this stateful (cron's PATH is short)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "stateful" and argv0.exists():
        return str(argv0.resolve())
    return shutil.which("stateful") or str(Path(sys.executable).with_name("stateful"))
