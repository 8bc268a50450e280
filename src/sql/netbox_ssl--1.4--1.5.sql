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
    UPDATE @extschema@.ssl_assignment SET certificate_id = predecessor.id WHERE certificate_id = new_id;
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
