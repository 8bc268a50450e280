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

-- Item 2: NOTIFY carries ids and the event type only. Any role can LISTEN
-- (NOTIFY has no privileges), so the notification is a wake-up, not data:
-- {"id": <event and outbox id>, "certificate_id": ..., "type": ...}.
-- The full payload stays in ssl_outbox.payload, which only netbox_ssl_reader
-- can read, and comes back from ssl_outbox_claim.
--
-- Item 6: consumers have an owner, and subscribing takes no lock that
-- conflicts with event inserts. Each outbox row records the publishing
-- transaction (xid) and the snapshot of the statement that queued it for the
-- consumers it could see (published_snapshot). Each consumer records its
-- subscribing transaction (subscribed_xid) and the snapshot of its backfill
-- (since). A row and a consumer that could not see each other (both
-- transactions in flight at once) are found later, exactly, from these
-- values: the consumer's first claims "catch up" once every transaction that
-- was running when the subscription committed has ended, and queue those rows
-- (at most once: such a row was never queued for the consumer before).

ALTER TABLE @extschema@.ssl_outbox
    ADD COLUMN xid xid8,
    ADD COLUMN published_snapshot pg_snapshot;
COMMENT ON COLUMN @extschema@.ssl_outbox.xid IS 'The publishing transaction (pg_current_xact_id()); NULL for rows published before 1.5. Used to queue rows published concurrently with a subscription.';
COMMENT ON COLUMN @extschema@.ssl_outbox.published_snapshot IS 'Snapshot of the statement that queued the row for the consumers it could see; NULL for rows published before 1.5.';
COMMENT ON COLUMN @extschema@.ssl_outbox.payload IS 'The message (text fields cut to 200 characters, see "truncated"), returned by ssl_outbox_claim. NOTIFY ssl_lifecycle carries only id, certificate_id and type.';

ALTER TABLE @extschema@.ssl_outbox_consumer
    ADD COLUMN owner regrole,
    ADD COLUMN subscribed_xid xid8,
    ADD COLUMN since pg_snapshot,
    ADD COLUMN catch_up_horizon xid8,
    ADD COLUMN caught_up boolean NOT NULL DEFAULT true;
COMMENT ON TABLE @extschema@.ssl_outbox_consumer IS
    'Named outbox consumers, each owned by the role that subscribed it. Each receives every event published after it subscribed, plus every row still in the outbox when it subscribed.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.owner IS 'The role that subscribed the consumer: it, its members and netbox_ssl_admin may claim, acknowledge and unsubscribe. NULL (consumers created before 1.5): administrators only, until ssl_outbox_set_owner hands it over.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.subscribed_xid IS 'The subscribing transaction; NULL before 1.5.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.since IS 'Snapshot of the subscription''s backfill: rows it could not see are queued by the publish trigger or by the catch-up.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.catch_up_horizon IS 'The xid of the first claim after the subscription committed: every transaction that could have published without seeing the consumer has a smaller xid. Later claims catch up once all of those have ended.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.caught_up IS 'false until rows published concurrently with the subscription have been queued (by a claim, once the transactions below catch_up_horizon have ended).';

-- Consumers that exist at the upgrade have no known owner: admin-only.
-- (New columns are NULL, caught_up true: they subscribed under 1.4's lock.)

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_publish() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
    sent bigint;
BEGIN
    -- One statement, one snapshot: published_snapshot is exactly the
    -- snapshot with which the consumer list below is read.
    WITH published AS (
        INSERT INTO @extschema@.ssl_outbox (id, certificate_id, event_type, payload, xid, published_snapshot)
        SELECT n.id, n.certificate_id, n.event_type,
               jsonb_build_object(
                   'id', n.id,
                   'certificate_id', n.certificate_id,
                   'type', left(n.event_type, 200),
                   'old_status', left(n.old_status, 200),
                   'new_status', left(n.new_status, 200),
                   'related_certificate_id', n.related_certificate_id,
                   'common_name', left(c.common_name, 200),
                   'actor', left(n.actor, 200),
                   'on_behalf_of', left(n.on_behalf_of, 200),
                   'occurred_at', to_char(n.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'threshold', CASE WHEN n.event_type = 'expiring' THEN
                                    (SELECT a.threshold FROM @extschema@.ssl_expiry_alert a WHERE a.event_id = n.id) END,
                   'truncated', coalesce(greatest(length(n.event_type), length(n.old_status), length(n.new_status),
                                                  length(c.common_name), length(n.actor),
                                                  length(n.on_behalf_of)) > 200, false)),
               pg_current_xact_id(), pg_current_snapshot()
          FROM new_rows n
          LEFT JOIN @extschema@.ssl_certificate c ON c.id = n.certificate_id
         WHERE n.occurred_at >= now()
         ORDER BY n.id
        RETURNING id, certificate_id, event_type
    ), queued AS (
        INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
        SELECT s.name, p.id FROM published p CROSS JOIN @extschema@.ssl_outbox_consumer s
    )
    SELECT count(pg_notify('ssl_lifecycle',
                           jsonb_build_object('id', p.id, 'certificate_id', p.certificate_id,
                                              'type', left(p.event_type, 200))::text))
      INTO sent FROM published p;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_publish() IS
    'Trigger function: copies new lifecycle events (those dated at or after the transaction start) into ssl_outbox with their JSON payload, queues them for every consumer it can see and sends NOTIFY ssl_lifecycle with only the ids and the type ({"id", "certificate_id", "type"}); all in the writing transaction.';

-- Who may use a consumer: its owner role, members of it, administrators.
-- The caller is ssl_caller() (the role outside SECURITY DEFINER functions,
-- following SET ROLE and SET SESSION AUTHORIZATION), not current_user.
CREATE FUNCTION @extschema@.ssl_outbox_check_owner(consumer text, owner regrole) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    caller text := @extschema@.ssl_caller();
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
COMMENT ON FUNCTION @extschema@.ssl_outbox_check_owner(text, regrole) IS
    'Internal: raises 42501 unless the calling role (ssl_caller()) is a member of the consumer''s owner or of netbox_ssl_admin.';

-- Rows published concurrently with the subscription that neither side could
-- see. Called by claim and ack with the consumer row; cheap once caught up.
CREATE FUNCTION @extschema@.ssl_outbox_catch_up(consumer text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
COMMENT ON FUNCTION @extschema@.ssl_outbox_catch_up(text) IS
    'Internal: queues, once, the outbox rows published concurrently with the consumer''s subscription that neither the backfill nor the publish trigger could see; waits (by returning 0) until every transaction that might still publish such a row has ended.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
        me := (SELECT r.oid FROM pg_roles r WHERE r.rolname = @extschema@.ssl_caller())::regrole;
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
        INSERT INTO @extschema@.ssl_outbox_consumer (name, owner, subscribed_xid, caught_up)
        VALUES (ssl_outbox_subscribe.consumer, me, pg_current_xact_id(), false)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            WITH mark AS (
                UPDATE @extschema@.ssl_outbox_consumer s SET since = pg_current_snapshot()
                 WHERE s.name = ssl_outbox_subscribe.consumer
            )
            INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
            SELECT ssl_outbox_subscribe.consumer, o.id FROM @extschema@.ssl_outbox o;
            SELECT count(*) INTO queued FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_subscribe.consumer;
            RETURN queued;
        END IF;
        -- Subscribed concurrently by someone else (committed meanwhile).
        SELECT s.owner INTO existing FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_subscribe.consumer;
    END IF;
    PERFORM @extschema@.ssl_outbox_check_owner(ssl_outbox_subscribe.consumer, existing);
    SELECT count(*) INTO queued FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_subscribe.consumer;
    RETURN queued;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_subscribe(text) IS
    'Registers a consumer owned by the calling role if it is new, queueing every row still in the outbox for it (a new consumer starts from the beginning of the outbox); returns how many rows it has pending. Takes no lock that blocks writers: events published concurrently are queued by the publish trigger or by the consumer''s first claims. A role other than netbox_ssl_admin may own at most 8 consumers (54000 beyond). An existing consumer of another role raises 42501.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer DEFAULT 100)
    RETURNS TABLE (id bigint, certificate_id bigint, event_type text, payload jsonb, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
        PERFORM @extschema@.ssl_outbox_subscribe(ssl_outbox_claim.consumer);
    ELSE
        PERFORM @extschema@.ssl_outbox_check_owner(ssl_outbox_claim.consumer, s.owner);
        IF NOT s.caught_up THEN
            PERFORM @extschema@.ssl_outbox_catch_up(ssl_outbox_claim.consumer);
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
COMMENT ON FUNCTION @extschema@.ssl_outbox_claim(text, integer) IS
    'Returns up to max outbox rows that consumer has not acknowledged, oldest first, and locks them (FOR UPDATE SKIP LOCKED on the consumer''s own queue rows) until the calling transaction ends: other workers of the same consumer skip them, other consumers are not affected. Unacknowledged rows become claimable again when the transaction ends (at-least-once). Subscribes an unknown consumer first (owned by the caller). Only the owner, its members and netbox_ssl_admin may claim (42501).';

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
    PERFORM @extschema@.ssl_outbox_check_owner(ssl_outbox_ack.consumer, s.owner);
    DELETE FROM @extschema@.ssl_outbox_delivery d
     WHERE d.consumer = ssl_outbox_ack.consumer AND d.outbox_id = ANY (ids);
    GET DIAGNOSTICS acked = ROW_COUNT;
    RETURN acked;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_ack(text, bigint[]) IS
    'Acknowledges outbox rows for consumer (takes effect when the calling transaction commits); returns how many were still pending. Ids already acknowledged or unknown are ignored. P0002 for an unknown consumer; 42501 unless the caller is the owner, a member of it or netbox_ssl_admin.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
    PERFORM @extschema@.ssl_outbox_check_owner(ssl_outbox_unsubscribe.consumer, s.owner);
    SELECT count(*) INTO dropped FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_unsubscribe.consumer;
    DELETE FROM @extschema@.ssl_outbox_consumer c WHERE c.name = ssl_outbox_unsubscribe.consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_unsubscribe.consumer USING ERRCODE = 'P0002';
    END IF;
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_unsubscribe(text) IS
    'Removes a consumer and its pending deliveries (so ssl_outbox_prune can remove those rows); returns how many were pending. Its owner, members of the owner and netbox_ssl_admin may do it (42501 otherwise); P0002 for an unknown consumer.';

CREATE FUNCTION @extschema@.ssl_outbox_set_owner(consumer text, owner regrole) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
COMMENT ON FUNCTION @extschema@.ssl_outbox_set_owner(text, regrole) IS
    'Administrators: hands a consumer to another role (NULL: administrators only), e.g. the consumers that existed before 1.5. Not counted against the per-role limit of 8.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_prune(older_than interval DEFAULT '30 days') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
COMMENT ON FUNCTION @extschema@.ssl_outbox_prune(interval) IS
    'Administrators: deletes outbox rows published more than older_than ago that every consumer has acknowledged (rows some consumer still has pending, or has yet to catch up, are kept); returns the count. The lifecycle history itself is untouched.';

CREATE OR REPLACE VIEW @extschema@.ssl_outbox_backlog AS
SELECT s.name AS consumer,
       s.subscribed_at,
       count(d.outbox_id) AS pending,
       min(o.created_at) AS oldest_pending,
       s.owner
  FROM @extschema@.ssl_outbox_consumer s
  LEFT JOIN @extschema@.ssl_outbox_delivery d ON d.consumer = s.name
  LEFT JOIN @extschema@.ssl_outbox o ON o.id = d.outbox_id
 GROUP BY s.name, s.subscribed_at, s.owner;
COMMENT ON VIEW @extschema@.ssl_outbox_backlog IS
    'Per consumer: how many outbox rows it has not acknowledged yet (including rows a live worker holds claimed), when the oldest was published, and its owner role.';

-- Item 9: at most 32 thresholds.
CREATE OR REPLACE FUNCTION @extschema@.ssl_expiry_scan(thresholds integer[] DEFAULT '{90,60,30,14,7,1}')
    RETURNS TABLE (certificate_id bigint, threshold integer, event text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
COMMENT ON FUNCTION @extschema@.ssl_expiry_scan(integer[]) IS
    'Expiry alerts that fire on crossing: for each active certificate, logs one expiring event (which reaches the outbox) for the smallest threshold (days before valid_to) it is within and has not been alerted for, recording larger ones as covered; marks active certificates past valid_to expired (one expired event, as ssl_refresh_status would). Returns what it emitted; running it again emits nothing new. Thresholds are a set of at most 32 whole days from 1 to 36500 (order and duplicates ignored); NULL, empty, more than 32 elements, NULL elements or values out of range raise 22023.';

-- Privileges: operators may now unsubscribe (their own consumers); the
-- internal helpers are not callable by anyone but the owner.
REVOKE ALL ON FUNCTION
    @extschema@.ssl_outbox_check_owner(text, regrole), @extschema@.ssl_outbox_catch_up(text),
    @extschema@.ssl_outbox_set_owner(text, regrole)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_outbox_unsubscribe(text) TO netbox_ssl_operator;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_outbox_set_owner(text, regrole) TO netbox_ssl_admin;
GRANT SELECT ON @extschema@.ssl_outbox_backlog TO netbox_ssl_reader;


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
-- Its BEFORE ROW triggers (ssl_assignment_lock_target_insert/_update) lock
-- the target FOR SHARE before the row and its unique-index entry exist, so
-- that every writer takes the certificate first and assignment rows after it,
-- as renew and revert do. With the lock taken only at statement end, a revert
-- moving rows back onto its predecessor and an insert still running onto that
-- certificate waited for each other's index entries and locks (40P01).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_assignment_check_target() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad_id bigint;
    bad_status text;
    successor bigint;
    next_id bigint;
BEGIN
    -- Per row (BEFORE): target FOR SHARE before the row exists (lock order: certificate, then rows).
    IF TG_LEVEL = 'ROW' THEN PERFORM 1 FROM @extschema@.ssl_certificate c WHERE c.id = NEW.certificate_id FOR SHARE OF c; RETURN NEW; END IF;
    -- Per statement: wait for a renewal or revert of the targets (FOR NO KEY UPDATE), then read their committed status.
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
    'Trigger function: per row (BEFORE), locks the target certificate FOR SHARE before the assignment row exists, so every writer locks the certificate before assignment rows; per statement (AFTER), waits for a renewal or revert of the target certificates (FOR SHARE), then refuses assignments written for a replaced, revoked or archived certificate (for a replaced one, naming the certificate that replaced it).';

CREATE TRIGGER ssl_assignment_lock_target_insert BEFORE INSERT ON @extschema@.ssl_assignment
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_assignment_check_target();
COMMENT ON TRIGGER ssl_assignment_lock_target_insert ON @extschema@.ssl_assignment IS
    'Locks the target certificate FOR SHARE before the row is inserted (lock order: certificate, then assignment rows).';
CREATE TRIGGER ssl_assignment_lock_target_update BEFORE UPDATE OF certificate_id ON @extschema@.ssl_assignment
    FOR EACH ROW WHEN (OLD.certificate_id IS DISTINCT FROM NEW.certificate_id AND @extschema@.ssl_internal_get('moving') IS NULL)
    EXECUTE FUNCTION @extschema@.ssl_assignment_check_target();
COMMENT ON TRIGGER ssl_assignment_lock_target_update ON @extschema@.ssl_assignment IS
    'Locks the new target certificate FOR SHARE before the row is moved (lock order: certificate, then assignment rows); skipped for the moves of ssl_renew and ssl_revert_renewal, which hold their targets already.';

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
    -- Rows locked in unique-index order first, as ssl_renew does.
    UPDATE @extschema@.ssl_assignment a SET certificate_id = predecessor.id
      FROM (SELECT l.id FROM @extschema@.ssl_assignment l WHERE l.certificate_id = new_id
             ORDER BY l.object_type, l.object_id FOR NO KEY UPDATE) l
     WHERE a.id = l.id;
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

-- replaced_by keeps "at most one predecessor" through a partial unique index.
-- A plain unique index makes replaced_by a key column: setting it would then
-- need FOR UPDATE on the row the renewal holds FOR NO KEY UPDATE, waiting for
-- the KEY SHARE lock that a concurrent assignment insert's foreign key holds
-- while that insert waits for the renewal: a deadlock (found by the Janus
-- load test). Columns of partial indexes are not key columns.
DROP INDEX @extschema@.ssl_certificate_replaced_by_key;
CREATE UNIQUE INDEX ssl_certificate_replaced_by_key ON @extschema@.ssl_certificate (replaced_by)
    WHERE replaced_by IS NOT NULL;
COMMENT ON INDEX @extschema@.ssl_certificate_replaced_by_key IS
    'A certificate has at most one predecessor. Partial, so that replaced_by is not a key column and setting it needs no lock beyond FOR NO KEY UPDATE.';

-- (end of part C)

-- ===========================================================================
-- Part D: key material in logs, issuer_chain validation, issuer lookup
-- (security items 5, 7, 8)
-- ===========================================================================

-- (1) Item 7: issuer_chain holds certificates only. One C check (size 54000,
-- private key 22023, anything but decodable CERTIFICATE blocks 22P02), used
-- by a trigger on every write path (ssl_import, ssl_renew and
-- ssl_import_bundle insert through SQL too, so they pass the same trigger),
-- by the compliance check and by the candidate lookup. Rows stored before
-- 1.5 are left as they are: validation reports them invalid.
CREATE FUNCTION @extschema@.ssl_issuer_chain_check(chain text, raise_error boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'ssl_issuer_chain_check'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION @extschema@.ssl_issuer_chain_check(text, boolean) IS
    'Internal: checks an issuer_chain value ('''' or PEM CERTIFICATE blocks that decode, no private key, at most netbox_ssl.max_input_bytes). With raise_error it raises 54000, 22023 or 22P02; without, it returns the problem as one sentence, NULL when the chain is acceptable.';
REVOKE ALL ON FUNCTION @extschema@.ssl_issuer_chain_check(text, boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@.ssl_certificate_issuer_chain_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.issuer_chain <> ''
       AND (TG_OP = 'INSERT' OR NEW.issuer_chain IS DISTINCT FROM OLD.issuer_chain) THEN
        PERFORM @extschema@.ssl_issuer_chain_check(NEW.issuer_chain, true);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_issuer_chain_check() IS
    'Trigger: refuses an issuer_chain that is not PEM CERTIFICATE blocks (22P02), holds a private key (22023) or is larger than netbox_ssl.max_input_bytes (54000).';
REVOKE ALL ON FUNCTION @extschema@.ssl_certificate_issuer_chain_check() FROM PUBLIC;
CREATE TRIGGER ssl_certificate_issuer_chain_check BEFORE INSERT OR UPDATE OF issuer_chain ON @extschema@.ssl_certificate
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_certificate_issuer_chain_check();
COMMENT ON TRIGGER ssl_certificate_issuer_chain_check ON @extschema@.ssl_certificate IS
    'issuer_chain holds certificates only, whichever path writes it (security item 7).';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuer_chain IS
    'The other certificates of the imported bundle as PEM, ordered leaf to root; '''' for none. Only decodable PEM CERTIFICATE blocks, no private key, at most netbox_ssl.max_input_bytes (checked on every write since 1.5).';

-- (2) Item 8: issuer candidates by name. Instead of handing every stored CA
-- certificate to OpenSSL for every validation, the candidates are found
-- through indexes: CA certificates whose subject is the issuer name (any
-- letter case) or whose subjectKeyIdentifier is the authorityKeyIdentifier
-- of the leaf or of a certificate of its issuer_chain, then the issuers of
-- those candidates, up to 8 levels up and at most 64 certificates.
CREATE INDEX ssl_certificate_ca_subject_idx ON @extschema@.ssl_certificate USING hash (lower(subject)) WHERE is_ca;
COMMENT ON INDEX @extschema@.ssl_certificate_ca_subject_idx IS
    'CA certificates by subject name (lower case): issuer candidates for chain validation. Hash, so no name is too long for it.';

CREATE FUNCTION @extschema@.ssl_chain_candidates(issuer text, authority_key_id text, issuer_chain text)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- Names (lower case) and key identifiers to look for, level by level.
    names text[] := ARRAY[lower(ssl_chain_candidates.issuer)];
    keys text[] := ARRAY[ssl_chain_candidates.authority_key_id];
    found bigint[] := '{}';
    level_ids bigint[];
BEGIN
    IF ssl_chain_candidates.issuer_chain <> ''
       AND @extschema@.ssl_issuer_chain_check(ssl_chain_candidates.issuer_chain, false) IS NULL THEN
        SELECT names || array_agg(lower(p.issuer)), keys || array_agg(p.authority_key_id)
          INTO names, keys
          FROM unnest(@extschema@.ssl_chain_split_pem(ssl_chain_candidates.issuer_chain)) AS d(der),
               LATERAL @extschema@.ssl_parse(d.der) AS p;
    END IF;
    FOR level IN 1..8 LOOP
        -- One indexed lookup per level (hash index on lower(subject), btree
        -- on subject_key_id, both for CA certificates only).
        SELECT array_agg(c.id ORDER BY c.id),
               array_agg(lower(c.issuer)) FILTER (WHERE lower(c.issuer) <> lower(c.subject)),
               array_agg(c.authority_key_id) FILTER (WHERE lower(c.issuer) <> lower(c.subject))
          INTO level_ids, names, keys
          FROM (SELECT x.id, x.subject, x.issuer, x.authority_key_id
                  FROM @extschema@.ssl_certificate AS x
                 WHERE x.is_ca AND (lower(x.subject) = ANY (names) OR x.subject_key_id = ANY (keys))
                   AND x.status <> 'revoked' AND x.id <> ALL (found)
                 LIMIT 64) AS c;  -- no ORDER BY: it would invite a scan in id order
        EXIT WHEN level_ids IS NULL;
        found := found || level_ids;
        EXIT WHEN cardinality(found) >= 64 OR names IS NULL;
    END LOOP;
    IF cardinality(found) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT string_agg(c.pem_content, E'\n' ORDER BY c.id)
              FROM @extschema@.ssl_certificate AS c WHERE c.id = ANY (found[1:64]));
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_chain_candidates(text, text, text) IS
    'Internal: the PEM of the stored, not revoked CA certificates that can issue a certificate with this issuer name and authority key identifier (or a certificate of its issuer_chain), found through indexes, then their issuers, up to 8 levels and 64 certificates; NULL when none.';
REVOKE ALL ON FUNCTION @extschema@.ssl_chain_candidates(text, text, text) FROM PUBLIC;

-- The verifier with the candidates as a separate argument (per-call
-- intermediates after the issuer_chain, to which the issuer_chain rules do
-- not apply: they are stored certificates). With an empty pool, the
-- backend's cached X509_STORE holds the anchors only and is reused while
-- they are unchanged.
CREATE FUNCTION @extschema@.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[],
                                             at timestamptz, hostname text, candidates text,
                                             OUT status text, OUT depth integer, OUT message text, OUT chain text[])
    RETURNS record
    AS 'MODULE_PATHNAME', 'ssl_chain_verify'
    LANGUAGE C IMMUTABLE PARALLEL SAFE COST 20000;
COMMENT ON FUNCTION @extschema@.ssl_chain_verify(text, text, text[], bytea[], timestamptz, text, text) IS
    'Internal: validates the PEM leaf with its PEM issuer_chain (an unusable one gives status invalid), the PEM candidates, the PEM pool of intermediates and the DER anchors at a time, for an optional host name or IP. The store is cached per backend while pool and anchors are unchanged.';
REVOKE ALL ON FUNCTION @extschema@.ssl_chain_verify(text, text, text[], bytea[], timestamptz, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamptz DEFAULT now(), hostname text DEFAULT NULL)
RETURNS TABLE(status text, depth integer, message text, chain text[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp COST 50000 ROWS 1 AS $$
DECLARE
    cert record;
    r record;
BEGIN
    IF ssl_validate_chain.id IS NULL THEN
        RAISE EXCEPTION 'id must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF ssl_validate_chain.at IS NULL OR NOT isfinite(ssl_validate_chain.at) THEN
        RAISE EXCEPTION 'the validation time must be a finite timestamp' USING ERRCODE = '22023';
    END IF;
    SELECT c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id INTO cert
      FROM @extschema@.ssl_certificate AS c WHERE c.id = ssl_validate_chain.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_validate_chain.id USING ERRCODE = 'P0002';
    END IF;
    -- The issuer_chain, then the stored CA certificates that can be its
    -- issuers (found by name and key identifier); the trust store holds the
    -- anchors only, so it stays cached while they are unchanged.
    r := @extschema@.ssl_chain_verify(
            cert.pem_content, cert.issuer_chain, '{}',
            coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}'),
            ssl_validate_chain.at, ssl_validate_chain.hostname,
            @extschema@.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain));
    -- Only a check of the certificate as it stands (now, no host name) is
    -- stored, and only for callers who may write (operators and admins);
    -- readers get the answer without a write.
    IF ssl_validate_chain.at = now() AND ssl_validate_chain.hostname IS NULL
       AND pg_catalog.pg_has_role(@extschema@.ssl_caller(), 'netbox_ssl_operator', 'MEMBER') THEN
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = ssl_validate_chain.at,
               chain_message = r.message, chain_depth = r.depth
         WHERE c.id = ssl_validate_chain.id;
    END IF;
    status := r.status;
    depth := r.depth;
    message := r.message;
    chain := r.chain;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_validate_chain(bigint, timestamptz, text) IS
    'Validates a stored certificate''s chain with OpenSSL''s path builder and the web-PKI rules: intermediates from its issuer_chain and from the stored CA certificates that can issue it (looked up by name and key identifier), anchors from ssl_trust_anchor, at a time, for an optional host name or IP. An unusable stored issuer_chain is reported as invalid. Stores the result on the certificate when called at now() without a host name by an operator or admin.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_validate_all() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp COST 1000000 AS $$
DECLARE
    anchors bytea[];
    cert record;
    r record;
    n integer := 0;
    t timestamptz := now();
BEGIN
    -- Read once: the C function keeps one X509_STORE of the anchors for
    -- every call. Intermediates are looked up per certificate by name, so
    -- the cost does not grow with unrelated CA certificates.
    anchors := coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}');
    FOR cert IN SELECT c.id, c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id
                  FROM @extschema@.ssl_certificate AS c
                 WHERE c.status = 'active' ORDER BY c.id LOOP
        -- A bad stored issuer_chain is a verdict (invalid), never an error.
        r := @extschema@.ssl_chain_verify(
                cert.pem_content, cert.issuer_chain, '{}', anchors, t, NULL,
                @extschema@.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain));
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = t, chain_message = r.message, chain_depth = r.depth
         WHERE c.id = cert.id;
        n := n + 1;
        IF n % 10000 = 0 THEN
            RAISE NOTICE 'ssl_validate_all: % certificates validated', n;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_validate_all() IS
    'Validates and stores the chain of every active certificate at now(); returns the number validated, with a NOTICE every 10,000. Builds the trust store once per call; issuer candidates are looked up per certificate by name and key identifier. A certificate with an unusable issuer_chain is stored as invalid and the run goes on.';

-- (3) chain_required passes only on a usable chain (a stored issuer_chain of
-- decodable certificates), a valid stored validation, or a self-signed
-- certificate. Complete current definition; CREATE OR REPLACE keeps the
-- privileges of 1.4.
CREATE OR REPLACE FUNCTION @extschema@.ssl_check_compliance(id bigint DEFAULT NULL)
    RETURNS TABLE (certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    only_id bigint := ssl_check_compliance.id;
BEGIN
    IF only_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_certificate c WHERE c.id = only_id) THEN
        RAISE EXCEPTION 'certificate % does not exist', only_id USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
    WITH checked AS MATERIALIZED (
        SELECT c.id, c.tenant, c.algorithm, c.key_size, c.valid_from, c.valid_to, c.signature_algorithm,
               c.sans, c.common_name, c.issuer, c.subject, c.spki_sha256, (c.issuer_chain <> ''
                AND @extschema@.ssl_issuer_chain_check(c.issuer_chain, false) IS NULL) AS has_chain,
               c.chain_status = 'valid' AS chain_valid,
               CASE c.algorithm WHEN 'rsa' THEN 'RSA' WHEN 'ecdsa' THEN 'ECDSA' WHEN 'dsa' THEN 'DSA'
                                WHEN 'ed25519' THEN 'Ed25519' WHEN 'ed448' THEN 'Ed448' ELSE 'unknown' END AS alg_name
          FROM @extschema@.ssl_certificate c
         WHERE CASE WHEN only_id IS NULL THEN c.status = 'active' ELSE c.id = only_id END
    ), pol AS MATERIALIZED (
        SELECT p.id, p.name, p.policy_type, p.severity, p.parameters, p.tenant
          FROM @extschema@.ssl_compliance_policy p WHERE p.enabled
    ), applicable AS NOT MATERIALIZED (
        -- Inlined into each branch, so each joins the certificates to the
        -- few policies of its type instead of filtering one big product.
        SELECT c.*, p.id AS pid, p.name AS pname, p.policy_type AS ptype, p.severity AS psev, p.parameters AS prm
          FROM checked c JOIN pol p ON p.tenant IS NULL OR p.tenant = c.tenant
    ), hashes AS MATERIALIZED (
        -- A handful of distinct names: the regular expressions run once per
        -- name (inlined, they ran once per certificate: 1 s per 10,000).
        SELECT d.signature_algorithm, @extschema@.ssl_signature_hash(d.signature_algorithm) AS hash
          FROM (SELECT DISTINCT c.signature_algorithm FROM checked c) d
    ), res (cid, pid, pname, ptype, psev, failed, msg) AS (
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               CASE WHEN m.min IS NULL THEN false ELSE a.key_size IS NULL OR a.key_size < m.min END,
               CASE WHEN m.min IS NULL THEN format('%s keys are not covered by this policy.', a.alg_name)
                    WHEN a.key_size IS NULL THEN format('%s key size is unknown; the minimum is %s bits.', a.alg_name, m.min)
                    WHEN a.key_size < m.min THEN format('%s key of %s bits is below the minimum of %s.', a.alg_name, a.key_size, m.min)
                    ELSE format('%s key of %s bits meets the minimum of %s.', a.alg_name, a.key_size, m.min) END
          FROM applicable a CROSS JOIN LATERAL (SELECT (a.prm ->> a.algorithm)::integer AS min) m
         WHERE a.ptype = 'min_key_size'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer),
               format(CASE WHEN a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer)
                           THEN 'Validity of %s days exceeds the maximum of %s.'
                           ELSE 'Validity of %s days is within the maximum of %s.' END,
                      ceil((extract(epoch FROM a.valid_to - a.valid_from) + 1) / 86400), a.prm ->> 'max_days')
          FROM applicable a WHERE a.ptype = 'max_validity_days'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is allowed.', a.alg_name)
                    ELSE format('Key algorithm %s is not allowed (allowed: %s).', a.alg_name,
                                (SELECT string_agg(e, ', ') FROM jsonb_array_elements_text(a.prm -> 'algorithms') e)) END
          FROM applicable a WHERE a.ptype = 'algorithm_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is forbidden.', a.alg_name)
                    ELSE format('Key algorithm %s is not forbidden.', a.alg_name) END
          FROM applicable a WHERE a.ptype = 'algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               coalesce((a.prm -> 'algorithms') ? h.hash, false),
               CASE WHEN coalesce((a.prm -> 'algorithms') ? h.hash, false)
                    THEN format('Signature algorithm %s uses the forbidden hash %s.', a.signature_algorithm, upper(h.hash))
                    WHEN h.hash IS NULL THEN format('Signature algorithm %s names no hash, so none of the forbidden ones.', a.signature_algorithm)
                    ELSE format('Signature algorithm %s uses %s, which is not forbidden.', a.signature_algorithm, upper(h.hash)) END
          FROM applicable a JOIN hashes h ON h.signature_algorithm = a.signature_algorithm
         WHERE a.ptype = 'signature_algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer),
               CASE WHEN a.valid_to < now()
                    THEN format('Expired %s days ago.', floor(extract(epoch FROM now() - a.valid_to) / 86400))
                    WHEN a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer)
                    THEN format('Expires in %s days, within the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days')
                    ELSE format('Expires in %s days, outside the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days') END
          FROM applicable a WHERE a.ptype = 'expiry_warning'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               cardinality(a.sans) < (a.prm ->> 'min_count')::integer,
               format(CASE WHEN cardinality(a.sans) < (a.prm ->> 'min_count')::integer
                           THEN 'SAN count %s is below the required %s.'
                           ELSE 'SAN count %s meets the required %s.' END,
                      cardinality(a.sans), a.prm ->> 'min_count')
          FROM applicable a WHERE a.ptype = 'san_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches none of the allowed issuers.', a.issuer)
                    ELSE format('Issuer %s matches the allowed issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NOT NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches no forbidden issuer.', a.issuer)
                    ELSE format('Issuer %s matches the forbidden issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               w.name IS NOT NULL,
               CASE WHEN w.name IS NULL THEN 'No wildcard names.'
                    ELSE format('Wildcard name %s is forbidden.', w.name) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT coalesce(
                 (SELECT substr(s, 5) FROM unnest(a.sans) WITH ORDINALITY AS u(s, n)
                   WHERE s LIKE 'DNS:%*%' ORDER BY n LIMIT 1),
                 CASE WHEN strpos(a.common_name, '*') > 0 THEN a.common_name END) AS name) w
         WHERE a.ptype = 'wildcard_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT a.has_chain AND a.chain_valid IS NOT TRUE AND a.subject <> a.issuer,
               CASE WHEN a.has_chain THEN 'An issuer chain is stored.'
                    WHEN a.chain_valid THEN 'The chain was validated from the trust store and stored CA certificates.'
                    WHEN a.subject = a.issuer THEN 'Self-signed, so no issuer chain is needed.'
                    ELSE 'No issuer chain is stored.' END
          FROM applicable a WHERE a.ptype = 'chain_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               r.pred IS NOT NULL,
               CASE WHEN r.pred IS NULL THEN 'Does not reuse the key of a certificate it replaced.'
                    ELSE format('Renewal kept the key of certificate %s, which it replaced.', r.pred) END
          FROM applicable a
          CROSS JOIN LATERAL (
              SELECT min(x.pred) AS pred FROM (
                  SELECT o.id AS pred FROM @extschema@.ssl_certificate o
                   WHERE o.replaced_by = a.id AND o.spki_sha256 = a.spki_sha256
                  UNION ALL
                  SELECT o.id FROM @extschema@.ssl_lifecycle_event e
                    JOIN @extschema@.ssl_certificate o ON o.id = e.related_certificate_id
                   WHERE e.certificate_id = a.id AND e.event_type = 'activated' AND o.spki_sha256 = a.spki_sha256
              ) x) r
         WHERE a.ptype = 'key_reuse_forbidden'
    ), stored AS (
        INSERT INTO @extschema@.ssl_compliance_result AS t (certificate_id, policy_id, result, severity, message, changed_at)
        SELECT r.cid, r.pid, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg, now()
          FROM res r
          LEFT JOIN @extschema@.ssl_compliance_result o ON o.certificate_id = r.cid AND o.policy_id = r.pid
         -- One hash join skips the unchanged results (most of them, at
         -- every run after the first) instead of one conflict probe each.
         WHERE o.certificate_id IS NULL
            OR (o.result, o.severity, o.message)
               IS DISTINCT FROM (CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg)
        ON CONFLICT ON CONSTRAINT ssl_compliance_result_pkey DO UPDATE
           SET result = excluded.result, severity = excluded.severity, message = excluded.message,
               changed_at = excluded.changed_at
         -- An unchanged result is not rewritten: a check of 100,000
         -- certificates would otherwise write a million row versions.
         WHERE (t.result, t.severity, t.message) IS DISTINCT FROM (excluded.result, excluded.severity, excluded.message)
        RETURNING 1
    ), stale AS (
        DELETE FROM @extschema@.ssl_compliance_result t
         WHERE (only_id IS NULL OR t.certificate_id = only_id)
           AND NOT EXISTS (SELECT 1 FROM res r WHERE r.cid = t.certificate_id AND r.pid = t.policy_id)
        RETURNING 1
    )
    SELECT r.cid, r.pname, r.ptype, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg
      FROM res r;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_check_compliance(bigint) IS
    'Checks one certificate (any status; P0002 if it does not exist) or, with no id, every active certificate against every enabled policy that applies to its tenant; stores the latest result per certificate and policy, removes results that no longer apply (with no id: also those of certificates no longer active), and returns the results (unordered). chain_required passes on a stored issuer_chain of decodable certificates, a valid stored chain validation, or a self-signed certificate.';

