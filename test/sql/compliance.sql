-- Compliance policies (1.4): parameter validation, every policy type with a
-- passing and a failing certificate, tenant scoping, stored results, scores,
-- key reuse across a renewal, and who may do what.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
DROP ROLE IF EXISTS nbs_c_reader, nbs_c_operator, nbs_c_admin;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set samekey `cat test/fixtures/janus-new-samekey.pem`
\set other `cat test/fixtures/other-cn.pem`
\set p384 `cat test/fixtures/p384.pem`
\set ed25519 `cat test/fixtures/ed25519.pem`
\set dsa `cat test/fixtures/dsa.pem`
\set pss `cat test/fixtures/rsa-pss.pem`
\set wild `test/fixtures/mkcert.sh '*.wild.example' '-1 day' '+89 days -1 second'`
\set soon `test/fixtures/mkcert.sh soon.example '-300 days' '+10 days'`
\set cwd `pwd`

CREATE FUNCTION public.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ': ' || msg;
END $$;

-- The hash inside signature algorithm names (as stored by the parser).
SELECT s, ssl_signature_hash(s)
  FROM unnest(ARRAY['sha1WithRSAEncryption', 'ecdsa-with-SHA1', 'dsaWithSHA1', 'dsa_with_SHA256',
                    'sha256WithRSAEncryption', 'ecdsa-with-SHA384', 'sha512-224WithRSAEncryption',
                    'RSA-SHA3-256', 'ecdsa_with_SHA3-512', 'md5WithRSAEncryption', 'md2WithRSAEncryption',
                    'shaWithRSAEncryption', 'dsaWithSHA', 'ripemd160WithRSA', 'SM2-with-SM3',
                    'ED25519', 'ED448', 'rsassaPss', '1.2.3.4']) s;

-- Parameters are validated when a policy is written (22023).
SELECT try(stmt) FROM (VALUES
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'min_key_size', '{}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'min_key_size', '{"rsa": "2048"}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'min_key_size', '{"rsa": 2048.5}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'min_key_size', '{"rsa": 0}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'min_key_size', '{"ed25519": 256}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'max_validity_days', '{}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'max_validity_days', '{"max_days": -1}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'max_validity_days', '{"max_days": 99999999999}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'algorithm_allowed', '{"algorithms": []}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'algorithm_allowed', '{"algorithms": "rsa"}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'algorithm_forbidden', '{"algorithms": ["rsa", "ec"]}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'signature_algorithm_forbidden', '{"algorithms": ["sha2"]}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'expiry_warning', '{"warning_days": 30, "critical_days": 7}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'san_required', '[1]')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'issuer_allowed', '{"issuers": [""]}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'issuer_forbidden', '{"issuers": [42]}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'wildcard_forbidden', '{"allow": true}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, parameters) VALUES ('p', 'chain_sorted', '{}')$$),
    ($$INSERT INTO ssl_compliance_policy (name, policy_type, severity) VALUES ('p', 'chain_required', 'fatal')$$)
) v(stmt);

-- One policy of every type (lists are stored lower-case, sorted, de-duplicated).
INSERT INTO ssl_compliance_policy (name, policy_type, severity, parameters) VALUES
    ('keys', 'min_key_size', 'critical', '{"rsa": 2048, "ecdsa": 384, "dsa": 3072}'),
    ('validity', 'max_validity_days', 'warning', '{"max_days": 398}'),
    ('rsa or ecdsa', 'algorithm_allowed', 'warning', '{"algorithms": ["RSA", "ecdsa", "rsa"]}'),
    ('no dsa', 'algorithm_forbidden', 'critical', '{"algorithms": ["dsa"]}'),
    ('no weak hashes', 'signature_algorithm_forbidden', 'critical', '{"algorithms": ["SHA-1", "md5"]}'),
    ('expiry', 'expiry_warning', 'warning', '{"warning_days": 30}'),
    ('two sans', 'san_required', 'info', '{"min_count": 2}'),
    ('internal issuers', 'issuer_allowed', 'warning', '{"issuers": ["netbox_ssl TESTS"]}'),
    ('no test root', 'issuer_forbidden', 'info', '{"issuers": ["Test Root"]}'),
    ('no wildcards', 'wildcard_forbidden', 'warning', '{}'),
    ('chain', 'chain_required', 'info', '{}'),
    ('new keys', 'key_reuse_forbidden', 'critical', '{}');
