-- Every trigger, with its trigger function, grouped by table.
-- PostgreSQL fires the triggers of one event in name order (BEFORE before
-- AFTER); docs/architecture.md lists them in firing order with the reason
-- each exists. Trigger functions are not callable by users (EXECUTE revoked).

-- The one write path (1.6): ssl_import, ssl_renew and ssl_import_bundle
-- store rows with one C statement that also does the per-row work of the
-- triggers below (ACME, issuer chain check, authority, CSR link, outbox).
-- Those triggers carry WHEN (NOT ssl_write_path_owns()): true only while that
-- very statement runs (its command id, in this backend transaction; backend
-- C state that no SQL can set), so every other INSERT or UPDATE, including
-- writes nested inside triggers, still fires them (src/pg/write_path.cpp).
CREATE FUNCTION netbox_ssl_internal.ssl_write_path_owns() RETURNS boolean
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'ssl_write_path_owns';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_write_path_owns() IS 'Internal: true while the statement of the extension''s own write path (ssl_import, ssl_renew, ssl_import_bundle) runs, whose triggers it replaces; false otherwise. Reading it is harmless; nothing in SQL can set it.';

-- ----------------------------------------------------------------------
-- Triggers on ssl_certificate
-- ----------------------------------------------------------------------

-- ssl_renew copies tenant and private_key_location to the successor; the
-- renewal note describes the same deployment, so it follows too, unless the
-- successor has its own. Done when the old row becomes replaced, which every
-- renewal path (ssl_renew, a plain UPDATE setting replaced_by) goes through.
-- SECURITY DEFINER: trigger functions read and write on behalf of whoever
-- changed the row, who need not have those privileges themselves.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_carry_note() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    UPDATE @extschema@.ssl_certificate s
       SET renewal_instructions = NEW.renewal_instructions
     WHERE s.id = NEW.replaced_by AND s.renewal_instructions IS NULL;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_carry_note() IS 'Trigger function: copies a replaced certificate''s renewal_instructions to its successor when the successor has none.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_carry_note() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_carry_note AFTER UPDATE OF status ON @extschema@.ssl_certificate FOR EACH ROW WHEN (((new.status = 'replaced'::text) AND (old.status IS DISTINCT FROM 'replaced'::text) AND (new.renewal_instructions IS NOT NULL))) EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_carry_note();

COMMENT ON TRIGGER ssl_certificate_carry_note ON @extschema@.ssl_certificate IS 'Carries the renewal note to the successor of a renewal.';

-- The rule query runs inline (PL/pgSQL keeps its plan for the session, where
-- a SQL function call is planned on every insert). It runs inside ssl_import,
-- which turns enable_seqscan off; the rule table is small and has no useful
-- index, so its scan would then be costed at 1e10 and JIT-compiled on every
-- insert (about 200 ms each): hence enable_seqscan = on and jit = off.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_detect_acme() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'on'
    SET jit TO 'off'
    AS $$
BEGIN
    NEW.acme_provider := (SELECT a.provider
                            FROM @extschema@.ssl_acme_issuer AS a
                           WHERE (a.issuer_org IS NULL OR NEW.issuer_org LIKE a.issuer_org)
                             AND (a.issuer_cn IS NULL OR NEW.issuer_cn LIKE a.issuer_cn)
                           ORDER BY a.builtin, (a.issuer_org IS NOT NULL AND a.issuer_cn IS NOT NULL) DESC, a.id
                           LIMIT 1);
    NEW.is_acme := NEW.acme_provider IS NOT NULL;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_detect_acme() IS 'Trigger function: sets is_acme and acme_provider of a new certificate from ssl_acme_issuer.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_detect_acme() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_detect_acme BEFORE INSERT ON @extschema@.ssl_certificate FOR EACH ROW WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_detect_acme();

COMMENT ON TRIGGER ssl_certificate_detect_acme ON @extschema@.ssl_certificate IS 'ACME detection at import, whatever path inserts the row.';

