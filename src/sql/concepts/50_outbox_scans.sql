-- Outbox (lifecycle events published to consumers, at least once) and
-- scans: expiry alerts and observed deployments (ssl_record_observation).

-- ----------------------------------------------------------------------
-- Consumers: subscribe, claim, acknowledge, unsubscribe, prune
-- ----------------------------------------------------------------------
-- Subscribing takes no lock that conflicts with event inserts; rows and a
-- subscription that could not see each other are found later, exactly, by
-- ssl_outbox_catch_up from the recorded xids and snapshots.
CREATE FUNCTION netbox_ssl_internal.ssl_outbox_subscribe(consumer text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    queued bigint;
    me regrole;
    existing regrole;
    mine bigint;
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    SELECT s.owner INTO existing FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_subscribe.consumer;
    IF NOT FOUND THEN
        me := (SELECT r.oid FROM pg_roles r WHERE r.rolname = netbox_ssl_internal.ssl_caller())::regrole;
        IF NOT pg_has_role(me::oid, 'netbox_ssl_admin', 'MEMBER') THEN
            -- Per-role limit; the advisory lock serialises only this role's
            -- own subscriptions, never a writer.
            PERFORM pg_advisory_xact_lock(hashtext('netbox_ssl.ssl_outbox_subscribe'), (me::oid::bigint - 2147483648)::integer);
            SELECT count(*) INTO mine FROM @extschema@.ssl_outbox_consumer s WHERE s.owner = me;
            IF mine >= 8 THEN
                RAISE EXCEPTION 'role "%" already has % outbox consumers, the most a role other than netbox_ssl_admin may have', me, mine
                    USING ERRCODE = '54000', HINT = 'Unsubscribe a consumer that is no longer used (ssl_outbox_unsubscribe), or ask an administrator.';
            END IF;
        END IF;
        -- No table lock: publishers are never blocked. A publisher that
        -- cannot see this consumer yet records its snapshot, this backfill
        -- records its own; ssl_outbox_catch_up queues what neither saw.
        INSERT INTO @extschema@.ssl_outbox_consumer(name, owner, subscribed_xid, caught_up)
        VALUES (ssl_outbox_subscribe.consumer, me, pg_current_xact_id(), false)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            WITH mark AS (
                UPDATE @extschema@.ssl_outbox_consumer s SET since = pg_current_snapshot()
                 WHERE s.name = ssl_outbox_subscribe.consumer
            )
            INSERT INTO @extschema@.ssl_outbox_delivery(consumer, outbox_id)
            SELECT ssl_outbox_subscribe.consumer, o.id FROM @extschema@.ssl_outbox o;
            SELECT count(*) INTO queued FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_subscribe.consumer;
            RETURN queued;
        END IF;
        -- Subscribed concurrently by someone else (committed meanwhile).
        SELECT s.owner INTO existing FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_subscribe.consumer;
    END IF;
    PERFORM netbox_ssl_internal.ssl_outbox_check_owner(ssl_outbox_subscribe.consumer, existing);
    SELECT count(*) INTO queued FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_subscribe.consumer;
    RETURN queued;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_outbox_subscribe(consumer text) IS 'Implementation of @extschema@.ssl_outbox_subscribe for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) RETURNS bigint
    LANGUAGE sql
    AS $_$ SELECT netbox_ssl_internal.ssl_outbox_subscribe($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) IS 'Registers a consumer owned by the calling role if it is new, queueing every row still in the outbox for it (a new consumer starts from the beginning of the outbox); returns how many rows it has pending. Takes no lock that blocks writers: events published concurrently are queued by the publish trigger or by the consumer''s first claims. A role other than netbox_ssl_admin may own at most 8 consumers (54000 beyond). An existing consumer of another role raises 42501.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_outbox_subscribe(consumer text) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_outbox_subscribe(consumer text) TO netbox_ssl_operator;

REVOKE ALL ON FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    dropped bigint;
    s record;
BEGIN
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'consumer must not be empty' USING ERRCODE = '22023';
    END IF;
    SELECT c.owner INTO s FROM @extschema@.ssl_outbox_consumer c WHERE c.name = ssl_outbox_unsubscribe.consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_unsubscribe.consumer USING ERRCODE = 'P0002';
    END IF;
    PERFORM netbox_ssl_internal.ssl_outbox_check_owner(ssl_outbox_unsubscribe.consumer, s.owner);
    SELECT count(*) INTO dropped FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_unsubscribe.consumer;
    DELETE FROM @extschema@.ssl_outbox_consumer c WHERE c.name = ssl_outbox_unsubscribe.consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_unsubscribe.consumer USING ERRCODE = 'P0002';
    END IF;
    RETURN dropped;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) IS 'Removes a consumer and its pending deliveries (so ssl_outbox_prune can remove those rows); returns how many were pending. Its owner, members of the owner and netbox_ssl_admin may do it (42501 otherwise); P0002 for an unknown consumer.';

