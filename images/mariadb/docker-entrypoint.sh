#!/bin/bash
# Entrypoint of stateful-test/mariadb: the part of the official mariadb image's entrypoint that
# our tests rely on, for Debian's mariadb-server.
#   - arguments that start with "-" are mariadbd options: `docker run IMG --skip-name-resolve`;
#   - started as root, it gives the data dir to mysql (uid 999) and re-runs itself as mysql;
#   - the data dir is initialised only when it has no mysql/ directory, from MARIADB_* or the
#     MYSQL_* aliases (MARIADB_ wins); an initialised data dir needs no variable at all;
#   - mariadbd is exec'd, so it is PID 1 and shuts down cleanly on SIGTERM.
# Initialisation runs `mariadbd --bootstrap` (no socket, no network) rather than a temporary
# server, so the health check cannot see a half-initialised server and the first start is fast.
set -euo pipefail

DATADIR=/var/lib/mysql

log() { printf '%s [Entrypoint]: %s\n' "$(date -u '+%F %T')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# env_value NAME ALIAS: $MARIADB_NAME, else $MYSQL_ALIAS, else the file named by their _FILE form.
env_value() {
    local var file
    for var in "MARIADB_$1" "MYSQL_$2"; do
        if [[ -n ${!var:-} ]]; then printf '%s' "${!var}"; return 0; fi
        file="${var}_FILE"
        if [[ -n ${!file:-} ]]; then cat -- "${!file}"; return 0; fi
    done
}

# A quoted SQL string literal. printf, not echo: echo may mangle backslashes.
sql_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\'/\\\'}
    s=${s//$'\n'/\\n}
    printf "'%s'" "$s"
}

# shellcheck disable=SC2016 # the backticks are SQL quotes, not a command substitution
sql_identifier() { printf '`%s`' "${1//\`/\`\`}"; }

# The bootstrap SQL, one statement per line (as `mariadbd --bootstrap` reads it).
bootstrap_sql() {
    local root_pw=$1 root_host=$2 database=$3 user=$4 password=$5
    # Bootstrap runs with --skip-grant-tables, which refuses account statements: load them.
    printf '%s\n' 'FLUSH PRIVILEGES;'
    # mariadb-install-db also creates password-less root accounts for 127.0.0.1, ::1 and the
    # host name; a TCP login as root would match them and fail, so only root@localhost stays.
    printf '%s\n' "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
    printf '%s\n' "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');"
    printf 'ALTER USER root@localhost IDENTIFIED BY %s;\n' "$(sql_string "$root_pw")"
    if [[ -n $root_host && $root_host != localhost ]]; then
        printf 'CREATE USER root@%s IDENTIFIED BY %s;\n' "$(sql_string "$root_host")" "$(sql_string "$root_pw")"
        # (No GRANT PROXY as in the official image: the bootstrap session may not grant it.)
        printf 'GRANT ALL ON *.* TO root@%s WITH GRANT OPTION;\n' "$(sql_string "$root_host")"
    fi
    if [[ -n $database ]]; then
        printf 'CREATE DATABASE IF NOT EXISTS %s;\n' "$(sql_identifier "$database")"
    fi
    if [[ -n $user ]]; then
        printf "CREATE USER %s@'%%' IDENTIFIED BY %s;\n" "$(sql_string "$user")" "$(sql_string "$password")"
        if [[ -n $database ]]; then
            printf "GRANT ALL ON %s.* TO %s@'%%';\n" "$(sql_identifier "$database")" "$(sql_string "$user")"
        fi
    fi
}

init_datadir() {
    local root_pw allow_empty root_host database user password out before entry
    root_pw=$(env_value ROOT_PASSWORD ROOT_PASSWORD)
    allow_empty=$(env_value ALLOW_EMPTY_ROOT_PASSWORD ALLOW_EMPTY_PASSWORD)
    root_host=$(env_value ROOT_HOST ROOT_HOST)
    database=$(env_value DATABASE DATABASE)
    user=$(env_value USER USER)
    password=$(env_value PASSWORD PASSWORD)

    if [[ -z $root_pw && -z $allow_empty ]]; then
        die "Database is uninitialized and password option is not specified. You need to specify" \
            "one of MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD) or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD."
    fi
    if [[ $user == root ]]; then
        die "MARIADB_USER=root: MARIADB_USER and MARIADB_PASSWORD are for a regular user, not root."
    fi
    if [[ -n $user && -z $password ]]; then
        die "MARIADB_USER is set but MARIADB_PASSWORD is empty."
    fi

    log "Initializing database files in $DATADIR"
    out=$(mktemp)
    before=$(mktemp)
    shopt -s dotglob nullglob
    for entry in "$DATADIR"/*; do printf '%s\n' "${entry##*/}"; done >"$before"
    # Extra mariadbd options (e.g. --innodb-page-size) must be known when the files are created.
    if ! mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
            --skip-test-db --skip-name-resolve "$@" >"$out" 2>&1 \
        || ! bootstrap_sql "$root_pw" "${root_host:-%}" "$database" "$user" "$password" \
            | mariadbd --bootstrap --datadir="$DATADIR" --skip-networking "$@" >>"$out" 2>&1; then
        cat "$out" >&2
        # mysql/ now exists: left behind, the next start would skip initialisation and serve
        # password-less root accounts. Remove what this attempt created so it starts over.
        for entry in "$DATADIR"/*; do
            grep -qxF -- "${entry##*/}" "$before" || rm -rf -- "$entry"
        done
        die "initializing the database failed; $DATADIR is left as it was"
    fi
    rm -f "$out" "$before"
    log "Database initialized"
}

# Flags alone are options for mariadbd, as in the official image.
if [[ ${1:-} == -* ]]; then
    set -- mariadbd "$@"
fi

if [[ ${1:-} == mariadbd || ${1:-} == mysqld ]]; then
    if [[ $(id -u) == 0 ]]; then
        # A bind mount may come root-owned; the server runs as mysql (999), so hand it over.
        find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' +
        exec setpriv --reuid=mysql --regid=mysql --init-groups -- "${BASH_SOURCE[0]}" "$@"
    fi
    if [[ ! -d $DATADIR/mysql ]]; then
        init_datadir "${@:2}"
    fi
fi

exec "$@"