-- Rows are immutable certificate data, whoever writes them: a fingerprint
-- always names the same certificate, which history, assignments and the
-- NetBox link rely on. Not SECURITY DEFINER: it reads only OLD and NEW.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF (NEW.id, NEW.common_name, NEW.subject, NEW.issuer, NEW.serial_number, NEW.fingerprint_sha256,
        NEW.valid_from, NEW.valid_to, NEW.sans, NEW.algorithm, NEW.key_size, NEW.signature_algorithm,
        NEW.is_ca, NEW.subject_key_id, NEW.authority_key_id, NEW.spki_sha256, NEW.pem_content,
        NEW.created_at, NEW.issuer_cn, NEW.issuer_org, NEW.tbs_sha256)
       IS DISTINCT FROM
       (OLD.id, OLD.common_name, OLD.subject, OLD.issuer, OLD.serial_number, OLD.fingerprint_sha256,
        OLD.valid_from, OLD.valid_to, OLD.sans, OLD.algorithm, OLD.key_size, OLD.signature_algorithm,
        OLD.is_ca, OLD.subject_key_id, OLD.authority_key_id, OLD.spki_sha256, OLD.pem_content,
        OLD.created_at, OLD.issuer_cn, OLD.issuer_org, OLD.tbs_sha256) THEN
        RAISE EXCEPTION 'certificate % cannot be edited to hold other certificate data', OLD.id
            USING ERRCODE = '55000',
                  HINT = 'Import the new certificate with ssl_import(), or renew with ssl_renew(); only status, replaced_by, tenant, private_key_location and issuer_chain can change.';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_guard() IS 'Trigger function: refuses edits to the parsed certificate fields and maintains updated_at.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_guard() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_guard BEFORE UPDATE ON @extschema@.ssl_certificate FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_guard();

COMMENT ON TRIGGER ssl_certificate_guard ON @extschema@.ssl_certificate IS 'A row holds one certificate for ever; keeps updated_at current.';

-- issuer_chain holds certificates only. Every write path (ssl_import,
-- ssl_renew, ssl_import_bundle and plain SQL) inserts through SQL, so one
-- trigger checks them all: no private key and no oversized input can be
-- stored there and later copied into an error message or a log.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_issuer_chain_check() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF NEW.issuer_chain <> ''
       AND (TG_OP = 'INSERT' OR NEW.issuer_chain IS DISTINCT FROM OLD.issuer_chain) THEN
        PERFORM netbox_ssl_internal.ssl_issuer_chain_check(NEW.issuer_chain, true);
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_issuer_chain_check() IS 'Trigger: refuses an issuer_chain that is not PEM CERTIFICATE blocks (22P02), holds a private key (22023) or is larger than netbox_ssl.max_input_bytes (54000).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_issuer_chain_check() FROM PUBLIC;

-- WHEN: an empty chain needs no check (the function returns at once), and
-- the write path checks its chains in its own statement.
CREATE TRIGGER ssl_certificate_issuer_chain_check BEFORE INSERT OR UPDATE OF issuer_chain ON @extschema@.ssl_certificate FOR EACH ROW WHEN (((new.issuer_chain <> ''::text) AND (NOT netbox_ssl_internal.ssl_write_path_owns()))) EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_issuer_chain_check();

COMMENT ON TRIGGER ssl_certificate_issuer_chain_check ON @extschema@.ssl_certificate IS 'issuer_chain holds certificates only, whichever path writes it (security item 7).';

CREATE FUNCTION netbox_ssl_internal.ssl_certificate_match_authority() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_match_authority() IS 'Trigger function: on insert, fills issuing_ca_id and issuing_ca_source (unless given, as in a restore); on update, marks a link set by hand as manual, and clearing it (or deleting the authority) makes the certificate automatic again. Only ssl_match_authorities (internal switch matching, which no caller can set) writes pattern or key_id links on update.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_match_authority() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_match_authority BEFORE INSERT OR UPDATE OF issuing_ca_id, issuing_ca_source ON @extschema@.ssl_certificate FOR EACH ROW WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_match_authority();

