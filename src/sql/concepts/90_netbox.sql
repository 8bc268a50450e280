-- NetBox: the NetBox SSL plugin's field formats (ssl_netbox_fields) and the
-- bridge that keeps the plugin's tables and this inventory in step
-- (docs/netbox.md, docs/netbox-formats.md).

CREATE TYPE @extschema@.ssl_netbox_fields AS (
	common_name text,
	serial_number text,
	fingerprint_sha256 text,
	issuer text,
	valid_from timestamp with time zone,
	valid_to timestamp with time zone,
	sans text[],
	key_size integer,
	algorithm text,
	pem_content text,
	issuer_chain text
);

COMMENT ON TYPE @extschema@.ssl_netbox_fields IS 'What ssl_netbox_fields returns: the NetBox SSL plugin''s certificate columns, in the plugin''s own formats (serial without zero padding, issuer with long attribute names, SANs as the plugin prints them, PEM blocks without trailing newline).';

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea) RETURNS @extschema@.ssl_netbox_fields
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_bytea';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea) IS 'Internal entry point of ssl_netbox_fields (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_netbox_fields(der bytea) RETURNS @extschema@.ssl_netbox_fields
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_bytea';

COMMENT ON FUNCTION @extschema@.ssl_netbox_fields(der bytea) IS 'The certificate''s columns in the NetBox SSL plugin''s formats, for one DER certificate (PEM bytes accepted); same input rules and errors as ssl_parse (private keys 22023, bad input 22P02, too large 54000). No side effects.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(der bytea) TO netbox_ssl_reader;

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_fields(der bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_fields(der bytea) TO netbox_ssl_reader;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text) RETURNS @extschema@.ssl_netbox_fields
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_text';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text) IS 'Internal entry point of ssl_netbox_fields (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_netbox_fields(pem text) RETURNS @extschema@.ssl_netbox_fields
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_text';

COMMENT ON FUNCTION @extschema@.ssl_netbox_fields(pem text) IS 'The certificate''s columns in the NetBox SSL plugin''s formats, for the leaf ssl_parse picks from the PEM text; same input rules and errors as ssl_parse (private keys 22023, bad input 22P02, too large 54000). No side effects.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_fields(pem text) TO netbox_ssl_reader;

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_fields(pem text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_fields(pem text) TO netbox_ssl_reader;

-- ----------------------------------------------------------------------
-- The bridge
-- ----------------------------------------------------------------------
-- Every bridge function runs with jit = off: callers such as ssl_import plan
-- with enable_seqscan = off, which makes even a one-row look-up look
-- expensive enough to be JIT-compiled (30 ms per statement). The
-- row-at-a-time ones also run with enable_seqscan = off and custom plans
-- only: a generic plan cached while ssl_certificate or ssl_netbox_link was
-- small scanned the whole table for every row (attach slowed down
-- quadratically); a custom plan takes the unique index.
CREATE FUNCTION @extschema@.ssl_netbox_attach(plugin_schema name DEFAULT 'public'::name) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION @extschema@.ssl_netbox_attach(plugin_schema name) IS 'Connects the inventory to the NetBox SSL plugin''s tables in plugin_schema (42P01/42703 when a table or column the bridge uses is missing): links every plugin certificate with PEM content (imports it, or links the stored row with the same fingerprint), writes our certificates NetBox lacks into NetBox, merges assignments both ways, records renewals, settles statuses, installs the bridge''s triggers on NetBox''s tables, and returns how many certificates it linked. Idempotent; progress NOTICEs every 10,000 certificates; rows without PEM are listed and stay unlinked.';

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_attach(plugin_schema name) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_attach(plugin_schema name) TO netbox_ssl_admin;

CREATE FUNCTION @extschema@.ssl_netbox_detach() RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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

COMMENT ON FUNCTION @extschema@.ssl_netbox_detach() IS 'Disconnects the NetBox bridge: removes its triggers from NetBox''s tables; data and links stay, and ssl_netbox_attach resumes (catching up on what changed meanwhile). Returns false when it was never attached.';

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_detach() FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_detach() TO netbox_ssl_admin;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
BEGIN
    IF der IS NULL THEN
        RAISE EXCEPTION 'der must not be NULL' USING ERRCODE = '22004';
    END IF;
    RETURN netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id,
        '-----BEGIN CERTIFICATE-----' || E'\n' || encode(der, 'base64') || E'\n' || '-----END CERTIFICATE-----' || E'\n');
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) IS 'Implementation of @extschema@.ssl_netbox_renew for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) RETURNS bigint
    LANGUAGE sql
    AS $_$ SELECT netbox_ssl_internal.ssl_netbox_renew($1, $2) $_$;

COMMENT ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) IS 'ssl_netbox_renew with the replacement as DER.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) TO netbox_ssl_operator;

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, der bytea) TO netbox_ssl_operator;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, pem text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, pem text) IS 'Implementation of @extschema@.ssl_netbox_renew for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) RETURNS bigint
    LANGUAGE sql
    AS $_$ SELECT netbox_ssl_internal.ssl_netbox_renew($1, $2) $_$;

