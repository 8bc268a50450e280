SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- 1.6 write path: ssl_import, ssl_import_bundle and ssl_renew store rows with
-- one C statement and the triggers skip it (ssl_write_path_owns). An INSERT
-- by hand must give the same rows, events and outbox entries as ssl_import,
-- and one-by-one ssl_import the same as ssl_import_bundle.
\set leaf `cat test/fixtures/janus-old.pem`
\set shuffled `cat test/fixtures/bundle-shuffled.pem`

-- Everything an import writes, without ids and clock values.
CREATE FUNCTION snap(skip_chain boolean DEFAULT false) RETURNS jsonb LANGUAGE sql AS $$
SELECT jsonb_build_object(
  'certs', (SELECT jsonb_agg(to_jsonb(c) - 'id' - 'created_at' - 'updated_at'
                             - CASE WHEN skip_chain THEN 'issuer_chain' ELSE '' END ORDER BY c.fingerprint_sha256)
              FROM ssl_certificate c),
  'events', (SELECT jsonb_agg(jsonb_build_object('fp', c.fingerprint_sha256, 'type', e.event_type, 'old', e.old_status,
                                                 'new', e.new_status, 'desc', e.description, 'actor', e.actor,
                                                 'on_behalf_of', e.on_behalf_of)
                              ORDER BY c.fingerprint_sha256, e.event_type)
               FROM ssl_lifecycle_event e JOIN ssl_certificate c ON c.id = e.certificate_id),
  'outbox', (SELECT jsonb_agg(o.payload - 'id' - 'certificate_id' - 'occurred_at'
                              || jsonb_build_object('fp', c.fingerprint_sha256, 'event_is_id', o.id = (o.payload->>'id')::bigint)
                              ORDER BY c.fingerprint_sha256, o.event_type)
               FROM ssl_outbox o JOIN ssl_certificate c ON c.id = o.certificate_id),
  'deliveries', (SELECT jsonb_agg(jsonb_build_object('consumer', d.consumer, 'fp', c.fingerprint_sha256)
                                  ORDER BY d.consumer, c.fingerprint_sha256)
                   FROM ssl_outbox_delivery d JOIN ssl_outbox o ON o.id = d.outbox_id
                   JOIN ssl_certificate c ON c.id = o.certificate_id))
$$;

-- What the triggers compute, so that skipping them would show: an ACME
-- issuer and an authority pattern matching the fixtures' issuer, and an
-- outbox consumer.
INSERT INTO ssl_acme_issuer (issuer_cn, provider) SELECT issuer_cn, 'other' FROM ssl_parse(:'leaf');
INSERT INTO ssl_certificate_authority (name, issuer_pattern) VALUES ('Test CA', '.');
SELECT ssl_outbox_subscribe('speed') IS NOT NULL AS subscribed;

-- 1. ssl_import of one certificate.
BEGIN;
SELECT ssl_import(:'leaf', 'vault:k1', 'tenant-a') IS NOT NULL AS imported;
SELECT snap() AS via_import \gset
SELECT is_acme, acme_provider, issuing_ca_source, status FROM ssl_certificate;
ROLLBACK;

-- 2. The same by hand: a plain INSERT and its imported event; the triggers
-- do ACME, authority and outbox.
BEGIN;
INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans,
       algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256, pem_content,
       issuer_chain, issuer_cn, issuer_org, tbs_sha256, tenant, private_key_location, crl_urls, ocsp_urls,
       ca_issuers_urls, status)
SELECT p.common_name, p.subject, p.issuer, p.serial_number, p.fingerprint_sha256, p.valid_from, p.valid_to, p.sans,
       p.algorithm, p.key_size, p.signature_algorithm, p.is_ca, p.subject_key_id, p.authority_key_id, p.spki_sha256,
       p.pem_content, p.issuer_chain, p.issuer_cn, p.issuer_org, p.tbs_sha256, 'tenant-a', 'vault:k1', p.crl_urls,
       p.ocsp_urls, p.ca_issuers_urls,
       CASE WHEN p.valid_to < now() THEN 'expired' WHEN p.valid_from > now() THEN 'pending' ELSE 'active' END
  FROM ssl_parse(:'leaf') p;
INSERT INTO ssl_lifecycle_event (certificate_id, event_type, new_status, description)
SELECT id, 'imported', status, 'Imported with status ' || status FROM ssl_certificate;
SELECT snap() AS by_hand \gset
ROLLBACK;
SELECT :'via_import'::jsonb = :'by_hand'::jsonb AS import_equals_insert_by_hand;
SELECT jsonb_array_length(:'via_import'::jsonb -> 'outbox') AS outbox_rows,
       jsonb_array_length(:'via_import'::jsonb -> 'deliveries') AS deliveries;

-- 3. A bundle: ssl_import_bundle (one statement per batch) vs ssl_import of
-- each of its certificates, in bundle order (issuer_chain differs by design:
-- the bundle's CA certificates form each item's chain).
BEGIN;
SELECT count(*) AS items, count(*) FILTER (WHERE outcome = 'imported') AS imported
  FROM ssl_import_bundle(:'shuffled');
