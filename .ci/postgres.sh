#!/usr/bin/env bash
# Start a throwaway PostgreSQL server (Debian's package; no Docker) for the tests that need one.
#   source .ci/postgres.sh DIR   -> exports MODULI_TEST_POSTGRES_URL; stop with: pg_stop
# Installs the server with apt-get when it is missing. The server runs as the postgres user,
# listens on 127.0.0.1 only, trusts local connections and keeps its data under DIR.
set -euo pipefail
pg_root=$1
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_port=${MODULI_TEST_POSTGRES_PORT:-54329}
# a server that a killed run left behind may still hold the port: take the next free one
while (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; do pg_port=$((pg_port + 1)); done
mkdir -p "$pg_root"
chmod 755 "$pg_root"
chown postgres "$pg_root"
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
as_postgres "'$pg_bin/initdb' -D '$pg_root/data' -A trust -U postgres >/dev/null"
as_postgres "'$pg_bin/pg_ctl' -D '$pg_root/data' -l '$pg_root/server.log' -w \
  -o \"-p $pg_port -k '$pg_root' -c listen_addresses=127.0.0.1\" start >/dev/null"
as_postgres "'$pg_bin/createdb' -h 127.0.0.1 -p $pg_port -U postgres optuna"
export MODULI_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/optuna"
pg_stop() { as_postgres "'$pg_bin/pg_ctl' -D '$pg_root/data' -m fast stop >/dev/null" || true; }
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') at $MODULI_TEST_POSTGRES_URL"
