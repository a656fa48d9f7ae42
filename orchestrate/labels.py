"""Label names and the naming rules for what `stateful` creates.

Everything we create carries these labels so that any run can rebuild its view from Docker alone.
"""

from __future__ import annotations

PREFIX = "io.stateful."
MANAGED = "io.stateful.managed"
APP = "io.stateful.app"
SPEC_HASH = "io.stateful.spec-hash"
SPEC_VERSION = "io.stateful.spec-version"
SPEC_FILE = "io.stateful.spec-file"
SECRETS_HASH = "io.stateful.secrets-hash"
GENERATION = "io.stateful.generation"
VOLUME_KEY = "io.stateful.volume"
# The state dir a container is managed from (its resolved path). Its journal and the data's
# fingerprints are there: a run from another state dir (root's cron and a user's shell) leaves
# the app alone rather than race a recreate or roll back one that is in flight.
STATE_DIR = "io.stateful.state-dir"
# A unique id given to each volume we create: a volume deleted and made again under the same
# name (by hand, or by another tool) does not carry it, so the data guard can tell them apart.
VOLUME_ID = "io.stateful.volume-id"

# Bumped only when the meaning of the canonical spec changes; a new tool version alone never
# causes a recreate.
CURRENT_SPEC_VERSION = "1"

# Temporary container names used during a recreate. App names cannot contain ".stateful-", so
# these never collide with an app.
NEW_SUFFIX = ".stateful-new"
OLD_SUFFIX = ".stateful-old"
RESERVED_INFIX = ".stateful-"


def container_labels(*, app: str, spec_hash: str, spec_file: str, generation: int, state_dir: str = "") -> dict[str, str]:
    labels = {
        MANAGED: "true",
        APP: app,
        SPEC_HASH: spec_hash,
        SPEC_VERSION: CURRENT_SPEC_VERSION,
        SPEC_FILE: spec_file,
        GENERATION: str(generation),
    }
    if state_dir:
        labels[STATE_DIR] = state_dir
    return labels


def managed_from(labels: dict[str, str], state_dir: str) -> bool:
    """Is a managed container ours to change from `state_dir`? Containers made before the label
    existed (no label) are, as is everything when the caller names no state dir."""
    other = labels.get(STATE_DIR, "")
    return not other or not state_dir or other == state_dir


def volume_labels(*, app: str, key: str, volume_id: str = "") -> dict[str, str]:
    labels = {MANAGED: "true", APP: app, VOLUME_KEY: key}
    if volume_id:
        labels[VOLUME_ID] = volume_id
    return labels


def network_labels() -> dict[str, str]:
    return {MANAGED: "true"}


def is_ours(labels: dict[str, str] | None) -> bool:
    return labels is not None and labels.get(MANAGED) == "true"


def user_labels(labels: dict[str, str] | None) -> dict[str, str]:
    """Labels minus our own bookkeeping."""
    return {k: v for k, v in (labels or {}).items() if not k.startswith(PREFIX)}
