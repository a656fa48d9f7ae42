"""DesiredApp -> Kubernetes manifests: a StatefulSet of one replica, its headless Service, and a
Secret. Pure: measured sizes and secret file contents come in as plain values; nothing is read,
written or printed here.

Each data key becomes a claim of the StatefulSet (a claim starts empty: the data must be copied
in); what Kubernetes cannot express is a note, never silently dropped.
"""

from __future__ import annotations

import base64
import math
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from orchestrate.model.desired import BUILTIN_NETWORKS, DesiredApp, Healthcheck, Mount
from orchestrate.tools.export.report import NANOSECONDS, Export, Notes, OutputFile, human_size, is_secret_file, plain_env, render, secret_env

GIB = 1024**3
HEADROOM = 2  # a claim cannot shrink and growing one needs a resizable storage class: start with room
MINIMUM_CLAIM = GIB
SELECTOR = "app.kubernetes.io/name"
# Docker's healthcheck defaults, for the fields a spec leaves at 0.
DOCKER_INTERVAL_S, DOCKER_TIMEOUT_S, DOCKER_RETRIES = 30, 30, 3
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def translate(app: DesiredApp, *, sizes: Mapping[str, int | None], secret_files: Mapping[str, bytes]) -> Export:
    """`sizes`: measured bytes per data key (None: unknown); `secret_files`: contents by host path."""
    notes = Notes()
    name = object_name(app.name)
    if name != app.name:
        notes.add(app.name, "name", f"not a valid Kubernetes name; the objects are named {name}")
    labels = {SELECTOR: name, **_valid_labels(app, notes)}
    pod = _pod(app, name, notes)
    claims = _claims(app, sizes, notes)
    secret = _secret(app, name, secret_files)
    _note_untranslated(app, name, notes)
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,  # one writer: the StatefulSet never runs two pods of one ordinal
            "serviceName": name,
            "selector": {"matchLabels": {SELECTOR: name}},
            # The data outlives the StatefulSet, as it outlives a container here.
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {"metadata": {"labels": labels}, "spec": pod},
            **({"volumeClaimTemplates": claims} if claims else {}),
        },
    }
    files = [OutputFile(f"{name}.yaml", render([statefulset, _service(app, name)], [f"exported by stateful from {app.spec_file}"]))]
    if secret is not None:
        files.append(OutputFile(f"{name}.secret.yaml", render([secret], ["secret values: keep this file private"]), private=True))
    return Export(tuple(files), tuple(notes.lines))