REVOKE ALL ON FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) TO netbox_ssl_admin;
GRANT ALL ON FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer DEFAULT 100) RETURNS TABLE(id bigint, certificate_id bigint, event_type text, payload jsonb, created_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s record;
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF max IS NULL OR max < 1 THEN
        RAISE EXCEPTION 'max must be at least 1, not %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    SELECT c.owner, c.caught_up INTO s FROM @extschema@.ssl_outbox_consumer c WHERE c.name = ssl_outbox_claim.consumer;
    IF NOT FOUND THEN
        PERFORM netbox_ssl_internal.ssl_outbox_subscribe(ssl_outbox_claim.consumer);
    ELSE
        PERFORM netbox_ssl_internal.ssl_outbox_check_owner(ssl_outbox_claim.consumer, s.owner);
        IF NOT s.caught_up THEN
            PERFORM netbox_ssl_internal.ssl_outbox_catch_up(ssl_outbox_claim.consumer);
        END IF;
    END IF;
    RETURN QUERY
    SELECT o.id, o.certificate_id, o.event_type, o.payload, o.created_at
      FROM (SELECT d.outbox_id
              FROM @extschema@.ssl_outbox_delivery d
             WHERE d.consumer = ssl_outbox_claim.consumer
             ORDER BY d.outbox_id
             LIMIT ssl_outbox_claim.max
               FOR UPDATE SKIP LOCKED) q
      JOIN @extschema@.ssl_outbox o ON o.id = q.outbox_id
     ORDER BY o.id;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer) IS 'Returns up to max outbox rows that consumer has not acknowledged, oldest first, and locks them (FOR UPDATE SKIP LOCKED on the consumer''s own queue rows) until the calling transaction ends: other workers of the same consumer skip them, other consumers are not affected. Unacknowledged rows become claimable again when the transaction ends (at-least-once). Subscribes an unknown consumer first (owned by the caller). Only the owner, its members and netbox_ssl_admin may claim (42501).';

REVOKE ALL ON FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    acked integer;
    s record;
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF ids IS NULL THEN
        RAISE EXCEPTION 'ids must not be NULL' USING ERRCODE = '22023';
    END IF;
    SELECT c.owner INTO s FROM @extschema@.ssl_outbox_consumer c WHERE c.name = ssl_outbox_ack.consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_ack.consumer
            USING ERRCODE = 'P0002', HINT = 'Consumers are created by ssl_outbox_subscribe or their first ssl_outbox_claim.';
    END IF;
    PERFORM netbox_ssl_internal.ssl_outbox_check_owner(ssl_outbox_ack.consumer, s.owner);
    DELETE FROM @extschema@.ssl_outbox_delivery d
     WHERE d.consumer = ssl_outbox_ack.consumer AND d.outbox_id = ANY (ids);
    GET DIAGNOSTICS acked = ROW_COUNT;
    RETURN acked;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[]) IS 'Acknowledges outbox rows for consumer (takes effect when the calling transaction commits); returns how many were still pending. Ids already acknowledged or unknown are ignored. P0002 for an unknown consumer; 42501 unless the caller is the owner, a member of it or netbox_ssl_admin.';

