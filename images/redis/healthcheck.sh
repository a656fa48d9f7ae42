#!/bin/sh
# Docker HEALTHCHECK for stateful-test/redis. redis-cli exits 0 even when the reply is an
# error (e.g. "LOADING Redis is loading the dataset in memory"), so compare the reply itself.
[ "$(redis-cli -h 127.0.0.1 -p "${REDIS_PORT:-6379}" ping 2>/dev/null)" = PONG ]
