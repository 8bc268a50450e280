-- ssl_expiry_scan (1.4): alerts fire on crossing a threshold, once; a late
-- scan catches up with one alert (the smallest crossed threshold) instead of
-- a burst; expiry is announced once whichever function notices it; a renewal
-- stops the alerts of the replaced certificate. Certificates with dates
-- relative to now are generated for this run (test/fixtures/mkcert.sh).
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set d100 `test/fixtures/mkcert.sh d100.example.com '-300 days' '+100 days'`
\set d75 `test/fixtures/mkcert.sh d75.example.com '-300 days' '+75 days'`
\set d45 `test/fixtures/mkcert.sh d45.example.com '-300 days' '+45 days'`
\set d20 `test/fixtures/mkcert.sh d20.example.com '-300 days' '+20 days'`
\set d10 `test/fixtures/mkcert.sh d10.example.com '-300 days' '+10 days'`
\set h3 `test/fixtures/mkcert.sh h3.example.com '-300 days' '+3 hours'`
\set d5 `test/fixtures/mkcert.sh d5.example.com '-300 days' '+5 days'`
\set d5next `test/fixtures/mkcert.sh d5.example.com '-1 day' '+365 days'`
\set gone `test/fixtures/mkcert.sh gone.example.com '-300 days' '-1 hour'`
\set refreshed `test/fixtures/mkcert.sh refreshed.example.com '-300 days' '-2 hours'`
\set expired `cat test/fixtures/expired.pem`

CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ': ' || msg;
END $$;

-- Stores a certificate as active although it has already expired (as if
-- neither ssl_refresh_status nor a scan had run since).
CREATE FUNCTION pg_temp.store_active(pem text) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from,
        valid_to, sans, algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id,
        spki_sha256, pem_content, issuer_chain, status)
    SELECT p.common_name, p.subject, p.issuer, p.serial_number, p.fingerprint_sha256, p.valid_from,
        p.valid_to, p.sans, p.algorithm, p.key_size, p.signature_algorithm, p.is_ca, p.subject_key_id,
        p.authority_key_id, p.spki_sha256, p.pem_content, p.issuer_chain, 'active'
      FROM ssl_parse(pem) p
    RETURNING id
$$;

SELECT ssl_import(:'d100') AS d100 \gset
SELECT ssl_import(:'d75') AS d75 \gset
SELECT ssl_import(:'d45') AS d45 \gset
SELECT ssl_import(:'d20') AS d20 \gset
SELECT ssl_import(:'d10') AS d10 \gset
SELECT ssl_import(:'h3') AS h3 \gset
SELECT ssl_import(:'d5') AS d5 \gset
SELECT pg_temp.store_active(:'gone') AS gone \gset
SELECT pg_temp.store_active(:'refreshed') AS refreshed \gset
SELECT ssl_import(:'expired') AS imported_expired \gset
CREATE TEMP VIEW names AS
SELECT c.id, split_part(c.common_name, '.', 1) AS name FROM ssl_certificate c;

----------------------------------------------------------------------------
-- 1. Arguments: a set of whole days from 1 to 36500.
----------------------------------------------------------------------------
SELECT pg_temp.try('SELECT ssl_expiry_scan(NULL)') AS null_array,
       pg_temp.try('SELECT ssl_expiry_scan(''{}'')') AS empty_array,
       pg_temp.try('SELECT ssl_expiry_scan(''{30,NULL}'')') AS null_element;
SELECT pg_temp.try('SELECT ssl_expiry_scan(''{30,0}'')') AS zero,
       pg_temp.try('SELECT ssl_expiry_scan(''{-7}'')') AS negative,
       pg_temp.try('SELECT ssl_expiry_scan(''{40000}'')') AS too_large,
       pg_temp.try('SELECT ssl_expiry_scan(''{{30,7},{14,1}}'')') AS two_dimensional;
SELECT count(*) AS events_after_bad_calls FROM ssl_lifecycle_event WHERE event_type = 'expiring';

----------------------------------------------------------------------------
-- 2. A scan that ran last 90 days ago, in effect: only the 90-day threshold
--    (duplicates and order do not matter). Everything within 90 days gets
--    that one alert.
----------------------------------------------------------------------------
SELECT ssl_refresh_status() AS refreshed_by_refresh;  -- moves "gone" and "refreshed" to expired
SELECT n.name, s.threshold, s.event FROM ssl_expiry_scan('{90,90}') s JOIN names n ON n.id = s.certificate_id
 ORDER BY s.certificate_id, s.threshold;

----------------------------------------------------------------------------
-- 3. Catch-up with the default thresholds {90,60,30,14,7,1}: each certificate
--    gets ONE alert, for the smallest threshold it has crossed; the larger
--    ones it skipped are recorded as covered, never sent.
----------------------------------------------------------------------------
SELECT n.name, s.threshold, s.event FROM ssl_expiry_scan() s JOIN names n ON n.id = s.certificate_id
 ORDER BY s.certificate_id, s.threshold;