-- (4) Item 5: ssl_renewal_preview parses the replacement (and so refuses a
-- private key, with the statement hidden from the log) before it looks up
-- old_id, so no error raised before the key scan copies the key into the
-- server log. The other PL/pgSQL and SQL entry points that take certificate
-- text already parse it first.
CREATE OR REPLACE FUNCTION @extschema@.ssl_renewal_preview(old_id bigint, pem text)
RETURNS TABLE(field text, current_value text, new_value text, matches boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    nxt @extschema@.ssl_certificate_info := @extschema@.ssl_parse(pem);
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
COMMENT ON FUNCTION @extschema@.ssl_renewal_preview(bigint, text) IS
    'The Janus comparison of a stored certificate and a replacement: one row per field, with whether it matches. No side effects. The replacement is parsed (and a private key refused) before old_id is looked up.';

-- (end of part D)


-- ===========================================================================
-- Part F: the NetBox bridge (issue "NetBox bridge")
-- ===========================================================================

-- The bridge keeps the NetBox SSL plugin's tables (netbox_ssl_certificate,
-- netbox_ssl_certificateassignment, netbox_ssl_certificatelifecycleevent in
-- NetBox's database) and this inventory in step, in the same transaction,
-- in both directions. See docs/netbox.md.
-- Every function of the bridge runs with jit = off: callers such as
-- ssl_import plan with enable_seqscan = off, which makes even a one-row
-- lookup look expensive enough to be JIT-compiled (30 ms per statement).
-- The row-at-a-time ones also run with enable_seqscan = off and custom
-- plans only: a generic plan cached while ssl_certificate or
-- ssl_netbox_link was small scanned the whole table for every row (attach
-- slowed down quadratically); a custom plan sees the lookup's value and the
-- table's current size and takes the unique index.
-- Loop rule: every trigger writes only what differs between the two sides
-- (state comparison), so a change that arrives from one side finds the
-- other side already equal when it comes back, and stops there. No setting
-- is consulted.

CREATE TABLE @extschema@.ssl_netbox_bridge (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    plugin_schema name NOT NULL,
    attached      boolean NOT NULL,
    attached_at   timestamptz,
    detached_at   timestamptz
);
COMMENT ON TABLE @extschema@.ssl_netbox_bridge IS
    'The NetBox bridge''s state: at most one row, naming the schema of NetBox''s tables and whether the bridge is attached (written by ssl_netbox_attach and ssl_netbox_detach).';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.singleton IS 'Always true: the table holds one row.';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.plugin_schema IS 'The schema of the NetBox SSL plugin''s tables and NetBox''s core tables.';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.attached IS 'Whether changes are mirrored (triggers installed on NetBox''s tables).';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.attached_at IS 'When ssl_netbox_attach last ran.';
COMMENT ON COLUMN @extschema@.ssl_netbox_bridge.detached_at IS 'When ssl_netbox_detach last ran.';

CREATE TABLE @extschema@.ssl_netbox_link (
    netbox_certificate_id bigint PRIMARY KEY,
    certificate_id        bigint NOT NULL
        CONSTRAINT ssl_netbox_link_certificate_key UNIQUE
        REFERENCES @extschema@.ssl_certificate (id),
    linked_at             timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.ssl_netbox_link IS
    'Which NetBox SSL plugin certificate (netbox_ssl_certificate.id) is which certificate of this inventory. Written only by the bridge.';
COMMENT ON COLUMN @extschema@.ssl_netbox_link.netbox_certificate_id IS 'The plugin''s netbox_ssl_certificate.id.';
COMMENT ON COLUMN @extschema@.ssl_netbox_link.certificate_id IS 'ssl_certificate.id of the same certificate (same SHA-256 fingerprint).';
COMMENT ON COLUMN @extschema@.ssl_netbox_link.linked_at IS 'When the two rows were linked.';
COMMENT ON CONSTRAINT ssl_netbox_link_certificate_key ON @extschema@.ssl_netbox_link IS
    'A certificate has at most one NetBox twin.';

CREATE TABLE @extschema@.ssl_netbox_unlinked (
    certificate_id        bigint PRIMARY KEY REFERENCES @extschema@.ssl_certificate (id),
    netbox_certificate_id bigint NOT NULL,
    unlinked_at           timestamptz NOT NULL DEFAULT now(),
    reason                text NOT NULL
);
COMMENT ON TABLE @extschema@.ssl_netbox_unlinked IS
    'Certificates of this inventory whose NetBox twin was deleted in NetBox: kept here with their history, and not reported by ssl_netbox_check as missing in NetBox.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.certificate_id IS 'The certificate that lost its NetBox twin.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.netbox_certificate_id IS 'The id the twin had in NetBox.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.unlinked_at IS 'When it was unlinked.';
COMMENT ON COLUMN @extschema@.ssl_netbox_unlinked.reason IS 'Why, e.g. deleted in NetBox.';

-- A NetBox row being imported, for the duration of the import inside its
-- own trigger: lets our insert trigger link that row instead of creating
-- one (its fingerprint text may differ, e.g. empty or lower case). Rows
-- never outlive the statement, so other sessions never see one.
CREATE UNLOGGED TABLE @extschema@.ssl_netbox_importing (
    fingerprint_sha256    text PRIMARY KEY,
    netbox_certificate_id bigint NOT NULL
);
COMMENT ON TABLE @extschema@.ssl_netbox_importing IS
    'Internal (NetBox bridge): the NetBox row whose PEM is being imported right now (empty outside that moment).';
COMMENT ON COLUMN @extschema@.ssl_netbox_importing.fingerprint_sha256 IS 'Fingerprint of the certificate being imported.';
COMMENT ON COLUMN @extschema@.ssl_netbox_importing.netbox_certificate_id IS 'The NetBox row it comes from.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_netbox_bridge', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_netbox_link', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_netbox_unlinked', '');

REVOKE ALL ON @extschema@.ssl_netbox_bridge, @extschema@.ssl_netbox_link, @extschema@.ssl_netbox_unlinked FROM PUBLIC;
GRANT SELECT ON @extschema@.ssl_netbox_bridge, @extschema@.ssl_netbox_link, @extschema@.ssl_netbox_unlinked
   TO netbox_ssl_reader;

-- ---------------------------------------------------------------------------
-- Internal helpers (no EXECUTE for PUBLIC; called by the bridge's own
-- SECURITY DEFINER functions and triggers).
-- ---------------------------------------------------------------------------

-- The attached schema, or NULL: the one-row early exit of every trigger on
-- this extension's tables.
CREATE FUNCTION @extschema@.ssl_netbox_attached_schema() RETURNS name
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT b.plugin_schema FROM @extschema@.ssl_netbox_bridge b WHERE b.attached
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_attached_schema() IS
    'Internal (NetBox bridge): the schema of NetBox''s tables while the bridge is attached, else NULL.';

-- What the bridge needs in NetBox's schema: (table, column) pairs; a column
-- of NULL stands for the table itself.
CREATE FUNCTION @extschema@.ssl_netbox_missing(plugin_schema name)
    RETURNS TABLE (table_name text, column_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    WITH need(t, c) AS (VALUES
        ('django_content_type', 'id'), ('django_content_type', 'app_label'), ('django_content_type', 'model'),
        ('tenancy_tenant', 'id'), ('tenancy_tenant', 'slug'),
        ('dcim_device', 'id'), ('dcim_device', 'name'),
        ('virtualization_virtualmachine', 'id'), ('virtualization_virtualmachine', 'name'),
        ('ipam_service', 'id'), ('ipam_service', 'name'),
        ('ipam_service', 'parent_object_type_id'), ('ipam_service', 'parent_object_id'),
        ('netbox_ssl_certificate', 'id'), ('netbox_ssl_certificate', 'created'),
        ('netbox_ssl_certificate', 'last_updated'), ('netbox_ssl_certificate', 'custom_field_data'),
        ('netbox_ssl_certificate', 'comments'), ('netbox_ssl_certificate', 'common_name'),
        ('netbox_ssl_certificate', 'serial_number'), ('netbox_ssl_certificate', 'fingerprint_sha256'),
        ('netbox_ssl_certificate', 'issuer'), ('netbox_ssl_certificate', 'issuer_chain'),
        ('netbox_ssl_certificate', 'valid_from'), ('netbox_ssl_certificate', 'valid_to'),
        ('netbox_ssl_certificate', 'sans'), ('netbox_ssl_certificate', 'key_size'),
        ('netbox_ssl_certificate', 'algorithm'), ('netbox_ssl_certificate', 'status'),
        ('netbox_ssl_certificate', 'private_key_location'), ('netbox_ssl_certificate', 'pem_content'),
        ('netbox_ssl_certificate', 'replaced_by_id'), ('netbox_ssl_certificate', 'tenant_id'),
        ('netbox_ssl_certificate', 'chain_status'), ('netbox_ssl_certificate', 'chain_validation_message'),
        ('netbox_ssl_certificate', 'is_acme'), ('netbox_ssl_certificate', 'acme_provider'),
        ('netbox_ssl_certificate', 'acme_account_email'), ('netbox_ssl_certificate', 'acme_challenge_type'),
        ('netbox_ssl_certificate', 'acme_server_url'), ('netbox_ssl_certificate', 'acme_auto_renewal'),
        ('netbox_ssl_certificate', 'acme_renewal_days'), ('netbox_ssl_certificate', 'archive_pinned'),
        ('netbox_ssl_certificate', 'archived_at'), ('netbox_ssl_certificate', 'renewal_note'),
        ('netbox_ssl_certificate', 'external_id'), ('netbox_ssl_certificate', 'source_removed'),
        ('netbox_ssl_certificate', 'ari_cert_id'), ('netbox_ssl_certificate', 'ari_explanation_url'),
        ('netbox_ssl_certificate', 'discovered_via_url'),
        ('netbox_ssl_certificateassignment', 'id'), ('netbox_ssl_certificateassignment', 'created'),
        ('netbox_ssl_certificateassignment', 'last_updated'), ('netbox_ssl_certificateassignment', 'custom_field_data'),
        ('netbox_ssl_certificateassignment', 'assigned_object_id'), ('netbox_ssl_certificateassignment', 'is_primary'),
        ('netbox_ssl_certificateassignment', 'notes'), ('netbox_ssl_certificateassignment', 'assigned_object_type_id'),
        ('netbox_ssl_certificateassignment', 'certificate_id'),
        ('netbox_ssl_certificatelifecycleevent', 'event_type'), ('netbox_ssl_certificatelifecycleevent', 'timestamp'),
        ('netbox_ssl_certificatelifecycleevent', 'description'), ('netbox_ssl_certificatelifecycleevent', 'old_status'),
        ('netbox_ssl_certificatelifecycleevent', 'new_status'), ('netbox_ssl_certificatelifecycleevent', 'actor'),
        ('netbox_ssl_certificatelifecycleevent', 'certificate_id'),
        ('netbox_ssl_certificatelifecycleevent', 'related_certificate_id'))
    SELECT n.t, CASE WHEN r.oid IS NULL THEN NULL ELSE n.c END
      FROM need n
      LEFT JOIN pg_class r ON r.relname = n.t AND r.relkind IN ('r', 'p')
           AND r.relnamespace = (SELECT ns.oid FROM pg_namespace ns WHERE ns.nspname = plugin_schema)
      LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attname = n.c AND a.attnum > 0 AND NOT a.attisdropped
     WHERE a.attnum IS NULL
     GROUP BY 1, 2
     ORDER BY 1, 2
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_missing(name) IS
    'Internal (NetBox bridge): the NetBox tables (column NULL) and columns the bridge uses that plugin_schema lacks.';

-- The django_content_type id of an object type written app_label.model.
CREATE FUNCTION @extschema@.ssl_netbox_content_type(plugin_schema name, object_type text) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    ct integer;
BEGIN
    EXECUTE format('SELECT id FROM %I.django_content_type WHERE app_label = split_part($1, ''.'', 1)'
                   ' AND model = substr($1, length(split_part($1, ''.'', 1)) + 2)', plugin_schema)
       INTO ct USING object_type;
    IF ct IS NULL OR object_type NOT IN ('dcim.device', 'ipam.service', 'virtualization.virtualmachine') THEN
        RAISE EXCEPTION 'object type "%" is not one NetBox can assign certificates to', object_type
            USING ERRCODE = '22023',
                  HINT = 'Certificates linked to NetBox are assigned to dcim.device, ipam.service or virtualization.virtualmachine.';
    END IF;
    RETURN ct;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_content_type(name, text) IS
    'Internal (NetBox bridge): django_content_type.id of app_label.model; 22023 for a type NetBox certificates cannot be assigned to.';

-- The NetBox object's name (as the plugin prints it in its events), NULL if it does not exist.
CREATE FUNCTION @extschema@.ssl_netbox_object_name(plugin_schema name, object_type text, object_id bigint,
                                                   OUT present boolean, OUT name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    EXECUTE format('SELECT true, name::text FROM %I.%I WHERE id = $1', plugin_schema,
                   CASE object_type WHEN 'dcim.device' THEN 'dcim_device'
                                    WHEN 'ipam.service' THEN 'ipam_service'
                                    ELSE 'virtualization_virtualmachine' END)
       INTO present, name USING object_id;
    present := coalesce(present, false);
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_object_name(name, text, bigint) IS
    'Internal (NetBox bridge): whether a NetBox device, service or VM exists, and its name.';

-- One plugin lifecycle event, in the plugin's own columns and wording.
CREATE FUNCTION @extschema@.ssl_netbox_plugin_event(plugin_schema name, netbox_certificate_id bigint, event_type text,
                                                    description text, old_status text DEFAULT '',
                                                    new_status text DEFAULT '', related bigint DEFAULT NULL)
    RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description,'
                   ' old_status, new_status, actor, certificate_id, related_certificate_id)'
                   ' VALUES ($1, now(), $2, $3, $4, $5, $6, $7)', plugin_schema)
    USING event_type, description, coalesce(old_status, ''), coalesce(new_status, ''),
          left(@extschema@.ssl_caller(), 150), netbox_certificate_id, related;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_plugin_event(name, bigint, text, text, text, text, bigint) IS
    'Internal (NetBox bridge): writes one event into the plugin''s netbox_ssl_certificatelifecycleevent (actor = the calling role).';

-- The plugin's derived columns for one of our certificates, in the
-- plugin's formats (ssl_netbox_fields, Part G, defined further down this
-- script), from the stored PEM and chain.
CREATE FUNCTION @extschema@.ssl_netbox_plugin_fields(certificate_id bigint,
    OUT common_name text, OUT serial_number text, OUT fingerprint_sha256 text, OUT issuer text,
    OUT valid_from timestamptz, OUT valid_to timestamptz, OUT sans text[], OUT key_size integer,
    OUT algorithm text, OUT pem_content text, OUT issuer_chain text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    SELECT f.* INTO common_name, serial_number, fingerprint_sha256, issuer, valid_from, valid_to, sans,
                    key_size, algorithm, pem_content, issuer_chain
      FROM @extschema@.ssl_certificate c,
           @extschema@.ssl_netbox_fields(rtrim(c.pem_content, E'\n')
               || CASE WHEN c.issuer_chain <> '' THEN E'\n' || c.issuer_chain ELSE '' END) f
     WHERE c.id = certificate_id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_plugin_fields(bigint) IS
    'Internal (NetBox bridge): the NetBox SSL plugin''s derived columns for one of our certificates, in the plugin''s formats (ssl_netbox_fields).';

-- Links one plugin row to our inventory: imports its PEM, or links the row
-- already stored with the same fingerprint. Returns our id, or NULL for a
-- plugin row without PEM. reconcile: also settle the status (see docs).
CREATE FUNCTION @extschema@.ssl_netbox_link_row(plugin_schema name, netbox_certificate_id bigint,
                                                reconcile boolean DEFAULT true, known_fingerprint text DEFAULT NULL)
    RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    p record;
    pem text;
    -- COLLATE "default": a function with a name argument (plugin_schema)
    -- takes collation "C" for its text variables, and a comparison in "C"
    -- cannot use the unique index on ssl_certificate.fingerprint_sha256
    -- (default collation): every lookup walked the whole table, which made
    -- attach and linked NetBox inserts quadratic.
    fp text COLLATE "default";
    ours bigint;
    other bigint;
    imported boolean := false;
BEGIN
    EXECUTE format('SELECT c.pem_content, c.issuer_chain, c.private_key_location, c.status, t.slug::text AS tenant'
                   '  FROM %1$I.netbox_ssl_certificate c LEFT JOIN %1$I.tenancy_tenant t ON t.id = c.tenant_id'
                   ' WHERE c.id = $1', plugin_schema)
       INTO p USING netbox_certificate_id;
    IF p.pem_content IS NULL OR btrim(p.pem_content) = '' THEN
        RETURN NULL;
    END IF;
    pem := p.pem_content || CASE WHEN coalesce(p.issuer_chain, '') <> '' THEN E'\n' || p.issuer_chain ELSE '' END;
    fp := coalesce(known_fingerprint, (@extschema@.ssl_parse(pem)).fingerprint_sha256);   -- 22023 key material, 22P02 malformed
    SELECT c.id, l.netbox_certificate_id INTO ours, other
      FROM @extschema@.ssl_certificate c
      LEFT JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = c.id
     WHERE c.fingerprint_sha256 = fp;
    IF other IS NOT NULL AND other <> netbox_certificate_id THEN
        RAISE EXCEPTION 'NetBox certificate % holds the certificate with fingerprint %, which is already linked to NetBox certificate %', netbox_certificate_id, fp, other
            USING ERRCODE = '23505',
                  HINT = format('Certificate %s of the inventory is NetBox certificate %s; use that row.', ours, other);
    END IF;
    IF ours IS NULL THEN
        -- Only while attached does our insert trigger look for the NetBox row
        -- (ssl_netbox_attach links with the trigger quiet).
        IF EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_bridge b WHERE b.attached) THEN
            INSERT INTO @extschema@.ssl_netbox_importing VALUES (fp, netbox_certificate_id);
            ours := @extschema@.ssl_import(pem, nullif(p.private_key_location, ''), p.tenant);
            DELETE FROM @extschema@.ssl_netbox_importing i WHERE i.fingerprint_sha256 = fp;
        ELSE
            ours := @extschema@.ssl_import(pem, nullif(p.private_key_location, ''), p.tenant);
        END IF;
        imported := true;
    END IF;
    INSERT INTO @extschema@.ssl_netbox_link (netbox_certificate_id, certificate_id)
    VALUES (netbox_certificate_id, ours) ON CONFLICT DO NOTHING;
    DELETE FROM @extschema@.ssl_netbox_unlinked u WHERE u.certificate_id = ours;
    IF reconcile THEN
        PERFORM @extschema@.ssl_netbox_settle_status(plugin_schema, netbox_certificate_id, ours, imported);
    END IF;
    RETURN ours;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_link_row(name, bigint, boolean, text) IS
    'Internal (NetBox bridge): imports or links one plugin certificate by its PEM (22023 key material, 22P02 malformed, 23505 fingerprint linked to another plugin row); returns our id, NULL without PEM.';

-- Settles a newly linked pair's status. The plugin writes 'active' for every
-- new certificate; ours follows the dates. A plugin 'active' takes our
-- status (expired / pending); any other plugin status is applied to ours if
-- our state machine allows it, and otherwise the plugin takes ours.
CREATE FUNCTION @extschema@.ssl_netbox_settle_status(plugin_schema name, netbox_certificate_id bigint,
                                                     certificate_id bigint, fresh boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    p_status text;
    o_status text;
BEGIN
    EXECUTE format('SELECT status FROM %I.netbox_ssl_certificate WHERE id = $1', plugin_schema)
       INTO p_status USING netbox_certificate_id;
    SELECT c.status INTO o_status FROM @extschema@.ssl_certificate c WHERE c.id = certificate_id;
    IF p_status = o_status OR p_status = 'replaced' THEN
        RETURN;   -- replaced: settled with its successor
    END IF;
    IF NOT (fresh AND p_status = 'active') THEN
        BEGIN
            UPDATE @extschema@.ssl_certificate c SET status = p_status WHERE c.id = certificate_id;
            RETURN;
        EXCEPTION WHEN object_not_in_prerequisite_state OR check_violation THEN
            NULL;   -- our state machine refuses: NetBox takes our status
        END;
    END IF;
    EXECUTE format('UPDATE %I.netbox_ssl_certificate SET status = $2, last_updated = now(),'
                   ' archived_at = CASE WHEN $2 = ''archived'' THEN now() ELSE archived_at END WHERE id = $1',
                   plugin_schema)
      USING netbox_certificate_id, o_status;
    PERFORM @extschema@.ssl_netbox_plugin_event(plugin_schema, netbox_certificate_id,
        CASE WHEN o_status IN ('revoked', 'archived') THEN o_status ELSE 'status_changed' END,
        format('Status changed from %s to %s', p_status, o_status), p_status, o_status);
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_settle_status(name, bigint, bigint, boolean) IS
    'Internal (NetBox bridge): settles the status of a newly linked pair (NetBox''s active takes our date-based status; other statuses go to ours when our state machine allows).';

-- The Janus renewal onto an existing successor row, recorded as ssl_renew
-- records it (renewed / activated events, assignments moved, the old row
-- replaced). SQL twin of ssl_renew's steps 1, 2, 4, 5, 6 (src/pg/janus.cpp):
-- the successor already exists (imported from NetBox's row), so step 3 is
-- not run. Assignments the successor already has (NetBox copied them) are
-- removed from the old certificate instead of moved.
CREATE FUNCTION @extschema@.ssl_netbox_renew_onto(old_id bigint, new_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    o @extschema@.ssl_certificate;
    n_status text;
    moved bigint;
BEGIN
    SELECT * INTO o FROM @extschema@.ssl_certificate c WHERE c.id = old_id FOR NO KEY UPDATE;
    IF o.status = 'replaced' THEN
        IF o.replaced_by = new_id THEN
            RETURN;
        END IF;
        RAISE EXCEPTION 'certificate % was already replaced by certificate %', old_id, o.replaced_by
            USING ERRCODE = '55000', HINT = 'Renew the successor instead.';
    END IF;
    IF o.status NOT IN ('active', 'expired') THEN
        RAISE EXCEPTION 'certificate % is %; only active or expired certificates can be renewed', old_id, o.status
            USING ERRCODE = '55000';
    END IF;
    SELECT c.status INTO n_status FROM @extschema@.ssl_certificate c WHERE c.id = new_id FOR NO KEY UPDATE;
    IF n_status NOT IN ('active', 'pending', 'expired') THEN
        RAISE EXCEPTION 'certificate % is %, so it cannot replace certificate %', new_id, n_status, old_id
            USING ERRCODE = '55000';
    END IF;
    SELECT count(*) INTO moved FROM @extschema@.ssl_assignment a WHERE a.certificate_id = old_id;
    DELETE FROM @extschema@.ssl_assignment a
     WHERE a.certificate_id = old_id
       AND EXISTS (SELECT 1 FROM @extschema@.ssl_assignment b
                    WHERE b.certificate_id = new_id AND b.object_type = a.object_type AND b.object_id = a.object_id);
    UPDATE @extschema@.ssl_assignment a SET certificate_id = new_id
      FROM (SELECT l.id FROM @extschema@.ssl_assignment l WHERE l.certificate_id = old_id
             ORDER BY l.object_type, l.object_id FOR NO KEY UPDATE) l
     WHERE a.id = l.id;
    INSERT INTO @extschema@.ssl_lifecycle_event
        (certificate_id, event_type, old_status, new_status, related_certificate_id, description)
    VALUES (old_id, 'renewed', o.status, 'replaced', new_id,
            format('Renewed: replaced by certificate %s; %s assignment(s) moved', new_id, moved)),
           (new_id, 'activated', NULL, 'active', old_id, format('Activated as the renewal of certificate %s', old_id));
    UPDATE @extschema@.ssl_certificate c SET status = 'replaced', replaced_by = new_id WHERE c.id = old_id;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_renew_onto(bigint, bigint) IS
    'Internal (NetBox bridge): records the renewal of old_id by the existing certificate new_id exactly as ssl_renew records it (locks, preconditions, renewed/activated events, assignments moved, old replaced).';

-- A plugin certificate was deleted: unlink ours, archive it when our state
-- machine allows (expired, replaced, revoked), keep its history.
CREATE FUNCTION @extschema@.ssl_netbox_forget(netbox_certificate_id bigint, reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    ours bigint;
BEGIN
    DELETE FROM @extschema@.ssl_netbox_link l WHERE l.netbox_certificate_id = ssl_netbox_forget.netbox_certificate_id
    RETURNING l.certificate_id INTO ours;
    IF ours IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO @extschema@.ssl_netbox_unlinked (certificate_id, netbox_certificate_id, reason)
    VALUES (ours, ssl_netbox_forget.netbox_certificate_id, reason)
    ON CONFLICT (certificate_id) DO UPDATE
       SET netbox_certificate_id = EXCLUDED.netbox_certificate_id, unlinked_at = now(), reason = EXCLUDED.reason;
    DELETE FROM @extschema@.ssl_assignment a WHERE a.certificate_id = ours;
    UPDATE @extschema@.ssl_certificate c SET status = 'archived'
     WHERE c.id = ours AND c.status IN ('expired', 'replaced', 'revoked');
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_forget(bigint, text) IS
    'Internal (NetBox bridge): a NetBox certificate was deleted: unlinks our twin, removes its assignments, archives it when the state machine allows, keeps its history.';

-- ---------------------------------------------------------------------------
-- NetBox -> ours: triggers installed by ssl_netbox_attach on NetBox's tables
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_netbox_on_plugin_certificate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name := TG_TABLE_SCHEMA;
    ours bigint;
    ours_fp text;
    o @extschema@.ssl_certificate;
    successor bigint;
    a record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM @extschema@.ssl_netbox_forget(OLD.id, 'deleted in NetBox');
        RETURN NULL;
    END IF;
    SELECT l.certificate_id INTO ours FROM @extschema@.ssl_netbox_link l WHERE l.netbox_certificate_id = NEW.id;
    IF TG_OP = 'INSERT' OR NEW.pem_content IS DISTINCT FROM OLD.pem_content
       OR NEW.issuer_chain IS DISTINCT FROM OLD.issuer_chain THEN
        IF ours IS NULL THEN
            ours := @extschema@.ssl_netbox_link_row(s, NEW.id, true);
        ELSIF TG_OP = 'UPDATE' AND NEW.pem_content IS DISTINCT FROM OLD.pem_content THEN
            SELECT c.fingerprint_sha256 INTO ours_fp FROM @extschema@.ssl_certificate c WHERE c.id = ours;
            IF btrim(coalesce(NEW.pem_content, '')) = ''
               OR (@extschema@.ssl_parse(NEW.pem_content)).fingerprint_sha256 <> ours_fp THEN
                RAISE EXCEPTION 'NetBox certificate % cannot be edited to hold another certificate', NEW.id
                    USING ERRCODE = '55000',
                          HINT = 'Import the new certificate as a new row, or renew it (Renew & Transfer).';
            END IF;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR ours IS NULL
       OR (NEW.status, NEW.replaced_by_id) IS NOT DISTINCT FROM (OLD.status, OLD.replaced_by_id) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO o FROM @extschema@.ssl_certificate c WHERE c.id = ours;
    IF NEW.status = 'replaced' AND NEW.replaced_by_id IS NOT NULL
       AND (OLD.status <> 'replaced' OR OLD.replaced_by_id IS DISTINCT FROM NEW.replaced_by_id) THEN
        -- The plugin's Renew & Transfer (or ours, coming back).
        SELECT l.certificate_id INTO successor FROM @extschema@.ssl_netbox_link l
         WHERE l.netbox_certificate_id = NEW.replaced_by_id;
        IF successor IS NULL THEN
            RAISE EXCEPTION 'NetBox certificate % cannot be replaced by NetBox certificate %, which is not linked to the inventory (it has no PEM content)', NEW.id, NEW.replaced_by_id
                USING ERRCODE = '55000';
        END IF;
        BEGIN
            PERFORM @extschema@.ssl_netbox_renew_onto(ours, successor);
        EXCEPTION WHEN object_not_in_prerequisite_state THEN
            RAISE EXCEPTION 'NetBox certificate % cannot be replaced by NetBox certificate %', NEW.id, NEW.replaced_by_id
                USING ERRCODE = '55000', DETAIL = format('Inventory: %s.', SQLERRM);
        END;
        -- Complete the transfer as a move: what NetBox copied stays only on
        -- the successor (ours already removed the copies, which removed
        -- NetBox's through the write-through; this catches the rest).
        FOR a IN EXECUTE format('SELECT a.id, a.assigned_object_type_id, a.assigned_object_id,'
                                '       EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b'
                                '                WHERE b.certificate_id = $2'
                                '                  AND b.assigned_object_type_id = a.assigned_object_type_id'
                                '                  AND b.assigned_object_id = a.assigned_object_id) AS copied'
                                '  FROM %1$I.netbox_ssl_certificateassignment a WHERE a.certificate_id = $1', s)
                 USING NEW.id, NEW.replaced_by_id LOOP
            IF a.copied THEN
                EXECUTE format('DELETE FROM %I.netbox_ssl_certificateassignment WHERE id = $1', s) USING a.id;
            ELSE
                EXECUTE format('UPDATE %I.netbox_ssl_certificateassignment SET certificate_id = $2, last_updated = now()'
                               ' WHERE id = $1', s) USING a.id, NEW.replaced_by_id;
            END IF;
        END LOOP;
        RETURN NULL;
    END IF;
    IF NEW.status = OLD.status OR NEW.status = o.status THEN
        RETURN NULL;   -- successor link cleared by a delete, or already in step
    END IF;
    BEGIN
        UPDATE @extschema@.ssl_certificate c SET status = NEW.status WHERE c.id = ours;
    EXCEPTION WHEN object_not_in_prerequisite_state OR check_violation THEN
        RAISE EXCEPTION 'NetBox certificate % cannot change status from % to %', NEW.id, OLD.status, NEW.status
            USING ERRCODE = '55000', DETAIL = format('Inventory: %s.', SQLERRM),
                  HINT = 'Allowed: pending to active, expired or revoked; active to expired, replaced (by Renew & Transfer) or revoked; expired to replaced, revoked or archived; replaced to archived; revoked to archived.';
    END;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_on_plugin_certificate() IS
    'Trigger function (NetBox bridge, on netbox_ssl_certificate): imports or links new rows, mirrors status changes under the state machine, records Renew & Transfer as a Janus renewal and completes it as a move, unlinks and archives on delete.';

CREATE FUNCTION @extschema@.ssl_netbox_on_plugin_assignment() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name := TG_TABLE_SCHEMA;
    old_cert bigint;
    new_cert bigint;
    old_type text;
    new_type text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT l.certificate_id INTO old_cert FROM @extschema@.ssl_netbox_link l
         WHERE l.netbox_certificate_id = OLD.certificate_id;
        EXECUTE format('SELECT app_label || ''.'' || model FROM %I.django_content_type WHERE id = $1', s)
           INTO old_type USING OLD.assigned_object_type_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT l.certificate_id INTO new_cert FROM @extschema@.ssl_netbox_link l
         WHERE l.netbox_certificate_id = NEW.certificate_id;
        EXECUTE format('SELECT app_label || ''.'' || model FROM %I.django_content_type WHERE id = $1', s)
           INTO new_type USING NEW.assigned_object_type_id;
    END IF;
    IF TG_OP = 'UPDATE' AND old_cert IS NOT NULL AND new_cert IS NOT NULL THEN
        UPDATE @extschema@.ssl_assignment a
           SET certificate_id = new_cert, object_type = new_type, object_id = NEW.assigned_object_id,
               is_primary = NEW.is_primary, notes = nullif(NEW.notes, '')
         WHERE a.certificate_id = old_cert AND a.object_type = old_type AND a.object_id = OLD.assigned_object_id
           AND (a.certificate_id, a.object_type, a.object_id, a.is_primary, a.notes)
               IS DISTINCT FROM (new_cert, new_type, NEW.assigned_object_id, NEW.is_primary, nullif(NEW.notes, ''));
        IF FOUND OR EXISTS (SELECT 1 FROM @extschema@.ssl_assignment a WHERE a.certificate_id = new_cert
                              AND a.object_type = new_type AND a.object_id = NEW.assigned_object_id) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF old_cert IS NOT NULL AND TG_OP = 'DELETE' THEN
        DELETE FROM @extschema@.ssl_assignment a
         WHERE a.certificate_id = old_cert AND a.object_type = old_type AND a.object_id = OLD.assigned_object_id;
    END IF;
    IF new_cert IS NOT NULL THEN
        INSERT INTO @extschema@.ssl_assignment (certificate_id, object_type, object_id, is_primary, notes)
        VALUES (new_cert, new_type, NEW.assigned_object_id, NEW.is_primary, nullif(NEW.notes, ''))
        ON CONFLICT (certificate_id, object_type, object_id) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_on_plugin_assignment() IS
    'Trigger function (NetBox bridge, on netbox_ssl_certificateassignment): mirrors assignments added, changed or removed in NetBox (with their events on our side).';

-- A NetBox device, VM or service deleted: its assignments go on both sides
-- (for a device or VM, those of its services too), with assignment_removed.
CREATE FUNCTION @extschema@.ssl_netbox_on_object_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name := TG_TABLE_SCHEMA;
    object_type text := TG_ARGV[0];
    targets bigint[];
    service_ids bigint[] := '{}';
    r record;
BEGIN
    IF object_type <> 'ipam.service' THEN
        EXECUTE format('SELECT coalesce(array_agg(v.id), ''{}'') FROM %I.ipam_service v'
                       ' WHERE v.parent_object_type_id = $1 AND v.parent_object_id = $2', s)
           INTO service_ids USING @extschema@.ssl_netbox_content_type(s, object_type), OLD.id;
    END IF;
    FOR r IN SELECT object_type AS t, OLD.id AS o, OLD.name::text AS n
             UNION ALL
             SELECT 'ipam.service', x, NULL FROM unnest(service_ids) x LOOP
        FOR targets IN EXECUTE format(
                'WITH d AS (DELETE FROM %1$I.netbox_ssl_certificateassignment a'
                '            WHERE a.assigned_object_type_id = $1 AND a.assigned_object_id = $2'
                '        RETURNING a.certificate_id)'
                'SELECT array_agg(DISTINCT certificate_id) FROM d', s)
            USING @extschema@.ssl_netbox_content_type(s, r.t), r.o LOOP
            IF targets IS NOT NULL THEN
                EXECUTE format('UPDATE %I.netbox_ssl_certificate SET last_updated = now() WHERE id = ANY ($1)', s)
                  USING targets;
                PERFORM @extschema@.ssl_netbox_plugin_event(s, t, 'assignment_removed',
                            format('Removed from %s: %s', split_part(r.t, '.', 2),
                                   coalesce(r.n, (@extschema@.ssl_netbox_object_name(s, r.t, r.o)).name, 'None')))
                   FROM unnest(targets) t;
            END IF;
        END LOOP;
        DELETE FROM @extschema@.ssl_assignment a WHERE a.object_type = r.t AND a.object_id = r.o;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_on_object_delete() IS
    'Trigger function (NetBox bridge, on dcim_device, virtualization_virtualmachine, ipam_service): deleting an object removes its certificate assignments on both sides (a device''s or VM''s services too), with assignment_removed events.';

-- ---------------------------------------------------------------------------
-- Ours -> NetBox: permanent triggers on this extension's tables; one lookup
-- of ssl_netbox_bridge and out while the bridge is not attached.
-- ---------------------------------------------------------------------------

-- Creates the plugin row for one of our certificates, with the plugin's
-- model defaults and its imported event; links it. Returns the plugin id.
CREATE FUNCTION @extschema@.ssl_netbox_push_certificate(plugin_schema name, certificate_id bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    c @extschema@.ssl_certificate;
    f record;
    pid bigint;
BEGIN
    SELECT * INTO c FROM @extschema@.ssl_certificate x WHERE x.id = certificate_id;
    SELECT * INTO f FROM @extschema@.ssl_netbox_plugin_fields(certificate_id);
    -- The id first, and the link before the row: NetBox's insert trigger
    -- then finds the pair linked and has nothing to import.
    pid := nextval(pg_get_serial_sequence(format('%I.netbox_ssl_certificate', plugin_schema), 'id'));
    INSERT INTO @extschema@.ssl_netbox_link (netbox_certificate_id, certificate_id) VALUES (pid, certificate_id);
    EXECUTE format(
        'INSERT INTO %1$I.netbox_ssl_certificate (id, created, last_updated, custom_field_data, comments, common_name,'
        '  serial_number, fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, key_size, algorithm,'
        '  status, private_key_location, pem_content, replaced_by_id, tenant_id, chain_status,'
        '  chain_validation_message, is_acme, acme_provider, acme_account_email, acme_challenge_type,'
        '  acme_server_url, acme_auto_renewal, acme_renewal_days, archive_pinned, archived_at, renewal_note,'
        '  external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)'
        ' VALUES ($18, now(), now(), ''{}'', NULL, left($1, 255), left($2, 255), $3, left($4, 512), $5, $6, $7, $8, $9, $10,'
        '  $11, left(coalesce($12, ''''), 512), $13, NULL,'
        '  (SELECT t.id FROM %1$I.tenancy_tenant t WHERE t.slug = $14), ''unknown'', '''', $15, left($16, 30),'
        '  '''', '''', '''', false, 30, $17, CASE WHEN $11 = ''archived'' THEN now() END, '''','
        '  '''', false, '''', '''', '''')'
        , plugin_schema)
      USING f.common_name, f.serial_number, f.fingerprint_sha256, f.issuer, coalesce(f.issuer_chain, ''),
            f.valid_from, f.valid_to, f.sans::varchar(255)[], f.key_size, f.algorithm,
            c.status, c.private_key_location, f.pem_content, c.tenant, c.is_acme, coalesce(c.acme_provider, ''),
            c.archive_pinned, pid;
    PERFORM @extschema@.ssl_netbox_plugin_event(plugin_schema, pid, 'imported',
                format('Certificate imported with status %s', c.status), '', c.status);
    RETURN pid;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_push_certificate(name, bigint) IS
    'Internal (NetBox bridge): creates and links the NetBox SSL plugin row (plugin formats, model defaults, imported event) for one of our certificates.';

CREATE FUNCTION @extschema@.ssl_netbox_on_certificate_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name;
    r record;
    pid bigint;
BEGIN
    SELECT b.plugin_schema INTO s FROM @extschema@.ssl_netbox_bridge b WHERE b.attached;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    FOR r IN SELECT n.id, n.fingerprint_sha256 FROM new_rows n
              WHERE NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = n.id)
              ORDER BY n.id LOOP
        SELECT i.netbox_certificate_id INTO pid FROM @extschema@.ssl_netbox_importing i
         WHERE i.fingerprint_sha256 = r.fingerprint_sha256;
        IF pid IS NULL THEN
            EXECUTE format('SELECT id FROM %I.netbox_ssl_certificate WHERE fingerprint_sha256 = $1', s)
               INTO pid USING r.fingerprint_sha256;
        END IF;
        IF pid IS NULL THEN
            PERFORM @extschema@.ssl_netbox_push_certificate(s, r.id);
        ELSE
            -- NetBox's row came first (its insert trigger imported it).
            INSERT INTO @extschema@.ssl_netbox_link (netbox_certificate_id, certificate_id)
            VALUES (pid, r.id) ON CONFLICT DO NOTHING;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_on_certificate_insert() IS
    'Trigger function (NetBox bridge): while attached, every certificate stored here gets its NetBox SSL plugin row (or is linked to the one NetBox just inserted).';

CREATE FUNCTION @extschema@.ssl_netbox_on_certificate_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name;
    r record;
    p_status text;
    p_successor bigint;
    want_successor bigint;
BEGIN
    SELECT b.plugin_schema INTO s FROM @extschema@.ssl_netbox_bridge b WHERE b.attached;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    FOR r IN SELECT n.id, o.status AS old_status, n.status, n.replaced_by, l.netbox_certificate_id AS pid
               FROM new_rows n
               JOIN old_rows o ON o.id = n.id
               JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = n.id
              WHERE (n.status, n.replaced_by) IS DISTINCT FROM (o.status, o.replaced_by)
              ORDER BY n.id LOOP
        EXECUTE format('SELECT status, replaced_by_id FROM %I.netbox_ssl_certificate WHERE id = $1', s)
           INTO p_status, p_successor USING r.pid;
        IF p_status IS NULL THEN
            CONTINUE;   -- NetBox's row is being deleted
        END IF;
        SELECT l.netbox_certificate_id INTO want_successor FROM @extschema@.ssl_netbox_link l
         WHERE l.certificate_id = r.replaced_by;
        IF p_status = r.status AND (p_successor IS NOT DISTINCT FROM want_successor
                                    OR (want_successor IS NULL AND r.status <> 'replaced')) THEN
            CONTINUE;   -- already in step (the change came from NetBox)
        END IF;
        EXECUTE format('UPDATE %I.netbox_ssl_certificate SET status = $2, replaced_by_id = $3, last_updated = now(),'
                       ' archived_at = CASE WHEN $2 = ''archived'' THEN now() ELSE archived_at END WHERE id = $1', s)
          USING r.pid, r.status, want_successor;
        IF r.status = 'replaced' AND want_successor IS NOT NULL THEN
            PERFORM @extschema@.ssl_netbox_plugin_event(s, r.pid, 'renewed',
                        format('Status changed from %s to replaced', p_status), p_status, 'replaced', want_successor);
            PERFORM @extschema@.ssl_netbox_plugin_event(s, want_successor, 'activated',
                        'Activated as the renewal of the replaced certificate', '', 'active', r.pid);
        ELSIF p_status <> r.status THEN
            PERFORM @extschema@.ssl_netbox_plugin_event(s, r.pid,
                        CASE WHEN r.status IN ('revoked', 'archived') THEN r.status ELSE 'status_changed' END,
                        format('Status changed from %s to %s', p_status, r.status), p_status, r.status);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_on_certificate_update() IS
    'Trigger function (NetBox bridge): while attached, status and successor changes of linked certificates are written to NetBox with the plugin''s events.';

CREATE FUNCTION @extschema@.ssl_netbox_on_assignment_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name;
    bad record;
    -- The rows of this statement on linked certificates, as NetBox sees
    -- them: (old pid, new pid, content type, object, is_primary, notes,
    -- object's name). Built per event: transition tables exist per event.
    changes text;
BEGIN
    SELECT b.plugin_schema INTO s FROM @extschema@.ssl_netbox_bridge b WHERE b.attached;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    -- Nothing on a linked certificate changed (e.g. the echo of a change
    -- that came from NetBox, which touched no row): out before planning.
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM new_rows n JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = n.certificate_id) THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = o.certificate_id) THEN
            RETURN NULL;
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                       WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l
                                      WHERE l.certificate_id IN (o.certificate_id, n.certificate_id))) THEN
        RETURN NULL;
    END IF;
    changes := format($q$
        SELECT lo.netbox_certificate_id AS old_pid, ln.netbox_certificate_id AS new_pid,
               coalesce(n.object_type, o.object_type) AS object_type, coalesce(n.object_id, o.object_id) AS object_id,
               n.is_primary, coalesce(n.notes, '') AS notes, ct.id AS ct,
               coalesce(d.name::text, v.name::text, sv.name::text) AS object_name,
               (d.id IS NOT NULL OR v.id IS NOT NULL OR sv.id IS NOT NULL) AS present, coalesce(n.id, o.id) AS id
          FROM %2$s
          LEFT JOIN @extschema@.ssl_netbox_link lo ON lo.certificate_id = o.certificate_id
          LEFT JOIN @extschema@.ssl_netbox_link ln ON ln.certificate_id = n.certificate_id
          LEFT JOIN %1$I.django_content_type ct
                 ON ct.app_label = split_part(coalesce(n.object_type, o.object_type), '.', 1)
                AND ct.model = split_part(coalesce(n.object_type, o.object_type), '.', 2)
                AND coalesce(n.object_type, o.object_type) IN ('dcim.device', 'ipam.service', 'virtualization.virtualmachine')
          LEFT JOIN %1$I.dcim_device d ON ct.model = 'device' AND d.id = coalesce(n.object_id, o.object_id)
          LEFT JOIN %1$I.virtualization_virtualmachine v ON ct.model = 'virtualmachine' AND v.id = coalesce(n.object_id, o.object_id)
          LEFT JOIN %1$I.ipam_service sv ON ct.model = 'service' AND sv.id = coalesce(n.object_id, o.object_id)
         WHERE (lo.netbox_certificate_id IS NOT NULL OR ln.netbox_certificate_id IS NOT NULL)$q$,
        s, CASE TG_OP WHEN 'INSERT' THEN '(SELECT NULL::bigint AS id, NULL::bigint AS certificate_id, NULL::text AS object_type,'
                                          ' NULL::bigint AS object_id) o RIGHT JOIN new_rows n ON true'
                      WHEN 'DELETE' THEN 'old_rows o LEFT JOIN (SELECT NULL::bigint AS id, NULL::bigint AS certificate_id,'
                                          ' NULL::text AS object_type, NULL::bigint AS object_id, NULL::boolean AS is_primary,'
                                          ' NULL::text AS notes) n ON false'
                      ELSE 'old_rows o JOIN new_rows n ON n.id = o.id' END);
    -- Added to (or moved onto) a linked certificate: NetBox must know the
    -- type (22023) and the object (23503).
    EXECUTE 'WITH changes AS (' || changes || ') SELECT c.object_type, c.object_id, c.ct, c.present FROM changes c'
            ' WHERE c.new_pid IS NOT NULL AND c.old_pid IS DISTINCT FROM c.new_pid AND (c.ct IS NULL OR NOT c.present)'
            ' ORDER BY c.id LIMIT 1' INTO bad;
    IF bad.object_type IS NOT NULL THEN
        IF bad.ct IS NULL THEN
            PERFORM @extschema@.ssl_netbox_content_type(s, bad.object_type);   -- raises 22023
        END IF;
        RAISE EXCEPTION 'NetBox has no % with id %', bad.object_type, bad.object_id
            USING ERRCODE = '23503',
                  HINT = 'Certificates linked to NetBox can only be assigned to objects that exist in NetBox.';
    END IF;

    -- NetBox's rows that go: removed here, or moved to a certificate that
    -- NetBox already has them on (or that is not linked).
    EXECUTE 'WITH changes AS (' || changes || '), ' || format($q$
        gone AS (
            DELETE FROM %1$I.netbox_ssl_certificateassignment a
             USING changes c
             WHERE c.old_pid IS NOT NULL AND c.ct IS NOT NULL AND c.old_pid IS DISTINCT FROM c.new_pid
               AND a.certificate_id = c.old_pid AND a.assigned_object_type_id = c.ct AND a.assigned_object_id = c.object_id
               AND (c.new_pid IS NULL OR EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b
                     WHERE b.certificate_id = c.new_pid AND b.assigned_object_type_id = c.ct
                       AND b.assigned_object_id = c.object_id))
         RETURNING a.certificate_id, c.object_type, c.object_name, c.id),
        touched AS (
            UPDATE %1$I.netbox_ssl_certificate x SET last_updated = now()
             WHERE x.id IN (SELECT certificate_id FROM gone) RETURNING x.id)
        INSERT INTO %1$I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
               new_status, actor, certificate_id, related_certificate_id)
        SELECT 'assignment_removed', now(),
               format('Removed from %%s: %%s', split_part(g.object_type, '.', 2), coalesce(g.object_name, 'None')),
               '', '', left(@extschema@.ssl_caller(), 150), g.certificate_id, NULL
          FROM gone g WHERE (SELECT count(*) FROM touched) >= 0 ORDER BY g.id$q$, s);

    -- NetBox's rows that move between linked certificates (ssl_renew,
    -- ssl_revert_renewal), and edits of is_primary / notes.
    EXECUTE 'WITH changes AS (' || changes || '), ' || format($q$
        moved AS (
            UPDATE %1$I.netbox_ssl_certificateassignment a
               SET certificate_id = c.new_pid, is_primary = c.is_primary, notes = c.notes, last_updated = now()
              FROM changes c
             WHERE c.old_pid IS NOT NULL AND c.new_pid IS NOT NULL AND c.ct IS NOT NULL
               AND a.certificate_id = c.old_pid AND a.assigned_object_type_id = c.ct AND a.assigned_object_id = c.object_id
               AND (a.certificate_id, a.is_primary, a.notes) IS DISTINCT FROM (c.new_pid, c.is_primary, c.notes)
            RETURNING c.old_pid, c.new_pid, c.object_type, c.object_name, c.id),
        touched AS (
            UPDATE %1$I.netbox_ssl_certificate x SET last_updated = now()
             WHERE x.id IN (SELECT old_pid FROM moved WHERE old_pid <> new_pid
                            UNION SELECT new_pid FROM moved WHERE old_pid <> new_pid) RETURNING x.id)
        INSERT INTO %1$I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
               new_status, actor, certificate_id, related_certificate_id)
        SELECT e.event_type, now(), e.description, '', '', left(@extschema@.ssl_caller(), 150), e.certificate_id, NULL
          FROM moved m
          CROSS JOIN LATERAL (VALUES
              (1, 'assignment_added', format('Assigned to %%s: %%s', split_part(m.object_type, '.', 2), coalesce(m.object_name, 'None')), m.new_pid),
              (2, 'assignment_removed', format('Removed from %%s: %%s', split_part(m.object_type, '.', 2), coalesce(m.object_name, 'None')), m.old_pid))
              e(k, event_type, description, certificate_id)
         WHERE m.old_pid <> m.new_pid AND (SELECT count(*) FROM touched) >= 0
         ORDER BY m.id, e.k$q$, s);

    -- NetBox's rows that are new: added here, or moved here from a
    -- certificate NetBox does not have them on.
    EXECUTE 'WITH changes AS (' || changes || '), ' || format($q$
        added AS (
            INSERT INTO %1$I.netbox_ssl_certificateassignment (created, last_updated, custom_field_data,
                   assigned_object_id, is_primary, notes, assigned_object_type_id, certificate_id)
            SELECT now(), now(), '{}', c.object_id, c.is_primary, c.notes, c.ct, c.new_pid
              FROM changes c
             WHERE c.new_pid IS NOT NULL AND c.ct IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b
                                WHERE b.certificate_id = c.new_pid AND b.assigned_object_type_id = c.ct
                                  AND b.assigned_object_id = c.object_id)
             ORDER BY c.id
            RETURNING certificate_id, assigned_object_type_id, assigned_object_id),
        touched AS (
            UPDATE %1$I.netbox_ssl_certificate x SET last_updated = now()
             WHERE x.id IN (SELECT certificate_id FROM added) RETURNING x.id)
        INSERT INTO %1$I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
               new_status, actor, certificate_id, related_certificate_id)
        SELECT 'assignment_added', now(),
               format('Assigned to %%s: %%s', split_part(c.object_type, '.', 2), coalesce(c.object_name, 'None')),
               '', '', left(@extschema@.ssl_caller(), 150), a.certificate_id, NULL
          FROM added a JOIN changes c
            ON c.new_pid = a.certificate_id AND c.ct = a.assigned_object_type_id AND c.object_id = a.assigned_object_id
         WHERE (SELECT count(*) FROM touched) >= 0
         ORDER BY c.id$q$, s);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_on_assignment_change() IS
    'Trigger function (NetBox bridge): while attached, assignments of linked certificates added, moved or removed here are written to NetBox with the plugin''s events (22023 for an object type NetBox does not know, 23503 for a missing object).';

