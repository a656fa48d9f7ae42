"""The Docker implementation of the engine interface (docker SDK, low-level API).

Observation is cheap on purpose: one list call each for containers, volumes and networks, then
inspects only of the containers and images that matter, side by side; on a local socket it reads
through UnixReader, so a run that changes nothing never loads the SDK. SDK exceptions never leave
this module: callers see EngineUnreachable, TransientEngineError, NotFoundError or EngineError.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from orchestrate import labels as L
from orchestrate.backends.docker.inspect import (
    container_from_inspect,
    image_from_inspect,
    listed_from_list,
    mount_users_from_list,
    volume_from_inspect,
)
from orchestrate.backends.docker.replace import RenameReplace
from orchestrate.backends.docker.unix_reader import UnixReader
from orchestrate.backends.interface import EngineEvent, Snapshot
from orchestrate.backends.parallel import WORKERS, in_parallel
from orchestrate.errors import EngineError, EngineUnreachable, NotFoundError, TransientEngineError
from orchestrate.model.capture import Capture
from orchestrate.model.desired import DesiredApp, Mount, VolumeSpec
from orchestrate.model.observed import ImageDefaults, ObservedContainer
from orchestrate.spec.hosts import TlsFiles

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
API_TIMEOUT = 120  # seconds; a stop waits for the grace period on top of this
# Pinned rather than negotiated: negotiation costs a round trip on every run, and 1.41 (engine
# 20.10) has everything we use; newer engines serve older API versions.
API_VERSION = os.environ.get("DOCKER_API_VERSION", "1.41")
SSH_READERS = 3  # concurrent requests to an ssh:// engine (see DockerEngine.__init__)


if TYPE_CHECKING:
    import docker
    from docker.types import Healthcheck as DockerHealthcheck
    from docker.types import Mount as DockerMount


@contextmanager
def translated(endpoint: str, what: str) -> Iterator[None]:
    """Turn SDK and transport errors into ours, keeping the engine's own message."""
    import docker.errors  # loaded by then: only SDK calls are translated here
    import requests.exceptions

    try:
        yield
    except docker.errors.NotFound as exc:
        raise NotFoundError(f"{what}: {_explain(exc)}") from None
    except docker.errors.APIError as exc:
        kind = TransientEngineError if exc.is_server_error() and not _is_permanent(exc) else EngineError
        raise kind(f"{what}: {_explain(exc)}") from None
    except (requests.exceptions.ConnectionError, ConnectionError, FileNotFoundError) as exc:
        raise EngineUnreachable(endpoint, _short(exc)) from None
    except requests.exceptions.ReadTimeout:
        raise TransientEngineError(f"{what}: the engine did not answer in {API_TIMEOUT}s") from None
    except docker.errors.DockerException as exc:
        raise EngineError(f"{what}: {exc}") from None


def _explain(exc: Any) -> str:
    return str(exc.explanation or exc)


def _is_permanent(exc: Any) -> bool:
    # The engine answers 500 for some errors that will never pass (bad mount source, pull denied).
    text = _explain(exc).lower()
    return any(word in text for word in ("no such", "not found", "invalid", "denied", "does not exist", "pull access"))


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "No such file or directory", "Connection aborted", "timed out"):
        if marker in text:
            return marker
    return text[:200]


