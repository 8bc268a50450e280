-- 1.6 parse: the revocation URL columns of ssl_parse (crl_urls, ocsp_urls,
-- ca_issuers_urls), PEM and DER input giving identical rows, and the
-- upgrade from 1.5 backfilling the URL columns of stored certificates.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
RESET client_min_messages;
CREATE EXTENSION netbox_ssl;
SET timezone = 'UTC';
\set urls `cat test/fixtures/revocation-urls.pem`
\set zlint `cat test/fixtures/corpus/zlint/sub0_valxx_iatx_cdpx_ocspx_effx.pem`
\set old `cat test/fixtures/janus-old.pem`
\set ed25519 `cat test/fixtures/ed25519.pem`

-- The three columns are last, text[] (never NULL).
SELECT attnum, attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute WHERE attrelid = 'ssl_certificate_info'::regclass AND attnum > 20 ORDER BY attnum;

-- Every URI of every distribution point in order; the directory name and the
-- relative name are not URLs. OCSP and caIssuers URIs in order; the email
-- location is not a URL.
\x on
SELECT common_name, crl_urls, ocsp_urls, ca_issuers_urls FROM ssl_parse(:'urls');
SELECT common_name, crl_urls, ocsp_urls, ca_issuers_urls FROM ssl_parse(:'zlint');
\x off
-- The oracle: what openssl x509 prints for the same files.
\set ossl_ocsp `openssl x509 -in test/fixtures/revocation-urls.pem -noout -ocsp_uri | paste -sd,`
\set ossl_cdp `openssl x509 -in test/fixtures/revocation-urls.pem -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p' | paste -sd,`
\set ossl_zlint_ocsp `openssl x509 -in test/fixtures/corpus/zlint/sub0_valxx_iatx_cdpx_ocspx_effx.pem -noout -ocsp_uri | paste -sd,`
SELECT array_to_string(ocsp_urls, ',') = :'ossl_ocsp' AS ocsp_matches_openssl,
       array_to_string(crl_urls, ',') = :'ossl_cdp' AS crl_matches_openssl
  FROM ssl_parse(:'urls');
SELECT array_to_string(ocsp_urls, ',') = :'ossl_zlint_ocsp' AS ocsp_matches_openssl FROM ssl_parse(:'zlint');

-- No extension: empty arrays, not NULL.
SELECT crl_urls, ocsp_urls, ca_issuers_urls, crl_urls IS NULL AS crl_null FROM ssl_parse(:'old');

-- PEM text, PEM bytes and DER give identical rows (every column).
CREATE TEMP TABLE inputs (name text, pem text);
INSERT INTO inputs VALUES ('urls', :'urls'), ('zlint', :'zlint'), ('old', :'old'), ('ed25519', :'ed25519');
CREATE TEMP TABLE ders AS
SELECT name, pem, decode(regexp_replace(regexp_replace(pem, '-----[A-Z ]+-----', '', 'g'), '\s', '', 'g'), 'base64') AS der
  FROM inputs;
SELECT name,
       ssl_parse(pem) = ssl_parse(der) AS pem_equals_der,
       ssl_parse(pem) = ssl_parse(convert_to(pem, 'UTF8')) AS pem_equals_pem_bytes,
       (ssl_parse(der)).pem_content = pem || E'\n' AS pem_content_canonical
  FROM ders ORDER BY name;
-- ALTER EXTENSION UPDATE from 1.5 fills the URL columns of stored rows from
-- their PEM, leaving updated_at and the other columns alone.
SET client_min_messages = warning;
DROP EXTENSION netbox_ssl CASCADE;
RESET client_min_messages;
CREATE EXTENSION netbox_ssl VERSION '1.5';
SELECT ssl_import(:'urls') AS urls_id \gset
SELECT ssl_import(:'old') AS old_id \gset
SELECT ssl_import(:'zlint') AS zlint_id \gset
-- A 1.6 library on the 1.5 schema: ssl_parse returns the 20 columns of 1.5.
SELECT count(*) AS attributes_1_5 FROM pg_attribute WHERE attrelid = 'ssl_certificate_info'::regclass AND attnum > 0;
SELECT (ssl_parse(:'urls')).common_name;
CREATE TEMP TABLE before AS SELECT id, updated_at, fingerprint_sha256, tbs_sha256 FROM ssl_certificate;
ALTER EXTENSION netbox_ssl UPDATE TO '1.6';
SELECT id = :urls_id AS urls_row, crl_urls, ocsp_urls, ca_issuers_urls
  FROM ssl_certificate ORDER BY id;
SELECT count(*) AS rows_unchanged
  FROM ssl_certificate c JOIN before b USING (id)
 WHERE (c.updated_at, c.fingerprint_sha256, c.tbs_sha256) = (b.updated_at, b.fingerprint_sha256, b.tbs_sha256);
-- The backfill is what ssl_parse now returns for the stored PEM.
SELECT count(*) AS rows_matching_parse
  FROM ssl_certificate c, LATERAL ssl_parse(c.pem_content) p
 WHERE (c.crl_urls, c.ocsp_urls, c.ca_issuers_urls) = (p.crl_urls, p.ocsp_urls, p.ca_issuers_urls);
DROP EXTENSION netbox_ssl CASCADE;
