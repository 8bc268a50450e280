SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- ssl_import: statuses, events, actor, tenants, duplicates, triggers, guards.
\set old `cat test/fixtures/janus-old.pem`
\set other `cat test/fixtures/other-cn.pem`
\set expired `cat test/fixtures/expired.pem`
\set pending `cat test/fixtures/pending.pem`
\set bundle `cat test/fixtures/bundle-shuffled.pem`
\set so1 `cat test/fixtures/real/stackoverflow-leaf-20230918.pem`
\set derb64 `base64 -w0 test/fixtures/cert.der`

-- Status follows the validity window at import time.
SELECT ssl_import(:'other', 'vault:kv/api', 'team-a') AS other_id;
SELECT ssl_import(:'expired') AS expired_id;
SELECT ssl_import(:'pending') AS pending_id;
SELECT ssl_import(:'so1') AS real_expired_id;
SELECT id, common_name, status, tenant, private_key_location, sans FROM ssl_certificate ORDER BY id;

-- One imported event per certificate, with the status it got.
SELECT certificate_id, event_type, old_status, new_status, related_certificate_id, description, actor
  FROM ssl_lifecycle_event ORDER BY id;

-- The actor is the calling role; netbox_ssl.actor, when an application sets
-- it, is recorded beside it as on_behalf_of (since 1.5).
BEGIN;
SET LOCAL netbox_ssl.actor = 'alice';
SELECT ssl_import(:'old') AS old_id;
SELECT e.actor, e.on_behalf_of, c.issuer_chain = '' AS no_chain
  FROM ssl_lifecycle_event e JOIN ssl_certificate c ON c.id = e.certificate_id
 WHERE c.common_name = 'www.example.com';
ROLLBACK;

-- A bundle stores the leaf, with the rest as issuer_chain.
SELECT ssl_import(:'bundle') AS bundle_id;
SELECT common_name, length(issuer_chain) > 0 AS has_chain,
       (SELECT count(*) FROM regexp_matches(issuer_chain, 'BEGIN CERTIFICATE', 'g')) AS chain_certs
  FROM ssl_certificate WHERE common_name = 'www.example.com';

-- DER import of the same certificate is a duplicate (23505, naming the id).
SELECT ssl_import(decode(:'derb64', 'base64'));

-- Import from inside a trigger, as NetBox-style integrations do.
CREATE TABLE incoming (pem text, certificate_id bigint);
CREATE FUNCTION incoming_import() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.certificate_id := ssl_import(NEW.pem, NULL, 'from-trigger');
    RETURN NEW;
END $$;
CREATE TRIGGER incoming_import BEFORE INSERT ON incoming FOR EACH ROW EXECUTE FUNCTION incoming_import();
\set upper `cat test/fixtures/janus-new-upper.pem`
INSERT INTO incoming (pem) VALUES (:'upper') RETURNING certificate_id;
SELECT common_name, tenant, status FROM ssl_certificate WHERE id = (SELECT certificate_id FROM incoming);

-- Rows hold one certificate for ever; updated_at follows real changes.
UPDATE ssl_certificate SET common_name = 'evil.example.com' WHERE common_name = 'api.example.com';
UPDATE ssl_certificate SET pem_content = :'old' WHERE common_name = 'api.example.com';
UPDATE ssl_certificate SET tenant = 'team-b' WHERE common_name = 'api.example.com' RETURNING tenant, updated_at >= created_at AS touched;

-- The database enforces the documented statuses and the replaced_by rule.
\set VERBOSITY terse
UPDATE ssl_certificate SET status = 'bogus' WHERE common_name = 'api.example.com';
UPDATE ssl_certificate SET status = 'replaced' WHERE common_name = 'api.example.com';
\set VERBOSITY default

-- Deleting a certificate never silently drops its audit trail.
DELETE FROM ssl_certificate WHERE common_name = 'api.example.com';

-- SQL inside the extension is schema-qualified: a hostile search_path that
-- shadows the tables changes nothing.
CREATE SCHEMA shadow;
CREATE TABLE shadow.ssl_certificate (LIKE ssl_certificate);
CREATE TABLE shadow.ssl_lifecycle_event (LIKE ssl_lifecycle_event);
\set p384 `cat test/fixtures/p384.pem`
SET search_path = shadow, public;
SELECT public.ssl_import(:'p384') IS NOT NULL AS imported;
SELECT count(*) AS shadow_rows FROM shadow.ssl_certificate;
SELECT count(*) AS shadow_events FROM shadow.ssl_lifecycle_event;
RESET search_path;
SELECT count(*) AS real_rows FROM ssl_certificate WHERE common_name = 'p384.example.com';
DROP SCHEMA shadow CASCADE;

-- Every object carries a comment.
SELECT pg_describe_object(d.classid, d.objid, 0) AS uncommented_object
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'netbox_ssl')
   AND d.deptype = 'e'
   AND obj_description(d.objid, d.classid::regclass::text) IS NULL
   -- PostgreSQL 17+ also records the implicit row and array types of the
   -- extension's tables and views as members; they have no comment of their own.
   AND NOT EXISTS (SELECT 1 FROM pg_type t LEFT JOIN pg_class r ON r.oid = t.typrelid
                    WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                      AND (t.typcategory = 'A' OR r.relkind IN ('r', 'v', 'm', 'p', 'f')));
SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relname IN ('ssl_certificate', 'ssl_assignment', 'ssl_lifecycle_event')
   AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL;
