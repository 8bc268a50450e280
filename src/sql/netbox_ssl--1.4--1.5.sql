\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.5'" to load this file. \quit

-- netbox_ssl 1.4 -> 1.5: security hardening (issue "Security 2") and shape.
-- Each part below belongs to one topic; see docs/security.md for what each
-- attack did on 1.4 and what happens now.

-- ===========================================================================
-- Part A: hostile input and cancellation (security item 1)
-- ===========================================================================

-- (end of part A)

-- ===========================================================================
-- Part B: outbox: NOTIFY payload, consumer ownership, thresholds
-- (security items 2, 6, 9)
-- ===========================================================================

-- (end of part B)

-- ===========================================================================
-- Part C: history and locking: actor, assignment moves, repeated
-- transitions, internal switches, CSR key match, lock order
-- (security items 4, 10, 11, 12, 13)
-- ===========================================================================

-- ---------------------------------------------------------------------------
-- Internal switches (item 11): backend-local C state instead of settings.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_internal_set(switch text, value bigint) RETURNS void
    AS 'MODULE_PATHNAME', 'ssl_internal_set'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ssl_internal_set(text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ssl_internal_set(text, bigint) IS
    'Internal, no EXECUTE for PUBLIC: sets (value) or clears (NULL) a backend-local switch of the extension''s own functions (purging: ssl_purge_certificate; matching: ssl_match_authorities; moving: the assignment move of ssl_renew and ssl_revert_renewal). Cleared at transaction end and when the subtransaction that set it aborts. Replaces the settings netbox_ssl.purging_certificate and netbox_ssl_authorities.matching of 1.4, which any session could set.';

CREATE FUNCTION @extschema@.ssl_internal_get(switch text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'ssl_internal_get'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ssl_internal_get(text) IS
    'Internal: the value of a backend-local switch set by ssl_internal_set, NULL when not set. Reading it is harmless.';

-- ---------------------------------------------------------------------------
-- The true actor (item 4): actor is always the calling role; the
-- application's netbox_ssl.actor is kept beside it as on_behalf_of.
-- ---------------------------------------------------------------------------

-- Added without a default first, so existing events get NULL (not the
-- setting of the session that runs the upgrade).
ALTER TABLE @extschema@.ssl_lifecycle_event ADD COLUMN on_behalf_of text;
ALTER TABLE @extschema@.ssl_lifecycle_event
    ALTER COLUMN on_behalf_of SET DEFAULT nullif(current_setting('netbox_ssl.actor', true), ''),
    ALTER COLUMN actor SET DEFAULT @extschema@.ssl_caller();
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.actor IS
    'The role that made the change: ssl_caller(), the current role outside the extension''s SECURITY DEFINER functions (the login role, or the role chosen with SET ROLE, which needs membership). Not settable by the caller; before 1.5 the setting netbox_ssl.actor replaced it when set.';
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.on_behalf_of IS
    'The setting netbox_ssl.actor at the time of the change (SET LOCAL netbox_ssl.actor = ''alice''): the application user the role acted for, as claimed by the application. NULL when not set, and for events written before 1.5.';

COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.event_type IS
    'imported, renewed, activated, status_changed, expired, revoked, archived, renewal_reverted, assignment_added, assignment_removed (an assignment moved by UPDATE logs both: removed on the certificate it left, added on the one it joined); later versions may add more (lower-case words).';

-- ---------------------------------------------------------------------------
-- Every status transition is logged (item 10). The extension's functions log
-- a richer event (renewed, renewal_reverted) before their status UPDATE; the
-- trigger skips exactly that change: the certificate's latest status event of
-- this transaction is such an event for the same transition. A repeated
-- identical transition in one transaction has a newer status event in
-- between, so it is logged again.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_certificate_status_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    last_event record;
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    SELECT e.event_type, e.old_status, e.new_status INTO last_event
      FROM @extschema@.ssl_lifecycle_event e
     WHERE e.certificate_id = NEW.id AND e.occurred_at = now() AND e.new_status IS NOT NULL
     ORDER BY e.id DESC LIMIT 1;
    IF FOUND AND last_event.event_type IN ('renewed', 'renewal_reverted')
       AND last_event.old_status = OLD.status AND last_event.new_status = NEW.status THEN
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
    'Trigger function: logs expired, revoked, archived or status_changed for every status change, also a repeated identical one in the same transaction, except the change that ssl_renew or ssl_revert_renewal has just logged as renewed or renewal_reverted.';

-- ---------------------------------------------------------------------------
-- Assignment moves by UPDATE are logged (item 10), so ssl_revert_renewal sees
-- them as assignment changes since the renewal.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_assignment_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
    moving bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO @extschema@.ssl_lifecycle_event (certificate_id, event_type, object_type, object_id, description)
        SELECT n.certificate_id, 'assignment_added', n.object_type, n.object_id,
               format('Assigned to %s %s', n.object_type, n.object_id)
          FROM new_rows n
         WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = n.certificate_id)
         ORDER BY n.id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO @extschema@.ssl_lifecycle_event (certificate_id, event_type, object_type, object_id, description)
        SELECT o.certificate_id, 'assignment_removed', o.object_type, o.object_id,
               format('Unassigned from %s %s', o.object_type, o.object_id)
          FROM old_rows o
         WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = o.certificate_id)
         ORDER BY o.id;
    ELSE
        -- UPDATE: a row whose certificate or object changed left one
        -- assignment and made another. The move made by ssl_renew or
        -- ssl_revert_renewal (internal switch 'moving', set to the certificate
        -- the rows leave) is logged by their renewal events instead.
        moving := @extschema@.ssl_internal_get('moving');
        INSERT INTO @extschema@.ssl_lifecycle_event (certificate_id, event_type, object_type, object_id, description)
        SELECT m.certificate_id, m.event_type, m.object_type, m.object_id, m.description
          FROM (SELECT o.id, 1 AS step, o.certificate_id, 'assignment_removed' AS event_type, o.object_type, o.object_id,
                       CASE WHEN o.certificate_id = n.certificate_id
                            THEN format('Unassigned from %s %s (assignment %s now names %s %s)', o.object_type, o.object_id,
                                        o.id, n.object_type, n.object_id)
                            ELSE format('Unassigned from %s %s (assignment %s moved to certificate %s)', o.object_type,
                                        o.object_id, o.id, n.certificate_id) END AS description
                  FROM old_rows o JOIN new_rows n ON n.id = o.id
                 WHERE (o.certificate_id, o.object_type, o.object_id) IS DISTINCT FROM (n.certificate_id, n.object_type, n.object_id)
                   AND o.certificate_id IS DISTINCT FROM moving
                UNION ALL
                SELECT n.id, 2, n.certificate_id, 'assignment_added', n.object_type, n.object_id,
                       CASE WHEN o.certificate_id = n.certificate_id
                            THEN format('Assigned to %s %s (assignment %s named %s %s before)', n.object_type, n.object_id,
                                        n.id, o.object_type, o.object_id)
                            ELSE format('Assigned to %s %s (assignment %s moved from certificate %s)', n.object_type,
                                        n.object_id, n.id, o.certificate_id) END
                  FROM old_rows o JOIN new_rows n ON n.id = o.id
                 WHERE (o.certificate_id, o.object_type, o.object_id) IS DISTINCT FROM (n.certificate_id, n.object_type, n.object_id)
                   AND o.certificate_id IS DISTINCT FROM moving) m
         WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = m.certificate_id)
         ORDER BY m.id, m.step;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_assignment_history() IS
    'Trigger function: logs assignment_added and assignment_removed, set-based, for certificates that have a history (so a pg_dump restore does not log restored rows twice). An UPDATE that changes an assignment''s certificate or object logs assignment_removed on the old certificate and assignment_added on the new one; the moves of ssl_renew and ssl_revert_renewal log only their renewal events.';
