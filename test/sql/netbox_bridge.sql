-- The NetBox bridge (issue 11): NetBox's SSL plugin tables and the inventory
-- kept in step in the same transaction. The plugin's tables come from
-- test/netbox/fixture.sql; NetBox's statements are replayed from
-- test/netbox/*.sql as the role nb_app (NetBox's own database role).
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
DROP SCHEMA IF EXISTS nb CASCADE;
CREATE EXTENSION netbox_ssl;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nb_app') THEN CREATE ROLE nb_app; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nb_bridge_admin') THEN CREATE ROLE nb_bridge_admin; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nb_bridge_ops') THEN CREATE ROLE nb_bridge_ops; END IF;
END $$;
GRANT netbox_ssl_admin TO nb_bridge_admin;
GRANT netbox_ssl_operator TO nb_bridge_ops;
GRANT netbox_ssl_reader TO nb_app;
RESET client_min_messages;
CREATE SCHEMA nb AUTHORIZATION nb_app;
GRANT USAGE ON SCHEMA nb TO nb_bridge_ops, nb_bridge_admin;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set other `cat test/fixtures/other-cn.pem`
\set expired `cat test/fixtures/expired.pem`
\set withkey `cat test/fixtures/leaf-with-key.pem`
\set p384 `cat test/fixtures/p384.pem`
\set san `cat test/fixtures/san-mixed.pem`

-- NetBox's tables, owned by NetBox's role, with a few objects.
SET ROLE nb_app;
SET search_path = nb, public;
\i test/netbox/fixture.sql
\i test/netbox/nb_parse.sql
INSERT INTO tenancy_tenant (custom_field_data, name, slug, description, comments)
VALUES ('{}', 'ACME Corp', 'acme', '', '');
INSERT INTO dcim_device (custom_field_data, name, status, description, comments)
VALUES ('{}', 'web01', 'active', '', ''), ('{}', 'web02', 'active', '', ''), ('{}', 'db01', 'active', '', '');
INSERT INTO virtualization_virtualmachine (custom_field_data, name, status, description, comments)
VALUES ('{}', 'vm-app', 'active', '', '');
INSERT INTO ipam_service (custom_field_data, name, protocol, ports, description, comments, parent_object_type_id, parent_object_id)
SELECT '{}', 'https', 'tcp', '{443}', '', '', ct.id, 1 FROM django_content_type ct WHERE ct.model = 'device';

-- A certificate NetBox already had before the bridge, with two assignments,
-- and one without PEM content (entered by hand).
\set pem :other
\i test/netbox/ui_import.sql
\set pre :nb_id
\set cert :pre
\set model device
\set obj 1
BEGIN;
\i test/netbox/assign_add.sql
COMMIT;
\set model virtualmachine
BEGIN;
\i test/netbox/assign_add.sql
COMMIT;
INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, common_name, serial_number,
    fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, algorithm, status, private_key_location,
    pem_content, chain_status, chain_validation_message, is_acme, acme_provider, acme_account_email,
    acme_challenge_type, acme_server_url, acme_auto_renewal, acme_renewal_days, archive_pinned, renewal_note,
    external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)
VALUES (now(), now(), '{}', 'manual.example.com', '01', '', 'CN=Hand', '', '2025-01-01', '2030-01-01', '{}',
        'rsa', 'active', '', '', 'unknown', '', false, '', '', '', '', false, 30, false, '', '', false, '', '', '')
RETURNING id AS nopem \gset
RESET ROLE;

-- Attach: refuses a schema without the plugin's tables, then links.
SELECT ssl_netbox_attach('public');
SET ROLE nb_bridge_admin;
SELECT ssl_netbox_attach('nb') AS linked;
SELECT ssl_netbox_attach('nb') AS linked_again;
RESET ROLE;
SELECT l.netbox_certificate_id = :pre AS pre_linked, c.common_name, c.status, c.tenant
  FROM ssl_netbox_link l JOIN ssl_certificate c ON c.id = l.certificate_id;
SELECT certificate_id, object_type, object_id FROM ssl_assignment ORDER BY 2, 3;
SELECT * FROM ssl_netbox_check();

-- A helper for the assertions below: both sides, side by side.
CREATE FUNCTION pg_temp.sides() RETURNS TABLE (nb_id bigint, nb_status text, nb_successor bigint,
    nb_assignments text, our_id bigint, our_status text, our_successor bigint, our_assignments text)
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT p.id, p.status::text, p.replaced_by_id,
           (SELECT string_agg(ct.model || ':' || a.assigned_object_id, ',' ORDER BY ct.model, a.assigned_object_id)
              FROM nb.netbox_ssl_certificateassignment a JOIN nb.django_content_type ct ON ct.id = a.assigned_object_type_id
             WHERE a.certificate_id = p.id),
           c.id, c.status, c.replaced_by,
           (SELECT string_agg(split_part(a.object_type, '.', 2) || ':' || a.object_id, ',' ORDER BY split_part(a.object_type, '.', 2), a.object_id)
              FROM public.ssl_assignment a WHERE a.certificate_id = c.id)
      FROM nb.netbox_ssl_certificate p
      FULL JOIN public.ssl_netbox_link l ON l.netbox_certificate_id = p.id
      FULL JOIN public.ssl_certificate c ON c.id = l.certificate_id
     ORDER BY p.id NULLS LAST, c.id
$$;
GRANT EXECUTE ON FUNCTION pg_temp.sides() TO PUBLIC;

-- The row without PEM gets its PEM in NetBox: linked now.
SET ROLE nb_app;
UPDATE netbox_ssl_certificate SET pem_content = :'p384', fingerprint_sha256 = (SELECT fingerprint_sha256 FROM nb_parse(:'p384'))
 WHERE id = :nopem;
SELECT * FROM ssl_netbox_check();

-- 1. A UI import (autocommit), then a rolled-back one.
\set pem :old
\i test/netbox/ui_import.sql
\set www :nb_id
SELECT * FROM pg_temp.sides();
SELECT * FROM ssl_netbox_check();
BEGIN;
\set pem :san
\i test/netbox/ui_import.sql
ROLLBACK;
SELECT count(*) AS ours, (SELECT count(*) FROM netbox_ssl_certificate) AS netbox FROM ssl_certificate;

-- Refusals, with nothing stored on either side: a private key in the PEM
-- (22023), malformed PEM (22P02), a certificate NetBox holds twice under
-- different fingerprint texts (23505).
\set VERBOSITY sqlstate
INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, common_name, serial_number,
    fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, algorithm, status, private_key_location,
    pem_content, chain_status, chain_validation_message, is_acme, acme_provider, acme_account_email,
    acme_challenge_type, acme_server_url, acme_auto_renewal, acme_renewal_days, archive_pinned, renewal_note,
    external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)
VALUES (now(), now(), '{}', 'k', 'k1', 'k1', 'k', '', '2025-01-01', '2030-01-01', '{}', 'rsa', 'active', '',
        :'withkey', 'unknown', '', false, '', '', '', '', false, 30, false, '', '', false, '', '', '');
INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, common_name, serial_number,
    fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, algorithm, status, private_key_location,
    pem_content, chain_status, chain_validation_message, is_acme, acme_provider, acme_account_email,
    acme_challenge_type, acme_server_url, acme_auto_renewal, acme_renewal_days, archive_pinned, renewal_note,
    external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)
VALUES (now(), now(), '{}', 'm', 'm1', 'm1', 'm', '', '2025-01-01', '2030-01-01', '{}', 'rsa', 'active', '',
        E'-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----', 'unknown', '', false, '', '', '', '',
        false, 30, false, '', '', false, '', '', '');
INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, common_name, serial_number,
    fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, algorithm, status, private_key_location,
    pem_content, chain_status, chain_validation_message, is_acme, acme_provider, acme_account_email,
    acme_challenge_type, acme_server_url, acme_auto_renewal, acme_renewal_days, archive_pinned, renewal_note,
    external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)
SELECT now(), now(), '{}', f.common_name, f.serial_number || '-copy', lower(f.fingerprint_sha256), f.issuer, '',
       f.valid_from, f.valid_to, '{}', f.algorithm, 'active', '', f.pem_content, 'unknown', '', false, '', '', '', '',
       false, 30, false, '', '', false, '', '', ''
  FROM nb_parse(:'old') f;
\set VERBOSITY default
INSERT INTO netbox_ssl_certificate (created, last_updated, custom_field_data, common_name, serial_number,
    fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, algorithm, status, private_key_location,
    pem_content, chain_status, chain_validation_message, is_acme, acme_provider, acme_account_email,
    acme_challenge_type, acme_server_url, acme_auto_renewal, acme_renewal_days, archive_pinned, renewal_note,
    external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)
SELECT now(), now(), '{}', f.common_name, f.serial_number || '-copy', lower(f.fingerprint_sha256), f.issuer, '',
       f.valid_from, f.valid_to, '{}', f.algorithm, 'active', '', f.pem_content, 'unknown', '', false, '', '', '', '',
       false, 30, false, '', '', false, '', '', ''
  FROM nb_parse(:'old') f;
SELECT count(*) AS ours, (SELECT count(*) FROM netbox_ssl_certificate) AS netbox FROM ssl_certificate;

-- 2. Adding and removing assignments (and a rolled-back add).
\set cert :www
\set model device
\set obj 1
BEGIN;
\i test/netbox/assign_add.sql
COMMIT;
\set obj 2
BEGIN;
\i test/netbox/assign_add.sql
COMMIT;
\set model service
\set obj 1
BEGIN;
\i test/netbox/assign_add.sql
COMMIT;
\set model device
\set obj 2
BEGIN;
\i test/netbox/assign_remove.sql
COMMIT;
BEGIN;
SELECT id AS ct FROM django_content_type WHERE model = 'virtualmachine' \gset
INSERT INTO netbox_ssl_certificateassignment (created, last_updated, custom_field_data,
    assigned_object_id, is_primary, notes, assigned_object_type_id, certificate_id)
VALUES (now(), now(), '{}', 1, true, '', :ct, :www);
ROLLBACK;
SELECT * FROM pg_temp.sides() WHERE nb_id = :www;
SELECT event_type, object_type, object_id FROM ssl_lifecycle_event e JOIN ssl_netbox_link l ON l.certificate_id = e.certificate_id
 WHERE l.netbox_certificate_id = :www ORDER BY e.id;
SELECT * FROM ssl_netbox_check();

-- 3. A status edit our state machine refuses (active to pending), one it
-- allows (rolled back), and one it allows.
\set VERBOSITY terse
\set cert :pre
\set status pending
BEGIN;
\i test/netbox/status_edit.sql
COMMIT;
\set VERBOSITY default
BEGIN;
UPDATE netbox_ssl_certificate SET status = 'revoked' WHERE id = :pre;
ROLLBACK;
SELECT * FROM pg_temp.sides() WHERE nb_id = :pre;

-- 4. Renew & Transfer in NetBox: rolled back first, then committed.
BEGIN;
\set old_id :www
\set old :www
\set pem :new
\i test/netbox/renew_transfer.sql
ROLLBACK;
SELECT * FROM pg_temp.sides() WHERE nb_id = :www;
BEGIN;
\set old :www
\i test/netbox/renew_transfer.sql
COMMIT;
\set www2 :nb_new
SELECT * FROM pg_temp.sides() WHERE nb_id IN (:www, :www2);
SELECT * FROM ssl_netbox_check();
-- our history: exactly what ssl_renew records (plus the successor's import)
SELECT e.certificate_id = l.certificate_id AS on_old, e.event_type, e.old_status, e.new_status,
       e.related_certificate_id IS NOT NULL AS linked, e.object_type, e.object_id
  FROM ssl_lifecycle_event e JOIN ssl_netbox_link l ON l.netbox_certificate_id IN (:www, :www2)
 WHERE e.certificate_id = l.certificate_id AND e.id > (SELECT max(id) FROM ssl_lifecycle_event x
        WHERE x.certificate_id = (SELECT certificate_id FROM ssl_netbox_link WHERE netbox_certificate_id = :www)
          AND x.event_type = 'assignment_removed' AND x.occurred_at < now())
 ORDER BY e.id;
-- NetBox's history of the two
SELECT certificate_id = :www AS on_old, event_type, description, old_status, new_status
  FROM netbox_ssl_certificatelifecycleevent WHERE certificate_id IN (:www, :www2) ORDER BY id;

-- Refused in NetBox: 'replaced' without a successor, another certificate's
-- PEM in a linked row, an assignment to the replaced certificate.
\set VERBOSITY terse
UPDATE netbox_ssl_certificate SET status = 'replaced' WHERE id = :www2;
UPDATE netbox_ssl_certificate SET pem_content = (SELECT pem_content FROM netbox_ssl_certificate WHERE id = :pre)
 WHERE id = :www2;
BEGIN;
\set cert :www
\set model virtualmachine
\set obj 1
\i test/netbox/assign_add.sql
ROLLBACK;
\set VERBOSITY default
SELECT * FROM ssl_netbox_check();

-- 5. Deleting a device: its service's and its own assignments go on both
-- sides, with assignment_removed events (rolled back once first).
BEGIN;
\set device 1
\i test/netbox/device_delete.sql
ROLLBACK;
SELECT * FROM pg_temp.sides() WHERE nb_id IN (:pre, :www2);
\set device 1
BEGIN;
\i test/netbox/device_delete.sql
COMMIT;
SELECT * FROM pg_temp.sides() WHERE nb_id IN (:pre, :www2);
SELECT certificate_id, event_type, description FROM netbox_ssl_certificatelifecycleevent
 WHERE event_type = 'assignment_removed' AND description NOT LIKE '%: 2' ORDER BY id DESC LIMIT 3;
SELECT * FROM ssl_netbox_check();

-- 6. Deleting certificates in NetBox (children first, deferred FKs): the
-- replaced one (rolled back once), then its successor. Ours are unlinked
-- and archived when the state machine allows, history kept.
BEGIN;
\set cert :www
\i test/netbox/cert_delete.sql
ROLLBACK;
SELECT count(*) AS links FROM ssl_netbox_link;
\set cert :www
BEGIN;
\i test/netbox/cert_delete.sql
COMMIT;
\set cert :pre
BEGIN;
\i test/netbox/cert_delete.sql
COMMIT;
SELECT u.netbox_certificate_id IN (:www, :pre) AS was_netbox, c.status, u.reason,
       (SELECT count(*) FROM ssl_lifecycle_event e WHERE e.certificate_id = c.id) > 0 AS history_kept
  FROM ssl_netbox_unlinked u JOIN ssl_certificate c ON c.id = u.certificate_id ORDER BY c.id;
SELECT * FROM ssl_netbox_check();
RESET ROLE;
-- 7. Ours -> NetBox, as an operator: ssl_import creates the plugin row in
-- the plugin's formats, with its imported event.
\set ra `cat test/netbox/certs/renew-a.pem`
\set rb `cat test/netbox/certs/renew-b.pem`
\set rc `cat test/netbox/certs/renew-c.pem`
\set rd `cat test/netbox/certs/renew-d.pem`
SET ROLE nb_bridge_ops;
SELECT ssl_import(:'ra', 'vault:renew', 'acme') AS ra_id \gset
SELECT ssl_import(:'expired') AS expired_id \gset
RESET ROLE;
SELECT c.id = :ra_id AS renew_a, p.common_name, p.serial_number = (SELECT serial_number FROM nb.nb_parse(c.pem_content)) AS serial,
       p.fingerprint_sha256 = c.fingerprint_sha256 AS same_fp, p.status, p.sans, p.key_size, p.algorithm,
       p.private_key_location, t.slug AS tenant, p.pem_content = rtrim(c.pem_content, E'\n') AS pem,
       p.issuer, p.chain_status, p.acme_renewal_days, p.custom_field_data
  FROM nb.netbox_ssl_certificate p JOIN ssl_netbox_link l ON l.netbox_certificate_id = p.id
  JOIN ssl_certificate c ON c.id = l.certificate_id LEFT JOIN nb.tenancy_tenant t ON t.id = p.tenant_id
 WHERE c.id IN (:ra_id, :expired_id) ORDER BY c.id;
SELECT netbox_certificate_id AS ra_nb FROM ssl_netbox_link WHERE certificate_id = :ra_id \gset
SELECT netbox_certificate_id AS expired_nb FROM ssl_netbox_link WHERE certificate_id = :expired_id \gset
-- assignments: to NetBox objects (written through), to an unknown type
-- (22023), to a missing device (23503): nothing half-written.
SET ROLE nb_bridge_ops;
INSERT INTO ssl_assignment (certificate_id, object_type, object_id, notes)
VALUES (:ra_id, 'dcim.device', 2, 'front'), (:ra_id, 'virtualization.virtualmachine', 1, NULL),
       (:ra_id, 'dcim.device', 3, NULL);
\set VERBOSITY terse
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:ra_id, 'host', 7);
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:ra_id, 'dcim.device', 999);
\set VERBOSITY default
DELETE FROM ssl_assignment WHERE certificate_id = :ra_id AND object_id = 3;
UPDATE ssl_assignment SET notes = 'edge' WHERE certificate_id = :ra_id AND object_type = 'virtualization.virtualmachine';
RESET ROLE;
SELECT * FROM pg_temp.sides() WHERE our_id = :ra_id;
SELECT notes FROM nb.netbox_ssl_certificateassignment WHERE certificate_id = :ra_nb ORDER BY id;
SELECT * FROM ssl_netbox_check();

-- ssl_netbox_renew (the plugin's id): both sides renewed and moved; the same
-- renewal again fails with 55000 naming the successor.
SET ROLE nb_bridge_ops;
SELECT ssl_netbox_renew(:ra_nb, :'rb') AS rb_nb \gset
\set VERBOSITY terse
SELECT ssl_netbox_renew(:ra_nb, :'rc');
SELECT ssl_netbox_renew(424242, :'rc');
\set VERBOSITY default
RESET ROLE;
SELECT * FROM pg_temp.sides() WHERE nb_id IN (:ra_nb, :rb_nb);
SELECT certificate_id = :ra_nb AS on_old, event_type, description, old_status, new_status,
       related_certificate_id IS NOT NULL AS related
  FROM nb.netbox_ssl_certificatelifecycleevent WHERE certificate_id IN (:ra_nb, :rb_nb)
   AND id > (SELECT max(id) FROM nb.netbox_ssl_certificatelifecycleevent WHERE description LIKE 'Status changed from active to revoked%' OR certificate_id < :ra_nb)
 ORDER BY id;
SELECT * FROM ssl_netbox_check();

-- ssl_revert_renewal, then ssl_renew by our id, written through.
SET ROLE nb_bridge_ops;
SELECT certificate_id AS rb_id FROM ssl_netbox_link WHERE netbox_certificate_id = :rb_nb \gset
SELECT ssl_revert_renewal(:rb_id) = :ra_id AS reverted;
RESET ROLE;
SELECT * FROM pg_temp.sides() WHERE nb_id IN (:ra_nb, :rb_nb);
SELECT * FROM ssl_netbox_check();
SET ROLE nb_bridge_ops;
SELECT ssl_renew(:ra_id, :'rc') AS rc_id \gset
RESET ROLE;
SELECT * FROM pg_temp.sides() WHERE our_id IN (:ra_id, :rc_id);
SELECT * FROM ssl_netbox_check();

-- ssl_refresh_status and ssl_auto_archive write NetBox's status (none due
-- here but the expired import, already expired on both sides).
SET ROLE nb_bridge_ops;
SELECT ssl_refresh_status() AS refreshed;
RESET ROLE;
SELECT ssl_auto_archive('1 day') AS archived;
SELECT * FROM pg_temp.sides() WHERE our_id = :expired_id;
SELECT event_type, description, old_status, new_status FROM nb.netbox_ssl_certificatelifecycleevent
 WHERE certificate_id = :expired_nb ORDER BY id;
SELECT * FROM ssl_netbox_check();

-- NetBox imports an expired certificate as active: the inventory keeps the
-- date-based status and NetBox's row is corrected, with its event.
SET ROLE nb_app;
SET search_path = nb, public;
\set pem `cat test/fixtures/expired-renewal.pem`
\i test/netbox/ui_import.sql
SELECT status FROM netbox_ssl_certificate WHERE id = :nb_id;
SELECT event_type, description FROM netbox_ssl_certificatelifecycleevent WHERE certificate_id = :nb_id ORDER BY id;
SELECT * FROM ssl_netbox_check();
RESET ROLE;

-- 8. Detach: NetBox writes are no longer mirrored (check says so); attach
-- again catches up.
SET ROLE nb_bridge_admin;
SELECT ssl_netbox_detach();
RESET ROLE;
SET ROLE nb_app;
\set pem :rd
\i test/netbox/ui_import.sql
RESET ROLE;
\set ed `cat test/fixtures/ed25519.pem`
SELECT ssl_import(:'ed') AS ed_id \gset
UPDATE ssl_certificate SET status = 'revoked' WHERE id = :rc_id;
SELECT * FROM ssl_netbox_check();
SET ROLE nb_bridge_admin;
SELECT ssl_netbox_attach('nb') AS linked;
RESET ROLE;
SELECT * FROM ssl_netbox_check();
SELECT p.common_name, p.algorithm, p.key_size, p.status FROM nb.netbox_ssl_certificate p
  JOIN ssl_netbox_link l ON l.netbox_certificate_id = p.id WHERE l.certificate_id IN (:ed_id, :rc_id) ORDER BY p.id;

-- A NetBox upgrade that renames a column the bridge uses: check names it.
ALTER TABLE nb.netbox_ssl_certificate RENAME COLUMN pem_content TO pem;
SELECT * FROM ssl_netbox_check();
\set VERBOSITY terse
SELECT ssl_netbox_attach('nb');
\set VERBOSITY default
ALTER TABLE nb.netbox_ssl_certificate RENAME COLUMN pem TO pem_content;

-- Privileges: the reader sees links and the check, not attach.
SET ROLE nb_app;
SELECT count(*) > 0 AS reads_links FROM ssl_netbox_link;
\set VERBOSITY terse
SELECT ssl_netbox_attach('nb');
SELECT ssl_netbox_detach();
\set VERBOSITY default
RESET ROLE;
SELECT p.pronamespace::regnamespace AS schema, p.proname, p.prosecdef, p.proconfig,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p WHERE p.proname LIKE 'ssl\_netbox\_%' AND p.proname <> 'ssl_netbox_fields'
 ORDER BY 2, pg_get_function_identity_arguments(p.oid), p.pronamespace::regnamespace::text;

-- Scale: a NetBox-side insert finds our certificate by fingerprint through
-- the unique index, reading a few of our rows whatever the inventory's size.
-- (The first 1.5 bridge compared in collation "C", which that index cannot
-- serve: each insert, and each row of an attach, walked the whole table.)
-- 3,000 filler rows, in a transaction that is rolled back.
BEGIN;
ALTER TABLE ssl_certificate DISABLE TRIGGER USER;
INSERT INTO ssl_certificate
SELECT (jsonb_populate_record(c, jsonb_build_object('id', -g,
           'fingerprint_sha256', upper(regexp_replace(encode(sha256(convert_to('filler' || g, 'UTF8')), 'hex'), '(..)(?!$)', '\1:', 'g')),
                                                    'serial_number', 'F' || g, 'replaced_by', NULL))).*
  FROM ssl_certificate c, generate_series(1, 3000) g
 WHERE c.id = (SELECT min(id) FROM ssl_certificate);
ALTER TABLE ssl_certificate ENABLE TRIGGER USER;
SELECT coalesce(idx_tup_fetch, 0) AS fetched_before FROM pg_stat_xact_user_tables
 WHERE relid = 'ssl_certificate'::regclass \gset
SET ROLE nb_app;
\set pem `cat test/fixtures/utf8-subject.pem`
\i test/netbox/ui_import.sql
RESET ROLE;
SELECT idx_tup_fetch - :fetched_before < 100 AS found_by_index,
       (SELECT count(*) FROM ssl_netbox_link l JOIN netbox_ssl_certificate p ON p.id = l.netbox_certificate_id
         WHERE p.id = :nb_id) AS linked
  FROM pg_stat_xact_user_tables WHERE relid = 'ssl_certificate'::regclass;
ROLLBACK;

-- Teardown.
SELECT ssl_netbox_detach();
DROP SCHEMA nb CASCADE;
