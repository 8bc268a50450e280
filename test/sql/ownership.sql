SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- ssl_find_known: is a certificate (e.g. from a CT log) one of ours?
-- Precertificate/final pairs are generated for each run by
-- test/fixtures/mkct.py (same serial, names, validity, key and extension
-- order; poison in the precertificate, SCT list in the final), with
-- near-twins that differ in one field.
\set dir `d=$(mktemp -d) && python3 test/fixtures/mkct.py pair "$d" && echo "$d"`
\set pre `cat :dir/precert.pem`
\set final `cat :dir/final.pem`
\set twin_serial `cat :dir/twin-serial.pem`
\set twin_san `cat :dir/twin-san.pem`
\set samekey `cat :dir/samekey.pem`
\set other `cat :dir/other.pem`
\set real_final `cat test/fixtures/intel/cryptography-scts.pem`
\set real_precert `cat test/fixtures/intel/cryptography.io.precert.pem`

-- The generated pair: different certificates, one TBS hash, one key.
SELECT (SELECT fingerprint_sha256 FROM ssl_parse(:'pre')) <> (SELECT fingerprint_sha256 FROM ssl_parse(:'final')) AS different_certificates,
       (SELECT tbs_sha256 FROM ssl_parse(:'pre')) = (SELECT tbs_sha256 FROM ssl_parse(:'final')) AS same_tbs,
       (SELECT tbs_sha256 FROM ssl_parse(:'twin_serial')) <> (SELECT tbs_sha256 FROM ssl_parse(:'final')) AS serial_twin_differs,
       (SELECT tbs_sha256 FROM ssl_parse(:'twin_san')) <> (SELECT tbs_sha256 FROM ssl_parse(:'final')) AS san_twin_differs,
       (SELECT tbs_sha256 ~ '^[0-9A-F]{2}(:[0-9A-F]{2}){31}$' FROM ssl_parse(:'pre')) AS format_ok;

-- Nothing stored yet.
SELECT * FROM ssl_find_known(:'final');

-- The inventory holds the final certificate and an older one with the same key.
SELECT ssl_import(:'final') AS final_id \gset
SELECT ssl_import(:'samekey') AS samekey_id \gset
SELECT ssl_import(:'other') AS other_id \gset

-- A CT monitor sees the precertificate: it is ours (tbs), and the old
-- certificate shares its key (spki). Each row appears once, with its
-- strongest match.
SELECT certificate_id = :final_id AS is_final, certificate_id = :samekey_id AS is_samekey, match
  FROM ssl_find_known(:'pre');
-- The final certificate itself: fingerprint (not also tbs and spki).
SELECT certificate_id = :final_id AS is_final, certificate_id = :samekey_id AS is_samekey, match
  FROM ssl_find_known(:'final');
-- Near-twins are not the same issuance: only their shared key matches.
SELECT certificate_id = :final_id AS is_final, match FROM ssl_find_known(:'twin_serial') ORDER BY 1 DESC;
SELECT certificate_id = :final_id AS is_final, match FROM ssl_find_known(:'twin_san') ORDER BY 1 DESC;
-- The unrelated key only finds itself.
SELECT certificate_id = :other_id AS is_other, match FROM ssl_find_known(:'other');

-- The other direction, with a second generated pair: the inventory holds
-- the precertificate (what some pipelines see first), the monitor sees the
-- final certificate.
\set dir2 `d=$(mktemp -d) && python3 test/fixtures/mkct.py pair "$d" && echo "$d"`
\set pre2 `cat :dir2/precert.pem`
\set final2 `cat :dir2/final.pem`
SELECT ssl_import(:'pre2') AS pre2_id \gset
SELECT certificate_id = :pre2_id AS is_pre2, match FROM ssl_find_known(:'final2');

-- bytea input (DER) gives the same answer as PEM.
SELECT (SELECT array_agg(f ORDER BY f) FROM ssl_find_known(decode(regexp_replace(:'pre', '-----[A-Z ]+-----|\s', '', 'g'), 'base64')) AS f)
     = (SELECT array_agg(f ORDER BY f) FROM ssl_find_known(:'pre') AS f) AS der_same_as_pem;

-- Real certificates: a Let's Encrypt final certificate with SCTs, and a
-- precertificate of another issuance for the same site, which kept its key:
-- related by key only.
SELECT ssl_import(:'real_final') AS real_id \gset
SELECT certificate_id = :real_id AS is_real, match FROM ssl_find_known(:'real_precert');
SELECT (SELECT serial_number FROM ssl_parse(:'real_precert')) <> (SELECT serial_number FROM ssl_parse(:'real_final')) AS other_issuance;
SELECT match FROM ssl_find_known(:'real_final');

-- Lookups are index-backed.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ssl_certificate WHERE tbs_sha256 = 'x';
EXPLAIN (COSTS OFF) SELECT id FROM ssl_certificate WHERE spki_sha256 = 'x';
RESET enable_seqscan;

-- Bad input: documented SQLSTATEs, no crash.
\set VERBOSITY sqlstate
SELECT * FROM ssl_find_known('not a certificate');
SELECT * FROM ssl_find_known('\x00'::bytea);
SELECT * FROM ssl_find_known(NULL::text);
\set VERBOSITY default

-- Readers may look up; PUBLIC may not.
SET ROLE netbox_ssl_reader;
SELECT match FROM ssl_find_known(:'final');
RESET ROLE;
SELECT has_function_privilege('public', 'ssl_find_known(text)', 'EXECUTE') AS public_may_call;
\set cleanup `rm -rf :dir :dir2`
