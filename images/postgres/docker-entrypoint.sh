#!/bin/bash
# Entrypoint of stateful-test/postgres: the part of the official postgres image's entrypoint that
# our tests rely on, for Debian's postgresql-MAJOR.
#   - arguments that start with "-" are postgres options: `docker run IMG -c shared_buffers=64MB`;
#   - started as root, it gives PGDATA to postgres (uid 999) and re-runs itself as postgres;
#   - PGDATA is initialised only when it holds no PG_VERSION, from POSTGRES_PASSWORD,
#     POSTGRES_USER (default postgres), POSTGRES_DB (default: the user's name),
#     POSTGRES_INITDB_ARGS and POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), each also
#     as a NAME_FILE naming a file that holds it; an initialised PGDATA needs no variable;
#   - local socket and loopback connections are trusted (initdb's default); every other
#     address must give a password (the one pg_hba line added here);
#   - postgres is exec'd, so it is PID 1 and shuts down on the image's SIGINT.
# The database is created in single-user mode rather than through a temporary server, so the
# health check cannot see a half-initialised server and the first start is fast.
# Not here: /docker-entrypoint-initdb.d scripts, POSTGRES_INITDB_WALDIR.
set -euo pipefail

export PGDATA=${PGDATA:-/var/lib/postgresql/data}

log() { printf '%s [Entrypoint]: %s\n' "$(date -u '+%F %T')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# env_value NAME: $NAME, else the contents of the file named by $NAME_FILE; both is an error.
env_value() {
    local file="${1}_FILE"
    if [[ -n ${!1:-} && -n ${!file:-} ]]; then
        die "both $1 and $file are set; give only one"
    fi
    if [[ -n ${!1:-} ]]; then
        printf '%s' "${!1}"
    elif [[ -n ${!file:-} ]]; then
        cat -- "${!file}"
    fi
}

sql_identifier() { printf '"%s"' "${1//\"/\"\"}"; }

# Runs initdb and what the official image does after it; prints what they say on stdout.
create_cluster() {
    local password=$1 user=$2 database=$3 auth=$4 initdb_args=$5
    local pwfile single status=0
    # A file, not an argument: the password must not show in the process list.
    pwfile=$(mktemp)
    printf '%s\n' "$password" >"$pwfile"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options, split on spaces
    initdb --username="$user" ${password:+"--pwfile=$pwfile"} $initdb_args || status=$?
    rm -f "$pwfile"
    ((status == 0)) || return "$status"
    printf '\n# Added by the entrypoint: every non-local address logs in with a password.\n' \
        >>"$PGDATA/pg_hba.conf"
    printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    if [[ $database != postgres ]]; then
        # Single-user mode exits 0 even when the statement fails (POSTGRES_DB=template1):
        # its output tells.
        single=$(printf 'CREATE DATABASE %s;\n' "$(sql_identifier "$database")" \
            | postgres --single -j -D "$PGDATA" postgres 2>&1) || status=$?
        printf '%s\n' "$single"
        [[ $status == 0 && $single != *ERROR:* ]] || return 1
    fi
}

init_datadir() {
    local password user database auth initdb_args out before entry
    password=$(env_value POSTGRES_PASSWORD)
    user=$(env_value POSTGRES_USER)
    user=${user:-postgres}
    database=$(env_value POSTGRES_DB)
    database=${database:-$user}
    initdb_args=$(env_value POSTGRES_INITDB_ARGS)
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

    if [[ -z $password && $auth != trust ]]; then
        die "$PGDATA holds no database yet and no superuser password was given. Set" \
            "POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust" \
            "to let every address in without one."
    fi

    log "Initializing database files in $PGDATA"
    out=$(mktemp)
    before=$(mktemp)
    shopt -s dotglob nullglob
    for entry in "$PGDATA"/*; do printf '%s\n' "${entry##*/}"; done >"$before"
    if ! create_cluster "$password" "$user" "$database" "$auth" "$initdb_args" >"$out" 2>&1; then
        cat "$out" >&2
        # PG_VERSION may exist now: left behind, the next start would skip initialisation and
        # serve a cluster without its database. Remove what this attempt created.
        for entry in "$PGDATA"/*; do
            grep -qxF -- "${entry##*/}" "$before" || rm -rf -- "$entry"
        done
        die "initializing the database failed; $PGDATA is left as it was"
    fi
    rm -f "$out" "$before"
    log "Database initialized"
}

# Flags alone are options for postgres, as in the official image.
if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"
fi

if [[ ${1:-} == postgres ]]; then
    if [[ $(id -u) == 0 ]]; then
        # A bind mount may come root-owned; the server runs as postgres (999), so hand it over.
        # postgres refuses a data directory that others can read: 700, as initdb makes it.
        mkdir -p "$PGDATA"
        find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
        chmod 700 "$PGDATA"
        exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
    fi
    if [[ ! -s $PGDATA/PG_VERSION ]]; then
        init_datadir
    fi
fi

exec "$@"
