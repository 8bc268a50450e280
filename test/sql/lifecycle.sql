-- The enforced lifecycle (1.1): state machine, one event per status change,
-- refresh, expiry view, revert, assignment history, append-only history,
-- purge and auto-archive.
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set samekey `cat test/fixtures/janus-new-samekey.pem`
\set other `cat test/fixtures/other-cn.pem`
\set expired `cat test/fixtures/expired.pem`
\set expired2 `cat test/fixtures/expired-renewal.pem`
\set pending `cat test/fixtures/pending.pem`
-- Certificates whose validity is relative to now, made for this run.
\set gone `test/fixtures/mkcert.sh gone.example.com '-30 days' '-1 hour'`
\set today `test/fixtures/mkcert.sh today.example.com '-30 days' '+5 hours'`
\set soon `test/fixtures/mkcert.sh soon.example.com '-30 days' '+20 days'`
\set later `test/fixtures/mkcert.sh later.example.com '-30 days' '+60 days'`
\set starting `test/fixtures/mkcert.sh starting.example.com '-1 hour' '+90 days'`

CREATE TEMP TABLE pems (name text PRIMARY KEY, pem text);
INSERT INTO pems VALUES ('old', :'old'), ('new', :'new'), ('samekey', :'samekey'), ('other', :'other'),
    ('expired', :'expired'), ('expired2', :'expired2'), ('pending', :'pending'), ('gone', :'gone'),
    ('today', :'today'), ('soon', :'soon'), ('later', :'later'), ('starting', :'starting');

-- Stores a certificate with a given status directly (as a migration or a
-- NetBox sync might), bypassing ssl_import's status rule.
CREATE FUNCTION pg_temp.make(pem_name text, status text, replaced_by bigint DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from,
        valid_to, sans, algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id,
        spki_sha256, pem_content, issuer_chain, status, replaced_by)
    SELECT p.common_name, p.subject, p.issuer, p.serial_number, p.fingerprint_sha256, p.valid_from,
        p.valid_to, p.sans, p.algorithm, p.key_size, p.signature_algorithm, p.is_ca, p.subject_key_id,
        p.authority_key_id, p.spki_sha256, p.pem_content, p.issuer_chain, make.status, make.replaced_by
      FROM pems, ssl_parse(pems.pem) p WHERE pems.name = pem_name
    RETURNING id
$$;

-- Runs one statement and reports SQLSTATE and message.
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

