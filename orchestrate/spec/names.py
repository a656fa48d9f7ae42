"""Names for things that come from outside a spec (containers, compose services, mount paths).

Shared by capture and import, so that an app imported from compose and later captured gets the
same name and the same volume keys.
"""

from __future__ import annotations

import re
from collections.abc import Container


def app_name(text: str) -> str:
    """The spec's app name for a container or service name: [a-z0-9][a-z0-9_.-]*, at most 63 characters."""
    cleaned = re.sub(r"[^a-z0-9_.-]", "-", text.lower()).lstrip("_.-") or "app"
    return cleaned.replace(".stateful-", "-stateful-")[:63]


def volume_key(target: str, taken: Container[str]) -> str:
    """A volume key from the target's last component (/var/lib/mysql -> mysql), unique within `taken`."""
    base = re.sub(r"[^a-z0-9_]+", "_", target.rstrip("/").rsplit("/", 1)[-1].lower()).strip("_") or "root"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key
