-- Chain validation (1.4): trust anchors, ssl_validate_chain, ssl_validate_all.
-- Fixtures: test/fixtures/chain (root -> intermediate -> leaf, a 1024-bit RSA
-- leaf, a self-signed server certificate), valid until 2126.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
DROP ROLE IF EXISTS nbs_chain_reader, nbs_chain_operator, nbs_chain_admin;
RESET client_min_messages;
\set root `cat test/fixtures/chain/root.pem`
\set int `cat test/fixtures/chain/intermediate.pem`
\set leaf `cat test/fixtures/chain/leaf.pem`
\set weak `cat test/fixtures/chain/weak-rsa1024.pem`
\set self `cat test/fixtures/chain/self-signed.pem`
\set key `cat test/fixtures/key-only.pem`
\set at '''2030-06-01 00:00:00+00'''

-- Anchors: the number added; duplicates (in the table or in the bundle) skipped.
SELECT ssl_trust_anchor_load(:'root' || :'root', 'fixtures');
SELECT ssl_trust_anchor_load(:'root');
SELECT subject, common_name, is_ca, source, added_by = current_user AS by_me,
       fingerprint_sha256 = (ssl_parse(:'root')).fingerprint_sha256 AS same_fp,
       der = decode(regexp_replace(regexp_replace(:'root', '-----[A-Z ]+-----', '', 'g'), '\s', '', 'g'), 'base64') AS der_ok
  FROM ssl_trust_anchor;
-- Bad input: keys refused, no certificate, malformed, NULL.
\set VERBOSITY sqlstate
SELECT ssl_trust_anchor_load(:'root' || :'key');
SELECT ssl_trust_anchor_load('no certificate here');
SELECT ssl_trust_anchor_load(E'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
SELECT ssl_trust_anchor_load(NULL);
\set VERBOSITY default
SELECT count(*) FROM ssl_trust_anchor;

-- The leaf with its intermediate in issuer_chain.
SELECT ssl_import(:'leaf' || :'int') AS leaf_id \gset
SELECT status, depth, message, cardinality(chain) AS n,
       chain[1] = (ssl_parse(:'leaf')).fingerprint_sha256 AS leaf_first,
       chain[3] = (SELECT fingerprint_sha256 FROM ssl_trust_anchor) AS anchor_last
  FROM ssl_validate_chain(:leaf_id, :at);
-- Host names: exact, case-insensitive, wildcard, IP, mismatch, CN not used.
SELECT h, (ssl_validate_chain(:leaf_id, :at, h)).status
  FROM unnest(ARRAY['www.example.test', 'WWW.Example.TEST', 'v1.api.example.test', 'a.b.api.example.test',
                    'api.example.test', '192.0.2.10', '192.0.2.11', 'example.test', '::1']) AS h;
SELECT message FROM ssl_validate_chain(:leaf_id, :at, 'other.example.test');
-- Time: before notBefore, after notAfter.
SELECT status, depth, message FROM ssl_validate_chain(:leaf_id, '2000-01-01 00:00:00+00');
SELECT status, depth, message FROM ssl_validate_chain(:leaf_id, '2200-01-01 00:00:00+00');
-- Nothing stored so far (explicit time or host name).
SELECT chain_status, chain_validated_at, chain_message, chain_depth FROM ssl_certificate WHERE id = :leaf_id;
-- At now() without a host name, an operator's (here: superuser's) call stores.
BEGIN;
SELECT status, depth FROM ssl_validate_chain(:leaf_id);
SELECT chain_status, chain_validated_at = now() AS at_now, chain_depth, chain_message LIKE 'Valid chain of 3%' AS msg
  FROM ssl_certificate WHERE id = :leaf_id;
COMMIT;

