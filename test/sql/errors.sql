-- Every documented error: its SQLSTATE, one clear sentence, nothing stored,
-- and the backend still healthy afterwards.
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set expired_new `cat test/fixtures/expired-renewal.pem`
\set pending `cat test/fixtures/pending.pem`
\set other `cat test/fixtures/other-cn.pem`
\set withkey `cat test/fixtures/leaf-with-key.pem`
\set keyonly `cat test/fixtures/key-only.pem`
\set keyder `base64 -w0 test/fixtures/key-only.der`
\set derb64 `base64 -w0 test/fixtures/cert.der`

-- Runs one statement and reports SQLSTATE, message and detail.
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': ' || msg || coalesce(nullif(' [' || detail || ']', ' []'), '');
END $$;

SELECT ssl_import(:'old') AS old_id \gset
SELECT ssl_import(:'other') AS other_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 1);
CREATE TEMP TABLE baseline AS
SELECT (SELECT count(*) FROM ssl_certificate) AS certs, (SELECT count(*) FROM ssl_lifecycle_event) AS events;

-- 22P02: text input without a certificate, or malformed.
SELECT case_name, pg_temp.try(format('SELECT ssl_import(%L)', input)) AS outcome
  FROM (VALUES
    ('empty', ''),
    ('whitespace', E' \n\t '),
    ('plain text', 'hello, I am not a certificate'),
    ('csr only', E'-----BEGIN CERTIFICATE REQUEST-----\nMIIBADCBqAIBADA=\n-----END CERTIFICATE REQUEST-----\n'),
    ('truncated base64', E'-----BEGIN CERTIFICATE-----\nMIIDejCCAmKgAwIBAgICCrwwDQYJKoZIhvcNAQELBQAwQjEZMBcGA1UECgwQbmV0Y\n-----END CERTIFICATE-----\n'),
    ('not base64', E'-----BEGIN CERTIFICATE-----\nMIID*jCC\n-----END CERTIFICATE-----\n'),
    ('wrong end label', E'-----BEGIN CERTIFICATE-----\nMIIDejCC\n-----END X509 CRL-----\n'),
    ('missing end', E'-----BEGIN CERTIFICATE-----\nMIIDejCC\n'),
    ('nested begin', E'-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIDejCC\n-----END CERTIFICATE-----\n-----END CERTIFICATE-----\n'),
    ('not der inside', E'-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n')
  ) AS t(case_name, input);
-- Trailing garbage inside a block: one extra DER byte.
SELECT pg_temp.try(format('SELECT ssl_parse(%L)',
    E'-----BEGIN CERTIFICATE-----\n' || encode(decode(:'derb64', 'base64') || '\x00'::bytea, 'base64') || E'\n-----END CERTIFICATE-----\n')) AS trailing_byte;

-- 22P03: the same for bytea input.
SELECT case_name, pg_temp.try(format('SELECT ssl_import(%L::bytea)', input)) AS outcome
  FROM (VALUES ('empty', '\x'), ('junk', '\xdeadbeef'), ('nul bytes', '\x0000000000'),
               ('truncated der', substr(('\x' || encode(decode(:'derb64', 'base64'), 'hex')), 1, 300)),
               ('trailing byte', '\x' || encode(decode(:'derb64', 'base64'), 'hex') || '00')) AS t(case_name, input);

