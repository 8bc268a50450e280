-- Security items 7 and 8: issuer_chain holds certificates only (whatever
-- path writes it; rows stored before 1.5 are reported, never an abort), and
-- issuer candidates are looked up by name and key identifier instead of
-- handing every stored CA certificate to OpenSSL.
-- Fixtures: test/fixtures/chain (root -> intermediate -> leaf, valid until
-- 2126) and 50 unrelated self-signed CAs (test/limbo/gen_unrelated_cas.py).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
RESET client_min_messages;
\set root `cat test/fixtures/chain/root.pem`
\set int `cat test/fixtures/chain/intermediate.pem`
\set leaf `cat test/fixtures/chain/leaf.pem`
\set weak `cat test/fixtures/chain/weak-rsa1024.pem`
\set self `cat test/fixtures/chain/self-signed.pem`
\set other `cat test/fixtures/janus-old.pem`
\set key `cat test/fixtures/key-only.pem`
\set csr `cat test/fixtures/csr/rsa-san.csr.pem`
\set unrelated `cat test/fixtures/chain/unrelated-cas.pem`
\set at '''2030-06-01 00:00:00+00'''

CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ': ' || msg;
END $$;

-- 1. Rows written by 1.4, which took any text: a garbage chain, a chain
-- with a private key in it, a chain of 1.4 MB. The upgrade keeps them.
SET client_min_messages = warning;
CREATE EXTENSION netbox_ssl VERSION '1.4';
RESET client_min_messages;
SELECT ssl_trust_anchor_load(:'root');
SELECT ssl_import(:'int') AS int_id \gset
SELECT ssl_import(:'leaf') AS leaf_id \gset
SELECT ssl_import(:'weak') AS weak_id \gset
SELECT ssl_import(:'self') AS self_id \gset
SELECT ssl_import(:'other') AS other_id \gset
UPDATE ssl_certificate SET issuer_chain = 'not a chain' WHERE id = :weak_id;
UPDATE ssl_certificate SET issuer_chain = :'int' || :'key' WHERE id = :self_id;
UPDATE ssl_certificate SET issuer_chain = repeat(:'int', 2000) WHERE id = :other_id;
ALTER EXTENSION netbox_ssl UPDATE TO '1.5';
SELECT id, length(issuer_chain) > 0 AS has_chain_text FROM ssl_certificate ORDER BY id;

-- One bad row never aborts ssl_validate_all: each is reported as invalid,
-- saying why, and the others are validated.
SELECT ssl_validate_all() AS validated;
SELECT id, chain_status, chain_depth, chain_message FROM ssl_certificate ORDER BY id;
-- ssl_validate_chain: a status, not an error, at any time.
SELECT status, depth, message FROM ssl_validate_chain(:weak_id, :at);
SELECT status, message FROM ssl_validate_chain(:self_id, :at);

-- chain_required passes only on a usable chain: the leaf (validated through
-- the stored intermediate) and the self-signed one pass, garbage fails.
INSERT INTO ssl_compliance_policy (name, policy_type, severity, parameters)
VALUES ('chain', 'chain_required', 'warning', '{}');
SELECT certificate_id, result, message FROM ssl_check_compliance() WHERE policy = 'chain' ORDER BY certificate_id;