COMMENT ON TRIGGER ssl_certificate_match_authority ON @extschema@.ssl_certificate IS 'Every insert path (ssl_import, ssl_renew, bulk imports, plain INSERT) links the certificate to its authority.';

-- One event per status change, however it was made. The extension's own
-- functions log a richer event (renewed, renewal_reverted) before their
-- status UPDATE; the trigger skips exactly that change, so nothing is logged
-- twice and a repeated identical transition is still logged.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_status_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_status_event() IS 'Trigger function: logs expired, revoked, archived or status_changed for every status change, also a repeated identical one in the same transaction, except the change that ssl_renew or ssl_revert_renewal has just logged as renewed or renewal_reverted.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_status_event() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_status_event AFTER UPDATE OF status ON @extschema@.ssl_certificate FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_status_event();

COMMENT ON TRIGGER ssl_certificate_status_event ON @extschema@.ssl_certificate IS 'Every status change leaves exactly one lifecycle event.';

-- The status state machine, enforced in the database so that a plain UPDATE
-- cannot skip a step the extension's functions would refuse.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_status_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_status_guard() IS 'Trigger function: enforces the status state machine (55000 naming both statuses) and keeps replaced_by set exactly while a certificate is replaced.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_status_guard() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_status_guard BEFORE UPDATE OF status, replaced_by ON @extschema@.ssl_certificate FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_status_guard();

COMMENT ON TRIGGER ssl_certificate_status_guard ON @extschema@.ssl_certificate IS 'Plain UPDATEs obey the lifecycle too.';

-- Stands in for the foreign keys ssl_compliance_result does not have (see
-- 10_tables.sql): statement-level, so deleting many certificates or a policy
-- pays one set-based delete.
CREATE FUNCTION netbox_ssl_internal.ssl_compliance_result_cleanup() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'ssl_certificate' THEN
        DELETE FROM @extschema@.ssl_compliance_result r USING old_rows o WHERE r.certificate_id = o.id;
    ELSE
        DELETE FROM @extschema@.ssl_compliance_result r USING old_rows o WHERE r.policy_id = o.id;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_compliance_result_cleanup() IS 'Trigger function: deletes the stored compliance results of deleted certificates or policies, set-based.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_compliance_result_cleanup() FROM PUBLIC;

CREATE TRIGGER ssl_compliance_result_cleanup AFTER DELETE ON @extschema@.ssl_certificate REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_compliance_result_cleanup();

COMMENT ON TRIGGER ssl_compliance_result_cleanup ON @extschema@.ssl_certificate IS 'A purged certificate leaves no compliance results.';

-- Every import path (ssl_import, ssl_import_bundle, ssl_renew, plain INSERT)
-- links the request for the new certificate's key, in the same statement.
-- Statement-level, so a bulk insert pays one set-based query.
CREATE FUNCTION netbox_ssl_internal.ssl_csr_link_certificate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    UPDATE @extschema@.ssl_csr r
       SET status = 'issued', resulting_certificate_id = n.id
      FROM (SELECT DISTINCT ON (spki_sha256) id, spki_sha256 FROM new_rows ORDER BY spki_sha256, id) n
     WHERE r.spki_sha256 = n.spki_sha256
       AND r.status IN ('pending', 'approved');
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_csr_link_certificate() IS 'Trigger function: marks every pending or approved request for the key (spki_sha256) of a newly inserted certificate issued, linking the certificate (the lowest new id when one statement inserts several for that key).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_csr_link_certificate() FROM PUBLIC;

CREATE TRIGGER ssl_csr_link_certificate AFTER INSERT ON @extschema@.ssl_certificate REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_csr_link_certificate();

