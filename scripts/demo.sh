#!/usr/bin/env bash
# The demo: MariaDB and Redis from specs/, data written, the specs changed, the apps recreated
# and removed by hand, and the data shown to survive each time. Works on a fresh machine: the
# set-up installs the Python deps, the Docker engine and the local images first.
# Leaves both apps running; `stateful destroy mysql` / `stateful destroy redis` remove them
# (their volumes stay unless --purge-volumes).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

export MYSQL_ROOT_PASSWORD=${MYSQL_ROOT_PASSWORD:-demo-root-pw}
SPECS=$ROOT/.demo/specs
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
sql() { docker exec mysql mariadb -h127.0.0.1 -uroot "-p$MYSQL_ROOT_PASSWORD" -N -B -e "$1"; }
redis() { docker exec redis redis-cli "$@"; }
snapshot() { printf 'rows=%s checksum=%s redis=%s\n' "$(sql 'SELECT COUNT(*) FROM demo.visits')" \
    "$(sql 'CHECKSUM TABLE demo.visits' | cut -f2)" "$(redis GET demo:counter)"; }
retry() { for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done; "$@"; }

# The demo edits copies of the specs, never the project's own.
mkdir -p "$SPECS"
cp specs/mysql.yaml specs/redis.yaml "$SPECS/"

step "1. stateful apply: create volumes, network and containers, wait until healthy"
stateful apply "$SPECS"

step "2. write data: rows into MariaDB, a counter into Redis"
retry sql "SELECT 1"
sql "CREATE TABLE IF NOT EXISTS demo.visits (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(40))"
sql "INSERT INTO demo.visits (note) VALUES ('first'), ('second'), ('third')"
redis INCRBY demo:counter 42 >/dev/null
before=$(snapshot)
echo "before: $before"

step "3. change the specs (an env var for MariaDB, a save policy for Redis) and diff"
sed -i 's/^  MARIADB_DATABASE: demo$/  MARIADB_DATABASE: demo\n  TZ: UTC/' "$SPECS/mysql.yaml"
sed -i 's/"--dir", "\/data"\]/"--dir", "\/data", "--save", "60 1"]/' "$SPECS/redis.yaml"
stateful diff "$SPECS" || true   # exit 1: changes pending

step "4. stateful apply: recreate both, safely, on the same volumes"
stateful apply "$SPECS"
retry sql "SELECT 1"
after_recreate=$(snapshot)
echo "after recreate: $after_recreate"

step "5. someone runs 'docker rm -f mysql redis'; stateful diff names it, stateful apply heals it"
docker rm -f mysql redis >/dev/null
stateful diff "$SPECS" || true
stateful apply "$SPECS"
retry sql "SELECT 1"
after_rm=$(snapshot)
echo "after rm -f: $after_rm"

step "6. a second apply changes nothing"
stateful apply "$SPECS"
stateful status "$SPECS"

if [[ $before == "$after_recreate" && $before == "$after_rm" ]]; then
    printf '\n\033[32mThe data survived every recreate: %s\033[0m\n' "$before"
else
    printf '\n\033[31mDATA CHANGED: before=%s after-recreate=%s after-rm=%s\033[0m\n' "$before" "$after_recreate" "$after_rm" >&2
    exit 1
fi