-- 2. Every write of issuer_chain is checked (the trigger; ssl_import,
-- ssl_renew and ssl_import_bundle write through it too).
SELECT label, pg_temp.try(format('UPDATE ssl_certificate SET issuer_chain = %L WHERE id = %s', v, :leaf_id)) AS outcome
  FROM (VALUES
    ('garbage', 'not a chain'),
    ('whitespace', E' \n\t '),
    ('private key', :'key'),
    ('certificate and key', :'int' || :'key'),
    ('broken base64', E'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    ('not a certificate', E'-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n'),
    ('a request', :'csr'),
    ('certificate and request', :'int' || :'csr'),
    ('too large', repeat(:'int', 2000)),
    ('intermediate', :'int'),
    ('intermediate and root', :'int' || :'root'),
    ('none', '')
  ) AS t(label, v);
SET netbox_ssl.max_input_bytes = 1000;
SELECT pg_temp.try(format('UPDATE ssl_certificate SET issuer_chain = %L WHERE id = %s', :'int' || :'root', :leaf_id)) AS over_limit;
RESET netbox_ssl.max_input_bytes;
-- Rows from before 1.5 can still be changed in other columns.
UPDATE ssl_certificate SET tenant = 'kept' WHERE id = :weak_id;
-- As an operator (no privilege on the check function itself).
SET client_min_messages = warning;
DROP ROLE IF EXISTS nbs_sec_chain_operator;
RESET client_min_messages;
CREATE ROLE nbs_sec_chain_operator IN ROLE netbox_ssl_operator;
GRANT UPDATE (issuer_chain) ON ssl_certificate TO netbox_ssl_operator;
SET ROLE nbs_sec_chain_operator;
SELECT pg_temp.try(format('UPDATE ssl_certificate SET issuer_chain = %L WHERE id = %s', :'key', :leaf_id)) AS operator_key;
SELECT pg_temp.try(format('UPDATE ssl_certificate SET issuer_chain = %L WHERE id = %s', :'int', :leaf_id)) AS operator_chain;
RESET ROLE;
REVOKE UPDATE (issuer_chain) ON ssl_certificate FROM netbox_ssl_operator;
DROP ROLE nbs_sec_chain_operator;
-- Imports: the chain of a bundle is accepted as before.
\set new `cat test/fixtures/janus-new.pem`
SELECT ssl_import(:'new' || :'int') AS new_id \gset
SELECT length(issuer_chain) > 0 AS has_chain FROM ssl_certificate WHERE id = :new_id;

-- 3. Issuer candidates (item 8). The leaf has no issuer_chain: its
-- intermediate is found among the stored CA certificates by name and key
-- identifier; 50 unrelated CA certificates change nothing, and are not
-- even candidates.
UPDATE ssl_certificate SET issuer_chain = '' WHERE id = :leaf_id;
CREATE TEMP TABLE before AS SELECT * FROM ssl_validate_chain(:leaf_id, :at);
SELECT status, depth, message, cardinality(chain) AS n FROM before;
CREATE FUNCTION pg_temp.candidates(cert_id bigint) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg((ssl_parse(d)).common_name ORDER BY 1), '{}')
      FROM ssl_certificate c,
           unnest(netbox_ssl_internal.ssl_chain_split_pem(coalesce(netbox_ssl_internal.ssl_chain_candidates(c.issuer, c.authority_key_id, c.issuer_chain), ''))) AS d
     WHERE c.id = cert_id
$$;
SELECT pg_temp.candidates(:leaf_id) AS leaf_candidates;
SELECT count(*) AS unrelated_imported FROM ssl_import_bundle(:'unrelated') WHERE outcome = 'imported';
SELECT count(*) AS stored_ca_certificates FROM ssl_certificate WHERE is_ca;
SELECT pg_temp.candidates(:leaf_id) AS leaf_candidates_now;
SELECT (SELECT row(status, depth, message, chain) FROM before) =
       (SELECT row(status, depth, message, chain) FROM ssl_validate_chain(:leaf_id, :at)) AS same_result;
-- The intermediate's own candidate is its issuer only if stored: the root
-- is an anchor, not a stored certificate, so none.
SELECT pg_temp.candidates(:int_id) AS intermediate_candidates;
-- Through the issuer_chain: a chain holding only the intermediate leads to
-- the same candidates (the intermediate's issuer, none stored).
UPDATE ssl_certificate SET issuer_chain = :'int' WHERE id = :leaf_id;
SELECT pg_temp.candidates(:leaf_id) AS with_chain;
UPDATE ssl_certificate SET issuer_chain = '' WHERE id = :leaf_id;
-- A revoked CA certificate is no candidate.
UPDATE ssl_certificate SET status = 'revoked' WHERE id = :int_id;
SELECT pg_temp.candidates(:leaf_id) AS after_revocation;
SELECT status, depth FROM ssl_validate_chain(:leaf_id, :at);
-- The lookups go through indexes (hash on lower(subject), btree on
-- subject_key_id) for stored CA certificates.
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) ~ 'WHERE is_ca' AS ca_only
  FROM pg_index WHERE indrelid = 'ssl_certificate'::regclass
   AND indexrelid::regclass::text IN ('ssl_certificate_ca_subject_idx', 'ssl_certificate_ca_key_idx')
 ORDER BY 1;
SELECT count(*) FROM ssl_certificate;
