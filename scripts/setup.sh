#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent and quiet when done already:
#   - the Python package and its test tools in .venv (reinstalled when pyproject.toml changes)
#   - a Docker engine answering on the local socket (Debian's docker.io, started by hand)
#   - the local test images (no registry here: built from Debian packages, cached)
# Source it to get the environment (PATH with .venv/bin, the image names) in your shell; the
# set-up runs in a subshell with errexit, so sourcing it leaves your shell's options as they were
# (a `stateful diff` that exits 1 must not close an interactive shell).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv

# compat: the checkout goes on sys.path through a plain .pth line. The default editable finder
# imports pathlib and importlib.util at every interpreter start (about 10 ms of each run).
_editable_mode=compat

_setup_python() {
    local stamp=$VENV/.installed-from
    local want
    # The install mode is part of the stamp: changing it reinstalls.
    want=$( (cat "$ROOT/pyproject.toml"; echo "$_editable_mode") | sha256sum | cut -c1-16)
    if [[ ! -x $VENV/bin/python ]]; then
        python3 -m venv "$VENV"
    fi
    if [[ $(cat "$stamp" 2>/dev/null) != "$want" ]]; then
        echo "setup: installing Python dependencies into .venv" >&2
        local log
        log=$(mktemp)
        # pip's chatter is shown only when the install fails.
        if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --config-settings "editable_mode=$_editable_mode" \
            -e "${ROOT}[test]" >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            return 1
        fi
        rm -f "$log"
        echo "$want" >"$stamp"
    fi
}

# A command of its own, status read after: in an `if`, `&&` or `||` bash ignores errexit inside.
(
    set -euo pipefail
    _setup_python
    # Bytecode, as a regular install has it: with PYTHONDONTWRITEBYTECODE set (as on these
    # machines) every run would compile the package from source again (about 25 ms of each run).
    "$VENV/bin/python" -m compileall -q "$ROOT/orchestrate" >/dev/null
    bash "$ROOT/scripts/images.sh"
)
_stateful_setup_status=$?
if ((_stateful_setup_status != 0)); then
    echo "setup: failed (see above)" >&2
    return "$_stateful_setup_status" 2>/dev/null || exit "$_stateful_setup_status"
fi
unset _stateful_setup_status

export PATH="$VENV/bin:$PATH"
# The tests and the demo run these local builds; outside this machine, unset them to use the
# official mariadb:11, redis:7, postgres:15 and busybox images named in the specs.
export STATEFUL_MARIADB_IMAGE=${STATEFUL_MARIADB_IMAGE:-stateful-test/mariadb:10.11}
export STATEFUL_MARIADB_IMAGE_ALT=${STATEFUL_MARIADB_IMAGE_ALT:-stateful-test/mariadb:10.11-alt}
export STATEFUL_REDIS_IMAGE=${STATEFUL_REDIS_IMAGE:-stateful-test/redis:7.0}
export STATEFUL_REDIS_IMAGE_ALT=${STATEFUL_REDIS_IMAGE_ALT:-stateful-test/redis:7.0-alt}
export STATEFUL_BUSYBOX_IMAGE=${STATEFUL_BUSYBOX_IMAGE:-stateful-test/busybox:latest}
export STATEFUL_POSTGRES_IMAGE=${STATEFUL_POSTGRES_IMAGE:-stateful-test/postgres:15}
export STATEFUL_POSTGRES_IMAGE_ALT=${STATEFUL_POSTGRES_IMAGE_ALT:-stateful-test/postgres:15-alt}
# A later major version of each database, for tests of a change of major version. Not built by
# this script: `scripts/images.sh --second-majors` builds them when such a test needs them
# (the official equivalents: postgres:17, mariadb:11.8, redis:8.0).
export STATEFUL_POSTGRES_NEXT_IMAGE=${STATEFUL_POSTGRES_NEXT_IMAGE:-stateful-test/postgres:17}
export STATEFUL_MARIADB_NEXT_IMAGE=${STATEFUL_MARIADB_NEXT_IMAGE:-stateful-test/mariadb:11.8}
export STATEFUL_REDIS_NEXT_IMAGE=${STATEFUL_REDIS_NEXT_IMAGE:-stateful-test/redis:8.0}
