#!/usr/bin/env bash
# pg_dump of a populated inventory restores into a fresh database with
# identical rows, and the next import there gets a fresh id. Runs against the
# server in PGHOST/PGPORT (scripts/test.sh starts one); exits non-zero on any
# difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
dump=$(mktemp /tmp/netbox_ssl_dump.XXXXXX.sql)
trap 'rm -f "$dump"' EXIT
dropdb --if-exists dump_src >/dev/null 2>&1; dropdb --if-exists dump_dst >/dev/null 2>&1
createdb dump_src
psql -X -q -v ON_ERROR_STOP=1 -d dump_src \
     -v old="$(cat test/fixtures/janus-old.pem)" -v new="$(cat test/fixtures/janus-new.pem)" \
     -v other="$(cat test/fixtures/other-cn.pem)" -v expired="$(cat test/fixtures/expired.pem)" \
     -v bundle="$(cat test/fixtures/bundle-shuffled.pem)" -v upper="$(cat test/fixtures/janus-new-upper.pem)" <<'SQL'
CREATE EXTENSION netbox_ssl;
SELECT ssl_import(:'old', 'vault:a', 'team') AS a \gset
SELECT ssl_import(:'other') AS b \gset
SELECT ssl_import(:'expired') AS c \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:a, 'svc', 1), (:a, 'svc', 2), (:b, 'dev', 3);
SELECT ssl_renew(:a, :'new') AS d \gset
SELECT ssl_revert_renewal(:d);
SELECT ssl_renew(:a, :'upper');
UPDATE ssl_certificate SET archive_pinned = true WHERE id = :c;
DELETE FROM ssl_assignment WHERE object_id = 3;
SQL
pg_dump -d dump_src -f "$dump" 2>/dev/null
createdb dump_dst
psql -X -q -v ON_ERROR_STOP=1 -d dump_dst -f "$dump" >/dev/null
digest() {
    psql -X -At -d "$1" -c "
        SELECT md5(string_agg(t, '|')) FROM (
          (SELECT 'c' || string_agg(c::text, ',' ORDER BY id) FROM ssl_certificate c)
          UNION ALL (SELECT 'a' || string_agg(a::text, ',' ORDER BY id) FROM ssl_assignment a)
          UNION ALL (SELECT 'e' || string_agg(e::text, ',' ORDER BY id) FROM ssl_lifecycle_event e)) s(t)"
}
src=$(digest dump_src); dst=$(digest dump_dst)
if [ "$src" != "$dst" ]; then echo "restored rows differ: $src vs $dst"; exit 1; fi
next=$(psql -X -At -v ON_ERROR_STOP=1 -d dump_dst -v p384="$(cat test/fixtures/p384.pem)" <<'SQL'
SELECT ssl_import(:'p384') > (SELECT max(id) FROM ssl_certificate WHERE fingerprint_sha256 <> (ssl_parse(:'p384')).fingerprint_sha256)
   AND (SELECT count(*) FROM ssl_lifecycle_event) = (SELECT count(DISTINCT id) FROM ssl_lifecycle_event);
SQL
)
if [ "$next" != "t" ]; then echo "the first import after the restore did not get a fresh id"; exit 1; fi
version=$(psql -X -At -d dump_dst -c "SELECT extversion FROM pg_extension WHERE extname = 'netbox_ssl'")
echo "ok: pg_dump and restore kept every row (digest $src), extension $version, next import got a fresh id"
dropdb dump_src; dropdb dump_dst