-- Without the intermediate: no_chain; then the stored CA certificate serves as one.
SELECT ssl_import(:'weak') AS weak_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:weak_id, :at);
SELECT ssl_import(:'int') AS int_id \gset
-- Path found through the stored intermediate; the web-PKI key rule rejects it.
SELECT status, depth, message FROM ssl_validate_chain(:weak_id, :at);
-- The intermediate itself: without a host name a CA certificate is validated
-- as an issuer; with one, as a server certificate (which a CA must not be).
SELECT status, depth, message FROM ssl_validate_chain(:int_id, :at);
SELECT status, depth, message FROM ssl_validate_chain(:int_id, :at, 'www.example.test');
-- Self-signed, not an anchor; then pinned as an anchor.
SELECT ssl_import(:'self') AS self_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:self_id, :at);
SELECT ssl_trust_anchor_load(:'self', 'pinned');
SELECT status, depth FROM ssl_validate_chain(:self_id, :at, 'self.example.test');
-- An anchor removed: the leaf's root is no longer trusted.
DELETE FROM ssl_trust_anchor WHERE common_name = 'Chain Test Root';
SELECT status, depth, message FROM ssl_validate_chain(:leaf_id, :at);
SELECT ssl_trust_anchor_load(:'root');

-- ssl_validate_all: every active certificate, stored.
SELECT ssl_validate_all();
SELECT common_name, chain_status, chain_depth FROM ssl_certificate ORDER BY id;

-- Errors, and the session survives them.
\set VERBOSITY sqlstate
SELECT * FROM ssl_validate_chain(999999);
SELECT * FROM ssl_validate_chain(NULL);
SELECT * FROM ssl_validate_chain(:leaf_id, NULL);
SELECT * FROM ssl_validate_chain(:leaf_id, 'infinity');
SELECT * FROM ssl_validate_chain(:leaf_id, now(), '');
\set VERBOSITY default
SELECT status FROM ssl_validate_chain(:leaf_id, :at);

-- Privileges: readers validate without storing; only admins load anchors.
CREATE ROLE nbs_chain_reader IN ROLE netbox_ssl_reader;
CREATE ROLE nbs_chain_operator IN ROLE netbox_ssl_operator;
CREATE ROLE nbs_chain_admin IN ROLE netbox_ssl_admin;
UPDATE ssl_certificate SET chain_status = NULL, chain_validated_at = NULL, chain_message = NULL, chain_depth = NULL;
SET ROLE nbs_chain_reader;
SELECT status FROM ssl_validate_chain(:leaf_id);
SELECT chain_status FROM ssl_certificate WHERE id = :leaf_id;
\set VERBOSITY sqlstate
SELECT ssl_validate_all();
SELECT ssl_trust_anchor_load(:'root');
DELETE FROM ssl_trust_anchor;
SELECT * FROM netbox_ssl_internal.ssl_chain_verify(:'leaf', '', '{}', '{}', now(), NULL);
\set VERBOSITY default
RESET ROLE;
SET ROLE nbs_chain_operator;
SELECT status FROM ssl_validate_chain(:leaf_id);
SELECT ssl_validate_all();
\set VERBOSITY sqlstate
SELECT ssl_trust_anchor_load(:'root');
\set VERBOSITY default
RESET ROLE;
SELECT chain_status FROM ssl_certificate WHERE id = :leaf_id;
SET ROLE nbs_chain_admin;
SELECT ssl_trust_anchor_load(:'root');
DELETE FROM ssl_trust_anchor WHERE source = 'pinned';
RESET ROLE;
SELECT count(*) FROM ssl_trust_anchor;
DROP ROLE nbs_chain_reader, nbs_chain_operator, nbs_chain_admin;

-- A revoked CA certificate is no longer an intermediate for others.
SELECT status FROM ssl_validate_chain(:weak_id, :at, 'weak.example.test');
UPDATE ssl_certificate SET status = 'revoked' WHERE id = :int_id;
SELECT status, depth, message FROM ssl_validate_chain(:weak_id, :at, 'weak.example.test');
-- The leaf that carries the intermediate in its own issuer_chain is unaffected.
SELECT status FROM ssl_validate_chain(:leaf_id, :at);
