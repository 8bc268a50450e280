-- The transactional outbox (1.4): every new lifecycle event, whichever path
-- writes it, is copied to ssl_outbox with a JSON payload and queued for each
-- consumer in the same transaction; claim / ack / subscribe / prune.
-- (NOTIFY delivery is tested with a listening session in
-- test/outbox/listen_test.py; concurrent claims in the isolation test
-- outbox_claim.)
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
DROP ROLE IF EXISTS nbs_ob_reader, nbs_ob_operator;
DROP FUNCTION IF EXISTS public.try(text);
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set other `cat test/fixtures/other-cn.pem`
\set p384 `cat test/fixtures/p384.pem`
\set fresh `test/fixtures/mkcert.sh long.example.com '-1 day' '+300 days'`

CREATE FUNCTION public.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ': ' || msg;
END $$;

-- Does every outbox payload say exactly what its event row says?
CREATE FUNCTION pg_temp.payload_mismatches() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM ssl_outbox o JOIN ssl_lifecycle_event e ON e.id = o.id
      LEFT JOIN ssl_certificate c ON c.id = e.certificate_id
     WHERE (o.payload->>'id')::bigint IS DISTINCT FROM e.id
        OR (o.payload->>'certificate_id')::bigint IS DISTINCT FROM e.certificate_id
        OR o.certificate_id IS DISTINCT FROM e.certificate_id
        OR o.event_type IS DISTINCT FROM e.event_type
        OR o.payload->>'type' IS DISTINCT FROM left(e.event_type, 200)
        OR o.payload->>'old_status' IS DISTINCT FROM left(e.old_status, 200)
        OR o.payload->>'new_status' IS DISTINCT FROM left(e.new_status, 200)
        OR (o.payload->>'related_certificate_id')::bigint IS DISTINCT FROM e.related_certificate_id
        OR o.payload->>'common_name' IS DISTINCT FROM left(c.common_name, 200)
        OR o.payload->>'actor' IS DISTINCT FROM left(e.actor, 200)
        OR (o.payload->>'occurred_at')::timestamptz IS DISTINCT FROM e.occurred_at
        OR o.payload->>'occurred_at' !~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$'
$$;

----------------------------------------------------------------------------
-- 1. Every path that writes an event publishes it: ssl_import (C, SPI), the
--    assignment history trigger, ssl_renew, the status trigger, the revert,
--    and a plain INSERT.
----------------------------------------------------------------------------
SELECT ssl_outbox_subscribe('audit') AS audit_backlog;
SELECT ssl_import(:'old') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'ipam.service', 1);
BEGIN;
SET LOCAL netbox_ssl.actor = 'janus';
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
COMMIT;
SELECT ssl_revert_renewal(:new_id) = :old_id AS reverted;
SELECT ssl_import(:'other') AS other_id \gset
UPDATE ssl_certificate SET status = 'revoked' WHERE id = :other_id;
INSERT INTO ssl_lifecycle_event (certificate_id, event_type, description) VALUES (:other_id, 'note', 'written by hand');
SELECT e.id, e.event_type, o.id IS NOT NULL AS in_outbox
  FROM ssl_lifecycle_event e LEFT JOIN ssl_outbox o ON o.id = e.id ORDER BY e.id;
SELECT pg_temp.payload_mismatches() AS payload_mismatches;
-- The renewal's two events, as a consumer sees them (occurred_at varies).
SELECT id, jsonb_pretty(payload - 'occurred_at') AS payload FROM ssl_outbox
 WHERE event_type IN ('renewed', 'activated') AND (payload->>'actor') = 'janus' ORDER BY id;
-- Every consumer that exists when an event is written gets it queued.
SELECT count(*) AS audit_queue FROM ssl_outbox_delivery WHERE consumer = 'audit';

----------------------------------------------------------------------------
-- 2. Transactional: a rolled-back renewal publishes nothing; a committed one
--    exactly its two events.
----------------------------------------------------------------------------
SELECT max(id) AS last_before FROM ssl_outbox \gset
BEGIN;
SELECT ssl_renew(:old_id, :'p384', NULL, true) > 0 AS renewed_in_txn;
SELECT count(*) AS visible_inside FROM ssl_outbox WHERE id > :last_before;
ROLLBACK;
SELECT count(*) AS after_rollback FROM ssl_outbox WHERE id > :last_before;
SELECT count(*) AS queued_after_rollback FROM ssl_outbox_delivery d WHERE d.outbox_id > :last_before;
SELECT ssl_renew(:old_id, :'p384', NULL, true) AS p384_id \gset
SELECT event_type, certificate_id = :old_id AS on_old, certificate_id = :p384_id AS on_new
  FROM ssl_outbox WHERE id > :last_before ORDER BY id;