COMMENT ON TRIGGER ssl_csr_link_certificate ON @extschema@.ssl_certificate IS 'Links imported certificates to the open requests for their key.';

-- Ours -> NetBox. Every bridge function runs with jit = off: callers such as
-- ssl_import plan with enable_seqscan = off, which makes even a one-row
-- look-up look expensive enough to be JIT-compiled (30 ms per statement).
-- enable_seqscan = off and custom plans only: a generic plan cached while
-- ssl_certificate or ssl_netbox_link was small scanned the whole table for
-- every row (attach slowed down quadratically); a custom plan sees the value
-- and the table's current size and takes the unique index.
CREATE FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_insert() IS 'Trigger function (NetBox bridge): while attached, every certificate stored here gets its NetBox SSL plugin row (or is linked to the one NetBox just inserted).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_insert() FROM PUBLIC;

CREATE TRIGGER ssl_netbox_certificate_insert AFTER INSERT ON @extschema@.ssl_certificate REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_insert();

COMMENT ON TRIGGER ssl_netbox_certificate_insert ON @extschema@.ssl_certificate IS 'NetBox bridge: new certificates reach NetBox while attached.';

-- Same settings as the insert trigger. Writes only what differs between the
-- two sides, so a change coming back from NetBox finds ours already equal
-- and stops there (no loop, no setting consulted).
CREATE FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_update() IS 'Trigger function (NetBox bridge): while attached, status and successor changes of linked certificates are written to NetBox with the plugin''s events.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_update() FROM PUBLIC;

CREATE TRIGGER ssl_netbox_certificate_update AFTER UPDATE ON @extschema@.ssl_certificate REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_certificate_update();

COMMENT ON TRIGGER ssl_netbox_certificate_update ON @extschema@.ssl_certificate IS 'NetBox bridge: status and successor changes reach NetBox while attached.';

-- ----------------------------------------------------------------------
-- Triggers on ssl_assignment
-- ----------------------------------------------------------------------

-- Assignments cannot be written for a replaced certificate: its successor
-- serves those objects now. Statement-level with a transition table, so a
-- renewal that moves 100,000 assignments pays one set-based check. The same
-- function also runs as BEFORE ROW triggers (lock_target_*) that lock the
-- target FOR SHARE before the row and its index entry exist: every writer
-- takes the certificate first and assignment rows after it, as renew and
-- revert do, which avoids the deadlock (40P01) of a late lock.
CREATE FUNCTION netbox_ssl_internal.ssl_assignment_check_target() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_assignment_check_target() IS 'Trigger function: per row (BEFORE), locks the target certificate FOR SHARE before the assignment row exists, so every writer locks the certificate before assignment rows; per statement (AFTER), waits for a renewal or revert of the target certificates (FOR SHARE), then refuses assignments written for a replaced, revoked or archived certificate (for a replaced one, naming the certificate that replaced it).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_assignment_check_target() FROM PUBLIC;

CREATE TRIGGER ssl_assignment_check_target_insert AFTER INSERT ON @extschema@.ssl_assignment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_check_target();

COMMENT ON TRIGGER ssl_assignment_check_target_insert ON @extschema@.ssl_assignment IS 'No assignment is added to a replaced certificate, even when inserted concurrently with ssl_renew.';

-- WHEN: skipped for ssl_renew's move only (its target is the row it has
-- just inserted, active and not yet visible to anyone else).
CREATE TRIGGER ssl_assignment_check_target_update AFTER UPDATE ON @extschema@.ssl_assignment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_check_target();

COMMENT ON TRIGGER ssl_assignment_check_target_update ON @extschema@.ssl_assignment IS 'No assignment is moved onto a replaced certificate.';