CREATE TRIGGER ssl_assignment_history_update AFTER UPDATE ON @extschema@.ssl_assignment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_assignment_history();
COMMENT ON TRIGGER ssl_assignment_history_update ON @extschema@.ssl_assignment IS
    'Logs a move (certificate_id, object_type or object_id changed) as assignment_removed plus assignment_added.';

-- ---------------------------------------------------------------------------
-- Lock order (item 13): renew and revert lock certificates FOR NO KEY
-- UPDATE; the assignment target check takes FOR SHARE so that an assignment
-- written during a renewal still waits for it and is then refused.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_assignment_check_target() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad_id bigint;
    bad_status text;
    successor bigint;
    next_id bigint;
BEGIN
    -- Wait for a renewal or revert of a target certificate (they hold it FOR
    -- NO KEY UPDATE since 1.5, which the foreign key's KEY SHARE does not
    -- wait for), then read its committed status below.
    PERFORM 1 FROM @extschema@.ssl_certificate c
     WHERE c.id IN (SELECT DISTINCT w.certificate_id FROM new_rows w)
     ORDER BY c.id FOR SHARE OF c;
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
    'Trigger function: waits for a renewal or revert of the target certificates (FOR SHARE), then refuses assignments written for a replaced, revoked or archived certificate (for a replaced one, naming the certificate that replaced it).';

