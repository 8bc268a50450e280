-- Certificate authorities (1.4): issuer patterns, key-id matching at import,
-- the built-in public CAs against real issuer DNs, renewal instructions.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set root `cat test/fixtures/root.pem`
\set inter `cat test/fixtures/intermediate.pem`
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set other `cat test/fixtures/other-cn.pem`
\set p384 `cat test/fixtures/p384.pem`
\set cwd `pwd`

SELECT id, name, type, is_approved FROM ssl_certificate_authority ORDER BY id;

-- Real certificates of the public web PKI (limbo online history, Mozilla
-- roots): every issuer DN and the authority its certificates were linked to.
CREATE TEMP TABLE corpus AS
SELECT d || '/' || f AS path
  FROM (VALUES ('test/fixtures/corpus/limbo-online-history'),
               ('test/fixtures/corpus/mozilla-ca-certificates-removed')) v(d),
       LATERAL pg_ls_dir(:'cwd' || '/' || d) f
 WHERE f LIKE '%.pem';
SELECT count(*) AS corpus_files FROM corpus;
SELECT count(ssl_import(pg_read_file(:'cwd' || '/' || path))) AS imported FROM (SELECT path FROM corpus ORDER BY path) s;
SELECT c.issuer, a.name AS authority, c.issuing_ca_source, count(*)
  FROM ssl_certificate c LEFT JOIN ssl_certificate_authority a ON a.id = c.issuing_ca_id
 GROUP BY 1, 2, 3 ORDER BY 2 NULLS LAST, 1;

-- Issuer DNs of CAs absent from the corpus, as OpenSSL prints them
-- (XN_FLAG_RFC2253), and look-alikes that must not match.
SELECT dn, (SELECT a.name FROM ssl_find_authority(dn, NULL) f JOIN ssl_certificate_authority a ON a.id = f.authority_id) AS authority
  FROM (VALUES
    ('CN=R11,O=Let''s Encrypt,C=US'),
    ('CN=Sectigo RSA Domain Validation Secure Server CA,O=Sectigo Limited,L=Salford,ST=Greater Manchester,C=GB'),
    ('CN=COMODO RSA Domain Validation Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB'),
    ('CN=USERTrust RSA Certification Authority,O=The USERTRUST Network,L=Jersey City,ST=New Jersey,C=US'),
    ('CN=GlobalSign GCC R3 DV TLS CA 2020,O=GlobalSign nv-sa,C=BE'),
    ('CN=GlobalSign,O=GlobalSign,OU=GlobalSign Root CA - R3'),
    ('CN=WR2,O=Google Trust Services,C=US'),
    ('CN=GTS CA 1C3,O=Google Trust Services LLC,C=US'),
    ('CN=ZeroSSL RSA Domain Secure Site CA,O=ZeroSSL,C=AT'),
    ('CN=Buypass Class 2 CA 5,O=Buypass AS-983163327,C=NO'),
    ('CN=Entrust Certification Authority - L1K,OU=(c) 2012 Entrust\, Inc. - for authorized use only,OU=See www.entrust.net/legal-terms,O=Entrust\, Inc.,C=US'),
    ('CN=Go Daddy Secure Certificate Authority - G2,OU=http://certs.godaddy.com/repository/,O=GoDaddy.com\, Inc.,L=Scottsdale,ST=Arizona,C=US'),
    ('CN=Starfield Secure Certificate Authority - G2,OU=http://certs.starfieldtech.com/repository/,O=Starfield Technologies\, Inc.,L=Scottsdale,ST=Arizona,C=US'),
    ('CN=Microsoft Azure RSA TLS Issuing CA 03,O=Microsoft Corporation,C=US'),
    ('CN=Thawte TLS RSA CA G1,OU=www.digicert.com,O=DigiCert Inc,C=US'),
    ('CN=Amazon RSA 2048 M02,O=Amazon,C=US'),
    ('CN=Microsoft Forefront TMG HTTPS Inspection Certification Authority'),
    ('CN=Scout,OU=InMage,O=Microsoft,L=Redmond,ST=Washington,C=US'),
    ('CN=FakeCertificateAuthority,OU=Eng,O=Google,L=London,ST=London,C=GB'),
    ('CN=Amazon Corp Issuing CA,O=Amazon.com\, Inc.,C=US'),
    ('CN=Not Lets Encrypt,O=Let''s Encrypt Fans,C=US')
  ) v(dn);

-- An internal PKI whose DNs no pattern knows: link its root by hand once,
-- and what it issues follows by key id (root -> intermediate -> leaf).
INSERT INTO ssl_certificate_authority (name, type, renewal_instructions, contact_email)
VALUES ('Test PKI', 'internal', 'Request a new certificate through the internal PKI portal.', 'pki@example.com')
RETURNING id >= 1000 AS user_id_range;
SELECT ssl_import(:'root') AS root_id \gset
SELECT ssl_import(:'inter') AS inter_id \gset
SELECT issuing_ca_id, issuing_ca_source FROM ssl_certificate WHERE id IN (:root_id, :inter_id) ORDER BY id;
UPDATE ssl_certificate SET issuing_ca_id = (SELECT id FROM ssl_certificate_authority WHERE name = 'Test PKI') WHERE id = :root_id;
CREATE TEMP TABLE before_rematch AS SELECT id, issuing_ca_id, issuing_ca_source FROM ssl_certificate;
SELECT ssl_match_authorities() AS rematched;
SELECT c.common_name, b.issuing_ca_source AS was, c.issuing_ca_source AS now
  FROM ssl_certificate c JOIN before_rematch b USING (id)
 WHERE (b.issuing_ca_id, b.issuing_ca_source) IS DISTINCT FROM (c.issuing_ca_id, c.issuing_ca_source) ORDER BY c.id;
