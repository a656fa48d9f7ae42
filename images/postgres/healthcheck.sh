#!/bin/sh
# Docker HEALTHCHECK for stateful-test/postgres. pg_isready exits 0 once the server accepts
# connections on its socket; it needs no password (the local socket trusts, as in the official
# image). The role and database are ones that exist: pg_isready completes a real login, and a
# missing role or database would write a FATAL line to the server's log at every check (the
# check still passes). So the role is POSTGRES_USER: a container started without it on a
# cluster whose superuser is not "postgres" logs that line every second. The socket only
# exists once the real server is up: initialisation uses single-user mode.
exec pg_isready -q -h /var/run/postgresql -p "${PGPORT:-5432}" -t 3 \
    -U "${POSTGRES_USER:-postgres}" -d postgres