REVOKE ALL ON FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[]) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[]) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_outbox_prune(older_than interval DEFAULT '30 days'::interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    removed bigint;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval' USING ERRCODE = '22023';
    END IF;
    -- Rows a consumer has still to catch up (published concurrently with its
    -- subscription) are kept too.
    DELETE FROM @extschema@.ssl_outbox o
     WHERE o.created_at < now() - older_than
       AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_delivery d WHERE d.outbox_id = o.id)
       AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_consumer s
                        WHERE NOT s.caught_up AND s.since IS NOT NULL AND o.xid IS NOT NULL
                          AND o.xid <> s.subscribed_xid
                          AND NOT pg_visible_in_snapshot(o.xid, s.since)
                          AND NOT pg_visible_in_snapshot(s.subscribed_xid, o.published_snapshot));
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_outbox_prune(older_than interval) IS 'Administrators: deletes outbox rows published more than older_than ago that every consumer has acknowledged (rows some consumer still has pending, or has yet to catch up, are kept); returns the count. The lifecycle history itself is untouched.';

REVOKE ALL ON FUNCTION @extschema@.ssl_outbox_prune(older_than interval) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_outbox_prune(older_than interval) TO netbox_ssl_admin;

CREATE FUNCTION @extschema@.ssl_outbox_set_owner(consumer text, owner regrole) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'consumer must not be empty' USING ERRCODE = '22023';
    END IF;
    UPDATE @extschema@.ssl_outbox_consumer c SET owner = ssl_outbox_set_owner.owner WHERE c.name = ssl_outbox_set_owner.consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_set_owner.consumer USING ERRCODE = 'P0002';
    END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_outbox_set_owner(consumer text, owner regrole) IS 'Administrators: hands a consumer to another role (NULL: administrators only), e.g. the consumers that existed before 1.5. Not counted against the per-role limit of 8.';

REVOKE ALL ON FUNCTION @extschema@.ssl_outbox_set_owner(consumer text, owner regrole) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_outbox_set_owner(consumer text, owner regrole) TO netbox_ssl_admin;

-- Who may use a consumer: its owner role, members of it, administrators.
-- The caller is ssl_caller(), not current_user, which inside these
-- SECURITY DEFINER functions is always the extension's owner.
CREATE FUNCTION netbox_ssl_internal.ssl_outbox_check_owner(consumer text, owner regrole) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    caller text := netbox_ssl_internal.ssl_caller();
BEGIN
    IF pg_has_role(caller, 'netbox_ssl_admin', 'MEMBER') THEN
        RETURN;
    END IF;
    IF owner IS NOT NULL AND pg_has_role(caller, owner::oid, 'MEMBER') THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'outbox consumer "%" belongs to %, so role "%" may not use it', consumer,
        coalesce('role "' || owner::text || '"', 'the administrators'), caller
        USING ERRCODE = '42501', HINT = 'Only the owning role, its members and netbox_ssl_admin may claim, acknowledge or unsubscribe a consumer.';
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_outbox_check_owner(consumer text, owner regrole) IS 'Internal: raises 42501 unless the calling role (ssl_caller()) is a member of the consumer''s owner or of netbox_ssl_admin.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_outbox_check_owner(consumer text, owner regrole) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_outbox_catch_up(consumer text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s record;
    added bigint := 0;