-- Assignment history, including moves by UPDATE, so ssl_revert_renewal sees
-- them as changes since the renewal. enable_seqscan = off: the plan is cached
-- for the session and must not stay a sequential scan as the tables grow.
-- History is written only for certificates that already have a history,
-- so a pg_dump restore (assignments before events) does not log every
-- restored assignment again.
CREATE FUNCTION netbox_ssl_internal.ssl_assignment_history() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'off'
    AS $$
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
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_assignment_history() IS 'Trigger function: logs assignment_added and assignment_removed, set-based, for certificates that have a history (so a pg_dump restore does not log restored rows twice). An UPDATE that changes an assignment''s certificate or object logs assignment_removed on the old certificate and assignment_added on the new one; the moves of ssl_renew and ssl_revert_renewal log only their renewal events.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_assignment_history() FROM PUBLIC;

CREATE TRIGGER ssl_assignment_history_delete AFTER DELETE ON @extschema@.ssl_assignment REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_history();

COMMENT ON TRIGGER ssl_assignment_history_delete ON @extschema@.ssl_assignment IS 'Logs assignment_removed on the certificate, naming the object.';

CREATE TRIGGER ssl_assignment_history_insert AFTER INSERT ON @extschema@.ssl_assignment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_history();

COMMENT ON TRIGGER ssl_assignment_history_insert ON @extschema@.ssl_assignment IS 'Logs assignment_added on the certificate, naming the object.';

-- WHEN: skipped for ssl_renew's move, which it would not log anyway
-- (moving), instead of joining 2 x N transition rows to find that out.
CREATE TRIGGER ssl_assignment_history_update AFTER UPDATE ON @extschema@.ssl_assignment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_history();

COMMENT ON TRIGGER ssl_assignment_history_update ON @extschema@.ssl_assignment IS 'Logs a move (certificate_id, object_type or object_id changed) as assignment_removed plus assignment_added.';

CREATE TRIGGER ssl_assignment_lock_target_insert BEFORE INSERT ON @extschema@.ssl_assignment FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_check_target();

COMMENT ON TRIGGER ssl_assignment_lock_target_insert ON @extschema@.ssl_assignment IS 'Locks the target certificate FOR SHARE before the row is inserted (lock order: certificate, then assignment rows).';

CREATE TRIGGER ssl_assignment_lock_target_update BEFORE UPDATE OF certificate_id ON @extschema@.ssl_assignment FOR EACH ROW WHEN (((old.certificate_id IS DISTINCT FROM new.certificate_id) AND (netbox_ssl_internal.ssl_internal_get('moving'::text) IS NULL))) EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_check_target();

COMMENT ON TRIGGER ssl_assignment_lock_target_update ON @extschema@.ssl_assignment IS 'Locks the new target certificate FOR SHARE before the row is moved (lock order: certificate, then assignment rows); skipped for the moves of ssl_renew and ssl_revert_renewal, which hold their targets already.';

-- Ours -> NetBox for assignments; the bridge's settings as above.
CREATE FUNCTION netbox_ssl_internal.ssl_netbox_on_assignment_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET enable_seqscan TO 'off'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $_$
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
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_netbox_on_assignment_change() IS 'Trigger function (NetBox bridge): while attached, assignments of linked certificates added, moved or removed here are written to NetBox with the plugin''s events (22023 for an object type NetBox does not know, 23503 for a missing object).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_netbox_on_assignment_change() FROM PUBLIC;

CREATE TRIGGER ssl_netbox_assignment_delete AFTER DELETE ON @extschema@.ssl_assignment REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_assignment_change();

COMMENT ON TRIGGER ssl_netbox_assignment_delete ON @extschema@.ssl_assignment IS 'NetBox bridge: removed assignments leave NetBox while attached.';

CREATE TRIGGER ssl_netbox_assignment_insert AFTER INSERT ON @extschema@.ssl_assignment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_assignment_change();

COMMENT ON TRIGGER ssl_netbox_assignment_insert ON @extschema@.ssl_assignment IS 'NetBox bridge: new assignments reach NetBox while attached.';

CREATE TRIGGER ssl_netbox_assignment_update AFTER UPDATE ON @extschema@.ssl_assignment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_netbox_on_assignment_change();

