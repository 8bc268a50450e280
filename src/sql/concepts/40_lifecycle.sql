-- Lifecycle: status refresh, expiry listing, archiving and purging.

CREATE FUNCTION @extschema@.ssl_refresh_status() RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

COMMENT ON FUNCTION @extschema@.ssl_refresh_status() IS 'Moves active (and pending) certificates past valid_to to expired, and pending ones whose valid_from has come to active; logs the events; returns how many changed. Safe to run concurrently with imports and renewals; index-only work when nothing changed.';

REVOKE ALL ON FUNCTION @extschema@.ssl_refresh_status() FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_refresh_status() TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_auto_archive(older_than interval DEFAULT '90 days'::interval) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

COMMENT ON FUNCTION @extschema@.ssl_auto_archive(older_than interval) IS 'Archives expired, replaced and revoked certificates whose valid_to is more than older_than ago, except pinned ones (archive_pinned); logs archived events; returns the count.';

REVOKE ALL ON FUNCTION @extschema@.ssl_auto_archive(older_than interval) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_auto_archive(older_than interval) TO netbox_ssl_admin;

-- The only way to delete history: it sets the internal purging switch that
-- the append-only trigger honours for this one certificate, so no session
-- can unlock history deletion by itself.
CREATE FUNCTION @extschema@.ssl_purge_certificate(certificate_id bigint) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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
    PERFORM netbox_ssl_internal.ssl_internal_set('purging', target.id);
    UPDATE @extschema@.ssl_lifecycle_event e SET related_certificate_id = NULL WHERE e.related_certificate_id = target.id;
    DELETE FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = target.id;
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM @extschema@.ssl_certificate c WHERE c.id = target.id;
    PERFORM netbox_ssl_internal.ssl_internal_set('purging', NULL);
    RETURN removed;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_purge_certificate(certificate_id bigint) IS 'Administrators only (no EXECUTE for PUBLIC): deletes a certificate that has no assignments and is nobody''s successor, with its lifecycle events; events of other certificates that mention it keep their text but lose the link. Returns the number of events removed.';

REVOKE ALL ON FUNCTION @extschema@.ssl_purge_certificate(certificate_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_purge_certificate(certificate_id bigint) TO netbox_ssl_admin;

CREATE FUNCTION @extschema@.ssl_expiring(within interval DEFAULT '30 days'::interval) RETURNS TABLE(id bigint, common_name text, valid_to timestamp with time zone, days_remaining integer, expiry_status text, tenant text, assignments jsonb)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
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

COMMENT ON FUNCTION @extschema@.ssl_expiring(within interval) IS 'Active certificates whose valid_to falls before now() + within (including any already past it but not yet refreshed), soonest first, each with its assignments as a JSON array.';

REVOKE ALL ON FUNCTION @extschema@.ssl_expiring(within interval) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_expiring(within interval) TO netbox_ssl_reader;

-- Computed at query time from valid_to, so it never depends on when
-- ssl_refresh_status last ran.
CREATE VIEW @extschema@.ssl_certificate_expiry AS
 SELECT c.id,
    c.common_name,
    c.status,
        CASE
            WHEN ((c.status = ANY (ARRAY['active'::text, 'pending'::text])) AND (c.valid_to < now())) THEN 'expired'::text
            WHEN ((c.status = 'pending'::text) AND (c.valid_from <= now())) THEN 'active'::text
            ELSE c.status
        END AS effective_status,
    c.valid_from,
    c.valid_to,
    (floor((EXTRACT(epoch FROM (c.valid_to - now())) / (86400)::numeric)))::integer AS days_remaining,
        CASE
            WHEN (c.valid_to < now()) THEN 'expired'::text
            WHEN (c.valid_to < (now() + make_interval(days => COALESCE((NULLIF(current_setting('netbox_ssl.expiry_critical_days'::text, true), ''::text))::integer, 14)))) THEN 'critical'::text
            WHEN (c.valid_to < (now() + make_interval(days => COALESCE((NULLIF(current_setting('netbox_ssl.expiry_warning_days'::text, true), ''::text))::integer, 30)))) THEN 'warning'::text
            ELSE 'ok'::text
        END AS expiry_status,
    ( SELECT count(*) AS count
           FROM @extschema@.ssl_assignment a
          WHERE (a.certificate_id = c.id)) AS assignment_count,
    c.tenant,
    c.issuer,
    c.fingerprint_sha256
   FROM @extschema@.ssl_certificate c;

COMMENT ON VIEW @extschema@.ssl_certificate_expiry IS 'Every certificate with days_remaining, expiry_status (expired, critical, warning, ok; thresholds netbox_ssl.expiry_critical_days and netbox_ssl.expiry_warning_days), assignment_count and effective_status (expired once valid_to has passed, even before ssl_refresh_status runs).';

GRANT SELECT ON TABLE @extschema@.ssl_certificate_expiry TO netbox_ssl_reader;