BEGIN
    -- SKIP LOCKED: another worker of this consumer is catching up right now.
    SELECT c.subscribed_xid, c.since, c.catch_up_horizon, c.caught_up INTO s
      FROM @extschema@.ssl_outbox_consumer c WHERE c.name = ssl_outbox_catch_up.consumer
       FOR NO KEY UPDATE SKIP LOCKED;
    IF NOT FOUND OR s.caught_up THEN
        RETURN 0;
    END IF;
    -- A subscription restored from a dump of another cluster (xid from the
    -- future) or from before 1.5: nothing to catch up.
    IF s.subscribed_xid IS NULL OR s.since IS NULL
       OR s.subscribed_xid >= pg_snapshot_xmax(pg_current_snapshot()) THEN
        UPDATE @extschema@.ssl_outbox_consumer c SET caught_up = true WHERE c.name = ssl_outbox_catch_up.consumer;
        RETURN 0;
    END IF;
    -- Only after the subscription committed (not in its own transaction).
    IF pg_xact_status(s.subscribed_xid) IS DISTINCT FROM 'committed' THEN
        RETURN 0;
    END IF;
    IF s.catch_up_horizon IS NULL THEN
        -- This transaction sees the subscription committed, so its own xid
        -- is larger than that of every transaction that could have queued
        -- events without seeing the consumer.
        UPDATE @extschema@.ssl_outbox_consumer c SET catch_up_horizon = pg_current_xact_id()
         WHERE c.name = ssl_outbox_catch_up.consumer;
        RETURN 0;
    END IF;
    -- Once the horizon's transaction has committed, every running xid below
    -- it is in the snapshot's xip list (xmax is past the horizon).
    IF pg_xact_status(s.catch_up_horizon) IS DISTINCT FROM 'committed'
       OR EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()) x WHERE x < s.catch_up_horizon) THEN
        RETURN 0;   -- such a transaction may still publish; try again at the next claim
    END IF;
    INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
    SELECT ssl_outbox_catch_up.consumer, o.id
      FROM @extschema@.ssl_outbox o
     WHERE o.xid IS NOT NULL
       AND o.xid >= pg_snapshot_xmin(s.since)
       AND o.xid <> s.subscribed_xid
       AND NOT pg_visible_in_snapshot(o.xid, s.since)
       AND NOT pg_visible_in_snapshot(s.subscribed_xid, o.published_snapshot)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    UPDATE @extschema@.ssl_outbox_consumer c SET caught_up = true WHERE c.name = ssl_outbox_catch_up.consumer;
    RETURN added;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_outbox_catch_up(consumer text) IS 'Internal: queues, once, the outbox rows published concurrently with the consumer''s subscription that neither the backfill nor the publish trigger could see; waits (by returning 0) until every transaction that might still publish such a row has ended.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_outbox_catch_up(consumer text) FROM PUBLIC;

