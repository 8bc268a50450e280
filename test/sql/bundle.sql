SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- PKCS#7 input (ssl_parse, ssl_import) and ssl_import_bundle.
\set shuffled `cat test/fixtures/bundle-shuffled.pem`
\set p7pem `cat test/fixtures/bundle/chain.p7.pem`
\set cmspem `cat test/fixtures/bundle/chain-cms.pem`
\set p7empty `cat test/fixtures/bundle/empty.p7.pem`
\set p7b `base64 -w0 test/fixtures/bundle/chain.p7b`
\set amazon `base64 -w0 test/fixtures/bundle/corpus/amazon-roots.p7b`
\set leafder `base64 -w0 test/fixtures/cert.der`
\set leaf `cat test/fixtures/janus-old.pem`
\set root `cat test/fixtures/root.pem`
\set intermediate `cat test/fixtures/intermediate.pem`
\set withkey `cat test/fixtures/leaf-with-key.pem`
\set p12 `base64 -w0 test/fixtures/leaf-with-key.p12`
\set keyder `base64 -w0 test/fixtures/key-only.der`
\set trusted `cat test/fixtures/trusted.pem`

CREATE FUNCTION chain_certs(chain text) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS $$ SELECT count(*) FROM regexp_matches(chain, 'BEGIN CERTIFICATE', 'g') $$;

-- ssl_parse reads PKCS#7 (DER, PEM, CMS label) and picks the leaf as for a
-- PEM bundle; the rest becomes issuer_chain.
SELECT common_name, chain_certs(issuer_chain) AS chain FROM ssl_parse(decode(:'p7b', 'base64'));
SELECT common_name, chain_certs(issuer_chain) AS chain FROM ssl_parse(:'p7pem');
SELECT (ssl_parse(:'cmspem')).issuer_chain = (ssl_parse(:'shuffled')).issuer_chain AS same_chain_as_pem;
-- The corpus bundle: two roots in a BER (indefinite-length) envelope.
SELECT common_name, fingerprint_sha256, chain_certs(issuer_chain) AS chain FROM ssl_parse(decode(:'amazon', 'base64'));
-- Bad PKCS#7 input: 22P02 for text, 22P03 for bytes; PKCS#12 stays 22023.
SELECT ssl_parse(:'p7empty');
SELECT ssl_parse(decode(:'p7b', 'base64') || '\x00'::bytea);
SELECT ssl_parse(decode(:'p12', 'base64'));

-- ssl_import stores the leaf of a PKCS#7 bundle.
BEGIN;
SELECT ssl_import(decode(:'p7b', 'base64')) IS NOT NULL AS imported;
SELECT common_name, chain_certs(issuer_chain) AS chain FROM ssl_certificate;
ROLLBACK;

-- ssl_import_bundle: one row per certificate, in bundle order; each row's
-- issuer_chain holds the bundle's certificates above it (a root: none).
SELECT * FROM ssl_import_bundle(:'shuffled', tenant => 'team-a');
SELECT id, common_name, is_ca, chain_certs(issuer_chain) AS chain, tenant, status FROM ssl_certificate ORDER BY id;
-- (psql's backquote expansion drops each file's final newline)
SELECT (SELECT issuer_chain FROM ssl_certificate WHERE common_name = 'www.example.com')
           = :'intermediate' || E'\n' || :'root' || E'\n' AS leaf_chain_ok,
       (SELECT issuer_chain FROM ssl_certificate WHERE common_name = 'netbox_ssl Test Intermediate')
           = :'root' || E'\n' AS intermediate_chain_ok;
SELECT certificate_id, event_type, new_status FROM ssl_lifecycle_event ORDER BY id;

-- on_conflict => 'error' (the default): the first stored certificate aborts
-- everything with 23505 naming the item and fingerprint.
SELECT * FROM ssl_import_bundle(:'leaf' || :'root');
SELECT * FROM ssl_import_bundle(decode(:'p7b', 'base64'), 'error');
SELECT count(*) AS certificates FROM ssl_certificate;

-- on_conflict => 'skip': stored ones are reported as exists with their id.
SELECT * FROM ssl_import_bundle(decode(:'amazon', 'base64') || decode(:'p7b', 'base64'), 'skip');
SELECT count(*) AS certificates FROM ssl_certificate;

-- on_conflict => 'update_chain': a stored row without issuer_chain gets the
-- bundle's chain (chain_updated, logged); a row with one stays (exists).
BEGIN;
TRUNCATE ssl_lifecycle_event, ssl_certificate CASCADE;
SELECT ssl_import(:'leaf') AS leaf_id \gset
SELECT ssl_import(:'intermediate') AS intermediate_id \gset
UPDATE ssl_certificate SET issuer_chain = :'root' WHERE id = :intermediate_id;
SELECT ordinality, certificate_id = :leaf_id AS is_leaf, certificate_id = :intermediate_id AS is_intermediate, outcome
  FROM ssl_import_bundle(:'shuffled', 'update_chain');
SELECT common_name, chain_certs(issuer_chain) AS chain, issuer_chain = :'root' AS kept FROM ssl_certificate ORDER BY id;
SELECT event_type, description FROM ssl_lifecycle_event WHERE event_type = 'chain_updated';
-- Run again: nothing left to fill in.
SELECT ordinality, outcome FROM ssl_import_bundle(:'shuffled', 'update_chain');
ROLLBACK;

