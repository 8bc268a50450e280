-- Janus renewals: replace a certificate by its successor atomically.
-- ssl_renew moves every assignment to the new certificate in the caller's
-- transaction; the preview/candidate functions are read-only;
-- ssl_revert_renewal undoes a renewal.

-- enable_seqscan = off for the same reason as ssl_import: every look-up of a
-- renewal is by key, and a plan cached while the tables were small must not
-- stay a sequential scan. COST follows the measured time of a renewal.
CREATE FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text DEFAULT NULL::text, allow_cn_change boolean DEFAULT false) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 50000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_renew_bytea';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) IS 'Internal entry point of ssl_renew (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_renew(old_id bigint, der bytea, private_key_location text DEFAULT NULL::text, allow_cn_change boolean DEFAULT false) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 50000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_renew_bytea';

COMMENT ON FUNCTION @extschema@.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) IS 'ssl_renew for a DER replacement certificate.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) TO netbox_ssl_operator;

REVOKE ALL ON FUNCTION @extschema@.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) TO netbox_ssl_operator;

CREATE FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text DEFAULT NULL::text, allow_cn_change boolean DEFAULT false) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 50000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_renew_text';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) IS 'Internal entry point of ssl_renew (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_renew(old_id bigint, pem text, private_key_location text DEFAULT NULL::text, allow_cn_change boolean DEFAULT false) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 50000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_renew_text';

COMMENT ON FUNCTION @extschema@.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) IS 'The Janus renewal, in the caller''s transaction: stores the replacement as active, moves every assignment to it, marks the old certificate replaced, logs renewed and activated events, and returns the new id.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) TO netbox_ssl_operator;

REVOKE ALL ON FUNCTION @extschema@.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) TO netbox_ssl_operator;

-- ----------------------------------------------------------------------
-- Read-only helpers
-- ----------------------------------------------------------------------
-- They parse their input before any look-up, so a private key, garbage or
-- oversized input fails with its own error even on an empty inventory, and
-- no error raised before the key scan can copy key material into the log.
CREATE FUNCTION @extschema@.ssl_renewal_candidate(pem text, tenant text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql STABLE COST 6000 PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    parsed @extschema@.ssl_certificate_info := netbox_ssl_internal.ssl_parse(pem);
BEGIN
    IF parsed.common_name IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT c.id
              FROM @extschema@.ssl_certificate AS c
             WHERE lower(c.common_name) = lower(parsed.common_name)
               AND c.status = 'active'
               AND c.fingerprint_sha256 <> parsed.fingerprint_sha256
               AND (ssl_renewal_candidate.tenant IS NULL OR c.tenant = ssl_renewal_candidate.tenant)
             ORDER BY c.valid_to DESC, c.id DESC
             LIMIT 1);
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_renewal_candidate(pem text, tenant text) IS 'The active certificate with the same Common Name (case-insensitive) and, when given, the same tenant, latest valid_to first; NULL when there is none. Never the input certificate itself.';