COMMENT ON TRIGGER ssl_netbox_assignment_update ON @extschema@.ssl_assignment IS 'NetBox bridge: moved or edited assignments reach NetBox while attached.';

-- ----------------------------------------------------------------------
-- Triggers on ssl_lifecycle_event
-- ----------------------------------------------------------------------

-- History is append-only: an audit log that can be edited proves nothing.
-- Only ssl_purge_certificate may delete a certificate's events, through an
-- internal switch no session can set by itself.
CREATE FUNCTION netbox_ssl_internal.ssl_lifecycle_event_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_lifecycle_event_append_only() IS 'Trigger function: refuses updates and deletes of lifecycle events, except the ones ssl_purge_certificate makes (internal switch purging, which no caller can set).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_lifecycle_event_append_only() FROM PUBLIC;

CREATE TRIGGER ssl_lifecycle_event_append_only BEFORE DELETE OR UPDATE ON @extschema@.ssl_lifecycle_event FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_lifecycle_event_append_only();

COMMENT ON TRIGGER ssl_lifecycle_event_append_only ON @extschema@.ssl_lifecycle_event IS 'History is append-only.';

-- Publishing is a statement-level trigger on the history, so a statement
-- that logs many events pays one call. Only events dated at or after the
-- transaction's start are news: older ones are history being restored or
-- backfilled. NOTIFY carries ids and the event type only, since any role can
-- LISTEN; the payload stays in ssl_outbox, readable by readers only.
CREATE FUNCTION netbox_ssl_internal.ssl_outbox_publish() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'off'
    AS $$
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
           -- published already by the write path's own statement (1.6)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox x WHERE x.id = n.id)
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_outbox_publish() IS 'Trigger function: copies new lifecycle events (those dated at or after the transaction start) into ssl_outbox with their JSON payload, queues them for every consumer it can see and sends NOTIFY ssl_lifecycle with only the ids and the type ({"id", "certificate_id", "type"}); all in the writing transaction.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_outbox_publish() FROM PUBLIC;

CREATE TRIGGER ssl_lifecycle_event_outbox AFTER INSERT ON @extschema@.ssl_lifecycle_event REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_outbox_publish();

COMMENT ON TRIGGER ssl_lifecycle_event_outbox ON @extschema@.ssl_lifecycle_event IS 'Every new event reaches the outbox and a NOTIFY in the same transaction, whichever path wrote it; a rollback publishes nothing.';

-- ----------------------------------------------------------------------
-- Triggers on ssl_csr
-- ----------------------------------------------------------------------

-- The parsed fields of a request never change; status follows its state
-- machine, and a resulting certificate must carry the request's key.
CREATE FUNCTION netbox_ssl_internal.ssl_csr_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

COMMENT ON FUNCTION netbox_ssl_internal.ssl_csr_guard() IS 'Trigger function: refuses edits to the parsed request fields, enforces the request status machine (55000), links a request only to a certificate with the same spki_sha256 (23514), and maintains updated_at.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_csr_guard() FROM PUBLIC;

CREATE TRIGGER ssl_csr_guard BEFORE UPDATE ON @extschema@.ssl_csr FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_csr_guard();

COMMENT ON TRIGGER ssl_csr_guard ON @extschema@.ssl_csr IS 'Plain UPDATEs obey the request lifecycle too.';

-- ----------------------------------------------------------------------
-- Triggers on ssl_certificate_authority
-- ----------------------------------------------------------------------

