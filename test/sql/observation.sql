SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
-- Observed deployments: ssl_record_observation and ssl_deployment_drift.
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set other `cat test/fixtures/other-cn.pem`
\set expired `cat test/fixtures/expired.pem`
\set expired2 `cat test/fixtures/expired-renewal.pem`
\set stranger `test/fixtures/mkcert.sh stranger.example.net '-1 day' '+30 days'`
\set dual `test/fixtures/mkcert.sh dual.example.net '-1 day' '+30 days'`

SELECT ssl_import(:'old') AS old_id \gset
SELECT ssl_import(:'other') AS other_id \gset
SELECT ssl_import(:'expired') AS expired_id \gset
SELECT ssl_import(:'dual') AS dual_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES
    (:old_id, 'ipam.service', 1), (:old_id, 'ipam.service', 2), (:old_id, 'ipam.service', 3),
    (:other_id, 'ipam.service', 4), (:expired_id, 'ipam.service', 5),
    (:other_id, 'ipam.service', 6), (:dual_id, 'ipam.service', 6);

-- Scanners report what each object served.
SELECT ssl_record_observation('ipam.service', 1, :'old', '2026-01-01 10:00+00') AS obs1 \gset
SELECT ssl_record_observation('ipam.service', 2, :'old', '2026-01-01 10:00+00') AS obs2 \gset
SELECT ssl_record_observation('ipam.service', 4, :'stranger', '2026-01-01 10:00+00') AS obs4 \gset
SELECT ssl_record_observation('ipam.service', 5, :'expired', '2026-01-01 10:00+00') AS obs5 \gset
-- Object 6 has two assigned certificates (say RSA and ECDSA); serving
-- either is fine.
SELECT ssl_record_observation('ipam.service', 6, :'dual', '2026-01-01 10:00+00') AS obs6 \gset
-- No drift yet: every object serves an assigned certificate, except 4,
-- which serves one the inventory does not know.
SELECT object_id, assigned_certificate_id = :other_id AS assigned_other, assigned_status,
       observed_certificate_id, observed_status, observed_common_name, reason
  FROM ssl_deployment_drift ORDER BY assignment_id;

-- The Janus renewal moves the assignments to the new certificate...
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
-- ...but object 1 still serves the old one: renewed on paper, not on the wire.
SELECT ssl_record_observation('ipam.service', 1, :'old', '2026-01-02 10:00+00') = :obs1 AS folded_into_same_row;
-- Object 2 was redeployed.
SELECT ssl_record_observation('ipam.service', 2, :'new', '2026-01-02 10:00+00') <> :obs2 AS new_row;
SELECT object_type, object_id, assigned_certificate_id = :new_id AS assigned_new, assigned_status,
       observed_certificate_id = :old_id AS observed_old, observed_status, observed_at, reason
  FROM ssl_deployment_drift ORDER BY assignment_id;

-- Object 5 is assigned an expired certificate and serves it: not drift
-- (nothing differs; ssl_certificate_expiry reports it). If it serves
-- another expired certificate (here one the inventory does not hold), that
-- is drift.
SELECT ssl_record_observation('ipam.service', 5, :'expired2', '2026-01-03 10:00+00') IS NOT NULL AS recorded;
SELECT object_id, observed_certificate_id, observed_valid_to < now() AS observed_expired, reason FROM ssl_deployment_drift WHERE object_id = 5;

-- A late report of an older sighting does not become the current state.
SELECT ssl_record_observation('ipam.service', 2, :'old', '2026-01-01 12:00+00') IS NOT NULL AS recorded;
SELECT count(*) AS object_2_drifting FROM ssl_deployment_drift WHERE object_id = 2;

-- History: one row per run of identical sightings.
SELECT object_id, fingerprint_sha256 = (SELECT fingerprint_sha256 FROM ssl_certificate WHERE id = :old_id) AS is_old,
       certificate_id IS NOT NULL AS known, first_seen_at, last_seen_at, times_seen
  FROM ssl_observation ORDER BY object_id, first_seen_at, id;

-- DER input, default observed_at = now().
SELECT ssl_record_observation('ipam.service', 3, decode(regexp_replace(:'new', '-----[A-Z ]+-----|\s', '', 'g'), 'base64')) IS NOT NULL AS recorded;
SELECT last_seen_at > now() - interval '1 minute' AS stamped_now FROM ssl_observation WHERE object_id = 3;

-- An observation of a certificate imported later is matched by the view.
SELECT ssl_import(:'stranger') AS stranger_id \gset
SELECT object_id, observed_certificate_id = :stranger_id AS now_known, reason
  FROM ssl_deployment_drift WHERE object_id = 4;

-- Bad input.
\set VERBOSITY sqlstate
SELECT ssl_record_observation('', 1, :'old');
SELECT ssl_record_observation('ipam.service', NULL, :'old');
SELECT ssl_record_observation('ipam.service', 1, :'old', 'infinity');
SELECT ssl_record_observation('ipam.service', 1, NULL::text);
SELECT ssl_record_observation('ipam.service', 1, :'old', NULL);
SELECT ssl_record_observation('ipam.service', 1, 'garbage');
SELECT ssl_record_observation('ipam.service', 1, '\x3082'::bytea);
\set VERBOSITY default
SELECT count(*) AS observations FROM ssl_observation;

-- Operators record; readers read the view; PUBLIC neither.
SET ROLE netbox_ssl_reader;
SELECT count(*) > 0 AS reader_reads_drift FROM ssl_deployment_drift;
SELECT ssl_record_observation('ipam.service', 9, :'old');
RESET ROLE;
SET ROLE netbox_ssl_operator;
SELECT ssl_record_observation('ipam.service', 9, :'old') IS NOT NULL AS operator_records;
SELECT recorded_by FROM ssl_observation WHERE object_id = 9;
RESET ROLE;
SELECT has_function_privilege('public', 'ssl_record_observation(text, bigint, text, timestamptz)', 'EXECUTE') AS public_may_record;

-- Purging a certificate keeps its sightings.
SELECT ssl_record_observation('ipam.service', 7, :'stranger', '2026-01-04 10:00+00') AS obs7 \gset
SELECT certificate_id = :stranger_id AS known_when_recorded FROM ssl_observation WHERE id = :obs7;
SELECT ssl_purge_certificate(:stranger_id) IS NOT NULL AS purged;
SELECT object_id, certificate_id FROM ssl_observation WHERE object_id IN (4, 7) ORDER BY object_id;