CREATE TRIGGER ssl_netbox_certificate_insert AFTER INSERT ON @extschema@.ssl_certificate
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_netbox_on_certificate_insert();
CREATE TRIGGER ssl_netbox_certificate_update AFTER UPDATE ON @extschema@.ssl_certificate
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_netbox_on_certificate_update();
CREATE TRIGGER ssl_netbox_assignment_insert AFTER INSERT ON @extschema@.ssl_assignment
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_netbox_on_assignment_change();
CREATE TRIGGER ssl_netbox_assignment_update AFTER UPDATE ON @extschema@.ssl_assignment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_netbox_on_assignment_change();
CREATE TRIGGER ssl_netbox_assignment_delete AFTER DELETE ON @extschema@.ssl_assignment
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_netbox_on_assignment_change();
COMMENT ON TRIGGER ssl_netbox_certificate_insert ON @extschema@.ssl_certificate IS
    'NetBox bridge: new certificates reach NetBox while attached.';
COMMENT ON TRIGGER ssl_netbox_certificate_update ON @extschema@.ssl_certificate IS
    'NetBox bridge: status and successor changes reach NetBox while attached.';
COMMENT ON TRIGGER ssl_netbox_assignment_insert ON @extschema@.ssl_assignment IS
    'NetBox bridge: new assignments reach NetBox while attached.';