-- Rejects an authority whose issuer pattern is not a valid regular
-- expression at write time, rather than at every import that matches it.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_authority_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
BEGIN
    IF NEW.issuer_pattern IS NOT NULL THEN
        BEGIN
            PERFORM '' ~* NEW.issuer_pattern;
        EXCEPTION WHEN invalid_regular_expression THEN
            RAISE EXCEPTION 'issuer_pattern of authority "%" is not a valid regular expression: %', NEW.name, SQLERRM
                USING ERRCODE = '22023',
                      HINT = 'Patterns are case-insensitive POSIX regular expressions matched with ~* against the issuer DN, e.g. (^|,)O=Example Corp(,|$).';
        END;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_authority_check() IS 'Trigger function: refuses an issuer_pattern that is not a valid regular expression (22023) and maintains updated_at.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_authority_check() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_authority_check BEFORE INSERT OR UPDATE ON @extschema@.ssl_certificate_authority FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_authority_check();

COMMENT ON TRIGGER ssl_certificate_authority_check ON @extschema@.ssl_certificate_authority IS 'Patterns must compile; keeps updated_at current.';

-- ----------------------------------------------------------------------
-- Triggers on ssl_compliance_policy
-- ----------------------------------------------------------------------

-- Policy parameters are checked when written, so ssl_check_compliance never
-- meets a policy it cannot evaluate.
CREATE FUNCTION netbox_ssl_internal.ssl_compliance_policy_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    p jsonb := NEW.parameters;
    t text := NEW.policy_type;
    k text;
    v jsonb;
    allowed_keys text[];
    list_key text;
    names text[];
    known text[];
    int_key text;
