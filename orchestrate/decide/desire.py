"""Spec -> canonical desired state: frozen values with every default and path resolved.

Pure: takes SourcedApps (which already hold what was read from disk) and returns DesiredApps.
Cross-app rules (names, references, shared sources) are checked here, where sources are known.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrate import databases
from orchestrate.errors import SpecError, SpecProblem
from orchestrate.model.desired import (
    DEFAULT_NETWORK,
    LOCAL_HOST,
    SECRETS_DIR,
    BindDir,
    DesiredApp,
    Healthcheck,
    Mount,
    PortBinding,
    VolumeSpec,
    looks_secret,
    normalise_driver,
    normalise_image,
)
from orchestrate.spec.ports import PORT_SPEC

if TYPE_CHECKING:
    # Only types: the pydantic and YAML machinery loads when specs are parsed, not when a cached
    # desired state is used.
    from orchestrate.spec.loader import SourcedApp
    from orchestrate.spec.models import App, Volume

def build_desired(sourced: list[SourcedApp]) -> list[DesiredApp]:
    """Canonical desired state for every app, in dependency order; SpecError on any problem."""
    by_name: dict[str, SourcedApp] = {}
    problems: list[SpecProblem] = []
    for item in sourced:
        if item.app.name in by_name:
            first = by_name[item.app.name]
            problems.append(item.locator.problem(["name"], f"duplicate app name; first defined in {first.file}"))
        else:
            by_name[item.app.name] = item
    problems += _reference_problems(by_name) + _database_problems(by_name)
    if problems:
        raise SpecError(problems)
    apps = {name: _desired(item, by_name) for name, item in by_name.items()}
    problems += _shared_source_problems(apps, by_name)
    if problems:
        raise SpecError(problems)
    return [apps[name] for name in dependency_order(apps)]


def _desired(item: SourcedApp, every: dict[str, SourcedApp]) -> DesiredApp:
    app, base = item.app, item.base_dir
    own_mounts, volumes, binds = _own_mounts(app, base)
    mounts = own_mounts + _borrowed_mounts(app, every) + _secret_mounts(item)
    (network, aliases), *more_networks = _networks(app)
    restart, retries = _restart(app.restart)
    desired = DesiredApp(
        name=app.name,
        image=normalise_image(app.image),
        command=_argv(app.command),
        entrypoint=_argv(app.entrypoint),
        env={**item.env_from_files, **app.env},
        ports=tuple(sorted((_port(str(p)) for p in app.ports), key=str)),
        mounts=tuple(sorted(mounts, key=lambda m: m.target)),
        volumes=tuple(volumes),
        bind_dirs=tuple(binds),
        network=network,
        aliases=aliases,
        more_networks=tuple(more_networks),
        restart=restart,
        restart_retries=retries,
        healthcheck=_healthcheck(app),
        stop_grace_seconds=max(0, round(app.stop_grace_period)),
        memory=app.resources.memory or 0,
        nano_cpus=round((app.resources.cpus or 0) * 1e9),
        user=app.user,
        labels=dict(app.labels),
        depends_on=tuple(app.depends_on),
        shared_keys=tuple(app.shared_volumes),
        data_guard=app.data_guard,
        spec_file=str(item.file),
        secret_env_keys=tuple(sorted(k for k in {**item.env_from_files, **app.env} if looks_secret(k))),
        secrets_hash=_digest_of(item.secret_digests),
        database=app.database or "",
        inputs=tuple(str((base / f).resolve()) for f in [*app.env_file, *(s.file for s in app.secrets.values())]),
        host=app.host or LOCAL_HOST,
        env_sources=_env_sources(item),
    )
    return _with_hash(desired, item.secret_digests)


def _env_sources(item: SourcedApp) -> tuple[tuple[str, str], ...]:
    from_spec = {k: item.env_templates.get(k, "") for k in item.app.env}
    from_files = {k: "" for k in item.env_from_files if k not in from_spec}
    templated = {k: t for k, t in from_spec.items() if "$" in t}
    return tuple(sorted({**from_files, **templated}.items()))


def volume_name(app: str, key: str, volume: Volume) -> str:
    return volume.name or f"{app}-{key}"


def _own_mounts(app: App, base: Path) -> tuple[list[Mount], list[VolumeSpec], list[BindDir]]:
    mounts: list[Mount] = []
    volumes: list[VolumeSpec] = []
    binds: list[BindDir] = []
    for key, volume in app.volumes.items():
        common = Mount(target=volume.target, kind="volume", source="", read_only=volume.read_only, owner_app=app.name, key=key)
        if volume.tmpfs is not None:
            mounts.append(replace(common, kind="tmpfs", tmpfs_size=volume.tmpfs.size, tmpfs_mode=volume.tmpfs.mode))
        elif volume.bind is not None:
            path = str((base / volume.bind).resolve()) if not Path(volume.bind).is_absolute() else str(Path(volume.bind))
            mounts.append(replace(common, kind="bind", source=path))
            binds.append(BindDir(path, app.name, key, volume.create, volume.mode, volume.owner))
        else:
            name = volume_name(app.name, key, volume)
            driver, opts = _volume_driver(volume)
            mounts.append(replace(common, source=name))
            volumes.append(VolumeSpec(name, app.name, key, driver, tuple(sorted(opts.items()))))
    return mounts, volumes, binds


def _volume_driver(volume: Volume) -> tuple[str, dict[str, str]]:
    if volume.nfs is not None:
        options = ",".join(o for o in (f"addr={volume.nfs.server}", volume.nfs.options) if o)
        return "local", {"type": "nfs", "o": options, "device": f":{volume.nfs.export}"}
    return normalise_driver(volume.driver), dict(volume.driver_opts)


def _borrowed_mounts(app: App, every: dict[str, SourcedApp]) -> list[Mount]:
    # volumes_from is expanded into explicit mounts of the other app's volumes, by volume identity.
    # Docker's own VolumesFrom names a container, whose ID changes at every recreate; naming the
    # volumes keeps the relation stable and lets the data guard see every mount.
    mounts: list[Mount] = []
    for entry in app.volumes_from:
        other_name, _, mode = entry.partition(":")
        other_mounts, _, _ = _own_mounts(every[other_name].app, every[other_name].base_dir)
        for mount in other_mounts:
            if mount.kind != "tmpfs":
                mounts.append(replace(mount, read_only=mount.read_only or mode == "ro"))
    return mounts


def _secret_mounts(item: SourcedApp) -> list[Mount]:
    return [
        Mount(
            target=secret.target or f"{SECRETS_DIR}/{name}",
            kind="bind",
            source=str((item.base_dir / secret.file).resolve()),
            read_only=True,
        )
        for name, secret in item.app.secrets.items()
    ]


def _networks(app: App) -> list[tuple[str, tuple[str, ...]]]:
    """`network:` is the one-network form of `networks:`; neither is the engine's default bridge."""
    listed = app.networks or [app.network or DEFAULT_NETWORK]
    return [(n, ()) if isinstance(n, str) else (n.name, tuple(sorted(n.aliases))) for n in listed]


