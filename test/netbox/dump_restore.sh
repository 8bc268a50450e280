#!/usr/bin/env bash
# pg_dump / restore of NetBox's database with the bridge attached: the
# restored database has the same rows on both sides, the bridge still
# attached (its state table is dumped, its triggers on NetBox's tables are
# ordinary triggers, those on the extension's tables are the extension's own),
# and a renewal after the restore reaches both sides. Runs against the server
# in PGHOST/PGPORT, or starts a sandbox (port NETBOX_DUMP_PORT, default 55163).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PGHOST:-}" ]; then
    # shellcheck source=scripts/pg-sandbox.sh
    source scripts/pg-sandbox.sh
    trap sandbox_stop EXIT
    SANDBOX_PORT=${NETBOX_DUMP_PORT:-55163} sandbox_start
fi
dump=$(mktemp /tmp/netbox_bridge_dump.XXXXXX.sql)
trap 'rm -f "$dump"; [ -n "${SANDBOX_DIR:-}" ] && sandbox_stop' EXIT
dropdb --if-exists nb_dump_src >/dev/null 2>&1; dropdb --if-exists nb_dump_dst >/dev/null 2>&1
createdb nb_dump_src
psql -X -q -v ON_ERROR_STOP=1 -d nb_dump_src -v a="$(cat test/netbox/certs/renew-a.pem)" \
     -v b="$(cat test/netbox/certs/renew-b.pem)" >/dev/null <<'SQL'
\i test/netbox/fixture.sql
CREATE EXTENSION netbox_ssl;
INSERT INTO dcim_device (custom_field_data, name, status, description, comments) VALUES ('{}', 'web-1', 'active', '', '');
SELECT ssl_netbox_attach();
SELECT ssl_import(:'a') AS a \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:a, 'dcim.device', 1);
SELECT ssl_renew(:a, :'b');
SQL
pg_dump -d nb_dump_src -f "$dump" 2>/dev/null
createdb nb_dump_dst
psql -X -q -v ON_ERROR_STOP=1 -d nb_dump_dst -f "$dump" >/dev/null
digest() {
    psql -X -At -d "$1" -c "
        SELECT md5(string_agg(t, '|')) FROM (
          (SELECT 'c' || string_agg(c::text, ',' ORDER BY id) FROM ssl_certificate c)
          UNION ALL (SELECT 'l' || string_agg(l::text, ',' ORDER BY netbox_certificate_id) FROM ssl_netbox_link l)
          UNION ALL (SELECT 'b' || string_agg(b::text, ',') FROM ssl_netbox_bridge b)
          UNION ALL (SELECT 'p' || string_agg(p::text, ',' ORDER BY id) FROM netbox_ssl_certificate p)
          UNION ALL (SELECT 'a' || string_agg(a::text, ',' ORDER BY id) FROM netbox_ssl_certificateassignment a)) s(t)"
}
[ "$(digest nb_dump_src)" = "$(digest nb_dump_dst)" ] || { echo "restored rows differ"; exit 1; }
out=$(psql -X -At -v ON_ERROR_STOP=1 -d nb_dump_dst -v c="$(cat test/netbox/certs/renew-c.pem)" <<'SQL'
SELECT ssl_netbox_renew((SELECT netbox_certificate_id FROM ssl_netbox_link l JOIN ssl_certificate c ON c.id = l.certificate_id
                          WHERE c.status = 'active'), :'c') IS NOT NULL;
SELECT count(*) FROM ssl_netbox_check();
SELECT count(*) FROM netbox_ssl_certificate WHERE status = 'replaced';
SQL
)
[ "$out" = "$(printf 't\n0\n2')" ] || { echo "after the restore: $out"; exit 1; }
dropdb nb_dump_src; dropdb nb_dump_dst
echo "dump/restore with the bridge attached: OK"
