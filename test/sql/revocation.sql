-- Revocation (1.6): CRLs (ssl_crl_load), OCSP answers (ssl_ocsp_record),
-- revoked-on-load and revoked-on-import with events and outbox entries, the
-- validator's look-up (netbox_ssl_internal.ssl_revocation_status), the
-- poller's view ssl_revocation_due, bad input and privileges.
-- Fixtures: test/fixtures/revocation (made by make.sh there).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
DROP ROLE IF EXISTS nbs_rev_reader, nbs_rev_operator;
RESET client_min_messages;
\set ca `cat test/fixtures/revocation/ca.pem`
\set leaf1 `cat test/fixtures/revocation/leaf1.pem`
\set leaf2 `cat test/fixtures/revocation/leaf2.pem`
\set leaf3 `cat test/fixtures/revocation/leaf3.pem`
\set leaf4 `cat test/fixtures/revocation/leaf4.pem`
\set crl1 `cat test/fixtures/revocation/crl1.pem`
\set crl2 `cat test/fixtures/revocation/crl2.pem`
\set crlstale `cat test/fixtures/revocation/crl-stale.pem`
\set crlhold `cat test/fixtures/revocation/crl-hold.pem`
\set crlother `cat test/fixtures/revocation/crl-other.pem`
\set crl2der `base64 -w0 test/fixtures/revocation/crl2.der`
\set badsig `base64 -w0 test/fixtures/revocation/crl-badsig.der`
\set ogood `base64 -w0 test/fixtures/revocation/ocsp-good.der`
\set orevoked `base64 -w0 test/fixtures/revocation/ocsp-revoked.der`
\set ounknown `base64 -w0 test/fixtures/revocation/ocsp-unknown.der`
\set onoeku `base64 -w0 test/fixtures/revocation/ocsp-noeku.der`
\set oother `base64 -w0 test/fixtures/revocation/ocsp-other.der`
\set key `cat test/fixtures/key-only.pem`

-- The inventory: the CA as a trust anchor and imported, three leaves.
SELECT ssl_trust_anchor_load(:'ca', 'revocation test');
SELECT ssl_import(:'ca') AS ca_id \gset
SELECT ssl_import(:'leaf1') AS l1 \gset
SELECT ssl_import(:'leaf2') AS l2 \gset
SELECT ssl_import(:'leaf3') AS l3 \gset
SELECT fingerprint_sha256 AS ca_fp FROM ssl_certificate WHERE id = :ca_id \gset
SELECT common_name, serial_number, status FROM ssl_certificate ORDER BY id;

-- Parsing: issuer, key id, number, dates and entries (PEM and DER alike).
SELECT issuer, authority_key_id IS NOT NULL AS has_aki, crl_number, this_update, next_update, signature_algorithm,
       serials, reasons, cardinality(revoked_at) AS dates
  FROM netbox_ssl_internal.ssl_crl_parse(:'crl2');
SELECT (SELECT der FROM netbox_ssl_internal.ssl_crl_parse(:'crl2')) = decode(:'crl2der', 'base64') AS pem_der_same;
SELECT count(*) AS blocks FROM netbox_ssl_internal.ssl_crl_parse(:'crl1' || :'crl2');

-- Nothing revoked yet: no CRL, no OCSP answer.
SELECT status, detail FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:01', now());

-- CRL 1 (number 1) lists leaf1: revoked on load, with the date and reason
-- in the event, and an outbox entry.
SELECT ssl_crl_load(:'crl1') AS crl1_id \gset
SELECT crl_number, verified_by = :'ca_fp' AS verified_by_ca, superseded_by, entry_count FROM ssl_crl ORDER BY id;
SELECT common_name, status FROM ssl_certificate WHERE id IN (:l1, :l2, :l3) ORDER BY id;
SELECT event_type, old_status, new_status, description FROM ssl_lifecycle_event
 WHERE certificate_id = :l1 ORDER BY id;
SELECT o.event_type, o.payload->>'new_status' AS new_status FROM ssl_outbox o WHERE o.certificate_id = :l1 ORDER BY o.id;
SELECT status, detail FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:01', now());
SELECT status, detail FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:02', now());
-- Before thisUpdate of every CRL: no data.
SELECT status FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:01', '2024-06-01');