def _restart(policy: str) -> tuple[str, int]:
    name, _, retries = policy.partition(":")
    return name, int(retries or 0)


def _argv(value: list[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(shlex.split(value)) if isinstance(value, str) else tuple(str(v) for v in value)


def _port(text: str) -> PortBinding:
    match = PORT_SPEC.match(text)
    assert match is not None  # the model validated it
    ip = (match.group("ip") or "").strip("[]")
    host = match.group("host")
    return PortBinding(int(match.group("container")), match.group("proto") or "tcp", ip, int(host) if host else None)


def _healthcheck(app: App) -> Healthcheck | None:
    check = app.healthcheck
    if check is None:
        return None
    if check.disable:
        return Healthcheck(test=("NONE",))
    test = ("CMD-SHELL", check.test) if isinstance(check.test, str) else tuple(check.test or ())
    ns = 1_000_000_000
    return Healthcheck(
        test=test,
        interval_ns=round((check.interval or 0) * ns),
        timeout_ns=round((check.timeout or 0) * ns),
        retries=check.retries or 0,
        start_period_ns=round((check.start_period or 0) * ns),
    )


def _digest_of(digests: Mapping[str, str]) -> str:
    if not digests:
        return ""
    return hashlib.sha256(json.dumps(dict(digests), sort_keys=True).encode()).hexdigest()[:16]


def _with_hash(app: DesiredApp, secret_digests: object) -> DesiredApp:
    body = asdict(app)
    body.pop("spec_hash")
    body.pop("spec_file")
    body.pop("inputs")
    if not body["database"]:
        body.pop("database")  # added later: an app that does not choose one keeps the hash it had
    body.pop("host")  # where an app runs is not how it runs: the hash of every existing app stays
    body.pop("env_sources")
    if not body["more_networks"]:
        body.pop("more_networks")  # added later: a one-network app keeps the hash it had
    body["secrets"] = secret_digests
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return replace(app, spec_hash=digest[:16])


def _reference_problems(by_name: dict[str, SourcedApp]) -> list[SpecProblem]:
    problems: list[SpecProblem] = []
    for item in by_name.values():
        for field_name in ("volumes_from", "depends_on"):
            for index, entry in enumerate(getattr(item.app, field_name)):
                other, _, mode = entry.partition(":")
                if other not in by_name:
                    close = _suggest(other, by_name)
                    problems.append(item.locator.problem([field_name, index], f"no app named {other!r} in these specs{close}"))
                elif other == item.app.name:
                    problems.append(item.locator.problem([field_name, index], "an app cannot refer to itself"))
                elif field_name == "volumes_from" and mode not in ("", "ro", "rw"):
                    problems.append(item.locator.problem([field_name, index], f"mode {mode!r} must be ro or rw"))
    # A self-reference is reported above; as a cycle of one it would be the same problem twice.
    cycle = _find_cycle({name: [d for d in item.app.depends_on if d in by_name and d != name] for name, item in by_name.items()})
    if cycle:
        item = by_name[cycle[0]]
        problems.append(item.locator.problem(["depends_on"], f"dependency cycle: {' -> '.join(cycle)}"))
    return problems


def _database_problems(by_name: dict[str, SourcedApp]) -> list[SpecProblem]:
    known = list(databases.BY_NAME)
    problems = []
    for item in by_name.values():
        chosen = item.app.database
        if chosen is not None and chosen not in known:
            message = f"unknown database kind {chosen!r}; one of {', '.join(known)}{_suggest(chosen, known)}"
            problems.append(item.locator.problem(["database"], message))
    return problems


def _suggest(name: str, by_name: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(by_name), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _shared_source_problems(apps: dict[str, DesiredApp], by_name: dict[str, SourcedApp]) -> list[SpecProblem]:
    """Two apps naming the same writable source must both declare it shared (volumes_from is exempt)."""
    users: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for app in apps.values():
        for mount in app.mounts:
            if mount.holds_data and mount.owner_app == app.name and not mount.read_only:
                users.setdefault((mount.kind, mount.source), []).append((app.name, mount.key))
    problems: list[SpecProblem] = []
    for (kind, source), owners in users.items():
        unshared = [(a, k) for a, k in owners if k not in apps[a].shared_keys]
        if len(owners) > 1 and unshared:
            names = ", ".join(f"{a}/{k}" for a, k in owners)
            for app_name, key in unshared:
                problems.append(
                    by_name[app_name].locator.problem(
                        ["volumes", key],
                        f"{kind} {source} is also mounted writable by {names}; list {key!r} in shared_volumes of each app that shares it",
                    )
                )
    return problems


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return []


def dependency_order(apps: dict[str, DesiredApp]) -> list[str]:
    """Apps sorted so that each comes after what it depends on (and after its volumes_from source)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        # volumes_from sources too: their volumes must be created (with our labels) before use.
        borrowed = sorted({m.owner_app for m in apps[name].mounts} - {name, ""})
        for dep in (*apps[name].depends_on, *borrowed):
            if dep in apps:
                visit(dep)
        order.append(name)

    for name in sorted(apps):
        visit(name)
    return order
