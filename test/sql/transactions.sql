-- Atomicity: ssl_renew and ssl_import live in the caller's transaction,
-- savepoint or trigger, never commit, and leave nothing half-done.
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS netbox_ssl CASCADE;
CREATE EXTENSION netbox_ssl;
RESET client_min_messages;
\set old `cat test/fixtures/janus-old.pem`
\set new `cat test/fixtures/janus-new.pem`
\set samekey `cat test/fixtures/janus-new-samekey.pem`

SELECT ssl_import(:'old') AS old_id \gset
INSERT INTO ssl_assignment (certificate_id, object_type, object_id)
SELECT :old_id, 'ipam.service', g FROM generate_series(1, 5) g;

-- A fingerprint of the whole inventory, to compare before and after.
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
        SELECT format('c%s:%s:%s', id, status, replaced_by) FROM ssl_certificate
        UNION ALL SELECT format('a%s:%s', id, certificate_id) FROM ssl_assignment
        UNION ALL SELECT format('e%s:%s:%s', id, certificate_id, event_type) FROM ssl_lifecycle_event) s(x)
$$;
SELECT pg_temp.state() AS before \gset

-- 1. Explicit ROLLBACK: no trace.
BEGIN;
SELECT ssl_renew(:old_id, :'new') IS NOT NULL AS renewed_inside;
SELECT status FROM ssl_certificate WHERE id = :old_id;
ROLLBACK;
SELECT pg_temp.state() = :'before' AS unchanged_after_rollback;
SELECT count(*) AS rows_for_new FROM ssl_certificate WHERE fingerprint_sha256 = (ssl_parse(:'new')).fingerprint_sha256;

-- 2. ROLLBACK TO SAVEPOINT: the renewal disappears, the outer work stays.
BEGIN;
INSERT INTO ssl_assignment (certificate_id, object_type, object_id) VALUES (:old_id, 'dcim.device', 42);
SAVEPOINT before_renew;
SELECT ssl_renew(:old_id, :'new') IS NOT NULL AS renewed_in_savepoint;
ROLLBACK TO SAVEPOINT before_renew;
SELECT status, (SELECT count(*) FROM ssl_assignment WHERE certificate_id = :old_id) AS assignments
  FROM ssl_certificate WHERE id = :old_id;
ROLLBACK;
SELECT pg_temp.state() = :'before' AS unchanged_after_savepoint;

-- 3. A failing later step in the same transaction undoes the renewal.
BEGIN;
SELECT ssl_renew(:old_id, :'new') IS NOT NULL AS renewed;
SELECT 1 / 0;
ROLLBACK;
SELECT pg_temp.state() = :'before' AS unchanged_after_failed_step;

-- 4. A failure inside ssl_renew after it has inserted and moved rows (here a
-- user trigger vetoes the activated event) leaves nothing behind.
CREATE FUNCTION veto_activation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event_type = 'activated' THEN
        RAISE EXCEPTION 'activation vetoed by policy';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER veto_activation BEFORE INSERT ON ssl_lifecycle_event FOR EACH ROW EXECUTE FUNCTION veto_activation();
SELECT ssl_renew(:old_id, :'new');
DROP TRIGGER veto_activation ON ssl_lifecycle_event;
SELECT pg_temp.state() = :'before' AS unchanged_after_failure_inside;

-- 5. A failing renewal inside a savepoint, caught by PL/pgSQL, then a retry.
DO $$
DECLARE
    old_id bigint := (SELECT min(id) FROM ssl_certificate);
BEGIN
    BEGIN
        PERFORM ssl_renew(old_id, 'not a certificate');
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE NOTICE 'caught %: %', SQLSTATE, SQLERRM;
    END;
END $$;
SELECT pg_temp.state() = :'before' AS unchanged_after_caught_error;

-- 6. Renewal from a trigger, as NetBox's database triggers would call it.
CREATE TABLE renewal_request (old_id bigint, pem text, new_id bigint);
CREATE FUNCTION renewal_request_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.new_id := ssl_renew(NEW.old_id, NEW.pem);
    RETURN NEW;
END $$;
CREATE TRIGGER renewal_request_apply BEFORE INSERT ON renewal_request
    FOR EACH ROW EXECUTE FUNCTION renewal_request_apply();
-- Rolled back with its trigger...
BEGIN;
INSERT INTO renewal_request (old_id, pem) VALUES (:old_id, :'new');
ROLLBACK;
SELECT pg_temp.state() = :'before' AS unchanged_after_trigger_rollback;
-- ...and committed.
INSERT INTO renewal_request (old_id, pem) VALUES (:old_id, :'new') RETURNING new_id IS NOT NULL AS renewed_by_trigger;
SELECT c.status, count(a.id) AS assignments
  FROM ssl_certificate c LEFT JOIN ssl_assignment a ON a.certificate_id = c.id
 GROUP BY c.id, c.status ORDER BY c.id;

-- 7. A failed renewal in a trigger aborts the triggering INSERT too.
INSERT INTO renewal_request (old_id, pem) VALUES (:old_id, :'samekey');
SELECT count(*) AS requests FROM renewal_request;

-- 8. Two renewals in one transaction chain correctly.
BEGIN;
SELECT ssl_renew((SELECT id FROM ssl_certificate WHERE status = 'active'), :'samekey') IS NOT NULL AS second_renewal;
SELECT count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = 'replaced') AS replaced
  FROM ssl_certificate;
COMMIT;
