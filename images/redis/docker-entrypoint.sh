#!/bin/bash
# Entrypoint of stateful-test/redis, shaped like the official redis image's:
#   - arguments that start with "-" (or name a .conf file) are redis-server arguments:
#     `docker run IMG --maxmemory 10mb`;
#   - redis-server always loads /etc/redis/stateful.conf first (dir /data, appendonly yes,
#     bind 0.0.0.0, protected-mode no) unless the first argument is a .conf file;
#     later command-line options override it;
#   - started as root, it gives /data to redis (uid 999) and re-runs itself as redis;
#   - redis-server is exec'd, so it is PID 1 and saves and exits cleanly on SIGTERM.
set -euo pipefail

if [[ ${1:-} == -* || ${1:-} == *.conf ]]; then
    set -- redis-server "$@"
fi

if [[ ${1:-} == redis-server ]]; then
    if [[ ${2:-} != *.conf ]]; then
        set -- redis-server /etc/redis/stateful.conf "${@:2}"
    fi
    if [[ $(id -u) == 0 ]]; then
        # A bind mount may come root-owned; the server runs as redis (999), so hand it over.
        find /data \! -user redis -exec chown redis:redis '{}' +
        # As the official image: files private to redis unless the caller chose a umask.
        [[ $(umask) == 0022 ]] && umask 0077
        exec setpriv --reuid=redis --regid=redis --init-groups -- "${BASH_SOURCE[0]}" "$@"
    fi
fi

exec "$@"