-- CRL 2 (DER, number 2) supersedes CRL 1 and revokes leaf2 too.
SELECT ssl_crl_load(decode(:'crl2der', 'base64')) AS crl2_id \gset
SELECT id = :crl2_id AS is_crl2, crl_number, superseded_by = :crl2_id AS superseded_by_crl2 FROM ssl_crl ORDER BY id;
SELECT common_name, status FROM ssl_certificate WHERE id IN (:l1, :l2, :l3) ORDER BY id;
SELECT status, detail FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:02', now());
SELECT status FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:03', now());
-- The same CRL again: the same id, nothing new.
SELECT ssl_crl_load(:'crl2') = :crl2_id AS same_id, (SELECT count(*) FROM ssl_crl) AS crls;
-- An older CRL arriving later (number 1 again, another encoding is not
-- possible: reload crl1 is a no-op) -- the stale one, number 3, is newer;
-- the hold CRL (number 4) is newer still. Load the hold CRL, then the
-- stale one: the stale one arrives later but is older, kept and not used.
SELECT ssl_crl_load(:'crlhold') AS hold_id \gset
SELECT ssl_crl_load(:'crlstale') AS stale_id \gset
SELECT id = :hold_id AS is_hold, id = :stale_id AS is_stale, crl_number, superseded_by = :hold_id AS by_hold,
       superseded_by IS NULL AS current
  FROM ssl_crl ORDER BY id;
-- leaf4 is on hold: the validator reports it, the lifecycle stays active.
SELECT ssl_import(:'leaf4') AS l4 \gset
SELECT status FROM ssl_certificate WHERE id = :l4;
SELECT status, detail FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:04', now());

-- Unknown issuer: stored unverified, not used.
SELECT ssl_crl_load(:'crlother') AS other_id \gset
SELECT verified_by IS NULL AS unverified, superseded_by IS NULL AS not_superseded, issuer FROM ssl_crl WHERE id = :other_id;

-- Bad signature against a known issuer: refused, nothing stored.
\set VERBOSITY sqlstate
SELECT ssl_crl_load(decode(:'badsig', 'base64'));
\set VERBOSITY default
SELECT ssl_crl_load(decode(:'badsig', 'base64'));
SELECT count(*) AS crls FROM ssl_crl;

-- Revoked at import: leaf2 deleted and imported again after CRL 2 is in.
SELECT count(*) AS revoked_events FROM ssl_lifecycle_event WHERE event_type = 'revoked';
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT ssl_purge_certificate(:l2) IS NOT NULL AS purged;
SELECT ssl_import(:'leaf2') AS l2b \gset
SELECT status FROM ssl_certificate WHERE id = :l2b;
SELECT event_type, old_status, new_status, description FROM ssl_lifecycle_event WHERE certificate_id = :l2b ORDER BY id;
ROLLBACK;

