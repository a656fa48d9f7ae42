"""Read spec files: YAML with positions, interpolation, env files, secrets, model validation.

Every problem is collected and reported at once as `file:line:col: field: message`. Nothing here
touches Docker.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import ScalarNode

from orchestrate.errors import SpecError, SpecProblem
from orchestrate.spec.files import HOSTS_FILES, spec_files
from orchestrate.spec.hosts import check_apps_hosts, load_hosts
from orchestrate.spec.inputs import SECRET_MAX, InputRefused, read_env_file, read_input
from orchestrate.spec.interpolate import InterpolationError, interpolate
from orchestrate.spec.locate import Locator
from orchestrate.spec.models import ENV_KEY, App
from orchestrate.spec.paths import engine_socket, host_path_refusal
from orchestrate.spec.yamlguard import MAX_BYTES, YamlRefusal, check_events, check_text


@dataclass(frozen=True)
class SourcedApp:
    """A validated app together with where it came from and what it read from disk."""

    app: App
    file: Path
    locator: Locator
    env_from_files: Mapping[str, str] = field(default_factory=dict)
    secret_digests: Mapping[str, str] = field(default_factory=dict)
    env_templates: Mapping[str, str] = field(default_factory=dict)  # env values as written, before interpolation

    @property
    def base_dir(self) -> Path:
        return self.file.parent


def load_specs(paths: Iterable[str | Path], environ: Mapping[str, str] | None = None) -> list[SourcedApp]:
    """Load and validate every app in `paths`; raise SpecError listing every problem found."""
    environ = os.environ if environ is None else environ
    files, problems = spec_files(paths)
    apps: list[SourcedApp] = []
    for path in files:
        if path.name in HOSTS_FILES:
            continue
        file_apps, file_problems = load_file(path, environ)
        apps.extend(file_apps)
        problems.extend(file_problems)
    if problems:
        raise SpecError(problems)
    hosts_files = [path for path in files if path.name in HOSTS_FILES]
    if len(hosts_files) > 1:
        raise SpecError([SpecProblem(str(path), 0, 0, "", "a spec set has one hosts file") for path in hosts_files[1:]])
    hosts = load_hosts(hosts_files[0]) if hosts_files else {}
    check_apps_hosts(hosts, ((s.app.name, s.app.host, s.locator) for s in apps if s.app.host))
    return apps


def read_documents(path: Path) -> list[Any]:
    """The YAML documents of one file, read under the same limits as a spec."""
    try:
        return _documents(_read_text(path))
    except YamlRefusal as exc:
        raise ValueError(f"line {exc.line}: {exc.message}") from None


def load_file(path: Path, environ: Mapping[str, str]) -> tuple[list[SourcedApp], list[SpecProblem]]:
    display = str(path)
    try:
        documents = _documents(_read_text(path))
    except YamlRefusal as exc:
        return [], [SpecProblem(display, exc.line, exc.column, "", exc.message)]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        return [], [SpecProblem(display, line, col, "", f"YAML syntax error: {message}")]
    except InputRefused as exc:
        return [], [SpecProblem(display, 0, 0, "", exc.reason)]
    except UnicodeDecodeError as exc:
        return [], [SpecProblem(display, 0, 0, "", f"is not UTF-8 text (at byte {exc.start + 1})")]
    apps: list[SourcedApp] = []
    problems: list[SpecProblem] = []
    for document in documents:
        if document is None:
            continue
        locator = Locator(display, document)
        if not isinstance(document, CommentedMap):
            problems.append(locator.problem([], "a spec document must be a mapping (apiVersion, kind, name, …)"))
            continue
        app, doc_problems = _load_document(path.resolve(), locator, environ)
        problems.extend(doc_problems)
        if app is not None:
            apps.append(app)
    return apps, problems


def _read_text(path: Path) -> str:
    try:
        data = read_input(path, MAX_BYTES)
    except InputRefused as exc:
        if exc.too_large:
            raise YamlRefusal(0, 0, f"larger than {MAX_BYTES // 1024} KiB; a spec file is at most that") from None
        raise
    return data.decode("utf-8")


def _documents(text: str) -> list[Any]:
    """The YAML documents in `text`, once the text and its events passed the guard's limits."""
    check_text(text)
    check_events(text)
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return list(yaml.load_all(text))


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, but a date or time stays text: the spec has no date fields,
    and an impossible date (2001-13-45) would be a ValueError inside the constructor."""


def _timestamp_as_text(constructor: RoundTripConstructor, node: ScalarNode) -> Any:
    return constructor.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _load_document(
    path: Path, locator: Locator, environ: Mapping[str, str]
) -> tuple[SourcedApp | None, list[SpecProblem]]:
    env = locator.root.get("env")
    templates = {str(k): str(v) for k, v in env.items() if isinstance(v, str)} if isinstance(env, CommentedMap) else {}
    problems = _interpolate_tree(locator.root, [], locator, environ)
    if problems:
        return None, problems
    try:
        app = App.model_validate(_plain(locator.root))
    except ValidationError as exc:
        return None, _validation_problems(exc, locator)
    problems = _host_path_problems(app, path.parent, locator, environ)
    if problems:  # a refused path is not read at all: /etc/shadow's lines must not reach an error
        return None, problems
    env_from_files, file_problems = _read_env_files(app, path.parent, locator)
    digests, secret_problems = _digest_secrets(app, path.parent, locator)
    problems = file_problems + secret_problems
    if problems:
        return None, problems
    return SourcedApp(app, path, locator, env_from_files, digests, templates), []


def _interpolate_tree(
    node: Any, loc: list[str | int], locator: Locator, environ: Mapping[str, str], seen: set[int] | None = None
) -> list[SpecProblem]:
    problems: list[SpecProblem] = []
    items: Iterable[tuple[Any, Any]]
    seen = set() if seen is None else seen
    if id(node) in seen:  # an aliased node is one node: interpolating it twice would eat `$$`
        return problems
    seen.add(id(node))
    if isinstance(node, CommentedMap):
        items = list(node.items())
    elif isinstance(node, CommentedSeq):
        items = list(enumerate(node))
    else:
        return problems
    for key, value in items:
        if isinstance(value, str) and "$" in value:
            try:
                node[key] = interpolate(value, environ)
            except InterpolationError as exc:
                problems.append(locator.problem([*loc, key], str(exc)))
        else:
            problems.extend(_interpolate_tree(value, [*loc, key], locator, environ, seen))
    return problems


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists, for pydantic."""
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _validation_problems(exc: ValidationError, locator: Locator) -> list[SpecProblem]:
    merged: dict[tuple[str, int, int], list[str]] = {}
    for error in exc.errors():
        loc = list(error["loc"])
        unknown = error["type"] == "extra_forbidden"
        message = _unknown_key_message(loc) if unknown else _clean(error["msg"])
        field, line, col = locator.resolve(loc, at_key=unknown)
        messages = merged.setdefault((field, line, col), [])
        if message not in messages:
            messages.append(message)
    return [SpecProblem(locator.file, line, col, field, "; or ".join(msgs)) for (field, line, col), msgs in merged.items()]


