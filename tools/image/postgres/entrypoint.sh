#!/bin/sh
# Makes a cluster in an empty PGDATA (password from POSTGRES_PASSWORD, database POSTGRES_DB), then runs the command,
# postgres by default, in place of this shell so that it receives the container's signals.
set -eu

user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"

# PGDATA is a folder inside the volume, not the volume itself: a fresh filesystem's lost+found would make initdb
# refuse the volume's root as not empty.
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'postgres-entrypoint: POSTGRES_PASSWORD is required to initialise an empty data directory' >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  # The password goes through a pipe, never a file or the command line where ps would show it.
  printf '%s\n' "$POSTGRES_PASSWORD" |
    initdb --username="$user" --pwfile=/dev/stdin --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  # Pods connect over the pod network, always with a password; the socket stays inside the container.
  printf '%s\n' 'host all all 0.0.0.0/0 scram-sha-256' 'host all all ::/0 scram-sha-256' >>"$PGDATA/pg_hba.conf"
  printf '%s\n' "listen_addresses = '*'" "unix_socket_directories = '/tmp'" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    # A server reachable only through a private socket while the database is created.
    socket="$(mktemp -d)"
    pg_ctl --pgdata="$PGDATA" --silent --wait --options="-c listen_addresses='' -c unix_socket_directories=$socket" start
    printf '%s\n' 'CREATE DATABASE :"db";' |
      psql --quiet --no-psqlrc --set=ON_ERROR_STOP=1 --set=db="$db" --host="$socket" --username="$user" --dbname=postgres
    pg_ctl --pgdata="$PGDATA" --silent --wait --mode=fast stop
    rmdir "$socket"
  fi
  echo "postgres-entrypoint: initialised $PGDATA with database $db for user $user"
fi

exec "$@"
