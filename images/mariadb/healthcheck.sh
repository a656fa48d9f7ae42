#!/bin/sh
# Docker HEALTHCHECK for the stateful-test MariaDB image. `ping` exits 0 whenever mariadbd
# answers on its socket, even with "Access denied", so no credentials are needed (and none
# are kept in the container). The socket only exists once the real server is up: the first
# start initialises the data dir with `mariadbd --bootstrap`, which opens no socket.
exec mariadb-admin --no-defaults --socket=/run/mysqld/mysqld.sock --user=healthcheck \
    --connect-timeout=3 ping >/dev/null 2>&1
