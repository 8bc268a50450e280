-- Issue "Trust" (1.6): web-PKI rules, path building and public suffixes in
-- ssl_validate_chain, and public-suffix wildcards in ssl_certificates_for_host.
-- Fixtures: test/fixtures/trust (made by generate.py), valid 2020..2120;
-- validated at 2030-06-01.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set root `cat test/fixtures/trust/root.pem`
\set int `cat test/fixtures/trust/intermediate.pem`
\set at '''2030-06-01 00:00:00+00'''
SELECT ssl_trust_anchor_load(:'root');

-- Public suffixes: a wildcard directly above one is refused (CA/B BR 3.2.2.6),
-- ICANN (co.uk) and private (github.io) sections alike.
\set psl `cat test/fixtures/trust/leaf-psl-wildcard.pem`
\set pslp `cat test/fixtures/trust/leaf-psl-private.pem`
\set wok `cat test/fixtures/trust/leaf-wildcard-ok.pem`
SELECT ssl_import(:'psl' || :'int') AS psl_id \gset
SELECT ssl_import(:'pslp' || :'int') AS pslp_id \gset
SELECT ssl_import(:'wok' || :'int') AS wok_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:psl_id, :at, 'foo.co.uk');
SELECT status, depth, message FROM ssl_validate_chain(:pslp_id, :at, 'foo.github.io');
SELECT status, depth, message FROM ssl_validate_chain(:wok_id, :at, 'www.trust.co.uk');
SELECT p, netbox_ssl_internal.ssl_wildcard_allowed(p)
  FROM unnest(ARRAY['*.co.uk', '*.CO.UK', '*.github.io', '*.com', '*.trust.co.uk', 'www.co.uk']) AS p;

-- Host lookup: *.co.uk no longer covers foo.co.uk; *.trust.co.uk still
-- covers www.trust.co.uk; the GIN index is still used.
SELECT h, array(SELECT common_name FROM ssl_certificates_for_host(h) ORDER BY 1) AS found
  FROM unnest(ARRAY['foo.co.uk', 'foo.github.io', 'www.trust.co.uk', 'trust.co.uk']) AS h;
SELECT ssl_host_probes('foo.co.uk') AS suffix_parent, ssl_host_probes('www.trust.co.uk') AS ordinary;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT c.id FROM ssl_certificate c
 WHERE ssl_host_match_keys(c.sans, c.common_name) && ssl_host_probes('www.trust.co.uk');
RESET enable_seqscan;

-- RSA modulus not a multiple of 8 bits (BR 6.1.5).
\set rsa `cat test/fixtures/trust/leaf-rsa2052.pem`
SELECT ssl_import(:'rsa' || :'int') AS rsa_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:rsa_id, :at, 'www.trust.example');

-- The subject CN must be an exact copy of a SAN (BR 7.1.4.3).
\set cncase `cat test/fixtures/trust/leaf-cn-case.pem`
\set cnip `cat test/fixtures/trust/leaf-cn-ip-zero.pem`
SELECT ssl_import(:'cncase' || :'int') AS cncase_id \gset
SELECT ssl_import(:'cnip' || :'int') AS cnip_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:cncase_id, :at, 'www.trust.example');
SELECT status, depth, message FROM ssl_validate_chain(:cnip_id, :at, '192.0.2.10');

-- notAfter itself is inside the validity period (RFC 5280 4.1.2.5).
\set na `cat test/fixtures/trust/leaf-notafter.pem`
SELECT ssl_import(:'na' || :'int') AS na_id \gset
SELECT status FROM ssl_validate_chain(:na_id, :at, 'www.trust.example');
SELECT status FROM ssl_validate_chain(:na_id, timestamptz '2030-06-01 00:00:01+00', 'www.trust.example');

-- A leaf without extendedKeyUsage is acceptable (RFC 5280 4.2.1.12).
\set noeku `cat test/fixtures/trust/leaf-no-eku.pem`
SELECT ssl_import(:'noeku' || :'int') AS noeku_id \gset
SELECT status, message FROM ssl_validate_chain(:noeku_id, :at, 'www.trust.example');

-- A non-critical policyConstraints in an intermediate (RFC 5280 4.2.1.11).
\set pcint `cat test/fixtures/trust/int-pc-noncritical.pem`
\set pcleaf `cat test/fixtures/trust/leaf-under-pc.pem`
SELECT ssl_import(:'pcleaf' || :'pcint') AS pc_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:pc_id, :at, 'www.trust.example');

-- A wildcard that can match an excluded subtree (RFC 5280 4.2.1.10).
\set ncint `cat test/fixtures/trust/int-nc-excluded.pem`
\set ncleaf `cat test/fixtures/trust/leaf-nc-wildcard.pem`
SELECT ssl_import(:'ncleaf' || :'ncint') AS nc_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:nc_id, :at, 'foo.trust.example');

-- Path building: the issuer_chain leads first to an untrusted root; the
-- other path (same intermediate name and key, signed by the anchor) wins.
\set cross `cat test/fixtures/trust/cross-pool.pem`
\set crossleaf `cat test/fixtures/trust/leaf-cross.pem`
SELECT ssl_import(:'crossleaf' || :'cross') AS cross_id \gset
SELECT status, depth, message, cardinality(chain) FROM ssl_validate_chain(:cross_id, :at, 'www.trust.example');
-- Many candidate paths that all fail: bounded, with its own message.
\set mesh `cat test/fixtures/trust/mesh-pool.pem`
\set meshleaf `cat test/fixtures/trust/leaf-mesh.pem`
SELECT ssl_import(:'meshleaf' || :'mesh') AS mesh_id \gset
SELECT status, depth, message FROM ssl_validate_chain(:mesh_id, :at, 'www.trust.example');