----------------------------------------------------------------------------
-- 1. Every transition by plain UPDATE: allowed ones log exactly one event,
--    refused ones fail with 55000 naming both statuses. Each case runs on
--    fresh rows and is rolled back.
----------------------------------------------------------------------------
CREATE FUNCTION pg_temp.transition(from_status text, to_status text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    cid bigint; successor bigint; outcome text;
BEGIN
    BEGIN
        IF from_status = 'replaced' THEN
            successor := pg_temp.make('new', 'active');
        END IF;
        cid := pg_temp.make('old', from_status, successor);
        BEGIN
            IF to_status = 'replaced' THEN
                UPDATE ssl_certificate SET status = to_status, replaced_by = pg_temp.make('samekey', 'active') WHERE id = cid;
            ELSE
                UPDATE ssl_certificate SET status = to_status WHERE id = cid;
            END IF;
            SELECT 'allowed; events: ' || string_agg(format('%s (%s -> %s)', event_type, old_status, new_status), ', ' ORDER BY id)
              INTO outcome FROM ssl_lifecycle_event WHERE certificate_id = cid;
        EXCEPTION WHEN OTHERS THEN
            outcome := SQLSTATE || ': ' || SQLERRM;
        END;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        RETURN outcome;
    END;
END $$;
SELECT f AS from_status, t AS to_status, pg_temp.transition(f, t) AS outcome
  FROM unnest('{pending,active,expired,replaced,revoked,archived}'::text[]) WITH ORDINALITY AS a(f, i),
       unnest('{pending,active,expired,replaced,revoked,archived}'::text[]) WITH ORDINALITY AS b(t, j)
 WHERE f <> t ORDER BY i, j;

-- replaced_by changes only with the status; becoming replaced needs it.
SELECT pg_temp.make('old', 'active') AS a1 \gset
SELECT pg_temp.make('new', 'active') AS a2 \gset
SELECT pg_temp.try(format('UPDATE ssl_certificate SET status = %L WHERE id = %s', 'replaced', :a1)) AS replaced_without_successor;
SELECT pg_temp.try(format('UPDATE ssl_certificate SET replaced_by = %s WHERE id = %s', :a2, :a1)) AS successor_without_status;
-- A replaced certificate cannot simply be put back while its successor is in service.
SELECT ssl_renew(:a1, :'samekey') AS a3 \gset
SELECT pg_temp.try(format('UPDATE ssl_certificate SET status = %L WHERE id = %s', 'active', :a1)) AS unreplace_by_hand;
-- Archiving a replaced certificate clears replaced_by and keeps the link in the event.
UPDATE ssl_certificate SET status = 'archived' WHERE id = :a1;
SELECT status, replaced_by FROM ssl_certificate WHERE id = :a1;
SELECT event_type, old_status, new_status, related_certificate_id = :a3 AS links_successor
  FROM ssl_lifecycle_event WHERE certificate_id = :a1 ORDER BY id;
-- ssl_renew logs its renewed event once, not also a status_changed.
SELECT count(*) AS events_for_renewal FROM ssl_lifecycle_event
 WHERE certificate_id = :a1 AND old_status = 'active' AND new_status = 'replaced';

----------------------------------------------------------------------------
-- 2. ssl_refresh_status
----------------------------------------------------------------------------
SET client_min_messages = warning;
DROP EXTENSION netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
SELECT pg_temp.make('gone', 'active') AS gone \gset
SELECT pg_temp.make('expired2', 'pending') AS pending_but_over \gset
SELECT pg_temp.make('starting', 'pending') AS starting \gset
SELECT pg_temp.make('pending', 'pending') AS still_pending \gset
SELECT pg_temp.make('later', 'active') AS fine \gset
SELECT ssl_refresh_status() AS changed;
SELECT common_name, status FROM ssl_certificate ORDER BY id;
SELECT c.common_name, e.event_type, e.old_status, e.new_status
  FROM ssl_lifecycle_event e JOIN ssl_certificate c ON c.id = e.certificate_id ORDER BY e.id;
SELECT ssl_refresh_status() AS changed_again;

----------------------------------------------------------------------------
-- 3. Expiry view and ssl_expiring
----------------------------------------------------------------------------
SELECT pg_temp.make('today', 'active') AS today \gset
SELECT pg_temp.make('soon', 'active') AS soon \gset
SELECT pg_temp.make('expired', 'active') AS not_refreshed \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
VALUES (:today, 'ipam.service', 1), (:today, 'dcim.device', 2), (:soon, 'ipam.service', 3);
-- (days_remaining is shown for the certificates made for this run only:
-- the fixed fixtures' values change every day.)
SELECT common_name, status, effective_status, expiry_status,
       CASE WHEN abs(days_remaining) < 1000 THEN days_remaining END AS days_remaining, assignment_count
  FROM ssl_certificate_expiry ORDER BY valid_to, id;
-- The thresholds are settings.
SET netbox_ssl.expiry_critical_days = 30;
SET netbox_ssl.expiry_warning_days = 90;
SELECT common_name, expiry_status FROM ssl_certificate_expiry WHERE common_name IN ('soon.example.com', 'later.example.com') ORDER BY 1;
RESET netbox_ssl.expiry_critical_days;
RESET netbox_ssl.expiry_warning_days;
SELECT common_name, CASE WHEN abs(days_remaining) < 1000 THEN days_remaining END AS days_remaining,
       expiry_status, assignments
  FROM ssl_expiring();
SELECT common_name FROM ssl_expiring('1 day');
SELECT count(*) AS within_a_year FROM ssl_expiring('365 days');

----------------------------------------------------------------------------
-- 4. Revert
----------------------------------------------------------------------------
SET client_min_messages = warning;
DROP EXTENSION netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
SELECT ssl_import(:'old') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
VALUES (:old_id, 'ipam.service', 1), (:old_id, 'ipam.service', 2), (:old_id, 'dcim.device', 3);
SELECT ssl_renew(:old_id, :'new') AS new_id \gset
-- The tutorial's "I want to revert a renewal", in one call.
SELECT ssl_revert_renewal(:new_id) = :old_id AS reverted_to_old;
SELECT id, status, replaced_by, (SELECT count(*) FROM ssl_assignment a WHERE a.certificate_id = c.id) AS assignments
  FROM ssl_certificate c ORDER BY id;
SELECT id, certificate_id = :old_id AS back_on_old FROM ssl_assignment ORDER BY id;
SELECT certificate_id = :old_id AS on_old, event_type, old_status, new_status,
       related_certificate_id = CASE WHEN certificate_id = :old_id THEN :new_id ELSE :old_id END AS linked
  FROM ssl_lifecycle_event WHERE event_type = 'renewal_reverted' ORDER BY id;
-- Exactly two events for the revert, none per assignment.
SELECT event_type, count(*) FROM ssl_lifecycle_event GROUP BY event_type ORDER BY event_type;

-- Refusals.
SELECT pg_temp.try(format('SELECT ssl_revert_renewal(%s)', :new_id)) AS already_reverted;
SELECT pg_temp.try(format('SELECT ssl_revert_renewal(%s)', :old_id)) AS never_a_renewal;
SELECT pg_temp.try('SELECT ssl_revert_renewal(424242)') AS missing;
SELECT ssl_renew(:old_id, :'samekey') AS second_id \gset
SELECT ssl_import(:'other') AS spare \gset
SELECT ssl_import(:'expired') AS expired_id \gset
-- Renewed again since: the error names the later renewal.
\set third `test/fixtures/mkcert.sh www.example.com '-1 day' '+300 days'`
SELECT ssl_renew(:second_id, :'third') AS third_id \gset
SELECT pg_temp.try(format('SELECT ssl_revert_renewal(%s)', :second_id)) AS renewed_since;
-- Assignments changed since the renewal: the error reports which.
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:third_id, 'ipam.service', 9);
DELETE FROM ssl_assignment WHERE certificate_id = :third_id AND object_id = 1;
SELECT pg_temp.try(format('SELECT ssl_revert_renewal(%s)', :third_id)) AS assignments_changed;
-- Putting things back does not help: the history is what counts.
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:third_id, 'ipam.service', 1);
DELETE FROM ssl_assignment WHERE certificate_id = :third_id AND object_id = 9;
SELECT pg_temp.try(format('SELECT ssl_revert_renewal(%s)', :third_id)) AS still_refused;