BEGIN
    IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
        RAISE EXCEPTION 'parameters of policy "%" must be a JSON object', NEW.name USING ERRCODE = '22023';
    END IF;
    allowed_keys := CASE t
        WHEN 'min_key_size' THEN ARRAY['rsa', 'ecdsa', 'dsa']
        WHEN 'max_validity_days' THEN ARRAY['max_days']
        WHEN 'algorithm_allowed' THEN ARRAY['algorithms']
        WHEN 'algorithm_forbidden' THEN ARRAY['algorithms']
        WHEN 'signature_algorithm_forbidden' THEN ARRAY['algorithms']
        WHEN 'expiry_warning' THEN ARRAY['warning_days']
        WHEN 'san_required' THEN ARRAY['min_count']
        WHEN 'issuer_allowed' THEN ARRAY['issuers']
        WHEN 'issuer_forbidden' THEN ARRAY['issuers']
        ELSE ARRAY[]::text[]
    END;
    FOR k IN SELECT jsonb_object_keys(p) LOOP
        IF NOT k = ANY (allowed_keys) THEN
            RAISE EXCEPTION 'policy "%" of type % does not take the parameter "%"', NEW.name, t, k
                USING ERRCODE = '22023',
                      HINT = CASE WHEN cardinality(allowed_keys) = 0 THEN 'This type takes no parameters: use {}.'
                                  ELSE 'Parameters of this type: ' || array_to_string(allowed_keys, ', ') || '.' END;
        END IF;
    END LOOP;

    -- Positive integers.
    IF t = 'min_key_size' AND p = '{}' THEN
        RAISE EXCEPTION 'policy "%" of type min_key_size needs a minimum for at least one of rsa, ecdsa, dsa', NEW.name
            USING ERRCODE = '22023', HINT = 'For example {"rsa": 2048, "ecdsa": 256}.';
    END IF;
    FOREACH int_key IN ARRAY CASE t
            WHEN 'min_key_size' THEN ARRAY(SELECT jsonb_object_keys(p))
            WHEN 'max_validity_days' THEN ARRAY['max_days']
            WHEN 'expiry_warning' THEN ARRAY['warning_days']
            WHEN 'san_required' THEN ARRAY['min_count']
            ELSE ARRAY[]::text[] END
    LOOP
        v := p -> int_key;
        IF v IS NULL THEN
            RAISE EXCEPTION 'policy "%" of type % needs the parameter "%"', NEW.name, t, int_key
                USING ERRCODE = '22023';
        END IF;
        IF jsonb_typeof(v) <> 'number' OR v::text !~ '^[0-9]+$' OR length(v::text) > 9 OR v::text::integer <= 0 THEN
            RAISE EXCEPTION 'parameter "%" of policy "%" must be a positive whole number, not %', int_key, NEW.name, v
                USING ERRCODE = '22023';
        END IF;
    END LOOP;

    -- Non-empty lists of strings, normalised to one spelling.
    list_key := CASE WHEN t IN ('algorithm_allowed', 'algorithm_forbidden', 'signature_algorithm_forbidden') THEN 'algorithms'
                     WHEN t IN ('issuer_allowed', 'issuer_forbidden') THEN 'issuers' END;
    IF list_key IS NOT NULL THEN
        v := p -> list_key;
        IF v IS NULL OR jsonb_typeof(v) <> 'array' OR jsonb_array_length(v) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string' OR btrim(e #>> '{}') = '') THEN
            RAISE EXCEPTION 'parameter "%" of policy "%" must be a non-empty array of non-empty strings', list_key, NEW.name
                USING ERRCODE = '22023',
                      HINT = CASE list_key WHEN 'issuers' THEN 'For example {"issuers": ["Let''s Encrypt"]}.'
                                           ELSE 'For example {"algorithms": ["rsa", "ecdsa"]}.' END;
        END IF;
        IF t = 'signature_algorithm_forbidden' THEN
            names := ARRAY(SELECT DISTINCT regexp_replace(replace(replace(lower(btrim(e)), '_', '-'), '/', '-'),
                                                          '^sha-(1|224|256|384|512)$', 'sha\1')
                             FROM jsonb_array_elements_text(v) e ORDER BY 1);
            known := ARRAY['md2', 'md4', 'md5', 'mdc2', 'ripemd160', 'sha0', 'sha1', 'sha224', 'sha256', 'sha384',
                           'sha512', 'sha512-224', 'sha512-256', 'sha3-224', 'sha3-256', 'sha3-384', 'sha3-512',
                           'shake128', 'shake256', 'sm3'];
        ELSIF list_key = 'algorithms' THEN
            names := ARRAY(SELECT DISTINCT lower(btrim(e)) FROM jsonb_array_elements_text(v) e ORDER BY 1);
            known := ARRAY['rsa', 'ecdsa', 'dsa', 'ed25519', 'ed448', 'unknown'];
        ELSE
            names := ARRAY(SELECT DISTINCT btrim(e) FROM jsonb_array_elements_text(v) e ORDER BY 1);
            known := NULL;
        END IF;
        IF known IS NOT NULL THEN
            SELECT n INTO k FROM unnest(names) n WHERE NOT n = ANY (known) LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'policy "%" names the unknown % "%"', NEW.name,
                    CASE t WHEN 'signature_algorithm_forbidden' THEN 'hash' ELSE 'key algorithm' END, k
                    USING ERRCODE = '22023', HINT = 'Known: ' || array_to_string(known, ', ') || '.';
            END IF;
        END IF;
        NEW.parameters := jsonb_build_object(list_key, to_jsonb(names));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_compliance_policy_check() IS 'Trigger function: refuses parameters of the wrong shape for the policy type (22023, one sentence naming the parameter), stores name lists lower-case and de-duplicated, and maintains updated_at.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_compliance_policy_check() FROM PUBLIC;

CREATE TRIGGER ssl_compliance_policy_check BEFORE INSERT OR UPDATE ON @extschema@.ssl_compliance_policy FOR EACH ROW EXECUTE FUNCTION netbox_ssl_internal.ssl_compliance_policy_check();

COMMENT ON TRIGGER ssl_compliance_policy_check ON @extschema@.ssl_compliance_policy IS 'Policies are valid whoever writes them.';

CREATE TRIGGER ssl_compliance_result_cleanup AFTER DELETE ON @extschema@.ssl_compliance_policy REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_compliance_result_cleanup();

COMMENT ON TRIGGER ssl_compliance_result_cleanup ON @extschema@.ssl_compliance_policy IS 'A deleted policy leaves no compliance results.';
