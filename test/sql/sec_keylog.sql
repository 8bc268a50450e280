-- Security item 5: no key material reaches the server log. Every entry point
-- that takes certificate text is called with a certificate followed by a
-- private key (PEM, and DER bytes as base64 and as a hex literal) in each
-- error situation that is raised before the key scan could run: a NULL or
-- unknown other argument, oversized input, a bad option value, a cast error
-- of another argument. The errors must reach the top level (not be caught),
-- because only then does log_min_error_statement copy the statement into the
-- log. At the end the part of the server log written by this test is
-- searched for every 64-character piece of the keys; scripts/test.sh scans
-- the log of the whole run for the same keys.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set cert `cat test/fixtures/janus-old.pem`
\set withkey `cat test/fixtures/leaf-with-key.pem`
\set keyonly `cat test/fixtures/key-only.pem`
\set keyder `base64 -w0 test/fixtures/key-only.der`
\set keyhex `od -An -tx1 -v test/fixtures/key-only.der | tr -d ' \n'`
\set csr `cat test/fixtures/csr/rsa-san.csr.pem`

-- Where this server logs (stderr redirected next to the data directory by
-- scripts/pg-sandbox.sh, or the logging collector's file), and how much of
-- it exists before this test.
SELECT coalesce(pg_current_logfile(), current_setting('data_directory') || '/../server.log') AS logfile \gset
SELECT coalesce((pg_stat_file(:'logfile', true)).size, 0) AS log_start \gset
SELECT ssl_import(:'cert') AS id \gset

-- A fresh backend: the shared library is not loaded yet when the first call
-- is a PL/pgSQL function.
\c
\set VERBOSITY terse
SELECT * FROM ssl_renewal_preview(999, :'cert' || E'\n' || :'keyonly');
SELECT * FROM ssl_renewal_preview(999, :'withkey');
SELECT * FROM ssl_renewal_preview(NULL, :'withkey');

-- NULL old_id (checked before the certificate is read).
SELECT ssl_renew(NULL, :'cert' || E'\n' || :'keyonly');
SELECT ssl_renew(NULL, :'withkey');
SELECT ssl_renew(NULL, decode(:'keyder', 'base64'));
SELECT ssl_renew(NULL, ('\x' || :'keyhex')::bytea);

-- Bad option value (checked before the bundle is read).
SELECT * FROM ssl_import_bundle(:'cert' || E'\n' || :'keyonly', 'bogus');
SELECT * FROM ssl_import_bundle(:'withkey', 'bogus');
SELECT * FROM ssl_import_bundle(decode(:'keyder', 'base64'), 'bogus');
SELECT * FROM ssl_import_bundle(:'withkey', :'keyonly');

-- Oversized input (refused from its size, before the key scan).
SET netbox_ssl.max_input_bytes = 600;
SELECT ssl_parse(:'withkey');
SELECT ssl_parse(decode(:'keyder', 'base64') || decode(repeat('00', 600), 'hex'));
SELECT ssl_parse(('\x' || :'keyhex' || repeat('00', 600))::bytea);
SELECT ssl_import(:'withkey');
SELECT ssl_import(decode(:'keyder', 'base64') || decode(repeat('00', 600), 'hex'));
SELECT ssl_renew(:id, :'withkey');
SELECT ssl_renew(:id, decode(:'keyder', 'base64') || decode(repeat('00', 600), 'hex'));
SELECT ssl_renewal_candidate(:'withkey');
SELECT * FROM ssl_renewal_preview(:id, :'withkey');
SELECT * FROM ssl_find_known(:'withkey');
SELECT * FROM ssl_find_known(decode(:'keyder', 'base64') || decode(repeat('00', 600), 'hex'));
SELECT ssl_record_observation('dcim.device', 1, :'withkey');
SELECT ssl_record_observation('dcim.device', 1, decode(:'keyder', 'base64') || decode(repeat('00', 600), 'hex'));
SELECT ssl_ari_cert_id(:'withkey');
SELECT ssl_ari_cert_id(decode(:'keyder', 'base64') || decode(repeat('00', 600), 'hex'));
SELECT ssl_parse_csr(:'csr' || E'\n' || :'keyonly');
SELECT ssl_parse_csr(decode(:'keyder', 'base64') || decode(repeat('00', 600), 'hex'));
SELECT ssl_import_csr(:'csr' || E'\n' || :'keyonly');
SELECT ssl_trust_anchor_load(repeat(:'withkey', 40));
UPDATE ssl_certificate SET issuer_chain = :'withkey' WHERE id = :id;
RESET netbox_ssl.max_input_bytes;

-- Errors raised by another argument or by PostgreSQL itself while the
-- statement carries the key (caught by the log hook).
SELECT * FROM ssl_renewal_preview('not a number', :'withkey');
SELECT ssl_renew('not a number', :'withkey');
SELECT ssl_renew(:id, decode(:'keyder', 'base64'), NULL, 'maybe');
SELECT ssl_record_observation('bogus', 1, :'withkey', 'not a time');
SELECT (ssl_parse(:'cert')).common_name, length(:'keyonly') / 0;
SELECT (ssl_parse(:'cert')).common_name, length(('\x' || :'keyhex')::bytea) / 0;

-- The key itself (refused by the key scan, as before).
SELECT ssl_parse(:'withkey');
SELECT ssl_import_bundle(:'withkey');
UPDATE ssl_certificate SET issuer_chain = :'withkey' WHERE id = :id;
UPDATE ssl_certificate SET issuer_chain = :'keyonly' WHERE id = :id;
\set VERBOSITY default

-- The backend is healthy and nothing was stored.
SELECT count(*) AS certificates, count(*) FILTER (WHERE issuer_chain <> '') AS with_chain FROM ssl_certificate;

-- No 64-character piece of any key (base64 lines of the PEM keys, the DER
-- key as base64 and as hex) in what this test added to the server log. When
-- the log cannot be read (another log destination), nothing is found here
-- and the suite's scan of the whole log still applies.
CREATE TEMP TABLE key_piece AS
SELECT piece FROM (
    SELECT line AS piece
      FROM unnest(ARRAY[:'withkey', :'keyonly']) AS f(pem),
           regexp_split_to_table(substring(f.pem FROM 'PRIVATE KEY-----(.*)-----END'), E'\n') AS line
     WHERE length(line) >= 40
    UNION
    SELECT substr(:'keyder', i, 64) FROM generate_series(1, length(:'keyder') - 63, 64) AS i
    UNION
    SELECT substr(:'keyhex', i, 64) FROM generate_series(1, length(:'keyhex') - 63, 64) AS i
) AS p;
SELECT count(*) AS key_pieces FROM key_piece;
SELECT count(*) AS key_pieces_in_log
  FROM key_piece, (SELECT pg_read_file(:'logfile', :log_start,
                                       greatest(coalesce((pg_stat_file(:'logfile', true)).size, 0) - :log_start, 0),
                                       true) AS log) AS l
 WHERE strpos(lower(l.log), lower(key_piece.piece)) > 0;
