#!/usr/bin/env bash
# Benchmarks of the NetBox bridge (docs/netbox.md, "Speed"), on a throwaway
# cluster (scripts/pg-sandbox.sh, port NETBOX_BENCH_PORT):
#   (1) ssl_netbox_attach over NETBOX_BENCH_CERTS plugin certificates with
#       three assignments each (time, progress NOTICEs);
#   (2) the cost a linked write adds, as ratios against the same operation
#       unattached, side by side in one run: a NetBox-side plugin insert
#       (the UI import's two statements), ssl_import, and the renewal of a
#       certificate with 1,000 assignments (ssl_netbox_renew vs ssl_renew);
#   (3) what the bridge's permanent triggers cost ssl_import while it is not
#       attached (their early exit), against the same triggers disabled.
# Settings: NETBOX_BENCH_CERTS=100000, NETBOX_BENCH_WRITES=1000 (per timed
# run of (2) and (3)), NETBOX_BENCH_PORT=55161. Prints a table; exits
# non-zero if ssl_netbox_check() is not empty after the runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${NETBOX_BENCH_CERTS:-100000}
W=${NETBOX_BENCH_WRITES:-1000}
OUT=${NETBOX_BENCH_OUT:-build/bench-netbox}
mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "building gen_certs and the extension"
[ -x "$OUT/gen_certs" ] || g++ -std=c++17 -O3 -DNDEBUG -pthread -Isrc -o "$OUT/gen_certs" test/bench/gen_certs.cpp -lcrypto
make -s >/dev/null && make -s install >/dev/null

total=$((N + 3 * W))
if [ ! -s "$OUT/certs-$total.tsv" ]; then
    step "generating $total certificates and 2 renewal pairs"
    "$OUT/gen_certs" --count "$total" --seed 11 --out "$OUT/certs-$total.tsv" --threads 2 \
        --pair renew-off.bench.example --pair renew-on.bench.example --pairs-out "$OUT/pairs.tsv"
fi

# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
SANDBOX_PORT=${NETBOX_BENCH_PORT:-55161} sandbox_start
P=(psql -X -q -v ON_ERROR_STOP=1)
"${P[@]}" -f test/netbox/fixture.sql >/dev/null
"${P[@]}" <<SQL
CREATE EXTENSION netbox_ssl;
CREATE TABLE staging (id integer PRIMARY KEY, cn text, key_type text, pem text);
\copy staging FROM '$OUT/certs-$total.tsv'
CREATE TABLE pairs (cn text PRIMARY KEY, old_pem text, new_pem text);
\copy pairs FROM '$OUT/pairs.tsv'
CREATE TABLE result (name text, ms double precision, n bigint);
INSERT INTO dcim_device (custom_field_data, name, status, description, comments)
SELECT '{}', 'dev' || g, 'active', '', '' FROM generate_series(1, 3000) g;
-- A NetBox-side import, as the plugin's UI sends it (reference §5.1).
CREATE FUNCTION nb_import(pem text) RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE id bigint;
BEGIN
    INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, common_name, serial_number,
        fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, key_size, algorithm, status,
        private_key_location, pem_content, chain_status, chain_validation_message, is_acme, acme_provider,
        acme_account_email, acme_challenge_type, acme_server_url, acme_auto_renewal, acme_renewal_days,
        archive_pinned, renewal_note, external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)
    SELECT now(), now(), '{}', f.common_name, f.serial_number, f.fingerprint_sha256, f.issuer, f.issuer_chain,
           f.valid_from, f.valid_to, f.sans, f.key_size, f.algorithm, 'active', '', f.pem_content, 'unknown', '',
           false, '', '', '', '', false, 30, false, '', '', false, '', '', ''
      FROM ssl_netbox_fields(pem) f RETURNING netbox_ssl_certificate.id INTO id;
    INSERT INTO netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status, new_status,
        actor, certificate_id) VALUES ('imported', now(), 'Certificate imported with status active', '', 'active', '', id);
    RETURN id;
END \$\$;
SQL

step "filling NetBox's tables: $N certificates, $((3 * N)) assignments"
"${P[@]}" <<SQL
\timing on
INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, common_name, serial_number,
    fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, key_size, algorithm, status,
    private_key_location, pem_content, chain_status, chain_validation_message, is_acme, acme_provider,
    acme_account_email, acme_challenge_type, acme_server_url, acme_auto_renewal, acme_renewal_days,
    archive_pinned, renewal_note, external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)
SELECT now(), now(), '{}', f.common_name, f.serial_number, f.fingerprint_sha256, f.issuer, f.issuer_chain,
       f.valid_from, f.valid_to, f.sans, f.key_size, f.algorithm, 'active', '', f.pem_content, 'unknown', '',
       false, '', '', '', '', false, 30, false, '', '', false, '', '', ''
  FROM staging s, ssl_netbox_fields(s.pem) f WHERE s.id <= $N ORDER BY s.id;
INSERT INTO netbox_ssl_certificateassignment (created, last_updated, custom_field_data, assigned_object_id,
    is_primary, notes, assigned_object_type_id, certificate_id)
SELECT now(), now(), '{}', 1 + (c.id * 7 + k * 1000) % 3000, k = 0, '', ct.id, c.id
  FROM netbox_ssl_certificate c, generate_series(0, 2) k, django_content_type ct
 WHERE ct.app_label = 'dcim' AND ct.model = 'device';
VACUUM ANALYZE;
SQL

step "(1) ssl_netbox_attach over $N certificates"
"${P[@]}" <<'SQL'
SELECT clock_timestamp() AS t0 \gset
SELECT ssl_netbox_attach() AS linked;
INSERT INTO result SELECT 'attach', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz),
                          (SELECT count(*) FROM ssl_netbox_link);
