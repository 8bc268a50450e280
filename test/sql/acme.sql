SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
RESET client_min_messages;
-- The 1.3 -> 1.4 upgrade fills the new columns of existing rows from their
-- stored PEM, detects ACME, and leaves updated_at alone.
CREATE EXTENSION netbox_ssl VERSION '1.3';
\set le_e1 `cat test/fixtures/real/stackoverflow-leaf-20230918.pem`
\set other `cat test/fixtures/other-cn.pem`
SELECT ssl_import(:'le_e1') IS NOT NULL AS imported_in_1_3;
SELECT ssl_import(:'other') IS NOT NULL AS imported_in_1_3;
CREATE TEMP TABLE stamps AS SELECT id, updated_at FROM ssl_certificate;
ALTER EXTENSION netbox_ssl UPDATE TO '1.4';
SELECT c.common_name, c.issuer_cn, c.issuer_org, c.is_acme, c.acme_provider,
       c.tbs_sha256 = p.tbs_sha256 AS tbs_backfilled, c.updated_at = s.updated_at AS updated_at_kept
  FROM ssl_certificate AS c CROSS JOIN LATERAL ssl_parse(c.pem_content) AS p JOIN stamps AS s USING (id)
 ORDER BY c.id;
SET client_min_messages = warning;
DROP EXTENSION netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- ACME detection at import, driven by ssl_acme_issuer (docs/intelligence.md).
\set le_e5 `cat test/fixtures/intel/le-e5-leaf.pem`
\set le_e5_ca `cat test/fixtures/intel/le-e5-intermediate.pem`
\set le_e1 `cat test/fixtures/real/stackoverflow-leaf-20230918.pem`
\set le_x3 `cat test/fixtures/intel/cryptography-scts.pem`
\set digicert `cat test/fixtures/intel/digicert-leaf.pem`
\set amazon `cat test/fixtures/intel/amazon-leaf.pem`
\set staging `python3 test/fixtures/mkct.py issued "(STAGING) Counterfeit Cashew R10" "(STAGING) Let's Encrypt" staging.example.net`
\set staging_cn `python3 test/fixtures/mkct.py issued "(STAGING) Ersatz Edamame E1" "" staging-cn.example.net`
\set fakele `python3 test/fixtures/mkct.py issued "Fake LE Intermediate X1" "" fakele.example.net`
\set zerossl `python3 test/fixtures/mkct.py issued "ZeroSSL ECC Domain Secure Site CA" "ZeroSSL" zerossl.example.net`
\set buypass `python3 test/fixtures/mkct.py issued "Buypass Class 2 CA 5" "Buypass AS-983163327" buypass.example.net`
\set gts `python3 test/fixtures/mkct.py issued "WR1" "Google Trust Services" gts.example.net`
\set sectigo `python3 test/fixtures/mkct.py issued "Sectigo RSA Domain Validation Secure Server CA" "Sectigo Limited" sectigo.example.net`
\set globalsign `python3 test/fixtures/mkct.py issued "GlobalSign GCC R6 AlphaSSL CA 2023" "GlobalSign nv-sa" globalsign.example.net`
-- Names that only contain an ACME CA's name elsewhere must not match.
\set lookalike `python3 test/fixtures/mkct.py issued "R10" "Let's Encrypt Fan Club" lookalike.example.net`
\set lookalike2 `python3 test/fixtures/mkct.py issued "Not ZeroSSL ECC Domain Secure Site CA" "ZeroSSL" lookalike2.example.net`

-- The parser's issuer fields (compare: openssl x509 -noout -issuer).
SELECT issuer, issuer_cn, issuer_org FROM ssl_parse(:'le_e5');
SELECT issuer, issuer_cn, issuer_org FROM ssl_parse(:'digicert');
SELECT issuer, issuer_cn, issuer_org FROM ssl_parse(:'le_e5_ca');