-- A savepoint rolled back inside a committed transaction takes its events with it.
SELECT max(id) AS last_before FROM ssl_outbox \gset
BEGIN;
INSERT INTO ssl_lifecycle_event (certificate_id, event_type) VALUES (:other_id, 'kept');
SAVEPOINT s;
INSERT INTO ssl_lifecycle_event (certificate_id, event_type) VALUES (:other_id, 'undone');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT event_type FROM ssl_outbox WHERE id > :last_before ORDER BY id;

----------------------------------------------------------------------------
-- 3. History is not news: events dated before the transaction began (a
--    pg_dump restore, a backfill) are not published.
----------------------------------------------------------------------------
INSERT INTO ssl_lifecycle_event (certificate_id, event_type, occurred_at)
VALUES (:other_id, 'restored', now() - interval '400 days') RETURNING id AS restored_id \gset
SELECT count(*) AS restored_published FROM ssl_outbox WHERE id = :restored_id;

----------------------------------------------------------------------------
-- 4. The payload stays below NOTIFY's 8000-byte limit whatever the text:
--    every text field at 300 characters that JSON escapes to 6 bytes each
--    (the event type can only hold a-z and _). pg_notify itself would fail
--    the insert if the payload were too long.
----------------------------------------------------------------------------
-- A long common name: a certificate row written directly (as a migration might).
INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to,
    sans, algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256,
    pem_content, issuer_chain)
SELECT repeat(chr(1), 300), p.subject, p.issuer, p.serial_number, p.fingerprint_sha256, p.valid_from, p.valid_to,
    p.sans, p.algorithm, p.key_size, p.signature_algorithm, p.is_ca, p.subject_key_id, p.authority_key_id,
    p.spki_sha256, p.pem_content, p.issuer_chain
  FROM ssl_parse(:'fresh') p
RETURNING id AS long_cn_id \gset
BEGIN;
SELECT set_config('netbox_ssl.actor', repeat(chr(2), 300), true) IS NOT NULL AS long_actor;
INSERT INTO ssl_lifecycle_event (certificate_id, event_type, old_status, new_status)
VALUES (:long_cn_id, repeat('a', 300), repeat(chr(3), 300), repeat(chr(4), 300)),
       (:long_cn_id, 'emoji', repeat(U&'\+01F512', 300), repeat('"', 300));
COMMIT;
SELECT count(*) AS long_rows, max(octet_length(payload::text)) < 8000 AS below_limit,
       max(octet_length(payload::text)) AS max_bytes,
       bool_and((payload->>'truncated')::boolean) AS flagged,
       max(length(payload->>'type')) AS type_chars, max(length(payload->>'old_status')) AS old_status_chars,
       max(length(payload->>'actor')) AS actor_chars
  FROM ssl_outbox WHERE length(event_type) > 200 OR event_type = 'emoji';
SELECT count(*) FILTER (WHERE (payload->>'truncated')::boolean) AS truncated_elsewhere FROM ssl_outbox
 WHERE length(event_type) <= 200 AND event_type <> 'emoji';
SELECT pg_temp.payload_mismatches() AS payload_mismatches;