SELECT count(*) AS problems FROM ssl_netbox_check();
SQL

# One timed statement per write, each in its own transaction (autocommit).
timed() {  # name, n, sql-producing-command
    local name=$1 n=$2; shift 2
    { echo "SELECT clock_timestamp() AS t0 \\gset"; "$@";
      echo "INSERT INTO result SELECT '$name', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz), $n;"; } \
      | "${P[@]}" >/dev/null
}
range() { seq "$1" "$2" | sed "s/.*/SELECT $3(pem) FROM staging WHERE id = &;/"; }
a=$((N + 1)); b=$((N + W)); c=$((N + W + 1)); d=$((N + 2 * W)); e=$((N + 2 * W + 1)); f=$((N + 3 * W))

step "(2) linked writes vs unattached, $W each"
# NetBox-side insert: detached, then the rows removed (still detached) so
# they are not linked by the next attach; then attached.
"${P[@]}" -c "SELECT ssl_netbox_detach()" >/dev/null
timed nb_insert_off "$W" range "$a" "$b" nb_import
"${P[@]}" -c "DELETE FROM netbox_ssl_certificatelifecycleevent WHERE certificate_id > $N" \
          -c "DELETE FROM netbox_ssl_certificate WHERE id > $N" -c "SELECT ssl_netbox_attach()" >/dev/null
timed nb_insert_on "$W" range "$a" "$b" nb_import
# ssl_import: detached (bridge triggers exit early), attached (plugin rows
# written through), and with the bridge's triggers disabled (no bridge).
"${P[@]}" -c "SELECT ssl_netbox_detach()" >/dev/null
timed import_off "$W" range "$c" "$d" ssl_import
"${P[@]}" -c "ALTER TABLE ssl_certificate DISABLE TRIGGER ssl_netbox_certificate_insert" >/dev/null
timed import_notrigger "$W" range "$e" "$f" ssl_import
"${P[@]}" -c "ALTER TABLE ssl_certificate ENABLE TRIGGER ssl_netbox_certificate_insert" >/dev/null
# (the detached and trigger-less imports become plugin rows at the next attach)
"${P[@]}" -c "SELECT ssl_netbox_attach()" >/dev/null
"$OUT/gen_certs" --count "$W" --seed 12 --out "$OUT/extra-$W.tsv" >/dev/null 2>&1
"${P[@]}" -c "CREATE TABLE extra (id integer, cn text, key_type text, pem text)" -c "\\copy extra FROM '$OUT/extra-$W.tsv'" >/dev/null
timed import_on "$W" bash -c "seq 1 $W | sed 's/.*/SELECT ssl_import(pem) FROM extra WHERE id = &;/'"

# Renewal of a certificate with 1,000 assignments: ssl_renew detached vs
# ssl_netbox_renew attached (both sides renewed, 1,000 plugin rows moved).
"${P[@]}" <<'SQL' >/dev/null
SELECT ssl_netbox_detach();
SELECT ssl_import(old_pem) AS off_id FROM pairs WHERE cn = 'renew-off.bench.example' \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) SELECT :off_id, 'dcim.device', g FROM generate_series(1, 1000) g;
SELECT clock_timestamp() AS t0 \gset
SELECT ssl_renew(:off_id, (SELECT new_pem FROM pairs WHERE cn = 'renew-off.bench.example'));
INSERT INTO result SELECT 'renew_1000_off', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz), 1;
SELECT ssl_netbox_attach();
SELECT ssl_import(old_pem) AS on_id FROM pairs WHERE cn = 'renew-on.bench.example' \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) SELECT :on_id, 'dcim.device', g FROM generate_series(1, 1000) g;
SELECT netbox_certificate_id AS on_nb FROM ssl_netbox_link WHERE certificate_id = :on_id \gset
SELECT clock_timestamp() AS t0 \gset
SELECT ssl_netbox_renew(:on_nb, (SELECT new_pem FROM pairs WHERE cn = 'renew-on.bench.example'));
INSERT INTO result SELECT 'renew_1000_on', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz), 1;
SQL

step "results"
"${P[@]}" <<'SQL'
SELECT name, round(ms::numeric, 1) AS total_ms, n, round((ms / n)::numeric, 3) AS ms_each FROM result ORDER BY name;
SELECT 'NetBox-side insert: linked / unattached' AS ratio,
       round(((SELECT ms FROM result WHERE name = 'nb_insert_on') / (SELECT ms FROM result WHERE name = 'nb_insert_off'))::numeric, 2) AS x
UNION ALL SELECT 'ssl_import: attached / unattached',
       round(((SELECT ms FROM result WHERE name = 'import_on') / (SELECT ms FROM result WHERE name = 'import_off'))::numeric, 2)
UNION ALL SELECT 'ssl_import: unattached / no bridge triggers',
       round(((SELECT ms FROM result WHERE name = 'import_off') / (SELECT ms FROM result WHERE name = 'import_notrigger'))::numeric, 3)
UNION ALL SELECT 'renewal, 1,000 assignments: ssl_netbox_renew attached / ssl_renew unattached',
       round(((SELECT ms FROM result WHERE name = 'renew_1000_on') / (SELECT ms FROM result WHERE name = 'renew_1000_off'))::numeric, 2);
SELECT count(*) AS check_problems FROM ssl_netbox_check();
SQL
problems=$("${P[@]}" -At -c "SELECT count(*) FROM ssl_netbox_check()")
[ "$problems" = 0 ] || { "${P[@]}" -c "SELECT * FROM ssl_netbox_check() LIMIT 20"; exit 1; }
