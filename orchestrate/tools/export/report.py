"""What both exports share: the files they produce, the notes on what does not translate, the
split of an app's env into plain and secret values, and YAML rendering. Pure: no I/O here.

A secret value may go into an OutputFile marked private (written 0600), never into a note.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML

from orchestrate.model.desired import DesiredApp, Mount

NANOSECONDS = 1_000_000_000
# Words that YAML 1.1 readers (kubectl's among them) take for booleans: always quoted, so an env
# value `no` stays the string "no" wherever the file is read.
YAML11_BOOLEANS = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")


@dataclass(frozen=True)
class OutputFile:
    name: str  # relative to the export directory
    text: str
    private: bool = False  # holds secret values: written 0600


@dataclass
class Notes:
    """One line per thing that does not translate (or translates only with a step of yours)."""

    lines: list[str] = field(default_factory=list)

    def add(self, app: str, where: str, message: str) -> None:
        self.lines.append(f"{app}: {where}: {message}")


@dataclass(frozen=True)
class Export:
    files: tuple[OutputFile, ...]
    notes: tuple[str, ...]


def plain_env(app: DesiredApp) -> dict[str, str]:
    return {k: v for k, v in sorted(app.env.items()) if k not in app.secret_env_keys}


def secret_env(app: DesiredApp) -> dict[str, str]:
    return {k: app.env[k] for k in app.secret_env_keys if k in app.env}


def is_secret_file(mount: Mount) -> bool:
    """A `secrets:` file: a read-only bind that is no volume key of any app."""
    return mount.kind == "bind" and not mount.key


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def render(documents: Iterable[Mapping[str, Any]], comments: Iterable[str] = ()) -> str:
    """YAML documents in the order their keys were built (a manifest reads top-down)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    yaml.representer.add_representer(str, _string)
    yaml.representer.ignore_aliases = lambda _data: True  # no &id001: manifests are read by people
    out = io.StringIO()
    for line in comments:
        out.write(f"# {line}\n")
    yaml.dump_all([dict(d) for d in documents], out)
    return out.getvalue()


def _string(representer: Any, value: str) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style="'" if YAML11_BOOLEANS.match(value) else None)