COMMENT ON TRIGGER ssl_netbox_assignment_update ON @extschema@.ssl_assignment IS
    'NetBox bridge: moved or edited assignments reach NetBox while attached.';
COMMENT ON TRIGGER ssl_netbox_assignment_delete ON @extschema@.ssl_assignment IS
    'NetBox bridge: removed assignments leave NetBox while attached.';

-- ---------------------------------------------------------------------------
-- Public functions
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_netbox_attach(plugin_schema name DEFAULT 'public') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name := plugin_schema;
    state @extschema@.ssl_netbox_bridge;
    m record;
    r record;
    total bigint;
    done bigint := 0;
    linked bigint := 0;
    ours bigint;
    failed text[] := '{}';
    fp text COLLATE "default";   -- index lookups (see ssl_netbox_link_row)
    other bigint;
    todo bigint[];
    pid bigint;
    no_pem bigint[];
    t text;
BEGIN
    IF s IS NULL THEN
        RAISE EXCEPTION 'plugin_schema must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO m FROM @extschema@.ssl_netbox_missing(s) LIMIT 1;
    IF FOUND THEN
        IF m.column_name IS NULL THEN
            RAISE EXCEPTION 'NetBox table %.% does not exist', s, m.table_name
                USING ERRCODE = '42P01',
                      HINT = 'The bridge supports NetBox 4.4 to 4.6 with the NetBox SSL plugin 1.2.x, migrated (manage.py migrate); pass the schema of NetBox''s tables.';
        END IF;
        RAISE EXCEPTION 'NetBox table %.% has no column %', s, m.table_name, m.column_name
            USING ERRCODE = '42703',
                  HINT = 'The bridge supports NetBox 4.4 to 4.6 with the NetBox SSL plugin 1.2.x; this plugin version changed a column the bridge uses.';
    END IF;
    SELECT * INTO state FROM @extschema@.ssl_netbox_bridge FOR UPDATE;
    IF FOUND AND state.plugin_schema <> s AND EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link) THEN
        RAISE EXCEPTION 'the bridge is linked to NetBox tables in schema %, not %', state.plugin_schema, s
            USING ERRCODE = '55000', HINT = 'Detach, and attach the same schema again.';
    END IF;
    -- NetBox's writers wait until the attach commits (and then go through
    -- the triggers); the attach sees every row committed before it.
    EXECUTE format('LOCK TABLE %1$I.netbox_ssl_certificate, %1$I.netbox_ssl_certificateassignment IN SHARE ROW EXCLUSIVE MODE', s);
    -- While linking, our triggers stay quiet: NetBox already has these rows.
    INSERT INTO @extschema@.ssl_netbox_bridge (plugin_schema, attached, attached_at)
    VALUES (s, false, now())
    ON CONFLICT (singleton) DO UPDATE SET plugin_schema = EXCLUDED.plugin_schema, attached = false, attached_at = now();

    -- 1. Link every plugin certificate that has PEM content.
    EXECUTE format('SELECT count(*) FROM %I.netbox_ssl_certificate c WHERE btrim(c.pem_content) <> '''''
                   ' AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.netbox_certificate_id = c.id)', s)
       INTO total;
    -- The checks that can fail run in a read-only subtransaction per row
    -- (no XID, so 100,000 of them cost nothing at commit or in snapshots);
    -- the writes run outside it.
    -- The work list first (a cursor open over NetBox's table while this
    -- loop inserts links would revisit them).
    EXECUTE format('SELECT coalesce(array_agg(c.id ORDER BY c.id), ''{}'') FROM %I.netbox_ssl_certificate c'
                   ' WHERE btrim(c.pem_content) <> '''''
                   ' AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.netbox_certificate_id = c.id)', s)
       INTO todo;
    FOREACH pid IN ARRAY todo LOOP
        EXECUTE format('SELECT c.id, c.pem_content || CASE WHEN c.issuer_chain <> '''' THEN E''\n'' || c.issuer_chain ELSE '''' END AS pem'
                       '  FROM %I.netbox_ssl_certificate c WHERE c.id = $1', s)
           INTO r USING pid;
        BEGIN
            fp := (@extschema@.ssl_parse(r.pem)).fingerprint_sha256;
            SELECT l.netbox_certificate_id INTO other FROM @extschema@.ssl_certificate c
              JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = c.id
             WHERE c.fingerprint_sha256 = fp;
            IF other IS NOT NULL THEN
                RAISE EXCEPTION 'holds the certificate with fingerprint %, which is already linked to NetBox certificate %', fp, other
                    USING ERRCODE = '23505';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            failed := failed || format('NetBox certificate %s: %s (SQLSTATE %s)', r.id, SQLERRM, SQLSTATE);
            fp := NULL;
        END;
        IF fp IS NOT NULL THEN
            ours := @extschema@.ssl_netbox_link_row(s, r.id, false, fp);
            IF ours IS NOT NULL THEN
                linked := linked + 1;
            END IF;
        END IF;
        done := done + 1;
        IF done % 10000 = 0 THEN
            RAISE NOTICE 'ssl_netbox_attach: % of % NetBox certificates linked (% s)', done, total,
                round(extract(epoch FROM clock_timestamp() - now())::numeric, 1);
        END IF;
    END LOOP;
    FOREACH t IN ARRAY failed[1:20] LOOP
        RAISE NOTICE 'ssl_netbox_attach: not linked: %', t;
    END LOOP;
    IF cardinality(failed) > 20 THEN
        RAISE NOTICE 'ssl_netbox_attach: % more not linked; ssl_netbox_check() lists them all', cardinality(failed) - 20;
    END IF;
    EXECUTE format('SELECT array_agg(id ORDER BY id) FROM %I.netbox_ssl_certificate WHERE btrim(pem_content) = ''''', s)
       INTO no_pem;
    IF no_pem IS NOT NULL THEN
        RAISE NOTICE 'ssl_netbox_attach: % NetBox certificate(s) have no PEM content and stay unlinked: %',
            cardinality(no_pem), array_to_string(no_pem[1:50], ', ') || CASE WHEN cardinality(no_pem) > 50 THEN ', …' ELSE '' END;
    END IF;

    -- 1b. Our certificates without a NetBox twin (stored before the first
    -- attach or while detached) get their plugin row; those deleted in
    -- NetBox (ssl_netbox_unlinked) stay out.
    FOR r IN SELECT c.id FROM @extschema@.ssl_certificate c
              WHERE NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = c.id)
                AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_unlinked u WHERE u.certificate_id = c.id)
              ORDER BY c.id LOOP
        BEGIN
            PERFORM @extschema@.ssl_netbox_push_certificate(s, r.id);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'ssl_netbox_attach: certificate % not written to NetBox: % (SQLSTATE %)', r.id, SQLERRM, SQLSTATE;
        END;
    END LOOP;

    -- 2. Their assignments, one statement (logged as assignment_added here).
    EXECUTE format('INSERT INTO @extschema@.ssl_assignment (certificate_id, object_type, object_id, is_primary, notes)'
                   ' SELECT l.certificate_id, ct.app_label || ''.'' || ct.model, a.assigned_object_id, a.is_primary, nullif(a.notes, '''')'
                   '   FROM %1$I.netbox_ssl_certificateassignment a'
                   '   JOIN @extschema@.ssl_netbox_link l ON l.netbox_certificate_id = a.certificate_id'
                   '   JOIN %1$I.django_content_type ct ON ct.id = a.assigned_object_type_id'
                   '   JOIN @extschema@.ssl_certificate c ON c.id = l.certificate_id'
                   '  WHERE c.status NOT IN (''replaced'', ''revoked'', ''archived'')'
                   '  ORDER BY a.id'
                   ' ON CONFLICT (certificate_id, object_type, object_id) DO NOTHING', s);

    -- 2b. Our assignments of linked certificates that NetBox lacks, for
    -- NetBox objects that exist (others stay ours only; ssl_netbox_check
    -- lists them).
    EXECUTE format('INSERT INTO %1$I.netbox_ssl_certificateassignment (created, last_updated, custom_field_data,'
                   '   assigned_object_id, is_primary, notes, assigned_object_type_id, certificate_id)'
                   ' SELECT now(), now(), ''{}'', a.object_id, a.is_primary, coalesce(a.notes, ''''), ct.id, l.netbox_certificate_id'
                   '   FROM @extschema@.ssl_assignment a'
                   '   JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = a.certificate_id'
                   '   JOIN %1$I.django_content_type ct ON ct.app_label || ''.'' || ct.model = a.object_type'
                   '  WHERE a.object_type IN (''dcim.device'', ''ipam.service'', ''virtualization.virtualmachine'')'
                   '    AND CASE a.object_type'
                   '          WHEN ''dcim.device'' THEN EXISTS (SELECT 1 FROM %1$I.dcim_device o WHERE o.id = a.object_id)'
                   '          WHEN ''ipam.service'' THEN EXISTS (SELECT 1 FROM %1$I.ipam_service o WHERE o.id = a.object_id)'
                   '          ELSE EXISTS (SELECT 1 FROM %1$I.virtualization_virtualmachine o WHERE o.id = a.object_id) END'
                   '    AND NOT EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b'
                   '                     WHERE b.certificate_id = l.netbox_certificate_id AND b.assigned_object_type_id = ct.id'
                   '                       AND b.assigned_object_id = a.object_id)'
                   '  ORDER BY a.id', s);

    -- 3. Renewals NetBox recorded (old replaced, replaced_by set): recorded
    -- here as Janus renewals, oldest first; NetBox's leftover copies on the
    -- old certificate are moved to (or dropped in favour of) the successor.
    FOR r IN EXECUTE format('SELECT c.id, c.replaced_by_id, lo.certificate_id AS ours_old, ln.certificate_id AS ours_new'
                            '  FROM %I.netbox_ssl_certificate c'
                            '  JOIN @extschema@.ssl_netbox_link lo ON lo.netbox_certificate_id = c.id'
                            '  JOIN @extschema@.ssl_netbox_link ln ON ln.netbox_certificate_id = c.replaced_by_id'
                            '  JOIN @extschema@.ssl_certificate o ON o.id = lo.certificate_id'
                            ' WHERE c.status = ''replaced'' AND o.status <> ''replaced'''
                            ' ORDER BY c.valid_to, c.id', s) LOOP
        BEGIN
            PERFORM @extschema@.ssl_netbox_renew_onto(r.ours_old, r.ours_new);
            EXECUTE format('DELETE FROM %1$I.netbox_ssl_certificateassignment a WHERE a.certificate_id = $1'
                           ' AND EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b WHERE b.certificate_id = $2'
                           ' AND b.assigned_object_type_id = a.assigned_object_type_id AND b.assigned_object_id = a.assigned_object_id)', s)
              USING r.id, r.replaced_by_id;
            EXECUTE format('UPDATE %I.netbox_ssl_certificateassignment SET certificate_id = $2 WHERE certificate_id = $1', s)
              USING r.id, r.replaced_by_id;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'ssl_netbox_attach: renewal of NetBox certificate % by % not recorded: %', r.id, r.replaced_by_id, SQLERRM;
        END;
    END LOOP;

    -- 4. Statuses that differ: of pairs linked in this call (NetBox's
    -- 'active' takes our date-based status), then of older pairs that
    -- drifted while detached (NetBox's status where our state machine
    -- allows it, else ours).
    FOR r IN EXECUTE format('SELECT l.netbox_certificate_id, l.certificate_id, l.linked_at = now() AS fresh'
                            '  FROM @extschema@.ssl_netbox_link l'
                            '  JOIN %I.netbox_ssl_certificate p ON p.id = l.netbox_certificate_id'
                            '  JOIN @extschema@.ssl_certificate c ON c.id = l.certificate_id'
                            ' WHERE p.status <> c.status ORDER BY l.netbox_certificate_id', s) LOOP
        PERFORM @extschema@.ssl_netbox_settle_status(s, r.netbox_certificate_id, r.certificate_id, r.fresh);
    END LOOP;

    -- 4b. Successor links of our renewals NetBox lacks (certificates written
    -- to NetBox in step 1b, or renewed here while detached).
    EXECUTE format('UPDATE %I.netbox_ssl_certificate p SET replaced_by_id = ls.netbox_certificate_id, last_updated = now()'
                   '  FROM @extschema@.ssl_netbox_link l'
                   '  JOIN @extschema@.ssl_certificate c ON c.id = l.certificate_id'
                   '  JOIN @extschema@.ssl_netbox_link ls ON ls.certificate_id = c.replaced_by'
                   ' WHERE p.id = l.netbox_certificate_id AND p.status = ''replaced'' AND c.status = ''replaced'''
                   '   AND p.replaced_by_id IS DISTINCT FROM ls.netbox_certificate_id', s);

    -- 5. From now on both sides follow each other.
    UPDATE @extschema@.ssl_netbox_bridge SET attached = true;
    FOR r IN SELECT t.tgname, t.tgrelid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              WHERE t.tgname = 'ssl_netbox_bridge'
                AND c.relnamespace = (SELECT n.oid FROM pg_namespace n WHERE n.nspname = s) LOOP
        EXECUTE format('DROP TRIGGER ssl_netbox_bridge ON %s', r.tgrelid::regclass);
    END LOOP;
    EXECUTE format('CREATE TRIGGER ssl_netbox_bridge AFTER INSERT OR UPDATE OR DELETE ON %I.netbox_ssl_certificate'
                   ' FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_netbox_on_plugin_certificate()', s);
    EXECUTE format('CREATE TRIGGER ssl_netbox_bridge AFTER INSERT OR UPDATE OR DELETE ON %I.netbox_ssl_certificateassignment'
                   ' FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_netbox_on_plugin_assignment()', s);
    FOR r IN SELECT * FROM (VALUES ('dcim_device', 'dcim.device'), ('ipam_service', 'ipam.service'),
                                   ('virtualization_virtualmachine', 'virtualization.virtualmachine')) v(tbl, typ) LOOP
        EXECUTE format('CREATE TRIGGER ssl_netbox_bridge AFTER DELETE ON %I.%I'
                       ' FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_netbox_on_object_delete(%L)', s, r.tbl, r.typ);
    END LOOP;
    RAISE NOTICE 'ssl_netbox_attach: attached to schema %; % certificate(s) linked now', s, linked;
    RETURN linked;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_attach(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_netbox_attach(name) TO netbox_ssl_admin;
COMMENT ON FUNCTION @extschema@.ssl_netbox_attach(name) IS
    'Connects the inventory to the NetBox SSL plugin''s tables in plugin_schema (42P01/42703 when a table or column the bridge uses is missing): links every plugin certificate with PEM content (imports it, or links the stored row with the same fingerprint), writes our certificates NetBox lacks into NetBox, merges assignments both ways, records renewals, settles statuses, installs the bridge''s triggers on NetBox''s tables, and returns how many certificates it linked. Idempotent; progress NOTICEs every 10,000 certificates; rows without PEM are listed and stay unlinked.';

CREATE FUNCTION @extschema@.ssl_netbox_detach() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name;
    tbl text;
BEGIN
    SELECT b.plugin_schema INTO s FROM @extschema@.ssl_netbox_bridge b FOR UPDATE;
    IF s IS NULL THEN
        RETURN false;
    END IF;
    FOREACH tbl IN ARRAY ARRAY['netbox_ssl_certificate', 'netbox_ssl_certificateassignment', 'dcim_device',
                               'ipam_service', 'virtualization_virtualmachine'] LOOP
        IF to_regclass(format('%I.%I', s, tbl)) IS NOT NULL THEN
            EXECUTE format('DROP TRIGGER IF EXISTS ssl_netbox_bridge ON %I.%I', s, tbl);
        END IF;
    END LOOP;
    UPDATE @extschema@.ssl_netbox_bridge SET attached = false, detached_at = now();
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_detach() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_netbox_detach() TO netbox_ssl_admin;
COMMENT ON FUNCTION @extschema@.ssl_netbox_detach() IS
    'Disconnects the NetBox bridge: removes its triggers from NetBox''s tables; data and links stay, and ssl_netbox_attach resumes (catching up on what changed meanwhile). Returns false when it was never attached.';

CREATE FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    s name := @extschema@.ssl_netbox_attached_schema();
    ours bigint;
    renewed bigint;
    pid bigint;
BEGIN
    IF netbox_certificate_id IS NULL THEN
        RAISE EXCEPTION 'netbox_certificate_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF s IS NULL THEN
        RAISE EXCEPTION 'the NetBox bridge is not attached' USING ERRCODE = '55000',
              HINT = 'An administrator runs SELECT ssl_netbox_attach();';
    END IF;
    -- Lock order as NetBox's own renewal: the plugin row first, then ours.
    EXECUTE format('SELECT id FROM %I.netbox_ssl_certificate WHERE id = $1 FOR NO KEY UPDATE', s)
       INTO pid USING netbox_certificate_id;
    IF pid IS NULL THEN
        RAISE EXCEPTION 'NetBox certificate % does not exist', netbox_certificate_id USING ERRCODE = 'P0002';
    END IF;
    SELECT l.certificate_id INTO ours FROM @extschema@.ssl_netbox_link l
     WHERE l.netbox_certificate_id = ssl_netbox_renew.netbox_certificate_id;
    IF ours IS NULL THEN
        RAISE EXCEPTION 'NetBox certificate % is not linked to the inventory (it has no PEM content)', netbox_certificate_id
            USING ERRCODE = '55000';
    END IF;
    renewed := @extschema@.ssl_renew(ours, pem);
    SELECT l.netbox_certificate_id INTO pid FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = renewed;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_renew(bigint, text) IS
    'The Janus renewal (ssl_renew) of a NetBox SSL plugin certificate, addressed by its NetBox id: both sides get the successor, the moved assignments and the replaced old row in the caller''s transaction; returns the successor''s NetBox id. Errors as ssl_renew (55000 naming the successor when already replaced).';

CREATE FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    IF der IS NULL THEN
        RAISE EXCEPTION 'der must not be NULL' USING ERRCODE = '22004';
    END IF;
    RETURN @extschema@.ssl_netbox_renew(netbox_certificate_id,
        '-----BEGIN CERTIFICATE-----' || E'\n' || encode(der, 'base64') || E'\n' || '-----END CERTIFICATE-----' || E'\n');
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_renew(bigint, bytea) IS
    'ssl_netbox_renew with the replacement as DER.';

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_renew(bigint, text), @extschema@.ssl_netbox_renew(bigint, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_netbox_renew(bigint, text), @extschema@.ssl_netbox_renew(bigint, bytea)
   TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_netbox_check()
    RETURNS TABLE (netbox_certificate_id bigint, certificate_id bigint, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    state @extschema@.ssl_netbox_bridge;
    m record;
    s name;
    broken boolean := false;
BEGIN
    SELECT * INTO state FROM @extschema@.ssl_netbox_bridge;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, 'the NetBox bridge was never attached'::text;
        RETURN;
    END IF;
    s := state.plugin_schema;
    FOR m IN SELECT * FROM @extschema@.ssl_netbox_missing(s) LOOP
        broken := true;
        RETURN QUERY SELECT NULL::bigint, NULL::bigint,
            CASE WHEN m.column_name IS NULL THEN format('NetBox table %s.%s is missing', s, m.table_name)
                 ELSE format('NetBox table %s.%s has no column %s, which the bridge uses', s, m.table_name, m.column_name) END;
    END LOOP;
    IF broken THEN
        RETURN;
    END IF;
    IF NOT state.attached THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, 'the NetBox bridge is detached: changes are not mirrored'::text;
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH p AS (SELECT c.*, l.certificate_id AS ours FROM %1$I.netbox_ssl_certificate c
                     LEFT JOIN @extschema@.ssl_netbox_link l ON l.netbox_certificate_id = c.id),
        pa AS (SELECT l.certificate_id AS ours, a.certificate_id AS pid, ct.app_label || '.' || ct.model AS t,
                      a.assigned_object_id AS o
                 FROM %1$I.netbox_ssl_certificateassignment a
                 JOIN @extschema@.ssl_netbox_link l ON l.netbox_certificate_id = a.certificate_id
                 JOIN %1$I.django_content_type ct ON ct.id = a.assigned_object_type_id),
        oa AS (SELECT a.certificate_id AS ours, l.netbox_certificate_id AS pid, a.object_type AS t, a.object_id AS o
                 FROM @extschema@.ssl_assignment a
                 JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = a.certificate_id)
        SELECT l.netbox_certificate_id, l.certificate_id, 'NetBox certificate missing'
          FROM @extschema@.ssl_netbox_link l
         WHERE NOT EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificate c WHERE c.id = l.netbox_certificate_id)
        UNION ALL
        SELECT p.id, NULL::bigint, CASE WHEN btrim(p.pem_content) = '' THEN 'not linked: no PEM content'
                                        ELSE 'not linked' END
          FROM p WHERE p.ours IS NULL
        UNION ALL
        SELECT NULL::bigint, c.id, 'not in NetBox'
          FROM @extschema@.ssl_certificate c
         WHERE NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = c.id)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_unlinked u WHERE u.certificate_id = c.id)
        UNION ALL
        SELECT p.id, c.id, format('status: NetBox %%s, inventory %%s', p.status, c.status)
          FROM p JOIN @extschema@.ssl_certificate c ON c.id = p.ours WHERE p.status <> c.status
        UNION ALL
        SELECT p.id, c.id, format('fingerprint: NetBox %%s, inventory %%s', p.fingerprint_sha256, c.fingerprint_sha256)
          FROM p JOIN @extschema@.ssl_certificate c ON c.id = p.ours
         WHERE upper(p.fingerprint_sha256) <> c.fingerprint_sha256
        UNION ALL
        SELECT p.id, c.id, format('successor: NetBox %%s, inventory %%s (NetBox %%s)',
                                  coalesce(p.replaced_by_id::text, 'none'), coalesce(c.replaced_by::text, 'none'),
                                  coalesce(ls.netbox_certificate_id::text, 'none'))
          FROM p JOIN @extschema@.ssl_certificate c ON c.id = p.ours
          LEFT JOIN @extschema@.ssl_netbox_link ls ON ls.certificate_id = c.replaced_by
         WHERE p.replaced_by_id IS DISTINCT FROM ls.netbox_certificate_id
           AND NOT (p.replaced_by_id IS NULL AND c.replaced_by IS NOT NULL AND ls.netbox_certificate_id IS NULL)
        UNION ALL
        SELECT coalesce(pa.pid, oa.pid), coalesce(pa.ours, oa.ours),
               format('assignment %%s %%s only in %%s', coalesce(pa.t, oa.t), coalesce(pa.o, oa.o),
                      CASE WHEN oa.ours IS NULL THEN 'NetBox' ELSE 'the inventory' END)
          FROM pa FULL JOIN oa ON oa.ours = pa.ours AND oa.t = pa.t AND oa.o = pa.o
         WHERE pa.ours IS NULL OR oa.ours IS NULL
        ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3
    $q$, s);
