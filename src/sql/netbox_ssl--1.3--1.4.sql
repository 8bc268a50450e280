\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.4'" to load this file. \quit

-- netbox_ssl 1.3 -> 1.4, part "outbox": the transactional outbox with NOTIFY
-- wake-ups, consumers that claim and acknowledge, and expiry alerts that fire
-- on crossing a threshold rather than on equality.

--------------------------------------------------------------------------
-- Outbox tables
--------------------------------------------------------------------------

-- One row per published lifecycle event. No foreign key to the event or the
-- certificate: the outbox is a message log, and ssl_purge_certificate must
-- still be able to delete a certificate's history.
CREATE TABLE @extschema@.ssl_outbox (
    id             bigint PRIMARY KEY,
    certificate_id bigint NOT NULL,
    event_type     text NOT NULL,
    payload        jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ssl_outbox_created_at_idx ON @extschema@.ssl_outbox (created_at);
COMMENT ON TABLE @extschema@.ssl_outbox IS
    'Transactional outbox: every lifecycle event written with the current transaction time is copied here, in the same transaction, with its JSON payload. Consumers read it through ssl_outbox_claim and ssl_outbox_ack; ssl_outbox_prune removes old rows.';
COMMENT ON COLUMN @extschema@.ssl_outbox.id IS 'The id of the lifecycle event (ssl_lifecycle_event.id); also the id consumers acknowledge.';
COMMENT ON COLUMN @extschema@.ssl_outbox.certificate_id IS 'The certificate the event is about (no foreign key: outbox rows outlive a purge).';
COMMENT ON COLUMN @extschema@.ssl_outbox.event_type IS 'The event type (imported, renewed, activated, expired, expiring, ...).';
COMMENT ON COLUMN @extschema@.ssl_outbox.payload IS 'The message, the same JSON object that was sent with NOTIFY on channel ssl_lifecycle (text fields cut to 200 characters, see "truncated").';
COMMENT ON COLUMN @extschema@.ssl_outbox.created_at IS 'Transaction time of the publishing transaction.';
COMMENT ON INDEX @extschema@.ssl_outbox_created_at_idx IS 'Keeps ssl_outbox_prune an index range scan.';
COMMENT ON CONSTRAINT ssl_outbox_pkey ON @extschema@.ssl_outbox IS 'An event is published once.';

CREATE TABLE @extschema@.ssl_outbox_consumer (
    name          text PRIMARY KEY
        CONSTRAINT ssl_outbox_consumer_name_check CHECK (name <> '' AND length(name) <= 200),
    subscribed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.ssl_outbox_consumer IS
    'Named outbox consumers. Each receives every event published after it subscribed, plus every row still in the outbox when it subscribed.';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.name IS 'Consumer name, as passed to ssl_outbox_claim (1 to 200 characters).';
COMMENT ON COLUMN @extschema@.ssl_outbox_consumer.subscribed_at IS 'When the consumer subscribed (explicitly or by its first claim).';
COMMENT ON CONSTRAINT ssl_outbox_consumer_name_check ON @extschema@.ssl_outbox_consumer IS 'Consumer names are non-empty and at most 200 characters.';
COMMENT ON CONSTRAINT ssl_outbox_consumer_pkey ON @extschema@.ssl_outbox_consumer IS 'Consumer names are unique.';

-- The per-consumer queue. Claims lock these rows, never the shared outbox
-- row, so workers of one consumer skip each other's rows while other
-- consumers still see them. Acknowledging deletes the row.
CREATE TABLE @extschema@.ssl_outbox_delivery (
    consumer  text NOT NULL REFERENCES @extschema@.ssl_outbox_consumer (name) ON DELETE CASCADE,
    outbox_id bigint NOT NULL REFERENCES @extschema@.ssl_outbox (id) ON DELETE CASCADE,
    CONSTRAINT ssl_outbox_delivery_pkey PRIMARY KEY (consumer, outbox_id)
);
CREATE INDEX ssl_outbox_delivery_outbox_idx ON @extschema@.ssl_outbox_delivery (outbox_id);
COMMENT ON TABLE @extschema@.ssl_outbox_delivery IS
    'One row per consumer and outbox row not yet acknowledged by that consumer. ssl_outbox_claim locks these rows (FOR UPDATE SKIP LOCKED); ssl_outbox_ack deletes them.';
COMMENT ON COLUMN @extschema@.ssl_outbox_delivery.consumer IS 'The consumer that still has to acknowledge the row.';
COMMENT ON COLUMN @extschema@.ssl_outbox_delivery.outbox_id IS 'The outbox row (event id).';
COMMENT ON CONSTRAINT ssl_outbox_delivery_pkey ON @extschema@.ssl_outbox_delivery IS 'A consumer''s queue in id order: what ssl_outbox_claim scans.';
COMMENT ON INDEX @extschema@.ssl_outbox_delivery_outbox_idx IS 'Pending deliveries of one outbox row, for ssl_outbox_prune.';
COMMENT ON CONSTRAINT ssl_outbox_delivery_consumer_fkey ON @extschema@.ssl_outbox_delivery IS 'Unsubscribing a consumer drops its queue.';
COMMENT ON CONSTRAINT ssl_outbox_delivery_outbox_id_fkey ON @extschema@.ssl_outbox_delivery IS 'Queue rows point at existing outbox rows (pruning removes only rows without any).';

CREATE VIEW @extschema@.ssl_outbox_backlog AS
SELECT s.name AS consumer,
       s.subscribed_at,
       count(d.outbox_id) AS pending,
       min(o.created_at) AS oldest_pending
  FROM @extschema@.ssl_outbox_consumer s
  LEFT JOIN @extschema@.ssl_outbox_delivery d ON d.consumer = s.name
  LEFT JOIN @extschema@.ssl_outbox o ON o.id = d.outbox_id
 GROUP BY s.name, s.subscribed_at;
COMMENT ON VIEW @extschema@.ssl_outbox_backlog IS
    'Per consumer: how many outbox rows it has not acknowledged yet (including rows a live worker holds claimed) and when the oldest was published.';

--------------------------------------------------------------------------
-- Expiry alert bookkeeping (used by the outbox payload, so created first)
--------------------------------------------------------------------------

CREATE TABLE @extschema@.ssl_expiry_alert (
    certificate_id bigint NOT NULL REFERENCES @extschema@.ssl_certificate (id) ON DELETE CASCADE,
    threshold      integer NOT NULL CONSTRAINT ssl_expiry_alert_threshold_check CHECK (threshold >= 0),
    event_id       bigint,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ssl_expiry_alert_pkey PRIMARY KEY (certificate_id, threshold)
);
CREATE UNIQUE INDEX ssl_expiry_alert_event_idx ON @extschema@.ssl_expiry_alert (event_id) WHERE event_id IS NOT NULL;
COMMENT ON TABLE @extschema@.ssl_expiry_alert IS
    'What ssl_expiry_scan has dealt with, per certificate and threshold: an alert it sent (event_id set) or a larger threshold covered by a smaller one''s alert (event_id NULL). Threshold 0 stands for expiry itself.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.certificate_id IS 'The certificate (rows go with it when it is purged).';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.threshold IS 'Days before valid_to; 0 means the certificate expired.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.event_id IS 'The expiring or expired lifecycle event that announced it; NULL when covered without an event of its own.';
COMMENT ON COLUMN @extschema@.ssl_expiry_alert.recorded_at IS 'Transaction time of the scan that recorded it.';
COMMENT ON CONSTRAINT ssl_expiry_alert_pkey ON @extschema@.ssl_expiry_alert IS 'Each threshold is dealt with at most once per certificate.';
COMMENT ON CONSTRAINT ssl_expiry_alert_threshold_check ON @extschema@.ssl_expiry_alert IS 'Thresholds are whole days; 0 is expiry.';
COMMENT ON CONSTRAINT ssl_expiry_alert_certificate_id_fkey ON @extschema@.ssl_expiry_alert IS 'Alert rows go with their certificate when it is purged.';
COMMENT ON INDEX @extschema@.ssl_expiry_alert_event_idx IS 'Finds the threshold of an expiring event (for the outbox payload).';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox_consumer', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_outbox_delivery', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_expiry_alert', '');

--------------------------------------------------------------------------
-- Publishing: a statement-level trigger on the history
--------------------------------------------------------------------------

-- Set-based, so a statement that logs many events pays one trigger call.
-- Only events dated at or after the transaction's start are news: rows with
-- an older occurred_at are history being restored (pg_dump writes events
-- with their original times; the outbox rows come from the dump as well)
-- or backfilled, and must not be published again.
-- The consumer list is read by the same statement that inserts into
-- ssl_outbox, whose lock is taken before the statement's snapshot: a
-- subscription (which locks ssl_outbox in SHARE ROW EXCLUSIVE mode) either
-- sees this transaction's rows when it backfills, or is seen here.
-- Text fields are cut to 200 characters: jsonb escapes a character in at
-- most 6 bytes, so five such fields plus the fixed keys stay well below
-- NOTIFY's 8000-byte payload limit.
CREATE FUNCTION @extschema@.ssl_outbox_publish() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
    sent bigint;
BEGIN
    WITH published AS (
        INSERT INTO @extschema@.ssl_outbox (id, certificate_id, event_type, payload)
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
                   'occurred_at', to_char(n.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'threshold', CASE WHEN n.event_type = 'expiring' THEN
                                    (SELECT a.threshold FROM @extschema@.ssl_expiry_alert a WHERE a.event_id = n.id) END,
                   'truncated', coalesce(greatest(length(n.event_type), length(n.old_status), length(n.new_status),
                                                  length(c.common_name), length(n.actor)) > 200, false))
          FROM new_rows n
          LEFT JOIN @extschema@.ssl_certificate c ON c.id = n.certificate_id
         WHERE n.occurred_at >= now()
         ORDER BY n.id
        RETURNING id, payload
    ), queued AS (
        INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
        SELECT s.name, p.id FROM published p CROSS JOIN @extschema@.ssl_outbox_consumer s
    )
    SELECT count(pg_notify('ssl_lifecycle', p.payload::text)) INTO sent FROM published p;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_publish() IS
    'Trigger function: copies new lifecycle events (those dated at or after the transaction start) into ssl_outbox, queues them for every consumer and sends NOTIFY ssl_lifecycle with the JSON payload; all in the writing transaction.';
CREATE TRIGGER ssl_lifecycle_event_outbox AFTER INSERT ON @extschema@.ssl_lifecycle_event
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ssl_outbox_publish();
COMMENT ON TRIGGER ssl_lifecycle_event_outbox ON @extschema@.ssl_lifecycle_event IS
    'Every new event reaches the outbox and a NOTIFY in the same transaction, whichever path wrote it; a rollback publishes nothing.';

--------------------------------------------------------------------------
-- Consumers: subscribe, claim, acknowledge, unsubscribe, prune
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_outbox_subscribe(consumer text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    queued bigint;
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_subscribe.consumer) THEN
        -- Waits for transactions that are publishing right now, so that the
        -- backfill below sees their rows; publishers that start later wait
        -- for this transaction and then see the new consumer.
        LOCK TABLE @extschema@.ssl_outbox IN SHARE ROW EXCLUSIVE MODE;
        INSERT INTO @extschema@.ssl_outbox_consumer (name) VALUES (ssl_outbox_subscribe.consumer)
            ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
            SELECT ssl_outbox_subscribe.consumer, o.id FROM @extschema@.ssl_outbox o;
        END IF;
    END IF;
    SELECT count(*) INTO queued FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_subscribe.consumer;
    RETURN queued;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_subscribe(text) IS
    'Registers a consumer if it is new, queueing every row still in the outbox for it (a new consumer starts from the beginning of the outbox); returns how many rows it has pending. Call it in a short transaction of its own: subscribing a new consumer locks ssl_outbox against publishers until commit.';

CREATE FUNCTION @extschema@.ssl_outbox_claim(consumer text, max integer DEFAULT 100)
    RETURNS TABLE (id bigint, certificate_id bigint, event_type text, payload jsonb, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF max IS NULL OR max < 1 THEN
        RAISE EXCEPTION 'max must be at least 1, not %', coalesce(max::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_claim.consumer) THEN
        PERFORM @extschema@.ssl_outbox_subscribe(ssl_outbox_claim.consumer);
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
    'Returns up to max outbox rows that consumer has not acknowledged, oldest first, and locks them (FOR UPDATE SKIP LOCKED on the consumer''s own queue rows) until the calling transaction ends: other workers of the same consumer skip them, other consumers are not affected. Unacknowledged rows become claimable again when the transaction ends (at-least-once). Subscribes an unknown consumer first.';

CREATE FUNCTION @extschema@.ssl_outbox_ack(consumer text, ids bigint[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    acked integer;
BEGIN
    IF consumer IS NULL OR consumer = '' OR length(consumer) > 200 THEN
        RAISE EXCEPTION 'consumer must be a name of 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF ids IS NULL THEN
        RAISE EXCEPTION 'ids must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_ack.consumer) THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_ack.consumer
            USING ERRCODE = 'P0002', HINT = 'Consumers are created by ssl_outbox_subscribe or their first ssl_outbox_claim.';
    END IF;
    DELETE FROM @extschema@.ssl_outbox_delivery d
     WHERE d.consumer = ssl_outbox_ack.consumer AND d.outbox_id = ANY (ids);
    GET DIAGNOSTICS acked = ROW_COUNT;
    RETURN acked;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_ack(text, bigint[]) IS
    'Acknowledges outbox rows for consumer (takes effect when the calling transaction commits); returns how many were still pending. Ids already acknowledged or unknown are ignored. P0002 for an unknown consumer.';

CREATE FUNCTION @extschema@.ssl_outbox_unsubscribe(consumer text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    dropped bigint;
BEGIN
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'consumer must not be empty' USING ERRCODE = '22023';
    END IF;
    SELECT count(*) INTO dropped FROM @extschema@.ssl_outbox_delivery d WHERE d.consumer = ssl_outbox_unsubscribe.consumer;
    DELETE FROM @extschema@.ssl_outbox_consumer s WHERE s.name = ssl_outbox_unsubscribe.consumer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox consumer "%" does not exist', ssl_outbox_unsubscribe.consumer USING ERRCODE = 'P0002';
    END IF;
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_unsubscribe(text) IS
    'Administrators: removes a consumer and its pending deliveries (so ssl_outbox_prune can remove those rows); returns how many were pending.';

CREATE FUNCTION @extschema@.ssl_outbox_prune(older_than interval DEFAULT '30 days') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    removed bigint;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval' USING ERRCODE = '22023';
    END IF;
    DELETE FROM @extschema@.ssl_outbox o
     WHERE o.created_at < now() - older_than
       AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox_delivery d WHERE d.outbox_id = o.id);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_outbox_prune(interval) IS
    'Administrators: deletes outbox rows published more than older_than ago that every consumer has acknowledged (rows some consumer still has pending are kept); returns the count. The lifecycle history itself is untouched.';

--------------------------------------------------------------------------
-- Expiry scan
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_expiry_scan(thresholds integer[] DEFAULT '{90,60,30,14,7,1}')
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
    'Expiry alerts that fire on crossing: for each active certificate, logs one expiring event (which reaches the outbox) for the smallest threshold (days before valid_to) it is within and has not been alerted for, recording larger ones as covered; marks active certificates past valid_to expired (one expired event, as ssl_refresh_status would). Returns what it emitted; running it again emits nothing new. Thresholds are a set of whole days from 1 to 36500 (order and duplicates ignored); NULL, empty, NULL elements or values out of range raise 22023.';

--------------------------------------------------------------------------
-- Privileges (as in 1.2)
--------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    @extschema@.ssl_outbox_publish(), @extschema@.ssl_outbox_subscribe(text),
    @extschema@.ssl_outbox_claim(text, integer), @extschema@.ssl_outbox_ack(text, bigint[]),
    @extschema@.ssl_outbox_unsubscribe(text), @extschema@.ssl_outbox_prune(interval),
    @extschema@.ssl_expiry_scan(integer[])
FROM PUBLIC;
GRANT SELECT ON @extschema@.ssl_outbox, @extschema@.ssl_outbox_consumer, @extschema@.ssl_outbox_delivery,
                @extschema@.ssl_outbox_backlog, @extschema@.ssl_expiry_alert
   TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION
    @extschema@.ssl_outbox_subscribe(text), @extschema@.ssl_outbox_claim(text, integer),
    @extschema@.ssl_outbox_ack(text, bigint[]), @extschema@.ssl_expiry_scan(integer[])
   TO netbox_ssl_operator;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_outbox_unsubscribe(text), @extschema@.ssl_outbox_prune(interval)
   TO netbox_ssl_admin;