SELECT name, policy_type, parameters FROM ssl_compliance_policy ORDER BY id;

SELECT ssl_import(:'old', NULL, 'team-a') AS old_id \gset
SELECT ssl_import(:'other', NULL, 'team-b') AS other_id \gset
SELECT ssl_import(:'p384') AS p384_id \gset
SELECT ssl_import(:'ed25519') AS ed_id \gset
SELECT ssl_import(:'dsa') AS dsa_id \gset
SELECT ssl_import(:'pss') AS pss_id \gset
SELECT ssl_import(:'wild', NULL, 'team-a') AS wild_id \gset
SELECT ssl_import(:'soon', NULL, 'team-b') AS soon_id \gset
UPDATE ssl_certificate SET issuer_chain = :'p384' WHERE id = :old_id;  -- any certificate will do

-- Every active certificate against every policy; expiry messages of
-- certificates valid for decades change daily, so their day counts are masked.
SELECT certificate_id, policy, result, severity,
       CASE WHEN policy_type = 'expiry_warning' AND result = 'pass'
            THEN regexp_replace(message, 'in \d+ days', 'in N days') ELSE message END AS message
  FROM ssl_check_compliance() ORDER BY certificate_id, policy;

-- The results are stored, one row per certificate and policy.
SELECT count(*) AS stored, count(DISTINCT certificate_id) AS certificates FROM ssl_compliance_result;
SELECT tenant, certificates, checks, passed, failed, critical_failures, warning_failures, info_failures, score
  FROM ssl_compliance_score ORDER BY tenant NULLS FIRST;
SELECT certificate_id, common_name, checks, failed, compliance_status, score, failed_policies
  FROM ssl_certificate_compliance ORDER BY certificate_id;

-- Tenant scoping: a team-a policy is checked only on team-a certificates.
INSERT INTO ssl_compliance_policy (name, policy_type, severity, parameters, tenant)
VALUES ('team-a short validity', 'max_validity_days', 'critical', '{"max_days": 90}', 'team-a');
SELECT certificate_id, result, message FROM ssl_check_compliance()
 WHERE policy = 'team-a short validity' ORDER BY certificate_id;

-- Disabled or deleted policies lose their stored results at the next check.
UPDATE ssl_compliance_policy SET enabled = false WHERE name = 'two sans';
DELETE FROM ssl_compliance_policy WHERE name = 'chain';
SELECT count(*) AS results FROM ssl_check_compliance();
SELECT p.name, count(r.*) AS stored FROM ssl_compliance_policy p LEFT JOIN ssl_compliance_result r ON r.policy_id = p.id
 WHERE p.name IN ('two sans', 'keys') GROUP BY p.name ORDER BY p.name;
SELECT count(*) AS chain_results FROM ssl_compliance_result r
 WHERE NOT EXISTS (SELECT 1 FROM ssl_compliance_policy p WHERE p.id = r.policy_id);

-- Key reuse: a renewal that kept the predecessor's key fails; the check
-- follows replaced_by and the activated event.
SELECT ssl_renew(:old_id, :'samekey') AS same_id \gset
SELECT certificate_id = :same_id AS renewal, result, message
  FROM ssl_check_compliance(:same_id) WHERE policy = 'new keys';
SELECT certificate_id, result, message FROM ssl_check_compliance(:other_id) WHERE policy = 'new keys';
-- The replaced certificate's results go at the next full check (it is no
-- longer active); one certificate of any status can still be checked by id.
SELECT count(*) FROM ssl_check_compliance() WHERE certificate_id = :old_id;
SELECT count(*) AS stored_for_replaced FROM ssl_compliance_result WHERE certificate_id = :old_id;
SELECT count(*) > 0 AS checked_by_id FROM ssl_check_compliance(:old_id);