class DockerEngine:
    def __init__(self, endpoint: str | None = None, *, tls: TlsFiles | None = None) -> None:
        self.endpoint = endpoint or os.environ.get("DOCKER_HOST") or DEFAULT_ENDPOINT
        self.tls = tls
        # Over ssh each concurrent request is an SSH session, and sshd allows 10 per connection by
        # default (MaxSessions): reads side by side stay well under it.
        self.workers = SSH_READERS if self.endpoint.startswith("ssh://") else WORKERS
        self.mutations = 0
        self._counting = threading.Lock()
        self.replace = RenameReplace(self)
        self.reader = UnixReader(self.endpoint, API_VERSION) if self.endpoint.startswith("unix://") else None

    @cached_property
    def api(self) -> docker.APIClient:
        """The SDK client, made on first use (a quiet run on a local socket never needs it)."""
        import docker

        with translated(self.endpoint, "connect"):
            try:
                return docker.APIClient(base_url=self.endpoint, version=API_VERSION, timeout=API_TIMEOUT, tls=self._tls_config())
            except docker.errors.DockerException as exc:
                raise EngineUnreachable(self.endpoint, _short(exc)) from None

    def _tls_config(self) -> Any:
        """A tcp:// engine's client certificate and CA (hosts.yaml), verified; else no TLS."""
        if self.tls is None:
            return False
        import docker.tls

        cert = (str(self.tls.cert), str(self.tls.key))
        return docker.tls.TLSConfig(client_cert=cert, ca_cert=str(self.tls.ca), verify=True)

    def _get(self, path: str, params: dict[str, Any] | None, what: str, sdk_call: Any) -> Any:
        if self.reader is not None:
            return self.reader.get(path, params, what=what)
        with translated(self.endpoint, what):
            return sdk_call()

    # --- observation -------------------------------------------------------------------------

    def version(self) -> str:
        return str(self._get("/version", None, "version", lambda: self.api.version()).get("Version", "?"))

    def snapshot(self, *, app_names: Iterable[str], image_refs: Iterable[str]) -> Snapshot:
        names, refs = set(app_names), sorted(set(image_refs))
        # The three lists and the images the specs name do not depend on each other: asked at once.
        reads: list[Callable[[], Any]] = [
            lambda: self._get("/containers/json", {"all": 1}, "list containers", lambda: self.api.containers(all=True)),
            lambda: self._get("/volumes", None, "list volumes", lambda: self.api.volumes()).get("Volumes") or [],
            lambda: self._get("/networks", None, "list networks", lambda: self.api.networks()),
            *(partial(self.inspect_image, ref) for ref in refs),
        ]
        listed, volumes, networks, *named = in_parallel(lambda read: read(), reads, workers=self.workers)
        wanted = [c["Id"] for c in listed if _relevant(c, names)]
        inspected = [c for c in in_parallel(self.inspect_container, wanted, workers=self.workers) if c is not None]
        images = {ref: image for ref, image in zip(refs, named, strict=True) if image is not None}
        images |= {image.id: image for image in images.values()}
        # Only a container on an image no spec names any more (the tag moved on) needs one more read.
        others = sorted({c.image_id for c in inspected} - images.keys())
        found = in_parallel(self.inspect_image, others, workers=self.workers)
        images |= {ref: image for ref, image in zip(others, found, strict=True) if image is not None}
        return Snapshot(
            containers={c.name: c for c in inspected},
            volumes={v["Name"]: volume_from_inspect(v) for v in volumes},
            networks=frozenset(n["Name"] for n in networks),
            images=images,
            mount_users=mount_users_from_list(listed),
            listed=listed_from_list(listed),
        )

    def inspect_container(self, ref: str) -> ObservedContainer | None:
        found = self._raw_inspect("container", ref)
        return None if found is None else container_from_inspect(found)

    def inspect_image(self, ref: str) -> ImageDefaults | None:
        found = self._raw_inspect("image", ref)
        return None if found is None else image_from_inspect(found)

    def capture(self, names: list[str]) -> list[Capture]:
        from orchestrate.backends.docker.capture import capture_containers  # only capture/adopt need it, not every run

        return capture_containers(self._raw_inspect, names, endpoint=self.endpoint)

    def _raw_inspect(self, kind: str, ref: str) -> dict[str, Any] | None:
        """Docker's own inspect document of a container or image; None if absent. Never leaves the backend."""
        try:
            if self.reader is not None:
                return dict(self.reader.container(ref) if kind == "container" else self.reader.image(ref))
            call = {"container": lambda: self.api.inspect_container(ref), "image": lambda: self.api.inspect_image(ref)}[kind]
            with translated(self.endpoint, f"inspect {kind} {ref}"):
                return dict(call())
        except NotFoundError:
            return None

    def logs_tail(self, container_id: str, lines: int = 20) -> str:
        try:
            with translated(self.endpoint, "logs"):
                raw = self.api.logs(container_id, tail=lines)
        except EngineError:
            return ""
        return raw.decode("utf-8", "replace").rstrip()

    def containers_using_volume(self, name: str) -> list[str]:
        with translated(self.endpoint, f"list users of volume {name}"):
            listed = self.api.containers(all=True, filters={"volume": name})
        return sorted(c["Names"][0].lstrip("/") for c in listed)

    def stream_events(self, *, label: str, actions: Iterable[str]) -> DockerEventStream:
        with translated(self.endpoint, "events"):
            raw = self.api.events(decode=True, filters={"type": "container", "label": label, "event": list(actions)})
        return DockerEventStream(raw, self.endpoint)

    # --- mutations ---------------------------------------------------------------------------

    def _mutate(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        with self._counting:  # apps are applied from several threads
            self.mutations += 1
        with translated(self.endpoint, what):
            return call(*args, **kwargs)

    def pull(self, ref: str) -> ImageDefaults:
        repository, _, tag = ref.rpartition(":") if "@" not in ref else (ref, "", "")
        self._mutate(f"pull {ref}", self.api.pull, repository or ref, tag=tag or None)
        image = self.inspect_image(ref)
        if image is None:
            raise EngineError(f"pull {ref}: the image is still not present after the pull")
        return image

    def create_volume(self, volume: VolumeSpec) -> None:
        self._mutate(
            f"create volume {volume.name}",
            self.api.create_volume,
            name=volume.name,
            driver=volume.driver,
            driver_opts=dict(volume.driver_opts) or None,
            labels=L.volume_labels(app=volume.app, key=volume.key, volume_id=uuid.uuid4().hex),
        )

    def remove_volume(self, name: str) -> None:
        self._mutate(f"remove volume {name}", self.api.remove_volume, name)

    def create_network(self, name: str) -> None:
        self._mutate(f"create network {name}", self.api.create_network, name, driver="bridge", labels=L.network_labels())

    def create_container(self, app: DesiredApp, *, name: str, labels: dict[str, str]) -> str:
        host_config = self.api.create_host_config(
            mounts=[_docker_mount(m) for m in app.mounts],
            port_bindings=_port_bindings(app),
            restart_policy={"Name": app.restart, "MaximumRetryCount": app.restart_retries},
            mem_limit=app.memory or None,
            nano_cpus=app.nano_cpus or None,
            network_mode=app.network,
        )
        networking = None
        if app.aliases:
            networking = self.api.create_networking_config({app.network: self.api.create_endpoint_config(aliases=list(app.aliases))})
        created = self._mutate(
            f"create container {name}",
            self.api.create_container,
            image=app.image,
            name=name,
            command=list(app.command) if app.command is not None else None,
            entrypoint=list(app.entrypoint) if app.entrypoint is not None else None,
            environment=dict(app.env),
            user=app.user,
            labels={**app.labels, **labels},
            ports=[(p.container_port, p.protocol) for p in app.ports] or None,
            healthcheck=_docker_healthcheck(app),
            stop_timeout=app.stop_grace_seconds,
            host_config=host_config,
            networking_config=networking,
            detach=True,
            use_config_proxy=False,  # proxy env from the client's config would show as drift
        )
        container_id = str(created["Id"])
        try:
            self._join_more_networks(container_id, app)
        except EngineError:
            self.remove_container(container_id)  # half made: the caller sees no container, as for a failed create
            raise
        return container_id

    def _join_more_networks(self, container_id: str, app: DesiredApp) -> None:
        # The create call joins one network; the others are joined before the first start, so the
        # app starts on every network it needs.
        for network, aliases in app.more_networks:
            self._mutate(
                f"connect {container_id[:12]} to network {network}",
                self.api.connect_container_to_network,
                container_id,
                network,
                aliases=list(aliases) or None,
            )

    def start(self, container_id: str) -> None:
        self._mutate(f"start {container_id[:12]}", self.api.start, container_id)

    def stop(self, container_id: str, *, timeout: int) -> None:
        self._mutate(f"stop {container_id[:12]}", self.api.stop, container_id, timeout=timeout)

    def rename(self, container_id: str, name: str) -> None:
        self._mutate(f"rename {container_id[:12]} to {name}", self.api.rename, container_id, name)

    def remove_container(self, container_id: str) -> None:
        # v=False: removing a container never removes a volume.
        self._mutate(f"remove container {container_id[:12]}", self.api.remove_container, container_id, v=False, force=True)

    def exec_capture(self, container_id: str, command: list[str]) -> tuple[int, bytes]:
        with translated(self.endpoint, f"exec in {container_id[:12]}"):
            created = self.api.exec_create(container_id, command, stdout=True, stderr=False)
            output = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"]).get("ExitCode")
        return int(code if code is not None else 1), output

    def run_helper(self, image: str, command: list[str], mounts: list[Mount], *, name: str) -> tuple[int, str]:
        host_config = self.api.create_host_config(mounts=[_docker_mount(m) for m in mounts], network_mode="none")
        labels = {L.MANAGED: "true", L.APP: name.split(L.RESERVED_INFIX)[0]}
        created = self._mutate(
            f"create helper {name}", self.api.create_container, image=image, command=command, name=name, host_config=host_config, labels=labels
        )
        helper = str(created["Id"])
        try:
            self._mutate(f"start helper {name}", self.api.start, helper)
            with translated(self.endpoint, f"wait for helper {name}"):
                status = self.api.wait(helper, timeout=None)
                output = self.api.logs(helper).decode("utf-8", "replace")
            return int(status.get("StatusCode", 1)), output
        finally:
            self._mutate(f"remove helper {name}", self.api.remove_container, helper, v=False, force=True)

    def update_restart(self, container_id: str, *, policy: str, retries: int) -> None:
        self._mutate(
            f"update {container_id[:12]}",
            self.api.update_container,
            container_id,
            restart_policy={"Name": policy, "MaximumRetryCount": retries},
        )


class DockerEventStream:
    def __init__(self, raw: Any, endpoint: str) -> None:
        self.raw = raw
        self.endpoint = endpoint

    def __iter__(self) -> Iterator[EngineEvent]:
        with translated(self.endpoint, "events"):
            for event in self.raw:
                attributes = (event.get("Actor") or {}).get("Attributes") or {}
                yield EngineEvent(event.get("Type", ""), event.get("Action", ""), attributes.get("name", ""), attributes)

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # closing a stream whose connection already broke
            return


def _relevant(listed: dict[str, Any], app_names: set[str]) -> bool:
    """The containers worth an inspect: those holding an app's name or a temporary one of it."""
    names = {n.lstrip("/") for n in listed.get("Names") or ()}
    if names & app_names:
        return True
    app = (listed.get("Labels") or {}).get(L.APP, "")
    return app in app_names and L.is_ours(listed.get("Labels"))


def _docker_mount(mount: Mount) -> DockerMount:
    from docker.types import Mount as DockerMount

    if mount.kind == "tmpfs":
        return DockerMount(mount.target, None, type="tmpfs", read_only=mount.read_only, tmpfs_size=mount.tmpfs_size, tmpfs_mode=mount.tmpfs_mode)
    return DockerMount(mount.target, mount.source, type=mount.kind, read_only=mount.read_only)


def _port_bindings(app: DesiredApp) -> dict[str, list[tuple[str, int] | int | None]]:
    bindings: dict[str, list[Any]] = {}
    for port in app.ports:
        host: Any = (port.host_ip, port.host_port or "") if port.host_ip else port.host_port
        bindings.setdefault(port.key, []).append(host)
    return bindings


def _docker_healthcheck(app: DesiredApp) -> DockerHealthcheck | None:
    from docker.types import Healthcheck as DockerHealthcheck

    check = app.healthcheck
    if check is None:
        return None
    return DockerHealthcheck(
        test=list(check.test),
        interval=check.interval_ns or None,
        timeout=check.timeout_ns or None,
        retries=check.retries or None,
        start_period=check.start_period_ns or None,
    )


