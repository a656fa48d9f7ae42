"""Field-level comparison of a desired app with its observed container.

Both sides are normalised first: a value equal to the running image's own default counts as
"not chosen" on either side, so image ENV, CMD, labels, user and healthcheck never cause false
drift. FIELD_RULES declares every compared field and what a difference costs (recreate, or an
in-place update). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orchestrate import databases
from orchestrate import labels as L
from orchestrate.model.desired import BUILTIN_NETWORKS, DesiredApp, Healthcheck, Mount, looks_secret
from orchestrate.model.observed import ImageDefaults, ObservedContainer, ObservedMount

UNSET = None


class Effect(StrEnum):
    RECREATE = "recreate"  # the engine cannot change it on a container: a new one is needed
    UPDATE = "update"  # `docker update` changes it in place
    INIT_ONLY = "init-only"  # read only when an empty datadir is initialised: no effect on existing data


@dataclass(frozen=True)
class FieldDiff:
    field: str
    old: Any  # JSON-able; None means "(unset)"
    new: Any
    effect: Effect = Effect.RECREATE
    secret: bool = False


@dataclass(frozen=True)
class Sides:
    """Everything a rule needs: the two sides and the defaults of the image the container runs."""

    desired: DesiredApp
    observed: ObservedContainer
    defaults: ImageDefaults
    desired_image_id: str | None  # id of the desired reference locally; None when absent
    initialised: bool = False  # the app's data exists: init-only settings have no effect


Rule = Callable[[Sides], list[FieldDiff]]


def chosen(value: Any, default: Any) -> Any:
    """What the user chose: a value equal to the image's default is the same as omitting it."""
    if value is None or value == default:
        return UNSET
    return value


def compare(sides: Sides) -> list[FieldDiff]:
    diffs: list[FieldDiff] = []
    for rule in FIELD_RULES:
        diffs.extend(rule(sides))
    return diffs


def _scalar(name: str, desired: Any, observed: Any, effect: Effect = Effect.RECREATE) -> list[FieldDiff]:
    return [] if desired == observed else [FieldDiff(name, observed, desired, effect)]


def _image(s: Sides) -> list[FieldDiff]:
    if s.desired.image != s.observed.image:
        return [FieldDiff("image", s.observed.image, s.desired.image)]
    if s.desired_image_id and s.desired_image_id != s.observed.image_id:
        # Same tag, new content (pulled or rebuilt): the container still runs the old image.
        return [FieldDiff("image", f"{s.observed.image} ({_short(s.observed.image_id)})", f"{s.desired.image} ({_short(s.desired_image_id)})")]
    return []


def _env(s: Sides) -> list[FieldDiff]:
    image_env = s.defaults.env
    want = {k: v for k, v in s.desired.env.items() if chosen(v, image_env.get(k)) is not UNSET}
    have = {k: v for k, v in s.observed.env.items() if chosen(v, image_env.get(k)) is not UNSET}
    secret = set(s.desired.secret_env_keys)
    # Init-only settings are the app's own database kind's: the same name on another image is an
    # ordinary setting, and a change to it needs a recreate.
    database = databases.resolve(s.desired.database, s.defaults)
    return [
        FieldDiff(
            f"env.{key}",
            have.get(key),
            want.get(key),
            Effect.INIT_ONLY if s.initialised and database.init_only(key) else Effect.RECREATE,
            secret=key in secret or looks_secret(key),
        )
        for key in sorted(set(want) | set(have))
        if want.get(key) != have.get(key)
    ]


def _argv(s: Sides) -> list[FieldDiff]:
    img = s.defaults
    want_entry = chosen(_list(s.desired.entrypoint), list(img.entrypoint))
    have_entry = chosen(list(s.observed.entrypoint), list(img.entrypoint))
    want_cmd = chosen(_list(s.desired.command), list(img.cmd))
    have_cmd = chosen(list(s.observed.cmd), list(img.cmd))
    # An empty CMD is no choice: the engine runs the image's CMD instead, or with an entrypoint of
    # the container's own none at all (it inherits no CMD). Either way omitted == empty.
    if not want_cmd:
        want_cmd = UNSET
    if not have_cmd:
        have_cmd = UNSET
    return _scalar("entrypoint", want_entry, have_entry) + _scalar("command", want_cmd, have_cmd)


