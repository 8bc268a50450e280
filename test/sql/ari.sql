-- ACME Renewal Information (1.4): RFC 9773 CertIDs and the columns an
-- external poller fills in. Every expected CertID is computed by
-- test/fixtures/ari-cert.sh with the openssl CLI, independently of the
-- extension; the literal values below were printed by that script too.
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
DROP ROLE IF EXISTS nbs_ari_reader, nbs_ari_operator;
RESET client_min_messages;

-- The example of RFC 9773 section 4.1 (its certificate from the RFC's
-- example): keyIdentifier 69:88:5B:..., serial 0x87654321, whose DER
-- content needs a leading 00 sign byte.
\set rfc `cat test/fixtures/ari/rfc9773-example.pem`
SELECT ssl_ari_cert_id(:'rfc') AS rfc_pem,
       ssl_ari_cert_id(:'rfc') = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE' AS matches_rfc;
SELECT ssl_ari_cert_id(decode(regexp_replace(:'rfc', '-----[A-Z ]+-----|\s', '', 'g'), 'base64')) AS rfc_der;
-- The same from the stored-column form.
SELECT ssl_ari_cert_id('69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4', '87:65:43:21') AS from_columns;

-- Real certificates (Let's Encrypt E1/E5, Amazon, Apple) and fixtures with
-- odd serials: each compared with the openssl CLI's value.
CREATE TEMP TABLE files (name text PRIMARY KEY, pem text, expected text);
\set f1 test/fixtures/real/stackoverflow-leaf-20230918.pem
\set f2 test/fixtures/real/stackoverflow-leaf-20231116.pem
\set f3 test/fixtures/corpus/limbo-online-history/stackoverflow.com__leaf_20240511_311c9de8e1ed.pem
\set f4 test/fixtures/corpus/limbo-online-history/aws.amazon.com__leaf_20240118_2c680e2c049f.pem
\set f5 test/fixtures/corpus/limbo-online-history/apple.com__leaf_20250310_1f9998c4a21f.pem
\set f6 test/fixtures/janus-new.pem
\set f7 test/fixtures/janus-old.pem
\set p1 `cat test/fixtures/real/stackoverflow-leaf-20230918.pem`
\set e1 `test/fixtures/ari-cert.sh expect test/fixtures/real/stackoverflow-leaf-20230918.pem`
\set p2 `cat test/fixtures/real/stackoverflow-leaf-20231116.pem`
\set e2 `test/fixtures/ari-cert.sh expect test/fixtures/real/stackoverflow-leaf-20231116.pem`
\set p3 `cat test/fixtures/corpus/limbo-online-history/stackoverflow.com__leaf_20240511_311c9de8e1ed.pem`
\set e3 `test/fixtures/ari-cert.sh expect test/fixtures/corpus/limbo-online-history/stackoverflow.com__leaf_20240511_311c9de8e1ed.pem`
\set p4 `cat test/fixtures/corpus/limbo-online-history/aws.amazon.com__leaf_20240118_2c680e2c049f.pem`
\set e4 `test/fixtures/ari-cert.sh expect test/fixtures/corpus/limbo-online-history/aws.amazon.com__leaf_20240118_2c680e2c049f.pem`
\set p5 `cat test/fixtures/corpus/limbo-online-history/apple.com__leaf_20250310_1f9998c4a21f.pem`
\set e5 `test/fixtures/ari-cert.sh expect test/fixtures/corpus/limbo-online-history/apple.com__leaf_20250310_1f9998c4a21f.pem`
\set p6 `cat test/fixtures/janus-new.pem`
\set e6 `test/fixtures/ari-cert.sh expect test/fixtures/janus-new.pem`
\set p7 `cat test/fixtures/janus-old.pem`
\set e7 `test/fixtures/ari-cert.sh expect test/fixtures/janus-old.pem`
INSERT INTO files VALUES
    ('letsencrypt-e1-2023', :'p1', :'e1'), ('letsencrypt-e1-2023b', :'p2', :'e2'),
    ('letsencrypt-e1-2024', :'p3', :'e3'), ('amazon-m01', :'p4', :'e4'), ('apple-ev', :'p5', :'e5'),
    ('janus-new C0:FF:EE', :'p6', :'e6'), ('janus-old 0A:BC', :'p7', :'e7');
SELECT f.name, p.serial_number, ssl_ari_cert_id(f.pem) AS cert_id, ssl_ari_cert_id(f.pem) = f.expected AS matches_openssl
  FROM files f, ssl_parse(f.pem) p ORDER BY f.name;

-- Serials chosen for their encoding, in fresh certificates: negative ones
-- (two's complement content), zero, a high bit that needs the 00 byte, and
-- 20 bytes with the high bit set (21 content octets).
CREATE TEMP TABLE made (serial text PRIMARY KEY, pem text);
\set m `test/fixtures/ari-cert.sh make -1`
INSERT INTO made VALUES ('-1', :'m');
\set m `test/fixtures/ari-cert.sh make -128`
INSERT INTO made VALUES ('-128', :'m');
\set m `test/fixtures/ari-cert.sh make -129`
INSERT INTO made VALUES ('-129', :'m');
\set m `test/fixtures/ari-cert.sh make -256`
INSERT INTO made VALUES ('-256', :'m');
\set m `test/fixtures/ari-cert.sh make -0x8000000000000000000000000000000000000001`
INSERT INTO made VALUES ('-0x8000000000000000000000000000000000000001', :'m');
\set m `test/fixtures/ari-cert.sh make 0`
INSERT INTO made VALUES ('0', :'m');
\set m `test/fixtures/ari-cert.sh make 127`
INSERT INTO made VALUES ('127', :'m');
\set m `test/fixtures/ari-cert.sh make 128`
INSERT INTO made VALUES ('128', :'m');
\set m `test/fixtures/ari-cert.sh make 0x80ffffffffffffffffffffffffffffffffffff`
INSERT INTO made VALUES ('0x80ffffffffffffffffffffffffffffffffffff', :'m');
SELECT m.serial, p.serial_number AS stored,
       encode(ssl_serial_der_octets(p.serial_number), 'hex') AS der_content,
       split_part(ssl_ari_cert_id(m.pem), '.', 2) AS certid_serial,
       ssl_ari_cert_id(m.pem) = substring(m.pem FROM 'expected-certid: (\S+)') AS matches_openssl
  FROM made m, ssl_parse(m.pem) p ORDER BY m.serial COLLATE "C";

-- The serial half alone, for the stored forms (including ones OpenSSL never
-- writes: leading zero bytes, "-00").
SELECT s AS serial_number, encode(ssl_serial_der_octets(s), 'hex') AS der_content
  FROM unnest(ARRAY['00', '01', '7F', '80', 'FF', '00:80', '00:00:01', '-00', '-01', '-7F', '-80', '-81',
                    '-FF', '-01:00', '-80:00', '-80:01', 'c0:ff:ee']) AS s;
SELECT ssl_serial_der_octets('12:3');
SELECT ssl_serial_der_octets('');
SELECT ssl_serial_der_octets('-');
SELECT ssl_serial_der_octets('zz');

-- No authority key identifier: the stored-column form is NULL, the others
-- refuse with 22023.
\set noaki `test/fixtures/mkcert.sh noaki.example '-1 day' '+30 days'`
\set negnoaki `base64 -w0 test/fixtures/bad/serial-negative.der`
SELECT (ssl_parse(:'noaki')).authority_key_id IS NULL AS has_no_aki;
SELECT ssl_ari_cert_id(NULL::text, '01') AS no_aki_columns, ssl_ari_cert_id('', '01') AS empty_aki_columns;
\set VERBOSITY sqlstate
SELECT ssl_ari_cert_id(:'noaki');
SELECT ssl_ari_cert_id(decode(:'negnoaki', 'base64'));
SELECT ssl_ari_cert_id('not a certificate');
SELECT ssl_ari_cert_id(-1::bigint);
\set VERBOSITY default
SELECT ssl_ari_cert_id(:'noaki');
SELECT ssl_ari_cert_id(decode(:'negnoaki', 'base64'));
SELECT ssl_ari_cert_id(NULL::bytea) IS NULL AS null_in_null_out;

-- Stored certificates.
SELECT ssl_import(:'p6') AS new_id \gset
SELECT ssl_import(:'noaki') AS noaki_id \gset
\set fresh `test/fixtures/ari-cert.sh make 128`
SELECT ssl_import(:'fresh') AS le_id \gset
SELECT ssl_ari_cert_id(:new_id) = :'e6' AS stored_matches,
       ssl_ari_cert_id(:le_id) = substring(:'fresh' FROM 'expected-certid: (\S+)') AS fresh_matches;
SELECT ssl_ari_cert_id(:noaki_id);
SELECT ssl_ari_cert_id(999999::bigint);

-- The poller's columns. Operators write them (and nothing else new);
-- readers read the view.
CREATE ROLE nbs_ari_reader IN ROLE netbox_ssl_reader;
CREATE ROLE nbs_ari_operator IN ROLE netbox_ssl_operator;
SELECT id = :new_id AS is_new, ari_cert_id = :'e6' AS cert_id_ok, window_state, poll_due
  FROM ssl_ari_renewal WHERE id = :new_id;
SELECT count(*) AS noaki_rows FROM ssl_ari_renewal WHERE id = :noaki_id;
SET ROLE nbs_ari_operator;
UPDATE ssl_certificate
   SET ari_window_start = now() - interval '1 day', ari_window_end = now() + interval '1 day',
       ari_explanation_url = 'https://acme.example/docs/ari', ari_checked_at = now(),
       ari_retry_after = now() + interval '6 hours'
 WHERE id = :new_id;
UPDATE ssl_certificate SET ari_window_start = now() + interval '10 days', ari_window_end = now() + interval '12 days',
       ari_checked_at = now(), ari_retry_after = now() - interval '1 minute'
 WHERE id = :le_id;
-- A window that ends before it starts, or has one end only.
\set VERBOSITY terse
UPDATE ssl_certificate SET ari_window_start = now(), ari_window_end = now() - interval '1 second' WHERE id = :new_id;
UPDATE ssl_certificate SET ari_window_start = NULL WHERE id = :new_id;
-- Parsed columns stay out of reach.
UPDATE ssl_certificate SET serial_number = '01' WHERE id = :new_id;
\set VERBOSITY default
RESET ROLE;
SET ROLE nbs_ari_reader;
SELECT id = :new_id AS is_new, window_state, poll_due, ari_explanation_url
  FROM ssl_ari_renewal WHERE id IN (:new_id, :le_id) ORDER BY id;
UPDATE ssl_certificate SET ari_checked_at = now() WHERE id = :new_id;
SELECT ssl_ari_cert_id(:new_id) = :'e6' AS reader_can_call;
RESET ROLE;
-- A degenerate window (start = end) is accepted; one that has passed shows as passed.
UPDATE ssl_certificate SET ari_window_start = now() - interval '2 days', ari_window_end = now() - interval '2 days'
 WHERE id = :le_id;
SELECT window_state FROM ssl_ari_renewal WHERE id = :le_id;
-- Editing the ARI columns keeps updated_at current (the 1.0 guard).
BEGIN;
UPDATE ssl_certificate SET ari_checked_at = now() WHERE id = :le_id;
SELECT updated_at = now() AS updated_now FROM ssl_certificate WHERE id = :le_id;
COMMIT;
-- Functions: the pure ones are PUBLIC, the one reading the inventory is not.
SELECT p.oid::regprocedure AS function, has_function_privilege('public', p.oid, 'EXECUTE') AS public
  FROM pg_proc p WHERE p.proname IN ('ssl_ari_cert_id', 'ssl_serial_der_octets') ORDER BY p.oid::regprocedure::text;
DROP ROLE nbs_ari_reader, nbs_ari_operator;