-- Duplicates within one bundle: the repeat is reported as exists with the id
-- its first occurrence got, in every mode (a directory's worth of files
-- repeats its intermediates).
BEGIN;
TRUNCATE ssl_lifecycle_event, ssl_certificate CASCADE;
SELECT ordinality, certificate_id = first_value(certificate_id) OVER (PARTITION BY fingerprint_sha256 ORDER BY ordinality) AS first_id, outcome
  FROM ssl_import_bundle(:'leaf' || :'intermediate' || :'leaf' || :'trusted' || :'intermediate')
 ORDER BY ordinality;
SELECT count(*) AS certificates FROM ssl_certificate;
ROLLBACK;

-- DER input: concatenated certificates and PKCS#7 bundles.
BEGIN;
TRUNCATE ssl_lifecycle_event, ssl_certificate CASCADE;
CREATE TEMP TABLE der_rows AS
    SELECT * FROM ssl_import_bundle(decode(:'leafder', 'base64') || decode(:'p7b', 'base64'));
SELECT r.ordinality, c.common_name, chain_certs(c.issuer_chain) AS chain, r.outcome
  FROM der_rows r JOIN ssl_certificate c ON c.id = r.certificate_id ORDER BY r.ordinality;
ROLLBACK;

-- All or nothing: a malformed item aborts with its ordinality, nothing stays.
SELECT count(*) AS before FROM ssl_certificate;
SELECT * FROM ssl_import_bundle(:'root' || E'-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n', 'skip');
SELECT * FROM ssl_import_bundle(:'root' || E'-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n', 'skip');
SELECT * FROM ssl_import_bundle(decode(:'p7b', 'base64') || '\x3000'::bytea, 'skip');
SELECT count(*) AS after FROM ssl_certificate;

-- Keys are refused exactly as ssl_import refuses them (22023), in any position.
SELECT * FROM ssl_import_bundle(:'root' || :'withkey', 'skip');
SELECT * FROM ssl_import_bundle(decode(:'p12', 'base64'), 'skip');
SELECT * FROM ssl_import_bundle(decode(:'leafder', 'base64') || decode(:'keyder', 'base64'), 'skip');

-- Other bad arguments.
SELECT * FROM ssl_import_bundle('no certificate here');
SELECT * FROM ssl_import_bundle(''::bytea);
SELECT * FROM ssl_import_bundle(:'p7empty');
SELECT * FROM ssl_import_bundle(NULL::text);
SELECT * FROM ssl_import_bundle(:'root', 'replace');
-- The size limit applies per certificate, not to the whole bundle.
SET netbox_ssl.max_input_bytes = 1000;
SELECT ordinality, outcome FROM ssl_import_bundle(:'leaf' || :'leaf', 'skip');
SELECT * FROM ssl_import_bundle(:'leaf' || :'root', 'skip');
RESET netbox_ssl.max_input_bytes;

-- Progress reports: a NOTICE every netbox_ssl.bundle_progress_every items.
SET netbox_ssl.bundle_progress_every = 1;
SELECT count(*) FROM ssl_import_bundle(:'shuffled', 'skip');
SET client_min_messages = warning;
SELECT count(*) FROM ssl_import_bundle(:'shuffled', 'skip');
RESET client_min_messages;
RESET netbox_ssl.bundle_progress_every;

-- Privileges: operators import bundles, readers do not.
CREATE ROLE nbs_bundle_reader IN ROLE netbox_ssl_reader;
CREATE ROLE nbs_bundle_operator IN ROLE netbox_ssl_operator;
SET ROLE nbs_bundle_reader;
SELECT count(*) FROM ssl_import_bundle(:'root', 'skip');
SET ROLE nbs_bundle_operator;
SELECT ordinality, outcome FROM ssl_import_bundle(:'root', 'skip');
RESET ROLE;
DROP ROLE nbs_bundle_reader;
DROP ROLE nbs_bundle_operator;

-- The SQLSTATE of each kind of error above.
CREATE OR REPLACE FUNCTION sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT sqlstate_of(format('SELECT * FROM ssl_import_bundle(%L)', :'leaf')) AS stored,
       sqlstate_of(format('SELECT * FROM ssl_import_bundle(%L, %L)',
                          :'root' || E'\n-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n', 'skip')) AS bad_text,
       sqlstate_of(format('SELECT * FROM ssl_import_bundle(%L::bytea, %L)',
                          decode(:'p7b', 'base64') || '\x3000'::bytea, 'skip')) AS bad_bytes,
       sqlstate_of(format('SELECT * FROM ssl_import_bundle(%L, %L)', :'root' || E'\n' || :'withkey', 'skip')) AS key,
       sqlstate_of(format('SELECT * FROM ssl_import_bundle(%L::bytea, %L)', decode(:'p12', 'base64'), 'skip')) AS p12,
       sqlstate_of(format('SELECT * FROM ssl_import_bundle(%L, %L)', :'root', 'replace')) AS mode,
       sqlstate_of('SELECT * FROM ssl_import_bundle(NULL::text)') AS null_data;
SET netbox_ssl.max_input_bytes = 1000;
SELECT sqlstate_of(format('SELECT * FROM ssl_import_bundle(%L, %L)', :'root', 'skip')) AS too_large;
RESET netbox_ssl.max_input_bytes;

-- The session is healthy after every error above.
SELECT count(*) AS certificates, count(*) FILTER (WHERE tenant = 'team-a') AS team_a FROM ssl_certificate;
