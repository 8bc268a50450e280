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
REVOKE ALL ON @extschema@.ssl_netbox_importing FROM PUBLIC;

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
    fp text;
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
    UPDATE @extschema@.ssl_assignment a SET certificate_id = new_id WHERE a.certificate_id = old_id;
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
    fp text;
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
