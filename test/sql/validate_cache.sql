-- 1.6 (issue "Speed" item 4, issue "Trust" SQL surface): ssl_validate_chain's
-- max_depth and revocation arguments, ssl_validate_all by batches with its
-- per-run cache: the same verdicts as ssl_validate_chain one by one, and no
-- verdict kept across a change of trust anchors.
-- Fixtures: test/fixtures/depth (make.sh): root -> i1 -> i2 -> i3 -> leaf3,
-- a leaf under a root that is not an anchor, a leaf whose issuer is unknown.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set root `cat test/fixtures/depth/root.pem`
\set chain3 `cat test/fixtures/depth/chain3.pem`
\set leaf3 `cat test/fixtures/depth/leaf3.pem`
\set other_root `cat test/fixtures/depth/other-root.pem`
\set other_leaf `cat test/fixtures/depth/other-leaf.pem`
\set orphan `cat test/fixtures/depth/orphan-leaf.pem`
\set expired `cat test/fixtures/expired.pem`

SELECT ssl_trust_anchor_load(:'root', 'depth');
SELECT ssl_import(:'leaf3' || :'chain3') AS leaf_id \gset
SELECT cardinality(netbox_ssl_internal.ssl_chain_split_pem(issuer_chain)) AS chain_certificates FROM ssl_certificate WHERE id = :leaf_id;

-- max_depth: the most intermediates a path may hold (NULL: 32).
SELECT status, depth FROM ssl_validate_chain(:leaf_id);
SELECT status, depth FROM ssl_validate_chain(:leaf_id, max_depth => NULL);
SELECT status, depth FROM ssl_validate_chain(:leaf_id, max_depth => 3);
SELECT status, depth, message FROM ssl_validate_chain(:leaf_id, max_depth => 2);
SELECT status, depth FROM ssl_validate_chain(:leaf_id, max_depth => 0);
-- A call with a max_depth is not stored; the stored verdict is still the default one.
SELECT chain_status, chain_depth FROM ssl_certificate WHERE id = :leaf_id;

-- revocation: 'none', 'if_available' (default), 'required'. Without any
-- stored revocation data, 'none' and the default agree.
SELECT status, depth, message FROM ssl_validate_chain(:leaf_id, revocation => 'none');
SELECT (SELECT row(status, depth, message, chain) FROM ssl_validate_chain(:leaf_id, revocation => 'none'))
     = (SELECT row(status, depth, message, chain) FROM ssl_validate_chain(:leaf_id)) AS none_equals_default;
SELECT (SELECT row(status, depth, message, chain) FROM ssl_validate_chain(:leaf_id, revocation => 'if_available'))
     = (SELECT row(status, depth, message, chain) FROM ssl_validate_chain(:leaf_id)) AS if_available_is_default;
-- The 1.5 calls (one to three arguments, named or not) keep working.
SELECT status FROM ssl_validate_chain(:leaf_id, now(), 'depth.example.test');
SELECT status FROM ssl_validate_chain(:leaf_id, hostname => 'other.example.test');

-- Bad arguments: one sentence each, and the session goes on.
SELECT * FROM ssl_validate_chain(:leaf_id, max_depth => -1);
SELECT * FROM ssl_validate_chain(:leaf_id, revocation => 'sometimes');
SELECT * FROM ssl_validate_chain(:leaf_id, revocation => NULL);
\set VERBOSITY sqlstate
SELECT * FROM ssl_validate_chain(:leaf_id, max_depth => -1);
SELECT * FROM ssl_validate_chain(:leaf_id, revocation => 'REQUIRED');
SELECT * FROM netbox_ssl_internal.ssl_chain_verify(:'leaf3', '', '{}', '{}', now(), NULL, '', -5, 'none');
SELECT * FROM netbox_ssl_internal.ssl_chain_verify(:'leaf3', '', '{}', '{}', now(), NULL, '', NULL, 'maybe');
\set VERBOSITY default
SELECT status FROM ssl_validate_chain(:leaf_id);

-- 'revoked' is a storable chain status.
SELECT pg_get_constraintdef(oid) LIKE '%''revoked''%' AS revoked_allowed
  FROM pg_constraint WHERE conname = 'ssl_certificate_chain_status_check';

-- A mixed inventory: valid (the leaf through its issuer_chain, the
-- intermediates through each other), no_chain, untrusted_root, self_signed,
-- an unusable issuer_chain (written before 1.5, planted here with the check
-- trigger off). (An expired certificate is imported as expired, not active,
-- so ssl_validate_all does not look at it.)
SELECT count(ssl_import(d)) AS intermediates FROM unnest(netbox_ssl_internal.ssl_chain_split_pem(:'chain3')) AS d;
SELECT ssl_import(:'other_root') AS other_root_id \gset
SELECT ssl_import(:'other_leaf') AS other_leaf_id \gset
SELECT ssl_import(:'orphan') AS orphan_id \gset
SELECT ssl_import(:'expired') AS expired_id \gset
SELECT status FROM ssl_certificate WHERE id = :expired_id;
ALTER TABLE ssl_certificate DISABLE TRIGGER ssl_certificate_issuer_chain_check;
UPDATE ssl_certificate SET issuer_chain = 'not a chain'
 WHERE id = (SELECT id FROM ssl_certificate WHERE common_name = 'Depth Test Intermediate 3');
ALTER TABLE ssl_certificate ENABLE TRIGGER ssl_certificate_issuer_chain_check;

-- ssl_validate_all stores exactly what ssl_validate_chain says, one by one.
SELECT ssl_validate_all() AS validated;
CREATE TEMP TABLE by_all AS
SELECT id, chain_status, chain_depth, chain_message FROM ssl_certificate WHERE status = 'active';
SELECT c.common_name, b.chain_status, b.chain_depth
  FROM by_all b JOIN ssl_certificate c USING (id) ORDER BY c.id;
SELECT count(*) AS differing
  FROM by_all b, LATERAL ssl_validate_chain(b.id, revocation => 'if_available', max_depth => 32) v
 WHERE (v.status, v.depth, v.message) IS DISTINCT FROM (b.chain_status, b.chain_depth, b.chain_message);
SELECT string_agg(DISTINCT chain_status, ', ') AS statuses FROM by_all;

-- The run's cache never outlives a change of trust anchors: remove the
-- anchor (in the same transaction, between two runs) and the verdicts follow.
BEGIN;
SELECT ssl_validate_all() AS validated;
SELECT chain_status FROM ssl_certificate WHERE id = :leaf_id;
DELETE FROM ssl_trust_anchor;
SELECT ssl_validate_all() AS validated;
SELECT chain_status, chain_depth FROM ssl_certificate WHERE id = :leaf_id;
SELECT count(*) FILTER (WHERE chain_status = 'valid') AS still_valid FROM ssl_certificate WHERE status = 'active';
SELECT ssl_trust_anchor_load(:'root', 'depth');
SELECT ssl_validate_all() AS validated;
SELECT chain_status, chain_depth FROM ssl_certificate WHERE id = :leaf_id;
COMMIT;

-- Progress: a NOTICE every 10,000, counted across batches (here: none).
SELECT ssl_validate_all() > 0 AS validated;
