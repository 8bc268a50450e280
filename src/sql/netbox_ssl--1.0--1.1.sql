-- netbox_ssl 1.0 -> 1.1: the enforced lifecycle.
-- Status state machine with an event for every change, ssl_refresh_status,
-- the expiry view and ssl_expiring, ssl_revert_renewal, assignment history,
-- append-only history with an admin purge, and ssl_auto_archive.

\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.1'" to load this file. \quit

--------------------------------------------------------------------------
-- New columns and indexes
--------------------------------------------------------------------------

ALTER TABLE @extschema@.ssl_certificate ADD COLUMN archive_pinned boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN @extschema@.ssl_certificate.archive_pinned IS
    'When true, ssl_auto_archive leaves the certificate alone.';

ALTER TABLE @extschema@.ssl_lifecycle_event ADD COLUMN object_type text, ADD COLUMN object_id bigint;
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.object_type IS
    'For assignment_added / assignment_removed: the object''s type.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.object_id IS
    'For assignment_added / assignment_removed: the object''s id.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.event_type IS
    'imported, renewed, activated, status_changed, expired, revoked, archived, renewal_reverted, assignment_added, assignment_removed; later versions may add more (lower-case words).';

CREATE INDEX ssl_certificate_pending_idx ON @extschema@.ssl_certificate (valid_from) WHERE status = 'pending';
COMMENT ON INDEX @extschema@.ssl_certificate_pending_idx IS
    'Keeps ssl_refresh_status cheap: pending certificates by start of validity.';

--------------------------------------------------------------------------
-- The status state machine
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_certificate_status_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    successor_status text;
    allowed boolean;
BEGIN
    IF NEW.status = OLD.status THEN
        IF NEW.replaced_by IS DISTINCT FROM OLD.replaced_by THEN
            RAISE EXCEPTION 'certificate %''s replaced_by can only change with its status', OLD.id
                USING ERRCODE = '55000',
                      HINT = 'Renewals set it (ssl_renew); ssl_revert_renewal clears it.';
        END IF;
        RETURN NEW;
    END IF;
    allowed := CASE OLD.status
                   WHEN 'pending'  THEN NEW.status IN ('active', 'expired', 'revoked')
                   WHEN 'active'   THEN NEW.status IN ('expired', 'replaced', 'revoked')
                   WHEN 'expired'  THEN NEW.status IN ('replaced', 'revoked', 'archived')
                   WHEN 'replaced' THEN NEW.status IN ('archived', 'active', 'expired')
                   WHEN 'revoked'  THEN NEW.status IN ('archived')
                   ELSE false
               END;
    IF NOT allowed THEN
        RAISE EXCEPTION 'certificate % cannot change status from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = '55000',
                  HINT = 'Allowed: pending to active, expired or revoked; active to expired, replaced or revoked; expired to replaced, revoked or archived; replaced to archived (or back, through ssl_revert_renewal); revoked to archived.';
    END IF;
    IF NEW.status = 'replaced' AND NEW.replaced_by IS NULL THEN
        RAISE EXCEPTION 'certificate % can only become replaced with replaced_by set to its successor', OLD.id
            USING ERRCODE = '55000', HINT = 'Use ssl_renew(), which sets both.';
    END IF;
    IF OLD.status = 'replaced' THEN
        IF NEW.status IN ('active', 'expired') THEN
            -- Undoing a renewal: only once the successor has been taken out.
            SELECT c.status INTO successor_status FROM @extschema@.ssl_certificate c WHERE c.id = OLD.replaced_by;
            IF successor_status IS DISTINCT FROM 'revoked' THEN
                RAISE EXCEPTION 'certificate % was replaced by certificate %, which is still %', OLD.id, OLD.replaced_by, successor_status
                    USING ERRCODE = '55000',
                          HINT = format('Undo the renewal with ssl_revert_renewal(%s).', OLD.replaced_by);
            END IF;
        END IF;
        NEW.replaced_by := NULL;  -- set exactly while replaced
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_status_guard() IS
    'Trigger function: enforces the status state machine (55000 naming both statuses) and keeps replaced_by set exactly while a certificate is replaced.';