-- Bad CRL input: one SQLSTATE each, the session goes on.
\set VERBOSITY sqlstate
SELECT ssl_crl_load('no CRL here');
SELECT ssl_crl_load(E'-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
SELECT ssl_crl_load('\x3003020101'::bytea);
SELECT ssl_crl_load(:'key');
SELECT ssl_crl_load(NULL::text);
SET netbox_ssl.max_input_bytes = 100;
SELECT ssl_crl_load(:'crl1');
RESET netbox_ssl.max_input_bytes;
\set VERBOSITY default
SELECT ssl_crl_load('no CRL here');
SELECT 1 AS still_alive;

-- OCSP: leaf3 good (signed by the CA), by certificate id.
SELECT ssl_ocsp_record(decode(:'ogood', 'base64'), :l3);
SELECT ocsp_status, ocsp_this_update IS NOT NULL AS has_this, ocsp_next_update > now() AS current, ocsp_revoked_at, status
  FROM ssl_certificate WHERE id = :l3;
-- leaf2 revoked, signed by the delegated responder, found by serial.
BEGIN;
-- take leaf2 back to a world without CRLs, so the OCSP answer revokes it
DELETE FROM ssl_crl_entry; UPDATE ssl_crl SET superseded_by = NULL; DELETE FROM ssl_crl;
SELECT status, detail FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:03', now());
SELECT status FROM netbox_ssl_internal.ssl_revocation_status(:'ca_fp', '10:02', now());
ROLLBACK;
SELECT ssl_ocsp_record(decode(:'orevoked', 'base64'));
SELECT ocsp_status, ocsp_revocation_reason, ocsp_revoked_at IS NOT NULL AS has_date FROM ssl_certificate WHERE id = :l2;
-- Unknown serial: no stored certificate; good for leaf3 given as leaf1: mismatch.
\set VERBOSITY sqlstate
SELECT ssl_ocsp_record(decode(:'ounknown', 'base64'));
SELECT ssl_ocsp_record(decode(:'ogood', 'base64'), :l1);
SELECT ssl_ocsp_record(decode(:'onoeku', 'base64'));
SELECT ssl_ocsp_record(decode(:'oother', 'base64'));
SELECT ssl_ocsp_record('\x30030a0103'::bytea);
SELECT ssl_ocsp_record('\x3003'::bytea);
SELECT ssl_ocsp_record('\x'::bytea);
SELECT ssl_ocsp_record(NULL);
SELECT ssl_ocsp_record(decode(:'ogood', 'base64'), 999999);
\set VERBOSITY default
SELECT ssl_ocsp_record(decode(:'ounknown', 'base64'));
SELECT ssl_ocsp_record(decode(:'ogood', 'base64'), :l1);
SELECT ssl_ocsp_record(decode(:'onoeku', 'base64'));
SELECT ssl_ocsp_record(decode(:'oother', 'base64'));
SELECT ssl_ocsp_record('\x30030a0103'::bytea);
SELECT ssl_ocsp_record('\x3003'::bytea);
SELECT 1 AS still_alive;
-- The unknown answer, recorded on a certificate of that serial.
SELECT cardinality(array_agg(cert_status)) AS singles, min(cert_status) AS cert_status, min(serial) AS serial
  FROM netbox_ssl_internal.ssl_ocsp_parse(decode(:'ounknown', 'base64'));

-- The poller's view: the stale CRL is not usable, so no CRL is due; active
-- certificates with an OCSP URL and no current answer are. (URLs are filled
-- at import from 1.6 on; set here for rows imported without them.)
UPDATE ssl_certificate SET crl_urls = '{http://crl.example.test/revocation-test-ca.crl}',
                           ocsp_urls = '{http://ocsp.example.test/}'
 WHERE NOT is_ca AND ocsp_urls = '{}';
SELECT kind, certificate_id = :l4 AS is_leaf4, url, serial_number, issuer_pem = (ssl_parse(:'ca')).pem_content AS issuer_pem_ok
  FROM ssl_revocation_due ORDER BY kind, certificate_id;
BEGIN;
UPDATE ssl_crl SET next_update = now() - interval '1 day' WHERE id = :hold_id;
SELECT kind, crl_id = :hold_id AS is_hold, url, due_since < now() AS past FROM ssl_revocation_due WHERE kind = 'crl';
ROLLBACK;

-- Privileges: readers read, operators load, PUBLIC nothing.
CREATE ROLE nbs_rev_reader IN ROLE netbox_ssl_reader;
CREATE ROLE nbs_rev_operator IN ROLE netbox_ssl_operator;
SET ROLE nbs_rev_reader;
SELECT count(*) > 0 AS reads_crls FROM ssl_crl;
SELECT count(*) > 0 AS reads_entries FROM ssl_crl_entry;
SELECT count(*) >= 0 AS reads_due FROM ssl_revocation_due;
\set VERBOSITY sqlstate
SELECT ssl_crl_load(:'crl1');
SELECT ssl_ocsp_record(decode(:'ogood', 'base64'));
SELECT * FROM netbox_ssl_internal.ssl_revocation_lookup(:'ca_fp', '10:01', now());
\set VERBOSITY default
RESET ROLE;
SET ROLE nbs_rev_operator;
SELECT ssl_crl_load(:'crl1') = :crl1_id AS operator_loads;
SELECT ssl_ocsp_record(decode(:'ogood', 'base64'), :l3) AS operator_records;
\set VERBOSITY sqlstate
INSERT INTO ssl_crl_entry VALUES (:crl1_id, '99', now(), NULL);
\set VERBOSITY default
RESET ROLE;
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec
  FROM pg_proc p WHERE p.proname IN ('ssl_crl_load', 'ssl_ocsp_record', 'ssl_revocation_lookup', 'ssl_crl_store', 'ssl_revocation_status', 'ssl_crl_parse')
 ORDER BY 1, 2;
DROP ROLE nbs_rev_reader, nbs_rev_operator;