SELECT snap(true) AS via_bundle \gset
ROLLBACK;
BEGIN;
SELECT count(ssl_import(m[1])) AS imported
  FROM regexp_matches(:'shuffled', '(-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----)', 'g') WITH ORDINALITY AS t(m, n);
SELECT snap(true) AS one_by_one \gset
SELECT snap() AS one_by_one_chains \gset
ROLLBACK;
SELECT :'via_bundle'::jsonb = :'one_by_one'::jsonb AS bundle_equals_one_by_one;

-- 3b. ssl_import_many (1.6): one certificate per element, stored by the
-- batch; the same rows, events and outbox as ssl_import of each, in order,
-- for both forms (PEM text[] and DER bytea[]), chains included.
CREATE TEMP TABLE staging AS
SELECT n::int AS n, m[1] AS pem, decode(regexp_replace(m[1], '-----[A-Z ]+-----|\s', '', 'g'), 'base64') AS der
  FROM regexp_matches(:'shuffled', '(-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----)', 'g') WITH ORDINALITY AS t(m, n);
BEGIN;
SELECT ordinality, outcome FROM ssl_import_many(ARRAY(SELECT pem FROM staging ORDER BY n));
SELECT snap() AS via_many_pem \gset
ROLLBACK;
SELECT :'via_many_pem'::jsonb = :'one_by_one_chains'::jsonb AS many_pem_equals_one_by_one;
BEGIN;
SELECT count(*) FILTER (WHERE outcome = 'imported') AS imported FROM ssl_import_many(ARRAY(SELECT der FROM staging ORDER BY n));
SELECT snap() AS via_many_der \gset
ROLLBACK;
SELECT :'via_many_der'::jsonb = :'one_by_one_chains'::jsonb AS many_der_equals_one_by_one;

-- Duplicates: a repeated element is reported as exists with the id this call
-- gave it; an element stored before the call fails the call (error, 23505
-- naming the item) or is reported (skip). Progress NOTICEs as the bundle's.
BEGIN;
SELECT ssl_import(pem) AS first_id FROM staging WHERE n = 2 \gset
SET LOCAL netbox_ssl.bundle_progress_every = 2;
SELECT ordinality, certificate_id = :first_id AS stored_before, outcome
  FROM ssl_import_many(ARRAY(SELECT pem FROM staging ORDER BY n) || ARRAY(SELECT pem FROM staging WHERE n = 1), 'skip');
SELECT (SELECT count(*) FROM ssl_certificate) AS certificates, (SELECT count(*) FROM ssl_lifecycle_event) AS events,
       (SELECT count(*) FROM ssl_outbox) AS outbox;
SAVEPOINT s;
\set VERBOSITY default
SELECT * FROM ssl_import_many(ARRAY(SELECT der FROM staging ORDER BY n));
ROLLBACK TO s;
-- A bad element fails the whole call, naming its item; nothing is stored.
SELECT * FROM ssl_import_many(ARRAY['-----BEGIN CERTIFICATE-----', NULL]::text[], 'skip');
ROLLBACK TO s;
SELECT * FROM ssl_import_many(ARRAY[(SELECT der FROM staging WHERE n = 1), NULL]::bytea[], 'skip');
ROLLBACK TO s;
SELECT * FROM ssl_import_many(ARRAY[(SELECT der FROM staging WHERE n = 1), '\x3003020100'::bytea], 'skip');
ROLLBACK TO s;
SELECT * FROM ssl_import_many(ARRAY[]::bytea[]);
SELECT * FROM ssl_import_many(ARRAY[]::bytea[], 'update_chain');
ROLLBACK;
-- Privileges as ssl_import: the operator role only.
SELECT r, has_function_privilege(r, 'ssl_import_many(bytea[],text,text)', 'EXECUTE') AS many_der,
       has_function_privilege(r, 'ssl_import_many(text[],text,text)', 'EXECUTE') AS many_pem,
       has_function_privilege(r, 'ssl_import(text,text,text)', 'EXECUTE') AS import
  FROM unnest(ARRAY['public', 'netbox_ssl_operator', 'netbox_ssl_reader']) r;

-- 4. Statements nested in triggers are not the write path's own: an INSERT
-- by hand inside the import's transaction still fires every trigger, and
-- ssl_write_path_owns() is false outside the write path's statement.
SELECT netbox_ssl_internal.ssl_write_path_owns() AS owns_outside;
BEGIN;
SELECT ssl_import(:'leaf') IS NOT NULL AS imported;
SELECT count(*) AS outbox_rows FROM ssl_outbox;
ROLLBACK;

-- 5. ssl_renew: ACME and authority on the successor, no assignment history
-- for the move, the target check still refuses writes to the old one.
BEGIN;
SELECT ssl_import(:'leaf') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) SELECT :old_id, 'dcim.device', g FROM generate_series(1, 3) g;
\set new `cat test/fixtures/janus-new.pem`
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
SELECT c.id = :new_id AS successor, c.is_acme, c.acme_provider, c.issuing_ca_source, c.status,
       (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c WHERE c.id = :new_id;
SELECT event_type, count(*) FROM ssl_lifecycle_event GROUP BY 1 ORDER BY 1;
SELECT count(*) = (SELECT count(*) FROM ssl_lifecycle_event) AS every_event_published FROM ssl_outbox;
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'dcim.device', 99);
ROLLBACK;