def _clean(message: str) -> str:
    if message == "Field required":
        return "required field is missing"
    return message.removeprefix("Value error, ")


# Keys from other tools that people carry over; difflib alone would not find these.
SYNONYMS = {
    "environment": "env",
    "container_name": "name",
    "restart_policy": "restart",
    "stop_timeout": "stop_grace_period",
    "mem_limit": "resources",
    "volume": "volumes",
    "port": "ports",
    "cmd": "command",
    "read-only": "read_only",
    "readonly": "read_only",
}


def _unknown_key_message(loc: list[str | int]) -> str:
    key = str(loc[-1])
    known = _known_keys(loc[:-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not close:
        carried = difflib.get_close_matches(key, list(SYNONYMS), n=1, cutoff=0.8)
        close = [SYNONYMS[carried[0]]] if carried and SYNONYMS[carried[0]] in known else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key {key!r}{hint}"


def _known_keys(loc: list[str | int]) -> list[str]:
    """The field names allowed at `loc`, following the models (dict values and union members)."""
    model: type[BaseModel] | None = App
    skip_next = False
    for part in loc:
        if skip_next:
            skip_next = False
            continue
        if model is None or not isinstance(part, str) or part not in _field_names(model):
            continue
        annotation = _field_annotation(model, part)
        model, skip_next = _model_in(annotation)
    return sorted(_field_names(model)) if model else []


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    return {(info.alias or name): name for name, info in model.model_fields.items()}


def _field_annotation(model: type[BaseModel], key: str) -> Any:
    return model.model_fields[_field_names(model)[key]].annotation


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model an annotation leads to, and whether a mapping key comes first (dict[str, Model])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and args:
        model, _ = _model_in(args[-1])
        return model, True
    for arg in args:
        model, skip = _model_in(arg)
        if model is not None:
            return model, skip
    return None, False


def _read_env_files(app: App, base: Path, locator: Locator) -> tuple[dict[str, str], list[SpecProblem]]:
    env: dict[str, str] = {}
    problems: list[SpecProblem] = []
    for index, name in enumerate(app.env_file):
        try:
            values = read_env_file(base / name)
        except InputRefused as exc:
            problems.append(locator.problem(["env_file", index], str(exc)))
            continue
        # The names are not echoed: a file that is not an env file (a key, a password list) would
        # otherwise print its content.
        bad = [n for n, key in enumerate(values, 1) if not ENV_KEY.fullmatch(key)]
        if bad:
            message = f"{base / name}: {len(bad)} entries are not NAME=value lines with a valid name (the first is entry {bad[0]})"
            problems.append(locator.problem(["env_file", index], message))
        env.update(values)
    return env, problems


def _digest_secrets(app: App, base: Path, locator: Locator) -> tuple[dict[str, str], list[SpecProblem]]:
    digests: dict[str, str] = {}
    problems: list[SpecProblem] = []
    for name, secret in app.secrets.items():
        try:
            digests[name] = hashlib.sha256(read_input(base / secret.file, SECRET_MAX)).hexdigest()
        except InputRefused as exc:
            problems.append(locator.problem(["secrets", name, "file"], str(exc)))
    return digests, problems


def _host_path_problems(app: App, base: Path, locator: Locator, environ: Mapping[str, str]) -> list[SpecProblem]:
    """Every host path the app would mount or read, against the sensitive-path rule.

    Paths are resolved on this machine, symlinks followed: a bind source lives on the app's host,
    and the only host a spec may name today is the local one. When apps run on other hosts, their
    paths must be resolved there (through the host's files), not here.
    """
    allowed = [entry for raw in app.allow_host_paths for entry in (raw, _resolved(raw))]
    socket = engine_socket(environ)
    extra = [socket, _resolved(socket)] if socket else []
    places: list[tuple[list[str | int], str]] = [(["env_file", i], name) for i, name in enumerate(app.env_file)]
    places += [(["secrets", name, "file"], secret.file) for name, secret in app.secrets.items()]
    for key, volume in app.volumes.items():
        if volume.bind is not None:
            places.append((["volumes", key, "bind"], volume.bind))
        device = volume.driver_opts.get("device", "")
        if (volume.driver or "local").removesuffix(":latest") == "local" and device.startswith("/"):
            places.append((["volumes", key, "driver_opts", "device"], device))
    problems = []
    for loc, written in places:
        refusal = host_path_refusal(_resolved(base / written), allowed, extra)
        if refusal:
            problems.append(locator.problem(loc, refusal))
    return problems


def _resolved(path: str | Path) -> str:
    """`path` absolute with symlinks followed as far as they can be read (a link we may not read,
    such as /proc/1/root, stays as written and is judged as written)."""
    try:
        return os.path.realpath(path)
    except OSError:
        return os.path.normpath(os.path.abspath(path))