END
$$;
REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_netbox_check() TO netbox_ssl_reader;
COMMENT ON FUNCTION @extschema@.ssl_netbox_check() IS
    'Every difference between NetBox''s SSL plugin tables and the inventory: unlinked rows on either side, status, fingerprint, successor link, assignments only on one side; missing NetBox tables or columns the bridge uses; a detached bridge. Empty when both sides agree.';

REVOKE ALL ON FUNCTION
    @extschema@.ssl_netbox_attached_schema(), @extschema@.ssl_netbox_missing(name),
    @extschema@.ssl_netbox_content_type(name, text), @extschema@.ssl_netbox_object_name(name, text, bigint),
    @extschema@.ssl_netbox_plugin_event(name, bigint, text, text, text, text, bigint),
    @extschema@.ssl_netbox_plugin_fields(bigint), @extschema@.ssl_netbox_link_row(name, bigint, boolean, text),
    @extschema@.ssl_netbox_settle_status(name, bigint, bigint, boolean),
    @extschema@.ssl_netbox_renew_onto(bigint, bigint), @extschema@.ssl_netbox_forget(bigint, text),
    @extschema@.ssl_netbox_push_certificate(name, bigint),
    @extschema@.ssl_netbox_on_plugin_certificate(), @extschema@.ssl_netbox_on_plugin_assignment(),
    @extschema@.ssl_netbox_on_object_delete(), @extschema@.ssl_netbox_on_certificate_insert(),
    @extschema@.ssl_netbox_on_certificate_update(), @extschema@.ssl_netbox_on_assignment_change()
FROM PUBLIC;


-- (end of part F)

-- ===========================================================================
-- Part G: the NetBox SSL plugin's field formats (used by the bridge)
-- ===========================================================================

-- ssl_netbox_fields: a certificate's columns in the NetBox SSL plugin's own
-- formats (docs/netbox-formats.md), so that the NetBox bridge writes plugin
-- rows the plugin's lookups (serial + issuer, fingerprint, CN) keep matching.
CREATE TYPE @extschema@.ssl_netbox_fields AS (
    common_name         text,
    serial_number       text,
    fingerprint_sha256  text,
    issuer              text,
    valid_from          timestamptz,
    valid_to            timestamptz,
    sans                text[],
    key_size            integer,
    algorithm           text,
    pem_content         text,
    issuer_chain        text
);
COMMENT ON TYPE @extschema@.ssl_netbox_fields IS
    'What ssl_netbox_fields returns: the NetBox SSL plugin''s certificate columns, in the plugin''s own formats (serial without zero padding, issuer with long attribute names, SANs as the plugin prints them, PEM blocks without trailing newline).';

CREATE FUNCTION @extschema@.ssl_netbox_fields(pem text) RETURNS @extschema@.ssl_netbox_fields
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_text'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5000;
CREATE FUNCTION @extschema@.ssl_netbox_fields(der bytea) RETURNS @extschema@.ssl_netbox_fields
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_bytea'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5000;
COMMENT ON FUNCTION @extschema@.ssl_netbox_fields(text) IS
    'The certificate''s columns in the NetBox SSL plugin''s formats, for the leaf ssl_parse picks from the PEM text; same input rules and errors as ssl_parse (private keys 22023, bad input 22P02, too large 54000). No side effects.';
COMMENT ON FUNCTION @extschema@.ssl_netbox_fields(bytea) IS
    'The certificate''s columns in the NetBox SSL plugin''s formats, for one DER certificate (PEM bytes accepted); same input rules and errors as ssl_parse (private keys 22023, bad input 22P02, too large 54000). No side effects.';
REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_fields(text), @extschema@.ssl_netbox_fields(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_netbox_fields(text), @extschema@.ssl_netbox_fields(bytea)
    TO netbox_ssl_reader;

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

-- ===========================================================================
-- Part E: internal schema (security item 3); last, because it moves
-- functions that the parts above define
-- ===========================================================================

-- Internal helpers move to a schema only the extension's owner can create
-- objects in. A role with CREATE on the extension's schema could otherwise
-- add an overload (say ssl_find_authority(text, text, bigint, int DEFAULT 0))
-- that makes the extension's own qualified calls ambiguous ("function is not
-- unique") for everyone, or a closer match that they would resolve to. Calls
-- between the extension's functions now name netbox_ssl_internal, where no
-- other role can create anything. Documented API functions that the
-- extension also calls itself stay where they are, as thin SQL wrappers (the
-- C ones as a second SQL entry point to the same C function).
CREATE SCHEMA netbox_ssl_internal;
COMMENT ON SCHEMA netbox_ssl_internal IS 'Internal helpers and trigger functions of netbox_ssl. Only the extension''s owner can create objects here, so no other role can shadow or make ambiguous the extension''s own calls; not an API.';
REVOKE ALL ON SCHEMA netbox_ssl_internal FROM PUBLIC;
GRANT USAGE ON SCHEMA netbox_ssl_internal TO PUBLIC;

-- Internal functions and trigger functions: moved, with their privileges.
ALTER FUNCTION @extschema@.ssl_assignment_check_target() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_assignment_history() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_authority_check() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_carry_note() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_detect_acme() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_guard() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_issuer_chain_check() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_match_authority() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_status_event() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_certificate_status_guard() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_chain_candidates(text,text,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_chain_split_pem(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_chain_verify(text,text,text[],bytea[],timestamp with time zone,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_chain_verify(text,text,text[],bytea[],timestamp with time zone,text,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_compliance_policy_check() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_compliance_result_cleanup() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_csr_guard() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_csr_link_certificate() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_find_known_parsed(ssl_certificate_info) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_internal_get(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_internal_set(text,bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_issuer_chain_check(text,boolean) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_lifecycle_event_append_only() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_attached_schema() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_content_type(name,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_forget(bigint,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_link_row(name,bigint,boolean,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_missing(name) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_object_name(name,text,bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_on_assignment_change() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_on_certificate_insert() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_on_certificate_update() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_on_object_delete() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_on_plugin_assignment() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_on_plugin_certificate() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_plugin_event(name,bigint,text,text,text,text,bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_plugin_fields(bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_push_certificate(name,bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_renew_onto(bigint,bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_settle_status(name,bigint,bigint,boolean) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_outbox_catch_up(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_outbox_check_owner(text,regrole) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_outbox_publish() SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_record_observation_parsed(text,bigint,ssl_certificate_info,timestamp with time zone) SET SCHEMA netbox_ssl_internal;

-- API functions the extension also calls: implementation in the internal schema.
ALTER FUNCTION @extschema@.ssl_acme_provider_for(text,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_ari_cert_id(bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_ari_cert_id(bytea) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_ari_cert_id(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_ari_cert_id(text,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_find_authority(text,text,bigint) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_host_dns_key(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_host_ip_key(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_host_match_keys(text[],text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_host_probes(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_renew(bigint,bytea) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_netbox_renew(bigint,text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_outbox_subscribe(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_serial_der_octets(text) SET SCHEMA netbox_ssl_internal;
ALTER FUNCTION @extschema@.ssl_signature_hash(text) SET SCHEMA netbox_ssl_internal;

CREATE FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) RETURNS record
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT * FROM netbox_ssl_internal.ssl_acme_provider_for($1, $2) $$;
COMMENT ON FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) IS 'The ssl_acme_issuer rule for an issuer organization and CN: admin rules first, then rules naming both fields, then the lowest id. provider is NULL when no rule or an exception rule matched.';
REVOKE ALL ON FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) TO netbox_ssl_reader;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) IS 'Implementation of @extschema@.ssl_acme_provider_for for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(id bigint) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(id bigint) IS 'RFC 9773 CertID of a stored certificate. P0002 when the id does not exist, 22023 when the certificate has no authority key identifier.';
REVOKE ALL ON FUNCTION @extschema@.ssl_ari_cert_id(id bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_ari_cert_id(id bigint) TO netbox_ssl_reader;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(id bigint) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(der bytea) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(der bytea) IS 'RFC 9773 CertID of a DER certificate (PEM bytes accepted, as ssl_parse). 22023 when it has no authority key identifier; 22P02 and the other ssl_parse errors for bad input.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(der bytea) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(pem text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(pem text) IS 'RFC 9773 CertID of the leaf of PEM text (as ssl_parse picks it). 22023 when it has no authority key identifier.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(pem text) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_ari_cert_id(authority_key_id text, serial_number text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_ari_cert_id($1, $2) $$;
COMMENT ON FUNCTION @extschema@.ssl_ari_cert_id(authority_key_id text, serial_number text) IS 'RFC 9773 CertID from the stored authority_key_id and serial_number columns: unpadded base64url of the AKI keyIdentifier, ".", unpadded base64url of the serial''s DER INTEGER content octets. NULL when there is no (or an empty) keyIdentifier.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_ari_cert_id(authority_key_id text, serial_number text) IS 'Implementation of @extschema@.ssl_ari_cert_id for the extension''s own calls; internal.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_caller()
 RETURNS text
 LANGUAGE c
 STABLE PARALLEL SAFE COST 10
AS 'MODULE_PATHNAME', $function$ssl_caller$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_caller() IS 'Internal entry point of ssl_caller (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint DEFAULT NULL::bigint) RETURNS TABLE(authority_id bigint, source text)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT * FROM netbox_ssl_internal.ssl_find_authority($1, $2, $3) $$;
COMMENT ON FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) IS 'The authority for an issuer DN and authority key id, and how it was found (key_id or pattern); no row when none matches. exclude_id leaves one stored certificate out of the key-id match (the certificate itself). No side effects.';
REVOKE ALL ON FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) TO netbox_ssl_reader;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) IS 'Implementation of @extschema@.ssl_find_authority for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_dns_key(name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_host_dns_key($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_host_dns_key(name text) IS 'A DNS name as a host-lookup key: ASCII letters lower-cased (RFC 6125 compares A-labels case-insensitively), one trailing dot removed.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_dns_key(name text) IS 'Implementation of @extschema@.ssl_host_dns_key for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_ip_key(address text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_host_ip_key($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_host_ip_key(address text) IS 'An IPv4 (dotted quad, no leading zeros) or IPv6 (RFC 3986 syntax) address as a host-lookup key: ''IP:'' and PostgreSQL''s canonical inet text, so equal addresses written differently give one key. NULL for anything else, never an error.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_ip_key(address text) IS 'Implementation of @extschema@.ssl_host_ip_key for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_match_keys(sans text[], common_name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT netbox_ssl_internal.ssl_host_match_keys($1, $2) $$;
COMMENT ON FUNCTION @extschema@.ssl_host_match_keys(sans text[], common_name text) IS 'The identifiers a certificate presents for host matching: its DNS SANs, or its common name when it has no DNS SAN, as ssl_host_dns_key; and its IP SANs as ssl_host_ip_key. Indexed by ssl_certificate_host_keys_idx.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_match_keys(sans text[], common_name text) IS 'Implementation of @extschema@.ssl_host_match_keys for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_host_probes(hostname text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_host_probes($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_host_probes(hostname text) IS 'The index keys that can cover a host: for a DNS name the name and "*." || its parent (when the parent has two labels or more); for an IP address its ssl_host_ip_key. 22023 for an empty name, an empty label, a wildcard, or an invalid IP-looking string.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_host_probes(hostname text) IS 'Implementation of @extschema@.ssl_host_probes for the extension''s own calls; internal.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text DEFAULT NULL::text, tenant text DEFAULT NULL::text)
 RETURNS bigint
 LANGUAGE c
 SECURITY DEFINER COST 20000
 SET enable_seqscan TO 'off'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$ssl_import_bytea$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text, tenant text) IS 'Internal entry point of ssl_import (the same C function) for the extension''s own calls.';
REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text, tenant text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text, tenant text) TO netbox_ssl_operator;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text DEFAULT NULL::text, tenant text DEFAULT NULL::text)
 RETURNS bigint
 LANGUAGE c
 SECURITY DEFINER COST 20000
 SET enable_seqscan TO 'off'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$ssl_import_text$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text, tenant text) IS 'Internal entry point of ssl_import (the same C function) for the extension''s own calls.';
REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text, tenant text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text, tenant text) TO netbox_ssl_operator;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea)
 RETURNS ssl_netbox_fields
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE STRICT COST 5000
AS 'MODULE_PATHNAME', $function$ssl_netbox_fields_bytea$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea) IS 'Internal entry point of ssl_netbox_fields (the same C function) for the extension''s own calls.';
REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea) TO netbox_ssl_reader;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text)
 RETURNS ssl_netbox_fields
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE STRICT COST 5000
AS 'MODULE_PATHNAME', $function$ssl_netbox_fields_text$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text) IS 'Internal entry point of ssl_netbox_fields (the same C function) for the extension''s own calls.';
REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text) TO netbox_ssl_reader;

CREATE FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$ SELECT netbox_ssl_internal.ssl_netbox_renew($1, $2) $$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) IS 'ssl_netbox_renew with the replacement as DER.';
REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) TO netbox_ssl_operator;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) IS 'Implementation of @extschema@.ssl_netbox_renew for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$ SELECT netbox_ssl_internal.ssl_netbox_renew($1, $2) $$;
COMMENT ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) IS 'The Janus renewal (ssl_renew) of a NetBox SSL plugin certificate, addressed by its NetBox id: both sides get the successor, the moved assignments and the replaced old row in the caller''s transaction; returns the successor''s NetBox id. Errors as ssl_renew (55000 naming the successor when already replaced).';
REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) TO netbox_ssl_operator;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, pem text) IS 'Implementation of @extschema@.ssl_netbox_renew for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$ SELECT netbox_ssl_internal.ssl_outbox_subscribe($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) IS 'Registers a consumer owned by the calling role if it is new, queueing every row still in the outbox for it (a new consumer starts from the beginning of the outbox); returns how many rows it has pending. Takes no lock that blocks writers: events published concurrently are queued by the publish trigger or by the consumer''s first claims. A role other than netbox_ssl_admin may own at most 8 consumers (54000 beyond). An existing consumer of another role raises 42501.';
REVOKE ALL ON FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) TO netbox_ssl_operator;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_outbox_subscribe(consumer text) IS 'Implementation of @extschema@.ssl_outbox_subscribe for the extension''s own calls; internal.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_parse(der bytea)
 RETURNS ssl_certificate_info
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE STRICT COST 5000
AS 'MODULE_PATHNAME', $function$ssl_parse_bytea$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse(der bytea) IS 'Internal entry point of ssl_parse (the same C function) for the extension''s own calls.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_parse(pem text)
 RETURNS ssl_certificate_info
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE STRICT COST 5000
AS 'MODULE_PATHNAME', $function$ssl_parse_text$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse(pem text) IS 'Internal entry point of ssl_parse (the same C function) for the extension''s own calls.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_parse_csr(der bytea)
 RETURNS ssl_csr_info
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE STRICT COST 5000
AS 'MODULE_PATHNAME', $function$ssl_parse_csr_bytea$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse_csr(der bytea) IS 'Internal entry point of ssl_parse_csr (the same C function) for the extension''s own calls.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_parse_csr(pem text)
 RETURNS ssl_csr_info
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE STRICT COST 5000
AS 'MODULE_PATHNAME', $function$ssl_parse_csr_text$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse_csr(pem text) IS 'Internal entry point of ssl_parse_csr (the same C function) for the extension''s own calls.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text DEFAULT NULL::text, allow_cn_change boolean DEFAULT false)
 RETURNS bigint
 LANGUAGE c
 SECURITY DEFINER COST 50000
 SET enable_seqscan TO 'off'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$ssl_renew_bytea$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) IS 'Internal entry point of ssl_renew (the same C function) for the extension''s own calls.';
REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, der bytea, private_key_location text, allow_cn_change boolean) TO netbox_ssl_operator;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text DEFAULT NULL::text, allow_cn_change boolean DEFAULT false)
 RETURNS bigint
 LANGUAGE c
 SECURITY DEFINER COST 50000
 SET enable_seqscan TO 'off'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$ssl_renew_text$function$;
COMMENT ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) IS 'Internal entry point of ssl_renew (the same C function) for the extension''s own calls.';
REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION netbox_ssl_internal.ssl_renew(old_id bigint, pem text, private_key_location text, allow_cn_change boolean) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_serial_der_octets(serial_number text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_serial_der_octets($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_serial_der_octets(serial_number text) IS 'The content octets of the DER INTEGER for a serial_number value (colon hex magnitude, "-" when negative): minimal two''s complement, with a 00 sign byte when the high bit of a positive serial is set. 22023 for text that is not hex byte pairs.';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_serial_der_octets(serial_number text) IS 'Implementation of @extschema@.ssl_serial_der_octets for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_signature_hash(signature_algorithm text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT netbox_ssl_internal.ssl_signature_hash($1) $$;
COMMENT ON FUNCTION @extschema@.ssl_signature_hash(signature_algorithm text) IS 'The hash inside a signature algorithm name (sha1WithRSAEncryption and ecdsa-with-SHA1 give sha1; RSA-SHA3-256 gives sha3-256), lower-case; NULL when the name carries none (EdDSA, RSASSA-PSS, unknown OIDs).';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_signature_hash(signature_algorithm text) IS 'Implementation of @extschema@.ssl_signature_hash for the extension''s own calls; internal.';

-- Functions whose calls now name the internal schema.
CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(id bigint)
 RETURNS text
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    found_id bigint;
    cert_id text;
BEGIN
    SELECT c.id, netbox_ssl_internal.ssl_ari_cert_id(c.authority_key_id, c.serial_number)
      INTO found_id, cert_id
      FROM @extschema@.ssl_certificate c WHERE c.id = ssl_ari_cert_id.id;
    IF found_id IS NULL THEN
        RAISE EXCEPTION 'certificate % does not exist', id USING ERRCODE = 'P0002';
    END IF;
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate % has no authority key identifier, so it has no ARI CertID', id
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(der bytea)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p @extschema@.ssl_certificate_info := netbox_ssl_internal.ssl_parse(der);
    cert_id text := netbox_ssl_internal.ssl_ari_cert_id(p.authority_key_id, p.serial_number);
BEGIN
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate has no authority key identifier, so it has no ARI CertID'
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(pem text)
 RETURNS text
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p @extschema@.ssl_certificate_info := netbox_ssl_internal.ssl_parse(pem);
    cert_id text := netbox_ssl_internal.ssl_ari_cert_id(p.authority_key_id, p.serial_number);
BEGIN
    IF cert_id IS NULL THEN
        RAISE EXCEPTION 'certificate has no authority key identifier, so it has no ARI CertID'
            USING ERRCODE = '22023',
                  HINT = 'RFC 9773 identifies a certificate by its authorityKeyIdentifier keyIdentifier and serial; self-signed and old certificates often lack it, and ACME CAs do not issue such certificates.';
    END IF;
    RETURN cert_id;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_ari_cert_id(authority_key_id text, serial_number text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT CASE WHEN replace(authority_key_id, ':', '') <> '' THEN
        translate(encode(decode(replace(authority_key_id, ':', ''), 'hex'), 'base64'), E'+/=\n', '-_')
        || '.' ||
        translate(encode(netbox_ssl_internal.ssl_serial_der_octets(serial_number), 'base64'), E'+/=\n', '-_')
    END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_assignment_history()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET enable_seqscan TO 'off'
AS $function$
DECLARE
    moving bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO @extschema@.ssl_lifecycle_event(certificate_id, event_type, object_type, object_id, description)
        SELECT n.certificate_id, 'assignment_added', n.object_type, n.object_id,
               format('Assigned to %s %s', n.object_type, n.object_id)
          FROM new_rows n
         WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = n.certificate_id)
         ORDER BY n.id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO @extschema@.ssl_lifecycle_event(certificate_id, event_type, object_type, object_id, description)
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
        moving := netbox_ssl_internal.ssl_internal_get('moving');
        INSERT INTO @extschema@.ssl_lifecycle_event(certificate_id, event_type, object_type, object_id, description)
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
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_certificate_issuer_chain_check()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF NEW.issuer_chain <> ''
       AND (TG_OP = 'INSERT' OR NEW.issuer_chain IS DISTINCT FROM OLD.issuer_chain) THEN
        PERFORM netbox_ssl_internal.ssl_issuer_chain_check(NEW.issuer_chain, true);
    END IF;
    RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_certificate_match_authority()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    found_id bigint;
    found_source text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.issuing_ca_id IS NULL AND NEW.issuing_ca_source IS NULL THEN
            SELECT f.authority_id, f.source INTO found_id, found_source
              FROM netbox_ssl_internal.ssl_find_authority(NEW.issuer, NEW.authority_key_id, NEW.id) f;
            NEW.issuing_ca_id := found_id;
            NEW.issuing_ca_source := found_source;
        ELSIF NEW.issuing_ca_source IS NULL THEN
            NEW.issuing_ca_source := 'manual';
        END IF;
        RETURN NEW;
    END IF;
    -- UPDATE: ssl_match_authorities sets both columns itself.
    IF netbox_ssl_internal.ssl_internal_get('matching') IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF NEW.issuing_ca_id IS DISTINCT FROM OLD.issuing_ca_id THEN
        NEW.issuing_ca_source := CASE WHEN NEW.issuing_ca_id IS NULL THEN NULL ELSE 'manual' END;
    ELSE
        NEW.issuing_ca_source := OLD.issuing_ca_source;
    END IF;
    RETURN NEW;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean DEFAULT false)
 RETURNS SETOF ssl_certificate
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE ROWS 2
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET max_parallel_workers_per_gather TO '0'
AS $function$
DECLARE
    probes text[] := netbox_ssl_internal.ssl_host_probes(hostname);
BEGIN
    RETURN QUERY
    SELECT c.*
      FROM @extschema@.ssl_certificate AS c
     WHERE netbox_ssl_internal.ssl_host_match_keys(c.sans, c.common_name) && probes
       AND (include_inactive OR c.status = 'active')
     ORDER BY c.valid_to DESC, c.id DESC;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_chain_candidates(issuer text, authority_key_id text, issuer_chain text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    -- Names (lower case) and key identifiers to look for, level by level.
    names text[] := ARRAY[lower(ssl_chain_candidates.issuer)];
    keys text[] := ARRAY[ssl_chain_candidates.authority_key_id];
    found bigint[] := '{}';
    level_ids bigint[];
BEGIN
    IF ssl_chain_candidates.issuer_chain <> ''
       AND netbox_ssl_internal.ssl_issuer_chain_check(ssl_chain_candidates.issuer_chain, false) IS NULL THEN
        SELECT names || array_agg(lower(p.issuer)), keys || array_agg(p.authority_key_id)
          INTO names, keys
          FROM unnest(netbox_ssl_internal.ssl_chain_split_pem(ssl_chain_candidates.issuer_chain)) AS d(der),
               LATERAL netbox_ssl_internal.ssl_parse(d.der) AS p;
    END IF;
    FOR level IN 1..8 LOOP
        -- One indexed lookup per level (hash index on lower(subject), btree
        -- on subject_key_id, both for CA certificates only).
        SELECT array_agg(c.id ORDER BY c.id),
               array_agg(lower(c.issuer)) FILTER (WHERE lower(c.issuer) <> lower(c.subject)),
               array_agg(c.authority_key_id) FILTER (WHERE lower(c.issuer) <> lower(c.subject))
          INTO level_ids, names, keys
          FROM (SELECT x.id, x.subject, x.issuer, x.authority_key_id
                  FROM @extschema@.ssl_certificate AS x
                 WHERE x.is_ca AND (lower(x.subject) = ANY (names) OR x.subject_key_id = ANY (keys))
                   AND x.status <> 'revoked' AND x.id <> ALL (found)
                 LIMIT 64) AS c;  -- no ORDER BY: it would invite a scan in id order
        EXIT WHEN level_ids IS NULL;
        found := found || level_ids;
        EXIT WHEN cardinality(found) >= 64 OR names IS NULL;
    END LOOP;
    IF cardinality(found) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT string_agg(c.pem_content, E'\n' ORDER BY c.id)
              FROM @extschema@.ssl_certificate AS c WHERE c.id = ANY (found[1:64]));
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_check_compliance(id bigint DEFAULT NULL::bigint)
 RETURNS TABLE(certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    only_id bigint := ssl_check_compliance.id;
BEGIN
    IF only_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_certificate c WHERE c.id = only_id) THEN
        RAISE EXCEPTION 'certificate % does not exist', only_id USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
    WITH checked AS MATERIALIZED (
        SELECT c.id, c.tenant, c.algorithm, c.key_size, c.valid_from, c.valid_to, c.signature_algorithm,
               c.sans, c.common_name, c.issuer, c.subject, c.spki_sha256, (c.issuer_chain <> ''
                AND netbox_ssl_internal.ssl_issuer_chain_check(c.issuer_chain, false) IS NULL) AS has_chain,
               c.chain_status = 'valid' AS chain_valid,
               CASE c.algorithm WHEN 'rsa' THEN 'RSA' WHEN 'ecdsa' THEN 'ECDSA' WHEN 'dsa' THEN 'DSA'
                                WHEN 'ed25519' THEN 'Ed25519' WHEN 'ed448' THEN 'Ed448' ELSE 'unknown' END AS alg_name
          FROM @extschema@.ssl_certificate c
         WHERE CASE WHEN only_id IS NULL THEN c.status = 'active' ELSE c.id = only_id END
    ), pol AS MATERIALIZED (
        SELECT p.id, p.name, p.policy_type, p.severity, p.parameters, p.tenant
          FROM @extschema@.ssl_compliance_policy p WHERE p.enabled
    ), applicable AS NOT MATERIALIZED (
        -- Inlined into each branch, so each joins the certificates to the
        -- few policies of its type instead of filtering one big product.
        SELECT c.*, p.id AS pid, p.name AS pname, p.policy_type AS ptype, p.severity AS psev, p.parameters AS prm
          FROM checked c JOIN pol p ON p.tenant IS NULL OR p.tenant = c.tenant
    ), hashes AS MATERIALIZED (
        -- A handful of distinct names: the regular expressions run once per
        -- name (inlined, they ran once per certificate: 1 s per 10,000).
        SELECT d.signature_algorithm, netbox_ssl_internal.ssl_signature_hash(d.signature_algorithm) AS hash
          FROM (SELECT DISTINCT c.signature_algorithm FROM checked c) d
    ), res (cid, pid, pname, ptype, psev, failed, msg) AS (
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               CASE WHEN m.min IS NULL THEN false ELSE a.key_size IS NULL OR a.key_size < m.min END,
               CASE WHEN m.min IS NULL THEN format('%s keys are not covered by this policy.', a.alg_name)
                    WHEN a.key_size IS NULL THEN format('%s key size is unknown; the minimum is %s bits.', a.alg_name, m.min)
                    WHEN a.key_size < m.min THEN format('%s key of %s bits is below the minimum of %s.', a.alg_name, a.key_size, m.min)
                    ELSE format('%s key of %s bits meets the minimum of %s.', a.alg_name, a.key_size, m.min) END
          FROM applicable a CROSS JOIN LATERAL (SELECT (a.prm ->> a.algorithm)::integer AS min) m
         WHERE a.ptype = 'min_key_size'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer),
               format(CASE WHEN a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer)
                           THEN 'Validity of %s days exceeds the maximum of %s.'
                           ELSE 'Validity of %s days is within the maximum of %s.' END,
                      ceil((extract(epoch FROM a.valid_to - a.valid_from) + 1) / 86400), a.prm ->> 'max_days')
          FROM applicable a WHERE a.ptype = 'max_validity_days'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is allowed.', a.alg_name)
                    ELSE format('Key algorithm %s is not allowed (allowed: %s).', a.alg_name,
                                (SELECT string_agg(e, ', ') FROM jsonb_array_elements_text(a.prm -> 'algorithms') e)) END
          FROM applicable a WHERE a.ptype = 'algorithm_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is forbidden.', a.alg_name)
                    ELSE format('Key algorithm %s is not forbidden.', a.alg_name) END
          FROM applicable a WHERE a.ptype = 'algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               coalesce((a.prm -> 'algorithms') ? h.hash, false),
               CASE WHEN coalesce((a.prm -> 'algorithms') ? h.hash, false)
                    THEN format('Signature algorithm %s uses the forbidden hash %s.', a.signature_algorithm, upper(h.hash))
                    WHEN h.hash IS NULL THEN format('Signature algorithm %s names no hash, so none of the forbidden ones.', a.signature_algorithm)
                    ELSE format('Signature algorithm %s uses %s, which is not forbidden.', a.signature_algorithm, upper(h.hash)) END
          FROM applicable a JOIN hashes h ON h.signature_algorithm = a.signature_algorithm
         WHERE a.ptype = 'signature_algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer),
               CASE WHEN a.valid_to < now()
                    THEN format('Expired %s days ago.', floor(extract(epoch FROM now() - a.valid_to) / 86400))
                    WHEN a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer)
                    THEN format('Expires in %s days, within the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days')
                    ELSE format('Expires in %s days, outside the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days') END
          FROM applicable a WHERE a.ptype = 'expiry_warning'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               cardinality(a.sans) < (a.prm ->> 'min_count')::integer,
               format(CASE WHEN cardinality(a.sans) < (a.prm ->> 'min_count')::integer
                           THEN 'SAN count %s is below the required %s.'
                           ELSE 'SAN count %s meets the required %s.' END,
                      cardinality(a.sans), a.prm ->> 'min_count')
          FROM applicable a WHERE a.ptype = 'san_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches none of the allowed issuers.', a.issuer)
                    ELSE format('Issuer %s matches the allowed issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NOT NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches no forbidden issuer.', a.issuer)
                    ELSE format('Issuer %s matches the forbidden issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               w.name IS NOT NULL,
               CASE WHEN w.name IS NULL THEN 'No wildcard names.'
                    ELSE format('Wildcard name %s is forbidden.', w.name) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT coalesce(
                 (SELECT substr(s, 5) FROM unnest(a.sans) WITH ORDINALITY AS u(s, n)
                   WHERE s LIKE 'DNS:%*%' ORDER BY n LIMIT 1),
                 CASE WHEN strpos(a.common_name, '*') > 0 THEN a.common_name END) AS name) w
         WHERE a.ptype = 'wildcard_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT a.has_chain AND a.chain_valid IS NOT TRUE AND a.subject <> a.issuer,
               CASE WHEN a.has_chain THEN 'An issuer chain is stored.'
                    WHEN a.chain_valid THEN 'The chain was validated from the trust store and stored CA certificates.'
                    WHEN a.subject = a.issuer THEN 'Self-signed, so no issuer chain is needed.'
                    ELSE 'No issuer chain is stored.' END
          FROM applicable a WHERE a.ptype = 'chain_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               r.pred IS NOT NULL,
               CASE WHEN r.pred IS NULL THEN 'Does not reuse the key of a certificate it replaced.'
                    ELSE format('Renewal kept the key of certificate %s, which it replaced.', r.pred) END
          FROM applicable a
          CROSS JOIN LATERAL (
              SELECT min(x.pred) AS pred FROM (
                  SELECT o.id AS pred FROM @extschema@.ssl_certificate o
                   WHERE o.replaced_by = a.id AND o.spki_sha256 = a.spki_sha256
                  UNION ALL
                  SELECT o.id FROM @extschema@.ssl_lifecycle_event e
                    JOIN @extschema@.ssl_certificate o ON o.id = e.related_certificate_id
                   WHERE e.certificate_id = a.id AND e.event_type = 'activated' AND o.spki_sha256 = a.spki_sha256
              ) x) r
         WHERE a.ptype = 'key_reuse_forbidden'
    ), stored AS (
        INSERT INTO @extschema@.ssl_compliance_result AS t (certificate_id, policy_id, result, severity, message, changed_at)
        SELECT r.cid, r.pid, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg, now()
          FROM res r
          LEFT JOIN @extschema@.ssl_compliance_result o ON o.certificate_id = r.cid AND o.policy_id = r.pid
         -- One hash join skips the unchanged results (most of them, at
         -- every run after the first) instead of one conflict probe each.
         WHERE o.certificate_id IS NULL
            OR (o.result, o.severity, o.message)
               IS DISTINCT FROM (CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg)
        ON CONFLICT ON CONSTRAINT ssl_compliance_result_pkey DO UPDATE
           SET result = excluded.result, severity = excluded.severity, message = excluded.message,
               changed_at = excluded.changed_at
         -- An unchanged result is not rewritten: a check of 100,000
         -- certificates would otherwise write a million row versions.
         WHERE (t.result, t.severity, t.message) IS DISTINCT FROM (excluded.result, excluded.severity, excluded.message)
        RETURNING 1
    ), stale AS (
        DELETE FROM @extschema@.ssl_compliance_result t
         WHERE (only_id IS NULL OR t.certificate_id = only_id)
           AND NOT EXISTS (SELECT 1 FROM res r WHERE r.cid = t.certificate_id AND r.pid = t.policy_id)
        RETURNING 1
    )
    SELECT r.cid, r.pname, r.ptype, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg
      FROM res r;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_detect_acme()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    changed integer;
BEGIN
    WITH wanted AS (
        SELECT c.id, m.provider
          FROM @extschema@.ssl_certificate AS c
               CROSS JOIN LATERAL netbox_ssl_internal.ssl_acme_provider_for(c.issuer_org, c.issuer_cn) AS m
    )
    UPDATE @extschema@.ssl_certificate AS c
       SET acme_provider = w.provider, is_acme = w.provider IS NOT NULL
      FROM wanted AS w
     WHERE w.id = c.id AND c.acme_provider IS DISTINCT FROM w.provider;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_find_known(der bytea)
 RETURNS TABLE(certificate_id bigint, match text)
 LANGUAGE sql
 STABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT * FROM netbox_ssl_internal.ssl_find_known_parsed(netbox_ssl_internal.ssl_parse(ssl_find_known.der))
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_find_known(pem text)
 RETURNS TABLE(certificate_id bigint, match text)
 LANGUAGE sql
 STABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT * FROM netbox_ssl_internal.ssl_find_known_parsed(netbox_ssl_internal.ssl_parse(ssl_find_known.pem))
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_host_match_keys(sans text[], common_name text)
 RETURNS text[]
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE COST 500
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    keys text[] := '{}';
    has_dns boolean := false;
    san text;
    k text;
BEGIN
    FOREACH san IN ARRAY coalesce(sans, '{}') LOOP
        IF starts_with(san, 'DNS:') THEN
            has_dns := true;
            k := netbox_ssl_internal.ssl_host_dns_key(substr(san, 5));
        ELSIF starts_with(san, 'IP:') THEN
            k := netbox_ssl_internal.ssl_host_ip_key(substr(san, 4));
        ELSE
            CONTINUE;
        END IF;
        IF k <> '' THEN
            keys := keys || k;
        END IF;
    END LOOP;
    IF NOT has_dns AND common_name <> '' THEN
        keys := keys || netbox_ssl_internal.ssl_host_dns_key(common_name);
    END IF;
    RETURN keys;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_host_probes(hostname text)
 RETURNS text[]
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    name text := hostname;
    ip_key text;
    parent text;