-- Old certificates from the corpus: RSA 1024 with SHA-1, MD5, DSA 1024.
SELECT ssl_import(pg_read_file(:'cwd' || '/test/fixtures/corpus/certificate-transparency-go/testdata__test-cert.pem')) AS weak_id \gset
SELECT ssl_import(pg_read_file(:'cwd' || '/test/fixtures/corpus/boringssl-pki/v1_explicit_version-1.pem')) AS md5_id \gset
SELECT ssl_import(pg_read_file(:'cwd' || '/test/fixtures/corpus/cryptography-vectors/san_edipartyname.pem')) AS dsa1024_id \gset
SELECT certificate_id, policy, result, regexp_replace(message, '\d+ days ago', 'N days ago') AS message
  FROM ssl_check_compliance(:weak_id)
 WHERE policy IN ('keys', 'no weak hashes', 'expiry') ORDER BY policy;
SELECT certificate_id, policy, result, message FROM ssl_check_compliance(:md5_id)
 WHERE policy IN ('keys', 'no weak hashes') ORDER BY policy;
SELECT certificate_id, policy, result, message FROM ssl_check_compliance(:dsa1024_id)
 WHERE policy IN ('keys', 'no weak hashes', 'no dsa', 'rsa or ecdsa') ORDER BY policy;
SELECT try('SELECT * FROM ssl_check_compliance(-1)') AS missing;

-- Who may do what: readers read results and scores, operators run checks,
-- administrators write policies and authorities.
CREATE ROLE nbs_c_reader IN ROLE netbox_ssl_reader;
CREATE ROLE nbs_c_operator IN ROLE netbox_ssl_operator;
CREATE ROLE nbs_c_admin IN ROLE netbox_ssl_admin;
SET ROLE nbs_c_reader;
SELECT count(*) > 0 AS reader_sees_scores FROM ssl_compliance_score;
SELECT ssl_renewal_instructions(:p384_id) IS NULL AS reader_reads_instructions;
SELECT try('SELECT ssl_check_compliance()') AS reader_checks;
SELECT try('INSERT INTO ssl_compliance_policy (name, policy_type) VALUES (''r'', ''chain_required'')') AS reader_adds_policy;
RESET ROLE;
SET ROLE nbs_c_operator;
SELECT count(*) > 0 AS operator_checks FROM ssl_check_compliance();
SELECT ssl_match_authorities() >= 0 AS operator_rematches;
SELECT try(format('UPDATE ssl_certificate SET renewal_instructions = %L, issuing_ca_id = 1 WHERE id = %s', 'See the wiki.', :p384_id)) AS operator_notes;
SELECT try('INSERT INTO ssl_compliance_policy (name, policy_type) VALUES (''o'', ''chain_required'')') AS operator_adds_policy;
SELECT try('UPDATE ssl_certificate_authority SET is_approved = true WHERE id = 1') AS operator_approves;
SELECT try(format('UPDATE ssl_certificate SET issuing_ca_source = %L WHERE id = %s', 'pattern', :p384_id)) AS operator_sets_source;
RESET ROLE;
SET ROLE nbs_c_admin;
SELECT try('INSERT INTO ssl_compliance_policy (name, policy_type) VALUES (''a'', ''chain_required'')') AS admin_adds_policy;
SELECT try('UPDATE ssl_certificate_authority SET is_approved = true WHERE id = 1') AS admin_approves;
SELECT try('INSERT INTO ssl_certificate_authority (name, type, issuer_pattern) VALUES (''Corp CA'', ''internal'', ''(^|,)O=Corp(,|$)'')') AS admin_adds_authority;
RESET ROLE;
SELECT issuing_ca_id, issuing_ca_source, renewal_instructions FROM ssl_certificate WHERE id = :p384_id;

-- chain_required also passes when ssl_validate_chain found a valid chain
-- from the trust store and stored CA certificates (chain_status).
INSERT INTO ssl_compliance_policy (name, policy_type, severity) VALUES ('chain-1.4', 'chain_required', 'info');
SELECT result, message FROM ssl_check_compliance(:other_id) WHERE policy = 'chain-1.4';
UPDATE ssl_certificate SET chain_status = 'valid' WHERE id = :other_id;
SELECT result, message FROM ssl_check_compliance(:other_id) WHERE policy = 'chain-1.4';

DROP FUNCTION public.try(text);
DROP ROLE nbs_c_reader, nbs_c_operator, nbs_c_admin;
