"""Validated specs, remembered: an unchanged spec set skips YAML parsing and validation.

`reconcile` from cron reads the same files every minute. The cache key holds every input of the
desired state: each spec file's path and content, the values of the variables the files refer to,
and the content of the env files and secrets they read. Any difference means a full load, and a
spec with problems is never cached.

No secret is kept at rest: the key holds digests only, and an env value that came from the
environment or an env file is stored as its digest plus where it came from (the template, or
"an env file"); a hit re-derives it and checks the digest, and any mismatch is a miss. A spec
set that uses a secret-looking variable outside `env:` is not cached at all. The format is JSON,
whose loading runs no code.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from orchestrate import __version__
from orchestrate.model.desired import BindDir, DesiredApp, Healthcheck, Mount, PortBinding, VolumeSpec, looks_secret
from orchestrate.spec.files import spec_files
from orchestrate.spec.inputs import ENV_FILE_MAX, SECRET_MAX, InputRefused, read_input
from orchestrate.spec.interpolate import InterpolationError, interpolate

FORMAT = f"specs/2/{__version__}"
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


class _Miss(Exception):
    """The entry cannot serve this run (a value could not be re-derived)."""


def load_cached(
    paths: Iterable[str | Path], environ: Mapping[str, str], cache_dir: Path | None, load: Callable[[], list[DesiredApp]]
) -> list[DesiredApp]:
    files, problems = spec_files(paths)
    if cache_dir is None or problems or not files:
        return load()
    texts = [(path, path.read_bytes()) for path in files]
    key = _key(texts, environ)
    which = _digest("\n".join(str(f.resolve()) for f in files).encode("utf-8", "surrogateescape"))[:16]
    entry = cache_dir / f"specs-{which}.json"
    cached = _read(entry)
    if cached is not None and cached.get("key") == key and _unchanged(cached.get("inputs", {})):
        try:
            return [_thaw(app, environ) for app in cached["desired"]]
        except (_Miss, KeyError, TypeError, ValueError, AttributeError):
            pass  # an entry we cannot use is only a slower run
    desired = load()
    if not _secret_outside_env(texts, desired):
        inputs = {p: _file_digest(p) for a in desired for p in a.inputs}
        _write(entry, {"key": key, "inputs": inputs, "desired": [_freeze(a) for a in desired]})
    return desired


def _key(texts: list[tuple[Path, bytes]], environ: Mapping[str, str]) -> str:
    parts = [FORMAT]
    for path, content in texts:
        names = sorted(set(VARIABLE.findall(content.decode("utf-8", "replace"))))
        parts += [str(path.resolve()), _digest(content), *(f"{n}={environ.get(n, chr(0))}" for n in names)]
    return _digest("\n".join(parts).encode("utf-8", "surrogateescape"))  # file names may hold any byte


def _secret_outside_env(texts: list[tuple[Path, bytes]], desired: list[DesiredApp]) -> bool:
    """Whether a secret-looking variable is used where the cache would keep its value (not in env)."""
    used = collections.Counter(n for _, c in texts for n in VARIABLE.findall(c.decode("utf-8", "replace")))
    in_env = collections.Counter(n for a in desired for _, t in a.env_sources for n in VARIABLE.findall(t))
    return any(looks_secret(name) and count > in_env[name] for name, count in used.items())


def _freeze(app: DesiredApp) -> dict[str, Any]:
    """The app as JSON values, with every env value that is not literal in the spec as a digest."""
    body = asdict(app)
    sources = dict(app.env_sources)
    body["env"] = {k: {"sha256": _digest(v.encode())} if k in sources else v for k, v in app.env.items()}
    return body


def _thaw(body: dict[str, Any], environ: Mapping[str, str]) -> DesiredApp:
    check = body.get("healthcheck")
    app = DesiredApp(
        **{
            **body,
            "command": _tuple(body["command"]),
            "entrypoint": _tuple(body["entrypoint"]),
            "ports": tuple(PortBinding(**p) for p in body["ports"]),
            "mounts": tuple(Mount(**m) for m in body["mounts"]),
            "volumes": tuple(VolumeSpec(**{**v, "driver_opts": tuple(tuple(o) for o in v["driver_opts"])}) for v in body["volumes"]),
            "bind_dirs": tuple(BindDir(**b) for b in body["bind_dirs"]),
            "healthcheck": Healthcheck(**{**check, "test": tuple(check["test"])}) if check else None,
            **{name: tuple(body[name]) for name in ("aliases", "depends_on", "shared_keys", "secret_env_keys", "inputs")},
            "env_sources": tuple((k, t) for k, t in body["env_sources"]),
            "more_networks": tuple((n, tuple(a)) for n, a in body.get("more_networks", ())),
        }
    )
    return replace(app, env=_rederive(app, environ))


def _tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _rederive(app: DesiredApp, environ: Mapping[str, str]) -> dict[str, str]:
    """Env values from their sources; _Miss unless each one has the digest that was stored."""
    env: dict[str, str] = {}
    file_values: list[dict[str, str]] | None = None
    for key, stored in app.env.items():
        if not isinstance(stored, dict):
            env[key] = stored
            continue
        template = dict(app.env_sources).get(key, "")
        if template:
            candidates = [_interpolated(template, environ)]
        else:
            file_values = _env_files(app) if file_values is None else file_values
            candidates = [values[key] for values in file_values if key in values]
        env[key] = next((c for c in candidates if _digest(c.encode()) == stored.get("sha256")), None) or _miss()
    return env


def _interpolated(template: str, environ: Mapping[str, str]) -> str:
    try:
        return interpolate(template, environ)
    except InterpolationError:
        raise _Miss() from None


def _env_files(app: DesiredApp) -> list[dict[str, str]]:
    """What each input file holds as an env file, the last one first (later files win)."""
    if not app.inputs:
        return []
    from dotenv import dotenv_values  # only for specs with env files: every run's start-up counts

    values = []
    for path in reversed(app.inputs):
        try:
            values.append({k: v or "" for k, v in dotenv_values(path, interpolate=False).items()})
        except (OSError, UnicodeDecodeError):
            continue
    return values


def _miss() -> str:
    raise _Miss()


def _unchanged(inputs: Mapping[str, str]) -> bool:
    return all(_file_digest(path) == digest for path, digest in inputs.items())


def _file_digest(path: str) -> str:
    try:  # bounded, regular files only: an input swapped for a FIFO must not hang the check
        return _digest(read_input(Path(path), max(ENV_FILE_MAX, SECRET_MAX)))
    except InputRefused:
        return ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_uid != os.geteuid():
            return None  # only what we wrote ourselves
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def _write(path: Path, entry: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(entry, out)
        os.replace(temporary, path)
    except OSError:
        return  # a cache that cannot be written is only a slower next run
