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
\i test/netbox/assign_add.sql
\set model virtualmachine
\i test/netbox/assign_add.sql
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