BEGIN
    IF name ~ '^\[.*\]$' THEN
        name := substr(name, 2, length(name) - 2);  -- [2001:db8::1], as in URLs
    ELSE
        name := regexp_replace(name, '\.$', '');  -- absolute name
    END IF;
    IF name ~ ':' OR name ~ '^[0-9.]+$' THEN
        ip_key := netbox_ssl_internal.ssl_host_ip_key(name);
        IF ip_key IS NULL THEN
            RAISE EXCEPTION 'host "%" looks like an IP address but is not a valid one', hostname
                USING ERRCODE = '22023',
                      HINT = 'Give a dotted-quad IPv4 address without leading zeros, or an IPv6 address without zone or prefix length.';
        END IF;
        RETURN ARRAY[ip_key];
    END IF;
    IF name = '' OR name ~ '(^|\.)(\.|$)' OR name ~ '[*[:space:]/@]' THEN
        RAISE EXCEPTION 'host "%" is not a host name', hostname
            USING ERRCODE = '22023',
                  HINT = 'Give a DNS name (A-labels for internationalised names) or an IP address; wildcards belong in certificates, not in the name looked up.';
    END IF;
    name := netbox_ssl_internal.ssl_host_dns_key(name);
    parent := substr(name, strpos(name, '.') + 1);
    -- "*" stands for exactly one whole label, and only above a name of at
    -- least two labels: *.example.com covers www.example.com, but *.com
    -- covers nothing (as OpenSSL's X509_check_host decides).
    IF strpos(name, '.') > 0 AND strpos(parent, '.') > 0 THEN
        RETURN ARRAY[name, '*.' || parent];
    END IF;
    RETURN ARRAY[name];
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_import_csr(pem text, tenant text DEFAULT NULL::text, requested_by text DEFAULT NULL::text)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    parsed @extschema@.ssl_csr_info := netbox_ssl_internal.ssl_parse_csr(pem);
    new_id bigint;
    existing_id bigint;
BEGIN
    IF pem IS NULL THEN
        RAISE EXCEPTION 'the certificate request argument must not be NULL' USING ERRCODE = '22004';
    END IF;
    INSERT INTO @extschema@.ssl_csr(fingerprint_sha256, subject, common_name, sans, algorithm, key_size, spki_sha256,
                                     signature_algorithm, signature_valid, pem, tenant, requested_by)
    VALUES (parsed.fingerprint_sha256, parsed.subject, parsed.common_name, parsed.sans, parsed.algorithm,
            parsed.key_size, parsed.spki_sha256, parsed.signature_algorithm, parsed.signature_valid,
            parsed.pem_content, ssl_import_csr.tenant,
            coalesce(ssl_import_csr.requested_by, nullif(current_setting('netbox_ssl.actor', true), ''),
                     netbox_ssl_internal.ssl_caller()))
    ON CONFLICT (fingerprint_sha256) DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN
        SELECT r.id INTO existing_id FROM @extschema@.ssl_csr r WHERE r.fingerprint_sha256 = parsed.fingerprint_sha256;
        RAISE EXCEPTION 'certificate request with fingerprint % is already stored as id %', parsed.fingerprint_sha256,
                        coalesce(existing_id::text, '(concurrent)')
            USING ERRCODE = '23505', HINT = 'Use the existing row; importing the same request twice is refused.';
    END IF;
    RETURN new_id;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_lifecycle_event_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    purging bigint := netbox_ssl_internal.ssl_internal_get('purging');
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_match_authorities()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    changed integer;
    total integer := 0;
BEGIN
    PERFORM netbox_ssl_internal.ssl_internal_set('matching', 1);
    -- One set-based pass per level of a CA hierarchy: a pass can only use the
    -- links of CA certificates as they were before it.
    FOR pass IN 1..16 LOOP
        UPDATE @extschema@.ssl_certificate c
           SET issuing_ca_id = m.authority_id, issuing_ca_source = m.source
          FROM (SELECT x.id, f.authority_id, f.source
                  FROM @extschema@.ssl_certificate x
                  LEFT JOIN LATERAL netbox_ssl_internal.ssl_find_authority(x.issuer, x.authority_key_id, x.id) f ON true
                 WHERE x.issuing_ca_source IS DISTINCT FROM 'manual') m
         WHERE c.id = m.id
           AND (c.issuing_ca_id, c.issuing_ca_source) IS DISTINCT FROM (m.authority_id, m.source);
        GET DIAGNOSTICS changed = ROW_COUNT;
        total := total + changed;
        EXIT WHEN changed = 0;
    END LOOP;
    PERFORM netbox_ssl_internal.ssl_internal_set('matching', NULL);
    RETURN total;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_netbox_attach(plugin_schema name DEFAULT 'public'::name)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    s name := plugin_schema;
    state @extschema@.ssl_netbox_bridge;
    m record;
    r record;
    total bigint;
    done bigint := 0;
    linked bigint := 0;
    ours bigint;
    failed text[] := '{}';
    fp text COLLATE "default";   -- index lookups (see ssl_netbox_link_row)
    other bigint;
    todo bigint[];
    pid bigint;
    no_pem bigint[];
    t text;
BEGIN
    IF s IS NULL THEN
        RAISE EXCEPTION 'plugin_schema must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO m FROM netbox_ssl_internal.ssl_netbox_missing(s) LIMIT 1;
    IF FOUND THEN
        IF m.column_name IS NULL THEN
            RAISE EXCEPTION 'NetBox table %.% does not exist', s, m.table_name
                USING ERRCODE = '42P01',
                      HINT = 'The bridge supports NetBox 4.4 to 4.6 with the NetBox SSL plugin 1.2.x, migrated (manage.py migrate); pass the schema of NetBox''s tables.';
        END IF;
        RAISE EXCEPTION 'NetBox table %.% has no column %', s, m.table_name, m.column_name
            USING ERRCODE = '42703',
                  HINT = 'The bridge supports NetBox 4.4 to 4.6 with the NetBox SSL plugin 1.2.x; this plugin version changed a column the bridge uses.';
    END IF;
    SELECT * INTO state FROM @extschema@.ssl_netbox_bridge FOR UPDATE;
    IF FOUND AND state.plugin_schema <> s AND EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link) THEN
        RAISE EXCEPTION 'the bridge is linked to NetBox tables in schema %, not %', state.plugin_schema, s
            USING ERRCODE = '55000', HINT = 'Detach, and attach the same schema again.';
    END IF;
    -- NetBox's writers wait until the attach commits (and then go through
    -- the triggers); the attach sees every row committed before it.
    EXECUTE format('LOCK TABLE %1$I.netbox_ssl_certificate, %1$I.netbox_ssl_certificateassignment IN SHARE ROW EXCLUSIVE MODE', s);
    -- While linking, our triggers stay quiet: NetBox already has these rows.
    INSERT INTO @extschema@.ssl_netbox_bridge(plugin_schema, attached, attached_at)
    VALUES (s, false, now())
    ON CONFLICT (singleton) DO UPDATE SET plugin_schema = EXCLUDED.plugin_schema, attached = false, attached_at = now();

    -- 1. Link every plugin certificate that has PEM content.
    EXECUTE format('SELECT count(*) FROM %I.netbox_ssl_certificate c WHERE btrim(c.pem_content) <> '''''
                   ' AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.netbox_certificate_id = c.id)', s)
       INTO total;
    -- The checks that can fail run in a read-only subtransaction per row
    -- (no XID, so 100,000 of them cost nothing at commit or in snapshots);
    -- the writes run outside it.
    -- The work list first (a cursor open over NetBox's table while this
    -- loop inserts links would revisit them).
    EXECUTE format('SELECT coalesce(array_agg(c.id ORDER BY c.id), ''{}'') FROM %I.netbox_ssl_certificate c'
                   ' WHERE btrim(c.pem_content) <> '''''
                   ' AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.netbox_certificate_id = c.id)', s)
       INTO todo;
    FOREACH pid IN ARRAY todo LOOP
        EXECUTE format('SELECT c.id, c.pem_content || CASE WHEN c.issuer_chain <> '''' THEN E''\n'' || c.issuer_chain ELSE '''' END AS pem'
                       '  FROM %I.netbox_ssl_certificate c WHERE c.id = $1', s)
           INTO r USING pid;
        BEGIN
            fp := (netbox_ssl_internal.ssl_parse(r.pem)).fingerprint_sha256;
            SELECT l.netbox_certificate_id INTO other FROM @extschema@.ssl_certificate c
              JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = c.id
             WHERE c.fingerprint_sha256 = fp;
            IF other IS NOT NULL THEN
                RAISE EXCEPTION 'holds the certificate with fingerprint %, which is already linked to NetBox certificate %', fp, other
                    USING ERRCODE = '23505';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            failed := failed || format('NetBox certificate %s: %s (SQLSTATE %s)', r.id, SQLERRM, SQLSTATE);
            fp := NULL;
        END;
        IF fp IS NOT NULL THEN
            ours := netbox_ssl_internal.ssl_netbox_link_row(s, r.id, false, fp);
            IF ours IS NOT NULL THEN
                linked := linked + 1;
            END IF;
        END IF;
        done := done + 1;
        IF done % 10000 = 0 THEN
            RAISE NOTICE 'ssl_netbox_attach: % of % NetBox certificates linked (% s)', done, total,
                round(extract(epoch FROM clock_timestamp() - now())::numeric, 1);
        END IF;
    END LOOP;
    FOREACH t IN ARRAY failed[1:20] LOOP
        RAISE NOTICE 'ssl_netbox_attach: not linked: %', t;
    END LOOP;
    IF cardinality(failed) > 20 THEN
        RAISE NOTICE 'ssl_netbox_attach: % more not linked; ssl_netbox_check() lists them all', cardinality(failed) - 20;
    END IF;
    EXECUTE format('SELECT array_agg(id ORDER BY id) FROM %I.netbox_ssl_certificate WHERE btrim(pem_content) = ''''', s)
       INTO no_pem;
    IF no_pem IS NOT NULL THEN
        RAISE NOTICE 'ssl_netbox_attach: % NetBox certificate(s) have no PEM content and stay unlinked: %',
            cardinality(no_pem), array_to_string(no_pem[1:50], ', ') || CASE WHEN cardinality(no_pem) > 50 THEN ', …' ELSE '' END;
    END IF;

    -- 1b. Our certificates without a NetBox twin (stored before the first
    -- attach or while detached) get their plugin row; those deleted in
    -- NetBox (ssl_netbox_unlinked) stay out.
    FOR r IN SELECT c.id FROM @extschema@.ssl_certificate c
              WHERE NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = c.id)
                AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_unlinked u WHERE u.certificate_id = c.id)
              ORDER BY c.id LOOP
        BEGIN
            PERFORM netbox_ssl_internal.ssl_netbox_push_certificate(s, r.id);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'ssl_netbox_attach: certificate % not written to NetBox: % (SQLSTATE %)', r.id, SQLERRM, SQLSTATE;
        END;
    END LOOP;

    -- 2. Their assignments, one statement (logged as assignment_added here).
    EXECUTE format('INSERT INTO @extschema@.ssl_assignment(certificate_id, object_type, object_id, is_primary, notes)'
                   ' SELECT l.certificate_id, ct.app_label || ''.'' || ct.model, a.assigned_object_id, a.is_primary, nullif(a.notes, '''')'
                   '   FROM %1$I.netbox_ssl_certificateassignment a'
                   '   JOIN @extschema@.ssl_netbox_link l ON l.netbox_certificate_id = a.certificate_id'
                   '   JOIN %1$I.django_content_type ct ON ct.id = a.assigned_object_type_id'
                   '   JOIN @extschema@.ssl_certificate c ON c.id = l.certificate_id'
                   '  WHERE c.status NOT IN (''replaced'', ''revoked'', ''archived'')'
                   '  ORDER BY a.id'
                   ' ON CONFLICT (certificate_id, object_type, object_id) DO NOTHING', s);

    -- 2b. Our assignments of linked certificates that NetBox lacks, for
    -- NetBox objects that exist (others stay ours only; ssl_netbox_check
    -- lists them).
    EXECUTE format('INSERT INTO %1$I.netbox_ssl_certificateassignment (created, last_updated, custom_field_data,'
                   '   assigned_object_id, is_primary, notes, assigned_object_type_id, certificate_id)'
                   ' SELECT now(), now(), ''{}'', a.object_id, a.is_primary, coalesce(a.notes, ''''), ct.id, l.netbox_certificate_id'
                   '   FROM @extschema@.ssl_assignment a'
                   '   JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = a.certificate_id'
                   '   JOIN %1$I.django_content_type ct ON ct.app_label || ''.'' || ct.model = a.object_type'
                   '  WHERE a.object_type IN (''dcim.device'', ''ipam.service'', ''virtualization.virtualmachine'')'
                   '    AND CASE a.object_type'
                   '          WHEN ''dcim.device'' THEN EXISTS (SELECT 1 FROM %1$I.dcim_device o WHERE o.id = a.object_id)'
                   '          WHEN ''ipam.service'' THEN EXISTS (SELECT 1 FROM %1$I.ipam_service o WHERE o.id = a.object_id)'
                   '          ELSE EXISTS (SELECT 1 FROM %1$I.virtualization_virtualmachine o WHERE o.id = a.object_id) END'
                   '    AND NOT EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b'
                   '                     WHERE b.certificate_id = l.netbox_certificate_id AND b.assigned_object_type_id = ct.id'
                   '                       AND b.assigned_object_id = a.object_id)'
                   '  ORDER BY a.id', s);

    -- 3. Renewals NetBox recorded (old replaced, replaced_by set): recorded
    -- here as Janus renewals, oldest first; NetBox's leftover copies on the
    -- old certificate are moved to (or dropped in favour of) the successor.
    FOR r IN EXECUTE format('SELECT c.id, c.replaced_by_id, lo.certificate_id AS ours_old, ln.certificate_id AS ours_new'
                            '  FROM %I.netbox_ssl_certificate c'
                            '  JOIN @extschema@.ssl_netbox_link lo ON lo.netbox_certificate_id = c.id'
                            '  JOIN @extschema@.ssl_netbox_link ln ON ln.netbox_certificate_id = c.replaced_by_id'
                            '  JOIN @extschema@.ssl_certificate o ON o.id = lo.certificate_id'
                            ' WHERE c.status = ''replaced'' AND o.status <> ''replaced'''
                            ' ORDER BY c.valid_to, c.id', s) LOOP
        BEGIN
            PERFORM netbox_ssl_internal.ssl_netbox_renew_onto(r.ours_old, r.ours_new);
            EXECUTE format('DELETE FROM %1$I.netbox_ssl_certificateassignment a WHERE a.certificate_id = $1'
                           ' AND EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b WHERE b.certificate_id = $2'
                           ' AND b.assigned_object_type_id = a.assigned_object_type_id AND b.assigned_object_id = a.assigned_object_id)', s)
              USING r.id, r.replaced_by_id;
            EXECUTE format('UPDATE %I.netbox_ssl_certificateassignment SET certificate_id = $2 WHERE certificate_id = $1', s)
              USING r.id, r.replaced_by_id;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'ssl_netbox_attach: renewal of NetBox certificate % by % not recorded: %', r.id, r.replaced_by_id, SQLERRM;
        END;
    END LOOP;

    -- 4. Statuses that differ: of pairs linked in this call (NetBox's
    -- 'active' takes our date-based status), then of older pairs that
    -- drifted while detached (NetBox's status where our state machine
    -- allows it, else ours).
    FOR r IN EXECUTE format('SELECT l.netbox_certificate_id, l.certificate_id, l.linked_at = now() AS fresh'
                            '  FROM @extschema@.ssl_netbox_link l'
                            '  JOIN %I.netbox_ssl_certificate p ON p.id = l.netbox_certificate_id'
                            '  JOIN @extschema@.ssl_certificate c ON c.id = l.certificate_id'
                            ' WHERE p.status <> c.status ORDER BY l.netbox_certificate_id', s) LOOP
        PERFORM netbox_ssl_internal.ssl_netbox_settle_status(s, r.netbox_certificate_id, r.certificate_id, r.fresh);
    END LOOP;

    -- 4b. Successor links of our renewals NetBox lacks (certificates written
    -- to NetBox in step 1b, or renewed here while detached).
    EXECUTE format('UPDATE %I.netbox_ssl_certificate p SET replaced_by_id = ls.netbox_certificate_id, last_updated = now()'
                   '  FROM @extschema@.ssl_netbox_link l'
                   '  JOIN @extschema@.ssl_certificate c ON c.id = l.certificate_id'
                   '  JOIN @extschema@.ssl_netbox_link ls ON ls.certificate_id = c.replaced_by'
                   ' WHERE p.id = l.netbox_certificate_id AND p.status = ''replaced'' AND c.status = ''replaced'''
                   '   AND p.replaced_by_id IS DISTINCT FROM ls.netbox_certificate_id', s);

    -- 5. From now on both sides follow each other.
    UPDATE @extschema@.ssl_netbox_bridge SET attached = true;
    FOR r IN SELECT t.tgname, t.tgrelid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              WHERE t.tgname = 'ssl_netbox_bridge'
                AND c.relnamespace = (SELECT n.oid FROM pg_namespace n WHERE n.nspname = s) LOOP
        EXECUTE format('DROP TRIGGER ssl_netbox_bridge ON %s', r.tgrelid::regclass);
    END LOOP;
    EXECUTE format('CREATE TRIGGER ssl_netbox_bridge AFTER INSERT OR UPDATE OR DELETE ON %I.netbox_ssl_certificate'
                   ' FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_certificate()', s);
    EXECUTE format('CREATE TRIGGER ssl_netbox_bridge AFTER INSERT OR UPDATE OR DELETE ON %I.netbox_ssl_certificateassignment'
                   ' FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_assignment()', s);
    FOR r IN SELECT * FROM (VALUES ('dcim_device', 'dcim.device'), ('ipam_service', 'ipam.service'),
                                   ('virtualization_virtualmachine', 'virtualization.virtualmachine')) v(tbl, typ) LOOP
        EXECUTE format('CREATE TRIGGER ssl_netbox_bridge AFTER DELETE ON %I.%I'
                       ' FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_object_delete(%L)', s, r.tbl, r.typ);
    END LOOP;
    RAISE NOTICE 'ssl_netbox_attach: attached to schema %; % certificate(s) linked now', s, linked;
    RETURN linked;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_netbox_check()
 RETURNS TABLE(netbox_certificate_id bigint, certificate_id bigint, problem text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
    state @extschema@.ssl_netbox_bridge;
    m record;
    s name;
    broken boolean := false;
BEGIN
    SELECT * INTO state FROM @extschema@.ssl_netbox_bridge;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, 'the NetBox bridge was never attached'::text;
        RETURN;
    END IF;
    s := state.plugin_schema;
    FOR m IN SELECT * FROM netbox_ssl_internal.ssl_netbox_missing(s) LOOP
        broken := true;
        RETURN QUERY SELECT NULL::bigint, NULL::bigint,
            CASE WHEN m.column_name IS NULL THEN format('NetBox table %s.%s is missing', s, m.table_name)
                 ELSE format('NetBox table %s.%s has no column %s, which the bridge uses', s, m.table_name, m.column_name) END;
    END LOOP;
    IF broken THEN
        RETURN;
    END IF;
    IF NOT state.attached THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, 'the NetBox bridge is detached: changes are not mirrored'::text;
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH p AS (SELECT c.*, l.certificate_id AS ours FROM %1$I.netbox_ssl_certificate c
                     LEFT JOIN @extschema@.ssl_netbox_link l ON l.netbox_certificate_id = c.id),
        pa AS (SELECT l.certificate_id AS ours, a.certificate_id AS pid, ct.app_label || '.' || ct.model AS t,
                      a.assigned_object_id AS o
                 FROM %1$I.netbox_ssl_certificateassignment a
                 JOIN @extschema@.ssl_netbox_link l ON l.netbox_certificate_id = a.certificate_id
                 JOIN %1$I.django_content_type ct ON ct.id = a.assigned_object_type_id),
        oa AS (SELECT a.certificate_id AS ours, l.netbox_certificate_id AS pid, a.object_type AS t, a.object_id AS o
                 FROM @extschema@.ssl_assignment a
                 JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = a.certificate_id)
        SELECT l.netbox_certificate_id, l.certificate_id, 'NetBox certificate missing'
          FROM @extschema@.ssl_netbox_link l
         WHERE NOT EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificate c WHERE c.id = l.netbox_certificate_id)
        UNION ALL
        SELECT p.id, NULL::bigint, CASE WHEN btrim(p.pem_content) = '' THEN 'not linked: no PEM content'
                                        ELSE 'not linked' END
          FROM p WHERE p.ours IS NULL
        UNION ALL
        SELECT NULL::bigint, c.id, 'not in NetBox'
          FROM @extschema@.ssl_certificate c
         WHERE NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = c.id)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_unlinked u WHERE u.certificate_id = c.id)
        UNION ALL
        SELECT p.id, c.id, format('status: NetBox %%s, inventory %%s', p.status, c.status)
          FROM p JOIN @extschema@.ssl_certificate c ON c.id = p.ours WHERE p.status <> c.status
        UNION ALL
        SELECT p.id, c.id, format('fingerprint: NetBox %%s, inventory %%s', p.fingerprint_sha256, c.fingerprint_sha256)
          FROM p JOIN @extschema@.ssl_certificate c ON c.id = p.ours
         WHERE upper(p.fingerprint_sha256) <> c.fingerprint_sha256
        UNION ALL
        SELECT p.id, c.id, format('successor: NetBox %%s, inventory %%s (NetBox %%s)',
                                  coalesce(p.replaced_by_id::text, 'none'), coalesce(c.replaced_by::text, 'none'),
                                  coalesce(ls.netbox_certificate_id::text, 'none'))
          FROM p JOIN @extschema@.ssl_certificate c ON c.id = p.ours
          LEFT JOIN @extschema@.ssl_netbox_link ls ON ls.certificate_id = c.replaced_by
         WHERE p.replaced_by_id IS DISTINCT FROM ls.netbox_certificate_id
           AND NOT (p.replaced_by_id IS NULL AND c.replaced_by IS NOT NULL AND ls.netbox_certificate_id IS NULL)
        UNION ALL
        SELECT coalesce(pa.pid, oa.pid), coalesce(pa.ours, oa.ours),
               format('assignment %%s %%s only in %%s', coalesce(pa.t, oa.t), coalesce(pa.o, oa.o),
                      CASE WHEN oa.ours IS NULL THEN 'NetBox' ELSE 'the inventory' END)
          FROM pa FULL JOIN oa ON oa.ours = pa.ours AND oa.t = pa.t AND oa.o = pa.o
         WHERE pa.ours IS NULL OR oa.ours IS NULL
        ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3
    $q$, s);
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_link_row(plugin_schema name, netbox_certificate_id bigint, reconcile boolean DEFAULT true, known_fingerprint text DEFAULT NULL::text)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    p record;
    pem text;
    -- COLLATE "default": a function with a name argument (plugin_schema)
    -- takes collation "C" for its text variables, and a comparison in "C"
    -- cannot use the unique index on ssl_certificate.fingerprint_sha256
    -- (default collation): every lookup walked the whole table, which made
    -- attach and linked NetBox inserts quadratic.
    fp text COLLATE "default";
    ours bigint;
    other bigint;
    imported boolean := false;
BEGIN
    EXECUTE format('SELECT c.pem_content, c.issuer_chain, c.private_key_location, c.status, t.slug::text AS tenant'
                   '  FROM %1$I.netbox_ssl_certificate c LEFT JOIN %1$I.tenancy_tenant t ON t.id = c.tenant_id'
                   ' WHERE c.id = $1', plugin_schema)
       INTO p USING netbox_certificate_id;
    IF p.pem_content IS NULL OR btrim(p.pem_content) = '' THEN
        RETURN NULL;
    END IF;
    pem := p.pem_content || CASE WHEN coalesce(p.issuer_chain, '') <> '' THEN E'\n' || p.issuer_chain ELSE '' END;
    fp := coalesce(known_fingerprint, (netbox_ssl_internal.ssl_parse(pem)).fingerprint_sha256);   -- 22023 key material, 22P02 malformed
    SELECT c.id, l.netbox_certificate_id INTO ours, other
      FROM @extschema@.ssl_certificate c
      LEFT JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = c.id
     WHERE c.fingerprint_sha256 = fp;
    IF other IS NOT NULL AND other <> netbox_certificate_id THEN
        RAISE EXCEPTION 'NetBox certificate % holds the certificate with fingerprint %, which is already linked to NetBox certificate %', netbox_certificate_id, fp, other
            USING ERRCODE = '23505',
                  HINT = format('Certificate %s of the inventory is NetBox certificate %s; use that row.', ours, other);
    END IF;
    IF ours IS NULL THEN
        -- Only while attached does our insert trigger look for the NetBox row
        -- (ssl_netbox_attach links with the trigger quiet).
        IF EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_bridge b WHERE b.attached) THEN
            INSERT INTO @extschema@.ssl_netbox_importing VALUES (fp, netbox_certificate_id);
            ours := netbox_ssl_internal.ssl_import(pem, nullif(p.private_key_location, ''), p.tenant);
            DELETE FROM @extschema@.ssl_netbox_importing i WHERE i.fingerprint_sha256 = fp;
        ELSE
            ours := netbox_ssl_internal.ssl_import(pem, nullif(p.private_key_location, ''), p.tenant);
        END IF;
        imported := true;
    END IF;
    INSERT INTO @extschema@.ssl_netbox_link(netbox_certificate_id, certificate_id)
    VALUES (netbox_certificate_id, ours) ON CONFLICT DO NOTHING;
    DELETE FROM @extschema@.ssl_netbox_unlinked u WHERE u.certificate_id = ours;
    IF reconcile THEN
        PERFORM netbox_ssl_internal.ssl_netbox_settle_status(plugin_schema, netbox_certificate_id, ours, imported);
    END IF;
    RETURN ours;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_on_assignment_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    s name;
    bad record;
    -- The rows of this statement on linked certificates, as NetBox sees
    -- them: (old pid, new pid, content type, object, is_primary, notes,
    -- object's name). Built per event: transition tables exist per event.
    changes text;
BEGIN
    SELECT b.plugin_schema INTO s FROM @extschema@.ssl_netbox_bridge b WHERE b.attached;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    -- Nothing on a linked certificate changed (e.g. the echo of a change
    -- that came from NetBox, which touched no row): out before planning.
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM new_rows n JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = n.certificate_id) THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = o.certificate_id) THEN
            RETURN NULL;
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                       WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l
                                      WHERE l.certificate_id IN (o.certificate_id, n.certificate_id))) THEN
        RETURN NULL;
    END IF;
    changes := format($q$
        SELECT lo.netbox_certificate_id AS old_pid, ln.netbox_certificate_id AS new_pid,
               coalesce(n.object_type, o.object_type) AS object_type, coalesce(n.object_id, o.object_id) AS object_id,
               n.is_primary, coalesce(n.notes, '') AS notes, ct.id AS ct,
               coalesce(d.name::text, v.name::text, sv.name::text) AS object_name,
               (d.id IS NOT NULL OR v.id IS NOT NULL OR sv.id IS NOT NULL) AS present, coalesce(n.id, o.id) AS id
          FROM %2$s
          LEFT JOIN @extschema@.ssl_netbox_link lo ON lo.certificate_id = o.certificate_id
          LEFT JOIN @extschema@.ssl_netbox_link ln ON ln.certificate_id = n.certificate_id
          LEFT JOIN %1$I.django_content_type ct
                 ON ct.app_label = split_part(coalesce(n.object_type, o.object_type), '.', 1)
                AND ct.model = split_part(coalesce(n.object_type, o.object_type), '.', 2)
                AND coalesce(n.object_type, o.object_type) IN ('dcim.device', 'ipam.service', 'virtualization.virtualmachine')
          LEFT JOIN %1$I.dcim_device d ON ct.model = 'device' AND d.id = coalesce(n.object_id, o.object_id)
          LEFT JOIN %1$I.virtualization_virtualmachine v ON ct.model = 'virtualmachine' AND v.id = coalesce(n.object_id, o.object_id)
          LEFT JOIN %1$I.ipam_service sv ON ct.model = 'service' AND sv.id = coalesce(n.object_id, o.object_id)
         WHERE (lo.netbox_certificate_id IS NOT NULL OR ln.netbox_certificate_id IS NOT NULL)$q$,
        s, CASE TG_OP WHEN 'INSERT' THEN '(SELECT NULL::bigint AS id, NULL::bigint AS certificate_id, NULL::text AS object_type,'
                                          ' NULL::bigint AS object_id) o RIGHT JOIN new_rows n ON true'
                      WHEN 'DELETE' THEN 'old_rows o LEFT JOIN (SELECT NULL::bigint AS id, NULL::bigint AS certificate_id,'
                                          ' NULL::text AS object_type, NULL::bigint AS object_id, NULL::boolean AS is_primary,'
                                          ' NULL::text AS notes) n ON false'
                      ELSE 'old_rows o JOIN new_rows n ON n.id = o.id' END);
    -- Added to (or moved onto) a linked certificate: NetBox must know the
    -- type (22023) and the object (23503).
    EXECUTE 'WITH changes AS (' || changes || ') SELECT c.object_type, c.object_id, c.ct, c.present FROM changes c'
            ' WHERE c.new_pid IS NOT NULL AND c.old_pid IS DISTINCT FROM c.new_pid AND (c.ct IS NULL OR NOT c.present)'
            ' ORDER BY c.id LIMIT 1' INTO bad;
    IF bad.object_type IS NOT NULL THEN
        IF bad.ct IS NULL THEN
            PERFORM netbox_ssl_internal.ssl_netbox_content_type(s, bad.object_type);   -- raises 22023
        END IF;
        RAISE EXCEPTION 'NetBox has no % with id %', bad.object_type, bad.object_id
            USING ERRCODE = '23503',
                  HINT = 'Certificates linked to NetBox can only be assigned to objects that exist in NetBox.';
    END IF;

    -- NetBox's rows that go: removed here, or moved to a certificate that
    -- NetBox already has them on (or that is not linked).
    EXECUTE 'WITH changes AS (' || changes || '), ' || format($q$
        gone AS (
            DELETE FROM %1$I.netbox_ssl_certificateassignment a
             USING changes c
             WHERE c.old_pid IS NOT NULL AND c.ct IS NOT NULL AND c.old_pid IS DISTINCT FROM c.new_pid
               AND a.certificate_id = c.old_pid AND a.assigned_object_type_id = c.ct AND a.assigned_object_id = c.object_id
               AND (c.new_pid IS NULL OR EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b
                     WHERE b.certificate_id = c.new_pid AND b.assigned_object_type_id = c.ct
                       AND b.assigned_object_id = c.object_id))
         RETURNING a.certificate_id, c.object_type, c.object_name, c.id),
        touched AS (
            UPDATE %1$I.netbox_ssl_certificate x SET last_updated = now()
             WHERE x.id IN (SELECT certificate_id FROM gone) RETURNING x.id)
        INSERT INTO %1$I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
               new_status, actor, certificate_id, related_certificate_id)
        SELECT 'assignment_removed', now(),
               format('Removed from %%s: %%s', split_part(g.object_type, '.', 2), coalesce(g.object_name, 'None')),
               '', '', left(netbox_ssl_internal.ssl_caller(), 150), g.certificate_id, NULL
          FROM gone g WHERE (SELECT count(*) FROM touched) >= 0 ORDER BY g.id$q$, s);

    -- NetBox's rows that move between linked certificates (ssl_renew,
    -- ssl_revert_renewal), and edits of is_primary / notes.
    EXECUTE 'WITH changes AS (' || changes || '), ' || format($q$
        moved AS (
            UPDATE %1$I.netbox_ssl_certificateassignment a
               SET certificate_id = c.new_pid, is_primary = c.is_primary, notes = c.notes, last_updated = now()
              FROM changes c
             WHERE c.old_pid IS NOT NULL AND c.new_pid IS NOT NULL AND c.ct IS NOT NULL
               AND a.certificate_id = c.old_pid AND a.assigned_object_type_id = c.ct AND a.assigned_object_id = c.object_id
               AND (a.certificate_id, a.is_primary, a.notes) IS DISTINCT FROM (c.new_pid, c.is_primary, c.notes)
            RETURNING c.old_pid, c.new_pid, c.object_type, c.object_name, c.id),
        touched AS (
            UPDATE %1$I.netbox_ssl_certificate x SET last_updated = now()
             WHERE x.id IN (SELECT old_pid FROM moved WHERE old_pid <> new_pid
                            UNION SELECT new_pid FROM moved WHERE old_pid <> new_pid) RETURNING x.id)
        INSERT INTO %1$I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
               new_status, actor, certificate_id, related_certificate_id)
        SELECT e.event_type, now(), e.description, '', '', left(netbox_ssl_internal.ssl_caller(), 150), e.certificate_id, NULL
          FROM moved m
          CROSS JOIN LATERAL (VALUES
              (1, 'assignment_added', format('Assigned to %%s: %%s', split_part(m.object_type, '.', 2), coalesce(m.object_name, 'None')), m.new_pid),
              (2, 'assignment_removed', format('Removed from %%s: %%s', split_part(m.object_type, '.', 2), coalesce(m.object_name, 'None')), m.old_pid))
              e(k, event_type, description, certificate_id)
         WHERE m.old_pid <> m.new_pid AND (SELECT count(*) FROM touched) >= 0
         ORDER BY m.id, e.k$q$, s);

    -- NetBox's rows that are new: added here, or moved here from a
    -- certificate NetBox does not have them on.
    EXECUTE 'WITH changes AS (' || changes || '), ' || format($q$
        added AS (
            INSERT INTO %1$I.netbox_ssl_certificateassignment (created, last_updated, custom_field_data,
                   assigned_object_id, is_primary, notes, assigned_object_type_id, certificate_id)
            SELECT now(), now(), '{}', c.object_id, c.is_primary, c.notes, c.ct, c.new_pid
              FROM changes c
             WHERE c.new_pid IS NOT NULL AND c.ct IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b
                                WHERE b.certificate_id = c.new_pid AND b.assigned_object_type_id = c.ct
                                  AND b.assigned_object_id = c.object_id)
             ORDER BY c.id
            RETURNING certificate_id, assigned_object_type_id, assigned_object_id),
        touched AS (
            UPDATE %1$I.netbox_ssl_certificate x SET last_updated = now()
             WHERE x.id IN (SELECT certificate_id FROM added) RETURNING x.id)
        INSERT INTO %1$I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description, old_status,
               new_status, actor, certificate_id, related_certificate_id)
        SELECT 'assignment_added', now(),
               format('Assigned to %%s: %%s', split_part(c.object_type, '.', 2), coalesce(c.object_name, 'None')),
               '', '', left(netbox_ssl_internal.ssl_caller(), 150), a.certificate_id, NULL
          FROM added a JOIN changes c
            ON c.new_pid = a.certificate_id AND c.ct = a.assigned_object_type_id AND c.object_id = a.assigned_object_id
         WHERE (SELECT count(*) FROM touched) >= 0
         ORDER BY c.id$q$, s);
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    s name;
    r record;
    pid bigint;