SELECT n.name, array_agg(a.threshold ORDER BY a.threshold) FILTER (WHERE a.event_id IS NOT NULL) AS sent,
       array_agg(a.threshold ORDER BY a.threshold) FILTER (WHERE a.event_id IS NULL) AS covered
  FROM ssl_expiry_alert a JOIN names n ON n.id = a.certificate_id
 GROUP BY a.certificate_id, n.name ORDER BY a.certificate_id;

----------------------------------------------------------------------------
-- 4. Idempotent: running again emits nothing, with any thresholds that are
--    not smaller than what was sent (larger thresholds are never re-sent).
----------------------------------------------------------------------------
SELECT count(*) AS second_run FROM ssl_expiry_scan();
SELECT count(*) AS larger_thresholds FROM ssl_expiry_scan('{90,60}');
SELECT count(*) AS unordered_duplicates FROM ssl_expiry_scan('{30,7,30,1,14,90,60}');

----------------------------------------------------------------------------
-- 5. Each alert is one lifecycle event, in the outbox with its threshold;
--    one expired event per certificate, whoever noticed the expiry.
----------------------------------------------------------------------------
SELECT n.name, e.event_type, e.old_status, e.new_status, (o.payload->>'threshold')::integer AS payload_threshold,
       a.threshold AS recorded_threshold
  FROM ssl_lifecycle_event e JOIN names n ON n.id = e.certificate_id
  LEFT JOIN ssl_outbox o ON o.id = e.id
  LEFT JOIN ssl_expiry_alert a ON a.event_id = e.id
 WHERE e.event_type IN ('expiring', 'expired')
 ORDER BY e.certificate_id, e.id;
SELECT count(*) FILTER (WHERE o.id IS NULL) AS alerts_missing_from_outbox
  FROM ssl_lifecycle_event e LEFT JOIN ssl_outbox o ON o.id = e.id
 WHERE e.event_type IN ('expiring', 'expired');
-- The certificate imported after its expiry was never active: recorded, not announced.
SELECT threshold, event_id IS NULL AS without_event FROM ssl_expiry_alert WHERE certificate_id = :imported_expired;
-- The scan made "gone" expired itself (as ssl_refresh_status would), so a
-- later refresh has nothing left to do and logs no second expired event.
SELECT ssl_refresh_status() AS refreshed_after_scan;
SELECT n.name, c.status FROM ssl_certificate c JOIN names n ON n.id = c.id WHERE c.id IN (:gone, :refreshed) ORDER BY c.id;

----------------------------------------------------------------------------
-- 6. Expiry found by the scan itself: a certificate that expired since the
--    last scan gets exactly one expired event.
----------------------------------------------------------------------------
\set gone2 `test/fixtures/mkcert.sh gone2.example.com '-300 days' '-1 minute'`
SELECT pg_temp.store_active(:'gone2') AS gone2 \gset
SELECT n.name, s.threshold, s.event FROM ssl_expiry_scan() s JOIN names n ON n.id = s.certificate_id;
SELECT count(*) AS gone2_expired_events FROM ssl_lifecycle_event WHERE certificate_id = :gone2 AND event_type = 'expired';
SELECT status FROM ssl_certificate WHERE id = :gone2;
SELECT count(*) AS rescan FROM ssl_expiry_scan();

----------------------------------------------------------------------------
-- 7. A renewal stops the alerts for the replaced certificate: d5 (5 days
--    left, alerted at 7) would get a 6-day alert while active ...
----------------------------------------------------------------------------
BEGIN;
SELECT n.name, s.threshold, s.event FROM ssl_expiry_scan('{6}') s JOIN names n ON n.id = s.certificate_id;
ROLLBACK;
-- ... but not once renewed; its successor (a year left) gets none either.
SELECT ssl_renew(:d5, :'d5next') AS d5next \gset
SELECT count(*) AS after_renewal FROM ssl_expiry_scan('{6}');
SELECT count(*) AS after_renewal_defaults FROM ssl_expiry_scan();

----------------------------------------------------------------------------
-- 8. Purging a certificate takes its alert rows with it; privileges.
----------------------------------------------------------------------------
SELECT ssl_purge_certificate(:imported_expired) > 0 AS purged;
SELECT count(*) AS purged_alert_rows FROM ssl_expiry_alert WHERE certificate_id = :imported_expired;
SELECT p.oid::regprocedure AS function,
       has_function_privilege('netbox_ssl_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('netbox_ssl_operator', p.oid, 'EXECUTE') AS operator,
       has_function_privilege('netbox_ssl_admin', p.oid, 'EXECUTE') AS admin
  FROM pg_proc p WHERE p.proname = 'ssl_expiry_scan';