def _list(value: tuple[str, ...] | None) -> list[str] | None:
    return None if value is None else list(value)


def _ports(s: Sides) -> list[FieldDiff]:
    # The observed side reports every address (0.0.0.0, ::) as "": so must the desired side.
    want = sorted(str(p.on_every_address()) for p in s.desired.ports)
    have = sorted(str(p) for p in s.observed.ports)
    return _scalar("ports", want or UNSET, have or UNSET)


def _mounts(s: Sides) -> list[FieldDiff]:
    return mount_diffs(s.desired.mounts, s.observed.mounts)


def mount_diffs(desired: tuple[Mount, ...], observed: tuple[ObservedMount, ...]) -> list[FieldDiff]:
    """Differences per mount target; also used to verify a new container's mounts after a recreate."""
    want = {m.target: (m, _mount_text(m)) for m in desired}
    have = {m.target: _mount_text(m) for m in observed}
    diffs: list[FieldDiff] = []
    for target in sorted(set(want) | set(have)):
        mount, wanted = want.get(target, (None, None))
        name = f"volumes.{mount.key}" if mount is not None and mount.key and mount.owner_app else f"mounts.{target}"
        if wanted != have.get(target):
            diffs.append(FieldDiff(name, have.get(target), wanted))
    return diffs


def _mount_text(mount: Mount | ObservedMount) -> str:
    """Everything a mount is made of, as one comparable text: its source, and a tmpfs's size and mode."""
    text = describe_mount(mount.kind, mount.source, mount.read_only)
    options = []
    if mount.kind == "tmpfs" and mount.tmpfs_size:
        options.append(f"size {_bytes(mount.tmpfs_size)}")
    if mount.kind == "tmpfs" and mount.tmpfs_mode:
        options.append(f"mode {mount.tmpfs_mode:o}")
    return f"{text} ({', '.join(options)})" if options else text


