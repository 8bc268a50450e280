#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the demo, tests and benchmarks.
#   source scripts/pg-sandbox.sh; sandbox_start; ...; sandbox_stop
# The server runs as the `postgres` user (initdb refuses root) in a fresh
# temporary directory, listens only on a Unix socket there, and is removed by
# sandbox_stop. PGHOST/PGPORT/PGUSER/PGDATABASE are exported for psql.

# SANDBOX_BINDIR overrides the server binaries (e.g. /opt/pg17/bin for another
# PostgreSQL version); by default they are those of the pg_config on PATH.
PG_BINDIR="${SANDBOX_BINDIR:-$(pg_config --bindir)}"

sandbox_start() {
    local owner=postgres
    if [ "$(id -u)" -ne 0 ]; then owner="$(id -un)"; fi
    SANDBOX_DIR="$(mktemp -d /tmp/netbox_ssl_pg.XXXXXX)"
    chmod 755 "$SANDBOX_DIR"
    chown "$owner" "$SANDBOX_DIR"
    SANDBOX_OWNER="$owner"
    _as_owner() { if [ "$(id -un)" = "$SANDBOX_OWNER" ]; then "$@"; else runuser -u "$SANDBOX_OWNER" -- "$@"; fi; }
    _as_owner "$PG_BINDIR/initdb" -D "$SANDBOX_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$SANDBOX_DIR/initdb.log" 2>&1 \
        || { cat "$SANDBOX_DIR/initdb.log"; return 1; }
    export PGPORT="${SANDBOX_PORT:-54329}"
    export PGHOST="$SANDBOX_DIR"
    export PGUSER=postgres
    export PGDATABASE=postgres
    _as_owner "$PG_BINDIR/pg_ctl" -D "$SANDBOX_DIR/data" -l "$SANDBOX_DIR/server.log" -w \
        -o "-c listen_addresses='' -c unix_socket_directories='$SANDBOX_DIR' -p $PGPORT -c fsync=off -c max_prepared_transactions=10 ${SANDBOX_PG_OPTS:-}" start >/dev/null \
        || { cat "$SANDBOX_DIR/server.log"; return 1; }
    SANDBOX_LOG="$SANDBOX_DIR/server.log"
}

sandbox_stop() {
    [ -n "${SANDBOX_DIR:-}" ] || return 0
    _as_owner "$PG_BINDIR/pg_ctl" -D "$SANDBOX_DIR/data" -m fast stop >/dev/null 2>&1 || true
    if [ -n "${SANDBOX_KEEP:-}" ]; then echo "sandbox kept in $SANDBOX_DIR"; else rm -rf "$SANDBOX_DIR"; fi
    SANDBOX_DIR=
}
