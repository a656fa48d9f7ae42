"""A container started by hand, as a spec: what a backend's capture hands to tools/adopt.

Plain values only: no engine, no files, no engine-specific documents (those stay in the backend
that read them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Capture:
    name: str  # the app name it is written as
    spec: dict[str, Any]  # a v1 spec document
    secrets: dict[str, str] = field(default_factory=dict)  # env values moved out of the spec
    report: list[str] = field(default_factory=list)  # what the spec cannot express