def _bytes(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def describe_mount(kind: str, source: str, read_only: bool) -> str:
    text = f"{kind} {source}".strip() if kind != "tmpfs" else "tmpfs"
    return f"{text} (ro)" if read_only else text


def _network(s: Sides) -> list[FieldDiff]:
    # Some engines list the container name among the aliases by themselves: it never counts.
    def own(aliases: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a for a in aliases if a != s.desired.name)

    want = {net: own(aliases) for net, aliases in s.desired.networks}
    have = {net: own(aliases) for net, aliases in s.observed.networks.items()}
    diffs = _scalar("network", sorted(want), sorted(have))
    if diffs:
        return diffs
    for net in want:
        if net in BUILTIN_NETWORKS:
            continue  # the engine's own networks keep no aliases of ours
        name = "network.aliases" if len(want) == 1 else f"networks.{net}.aliases"
        diffs += _scalar(name, list(want[net]), list(have.get(net, ())))
    return diffs


def _restart(s: Sides) -> list[FieldDiff]:
    want = _policy(s.desired.restart, s.desired.restart_retries)
    have = _policy(s.observed.restart, s.observed.restart_retries)
    return _scalar("restart", want, have, Effect.UPDATE)


def _policy(name: str, retries: int) -> str:
    return f"{name}:{retries}" if name == "on-failure" and retries else name


def _healthcheck(s: Sides) -> list[FieldDiff]:
    image = s.defaults.healthcheck
    want = chosen(merged_healthcheck(s.desired.healthcheck, image), image)
    have = chosen(s.observed.healthcheck, image)
    return _scalar("healthcheck", _health_text(want), _health_text(have))


def merged_healthcheck(desired: Healthcheck | None, image: Healthcheck | None) -> Healthcheck | None:
    """The engine fills the timings a healthcheck leaves at zero from the image's healthcheck."""
    if desired is None or image is None or desired.test == ("NONE",):
        return desired
    return Healthcheck(
        test=desired.test,
        interval_ns=desired.interval_ns or image.interval_ns,
        timeout_ns=desired.timeout_ns or image.timeout_ns,
        retries=desired.retries or image.retries,
        start_period_ns=desired.start_period_ns or image.start_period_ns,
    )


def _health_text(check: Healthcheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    text: dict[str, Any] = {"test": list(check.test)}
    for name in ("interval_ns", "timeout_ns", "start_period_ns"):
        if value := getattr(check, name):
            text[name.removesuffix("_ns")] = f"{value / 1e9:g}s"
    if check.retries:
        text["retries"] = check.retries
    return text


def _stop_grace(s: Sides) -> list[FieldDiff]:
    return _scalar("stop_grace_period", f"{s.desired.stop_grace_seconds}s", f"{s.observed.stop_grace_seconds}s")


def _resources(s: Sides) -> list[FieldDiff]:
    return _scalar("resources.memory", s.desired.memory or UNSET, s.observed.memory or UNSET) + _scalar(
        "resources.cpus", s.desired.nano_cpus / 1e9 or UNSET, s.observed.nano_cpus / 1e9 or UNSET
    )


def _user(s: Sides) -> list[FieldDiff]:
    image_user = s.defaults.user or UNSET
    return _scalar("user", chosen(s.desired.user, image_user), chosen(s.observed.user or UNSET, image_user))


def _labels(s: Sides) -> list[FieldDiff]:
    image = s.defaults.labels
    want = {k: v for k, v in s.desired.labels.items() if chosen(v, image.get(k)) is not UNSET}
    have = {k: v for k, v in L.user_labels(s.observed.labels).items() if chosen(v, image.get(k)) is not UNSET}
    return [FieldDiff(f"labels.{k}", have.get(k), want.get(k)) for k in sorted(set(want) | set(have)) if want.get(k) != have.get(k)]


def _secrets(s: Sides) -> list[FieldDiff]:
    have = s.observed.labels.get(L.SECRETS_HASH, "")
    if s.desired.secrets_hash == have:
        return []
    return [FieldDiff("secrets", "(old content)" if have else None, "(new content)" if s.desired.secrets_hash else None, secret=True)]


def _short(image_id: str | None) -> str:
    return (image_id or "").removeprefix("sha256:")[:12]


FIELD_RULES: tuple[Rule, ...] = (
    _image,
    _argv,
    _env,
    _ports,
    _mounts,
    _network,
    _restart,
    _healthcheck,
    _stop_grace,
    _resources,
    _user,
    _labels,
    _secrets,
)

# Which rule compares each observed field, and why the others are not compared. A field that is
# observed but in neither is silent drift: tests/unit/test_compared_fields.py holds every field
# of ObservedContainer to one of the two, and each compared one to a rule that sees it change.
COMPARED_BY: dict[str, Rule] = {
    "image": _image,
    "image_id": _image,
    "cmd": _argv,
    "entrypoint": _argv,
    "env": _env,
    "ports": _ports,
    "mounts": _mounts,
    "networks": _network,
    "restart": _restart,
    "restart_retries": _restart,
    "healthcheck": _healthcheck,
    "stop_timeout": _stop_grace,
    "memory": _resources,
    "nano_cpus": _resources,
    "user": _user,
    "labels": _labels,  # and _secrets, which reads our secrets-hash label
}
NOT_COMPARED = {
    "id": "the container's identity, not its configuration",
    "name": "how the app's container is found, not a setting of it",
    "status": "a stopped container is planned as a start, not as a difference",
    "health": "judged by the health gate when the app starts",
    "started_at": "run time, read by the health gate to see a restart",
    "restart_count": "run time, read by the health gate to see a restart",
}