REVOKE ALL ON FUNCTION @extschema@.ssl_renewal_candidate(pem text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_renewal_candidate(pem text, tenant text) TO netbox_ssl_reader;

CREATE FUNCTION @extschema@.ssl_renewal_preview(old_id bigint, pem text) RETURNS TABLE(field text, current_value text, new_value text, matches boolean)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    nxt @extschema@.ssl_certificate_info := netbox_ssl_internal.ssl_parse(pem);
    cur @extschema@.ssl_certificate;
    n_assign bigint;
    cur_key text;
    new_key text;
BEGIN
    SELECT * INTO cur FROM @extschema@.ssl_certificate c WHERE c.id = old_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', old_id USING ERRCODE = 'P0002';
    END IF;
    SELECT count(*) INTO n_assign FROM @extschema@.ssl_assignment a WHERE a.certificate_id = old_id;
    cur_key := upper(cur.algorithm) || coalesce(' ' || cur.key_size, '');
    new_key := upper(nxt.algorithm) || coalesce(' ' || nxt.key_size, '');

    RETURN QUERY VALUES
        ('common_name', cur.common_name, nxt.common_name,
         lower(cur.common_name) IS NOT DISTINCT FROM lower(nxt.common_name)),
        ('serial_number', cur.serial_number, nxt.serial_number, cur.serial_number = nxt.serial_number),
        ('valid_from', to_char(cur.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
         to_char(nxt.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), cur.valid_from = nxt.valid_from),
        ('valid_to', to_char(cur.valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
         to_char(nxt.valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), cur.valid_to = nxt.valid_to),
        ('key', cur_key, new_key, cur_key = new_key),
        ('issuer', cur.issuer, nxt.issuer, cur.issuer = nxt.issuer),
        ('sans', array_to_string(cur.sans, ', '), array_to_string(nxt.sans, ', '),
         (SELECT array_agg(lower(s) ORDER BY lower(s)) FROM unnest(cur.sans) s)
           IS NOT DISTINCT FROM (SELECT array_agg(lower(s) ORDER BY lower(s)) FROM unnest(nxt.sans) s)),
        ('spki_sha256', cur.spki_sha256,
         nxt.spki_sha256 || CASE WHEN cur.spki_sha256 = nxt.spki_sha256 THEN ' (key reused)' ELSE ' (new key)' END,
         cur.spki_sha256 = nxt.spki_sha256),
        ('assignments', n_assign::text, n_assign || ' (will be transferred)', true);
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_renewal_preview(old_id bigint, pem text) IS 'The Janus comparison of a stored certificate and a replacement: one row per field, with whether it matches. No side effects. The replacement is parsed (and a private key refused) before old_id is looked up.';

REVOKE ALL ON FUNCTION @extschema@.ssl_renewal_preview(old_id bigint, pem text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_renewal_preview(old_id bigint, pem text) TO netbox_ssl_reader;

-- ----------------------------------------------------------------------
-- Revert
-- ----------------------------------------------------------------------
-- Locks both certificates in the same order as ssl_renew (FOR NO KEY UPDATE)
-- so a revert and a concurrent renewal or assignment cannot deadlock.
CREATE FUNCTION @extschema@.ssl_revert_renewal(new_id bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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
    INSERT INTO @extschema@.ssl_lifecycle_event(certificate_id, event_type, old_status, new_status, related_certificate_id, description)
    VALUES (new_id, 'renewal_reverted', successor.status, 'revoked', predecessor.id,
            format('Renewal reverted: certificate %s is back in service; %s assignment(s) moved back to it', predecessor.id, moved)),
           (predecessor.id, 'renewal_reverted', 'replaced', previous_status, new_id,
            format('Renewal reverted: back in service instead of certificate %s', new_id));
    UPDATE @extschema@.ssl_certificate SET status = 'revoked' WHERE id = new_id;
    UPDATE @extschema@.ssl_certificate SET status = previous_status WHERE id = predecessor.id;
    -- This move is logged by renewal_reverted above, not as assignment events.
    PERFORM netbox_ssl_internal.ssl_internal_set('moving', new_id);
    -- Rows locked in unique-index order first, as ssl_renew does.
    UPDATE @extschema@.ssl_assignment a SET certificate_id = predecessor.id
      FROM (SELECT l.id FROM @extschema@.ssl_assignment l WHERE l.certificate_id = new_id
             ORDER BY l.object_type, l.object_id FOR NO KEY UPDATE) l
     WHERE a.id = l.id;
    PERFORM netbox_ssl_internal.ssl_internal_set('moving', NULL);
    RETURN predecessor.id;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_revert_renewal(new_id bigint) IS 'Undoes the renewal that produced new_id, in the caller''s transaction: the predecessor returns to its pre-renewal status, every assignment moves back, the successor becomes revoked, and renewal_reverted is logged on both. Refused (55000) when assignments of new_id were added, removed or moved since the renewal. Returns the predecessor''s id.';

REVOKE ALL ON FUNCTION @extschema@.ssl_revert_renewal(new_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_revert_renewal(new_id bigint) TO netbox_ssl_operator;
