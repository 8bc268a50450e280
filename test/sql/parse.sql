-- ssl_parse: every field, checked against OpenSSL's own CLI where it prints one.
CREATE EXTENSION netbox_ssl;
SET timezone = 'UTC';
-- On an empty inventory too, bad input to ssl_renewal_candidate is an error.
SELECT ssl_renewal_candidate('not a certificate');
\set old `cat test/fixtures/janus-old.pem`
\set bundle `cat test/fixtures/bundle-shuffled.pem`
\set root `cat test/fixtures/root.pem`
\set intermediate `cat test/fixtures/intermediate.pem`

\x on
SELECT common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans,
       algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256,
       issuer_chain
  FROM ssl_parse(:'old');
\x off

-- The oracle: what openssl x509 prints for the same file.
\set ossl_fp `openssl x509 -in test/fixtures/janus-old.pem -noout -fingerprint -sha256 | cut -d= -f2`
\set ossl_subject `openssl x509 -in test/fixtures/janus-old.pem -noout -subject -nameopt RFC2253 | cut -d= -f2-`
\set ossl_issuer `openssl x509 -in test/fixtures/janus-old.pem -noout -issuer -nameopt RFC2253 | cut -d= -f2-`
\set ossl_serial `openssl x509 -in test/fixtures/janus-old.pem -noout -serial | cut -d= -f2`
\set ossl_pem `openssl x509 -in test/fixtures/janus-old.pem`
SELECT fingerprint_sha256 = :'ossl_fp' AS fingerprint_matches_openssl,
       subject = :'ossl_subject' AS subject_matches_openssl,
       issuer = :'ossl_issuer' AS issuer_matches_openssl,
       replace(serial_number, ':', '') = :'ossl_serial' AS serial_matches_openssl,
       rtrim(pem_content, E'\n') = :'ossl_pem' AS pem_matches_openssl
  FROM ssl_parse(:'old');

-- A shuffled bundle with text around the blocks: the leaf is the certificate
-- that issues none of the others; the chain is ordered leaf to root.
SELECT common_name, is_ca,
       issuer_chain = (ssl_parse(:'intermediate')).pem_content || (ssl_parse(:'root')).pem_content AS chain_is_leaf_to_root,
       fingerprint_sha256 = (ssl_parse(:'old')).fingerprint_sha256 AS same_leaf
  FROM ssl_parse(:'bundle');

-- Odd but valid certificates.
\set nocn `cat test/fixtures/no-cn.pem`
\set sanmixed `cat test/fixtures/san-mixed.pem`
\set utf8 `cat test/fixtures/utf8-subject.pem`
\set ed25519 `cat test/fixtures/ed25519.pem`
\set ed448 `cat test/fixtures/ed448.pem`
\set pss `cat test/fixtures/rsa-pss.pem`
\set p384 `cat test/fixtures/p384.pem`
\set dsa `cat test/fixtures/dsa.pem`
\set v1 `cat test/fixtures/v1.pem`
SELECT name, p.common_name, p.subject, p.algorithm, p.key_size, p.signature_algorithm, p.is_ca,
       p.subject_key_id IS NULL AS no_skid
  FROM (VALUES ('no-cn', :'nocn'), ('utf8', :'utf8'), ('ed25519', :'ed25519'), ('ed448', :'ed448'),
               ('rsa-pss', :'pss'), ('p384', :'p384'), ('dsa', :'dsa'), ('v1', :'v1')) AS f(name, pem),
       LATERAL ssl_parse(f.pem) AS p;
SELECT sans FROM ssl_parse(:'sanmixed');

-- DER through bytea, and PEM bytes through bytea (as pg_read_binary_file gives them).
\set derb64 `base64 -w0 test/fixtures/cert.der`
SELECT (ssl_parse(decode(:'derb64', 'base64'))).fingerprint_sha256 = (ssl_parse(:'old')).fingerprint_sha256 AS der_matches_pem,
       (ssl_parse(convert_to(:'old', 'UTF8'))).common_name AS pem_as_bytea;

-- CRLF line ends, a UTF-8 BOM, surrounding whitespace and the X509 CERTIFICATE label.
SELECT (ssl_parse(E'\uFEFF  \n' || replace(:'old', E'\n', E'\r\n') || E'\r\n\n')).common_name AS crlf_bom,
       (ssl_parse(replace(:'old', 'CERTIFICATE-----', 'X509 CERTIFICATE-----'))).common_name AS x509_label;

-- One call parses once: the composite can be expanded without re-parsing.
SELECT (p).common_name, (p).valid_to FROM (SELECT ssl_parse(:'old') AS p) s;

-- Real third-party certificates (copied from the shared corpus with provenance).
\set so `cat test/fixtures/real/stackoverflow-leaf-20230918.pem`
SELECT common_name, issuer, serial_number, sans, algorithm, key_size, signature_algorithm
  FROM ssl_parse(:'so');