BEGIN
    SELECT b.plugin_schema INTO s FROM @extschema@.ssl_netbox_bridge b WHERE b.attached;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    FOR r IN SELECT n.id, n.fingerprint_sha256 FROM new_rows n
              WHERE NOT EXISTS (SELECT 1 FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = n.id)
              ORDER BY n.id LOOP
        SELECT i.netbox_certificate_id INTO pid FROM @extschema@.ssl_netbox_importing i
         WHERE i.fingerprint_sha256 = r.fingerprint_sha256;
        IF pid IS NULL THEN
            EXECUTE format('SELECT id FROM %I.netbox_ssl_certificate WHERE fingerprint_sha256 = $1', s)
               INTO pid USING r.fingerprint_sha256;
        END IF;
        IF pid IS NULL THEN
            PERFORM netbox_ssl_internal.ssl_netbox_push_certificate(s, r.id);
        ELSE
            -- NetBox's row came first (its insert trigger imported it).
            INSERT INTO @extschema@.ssl_netbox_link(netbox_certificate_id, certificate_id)
            VALUES (pid, r.id) ON CONFLICT DO NOTHING;
        END IF;
    END LOOP;
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_update()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    s name;
    r record;
    p_status text;
    p_successor bigint;
    want_successor bigint;
BEGIN
    SELECT b.plugin_schema INTO s FROM @extschema@.ssl_netbox_bridge b WHERE b.attached;
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    FOR r IN SELECT n.id, o.status AS old_status, n.status, n.replaced_by, l.netbox_certificate_id AS pid
               FROM new_rows n
               JOIN old_rows o ON o.id = n.id
               JOIN @extschema@.ssl_netbox_link l ON l.certificate_id = n.id
              WHERE (n.status, n.replaced_by) IS DISTINCT FROM (o.status, o.replaced_by)
              ORDER BY n.id LOOP
        EXECUTE format('SELECT status, replaced_by_id FROM %I.netbox_ssl_certificate WHERE id = $1', s)
           INTO p_status, p_successor USING r.pid;
        IF p_status IS NULL THEN
            CONTINUE;   -- NetBox's row is being deleted
        END IF;
        SELECT l.netbox_certificate_id INTO want_successor FROM @extschema@.ssl_netbox_link l
         WHERE l.certificate_id = r.replaced_by;
        IF p_status = r.status AND (p_successor IS NOT DISTINCT FROM want_successor
                                    OR (want_successor IS NULL AND r.status <> 'replaced')) THEN
            CONTINUE;   -- already in step (the change came from NetBox)
        END IF;
        EXECUTE format('UPDATE %I.netbox_ssl_certificate SET status = $2, replaced_by_id = $3, last_updated = now(),'
                       ' archived_at = CASE WHEN $2 = ''archived'' THEN now() ELSE archived_at END WHERE id = $1', s)
          USING r.pid, r.status, want_successor;
        IF r.status = 'replaced' AND want_successor IS NOT NULL THEN
            PERFORM netbox_ssl_internal.ssl_netbox_plugin_event(s, r.pid, 'renewed',
                        format('Status changed from %s to replaced', p_status), p_status, 'replaced', want_successor);
            PERFORM netbox_ssl_internal.ssl_netbox_plugin_event(s, want_successor, 'activated',
                        'Activated as the renewal of the replaced certificate', '', 'active', r.pid);
        ELSIF p_status <> r.status THEN
            PERFORM netbox_ssl_internal.ssl_netbox_plugin_event(s, r.pid,
                        CASE WHEN r.status IN ('revoked', 'archived') THEN r.status ELSE 'status_changed' END,
                        format('Status changed from %s to %s', p_status, r.status), p_status, r.status);
        END IF;
    END LOOP;
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_on_object_delete()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    s name := TG_TABLE_SCHEMA;
    object_type text := TG_ARGV[0];
    targets bigint[];
    service_ids bigint[] := '{}';
    r record;
BEGIN
    IF object_type <> 'ipam.service' THEN
        EXECUTE format('SELECT coalesce(array_agg(v.id), ''{}'') FROM %I.ipam_service v'
                       ' WHERE v.parent_object_type_id = $1 AND v.parent_object_id = $2', s)
           INTO service_ids USING netbox_ssl_internal.ssl_netbox_content_type(s, object_type), OLD.id;
    END IF;
    FOR r IN SELECT object_type AS t, OLD.id AS o, OLD.name::text AS n
             UNION ALL
             SELECT 'ipam.service', x, NULL FROM unnest(service_ids) x LOOP
        FOR targets IN EXECUTE format(
                'WITH d AS (DELETE FROM %1$I.netbox_ssl_certificateassignment a'
                '            WHERE a.assigned_object_type_id = $1 AND a.assigned_object_id = $2'
                '        RETURNING a.certificate_id)'
                'SELECT array_agg(DISTINCT certificate_id) FROM d', s)
            USING netbox_ssl_internal.ssl_netbox_content_type(s, r.t), r.o LOOP
            IF targets IS NOT NULL THEN
                EXECUTE format('UPDATE %I.netbox_ssl_certificate SET last_updated = now() WHERE id = ANY ($1)', s)
                  USING targets;
                PERFORM netbox_ssl_internal.ssl_netbox_plugin_event(s, t, 'assignment_removed',
                            format('Removed from %s: %s', split_part(r.t, '.', 2),
                                   coalesce(r.n, (netbox_ssl_internal.ssl_netbox_object_name(s, r.t, r.o)).name, 'None')))
                   FROM unnest(targets) t;
            END IF;
        END LOOP;
        DELETE FROM @extschema@.ssl_assignment a WHERE a.object_type = r.t AND a.object_id = r.o;
    END LOOP;
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_certificate()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    s name := TG_TABLE_SCHEMA;
    ours bigint;
    ours_fp text;
    o @extschema@.ssl_certificate;
    successor bigint;
    a record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM netbox_ssl_internal.ssl_netbox_forget(OLD.id, 'deleted in NetBox');
        RETURN NULL;
    END IF;
    SELECT l.certificate_id INTO ours FROM @extschema@.ssl_netbox_link l WHERE l.netbox_certificate_id = NEW.id;
    IF TG_OP = 'INSERT' OR NEW.pem_content IS DISTINCT FROM OLD.pem_content
       OR NEW.issuer_chain IS DISTINCT FROM OLD.issuer_chain THEN
        IF ours IS NULL THEN
            ours := netbox_ssl_internal.ssl_netbox_link_row(s, NEW.id, true);
        ELSIF TG_OP = 'UPDATE' AND NEW.pem_content IS DISTINCT FROM OLD.pem_content THEN
            SELECT c.fingerprint_sha256 INTO ours_fp FROM @extschema@.ssl_certificate c WHERE c.id = ours;
            IF btrim(coalesce(NEW.pem_content, '')) = ''
               OR (netbox_ssl_internal.ssl_parse(NEW.pem_content)).fingerprint_sha256 <> ours_fp THEN
                RAISE EXCEPTION 'NetBox certificate % cannot be edited to hold another certificate', NEW.id
                    USING ERRCODE = '55000',
                          HINT = 'Import the new certificate as a new row, or renew it (Renew & Transfer).';
            END IF;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR ours IS NULL
       OR (NEW.status, NEW.replaced_by_id) IS NOT DISTINCT FROM (OLD.status, OLD.replaced_by_id) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO o FROM @extschema@.ssl_certificate c WHERE c.id = ours;
    IF NEW.status = 'replaced' AND NEW.replaced_by_id IS NOT NULL
       AND (OLD.status <> 'replaced' OR OLD.replaced_by_id IS DISTINCT FROM NEW.replaced_by_id) THEN
        -- The plugin's Renew & Transfer (or ours, coming back).
        SELECT l.certificate_id INTO successor FROM @extschema@.ssl_netbox_link l
         WHERE l.netbox_certificate_id = NEW.replaced_by_id;
        IF successor IS NULL THEN
            RAISE EXCEPTION 'NetBox certificate % cannot be replaced by NetBox certificate %, which is not linked to the inventory (it has no PEM content)', NEW.id, NEW.replaced_by_id
                USING ERRCODE = '55000';
        END IF;
        BEGIN
            PERFORM netbox_ssl_internal.ssl_netbox_renew_onto(ours, successor);
        EXCEPTION WHEN object_not_in_prerequisite_state THEN
            RAISE EXCEPTION 'NetBox certificate % cannot be replaced by NetBox certificate %', NEW.id, NEW.replaced_by_id
                USING ERRCODE = '55000', DETAIL = format('Inventory: %s.', SQLERRM);
        END;
        -- Complete the transfer as a move: what NetBox copied stays only on
        -- the successor (ours already removed the copies, which removed
        -- NetBox's through the write-through; this catches the rest).
        FOR a IN EXECUTE format('SELECT a.id, a.assigned_object_type_id, a.assigned_object_id,'
                                '       EXISTS (SELECT 1 FROM %1$I.netbox_ssl_certificateassignment b'
                                '                WHERE b.certificate_id = $2'
                                '                  AND b.assigned_object_type_id = a.assigned_object_type_id'
                                '                  AND b.assigned_object_id = a.assigned_object_id) AS copied'
                                '  FROM %1$I.netbox_ssl_certificateassignment a WHERE a.certificate_id = $1', s)
                 USING NEW.id, NEW.replaced_by_id LOOP
            IF a.copied THEN
                EXECUTE format('DELETE FROM %I.netbox_ssl_certificateassignment WHERE id = $1', s) USING a.id;
            ELSE
                EXECUTE format('UPDATE %I.netbox_ssl_certificateassignment SET certificate_id = $2, last_updated = now()'
                               ' WHERE id = $1', s) USING a.id, NEW.replaced_by_id;
            END IF;
        END LOOP;
        RETURN NULL;
    END IF;
    IF NEW.status = OLD.status OR NEW.status = o.status THEN
        RETURN NULL;   -- successor link cleared by a delete, or already in step
    END IF;
    BEGIN
        UPDATE @extschema@.ssl_certificate c SET status = NEW.status WHERE c.id = ours;
    EXCEPTION WHEN object_not_in_prerequisite_state OR check_violation THEN
        RAISE EXCEPTION 'NetBox certificate % cannot change status from % to %', NEW.id, OLD.status, NEW.status
            USING ERRCODE = '55000', DETAIL = format('Inventory: %s.', SQLERRM),
                  HINT = 'Allowed: pending to active, expired or revoked; active to expired, replaced (by Renew & Transfer) or revoked; expired to replaced, revoked or archived; replaced to archived; revoked to archived.';
    END;
    RETURN NULL;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_plugin_event(plugin_schema name, netbox_certificate_id bigint, event_type text, description text, old_status text DEFAULT ''::text, new_status text DEFAULT ''::text, related bigint DEFAULT NULL::bigint)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
BEGIN
    EXECUTE format('INSERT INTO %I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description,'
                   ' old_status, new_status, actor, certificate_id, related_certificate_id)'
                   ' VALUES ($1, now(), $2, $3, $4, $5, $6, $7)', plugin_schema)
    USING event_type, description, coalesce(old_status, ''), coalesce(new_status, ''),
          left(netbox_ssl_internal.ssl_caller(), 150), netbox_certificate_id, related;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_plugin_fields(certificate_id bigint, OUT common_name text, OUT serial_number text, OUT fingerprint_sha256 text, OUT issuer text, OUT valid_from timestamp with time zone, OUT valid_to timestamp with time zone, OUT sans text[], OUT key_size integer, OUT algorithm text, OUT pem_content text, OUT issuer_chain text)
 RETURNS record
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
BEGIN
    SELECT f.* INTO common_name, serial_number, fingerprint_sha256, issuer, valid_from, valid_to, sans,
                    key_size, algorithm, pem_content, issuer_chain
      FROM @extschema@.ssl_certificate c,
           netbox_ssl_internal.ssl_netbox_fields(rtrim(c.pem_content, E'\n')
               || CASE WHEN c.issuer_chain <> '' THEN E'\n' || c.issuer_chain ELSE '' END) f
     WHERE c.id = certificate_id;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_push_certificate(plugin_schema name, certificate_id bigint)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    c @extschema@.ssl_certificate;
    f record;
    pid bigint;
BEGIN
    SELECT * INTO c FROM @extschema@.ssl_certificate x WHERE x.id = certificate_id;
    SELECT * INTO f FROM netbox_ssl_internal.ssl_netbox_plugin_fields(certificate_id);
    -- The id first, and the link before the row: NetBox's insert trigger
    -- then finds the pair linked and has nothing to import.
    pid := nextval(pg_get_serial_sequence(format('%I.netbox_ssl_certificate', plugin_schema), 'id'));
    INSERT INTO @extschema@.ssl_netbox_link(netbox_certificate_id, certificate_id) VALUES (pid, certificate_id);
    EXECUTE format(
        'INSERT INTO %1$I.netbox_ssl_certificate (id, created, last_updated, custom_field_data, comments, common_name,'
        '  serial_number, fingerprint_sha256, issuer, issuer_chain, valid_from, valid_to, sans, key_size, algorithm,'
        '  status, private_key_location, pem_content, replaced_by_id, tenant_id, chain_status,'
        '  chain_validation_message, is_acme, acme_provider, acme_account_email, acme_challenge_type,'
        '  acme_server_url, acme_auto_renewal, acme_renewal_days, archive_pinned, archived_at, renewal_note,'
        '  external_id, source_removed, ari_cert_id, ari_explanation_url, discovered_via_url)'
        ' VALUES ($18, now(), now(), ''{}'', NULL, left($1, 255), left($2, 255), $3, left($4, 512), $5, $6, $7, $8, $9, $10,'
        '  $11, left(coalesce($12, ''''), 512), $13, NULL,'
        '  (SELECT t.id FROM %1$I.tenancy_tenant t WHERE t.slug = $14), ''unknown'', '''', $15, left($16, 30),'
        '  '''', '''', '''', false, 30, $17, CASE WHEN $11 = ''archived'' THEN now() END, '''','
        '  '''', false, '''', '''', '''')'
        , plugin_schema)
      USING f.common_name, f.serial_number, f.fingerprint_sha256, f.issuer, coalesce(f.issuer_chain, ''),
            f.valid_from, f.valid_to, f.sans::varchar(255)[], f.key_size, f.algorithm,
            c.status, c.private_key_location, f.pem_content, c.tenant, c.is_acme, coalesce(c.acme_provider, ''),
            c.archive_pinned, pid;
    PERFORM netbox_ssl_internal.ssl_netbox_plugin_event(plugin_schema, pid, 'imported',
                format('Certificate imported with status %s', c.status), '', c.status);
    RETURN pid;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, der bytea)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
BEGIN
    IF der IS NULL THEN
        RAISE EXCEPTION 'der must not be NULL' USING ERRCODE = '22004';
    END IF;
    RETURN netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id,
        '-----BEGIN CERTIFICATE-----' || E'\n' || encode(der, 'base64') || E'\n' || '-----END CERTIFICATE-----' || E'\n');
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, pem text)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    s name := netbox_ssl_internal.ssl_netbox_attached_schema();
    ours bigint;
    renewed bigint;
    pid bigint;
BEGIN
    IF netbox_certificate_id IS NULL THEN
        RAISE EXCEPTION 'netbox_certificate_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF s IS NULL THEN
        RAISE EXCEPTION 'the NetBox bridge is not attached' USING ERRCODE = '55000',
              HINT = 'An administrator runs SELECT ssl_netbox_attach();';
    END IF;
    -- Lock order as NetBox's own renewal: the plugin row first, then ours.
    EXECUTE format('SELECT id FROM %I.netbox_ssl_certificate WHERE id = $1 FOR NO KEY UPDATE', s)
       INTO pid USING netbox_certificate_id;
    IF pid IS NULL THEN
        RAISE EXCEPTION 'NetBox certificate % does not exist', netbox_certificate_id USING ERRCODE = 'P0002';
    END IF;
    SELECT l.certificate_id INTO ours FROM @extschema@.ssl_netbox_link l
     WHERE l.netbox_certificate_id = ssl_netbox_renew.netbox_certificate_id;
    IF ours IS NULL THEN
        RAISE EXCEPTION 'NetBox certificate % is not linked to the inventory (it has no PEM content)', netbox_certificate_id
            USING ERRCODE = '55000';
    END IF;
    renewed := netbox_ssl_internal.ssl_renew(ours, pem);
    SELECT l.netbox_certificate_id INTO pid FROM @extschema@.ssl_netbox_link l WHERE l.certificate_id = renewed;
    RETURN pid;
END
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_netbox_settle_status(plugin_schema name, netbox_certificate_id bigint, certificate_id bigint, fresh boolean)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
DECLARE
    p_status text;
    o_status text;
BEGIN
    EXECUTE format('SELECT status FROM %I.netbox_ssl_certificate WHERE id = $1', plugin_schema)
       INTO p_status USING netbox_certificate_id;
    SELECT c.status INTO o_status FROM @extschema@.ssl_certificate c WHERE c.id = certificate_id;
    IF p_status = o_status OR p_status = 'replaced' THEN
        RETURN;   -- replaced: settled with its successor
    END IF;
    IF NOT (fresh AND p_status = 'active') THEN
        BEGIN
            UPDATE @extschema@.ssl_certificate c SET status = p_status WHERE c.id = certificate_id;
            RETURN;
        EXCEPTION WHEN object_not_in_prerequisite_state OR check_violation THEN
            NULL;   -- our state machine refuses: NetBox takes our status
        END;
    END IF;
    EXECUTE format('UPDATE %I.netbox_ssl_certificate SET status = $2, last_updated = now(),'
                   ' archived_at = CASE WHEN $2 = ''archived'' THEN now() ELSE archived_at END WHERE id = $1',
                   plugin_schema)
      USING netbox_certificate_id, o_status;
    PERFORM netbox_ssl_internal.ssl_netbox_plugin_event(plugin_schema, netbox_certificate_id,
        CASE WHEN o_status IN ('revoked', 'archived') THEN o_status ELSE 'status_changed' END,
        format('Status changed from %s to %s', p_status, o_status), p_status, o_status);
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[])
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_outbox_check_owner(consumer text, owner regrole)
 RETURNS void
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer DEFAULT 100)
 RETURNS TABLE(id bigint, certificate_id bigint, event_type text, payload jsonb, created_at timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_outbox_subscribe(consumer text)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_purge_certificate(certificate_id bigint)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
    PERFORM netbox_ssl_internal.ssl_internal_set('purging', target.id);
    UPDATE @extschema@.ssl_lifecycle_event e SET related_certificate_id = NULL WHERE e.related_certificate_id = target.id;
    DELETE FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = target.id;
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM @extschema@.ssl_certificate c WHERE c.id = target.id;
    PERFORM netbox_ssl_internal.ssl_internal_set('purging', NULL);
    RETURN removed;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, der bytea, observed_at timestamp with time zone DEFAULT now())
 RETURNS bigint
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT netbox_ssl_internal.ssl_record_observation_parsed($1, $2, netbox_ssl_internal.ssl_parse($3), $4)
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_record_observation(object_type text, object_id bigint, pem text, observed_at timestamp with time zone DEFAULT now())
 RETURNS bigint
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT netbox_ssl_internal.ssl_record_observation_parsed($1, $2, netbox_ssl_internal.ssl_parse($3), $4)
$function$;

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_record_observation_parsed(object_type text, object_id bigint, cert ssl_certificate_info, observed_at timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_renewal_candidate(pem text, tenant text DEFAULT NULL::text)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE COST 6000
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_renewal_preview(old_id bigint, pem text)
 RETURNS TABLE(field text, current_value text, new_value text, matches boolean)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_revert_renewal(new_id bigint)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_trust_anchor_load(pem_bundle text, source text DEFAULT NULL::text)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER COST 50000
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    added integer;
    ders bytea[];
BEGIN
    IF pem_bundle IS NULL THEN
        RAISE EXCEPTION 'the PEM bundle must not be NULL' USING ERRCODE = '22004';
    END IF;
    ders := netbox_ssl_internal.ssl_chain_split_pem(pem_bundle);
    IF cardinality(ders) = 0 THEN
        RAISE EXCEPTION 'the PEM bundle holds no certificate' USING ERRCODE = '22P02',
              HINT = 'Pass PEM text with -----BEGIN CERTIFICATE----- blocks, e.g. /etc/ssl/certs/ca-certificates.crt.';
    END IF;
    WITH parsed AS (
        SELECT p.*, d.der, d.ord
          FROM unnest(ders) WITH ORDINALITY AS d(der, ord),
               LATERAL netbox_ssl_internal.ssl_parse(d.der) AS p
    ), ins AS (
        INSERT INTO @extschema@.ssl_trust_anchor(fingerprint_sha256, subject, common_name, is_ca, valid_from, valid_to, der, pem_content, source)
        SELECT DISTINCT ON (fingerprint_sha256)
               fingerprint_sha256, subject, common_name, is_ca, valid_from, valid_to, der, pem_content,
               ssl_trust_anchor_load.source
          FROM parsed
         ORDER BY fingerprint_sha256, ord
        ON CONFLICT (fingerprint_sha256) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO added FROM ins;
    RETURN added;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_validate_all()
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER COST 1e+06
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    anchors bytea[];
    cert record;
    r record;
    n integer := 0;
    t timestamptz := now();
BEGIN
    -- Read once: the C function keeps one X509_STORE of the anchors for
    -- every call. Intermediates are looked up per certificate by name, so
    -- the cost does not grow with unrelated CA certificates.
    anchors := coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}');
    FOR cert IN SELECT c.id, c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id
                  FROM @extschema@.ssl_certificate AS c
                 WHERE c.status = 'active' ORDER BY c.id LOOP
        -- A bad stored issuer_chain is a verdict (invalid), never an error.
        r := netbox_ssl_internal.ssl_chain_verify(
                cert.pem_content, cert.issuer_chain, '{}', anchors, t, NULL,
                netbox_ssl_internal.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain));
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = t, chain_message = r.message, chain_depth = r.depth
         WHERE c.id = cert.id;
        n := n + 1;
        IF n % 10000 = 0 THEN
            RAISE NOTICE 'ssl_validate_all: % certificates validated', n;
        END IF;
    END LOOP;
    RETURN n;
END
$function$;

CREATE OR REPLACE FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone DEFAULT now(), hostname text DEFAULT NULL::text)
 RETURNS TABLE(status text, depth integer, message text, chain text[])
 LANGUAGE plpgsql
 SECURITY DEFINER COST 50000 ROWS 1
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    cert record;
    r record;
BEGIN
    IF ssl_validate_chain.id IS NULL THEN
        RAISE EXCEPTION 'id must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF ssl_validate_chain.at IS NULL OR NOT isfinite(ssl_validate_chain.at) THEN
        RAISE EXCEPTION 'the validation time must be a finite timestamp' USING ERRCODE = '22023';
    END IF;
    SELECT c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id INTO cert
      FROM @extschema@.ssl_certificate AS c WHERE c.id = ssl_validate_chain.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_validate_chain.id USING ERRCODE = 'P0002';
    END IF;
    -- The issuer_chain, then the stored CA certificates that can be its
    -- issuers (found by name and key identifier); the trust store holds the
    -- anchors only, so it stays cached while they are unchanged.
    r := netbox_ssl_internal.ssl_chain_verify(
            cert.pem_content, cert.issuer_chain, '{}',
            coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}'),
            ssl_validate_chain.at, ssl_validate_chain.hostname,
            netbox_ssl_internal.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain));
    -- Only a check of the certificate as it stands (now, no host name) is
    -- stored, and only for callers who may write (operators and admins);
    -- readers get the answer without a write.
    IF ssl_validate_chain.at = now() AND ssl_validate_chain.hostname IS NULL
       AND pg_catalog.pg_has_role(netbox_ssl_internal.ssl_caller(), 'netbox_ssl_operator', 'MEMBER') THEN
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = ssl_validate_chain.at,
               chain_message = r.message, chain_depth = r.depth
         WHERE c.id = ssl_validate_chain.id;
    END IF;
    status := r.status;
    depth := r.depth;
    message := r.message;
    chain := r.chain;
    RETURN NEXT;
END
$function$;

-- (end of part E)
