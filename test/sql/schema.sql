-- WITH SCHEMA: everything lives in the chosen schema and works when that
-- schema is not on the search_path.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
RESET client_min_messages;
CREATE SCHEMA inventory;
CREATE EXTENSION netbox_ssl WITH SCHEMA inventory;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
SELECT count(*) AS objects_outside_schema
  FROM pg_depend d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'netbox_ssl')
   AND c.relnamespace <> 'inventory'::regnamespace;
SET search_path = public;
SELECT inventory.ssl_import(:'old') AS old_id \gset
INSERT INTO inventory.ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 1);
SELECT inventory.ssl_renewal_candidate(:'new') = :old_id AS candidate;
SELECT count(*) AS preview_rows FROM inventory.ssl_renewal_preview(:old_id, :'new');
SELECT inventory.ssl_renew(:old_id, :'new') > :old_id AS renewed;
SELECT status, (SELECT count(*) FROM inventory.ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM inventory.ssl_certificate c ORDER BY id;
-- The extension cannot be moved afterwards.
ALTER EXTENSION netbox_ssl SET SCHEMA public;
RESET search_path;
DROP EXTENSION netbox_ssl CASCADE;
DROP SCHEMA inventory;
-- Recreating the extension in the same session re-plans the kept SPI plans
-- (new schema, then the same schema with new tables).
CREATE EXTENSION netbox_ssl;
SELECT ssl_import(:'old') > 0 AS imported_after_schema_change;
DROP EXTENSION netbox_ssl;
CREATE EXTENSION netbox_ssl;
SELECT ssl_import(:'old') > 0 AS imported_after_recreate;
SELECT ssl_renew((SELECT id FROM ssl_certificate), :'new') > 0 AS renewed_after_recreate;
