-- ssl_netbox_fields: a certificate's columns in the NetBox SSL plugin's own
-- formats (docs/netbox-formats.md), for the NetBox bridge.
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
RESET client_min_messages;
CREATE EXTENSION netbox_ssl;
\set le `cat test/fixtures/netbox/letsencrypt-leaf.pem`
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set intermediate `cat test/fixtures/intermediate.pem`
\set root `cat test/fixtures/root.pem`
\set shuffled `cat test/fixtures/bundle-shuffled.pem`
\set le_der `openssl x509 -in test/fixtures/netbox/letsencrypt-leaf.pem -outform DER | base64 -w0`

-- The worked example of the plugin reference (a real Let's Encrypt leaf):
-- serial split from the left (odd length: ends in one nibble), issuer with
-- cryptography's long attribute names, block without trailing newline.
\x on
SELECT common_name, serial_number, fingerprint_sha256, issuer, valid_from, valid_to, sans, key_size,
       algorithm, issuer_chain
  FROM ssl_netbox_fields(:'le');
\x off
SELECT pem_content = rtrim(:'le', E'\n') AS pem_is_the_block,
       right(pem_content, 1) = '-' AS no_trailing_newline,
       length(fingerprint_sha256) AS fingerprint_length
  FROM ssl_netbox_fields(:'le');
-- Our own columns for the same certificate: zero-padded serial, RFC 4514 issuer.
SELECT serial_number, issuer FROM ssl_parse(:'le');

-- DER input gives the same row; PEM bytes are accepted as bytea too.
SELECT ssl_netbox_fields(decode(:'le_der', 'base64')) = ssl_netbox_fields(:'le') AS der_same,
       ssl_netbox_fields(convert_to(:'le', 'UTF8')) = ssl_netbox_fields(:'le') AS pem_bytes_same;

-- Serials: odd and even length, zero, a high bit (DER 00 80), 20 bytes, negative.
\set s_odd `cat test/fixtures/netbox/serial-odd.pem`
\set s_even `cat test/fixtures/netbox/serial-even.pem`
\set s_zero `cat test/fixtures/netbox/serial-zero.pem`
\set s_high `cat test/fixtures/netbox/serial-highbit.pem`
\set s_large `cat test/fixtures/netbox/serial-large.pem`
\set s_neg `cat test/fixtures/netbox/serial-negative.pem`
SELECT n.serial_number AS plugin_serial, p.serial_number AS our_serial
  FROM unnest(ARRAY[:'s_odd', :'s_even', :'s_zero', :'s_high', :'s_large', :'s_neg']) WITH ORDINALITY AS c(pem, i),
       ssl_netbox_fields(c.pem) AS n, ssl_parse(c.pem) AS p
 ORDER BY i;

-- Names: long names in encoded order, multi-valued RDN flattened, UTF-8,
-- an OID cryptography does not know ("Unknown OID"); CN "Unknown" if none.
\set multi `cat test/fixtures/netbox/names-multi.pem`
\set nocn `cat test/fixtures/netbox/no-cn.pem`
SELECT issuer FROM ssl_netbox_fields(:'multi');
SELECT n.common_name AS plugin_cn, p.common_name AS our_cn, n.sans FROM ssl_netbox_fields(:'nocn') AS n, ssl_parse(:'nocn') AS p;

-- Every SAN type, as the plugin prints it.
\set sans `cat test/fixtures/netbox/sans-all.pem`
SELECT s FROM ssl_netbox_fields(:'sans') AS n, unnest(n.sans) AS s;

-- Key types: RSA and EC sizes; Ed25519 has none; Ed448 and DSA are "unknown".
\set rsa `cat test/fixtures/netbox/key-rsa2048.pem`
\set p521 `cat test/fixtures/netbox/key-p521.pem`
\set ed25519 `cat test/fixtures/netbox/key-ed25519.pem`
\set ed448 `cat test/fixtures/netbox/key-ed448.pem`
\set dsa `cat test/fixtures/dsa.pem`
SELECT n.algorithm, n.key_size, p.algorithm AS our_algorithm, p.key_size AS our_key_size
  FROM unnest(ARRAY[:'rsa', :'p521', :'ed25519', :'ed448', :'dsa']) WITH ORDINALITY AS c(pem, i),
       ssl_netbox_fields(c.pem) AS n, ssl_parse(c.pem) AS p
 ORDER BY i;

-- A bundle: the leaf is the one ssl_parse picks (also when it is not
-- written first); issuer_chain is the other blocks, leaf to root, joined
-- with one newline and without a trailing one. Fingerprint and dates are
-- ssl_parse's.
SELECT n.pem_content = rtrim(p.pem_content, E'\n') AS leaf_is_ours,
       n.issuer_chain = rtrim(p.issuer_chain, E'\n') AS chain_is_ours,
       n.issuer_chain = rtrim(:'intermediate', E'\n') || E'\n' || rtrim(:'root', E'\n') AS chain_leaf_to_root,
       n.fingerprint_sha256 = p.fingerprint_sha256 AS same_fingerprint,
       (n.valid_from, n.valid_to) = (p.valid_from, p.valid_to) AS same_dates,
       n.common_name
  FROM ssl_netbox_fields(:'shuffled') AS n, ssl_parse(:'shuffled') AS p;
SELECT ssl_netbox_fields(:'old' || :'intermediate' || :'root') = ssl_netbox_fields(:'shuffled') AS order_does_not_matter,
       ssl_netbox_fields(:'new' || :'intermediate' || :'root') = ssl_netbox_fields(:'shuffled') AS other_leaf_differs;

-- A stored certificate: pem_content || issuer_chain round-trips.
SELECT ssl_netbox_fields(c.pem_content || c.issuer_chain) = ssl_netbox_fields(:'shuffled') AS from_stored_columns
  FROM ssl_parse(:'shuffled') AS c;

-- NULL in, NULL out (STRICT).
SELECT ssl_netbox_fields(NULL::text) IS NULL AS null_text, ssl_netbox_fields(NULL::bytea) IS NULL AS null_bytea;

-- Bad input: the same SQLSTATEs and messages as ssl_parse, and the backend
-- goes on (each error is followed by a query).
CREATE FUNCTION pg_temp.err(f text, arg text, as_bytea boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text;
BEGIN
    IF as_bytea THEN
        EXECUTE format('SELECT %s(convert_to($1, ''UTF8''))', f) USING arg;
    ELSE
        EXECUTE format('SELECT %s($1)', f) USING arg;
    END IF;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END $$;
\set key `cat test/fixtures/key-only.pem`
\set leafkey `cat test/fixtures/leaf-with-key.pem`
SELECT v.what, pg_temp.err('ssl_netbox_fields', v.arg, v.b) AS netbox_fields,
       pg_temp.err('ssl_netbox_fields', v.arg, v.b) = pg_temp.err('ssl_parse', v.arg, v.b) AS same_as_ssl_parse
  FROM (VALUES ('private key', :'key', false), ('leaf with key', :'leafkey', false),
               ('key as bytea', :'key', true), ('garbage text', 'not a certificate', false),
               ('garbage bytea', 'not a certificate', true), ('empty', '', false)) AS v(what, arg, b);
\set VERBOSITY sqlstate
SELECT ssl_netbox_fields(:'key');
SELECT 1 AS backend_alive;
SELECT ssl_netbox_fields('-----BEGIN CERTIFICATE-----' || E'\n' || 'AAAA' || E'\n' || '-----END CERTIFICATE-----');
SELECT 1 AS backend_alive;
SELECT ssl_netbox_fields('\x3082'::bytea);
SELECT 1 AS backend_alive;
SET netbox_ssl.max_input_bytes = 1000;
SELECT ssl_netbox_fields(:'le');
SELECT 1 AS backend_alive;
RESET netbox_ssl.max_input_bytes;
\set VERBOSITY default

-- Privileges: not PUBLIC; netbox_ssl_reader (and so operator, admin) may call it.
SELECT has_function_privilege('public', 'ssl_netbox_fields(text)', 'EXECUTE') AS public_text,
       has_function_privilege('public', 'ssl_netbox_fields(bytea)', 'EXECUTE') AS public_bytea,
       has_function_privilege('netbox_ssl_reader', 'ssl_netbox_fields(text)', 'EXECUTE') AS reader_text,
       has_function_privilege('netbox_ssl_reader', 'ssl_netbox_fields(bytea)', 'EXECUTE') AS reader_bytea;
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
  FROM pg_proc p WHERE p.proname = 'ssl_netbox_fields' ORDER BY p.oid;
SELECT obj_description('ssl_netbox_fields'::regtype, 'pg_type') IS NOT NULL AS type_commented;

