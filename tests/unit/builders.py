"""Builders for unit tests: specs on disk -> DesiredApp, and observed state without an engine.

`container_for` makes the container a correct `create` would have made from a DesiredApp on a
given image (the image's ENV, CMD and labels merged in the way Docker merges them), so that a
test only states the one thing that differs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrate import labels as L
from orchestrate.model.desired import DesiredApp
from orchestrate.model.observed import HostDir, ImageDefaults, ListedContainer, ObservedContainer, ObservedMount, ObservedState, ObservedVolume
from orchestrate.runs.pipeline import load

MARIADB_ID = "sha256:" + "a" * 64
MARIADB = ImageDefaults(
    id=MARIADB_ID,
    env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "MARIADB_MAJOR": "11.4", "LANG": "C.UTF-8"},
    cmd=("mariadbd",),
    entrypoint=("docker-entrypoint.sh",),
    labels={"org.opencontainers.image.version": "11.4.2"},
    healthcheck=None,
    user="",
    volumes=("/var/lib/mysql",),
)


# One MariaDB app with a fast healthcheck, and the same app with a changed (recreating) env value:
# the executor, recovery, replace-strategy and run tests share them.
MYSQL_SPEC = """
apiVersion: stateful/v1
kind: App
name: mysql
image: mariadb:11.4
env: {MARIADB_DATABASE: demo}
volumes:
  data: {target: /var/lib/mysql}
healthcheck: {test: [CMD, healthcheck.sh], interval: 1s, retries: 3}
"""
MYSQL_CHANGED = MYSQL_SPEC.replace("MARIADB_DATABASE: demo", "MARIADB_DATABASE: shop")


def write_spec(directory: Path, text: str, name: str = "apps.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def load_apps(directory: Path, text: str, *, environ: dict[str, str] | None = None) -> list[DesiredApp]:
    """DesiredApps from one spec file, through the real loader (and so in dependency order)."""
    return load([write_spec(directory, text)], environ or {})


def load_app(directory: Path, text: str, *, environ: dict[str, str] | None = None) -> DesiredApp:
    (app,) = load_apps(directory, text, environ=environ)
    return app


def container_for(
    app: DesiredApp,
    image: ImageDefaults = MARIADB,
    *,
    status: str = "running",
    health: str = "",
    container_id: str | None = None,
    generation: int = 1,
    **changes: Any,
) -> ObservedContainer:
    """The container that creating `app` on `image` produces; `changes` override single fields."""
    own_entrypoint = app.entrypoint is not None
    # Docker fills an empty CMD from the image, unless the container has its own entrypoint.
    cmd = app.command or (() if own_entrypoint else image.cmd)
    container = ObservedContainer(
        id=container_id or f"{app.name}-id",
        name=app.name,
        image=app.image,
        image_id=image.id,
        status=status,
        health=health,
        labels={
            **image.labels,
            **app.labels,
            **L.container_labels(app=app.name, spec_hash=app.spec_hash, spec_file=app.spec_file, generation=generation),
        },
        env={**image.env, **app.env},
        cmd=cmd,
        entrypoint=app.entrypoint if own_entrypoint else image.entrypoint,
        ports=app.ports,
        mounts=tuple(ObservedMount(m.target, m.kind, m.source, m.read_only, m.tmpfs_size, m.tmpfs_mode) for m in app.mounts),
        networks=dict(app.networks),
        restart=app.restart,
        restart_retries=app.restart_retries,
        healthcheck=app.healthcheck or image.healthcheck,
        stop_timeout=app.stop_grace_seconds,
        memory=app.memory,
        nano_cpus=app.nano_cpus,
        user=app.user or image.user,
    )
    return replace(container, **changes)


def foreign_container(name: str, image: ImageDefaults = MARIADB) -> ObservedContainer:
    """A container someone started by hand (`docker run --name NAME`): no labels of ours."""
    return ObservedContainer(
        id=f"{name}-foreign",
        name=name,
        image="mariadb:11.4",
        image_id=image.id,
        status="running",
        health="",
        labels=dict(image.labels),
        env=dict(image.env),
        cmd=image.cmd,
        entrypoint=image.entrypoint,
        ports=(),
        mounts=(),
        networks={"bridge": ()},
        restart="no",
        restart_retries=0,
        healthcheck=None,
        stop_timeout=None,
        memory=0,
        nano_cpus=0,
        user="",
    )


def volume(name: str, *, app: str = "", key: str = "", driver: str = "local", options: dict[str, str] | None = None) -> ObservedVolume:
    labels = L.volume_labels(app=app, key=key) if app else {}
    return ObservedVolume(name=name, driver=driver, options=options or {}, labels=labels, mountpoint=f"/var/lib/docker/volumes/{name}/_data")


def state(
    *,
    containers: Iterable[ObservedContainer] = (),
    volumes: Iterable[ObservedVolume] = (),
    networks: Iterable[str] = ("bridge", "host", "none"),
    images: dict[str, ImageDefaults] | None = None,
    host_dirs: Iterable[HostDir] = (),
) -> ObservedState:
    """An ObservedState; `images` maps references to images and is indexed by id too, as the engine does."""
    by_ref = dict(images if images is not None else {"mariadb:11.4": MARIADB})
    return ObservedState(
        containers={c.name: c for c in containers},
        volumes={v.name: v for v in volumes},
        networks=frozenset(networks),
        images={**by_ref, **{img.id: img for img in by_ref.values()}},
        host_dirs={d.path: d for d in host_dirs},
        listed={c.name: ListedContainer(c.id, c.name, c.labels, c.status) for c in containers},
    )
