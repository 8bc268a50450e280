-- Security items 2, 6 and 9 (docs/security.md): what an attack did on 1.4
-- must fail now.
--  2. NOTIFY carries ids and the event type only (any role can LISTEN).
--  6. Outbox consumers belong to the role that subscribed them: other
--     operators get 42501 on claim, ack, unsubscribe and subscribe; a
--     non-admin role owns at most 8 consumers (54000 beyond).
--  9. ssl_expiry_scan takes at most 32 thresholds (22023 beyond).
-- (That subscribing blocks no writer is the isolation test outbox_subscribe.)
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
DROP ROLE IF EXISTS nbs_so_alice, nbs_so_alice_worker, nbs_so_bob, nbs_so_admin, nbs_so_nobody;
DROP FUNCTION IF EXISTS public.try(text);
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`

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

CREATE ROLE nbs_so_alice IN ROLE netbox_ssl_operator;
CREATE ROLE nbs_so_alice_worker IN ROLE nbs_so_alice;
CREATE ROLE nbs_so_bob IN ROLE netbox_ssl_operator;
CREATE ROLE nbs_so_admin IN ROLE netbox_ssl_admin;
CREATE ROLE nbs_so_nobody;
SELECT ssl_import(:'old') AS cert_id \gset

----------------------------------------------------------------------------
-- 2. The notification: ids and type, no common name, actor or statuses.
--    (psql prints the notification with the backend's PID, masked here.)
----------------------------------------------------------------------------
LISTEN ssl_lifecycle;
\o /tmp/netbox_ssl_sec_outbox_notify.txt
SET netbox_ssl.actor = 'secret-actor';
INSERT INTO ssl_lifecycle_event (certificate_id, event_type, old_status, new_status)
VALUES (:cert_id, 'note', 'active', 'active') RETURNING id AS note_id \gset
RESET netbox_ssl.actor;
\o
\! sed -e 's/PID [0-9]*/PID N/' -e 's/"id": [0-9]*/"id": ID/' -e 's/"certificate_id": [0-9]*/"certificate_id": CID/' /tmp/netbox_ssl_sec_outbox_notify.txt; rm -f /tmp/netbox_ssl_sec_outbox_notify.txt
UNLISTEN ssl_lifecycle;
-- The outbox row, readable by netbox_ssl_reader only, keeps the full payload.
SELECT payload->>'actor' = current_user AS outbox_actor_is_role, payload->>'on_behalf_of' AS outbox_on_behalf_of, payload->>'common_name' AS outbox_common_name
  FROM ssl_outbox WHERE id = :note_id;

----------------------------------------------------------------------------
-- 6. Ownership: alice's consumer is hers (and her members'), and admins'.
----------------------------------------------------------------------------
SET ROLE nbs_so_alice;
SELECT ssl_outbox_subscribe('alerts-pager') AS alice_pending;
RESET ROLE;
SELECT consumer, owner, pending FROM ssl_outbox_backlog ORDER BY consumer;
-- bob, by SET ROLE: every entry point refuses, nothing is deleted.
SET ROLE nbs_so_bob;
SELECT try('SELECT * FROM ssl_outbox_claim(''alerts-pager'')') AS bob_claims;
SELECT try('SELECT ssl_outbox_ack(''alerts-pager'', ARRAY(SELECT id FROM ssl_outbox))') AS bob_acks;
SELECT try('SELECT ssl_outbox_unsubscribe(''alerts-pager'')') AS bob_unsubscribes;
SELECT try('SELECT ssl_outbox_subscribe(''alerts-pager'')') AS bob_subscribes;
RESET ROLE;
-- bob, by SET SESSION AUTHORIZATION (session_user), the same.
SET SESSION AUTHORIZATION nbs_so_bob;
SELECT try('SELECT ssl_outbox_ack(''alerts-pager'', ARRAY(SELECT id FROM ssl_outbox))') AS bob_session_acks;
RESET SESSION AUTHORIZATION;
-- SET ROLE inside a session of another role: the role that counts is the
-- one in effect when calling (ssl_caller()), not session_user.
SET SESSION AUTHORIZATION nbs_so_bob;
SELECT try('SET ROLE nbs_so_alice') AS bob_cannot_become_alice;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION nbs_so_alice_worker;
SET ROLE nbs_so_alice;
SELECT count(*) AS alice_role_claims FROM ssl_outbox_claim('alerts-pager');
RESET ROLE;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS still_pending FROM ssl_outbox_delivery WHERE consumer = 'alerts-pager';
-- A member of alice acts for alice.
SET ROLE nbs_so_alice_worker;
SELECT ssl_outbox_ack('alerts-pager', ARRAY(SELECT id FROM ssl_outbox_claim('alerts-pager', 1))) AS member_acks;
RESET ROLE;
-- A role without the operator grant cannot call at all.
SET ROLE nbs_so_nobody;
SELECT try('SELECT * FROM ssl_outbox_claim(''alerts-pager'')') AS nobody_claims;
RESET ROLE;
-- Administrators may use any consumer, and hand consumers over; owner NULL
-- (consumers that existed before 1.5) is administrators only.
SET ROLE nbs_so_admin;
SELECT count(*) AS admin_claims FROM ssl_outbox_claim('alerts-pager');
SELECT ssl_outbox_set_owner('alerts-pager', NULL);
RESET ROLE;
SET ROLE nbs_so_alice;
SELECT try('SELECT * FROM ssl_outbox_claim(''alerts-pager'')') AS alice_after_handover_to_admins;
SELECT try('SELECT ssl_outbox_set_owner(''alerts-pager'', ''nbs_so_alice'')') AS alice_sets_owner;
RESET ROLE;
SET ROLE nbs_so_admin;
SELECT ssl_outbox_set_owner('alerts-pager', 'nbs_so_bob');
RESET ROLE;
SET ROLE nbs_so_bob;
SELECT ssl_outbox_unsubscribe('alerts-pager') >= 0 AS bob_unsubscribes_his_own;
RESET ROLE;
-- The first claim of an unknown name subscribes it for the caller.
SET ROLE nbs_so_bob;
SELECT count(*) >= 0 AS bob_claims_new FROM ssl_outbox_claim('bob-first-claim');
RESET ROLE;
SELECT owner FROM ssl_outbox_consumer WHERE name = 'bob-first-claim';

-- The per-role limit: 8 consumers for a non-admin role, 54000 beyond;
-- unsubscribing frees a slot; administrators are not limited.
SET ROLE nbs_so_alice;
SELECT count(ssl_outbox_subscribe('alice-' || i)) AS alice_subscribed FROM generate_series(1, 8) i;
SELECT try('SELECT ssl_outbox_subscribe(''alice-9'')') AS alice_ninth;
SELECT try('SELECT * FROM ssl_outbox_claim(''alice-9'')') AS alice_ninth_by_claim;
SELECT ssl_outbox_unsubscribe('alice-8') >= 0 AS alice_frees_one;
SELECT ssl_outbox_subscribe('alice-9') >= 0 AS alice_ninth_after_freeing;
RESET ROLE;
SET ROLE nbs_so_admin;
SELECT count(ssl_outbox_subscribe('admin-' || i)) AS admin_subscribed FROM generate_series(1, 12) i;
RESET ROLE;
SELECT owner::text, count(*) FROM ssl_outbox_consumer GROUP BY 1 ORDER BY 1;

----------------------------------------------------------------------------
-- 9. At most 32 expiry thresholds.
----------------------------------------------------------------------------
SELECT try('SELECT * FROM ssl_expiry_scan(ARRAY(SELECT generate_series(1, 36500)))') AS thresholds_36500;
SELECT try('SELECT * FROM ssl_expiry_scan(ARRAY(SELECT generate_series(1, 33)))') AS thresholds_33;
SELECT try('SELECT * FROM ssl_expiry_scan(array_fill(7, ARRAY[33]))') AS duplicates_33;
SELECT try('SELECT * FROM ssl_expiry_scan(ARRAY(SELECT generate_series(1, 32)))') AS thresholds_32;
SELECT try('SELECT * FROM ssl_expiry_scan(''{0}'')') AS threshold_zero,
       try('SELECT * FROM ssl_expiry_scan(''{-5}'')') AS threshold_negative,
       try('SELECT * FROM ssl_expiry_scan(''{36501}'')') AS threshold_absurd;
SELECT count(*) <= 32 AS alert_rows_bounded FROM ssl_expiry_alert;

DROP EXTENSION netbox_ssl CASCADE;
DROP ROLE nbs_so_alice_worker, nbs_so_alice, nbs_so_bob, nbs_so_admin, nbs_so_nobody;
DROP FUNCTION public.try(text);
