#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: set-up, lint, import contracts, unit tests, and
# the integration tests against a real Docker engine with real MariaDB and Redis containers.
# Extra arguments go to pytest (e.g. `scripts/test.sh -k recreate`).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

# The second-major images (tests of a version change) build beside the lint and type checks; the
# build is a no-op when they are current, and the tests wait for it below.
bash scripts/images.sh --second-majors >"${TMPDIR:-/tmp}/stateful-second-majors.log" 2>&1 &
second_majors=$!

echo "== ruff" >&2
ruff check orchestrate tests bench
echo "== types" >&2
mypy
echo "== import contracts" >&2
lint-imports --no-cache
echo "== tests" >&2
# Engine tests must run, never be skipped for want of an engine (set-up above started one).
export STATEFUL_REQUIRE_ENGINE=1
if ! wait "$second_majors"; then
    cat "${TMPDIR:-/tmp}/stateful-second-majors.log" >&2
    echo "test.sh: building the second-major images failed" >&2
    exit 1
fi
# Independent integration tests run side by side; each uses its own names.
exec pytest -n "${STATEFUL_TEST_WORKERS:-4}" --dist loadgroup "$@"