CREATE OR REPLACE FUNCTION @extschema@.ssl_revert_renewal(new_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
    -- Lock order: successor, then predecessor (as ssl_renew of the successor
    -- would). FOR NO KEY UPDATE, as in ssl_renew: it serialises against other
    -- renewals and reverts and against new assignments (whose target check
    -- takes FOR SHARE), but not against the KEY SHARE that a concurrent
    -- assignment DELETE's history events need (no deadlock, item 13).
    SELECT * INTO successor FROM @extschema@.ssl_certificate c WHERE c.id = new_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', new_id USING ERRCODE = 'P0002';
    END IF;
    IF successor.status = 'replaced' THEN
        RAISE EXCEPTION 'certificate % has been renewed since, by certificate %; revert that renewal first', new_id, successor.replaced_by
            USING ERRCODE = '55000', HINT = format('SELECT ssl_revert_renewal(%s);', successor.replaced_by);
    END IF;
    SELECT * INTO predecessor FROM @extschema@.ssl_certificate c WHERE c.replaced_by = new_id FOR NO KEY UPDATE;
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
    -- This move is logged by renewal_reverted above, not as assignment events.
    PERFORM @extschema@.ssl_internal_set('moving', new_id);
    UPDATE @extschema@.ssl_assignment SET certificate_id = predecessor.id WHERE certificate_id = new_id;
    PERFORM @extschema@.ssl_internal_set('moving', NULL);
    RETURN predecessor.id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_revert_renewal(bigint) IS
    'Undoes the renewal that produced new_id, in the caller''s transaction: the predecessor returns to its pre-renewal status, every assignment moves back, the successor becomes revoked, and renewal_reverted is logged on both. Refused (55000) when assignments of new_id were added, removed or moved since the renewal. Returns the predecessor''s id.';

-- ---------------------------------------------------------------------------
-- Purge and authority matching use the internal switches (item 11).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_lifecycle_event_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    purging bigint := @extschema@.ssl_internal_get('purging');
BEGIN
    -- ssl_purge_certificate may remove one certificate's events, and unlink
    -- other events from it.
    IF purging IS NOT NULL THEN
        IF TG_OP = 'DELETE' AND OLD.certificate_id = purging THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.related_certificate_id = purging AND NEW.related_certificate_id IS NULL
           AND (NEW.id, NEW.certificate_id, NEW.event_type, NEW.occurred_at, NEW.old_status, NEW.new_status,
                NEW.description, NEW.actor, NEW.on_behalf_of, NEW.object_type, NEW.object_id)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.certificate_id, OLD.event_type, OLD.occurred_at, OLD.old_status, OLD.new_status,
                OLD.description, OLD.actor, OLD.on_behalf_of, OLD.object_type, OLD.object_id) THEN
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
    'Trigger function: refuses updates and deletes of lifecycle events, except the ones ssl_purge_certificate makes (internal switch purging, which no caller can set).';

