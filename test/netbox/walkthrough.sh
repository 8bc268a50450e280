#!/usr/bin/env bash
# The Janus tutorial on NetBox's tables with the bridge attached, on a
# throwaway cluster (docs/netbox.md, "Walk-through"): done once from
# NetBox's side (the statements NetBox's ORM sends for the UI's import,
# assignment and "Renew & Transfer") and once from psql (ssl_netbox_renew),
# each ending with both sides equal. Exits non-zero if ssl_netbox_check()
# reports any difference or a step fails.
#   NETBOX_WALK_PORT (default 55162) is the sandbox's port.
# Expects the extension built and installed (make && make install) into the
# PostgreSQL that pg_config names; scripts/demo.sh calls it after its own
# walk-through.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/pg-sandbox.sh
source scripts/pg-sandbox.sh
trap sandbox_stop EXIT
SANDBOX_PORT=${NETBOX_WALK_PORT:-55162} sandbox_start

psql -X -v ON_ERROR_STOP=1 -q \
     -v old="$(cat test/fixtures/janus-old.pem)" -v new="$(cat test/fixtures/janus-new.pem)" \
     -v b1="$(cat test/netbox/certs/renew-a.pem)" -v b2="$(cat test/netbox/certs/renew-b.pem)" <<'SQL'
\pset footer off
\echo '== 0. NetBox''s database: NetBox''s role owns NetBox''s tables; netbox_ssl is installed and attached'
CREATE ROLE netbox LOGIN;
CREATE SCHEMA netbox AUTHORIZATION netbox;
CREATE EXTENSION netbox_ssl;
GRANT netbox_ssl_operator TO netbox;
SET ROLE netbox;
SET search_path = netbox, public;
\i test/netbox/fixture.sql
\i test/netbox/nb_parse.sql
INSERT INTO dcim_device (custom_field_data, name, status, description, comments)
VALUES ('{}', 'web-1', 'active', '', ''), ('{}', 'web-2', 'active', '', '');
INSERT INTO virtualization_virtualmachine (custom_field_data, name, status, description, comments)
VALUES ('{}', 'app-vm', 'active', '', '');
INSERT INTO ipam_service (custom_field_data, name, protocol, ports, description, comments, parent_object_type_id, parent_object_id)
SELECT '{}', 'https', 'tcp', '{443}', '', '', id, 1 FROM django_content_type WHERE model = 'device';
RESET ROLE;
SELECT ssl_netbox_attach('netbox') AS linked;

\echo
\echo '== A. From NetBox''s side (the SQL NetBox sends for each UI action)'
\echo '-- Tutorial 1: import www.example.com, assign it to web-1, web-2 and the https service'
SET ROLE netbox;
\set pem :old
\o /dev/null
\i test/netbox/ui_import.sql
\o
\set cert :nb_id
\set old_nb :nb_id
BEGIN;
\set model device
\set obj 1
\o /dev/null
\i test/netbox/assign_add.sql
\o
COMMIT;
BEGIN;
\set obj 2
\o /dev/null
\i test/netbox/assign_add.sql
\o
COMMIT;
BEGIN;
\set model service
\set obj 1
\o /dev/null
\i test/netbox/assign_add.sql
\o
COMMIT;
\echo '-- Step 4: Renew & Transfer with the replacement'
BEGIN;
\set old :old_nb
\set pem :new
\o /dev/null
\i test/netbox/renew_transfer.sql
\o
COMMIT;
\set new_nb :nb_new
RESET ROLE;
\echo '-- Step 5: NetBox''s view (the old one replaced, 0 assignments; the new one active with all of them)'
SELECT c.id AS netbox_id, c.common_name, c.status, c.replaced_by_id,
       (SELECT count(*) FROM netbox.netbox_ssl_certificateassignment a WHERE a.certificate_id = c.id) AS assignments
  FROM netbox.netbox_ssl_certificate c WHERE c.id IN (:old_nb, :new_nb) ORDER BY c.id;
\echo '-- ... and the inventory''s view of the same two certificates, with the renewal linked both ways'
SELECT l.netbox_certificate_id AS netbox_id, c.id, c.status, c.replaced_by,
       (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c JOIN ssl_netbox_link l ON l.certificate_id = c.id
 WHERE l.netbox_certificate_id IN (:old_nb, :new_nb) ORDER BY c.id;
SELECT e.certificate_id, e.event_type, e.related_certificate_id, e.description
  FROM ssl_lifecycle_event e JOIN ssl_netbox_link l ON l.certificate_id = e.certificate_id
 WHERE l.netbox_certificate_id IN (:old_nb, :new_nb) AND e.event_type IN ('renewed', 'activated') ORDER BY e.id;
\echo '-- ssl_netbox_check(): no difference'
SELECT * FROM ssl_netbox_check();

\echo
\echo '== B. From psql, as NetBox''s role with netbox_ssl_operator: the same renewal by the plugin''s id'
SET ROLE netbox;
SELECT ssl_import(:'b1', 'vault:secret/renew') AS b1_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
VALUES (:b1_id, 'dcim.device', 1), (:b1_id, 'virtualization.virtualmachine', 1);
SELECT netbox_certificate_id AS b1_nb FROM ssl_netbox_link WHERE certificate_id = :b1_id \gset
SELECT ssl_netbox_renew(:b1_nb, :'b2') AS b2_nb \gset
RESET ROLE;
\echo '-- NetBox''s rows: the plugin sees the renewal, with its own events'
SELECT c.id AS netbox_id, c.common_name, c.status, c.replaced_by_id,
       (SELECT count(*) FROM netbox.netbox_ssl_certificateassignment a WHERE a.certificate_id = c.id) AS assignments
  FROM netbox.netbox_ssl_certificate c WHERE c.id IN (:b1_nb, :b2_nb) ORDER BY c.id;
SELECT certificate_id AS netbox_id, event_type, description FROM netbox.netbox_ssl_certificatelifecycleevent
 WHERE certificate_id IN (:b1_nb, :b2_nb) ORDER BY id;
\echo '-- ssl_netbox_check(): no difference'
SELECT * FROM ssl_netbox_check();
SQL

problems=$(psql -X -At -c "SELECT count(*) FROM ssl_netbox_check()")
if [ "$problems" != 0 ]; then
    echo "walk-through: the two sides differ:" >&2
    psql -X -c "SELECT * FROM ssl_netbox_check()" >&2
    exit 1
fi
echo
echo "walk-through: NetBox and the inventory agree."