CREATE TRIGGER ssl_certificate_status_guard BEFORE UPDATE OF status, replaced_by ON @extschema@.ssl_certificate
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_certificate_status_guard();
COMMENT ON TRIGGER ssl_certificate_status_guard ON @extschema@.ssl_certificate IS
    'Plain UPDATEs obey the lifecycle too.';

-- One event per status change, however it was made. The extension's own
-- functions log a richer event (renewed, renewal_reverted) for the changes
-- they make, before making them; a change that already has its event in
-- this transaction is not logged twice.
CREATE FUNCTION @extschema@.ssl_certificate_status_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.status = OLD.status OR EXISTS (
        SELECT 1 FROM @extschema@.ssl_lifecycle_event e
         WHERE e.certificate_id = NEW.id AND e.occurred_at = now()
           AND e.old_status = OLD.status AND e.new_status = NEW.status) THEN
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@.ssl_lifecycle_event
        (certificate_id, event_type, old_status, new_status, related_certificate_id, description)
    VALUES (NEW.id,
            CASE WHEN NEW.status IN ('expired', 'revoked', 'archived') THEN NEW.status ELSE 'status_changed' END,
            OLD.status, NEW.status,
            coalesce(NEW.replaced_by, OLD.replaced_by),
            format('Status changed from %s to %s', OLD.status, NEW.status));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_status_event() IS
    'Trigger function: logs expired, revoked, archived or status_changed for every status change.';
CREATE TRIGGER ssl_certificate_status_event AFTER UPDATE OF status ON @extschema@.ssl_certificate
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_certificate_status_event();
COMMENT ON TRIGGER ssl_certificate_status_event ON @extschema@.ssl_certificate IS
    'Every status change leaves exactly one lifecycle event.';

--------------------------------------------------------------------------
-- Refresh, expiry view, ssl_expiring
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_refresh_status() RETURNS integer
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH expired AS (
        UPDATE @extschema@.ssl_certificate SET status = 'expired'
         WHERE status IN ('active', 'pending') AND valid_to < now()
        RETURNING 1
    ), started AS (
        UPDATE @extschema@.ssl_certificate SET status = 'active'
         WHERE status = 'pending' AND valid_from <= now() AND valid_to >= now()
        RETURNING 1
    )
    SELECT ((SELECT count(*) FROM expired) + (SELECT count(*) FROM started))::integer
$$;
COMMENT ON FUNCTION @extschema@.ssl_refresh_status() IS
    'Moves active (and pending) certificates past valid_to to expired, and pending ones whose valid_from has come to active; logs the events; returns how many changed. Safe to run concurrently with imports and renewals; index-only work when nothing changed.';

CREATE VIEW @extschema@.ssl_certificate_expiry AS
SELECT c.id,
       c.common_name,
       c.status,
       CASE
           WHEN c.status IN ('active', 'pending') AND c.valid_to < now() THEN 'expired'
           WHEN c.status = 'pending' AND c.valid_from <= now() THEN 'active'
           ELSE c.status
       END AS effective_status,
       c.valid_from,
       c.valid_to,
       floor(extract(epoch FROM c.valid_to - now()) / 86400)::integer AS days_remaining,
       CASE
           WHEN c.valid_to < now() THEN 'expired'
           WHEN c.valid_to < now() + make_interval(days =>
                coalesce(nullif(current_setting('netbox_ssl.expiry_critical_days', true), '')::integer, 14))
               THEN 'critical'
           WHEN c.valid_to < now() + make_interval(days =>
                coalesce(nullif(current_setting('netbox_ssl.expiry_warning_days', true), '')::integer, 30))
               THEN 'warning'
           ELSE 'ok'
       END AS expiry_status,
       (SELECT count(*) FROM @extschema@.ssl_assignment a WHERE a.certificate_id = c.id) AS assignment_count,
       c.tenant,
       c.issuer,
       c.fingerprint_sha256
  FROM @extschema@.ssl_certificate c;
COMMENT ON VIEW @extschema@.ssl_certificate_expiry IS
    'Every certificate with days_remaining, expiry_status (expired, critical, warning, ok; thresholds netbox_ssl.expiry_critical_days and netbox_ssl.expiry_warning_days), assignment_count and effective_status (expired once valid_to has passed, even before ssl_refresh_status runs).';