-- ----------------------------------------------------------------------
-- Expiry scan and observations
-- ----------------------------------------------------------------------
-- Fires on crossing a threshold, once per certificate and threshold
-- (ssl_expiry_alert), so a scan that misses a day still alerts. At most 32
-- thresholds, so one call's work stays bounded.
CREATE FUNCTION @extschema@.ssl_expiry_scan(thresholds integer[] DEFAULT '{90,60,30,14,7,1}'::integer[]) RETURNS TABLE(certificate_id bigint, threshold integer, event text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    t integer[];
    widest integer;
    gone bigint[];
    fired bigint[];
    fired_at integer[];
BEGIN
    IF thresholds IS NULL OR cardinality(thresholds) = 0 THEN
        RAISE EXCEPTION 'thresholds must be a non-empty array of days' USING ERRCODE = '22023';
    END IF;
    -- Each threshold can record a row per certificate in ssl_expiry_alert:
    -- bound the work before looking at the elements.
    IF cardinality(thresholds) > 32 THEN
        RAISE EXCEPTION 'thresholds must have at most 32 elements, got %', cardinality(thresholds) USING ERRCODE = '22023';
    END IF;
    IF array_ndims(thresholds) > 1 THEN
        RAISE EXCEPTION 'thresholds must be a one-dimensional array' USING ERRCODE = '22023';
    END IF;
    IF array_position(thresholds, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'thresholds must not contain NULL' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(thresholds) x WHERE x < 1 OR x > 36500) THEN
        RAISE EXCEPTION 'thresholds must be whole days from 1 to 36500, got %', thresholds USING ERRCODE = '22023';
    END IF;
    -- A set: order and duplicates do not matter.
    t := ARRAY(SELECT DISTINCT x FROM unnest(thresholds) x ORDER BY x);
    widest := t[cardinality(t)];

    -- One scan at a time: a second one waits and then sees what the first
    -- recorded. Readers of the table are not blocked.
    LOCK TABLE @extschema@.ssl_expiry_alert IN SHARE ROW EXCLUSIVE MODE;

    -- Expiry is a status change, made exactly as ssl_refresh_status makes it,
    -- so the status trigger logs the one expired event (and a later refresh
    -- finds nothing to do).
    WITH expired AS (
        UPDATE @extschema@.ssl_certificate c SET status = 'expired'
         WHERE c.status = 'active' AND c.valid_to < now()
        RETURNING c.id
    )
    SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}') INTO gone FROM expired e;

    -- Every expired certificate is recorded once, with its expired event,
    -- whether this scan or ssl_refresh_status (or a plain UPDATE) logged it.
    -- Certificates that never had an expired event (imported after their
    -- expiry) are recorded without one.
    INSERT INTO @extschema@.ssl_expiry_alert (certificate_id, threshold, event_id)
    SELECT c.id, 0,
           (SELECT max(e.id) FROM @extschema@.ssl_lifecycle_event e
             WHERE e.certificate_id = c.id AND e.event_type = 'expired')
      FROM @extschema@.ssl_certificate c
     WHERE c.status = 'expired'
       AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_expiry_alert a WHERE a.certificate_id = c.id AND a.threshold = 0);

    -- Crossing: the smallest threshold a certificate is within, unless that
    -- threshold or a smaller one was already dealt with. The row lock makes
    -- a concurrent renewal either win (the certificate is no longer active
    -- when rechecked) or wait for this scan.
    WITH due AS (
        SELECT c.id AS cid, c.valid_to, s.crossed
          FROM @extschema@.ssl_certificate c
         CROSS JOIN LATERAL (SELECT min(x) AS crossed FROM unnest(t) x
                              WHERE c.valid_to <= now() + make_interval(days => x)) s
         WHERE c.status = 'active'
           AND c.valid_to >= now()
           AND c.valid_to <= now() + make_interval(days => widest)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_expiry_alert a
                            WHERE a.certificate_id = c.id AND a.threshold > 0 AND a.threshold <= s.crossed)
           FOR SHARE OF c
    ), logged AS (
        INSERT INTO @extschema@.ssl_lifecycle_event AS ev (certificate_id, event_type, description)
        SELECT d.cid, 'expiring',
               format('Expires in %s day(s), at %s UTC: crossed the %s-day threshold',
                      floor(extract(epoch FROM d.valid_to - now()) / 86400)::integer,
                      to_char(d.valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), d.crossed)
          FROM due d ORDER BY d.cid
        RETURNING ev.id, ev.certificate_id
    ), sent AS (
        INSERT INTO @extschema@.ssl_expiry_alert AS al (certificate_id, threshold, event_id)
        SELECT l.certificate_id, d.crossed, l.id FROM logged l JOIN due d ON d.cid = l.certificate_id
        RETURNING al.certificate_id, al.threshold
    ), covered AS (
        INSERT INTO @extschema@.ssl_expiry_alert (certificate_id, threshold)
        SELECT d.cid, x FROM due d CROSS JOIN unnest(t) x WHERE x > d.crossed
        ON CONFLICT DO NOTHING
    )
    SELECT coalesce(array_agg(s.certificate_id ORDER BY s.certificate_id), '{}'),
           coalesce(array_agg(s.threshold ORDER BY s.certificate_id), '{}')
      INTO fired, fired_at FROM sent s;

    RETURN QUERY
    SELECT g.id, 0, 'expired'::text FROM unnest(gone) g(id)
    UNION ALL
    SELECT f.id, f.th, 'expiring'::text FROM unnest(fired, fired_at) f(id, th)
    ORDER BY 1, 2;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_expiry_scan(thresholds integer[]) IS 'Expiry alerts that fire on crossing: for each active certificate, logs one expiring event (which reaches the outbox) for the smallest threshold (days before valid_to) it is within and has not been alerted for, recording larger ones as covered; marks active certificates past valid_to expired (one expired event, as ssl_refresh_status would). Returns what it emitted; running it again emits nothing new. Thresholds are a set of at most 32 whole days from 1 to 36500 (order and duplicates ignored); NULL, empty, more than 32 elements, NULL elements or values out of range raise 22023.';

REVOKE ALL ON FUNCTION @extschema@.ssl_expiry_scan(thresholds integer[]) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_expiry_scan(thresholds integer[]) TO netbox_ssl_operator;

