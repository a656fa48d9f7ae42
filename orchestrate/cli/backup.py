"""`stateful backup` and `stateful restore`."""

from __future__ import annotations

import time
from pathlib import Path

import click

from orchestrate.cli.base import cli, console, fleet_for, load_specs, state_dir_of
from orchestrate.errors import UsageError


@cli.command()
@click.argument("app")
@click.option("--to", "to", type=click.Path(file_okay=False), help="Backup directory (default: <state dir>/backups/APP/<time>).")
@click.option("--hot", is_flag=True, help="Keep the app running: mariadb-dump --single-transaction, or Redis BGSAVE + copy.")
@click.pass_context
def backup(ctx: click.Context, app: str, to: str | None, hot: bool) -> None:
    """Write a consistent archive of APP's volumes, with a manifest of checksums."""
    from orchestrate.act.health import HealthGate, wait_healthy
    from orchestrate.act.report import Options
    from orchestrate.state import RunLock
    from orchestrate.state.paths import identity
    from orchestrate.tools import backup as backups

    out = console()
    with RunLock(state_dir_of(ctx)):
        fleet = fleet_for(ctx)
        engine = fleet.engine
        container = engine.inspect_container(app)
        if container is None or not container.managed:
            raise UsageError(f"no managed app named {app!r} on {engine.endpoint}")
        if not hot:
            backups.refuse_when_managed_elsewhere(engine, app, identity(state_dir_of(ctx)), hint="; or back it up with --hot, which does not stop it")
        target = Path(to) if to else state_dir_of(ctx) / "backups" / app / time.strftime("%Y%m%dT%H%M%S")

        def restart() -> None:
            engine.start(container.id)
            found = engine.inspect_container(container.id)
            assert found is not None
            verdict = wait_healthy(engine, container.id, HealthGate.for_container(found, timeout=None, settle=Options().settle_seconds))
            out.print(f"started {app} again: {'healthy' if verdict.ok else verdict.reason}", markup=False)

        done = backups.backup(engine, fleet.files(), container, target, hot=hot, say=lambda text: out.print(text, markup=False), restart=restart)
    out.print(f"backup of {app} in {done}", markup=False)


@cli.command()
@click.argument("app")
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Replace data already on the app's volumes.")
@click.pass_context
def restore(ctx: click.Context, app: str, source: str, force: bool) -> None:
    """Put a backup back onto APP's volumes, then start APP from its spec (health-gated)."""
    from orchestrate.act.report import Options
    from orchestrate.model.desired import Mount, VolumeSpec
    from orchestrate.output import terminal
    from orchestrate.runs import converge
    from orchestrate.state import RunLock, Store
    from orchestrate.state.paths import identity
    from orchestrate.tools import backup as backups

    out = console()
    say = lambda text: out.print(text, markup=False)  # noqa: E731
    folder = Path(source)
    manifest = backups.verify_backup(folder)
    if manifest["app"] != app:
        raise UsageError(f"{source} is a backup of {manifest['app']!r}, not {app!r}")
    with RunLock(state_dir_of(ctx)):
        fleet = fleet_for(ctx)
        engine, files = fleet.engine, fleet.files()
        backups.refuse_when_managed_elsewhere(engine, app, identity(state_dir_of(ctx)))
        volumes = engine.snapshot(app_names=[], image_refs=[]).volumes

        def entries(place: backups.Place) -> int | None:
            mount = Mount(target="", kind=place.kind, source=place.source, owner_app=app, key=place.key)
            facts = files.data_facts([mount], volumes)
            return next(iter(facts.values())).entries if facts else None

        backups.check_targets(manifest, force=force, entries=entries)  # before anything is stopped
        container = engine.inspect_container(app)
        if container is not None and container.running:
            say(f"stop {app} to restore its data")
            engine.stop(container.id, timeout=container.stop_timeout or 10)
        for archive in manifest["archives"]:
            if archive["kind"] == "volume" and archive["source"] not in volumes:
                engine.create_volume(VolumeSpec(archive["source"], app, archive["key"]))
        backups.restore_archives(files, manifest, folder, force=force, say=say)
        store = Store.open(state_dir_of(ctx))
        store.forget_fingerprints(app)  # restored on purpose: the next healthy run fingerprints it anew
        store.close()
    spec_file = manifest.get("spec_file") or ""
    if not spec_file or not Path(spec_file).is_file():
        say(f"data restored; start the app with `stateful apply <its spec>` (the spec it was backed up from, {spec_file or 'unknown'}, is gone)")
        return
    desired = [a for a in load_specs(ctx, [spec_file]) if a.name == app]
    result = converge.apply(
        lambda: fleet,
        desired,
        state_dir=state_dir_of(ctx),
        options=Options(),
        report=lambda name, step, seconds: out.print(terminal.step_line(name, step, seconds)),
    )
    for line in terminal.outcome_lines(result.report):
        out.print(line)
    ctx.exit(result.report.exit_code)