COMMENT ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) IS 'The Janus renewal (ssl_renew) of a NetBox SSL plugin certificate, addressed by its NetBox id: both sides get the successor, the moved assignments and the replaced old row in the caller''s transaction; returns the successor''s NetBox id. Errors as ssl_renew (55000 naming the successor when already replaced).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, pem text) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_renew(netbox_certificate_id bigint, pem text) TO netbox_ssl_operator;

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_renew(netbox_certificate_id bigint, pem text) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_netbox_check() RETURNS TABLE(netbox_certificate_id bigint, certificate_id bigint, problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $_$
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
$_$;

COMMENT ON FUNCTION @extschema@.ssl_netbox_check() IS 'Every difference between NetBox''s SSL plugin tables and the inventory: unlinked rows on either side, status, fingerprint, successor link, assignments only on one side; missing NetBox tables or columns the bridge uses; a detached bridge. Empty when both sides agree.';

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_check() FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_check() TO netbox_ssl_reader;

-- ----------------------------------------------------------------------
-- Internal helpers (no EXECUTE for PUBLIC; called by the bridge's own
-- SECURITY DEFINER functions and triggers)
-- ----------------------------------------------------------------------
CREATE FUNCTION netbox_ssl_internal.ssl_netbox_attached_schema() RETURNS name
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $$
    SELECT b.plugin_schema FROM @extschema@.ssl_netbox_bridge b WHERE b.attached
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_attached_schema() IS 'Internal (NetBox bridge): the schema of NetBox''s tables while the bridge is attached, else NULL.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_attached_schema() FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_missing(plugin_schema name) RETURNS TABLE(table_name text, column_name text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $$
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_missing(plugin_schema name) IS 'Internal (NetBox bridge): the NetBox tables (column NULL) and columns the bridge uses that plugin_schema lacks.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_missing(plugin_schema name) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_content_type(plugin_schema name, object_type text) RETURNS integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_content_type(plugin_schema name, object_type text) IS 'Internal (NetBox bridge): django_content_type.id of app_label.model; 22023 for a type NetBox certificates cannot be assigned to.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_content_type(plugin_schema name, object_type text) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_object_name(plugin_schema name, object_type text, object_id bigint, OUT present boolean, OUT name text) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
BEGIN
    EXECUTE format('SELECT true, name::text FROM %I.%I WHERE id = $1', plugin_schema,
                   CASE object_type WHEN 'dcim.device' THEN 'dcim_device'
                                    WHEN 'ipam.service' THEN 'ipam_service'
                                    ELSE 'virtualization_virtualmachine' END)
       INTO present, name USING object_id;
    present := coalesce(present, false);
END
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_object_name(plugin_schema name, object_type text, object_id bigint, OUT present boolean, OUT name text) IS 'Internal (NetBox bridge): whether a NetBox device, service or VM exists, and its name.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_object_name(plugin_schema name, object_type text, object_id bigint, OUT present boolean, OUT name text) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_plugin_event(plugin_schema name, netbox_certificate_id bigint, event_type text, description text, old_status text DEFAULT ''::text, new_status text DEFAULT ''::text, related bigint DEFAULT NULL::bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
BEGIN
    EXECUTE format('INSERT INTO %I.netbox_ssl_certificatelifecycleevent (event_type, "timestamp", description,'
                   ' old_status, new_status, actor, certificate_id, related_certificate_id)'
                   ' VALUES ($1, now(), $2, $3, $4, $5, $6, $7)', plugin_schema)
    USING event_type, description, coalesce(old_status, ''), coalesce(new_status, ''),
          left(netbox_ssl_internal.ssl_caller(), 150), netbox_certificate_id, related;
END
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_plugin_event(plugin_schema name, netbox_certificate_id bigint, event_type text, description text, old_status text, new_status text, related bigint) IS 'Internal (NetBox bridge): writes one event into the plugin''s netbox_ssl_certificatelifecycleevent (actor = the calling role).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_plugin_event(plugin_schema name, netbox_certificate_id bigint, event_type text, description text, old_status text, new_status text, related bigint) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_plugin_fields(certificate_id bigint, OUT common_name text, OUT serial_number text, OUT fingerprint_sha256 text, OUT issuer text, OUT valid_from timestamp with time zone, OUT valid_to timestamp with time zone, OUT sans text[], OUT key_size integer, OUT algorithm text, OUT pem_content text, OUT issuer_chain text) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
BEGIN
    SELECT f.* INTO common_name, serial_number, fingerprint_sha256, issuer, valid_from, valid_to, sans,
                    key_size, algorithm, pem_content, issuer_chain
      FROM @extschema@.ssl_certificate c,
           netbox_ssl_internal.ssl_netbox_fields(rtrim(c.pem_content, E'\n')
               || CASE WHEN c.issuer_chain <> '' THEN E'\n' || c.issuer_chain ELSE '' END) f
     WHERE c.id = certificate_id;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_plugin_fields(certificate_id bigint, OUT common_name text, OUT serial_number text, OUT fingerprint_sha256 text, OUT issuer text, OUT valid_from timestamp with time zone, OUT valid_to timestamp with time zone, OUT sans text[], OUT key_size integer, OUT algorithm text, OUT pem_content text, OUT issuer_chain text) IS 'Internal (NetBox bridge): the NetBox SSL plugin''s derived columns for one of our certificates, in the plugin''s formats (ssl_netbox_fields).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_plugin_fields(certificate_id bigint, OUT common_name text, OUT serial_number text, OUT fingerprint_sha256 text, OUT issuer text, OUT valid_from timestamp with time zone, OUT valid_to timestamp with time zone, OUT sans text[], OUT key_size integer, OUT algorithm text, OUT pem_content text, OUT issuer_chain text) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_link_row(plugin_schema name, netbox_certificate_id bigint, reconcile boolean DEFAULT true, known_fingerprint text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_link_row(plugin_schema name, netbox_certificate_id bigint, reconcile boolean, known_fingerprint text) IS 'Internal (NetBox bridge): imports or links one plugin certificate by its PEM (22023 key material, 22P02 malformed, 23505 fingerprint linked to another plugin row); returns our id, NULL without PEM.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_link_row(plugin_schema name, netbox_certificate_id bigint, reconcile boolean, known_fingerprint text) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_settle_status(plugin_schema name, netbox_certificate_id bigint, certificate_id bigint, fresh boolean) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_settle_status(plugin_schema name, netbox_certificate_id bigint, certificate_id bigint, fresh boolean) IS 'Internal (NetBox bridge): settles the status of a newly linked pair (NetBox''s active takes our date-based status; other statuses go to ours when our state machine allows).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_settle_status(plugin_schema name, netbox_certificate_id bigint, certificate_id bigint, fresh boolean) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_renew_onto(old_id bigint, new_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_renew_onto(old_id bigint, new_id bigint) IS 'Internal (NetBox bridge): records the renewal of old_id by the existing certificate new_id exactly as ssl_renew records it (locks, preconditions, renewed/activated events, assignments moved, old replaced).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_renew_onto(old_id bigint, new_id bigint) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_forget(netbox_certificate_id bigint, reason text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_forget(netbox_certificate_id bigint, reason text) IS 'Internal (NetBox bridge): a NetBox certificate was deleted: unlinks our twin, removes its assignments, archives it when the state machine allows, keeps its history.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_forget(netbox_certificate_id bigint, reason text) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_push_certificate(plugin_schema name, certificate_id bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_push_certificate(plugin_schema name, certificate_id bigint) IS 'Internal (NetBox bridge): creates and links the NetBox SSL plugin row (plugin formats, model defaults, imported event) for one of our certificates.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_push_certificate(plugin_schema name, certificate_id bigint) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_certificate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_certificate() IS 'Trigger function (NetBox bridge, on netbox_ssl_certificate): imports or links new rows, mirrors status changes under the state machine, records Renew & Transfer as a Janus renewal and completes it as a move, unlinks and archives on delete.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_certificate() FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_assignment() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_assignment() IS 'Trigger function (NetBox bridge, on netbox_ssl_certificateassignment): mirrors assignments added, changed or removed in NetBox (with their events on our side).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_on_plugin_assignment() FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_netbox_on_object_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_on_object_delete() IS 'Trigger function (NetBox bridge, on dcim_device, virtualization_virtualmachine, ipam_service): deleting an object removes its certificate assignments on both sides (a device''s or VM''s services too), with assignment_removed events.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_on_object_delete() FROM PUBLIC;