-- Every import path detects: ssl_import (text and bytea) and ssl_renew.
SELECT ssl_import(:'le_e5') AS le_e5 \gset
SELECT ssl_import(:'le_e5_ca') AS le_e5_ca \gset
SELECT ssl_import(decode(regexp_replace(:'le_e1', '-----[A-Z ]+-----|\s', '', 'g'), 'base64')) AS le_e1 \gset
SELECT ssl_import(:'le_x3') AS le_x3 \gset
SELECT ssl_import(:'digicert') AS digicert \gset
SELECT ssl_import(:'amazon') AS amazon \gset
SELECT ssl_import(:'staging') AS staging \gset
SELECT ssl_import(:'staging_cn') AS staging_cn \gset
SELECT ssl_import(:'fakele') AS fakele \gset
SELECT ssl_import(:'zerossl') AS zerossl \gset
SELECT ssl_import(:'gts') AS gts \gset
SELECT ssl_import(:'sectigo') AS sectigo \gset
SELECT ssl_import(:'globalsign') AS globalsign \gset
SELECT ssl_import(:'lookalike') AS lookalike \gset
SELECT ssl_import(:'lookalike2') AS lookalike2 \gset
SELECT ssl_renew(:zerossl, :'buypass', allow_cn_change => true) AS buypass \gset
SELECT common_name, issuer_org, issuer_cn, is_acme, acme_provider
  FROM ssl_certificate ORDER BY id;

-- DigiCert, Amazon, Google Trust Services, Sectigo and GlobalSign are not
-- flagged by the seeds; an admin adds a rule for a CA used through ACME.
-- Rules match the issuer's O and CN with LIKE, NULL meaning any.
SET ROLE netbox_ssl_admin;
INSERT INTO ssl_acme_issuer (issuer_org, issuer_cn, provider, note)
VALUES ('Google Trust Services', 'W_1', 'google', 'GTS ACME (our account)'),
       ('Sectigo Limited', 'Sectigo RSA Domain Validation Secure Server CA', 'sectigo', NULL);
-- An admin exception (provider NULL) beats a built-in rule: E5-issued
-- certificates are not to be flagged here, say.
INSERT INTO ssl_acme_issuer (issuer_org, issuer_cn, provider) VALUES ('Let''s Encrypt', 'E5', NULL);
SELECT ssl_detect_acme() AS changed;
SELECT ssl_detect_acme() AS changed_again;
RESET ROLE;
SELECT common_name, is_acme, acme_provider FROM ssl_certificate
 WHERE id IN (:gts, :sectigo, :le_e5, :digicert) ORDER BY id;
SELECT * FROM ssl_acme_provider_for('Let''s Encrypt', 'R11');
SELECT * FROM ssl_acme_provider_for(NULL, NULL);
-- Detection leaves updated_at alone only when nothing changed.
SELECT count(*) AS touched FROM ssl_certificate WHERE updated_at IS DISTINCT FROM created_at;

-- Who may do what.
SET ROLE netbox_ssl_operator;
INSERT INTO ssl_acme_issuer (issuer_cn, provider) VALUES ('x', 'other');
SELECT ssl_detect_acme() AS operator_may_rerun;
RESET ROLE;
SET ROLE netbox_ssl_reader;
SELECT count(*) > 20 AS reader_sees_rules FROM ssl_acme_issuer WHERE builtin;
SELECT ssl_detect_acme();
RESET ROLE;

-- Bad rules.
\set VERBOSITY terse
INSERT INTO ssl_acme_issuer (provider) VALUES ('other');
INSERT INTO ssl_acme_issuer (issuer_cn, provider) VALUES ('X', 'cloudflare');
INSERT INTO ssl_acme_issuer (issuer_org, issuer_cn, provider) VALUES ('Let''s Encrypt', 'E5', 'letsencrypt');
-- Detection columns stay consistent.
UPDATE ssl_certificate SET is_acme = true WHERE id = :digicert;
-- Parsed columns are certificate data: immutable.
UPDATE ssl_certificate SET issuer_cn = 'R10' WHERE id = :digicert;

\set VERBOSITY default
-- Built-in rules are left out of pg_dump; admin rules are kept.
SELECT c.relname, x.cfg FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(oid, cfg)
  JOIN pg_class c ON c.oid = x.oid WHERE e.extname = 'netbox_ssl' AND c.relname LIKE 'ssl_acme%' ORDER BY 1;