SELECT ssl_import(:'old') AS old_id \gset
SELECT c.common_name, a.name, c.issuing_ca_source
  FROM ssl_certificate c JOIN ssl_certificate_authority a ON a.id = c.issuing_ca_id
 WHERE c.id IN (:root_id, :inter_id, :old_id) ORDER BY c.id;
-- A renewal is matched too (ssl_renew inserts through the same trigger).
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
SELECT issuing_ca_source, issuing_ca_id = (SELECT id FROM ssl_certificate_authority WHERE name = 'Test PKI') AS test_pki
  FROM ssl_certificate WHERE id = :new_id;

-- Key id beats a pattern: a pattern for the test PKI's DNs pointing elsewhere.
INSERT INTO ssl_certificate_authority (name, type, issuer_pattern)
VALUES ('Lookalike', 'internal', 'O=netbox_ssl tests');
SELECT a.name, f.source FROM ssl_find_authority('CN=netbox_ssl Test Intermediate,O=netbox_ssl tests',
                                                (SELECT subject_key_id FROM ssl_certificate WHERE id = :inter_id)) f
  JOIN ssl_certificate_authority a ON a.id = f.authority_id;
-- Without a key id, the pattern.
SELECT a.name, f.source FROM ssl_find_authority('CN=netbox_ssl Test Intermediate,O=netbox_ssl tests', NULL) f
  JOIN ssl_certificate_authority a ON a.id = f.authority_id;
-- The longest matching pattern wins.
INSERT INTO ssl_certificate_authority (name, type, issuer_pattern)
VALUES ('Lookalike intermediate', 'internal', 'CN=netbox_ssl Test Intermediate,O=netbox_ssl tests');
SELECT a.name FROM ssl_find_authority('CN=netbox_ssl Test Intermediate,O=netbox_ssl tests', NULL) f
  JOIN ssl_certificate_authority a ON a.id = f.authority_id;
-- Self-signed certificates without an authority stay unlinked.
SELECT ssl_import(:'p384') AS p384_id \gset
SELECT issuing_ca_id, issuing_ca_source FROM ssl_certificate WHERE id = :p384_id;

-- Manual links survive re-matching; clearing one makes the row automatic.
UPDATE ssl_certificate SET issuing_ca_id = 1 WHERE id = :p384_id;
SELECT issuing_ca_id, issuing_ca_source FROM ssl_certificate WHERE id = :p384_id;
SELECT ssl_match_authorities() >= 0 AS rematched;
SELECT issuing_ca_id, issuing_ca_source FROM ssl_certificate WHERE id = :p384_id;
UPDATE ssl_certificate SET issuing_ca_id = NULL WHERE id = :p384_id;
SELECT issuing_ca_id, issuing_ca_source FROM ssl_certificate WHERE id = :p384_id;

-- Re-matching after a pattern change.
UPDATE ssl_certificate_authority SET issuer_pattern = '^CN=p384\.example\.com$' WHERE name = 'Lookalike';
SELECT subject FROM ssl_certificate WHERE id = :p384_id;
SELECT ssl_match_authorities() > 0 AS rematched;
SELECT a.name, c.issuing_ca_source FROM ssl_certificate c LEFT JOIN ssl_certificate_authority a ON a.id = c.issuing_ca_id
 WHERE c.id = :p384_id;

-- Deleting an authority unlinks its certificates.
DELETE FROM ssl_certificate_authority WHERE name = 'Lookalike';
SELECT issuing_ca_id, issuing_ca_source FROM ssl_certificate WHERE id = :p384_id;

-- Bad patterns are refused with 22023.
\set VERBOSITY default
INSERT INTO ssl_certificate_authority (name, issuer_pattern) VALUES ('Broken', 'O=(unclosed');
\set VERBOSITY terse
INSERT INTO ssl_certificate_authority (name, type) VALUES ('Wrong type', 'commercial');

-- Renewal instructions: own note, else the authority's, else NULL.
SELECT ssl_renewal_instructions(:new_id) AS from_authority;
UPDATE ssl_certificate SET renewal_instructions = 'Ask team B; the key is in the HSM.' WHERE id = :new_id;
SELECT ssl_renewal_instructions(:new_id) AS own_note;
SELECT ssl_renewal_instructions(:p384_id) AS none;
SELECT ssl_renewal_instructions(id) AS lets_encrypt FROM ssl_certificate WHERE issuer LIKE '%O=Let''s Encrypt%' ORDER BY id LIMIT 1;
SELECT ssl_renewal_instructions(-1);
-- The note follows a renewal to the successor (1.4).
\set samekey `cat test/fixtures/janus-new-samekey.pem`
SELECT ssl_renew(:new_id, :'samekey') AS third_id \gset
SELECT ssl_renewal_instructions(:third_id) AS carried_note;

-- Upgrading from 1.3 links nothing by itself; ssl_match_authorities does.
SET client_min_messages = warning;
DROP EXTENSION netbox_ssl CASCADE;
RESET client_min_messages;
CREATE EXTENSION netbox_ssl VERSION '1.3';
SELECT ssl_import(pg_read_file(:'cwd' || '/test/fixtures/corpus/limbo-online-history/ca__intermediate_E5_5dfdb3cf31b2.pem')) AS e5 \gset
ALTER EXTENSION netbox_ssl UPDATE TO '1.4';
SELECT issuing_ca_id FROM ssl_certificate;
SELECT ssl_match_authorities() AS rematched;
SELECT a.name, c.issuing_ca_source FROM ssl_certificate c JOIN ssl_certificate_authority a ON a.id = c.issuing_ca_id;