CREATE FUNCTION @extschema@.ssl_expiring(within interval DEFAULT '30 days')
    RETURNS TABLE (id bigint, common_name text, valid_to timestamptz, days_remaining integer,
                   expiry_status text, tenant text, assignments jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.id, e.common_name, e.valid_to, e.days_remaining, e.expiry_status, e.tenant,
           coalesce((SELECT jsonb_agg(jsonb_build_object('object_type', a.object_type, 'object_id', a.object_id,
                                                         'is_primary', a.is_primary)
                                      ORDER BY a.object_type, a.object_id)
                       FROM @extschema@.ssl_assignment a WHERE a.certificate_id = e.id), '[]'::jsonb)
      FROM @extschema@.ssl_certificate_expiry e
     WHERE e.status = 'active' AND e.valid_to < now() + within
     ORDER BY e.valid_to, e.id
$$;
COMMENT ON FUNCTION @extschema@.ssl_expiring(interval) IS
    'Active certificates whose valid_to falls before now() + within (including any already past it but not yet refreshed), soonest first, each with its assignments as a JSON array.';

--------------------------------------------------------------------------
-- Assignments: allowed targets and history
--------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_assignment_check_target() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad_id bigint;
    bad_status text;
    successor bigint;
    next_id bigint;
BEGIN
    SELECT c.id, c.status, c.replaced_by INTO bad_id, bad_status, successor
      FROM (SELECT DISTINCT certificate_id FROM new_rows) w
      JOIN @extschema@.ssl_certificate c ON c.id = w.certificate_id
     WHERE c.status IN ('replaced', 'revoked', 'archived')
     ORDER BY c.id LIMIT 1;
    IF bad_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF bad_status <> 'replaced' THEN
        RAISE EXCEPTION 'certificate % is %, so assignments cannot be added to it', bad_id, bad_status
            USING ERRCODE = '55000';
    END IF;
    FOR hop IN 1..1000 LOOP
        SELECT c.replaced_by INTO next_id FROM @extschema@.ssl_certificate c
         WHERE c.id = successor AND c.status = 'replaced';
        EXIT WHEN next_id IS NULL;
        successor := next_id;
    END LOOP;
    RAISE EXCEPTION 'certificate % was replaced, so assignments cannot be added to it', bad_id
        USING ERRCODE = '55000',
              HINT = format('Assign certificate %s, which replaced it.', successor);
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_assignment_check_target() IS
    'Trigger function: refuses assignments written for a replaced, revoked or archived certificate (for a replaced one, naming the certificate that replaced it).';

CREATE FUNCTION @extschema@.ssl_assignment_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO @extschema@.ssl_lifecycle_event (certificate_id, event_type, object_type, object_id, description)
        SELECT n.certificate_id, 'assignment_added', n.object_type, n.object_id,
               format('Assigned to %s %s', n.object_type, n.object_id)
          FROM new_rows n ORDER BY n.id;
    ELSE
        INSERT INTO @extschema@.ssl_lifecycle_event (certificate_id, event_type, object_type, object_id, description)
        SELECT o.certificate_id, 'assignment_removed', o.object_type, o.object_id,
               format('Unassigned from %s %s', o.object_type, o.object_id)
          FROM old_rows o ORDER BY o.id;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_assignment_history() IS
    'Trigger function: logs assignment_added and assignment_removed, set-based. Moves by ssl_renew and ssl_revert_renewal are updates and log only their renewal events.';
CREATE TRIGGER ssl_assignment_history_insert AFTER INSERT ON @extschema@.ssl_assignment
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_assignment_history();
CREATE TRIGGER ssl_assignment_history_delete AFTER DELETE ON @extschema@.ssl_assignment
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_assignment_history();
COMMENT ON TRIGGER ssl_assignment_history_insert ON @extschema@.ssl_assignment IS
    'Logs assignment_added on the certificate, naming the object.';
COMMENT ON TRIGGER ssl_assignment_history_delete ON @extschema@.ssl_assignment IS
    'Logs assignment_removed on the certificate, naming the object.';

--------------------------------------------------------------------------
-- Revert
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_revert_renewal(new_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    successor @extschema@.ssl_certificate;
    predecessor @extschema@.ssl_certificate;
    renewal_event bigint;
    previous_status text;
    changes text;
    moved bigint;
BEGIN
    IF new_id IS NULL THEN
        RAISE EXCEPTION 'new_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- Lock order: successor, then predecessor (as ssl_renew of the successor would).
    SELECT * INTO successor FROM @extschema@.ssl_certificate c WHERE c.id = new_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', new_id USING ERRCODE = 'P0002';
    END IF;
    IF successor.status = 'replaced' THEN
        RAISE EXCEPTION 'certificate % has been renewed since, by certificate %; revert that renewal first', new_id, successor.replaced_by
            USING ERRCODE = '55000', HINT = format('SELECT ssl_revert_renewal(%s);', successor.replaced_by);
    END IF;
    SELECT * INTO predecessor FROM @extschema@.ssl_certificate c WHERE c.replaced_by = new_id FOR UPDATE;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM @extschema@.ssl_lifecycle_event e
                    WHERE e.certificate_id = new_id AND e.event_type = 'renewal_reverted'
                      AND e.new_status = 'revoked') THEN
            RAISE EXCEPTION 'the renewal that produced certificate % has already been reverted', new_id
                USING ERRCODE = '55000';
        END IF;
        RAISE EXCEPTION 'certificate % was never a renewal of another certificate, so there is nothing to revert', new_id
            USING ERRCODE = '55000';
    END IF;
    IF successor.status NOT IN ('active', 'expired') THEN
        RAISE EXCEPTION 'certificate % is %; only an active or expired renewal can be reverted', new_id, successor.status
            USING ERRCODE = '55000';
    END IF;

    SELECT e.id, e.old_status INTO renewal_event, previous_status
      FROM @extschema@.ssl_lifecycle_event e
     WHERE e.certificate_id = predecessor.id AND e.event_type = 'renewed' AND e.related_certificate_id = new_id
     ORDER BY e.id DESC LIMIT 1;
    SELECT string_agg(format('%s %s %s',
                             CASE e.event_type WHEN 'assignment_added' THEN 'added' ELSE 'removed' END,
                             e.object_type, e.object_id), ', ' ORDER BY e.id)
      INTO changes
      FROM @extschema@.ssl_lifecycle_event e
     WHERE e.certificate_id = new_id AND e.event_type IN ('assignment_added', 'assignment_removed')
       AND e.id > coalesce(renewal_event, 0);
    IF changes IS NOT NULL THEN
        RAISE EXCEPTION 'assignments of certificate % changed since the renewal (%), so it cannot be reverted automatically', new_id, changes
            USING ERRCODE = '55000',
                  HINT = 'Undo those assignment changes first, or move the assignments and statuses by hand.';
    END IF;
    previous_status := coalesce(previous_status, 'active');

    SELECT count(*) INTO moved FROM @extschema@.ssl_assignment a WHERE a.certificate_id = new_id;
    -- The events first: the status trigger then sees these changes as logged.
    INSERT INTO @extschema@.ssl_lifecycle_event
        (certificate_id, event_type, old_status, new_status, related_certificate_id, description)
    VALUES (new_id, 'renewal_reverted', successor.status, 'revoked', predecessor.id,
            format('Renewal reverted: certificate %s is back in service; %s assignment(s) moved back to it', predecessor.id, moved)),
           (predecessor.id, 'renewal_reverted', 'replaced', previous_status, new_id,
            format('Renewal reverted: back in service instead of certificate %s', new_id));
    UPDATE @extschema@.ssl_certificate SET status = 'revoked' WHERE id = new_id;
    UPDATE @extschema@.ssl_certificate SET status = previous_status WHERE id = predecessor.id;
    UPDATE @extschema@.ssl_assignment SET certificate_id = predecessor.id WHERE certificate_id = new_id;
    RETURN predecessor.id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_revert_renewal(bigint) IS
    'Undoes the renewal that produced new_id, in the caller''s transaction: the predecessor returns to its pre-renewal status, every assignment moves back, the successor becomes revoked, and renewal_reverted is logged on both. Returns the predecessor''s id.';

--------------------------------------------------------------------------
-- Append-only history, purge, auto-archive
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_lifecycle_event_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    purging text := current_setting('netbox_ssl.purging_certificate', true);
BEGIN
    -- ssl_purge_certificate may remove one certificate's events, and unlink
    -- other events from it.
    IF purging IS NOT NULL AND purging <> '' THEN
        IF TG_OP = 'DELETE' AND OLD.certificate_id::text = purging THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.related_certificate_id::text = purging AND NEW.related_certificate_id IS NULL
           AND (NEW.id, NEW.certificate_id, NEW.event_type, NEW.occurred_at, NEW.old_status, NEW.new_status,
                NEW.description, NEW.actor, NEW.object_type, NEW.object_id)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.certificate_id, OLD.event_type, OLD.occurred_at, OLD.old_status, OLD.new_status,
                OLD.description, OLD.actor, OLD.object_type, OLD.object_id) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'lifecycle events are append-only; event % cannot be %', OLD.id,
        CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'changed' END
        USING ERRCODE = '55000',
              HINT = 'To remove a certificate with its history, an administrator calls ssl_purge_certificate(id).';
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_lifecycle_event_append_only() IS
    'Trigger function: refuses updates and deletes of lifecycle events, except the ones ssl_purge_certificate makes.';