CREATE OR REPLACE FUNCTION @extschema@.ssl_purge_certificate(certificate_id bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
    PERFORM @extschema@.ssl_internal_set('purging', target.id);
    UPDATE @extschema@.ssl_lifecycle_event e SET related_certificate_id = NULL WHERE e.related_certificate_id = target.id;
    DELETE FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = target.id;
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM @extschema@.ssl_certificate c WHERE c.id = target.id;
    PERFORM @extschema@.ssl_internal_set('purging', NULL);
    RETURN removed;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_purge_certificate(bigint) IS
    'Administrators only (no EXECUTE for PUBLIC): deletes a certificate that has no assignments and is nobody''s successor, with its lifecycle events; events of other certificates that mention it keep their text but lose the link. Returns the number of events removed.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_certificate_match_authority() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_id bigint;
    found_source text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.issuing_ca_id IS NULL AND NEW.issuing_ca_source IS NULL THEN
            SELECT f.authority_id, f.source INTO found_id, found_source
              FROM @extschema@.ssl_find_authority(NEW.issuer, NEW.authority_key_id, NEW.id) f;
            NEW.issuing_ca_id := found_id;
            NEW.issuing_ca_source := found_source;
        ELSIF NEW.issuing_ca_source IS NULL THEN
            NEW.issuing_ca_source := 'manual';
        END IF;
        RETURN NEW;
    END IF;
    -- UPDATE: ssl_match_authorities sets both columns itself.
    IF @extschema@.ssl_internal_get('matching') IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF NEW.issuing_ca_id IS DISTINCT FROM OLD.issuing_ca_id THEN
        NEW.issuing_ca_source := CASE WHEN NEW.issuing_ca_id IS NULL THEN NULL ELSE 'manual' END;
    ELSE
        NEW.issuing_ca_source := OLD.issuing_ca_source;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_match_authority() IS
    'Trigger function: on insert, fills issuing_ca_id and issuing_ca_source (unless given, as in a restore); on update, marks a link set by hand as manual, and clearing it (or deleting the authority) makes the certificate automatic again. Only ssl_match_authorities (internal switch matching, which no caller can set) writes pattern or key_id links on update.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_match_authorities() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed integer;
    total integer := 0;
BEGIN
    PERFORM @extschema@.ssl_internal_set('matching', 1);
    -- One set-based pass per level of a CA hierarchy: a pass can only use the
    -- links of CA certificates as they were before it.
    FOR pass IN 1..16 LOOP
        UPDATE @extschema@.ssl_certificate c
           SET issuing_ca_id = m.authority_id, issuing_ca_source = m.source
          FROM (SELECT x.id, f.authority_id, f.source
                  FROM @extschema@.ssl_certificate x
                  LEFT JOIN LATERAL @extschema@.ssl_find_authority(x.issuer, x.authority_key_id, x.id) f ON true
                 WHERE x.issuing_ca_source IS DISTINCT FROM 'manual') m
         WHERE c.id = m.id
           AND (c.issuing_ca_id, c.issuing_ca_source) IS DISTINCT FROM (m.authority_id, m.source);
        GET DIAGNOSTICS changed = ROW_COUNT;
        total := total + changed;
        EXIT WHEN changed = 0;
    END LOOP;
    PERFORM @extschema@.ssl_internal_set('matching', NULL);
    RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_match_authorities() IS
    'Re-runs the authority matching over every stored certificate whose link was not set by hand (after adding or changing authorities, or after upgrading to 1.4); returns the number of row updates.';

-- ---------------------------------------------------------------------------
-- CSR key match (item 12).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_csr_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed boolean; certificate_key text;
BEGIN
    IF (NEW.id, NEW.fingerprint_sha256, NEW.subject, NEW.common_name, NEW.sans, NEW.algorithm, NEW.key_size,
        NEW.spki_sha256, NEW.signature_algorithm, NEW.signature_valid, NEW.pem, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.fingerprint_sha256, OLD.subject, OLD.common_name, OLD.sans, OLD.algorithm, OLD.key_size,
        OLD.spki_sha256, OLD.signature_algorithm, OLD.signature_valid, OLD.pem, OLD.created_at) THEN
        RAISE EXCEPTION 'certificate request % cannot be edited to hold other request data', OLD.id
            USING ERRCODE = '55000',
                  HINT = 'Import the new request with ssl_import_csr(); only status, resulting_certificate_id, tenant, requested_by and notes can change.';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        allowed := CASE OLD.status
                       WHEN 'pending'  THEN NEW.status IN ('approved', 'rejected', 'issued', 'expired')
                       WHEN 'approved' THEN NEW.status IN ('issued', 'rejected', 'expired')
                       ELSE false
                   END;
        IF NOT allowed THEN
            RAISE EXCEPTION 'certificate request % cannot change status from % to %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = '55000',
                      HINT = 'Allowed: pending to approved, rejected, issued or expired; approved to issued, rejected or expired. rejected, issued and expired are final.';
        END IF;
        IF (NEW.status = 'issued') <> (NEW.resulting_certificate_id IS NOT NULL) THEN
            RAISE EXCEPTION 'certificate request % can only become issued together with resulting_certificate_id', OLD.id
                USING ERRCODE = '55000',
                      HINT = 'Importing the certificate for the request''s key (ssl_import) does both.';
        END IF;
    ELSIF NEW.resulting_certificate_id IS DISTINCT FROM OLD.resulting_certificate_id THEN
        RAISE EXCEPTION 'certificate request %''s resulting_certificate_id can only change with its status', OLD.id
            USING ERRCODE = '55000';
    END IF;
    -- A request is linked only to a certificate for its own key (item 12),
    -- whichever path links it (plain UPDATE or the link at import).
    IF NEW.resulting_certificate_id IS NOT NULL
       AND NEW.resulting_certificate_id IS DISTINCT FROM OLD.resulting_certificate_id THEN
        SELECT c.spki_sha256 INTO certificate_key
          FROM @extschema@.ssl_certificate c WHERE c.id = NEW.resulting_certificate_id;
        IF certificate_key IS DISTINCT FROM NEW.spki_sha256 THEN
            RAISE EXCEPTION 'certificate request % cannot be linked to certificate %, which is for another key', OLD.id,
                            NEW.resulting_certificate_id
                USING ERRCODE = '23514',
                      HINT = 'A request is issued by the certificate with the same public key (spki_sha256); importing that certificate links it.';
        END IF;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_csr_guard() IS
    'Trigger function: refuses edits to the parsed request fields, enforces the request status machine (55000), links a request only to a certificate with the same spki_sha256 (23514), and maintains updated_at.';

-- (end of part C)

-- ===========================================================================
-- Part D: key material in logs, issuer_chain validation, issuer lookup
-- (security items 5, 7, 8)
-- ===========================================================================

-- (end of part D)

-- ===========================================================================
-- Part E: internal schema (security item 3)
-- ===========================================================================

-- (end of part E)

-- ===========================================================================
-- Part F: the NetBox bridge (issue "NetBox bridge")
-- ===========================================================================

-- (end of part F)

-- ===========================================================================
-- Part G: the NetBox SSL plugin's field formats (used by the bridge)
-- ===========================================================================

-- (end of part G)

-- ===========================================================================
-- Part H: hot standby (issue "Distribution": writers refuse at once)
-- ===========================================================================
-- No SQL object changes. ssl_import, ssl_renew and ssl_import_bundle refuse
-- in their C entry points (RecoveryInProgress(), SQLSTATE 25006, one
-- sentence naming the function and the primary); every SQL writer already
-- stops at its first write or lock with PostgreSQL's own 25006 and nothing
-- else happens first (test/standby/run.sh checks both on a real standby).

-- (end of part H)