----------------------------------------------------------------------------
-- 5. Assignment history and allowed targets
----------------------------------------------------------------------------
SELECT event_type, object_type, object_id, description
  FROM ssl_lifecycle_event WHERE event_type LIKE 'assignment%' ORDER BY id;
-- The renewal's move logged no assignment events.
SELECT count(*) AS assignment_events_on_second FROM ssl_lifecycle_event
 WHERE certificate_id = :second_id AND event_type LIKE 'assignment%';
-- Replaced, revoked and archived certificates take no assignments.
SELECT pg_temp.try(format('INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (%s, %L, 5)', :old_id, 'x')) AS to_replaced;
SELECT pg_temp.try(format('INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (%s, %L, 5)', :new_id, 'x')) AS to_revoked;
UPDATE ssl_certificate SET status = 'archived' WHERE id = :new_id;
SELECT pg_temp.try(format('INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (%s, %L, 5)', :new_id, 'x')) AS to_archived;

----------------------------------------------------------------------------
-- 6. History is append-only; certificates with history are purged, not deleted
----------------------------------------------------------------------------
SELECT pg_temp.try('UPDATE ssl_lifecycle_event SET description = ''edited'' WHERE id = 1') AS update_event;
SELECT pg_temp.try('DELETE FROM ssl_lifecycle_event WHERE id = 1') AS delete_event;
SELECT pg_temp.try(format('DELETE FROM ssl_certificate WHERE id = %s', :spare)) AS delete_certificate;
-- Purge: administrators only.
CREATE ROLE netbox_ssl_regress_user;
GRANT USAGE ON SCHEMA public TO netbox_ssl_regress_user;
SET ROLE netbox_ssl_regress_user;
SELECT pg_temp.try(format('SELECT ssl_purge_certificate(%s)', :spare)) AS purge_as_ordinary_role;
RESET ROLE;
DROP OWNED BY netbox_ssl_regress_user;
DROP ROLE netbox_ssl_regress_user;
SELECT pg_temp.try(format('SELECT ssl_purge_certificate(%s)', :third_id)) AS purge_with_assignments;
SELECT pg_temp.try(format('SELECT ssl_purge_certificate(%s)', :second_id)) AS purge_a_successor;
SELECT ssl_purge_certificate(:spare) AS events_removed;
SELECT count(*) AS left FROM ssl_certificate WHERE id = :spare;
-- Purging the oldest certificate of a chain unlinks the events that named it.
SELECT ssl_purge_certificate(:new_id) AS events_removed_revoked;
SELECT ssl_purge_certificate(:old_id) AS events_removed_oldest;
SELECT event_type, related_certificate_id FROM ssl_lifecycle_event
 WHERE certificate_id = :second_id ORDER BY id;

----------------------------------------------------------------------------
-- 7. Auto-archive
----------------------------------------------------------------------------
SELECT pg_temp.make('expired2', 'expired') AS old_expired \gset
UPDATE ssl_certificate SET archive_pinned = true WHERE id = :expired_id;
SELECT ssl_auto_archive() AS archived;
SELECT common_name, status, archive_pinned FROM ssl_certificate WHERE status IN ('expired', 'archived') ORDER BY id;
SELECT event_type, old_status, new_status FROM ssl_lifecycle_event WHERE certificate_id = :old_expired ORDER BY id;
SELECT ssl_auto_archive('1000 years') AS archived_none;
SELECT ssl_auto_archive() AS archived_again;