-- 22023: any private key, in any label and letter case, and DER keys. The
-- message never contains key bytes.
SELECT case_name, pg_temp.try(format('SELECT ssl_import(%L)', input)) AS outcome,
       strpos(pg_temp.try(format('SELECT ssl_import(%L)', input)), substr(split_part(:'keyonly', E'\n', 2), 1, 20)) = 0 AS no_key_bytes
  FROM (VALUES
    ('key only', :'keyonly'),
    ('certificate then its key', :'withkey'),
    ('rsa label', replace(:'keyonly', 'PRIVATE KEY', 'RSA PRIVATE KEY')),
    ('ec label', replace(:'keyonly', 'PRIVATE KEY', 'EC PRIVATE KEY')),
    ('encrypted label', replace(:'keyonly', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY')),
    ('openssh label', replace(:'keyonly', 'PRIVATE KEY', 'OPENSSH PRIVATE KEY')),
    ('lower case', lower(:'keyonly')),
    ('key before certificate', :'keyonly' || :'old')
  ) AS t(case_name, input);
SELECT pg_temp.try(format('SELECT ssl_import(%L::bytea)', '\x' || encode(decode(:'keyder', 'base64'), 'hex'))) AS der_key;
SELECT pg_temp.try(format('SELECT ssl_parse(%L::bytea)', '\x' || encode(decode(:'derb64', 'base64') || decode(:'keyder', 'base64'), 'hex'))) AS der_cert_then_key;

-- 54000: larger than netbox_ssl.max_input_bytes, refused before parsing.
SET netbox_ssl.max_input_bytes = '2kB';
SELECT pg_temp.try(format('SELECT ssl_import(%L)', repeat('A', 4000))) AS too_large_text;
SELECT pg_temp.try(format('SELECT ssl_parse(%L::bytea)', '\x' || repeat('00', 4000))) AS too_large_bytea;
RESET netbox_ssl.max_input_bytes;
SELECT pg_temp.try('SELECT ssl_parse(repeat(''A'', 2 * 1024 * 1024))') AS over_default_limit;

-- 23505: already stored, naming the id.
SELECT pg_temp.try(format('SELECT ssl_import(%L)', :'old')) = format('23505: certificate with fingerprint %s is already stored as id %s',
       (ssl_parse(:'old')).fingerprint_sha256, :old_id) AS duplicate_names_id;

-- P0002: no such certificate.
SELECT pg_temp.try(format('SELECT ssl_renew(999999, %L)', :'new')) AS renew_missing;
SELECT pg_temp.try(format('SELECT * FROM ssl_renewal_preview(999999, %L)', :'new')) AS preview_missing;

-- 55000: wrong status, CN mismatch, expired replacement.
SELECT pg_temp.try(format('SELECT ssl_renew(%s, %L)', :other_id, :'new')) AS cn_mismatch;
SELECT pg_temp.try(format('SELECT ssl_renew(%s, %L)', :old_id, :'expired_new')) AS expired_replacement;
SELECT ssl_import(:'pending') AS pending_id \gset
SELECT pg_temp.try(format('SELECT ssl_renew(%s, %L, NULL, true)', :pending_id, :'new')) AS pending_status;
SELECT pg_temp.try(format('SELECT ssl_renew(%s, %L)', :old_id, :'old')) AS renew_with_itself;
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
\set third `cat test/fixtures/janus-new-samekey.pem`
SELECT pg_temp.try(format('SELECT ssl_renew(%s, %L)', :old_id, :'third')) = format('55000: certificate %s was already replaced by certificate %s', :old_id, :new_id) AS replaced_names_successor;
SELECT pg_temp.try(format('SELECT ssl_renew(%s, %L)', :new_id, :'old')) AS replacement_already_stored;

-- 22004: NULL where a certificate is required (ssl_parse is STRICT: NULL in, NULL out).
SELECT pg_temp.try('SELECT ssl_import(NULL::text)') AS import_null;
SELECT pg_temp.try(format('SELECT ssl_renew(NULL, %L)', :'third')) AS renew_null_id;
SELECT ssl_parse(NULL::text) IS NULL AS parse_null_is_null;

-- Nothing was stored by any failing call: only the pending import and the
-- one successful renewal added rows (2 certificates, 3 events).
SELECT (SELECT count(*) FROM ssl_certificate) - certs AS new_certs,
       (SELECT count(*) FROM ssl_lifecycle_event) - events AS new_events FROM baseline;

-- Errors shown as psql prints them, with DETAIL and HINT.
SELECT ssl_parse('\x3082ffff'::bytea);
SELECT ssl_import(:'withkey');
SELECT ssl_renew(:old_id, :'third');
-- And the backend is still fine.
SELECT count(*) > 0 AS still_alive FROM ssl_certificate;
