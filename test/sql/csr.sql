SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- Certificate signing requests: ssl_parse_csr, ssl_import_csr, ssl_csr and
-- the link to the certificate issued for a request's key.
\set rsa `cat test/fixtures/csr/rsa-san.csr.pem`
\set rsacert `cat test/fixtures/csr/rsa-san.cert.pem`
\set ecder `base64 -w0 test/fixtures/csr/ec.csr.der`
\set nocn `cat test/fixtures/csr/no-cn.csr.pem`
\set ed `cat test/fixtures/csr/ed25519.csr.pem`
\set newlabel `cat test/fixtures/csr/new-label.csr.pem`
\set tampered `cat test/fixtures/csr/tampered.csr.pem`
\set corpus_pem `cat test/fixtures/csr/corpus/rsa_sha256.pem`
\set corpus_der `base64 -w0 test/fixtures/csr/corpus/rsa_sha256.der`
\set withkey `cat test/fixtures/leaf-with-key.pem`
\set keyder `base64 -w0 test/fixtures/key-only.der`
\set p12 `base64 -w0 test/fixtures/leaf-with-key.p12`
\set root `cat test/fixtures/root.pem`
\set generated `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout /dev/null -subj "/O=Gen/CN=gen.example.com" -addext "subjectAltName=DNS:gen.example.com,IP:2001:db8::1" 2>/dev/null`

-- Fields, as the certificate parser prints them.
\x on
SELECT * FROM ssl_parse_csr(:'rsa');
\x off
SELECT subject, common_name, sans, algorithm, key_size, signature_algorithm, signature_valid, fingerprint_sha256
  FROM ssl_parse_csr(decode(:'ecder', 'base64'));
SELECT subject, common_name, sans, algorithm, key_size, signature_valid FROM ssl_parse_csr(:'nocn');
SELECT subject, common_name, sans, algorithm, key_size, signature_algorithm, signature_valid FROM ssl_parse_csr(:'ed');
SELECT (ssl_parse_csr(:'newlabel')).fingerprint_sha256 = (ssl_parse_csr(:'ed')).fingerprint_sha256 AS same_request,
       (ssl_parse_csr(:'newlabel')).pem_content = :'ed' || E'\n' AS canonical_label;
-- A request freshly made by openssl req.
SELECT subject, common_name, sans, algorithm, key_size, signature_algorithm, signature_valid FROM ssl_parse_csr(:'generated');
-- Corpus requests (cryptography-vectors), PEM and DER.
SELECT common_name, fingerprint_sha256 FROM ssl_parse_csr(:'corpus_pem')
UNION ALL
SELECT common_name, fingerprint_sha256 FROM ssl_parse_csr(decode(:'corpus_der', 'base64'));
-- A broken self-signature is reported, not refused.
SELECT common_name, signature_valid FROM ssl_parse_csr(:'tampered');
-- The request's key hash equals the certificate's for the same key.
SELECT (ssl_parse_csr(:'rsa')).spki_sha256 = (ssl_parse(:'rsacert')).spki_sha256 AS same_key;

-- Keys are refused as for certificates (22023, same message); other bad input
-- is 22P02 (text) or 22P03 (bytes).
SELECT ssl_parse_csr(:'rsa' || :'withkey');
SELECT ssl_parse_csr(decode(:'keyder', 'base64'));
SELECT ssl_parse_csr(decode(:'p12', 'base64'));
SELECT ssl_parse_csr(:'root');
SELECT ssl_parse_csr(:'rsa' || :'ed');
SELECT ssl_parse_csr(decode(:'ecder', 'base64') || '\x00'::bytea);
SELECT ssl_parse_csr('');
SELECT ssl_parse_csr(NULL::text) IS NULL AS null_in_null_out;

-- ssl_import_csr stores a pending request; a repeat is 23505.
SET netbox_ssl.actor = 'alice';
SELECT ssl_import_csr(:'rsa', 'team-a') AS rsa_id \gset
SELECT ssl_import_csr(:'tampered', requested_by => 'bob') AS tampered_id \gset
SELECT ssl_import_csr(:'ed') AS ed_id \gset
RESET netbox_ssl.actor;
SELECT id = :rsa_id AS is_rsa, common_name, sans, status, resulting_certificate_id, tenant, requested_by, signature_valid
  FROM ssl_csr ORDER BY id;