-- Shared by both overloads, which parse their input first.
CREATE FUNCTION netbox_ssl_internal.ssl_record_observation_parsed(object_type text, object_id bigint, cert @extschema@.ssl_certificate_info, observed_at timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    latest @extschema@.ssl_observation;
    known bigint;
    result bigint;
BEGIN
    IF object_type IS NULL OR object_id IS NULL OR observed_at IS NULL OR cert.fingerprint_sha256 IS NULL THEN
        RAISE EXCEPTION 'object_type, object_id, the certificate and observed_at must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF object_type = '' OR NOT isfinite(observed_at) THEN
        RAISE EXCEPTION 'object_type must not be empty and observed_at must be finite'
            USING ERRCODE = '22023';
    END IF;
    -- One writer per object at a time, so two scanners cannot both extend
    -- or both start the object's latest run.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(
        'netbox_ssl.observation:' || object_type || ':' || object_id, 0));
    SELECT * INTO latest
      FROM @extschema@.ssl_observation AS o
     WHERE o.object_type = ssl_record_observation_parsed.object_type
       AND o.object_id = ssl_record_observation_parsed.object_id
     ORDER BY o.last_seen_at DESC, o.id DESC
     LIMIT 1;
    SELECT c.id INTO known FROM @extschema@.ssl_certificate AS c
     WHERE c.fingerprint_sha256 = cert.fingerprint_sha256;
    IF latest.id IS NOT NULL AND latest.fingerprint_sha256 = cert.fingerprint_sha256 THEN
        UPDATE @extschema@.ssl_observation AS o
           SET first_seen_at = least(o.first_seen_at, ssl_record_observation_parsed.observed_at),
               last_seen_at = greatest(o.last_seen_at, ssl_record_observation_parsed.observed_at),
               times_seen = o.times_seen + 1,
               certificate_id = coalesce(known, o.certificate_id),
               recorded_by = netbox_ssl_internal.ssl_caller()
         WHERE o.id = latest.id;
        RETURN latest.id;
    END IF;
    -- A sighting older than the latest one, of another certificate, is kept
    -- as history; it does not become the object's current state.
    INSERT INTO @extschema@.ssl_observation(object_type, object_id, fingerprint_sha256, certificate_id, common_name, valid_to,
         first_seen_at, last_seen_at, recorded_by)
    VALUES (object_type, object_id, cert.fingerprint_sha256, known, cert.common_name, cert.valid_to,
            observed_at, observed_at, netbox_ssl_internal.ssl_caller())
    RETURNING id INTO result;
    RETURN result;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_record_observation_parsed(object_type text, object_id bigint, cert @extschema@.ssl_certificate_info, observed_at timestamp with time zone) IS 'Internal to ssl_record_observation: records a parsed certificate as seen on an object.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_record_observation_parsed(object_type text, object_id bigint, cert @extschema@.ssl_certificate_info, observed_at timestamp with time zone) FROM PUBLIC;

CREATE FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, der bytea, observed_at timestamp with time zone DEFAULT now()) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
    SELECT netbox_ssl_internal.ssl_record_observation_parsed($1, $2, netbox_ssl_internal.ssl_parse($3), $4)
$_$;

COMMENT ON FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, der bytea, observed_at timestamp with time zone) IS 'A scanner reports the certificate (DER) an object served at observed_at; returns the ssl_observation id it was folded into.';

REVOKE ALL ON FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, der bytea, observed_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, der bytea, observed_at timestamp with time zone) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, pem text, observed_at timestamp with time zone DEFAULT now()) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
    SELECT netbox_ssl_internal.ssl_record_observation_parsed($1, $2, netbox_ssl_internal.ssl_parse($3), $4)
$_$;

COMMENT ON FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, pem text, observed_at timestamp with time zone) IS 'A scanner reports the certificate (PEM; the leaf of a chain) an object served at observed_at; returns the ssl_observation id it was folded into.';

REVOKE ALL ON FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, pem text, observed_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, pem text, observed_at timestamp with time zone) TO netbox_ssl_operator;

