#!/usr/bin/env bash
# Schema identity: a database where netbox_ssl is installed fresh at the
# current version (one full script, generated from src/sql/concepts/) and one
# installed at 1.0 and updated step by step must have the same schema.
# Lists every extension member from the catalogs (test/schema/members.sql),
# diffs the two listings, prints the diff and exits 1 on any drift.
# Runs against the server in PGHOST/PGPORT/PGUSER (e.g. scripts/pg-sandbox.sh)
# with the extension installed (make install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${SCHEMA_IDENTITY_OUT:-$(mktemp -d /tmp/netbox_ssl_schema.XXXXXX)}"
mkdir -p "$out"
fresh=netbox_ssl_schema_fresh
upgraded=netbox_ssl_schema_upgraded
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $fresh" -c "DROP DATABASE IF EXISTS $upgraded" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
psql_ -d postgres -c "CREATE DATABASE $fresh" -c "CREATE DATABASE $upgraded"

psql_ -d "$fresh" -c "CREATE EXTENSION netbox_ssl"
psql_ -d "$upgraded" -c "CREATE EXTENSION netbox_ssl VERSION '1.0'" -c "ALTER EXTENSION netbox_ssl UPDATE"

psql_ -d "$fresh" -f "$here/members.sql" >"$out/fresh.txt"
psql_ -d "$upgraded" -f "$here/members.sql" >"$out/upgraded.txt"

version=$(psql_ -d "$fresh" -Atc "SELECT extversion FROM pg_extension WHERE extname = 'netbox_ssl'")
# Without a full script for the current version, CREATE EXTENSION would
# silently replay 1.0 and the updates, and the comparison would prove nothing.
full="$(pg_config --sharedir)/extension/netbox_ssl--$version.sql"
if [ ! -f "$full" ]; then
    echo "FAILED: schema identity: no full install script $full (make install)"
    exit 1
fi
facts=$(wc -l <"$out/fresh.txt")
if grep -qx '<null>' "$out/fresh.txt" "$out/upgraded.txt"; then
    echo "schema identity: the catalog listing produced NULL lines (a bug in test/schema/members.sql)"
    exit 1
fi
if diff -u --label "1.0 updated to $version" --label "fresh $version" "$out/upgraded.txt" "$out/fresh.txt" >"$out/schema.diff"; then
    echo "ok: schema identity at $version: fresh install and 1.0 + updates agree on $facts catalog facts"
else
    cat "$out/schema.diff"
    echo "FAILED: schema identity at $version: fresh install and 1.0 + updates differ ($(grep -c '^[-+][^-+]' "$out/schema.diff") lines, listings in $out)"
    exit 1
fi
