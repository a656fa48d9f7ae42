#!/usr/bin/env bash
# Ensure a Docker engine answers on unix:///var/run/docker.sock.
#
# Machines of this project have a docker *client* but no engine, and no systemd to start one,
# and every session's processes are ended before CI runs: so the engine is installed from
# Debian (docker.io, engine 20.10, API 1.41) when missing and started here by hand.
# Idempotent and silent when the engine already answers. Run it, or source it:
#   bash scripts/engine.sh            # exits non-zero if no engine could be had
#   source scripts/engine.sh          # same, but returns instead of exiting, and leaves the
#                                     # caller's shell options alone
# Environment: STATEFUL_ENGINE_TIMEOUT (seconds to wait for the server, default 60),
#              STATEFUL_DOCKERD_LOG (default /var/log/dockerd.log).

_stateful_engine_sock=unix:///var/run/docker.sock
_stateful_engine_pidfile=/var/run/docker.pid

# The server half of `docker version` fails until dockerd answers. -H pins the socket so a
# DOCKER_HOST/DOCKER_CONTEXT pointing elsewhere cannot make us believe an engine is here.
# The docker 28 client at /usr/local/bin negotiates down to API 1.41 by itself, so no
# DOCKER_API_VERSION is needed; the Debian client (/usr/bin/docker) works as well.
_stateful_engine_answers() {
    # timeout: a starting dockerd accepts on the socket before it serves, and the client blocks.
    timeout 5 docker -H "$_stateful_engine_sock" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

# True when PID is a live process that is not a zombie (a killed dockerd lingers briefly as one,
# and dockerd refuses to start while the pid in its pidfile "exists").
_stateful_engine_pid_alive() {
    local pid=$1 state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# Drop a pidfile left by a process that is gone, a zombie, or whose pid was reused. Both dockerd
# (/var/run/docker.pid: "pid file found") and its managed containerd (a new dockerd waits 15 s
# for a containerd.pid that "is still running" and then dies) trip on a killed predecessor,
# which lingers as a zombie for a few seconds here because PID 1 reaps slowly.
_stateful_engine_clear_stale_pidfile() {
    local file=$1 comm=$2 pid
    [[ -f $file ]] || return 0
    pid=$(cat "$file" 2>/dev/null || true)
    if _stateful_engine_pid_alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]; then
        return 0
    fi
    rm -f "$file"
}

_stateful_engine_install() {
    command -v dockerd >/dev/null 2>&1 && return 0
    echo "engine.sh: installing docker.io (Docker engine) from Debian" >&2
    # apt's chatter goes to a file, shown only if the install fails.
    local out
    out=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends docker.io; } >"$out" 2>&1; then
        cat "$out" >&2
        rm -f "$out"
        return 1
    fi
    rm -f "$out"
    # The package's maintainer scripts cannot start it (no systemd): we do, below.
    command -v docker >/dev/null 2>&1 || { echo "engine.sh: no docker client after install" >&2; return 1; }
}

_stateful_engine_main() {
    local timeout=${STATEFUL_ENGINE_TIMEOUT:-60}
    local log=${STATEFUL_DOCKERD_LOG:-/var/log/dockerd.log}
    local attempt pid deadline existing

    _stateful_engine_answers && return 0
    _stateful_engine_install

    deadline=$((SECONDS + timeout))
    for attempt in 1 2 3 4 5; do
        _stateful_engine_clear_stale_pidfile "$_stateful_engine_pidfile" dockerd
        _stateful_engine_clear_stale_pidfile /var/run/docker/containerd/containerd.pid containerd
        existing=$(cat "$_stateful_engine_pidfile" 2>/dev/null || true)
        if [[ -n $existing ]]; then
            # A dockerd is alive but not answering yet (another caller started it): wait on it.
            pid=$existing
        else
            # setsid+nohup: the engine must outlive this script and the caller's process group.
            # Truncate the log on the first try only, so a failed retry still shows why the first died.
            ((attempt == 1)) && : >"$log"
            nohup setsid dockerd --host "$_stateful_engine_sock" </dev/null >>"$log" 2>&1 &
            pid=$!
        fi
        while ((SECONDS < deadline)); do
            _stateful_engine_answers && return 0
            # dockerd died early (typically "pid file found" while the old one is a zombie):
            # clear the pidfile and start again.
            _stateful_engine_pid_alive "$pid" || break
            sleep 0.2
        done
        ((SECONDS < deadline && attempt < 5)) || break
        echo "engine.sh: dockerd exited early (attempt $attempt), retrying" >&2
        sleep 1
    done

    _stateful_engine_answers && return 0
    echo "engine.sh: Docker engine did not answer on $_stateful_engine_sock within ${timeout}s; tail of $log:" >&2
    tail -n 30 "$log" >&2 2>/dev/null || true
    return 1
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
    # Sourced: run in a subshell so `set -e` and our variables do not leak into the caller.
    ( set -euo pipefail; _stateful_engine_main ) || return $?
else
    set -euo pipefail
    _stateful_engine_main || exit $?
fi