CREATE VIEW @extschema@.ssl_outbox_backlog AS
 SELECT s.name AS consumer,
    s.subscribed_at,
    count(d.outbox_id) AS pending,
    min(o.created_at) AS oldest_pending,
    s.owner
   FROM ((@extschema@.ssl_outbox_consumer s
     LEFT JOIN @extschema@.ssl_outbox_delivery d ON ((d.consumer = s.name)))
     LEFT JOIN @extschema@.ssl_outbox o ON ((o.id = d.outbox_id)))
  GROUP BY s.name, s.subscribed_at, s.owner;

COMMENT ON VIEW @extschema@.ssl_outbox_backlog IS 'Per consumer: how many outbox rows it has not acknowledged yet (including rows a live worker holds claimed), when the oldest was published, and its owner role.';

GRANT SELECT ON TABLE @extschema@.ssl_outbox_backlog TO netbox_ssl_reader;

CREATE VIEW @extschema@.ssl_deployment_drift AS
 WITH latest AS (
         SELECT DISTINCT ON (o.object_type, o.object_id) o.id,
            o.object_type,
            o.object_id,
            o.fingerprint_sha256,
            o.certificate_id,
            o.common_name,
            o.valid_to,
            o.first_seen_at,
            o.last_seen_at,
            o.times_seen,
            o.recorded_by
           FROM @extschema@.ssl_observation o
          ORDER BY o.object_type, o.object_id, o.last_seen_at DESC, o.id DESC
        )
 SELECT a.id AS assignment_id,
    a.object_type,
    a.object_id,
    a.certificate_id AS assigned_certificate_id,
    ac.status AS assigned_status,
    ac.fingerprint_sha256 AS assigned_fingerprint_sha256,
    l.fingerprint_sha256 AS observed_fingerprint_sha256,
    oc.id AS observed_certificate_id,
    oc.status AS observed_status,
    l.common_name AS observed_common_name,
    l.valid_to AS observed_valid_to,
    l.last_seen_at AS observed_at,
        CASE
            WHEN (oc.status = 'replaced'::text) THEN 'serving_replaced'::text
            WHEN (l.valid_to < now()) THEN 'serving_expired'::text
            WHEN (oc.id IS NULL) THEN 'serving_unknown'::text
            ELSE 'serving_other'::text
        END AS reason
   FROM (((@extschema@.ssl_assignment a
     JOIN latest l ON (((l.object_type = a.object_type) AND (l.object_id = a.object_id))))
     JOIN @extschema@.ssl_certificate ac ON ((ac.id = a.certificate_id)))
     LEFT JOIN @extschema@.ssl_certificate oc ON ((oc.fingerprint_sha256 = l.fingerprint_sha256)))
  WHERE (NOT (EXISTS ( SELECT 1
           FROM (@extschema@.ssl_assignment a2
             JOIN @extschema@.ssl_certificate c2 ON ((c2.id = a2.certificate_id)))
          WHERE ((a2.object_type = a.object_type) AND (a2.object_id = a.object_id) AND (c2.fingerprint_sha256 = l.fingerprint_sha256)))));

COMMENT ON VIEW @extschema@.ssl_deployment_drift IS 'Assignments whose object was last seen serving a certificate that is not assigned to it (renewed on paper, not on the wire): one row per assignment of such an object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assignment_id IS 'The assignment (ssl_assignment.id).';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.object_type IS 'Kind of object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.object_id IS 'Id of the object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assigned_certificate_id IS 'The certificate the inventory says the object serves.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assigned_status IS 'Status of the assigned certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.assigned_fingerprint_sha256 IS 'Fingerprint of the assigned certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_fingerprint_sha256 IS 'Fingerprint of the certificate last seen on the object.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_certificate_id IS 'The inventory row of the served certificate; NULL if the inventory does not hold it.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_status IS 'Status of the served certificate in the inventory.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_common_name IS 'common_name of the served certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_valid_to IS 'notAfter of the served certificate.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.observed_at IS 'When the object was last seen serving it.';
COMMENT ON COLUMN @extschema@.ssl_deployment_drift.reason IS 'serving_replaced (a certificate since renewed), serving_expired, serving_unknown (not in the inventory), serving_other (an inventory certificate not assigned here).';

GRANT SELECT ON TABLE @extschema@.ssl_deployment_drift TO netbox_ssl_reader;