CREATE TRIGGER ssl_lifecycle_event_append_only BEFORE UPDATE OR DELETE ON @extschema@.ssl_lifecycle_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_lifecycle_event_append_only();
COMMENT ON TRIGGER ssl_lifecycle_event_append_only ON @extschema@.ssl_lifecycle_event IS
    'History is append-only.';

CREATE FUNCTION @extschema@.ssl_purge_certificate(certificate_id bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target @extschema@.ssl_certificate;
    predecessor_id bigint;
    removed integer;
BEGIN
    SELECT * INTO target FROM @extschema@.ssl_certificate c WHERE c.id = certificate_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', certificate_id USING ERRCODE = 'P0002';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.ssl_assignment a WHERE a.certificate_id = target.id) THEN
        RAISE EXCEPTION 'certificate % still has assignments, so it cannot be purged', target.id
            USING ERRCODE = '55000', HINT = 'Delete or move its assignments first.';
    END IF;
    SELECT c.id INTO predecessor_id FROM @extschema@.ssl_certificate c WHERE c.replaced_by = target.id;
    IF FOUND THEN
        RAISE EXCEPTION 'certificate % is the successor of certificate %, so it cannot be purged first', target.id, predecessor_id
            USING ERRCODE = '55000', HINT = format('Purge certificate %s first.', predecessor_id);
    END IF;
    PERFORM set_config('netbox_ssl.purging_certificate', target.id::text, true);
    UPDATE @extschema@.ssl_lifecycle_event e SET related_certificate_id = NULL WHERE e.related_certificate_id = target.id;
    DELETE FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = target.id;
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM @extschema@.ssl_certificate c WHERE c.id = target.id;
    PERFORM set_config('netbox_ssl.purging_certificate', '', true);
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.ssl_purge_certificate(bigint) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ssl_purge_certificate(bigint) IS
    'Administrators only (no EXECUTE for PUBLIC): deletes a certificate that has no assignments and is nobody''s successor, with its lifecycle events; events of other certificates that mention it keep their text but lose the link. Returns the number of events removed.';

CREATE FUNCTION @extschema@.ssl_auto_archive(older_than interval DEFAULT '90 days') RETURNS integer
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH archived AS (
        UPDATE @extschema@.ssl_certificate SET status = 'archived'
         WHERE status IN ('expired', 'replaced', 'revoked')
           AND valid_to < now() - older_than
           AND NOT archive_pinned
        RETURNING 1
    )
    SELECT count(*)::integer FROM archived
$$;
COMMENT ON FUNCTION @extschema@.ssl_auto_archive(interval) IS
    'Archives expired, replaced and revoked certificates whose valid_to is more than older_than ago, except pinned ones (archive_pinned); logs archived events; returns the count.';