def object_name(name: str) -> str:
    """A DNS-1035 label (what a Service name must be): lowercase letters, digits and dashes."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not label[:1].isalpha():
        label = f"app-{label}"
    return label[:63].rstrip("-")


def claim_size(measured: int | None) -> int:
    """Bytes to request: the measured size with headroom, in whole GiB, at least MINIMUM_CLAIM."""
    if measured is None:
        return MINIMUM_CLAIM
    return max(MINIMUM_CLAIM, math.ceil(measured * HEADROOM / GIB) * GIB)


def quantity(size: int) -> str:
    for unit, factor in (("Gi", GIB), ("Mi", 1024**2), ("Ki", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _pod(app: DesiredApp, name: str, notes: Notes) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = []
    container: dict[str, Any] = {"name": name, "image": app.image}
    if app.entrypoint is not None:
        container["command"] = [_literal(a) for a in app.entrypoint]
    if app.command is not None:
        container["args"] = [_literal(a) for a in app.command]
    env = _env(app, name)
    if env:
        container["env"] = env
    if app.ports:
        container["ports"] = [{"containerPort": port, "protocol": proto.upper()} for port, proto in _container_ports(app)]
    mounts = _mounts(app, name, volumes, notes)
    if mounts:
        container["volumeMounts"] = mounts
    limits = _limits(app)
    if limits:
        container["resources"] = {"limits": limits}
    container.update(_probes(app, notes))
    security = _run_as(app, notes)
    if security:
        container["securityContext"] = security
    pod: dict[str, Any] = {"containers": [container], "terminationGracePeriodSeconds": app.stop_grace_seconds}
    if volumes:
        pod["volumes"] = volumes
    return pod


def _container_ports(app: DesiredApp) -> list[tuple[int, str]]:
    """Each port once: one published on two host addresses is still one port of the pod."""
    return sorted({(p.container_port, p.protocol) for p in app.ports})


def _literal(value: str) -> str:
    # Kubernetes expands $(VAR) in args and env values; $$( keeps it literal, as Docker would.
    return value.replace("$(", "$$(")


def _env(app: DesiredApp, name: str) -> list[dict[str, Any]]:
    plain = [{"name": k, "value": _literal(v)} for k, v in plain_env(app).items()]
    hidden = [{"name": k, "valueFrom": {"secretKeyRef": {"name": secret_name(name), "key": k}}} for k in secret_env(app)]
    return sorted(plain + hidden, key=lambda e: str(e["name"]))


def secret_name(name: str) -> str:
    return f"{name}-secrets"


def _mounts(app: DesiredApp, name: str, volumes: list[dict[str, Any]], notes: Notes) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    for mount in app.mounts:
        entry: dict[str, Any] = {"name": "", "mountPath": mount.target}
        if mount.kind == "tmpfs":
            entry["name"] = f"tmpfs-{object_name(mount.key)}"
            volumes.append({"name": entry["name"], "emptyDir": _memory(mount)})
            if mount.tmpfs_mode is not None:
                notes.add(app.name, f"volumes.{mount.key}", f"tmpfs mode {mount.tmpfs_mode:o} not translated (an emptyDir's mode is the kubelet's)")
        elif is_secret_file(mount):
            entry.update(name="secret-files", subPath=secret_file_key(mount), readOnly=True)
            if not any(v["name"] == "secret-files" for v in volumes):
                volumes.append({"name": "secret-files", "secret": {"secretName": secret_name(name)}})
        elif mount.owner_app != app.name:
            why = "a claim belongs to one pod; share it with a ReadWriteMany volume"
            notes.add(app.name, "volumes_from", f"{mount.owner_app}/{mount.key} at {mount.target} not translated: {why}")
            continue
        else:
            entry["name"] = object_name(mount.key)
            if mount.read_only:
                entry["readOnly"] = True
        mounts.append(entry)
    return mounts


def _memory(mount: Mount) -> dict[str, Any]:
    return {"medium": "Memory", **({"sizeLimit": quantity(mount.tmpfs_size)} if mount.tmpfs_size else {})}


def secret_file_key(mount: Mount) -> str:
    return re.sub(r"[^-._a-zA-Z0-9]", "-", posixpath.basename(mount.target)) or "secret"


def _claims(app: DesiredApp, sizes: Mapping[str, int | None], notes: Notes) -> list[dict[str, Any]]:
    claims = []
    for mount in app.mounts:
        if not mount.holds_data or mount.owner_app != app.name:
            continue
        measured = sizes.get(mount.key)
        size = claim_size(measured)
        where = f"volumes.{mount.key}"
        seen = f"measured {human_size(measured)}, x{HEADROOM}" if measured is not None else "size unknown: no healthy run recorded yet; the minimum"
        claim = f"claim {object_name(mount.key)} of {quantity(size)} ({seen})"
        notes.add(app.name, where, f"{mount.kind} {mount.source} becomes {claim}; it starts empty: copy the data into it")
        spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": quantity(size)}}}
        claims.append({"metadata": {"name": object_name(mount.key)}, "spec": spec})
    return claims


def _limits(app: DesiredApp) -> dict[str, str]:
    limits = {}
    if app.memory:
        limits["memory"] = quantity(app.memory)
    if app.nano_cpus:
        limits["cpu"] = f"{math.ceil(app.nano_cpus / 1_000_000)}m"
    return limits


def _probes(app: DesiredApp, notes: Notes) -> dict[str, Any]:
    check = app.healthcheck
    if check is None:
        why = "the image's own HEALTHCHECK does not translate (Kubernetes ignores it)"
        notes.add(app.name, "healthcheck", f"{why}: no probes; give the spec a healthcheck")
        return {}
    if not check.test or check.test[0] == "NONE":
        return {}
    probe = _probe(check)
    probes = {"readinessProbe": probe, "livenessProbe": probe}
    if check.start_period_ns:
        # Docker ignores failures during the start period; a startup probe holds the others off as long.
        grace = math.ceil(check.start_period_ns / NANOSECONDS / probe["periodSeconds"])
        probes["startupProbe"] = {**probe, "failureThreshold": grace + probe["failureThreshold"]}
    return probes


def _probe(check: Healthcheck) -> dict[str, Any]:
    kind, *rest = check.test
    command = ["sh", "-c", " ".join(rest)] if kind == "CMD-SHELL" else (rest if kind == "CMD" else list(check.test))
    return {
        "exec": {"command": command},
        "periodSeconds": _seconds(check.interval_ns, DOCKER_INTERVAL_S),
        "timeoutSeconds": _seconds(check.timeout_ns, DOCKER_TIMEOUT_S),
        "failureThreshold": check.retries or DOCKER_RETRIES,
    }


def _seconds(ns: int, default: int) -> int:
    return max(1, math.ceil(ns / NANOSECONDS)) if ns else default


def _run_as(app: DesiredApp, notes: Notes) -> dict[str, int]:
    if not app.user:
        return {}
    user, _, group = app.user.partition(":")
    context = {}
    if user.isdigit():
        context["runAsUser"] = int(user)
    if group.isdigit():
        context["runAsGroup"] = int(group)
    if not user.isdigit() or (group and not group.isdigit()):
        notes.add(app.name, "user", f"{app.user!r}: Kubernetes takes numeric ids only; set runAsUser/runAsGroup yourself")
    return context


def _valid_labels(app: DesiredApp, notes: Notes) -> dict[str, str]:
    valid = {}
    for key, value in sorted(app.labels.items()):
        if _valid_label(key, value):
            valid[key] = value
        else:
            notes.add(app.name, f"labels.{key}", "not a valid Kubernetes label; left out")
    return valid


def _valid_label(key: str, value: str) -> bool:
    prefix, _, name = key.rpartition("/")
    prefix_ok = not prefix or (len(prefix) <= 253 and bool(LABEL_PREFIX.match(prefix)))
    return prefix_ok and bool(LABEL_NAME.match(name)) and len(value) <= 63 and bool(LABEL_VALUE.match(value))


def _service(app: DesiredApp, name: str) -> dict[str, Any]:
    ports = _container_ports(app)
    spec: dict[str, Any] = {"clusterIP": "None", "selector": {SELECTOR: name}}
    if ports:
        spec["ports"] = [{"name": f"{proto}-{port}", "port": port, "targetPort": port, "protocol": proto.upper()} for port, proto in ports]
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {SELECTOR: name}}, "spec": spec}


def _secret(app: DesiredApp, name: str, secret_files: Mapping[str, bytes]) -> dict[str, Any] | None:
    files = {secret_file_key(m): base64.b64encode(secret_files[m.source]).decode() for m in app.mounts if is_secret_file(m)}
    env = secret_env(app)
    if not files and not env:
        return None
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret_name(name)}, "type": "Opaque"}
    if env:
        body["stringData"] = env
    if files:
        body["data"] = files
    return body


def _note_untranslated(app: DesiredApp, name: str, notes: Notes) -> None:
    for port in app.ports:
        outside = "use a NodePort or LoadBalancer Service to reach it from outside"
        notes.add(app.name, "ports", f"{port} is published on the host; the headless Service {name} reaches it inside the cluster only: {outside}")
    if app.restart != "always":
        notes.add(app.name, "restart", f"{app.restart}: a StatefulSet's pod always restarts (Always)")
    for network, aliases in app.networks:
        if network not in BUILTIN_NETWORKS:
            notes.add(app.name, "network", f"{network}: Kubernetes has one pod network; other apps reach this one at the Service {name}")
        if aliases:
            notes.add(app.name, "network.aliases", f"{', '.join(aliases)} not translated: add a Service (ExternalName or selector) per alias")
    if app.depends_on:
        wait = "pods start independently; let the app retry, or add an init container that waits"
        notes.add(app.name, "depends_on", f"{', '.join(app.depends_on)} not translated: {wait}")
    for volume in app.volumes:
        if volume.driver != "local" or volume.driver_opts:
            notes.add(app.name, f"volumes.{volume.key}", f"driver {volume.driver} and its options not translated: choose a storageClassName")
    for bind in app.bind_dirs:
        if bind.owner or bind.mode is not None:
            notes.add(app.name, f"volumes.{bind.key}", "owner/mode of the host dir not translated: use the pod's securityContext.fsGroup")