----------------------------------------------------------------------------
-- 5. Claim and acknowledge.
----------------------------------------------------------------------------
SELECT try('SELECT * FROM ssl_outbox_claim(NULL)') AS null_consumer,
       try('SELECT * FROM ssl_outbox_claim('''')') AS empty_consumer,
       try('SELECT * FROM ssl_outbox_claim(repeat(''x'', 201))') AS long_consumer,
       try('SELECT * FROM ssl_outbox_claim(''audit'', 0)') AS max_zero,
       try('SELECT * FROM ssl_outbox_claim(''audit'', -1)') AS max_negative,
       try('SELECT * FROM ssl_outbox_claim(''audit'', NULL)') AS max_null;
SELECT try('SELECT ssl_outbox_ack(''nobody'', ''{1}'')') AS ack_unknown_consumer,
       try('SELECT ssl_outbox_ack(''audit'', NULL)') AS ack_null_ids,
       try('SELECT ssl_outbox_ack('''', ''{1}'')') AS ack_empty_consumer,
       try('SELECT ssl_outbox_subscribe('''')') AS subscribe_empty;
SELECT count(*) AS audit_pending FROM ssl_outbox_delivery WHERE consumer = 'audit';
-- Oldest first, max rows at a time; an ack in the claiming transaction moves on.
BEGIN;
SELECT array_agg(id ORDER BY id) AS first_claim FROM ssl_outbox_claim('audit', 3);
SELECT array_agg(id ORDER BY id) AS claimed_again_same_txn FROM ssl_outbox_claim('audit', 3);
SELECT ssl_outbox_ack('audit', ARRAY(SELECT id FROM ssl_outbox_claim('audit', 3))) AS acked;
SELECT array_agg(id ORDER BY id) AS next_claim FROM ssl_outbox_claim('audit', 3);
COMMIT;
-- Acked rows are gone for this consumer; rows claimed but not acked are back.
SELECT array_agg(id ORDER BY id) AS after_commit FROM ssl_outbox_claim('audit', 4);
-- A rolled-back ack changes nothing; acking twice or unknown ids counts 0.
BEGIN;
SELECT ssl_outbox_ack('audit', '{4,5}') AS acked_then_rolled_back;
ROLLBACK;
SELECT ssl_outbox_ack('audit', '{1,2,3,999999}') AS acked_again, ssl_outbox_ack('audit', '{}') AS acked_none;
SELECT ssl_outbox_ack('audit', ARRAY(SELECT id FROM ssl_outbox)) > 0 AS acked_rest;
SELECT count(*) AS audit_left FROM ssl_outbox_claim('audit');

----------------------------------------------------------------------------
-- 6. Consumers are independent; a new consumer starts from the beginning of
--    the outbox (every row not yet pruned), by subscribing or by its first claim.
----------------------------------------------------------------------------
SELECT count(*) AS outbox_rows FROM ssl_outbox;
SELECT ssl_outbox_subscribe('billing') = (SELECT count(*) FROM ssl_outbox) AS billing_gets_everything;
SELECT ssl_outbox_subscribe('billing') AS subscribe_again_reports_backlog;
SELECT count(*) = (SELECT count(*) FROM ssl_outbox) AS first_claim_gets_everything
  FROM ssl_outbox_claim('siem', 1000);
SELECT consumer, pending, oldest_pending IS NOT NULL AS has_oldest FROM ssl_outbox_backlog ORDER BY consumer;
INSERT INTO ssl_lifecycle_event (certificate_id, event_type) VALUES (:other_id, 'fan_out') RETURNING id AS fan_id \gset
SELECT consumer FROM ssl_outbox_delivery WHERE outbox_id = :fan_id ORDER BY consumer;

----------------------------------------------------------------------------
-- 7. Pruning keeps rows some consumer still has pending; unsubscribing drops
--    a consumer's queue.
----------------------------------------------------------------------------
SELECT try('SELECT ssl_outbox_prune(NULL)') AS prune_null, try('SELECT ssl_outbox_prune(''-1 day'')') AS prune_negative;
SELECT ssl_outbox_prune('1 day') AS pruned_nothing_recent;
SELECT ssl_outbox_ack('billing', ARRAY(SELECT id FROM ssl_outbox)) > 0 AS billing_acked;
SELECT ssl_outbox_prune('0') AS pruned_while_siem_pending;
SELECT ssl_outbox_unsubscribe('siem') > 0 AS siem_dropped, try('SELECT ssl_outbox_unsubscribe(''siem'')') AS unsubscribe_twice;
SELECT ssl_outbox_prune('0') = (SELECT count(*) FROM ssl_outbox WHERE id <> :fan_id) AS pruned_all_acked;
SELECT array_agg(id) = ARRAY[:fan_id]::bigint[] AS only_audit_pending_left FROM ssl_outbox;
SELECT ssl_outbox_ack('audit', ARRAY[:fan_id]::bigint[]) AS audit_acked, ssl_outbox_prune('0') AS pruned_last;
-- The history itself is untouched.
SELECT count(*) > 0 AS history_kept FROM ssl_lifecycle_event;
-- A consumer subscribing now starts from what is left: nothing.
SELECT ssl_outbox_subscribe('late') AS late_backlog;

----------------------------------------------------------------------------
-- 8. Privileges: readers see the outbox, operators consume (and since 1.5
--    unsubscribe) their own consumers, admins prune.
----------------------------------------------------------------------------
CREATE ROLE nbs_ob_reader IN ROLE netbox_ssl_reader;
CREATE ROLE nbs_ob_operator IN ROLE netbox_ssl_operator;
SET ROLE nbs_ob_reader;
SELECT count(*) >= 0 AS reader_sees_outbox FROM ssl_outbox;
SELECT try('SELECT * FROM ssl_outbox_claim(''r'')') AS reader_claims;
RESET ROLE;
SET ROLE nbs_ob_operator;
SELECT count(*) AS operator_claims FROM ssl_outbox_claim('ops');
SELECT ssl_outbox_ack('ops', '{}') AS operator_acks;
SELECT try('SELECT ssl_outbox_prune()') AS operator_prunes, try('SELECT ssl_outbox_unsubscribe(''ops'')') AS operator_unsubscribes;
SELECT try('INSERT INTO ssl_outbox (id, certificate_id, event_type, payload) VALUES (-1, 1, ''forged'', ''{}'')') AS operator_forges;
RESET ROLE;
DROP ROLE nbs_ob_reader, nbs_ob_operator;
DROP FUNCTION public.try(text);