SELECT ssl_import_csr(:'rsa');
SELECT ssl_import_csr(:'newlabel');
SELECT ssl_import_csr(:'withkey');
SELECT ssl_import_csr(NULL);

-- Status transitions: checked by a trigger (55000); parsed fields are fixed.
UPDATE ssl_csr SET status = 'rejected', notes = 'bad signature' WHERE id = :tampered_id RETURNING status, notes;
UPDATE ssl_csr SET status = 'approved' WHERE id = :tampered_id;
UPDATE ssl_csr SET status = 'approved' WHERE id = :rsa_id RETURNING status, updated_at >= created_at AS touched;
UPDATE ssl_csr SET status = 'pending' WHERE id = :rsa_id;
UPDATE ssl_csr SET subject = 'CN=evil' WHERE id = :rsa_id;
UPDATE ssl_csr SET status = 'bogus' WHERE id = :rsa_id;
UPDATE ssl_csr SET status = 'issued' WHERE id = :rsa_id;

-- Importing a certificate for the key of an approved (or pending) request
-- links it and marks it issued, in the same transaction; the rejected
-- request for the same key stays rejected.
BEGIN;
SELECT ssl_import(:'rsacert') AS cert_id \gset
SELECT id = :rsa_id AS is_rsa, status, resulting_certificate_id = :cert_id AS linked FROM ssl_csr WHERE spki_sha256 = (ssl_parse(:'rsacert')).spki_sha256 ORDER BY id;
ROLLBACK;
SELECT status, resulting_certificate_id FROM ssl_csr WHERE id = :rsa_id;
-- Through ssl_import_bundle too (the trigger sees every import path).
BEGIN;
SELECT outcome FROM ssl_import_bundle(:'root' || :'rsacert');
SELECT s.status, c.common_name FROM ssl_csr s JOIN ssl_certificate c ON c.id = s.resulting_certificate_id;
COMMIT;
-- Issued is final; the link changes only with the status.
UPDATE ssl_csr SET status = 'approved' WHERE id = :rsa_id;
UPDATE ssl_csr SET resulting_certificate_id = NULL WHERE id = :rsa_id;
-- Pending requests can expire.
UPDATE ssl_csr SET status = 'expired' WHERE id = :ed_id RETURNING status;

-- The SQLSTATE of each kind of error above.
CREATE OR REPLACE FUNCTION sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT sqlstate_of(format('SELECT ssl_parse_csr(%L)', :'rsa' || E'\n' || :'withkey')) AS key,
       sqlstate_of(format('SELECT ssl_parse_csr(%L::bytea)', decode(:'p12', 'base64'))) AS p12,
       sqlstate_of(format('SELECT ssl_parse_csr(%L)', :'root')) AS bad_text,
       sqlstate_of(format('SELECT ssl_parse_csr(%L::bytea)', decode(:'ecder', 'base64') || '\x00'::bytea)) AS bad_bytes,
       sqlstate_of(format('SELECT ssl_import_csr(%L)', :'rsa')) AS stored,
       sqlstate_of('SELECT ssl_import_csr(NULL)') AS null_pem,
       sqlstate_of(format('UPDATE ssl_csr SET status = %L WHERE id = %s', 'pending', :rsa_id)) AS transition;
SET netbox_ssl.max_input_bytes = 100;
SELECT sqlstate_of(format('SELECT ssl_parse_csr(%L)', :'rsa')) AS too_large;
RESET netbox_ssl.max_input_bytes;

-- Privileges: ssl_parse_csr is public; importing needs netbox_ssl_operator.
CREATE ROLE nbs_csr_plain;
CREATE ROLE nbs_csr_operator IN ROLE netbox_ssl_operator;
SET ROLE nbs_csr_plain;
SELECT common_name FROM ssl_parse_csr(:'nocn');
SELECT ssl_import_csr(:'nocn');
SELECT count(*) FROM ssl_csr;
SET ROLE nbs_csr_operator;
SELECT ssl_import_csr(:'nocn') IS NOT NULL AS imported;
UPDATE ssl_csr SET status = 'approved' WHERE common_name = 'nocn.example.com' RETURNING status, requested_by;
RESET ROLE;
DROP ROLE nbs_csr_plain;
DROP ROLE nbs_csr_operator;
SELECT count(*) AS requests FROM ssl_csr;
