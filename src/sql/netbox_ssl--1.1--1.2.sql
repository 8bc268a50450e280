-- netbox_ssl 1.1 -> 1.2: privileges and search_path hardening.
-- Only ssl_parse (and ssl_caller) stay callable by PUBLIC. Three group roles
-- carry the rest. The writing functions run as the extension's owner, with a
-- fixed search_path, so callers need no write privilege on the history.

\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.2'" to load this file. \quit

--------------------------------------------------------------------------
-- Who is acting
--------------------------------------------------------------------------

CREATE FUNCTION @extschema@.ssl_caller() RETURNS text
    AS 'MODULE_PATHNAME', 'ssl_caller'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ssl_caller() IS
    'The role that called into the extension (current_user outside its SECURITY DEFINER functions; follows SET ROLE).';

ALTER TABLE @extschema@.ssl_lifecycle_event ALTER COLUMN actor
    SET DEFAULT coalesce(nullif(current_setting('netbox_ssl.actor', true), ''), @extschema@.ssl_caller());
COMMENT ON COLUMN @extschema@.ssl_lifecycle_event.actor IS
    'The setting netbox_ssl.actor when set (SET LOCAL netbox_ssl.actor = ''alice''), otherwise the calling role.';

--------------------------------------------------------------------------
-- Hostile search_path: the C functions run SQL whose operators (=, <, ||)
-- would otherwise be looked up in the caller's search_path.
--------------------------------------------------------------------------

ALTER FUNCTION @extschema@.ssl_import(text, text, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.ssl_import(bytea, text, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.ssl_renew(bigint, text, text, boolean) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.ssl_renew(bigint, bytea, text, boolean) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.ssl_revert_renewal(bigint) SECURITY DEFINER;
ALTER FUNCTION @extschema@.ssl_refresh_status() SECURITY DEFINER;
ALTER FUNCTION @extschema@.ssl_auto_archive(interval) SECURITY DEFINER;
ALTER FUNCTION @extschema@.ssl_purge_certificate(bigint) SECURITY DEFINER;
-- Trigger functions write history (and read rows) on behalf of whoever
-- changed an assignment or a status.
ALTER FUNCTION @extschema@.ssl_certificate_status_guard() SECURITY DEFINER;
ALTER FUNCTION @extschema@.ssl_certificate_status_event() SECURITY DEFINER;
ALTER FUNCTION @extschema@.ssl_assignment_check_target() SECURITY DEFINER;
ALTER FUNCTION @extschema@.ssl_assignment_history() SECURITY DEFINER;

--------------------------------------------------------------------------
-- Privileges
--------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    @extschema@.ssl_import(text, text, text), @extschema@.ssl_import(bytea, text, text),
    @extschema@.ssl_renew(bigint, text, text, boolean), @extschema@.ssl_renew(bigint, bytea, text, boolean),
    @extschema@.ssl_revert_renewal(bigint), @extschema@.ssl_refresh_status(),
    @extschema@.ssl_auto_archive(interval), @extschema@.ssl_purge_certificate(bigint),
    @extschema@.ssl_renewal_candidate(text, text), @extschema@.ssl_renewal_preview(bigint, text),
    @extschema@.ssl_expiring(interval),
    @extschema@.ssl_certificate_guard(), @extschema@.ssl_certificate_status_guard(),
    @extschema@.ssl_certificate_status_event(), @extschema@.ssl_assignment_check_target(),
    @extschema@.ssl_assignment_history(), @extschema@.ssl_lifecycle_event_append_only()
FROM PUBLIC;

-- Group roles are cluster-wide: created once, reused by every database that
-- installs the extension, and left in place by DROP EXTENSION.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'netbox_ssl_reader') THEN
        CREATE ROLE netbox_ssl_reader NOLOGIN;
        COMMENT ON ROLE netbox_ssl_reader IS 'netbox_ssl: reads the certificate inventory.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'netbox_ssl_operator') THEN
        CREATE ROLE netbox_ssl_operator NOLOGIN;
        COMMENT ON ROLE netbox_ssl_operator IS 'netbox_ssl: reads, imports, renews, reverts, refreshes and assigns.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'netbox_ssl_admin') THEN
        CREATE ROLE netbox_ssl_admin NOLOGIN;
        COMMENT ON ROLE netbox_ssl_admin IS 'netbox_ssl: everything an operator does, plus purging and archiving.';
    END IF;
    IF NOT pg_catalog.pg_has_role('netbox_ssl_operator', 'netbox_ssl_reader', 'MEMBER') THEN
        GRANT netbox_ssl_reader TO netbox_ssl_operator;
    END IF;
    IF NOT pg_catalog.pg_has_role('netbox_ssl_admin', 'netbox_ssl_operator', 'MEMBER') THEN
        GRANT netbox_ssl_operator TO netbox_ssl_admin;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA @extschema@ TO netbox_ssl_reader;
GRANT SELECT ON @extschema@.ssl_certificate, @extschema@.ssl_assignment, @extschema@.ssl_lifecycle_event,
                @extschema@.ssl_certificate_expiry
   TO netbox_ssl_reader;
GRANT EXECUTE ON FUNCTION @extschema@.ssl_renewal_candidate(text, text), @extschema@.ssl_renewal_preview(bigint, text),
                          @extschema@.ssl_expiring(interval)
   TO netbox_ssl_reader;

GRANT EXECUTE ON FUNCTION
    @extschema@.ssl_import(text, text, text), @extschema@.ssl_import(bytea, text, text),
    @extschema@.ssl_renew(bigint, text, text, boolean), @extschema@.ssl_renew(bigint, bytea, text, boolean),
    @extschema@.ssl_revert_renewal(bigint), @extschema@.ssl_refresh_status()
   TO netbox_ssl_operator;
GRANT INSERT, DELETE, UPDATE (certificate_id, is_primary, notes) ON @extschema@.ssl_assignment TO netbox_ssl_operator;
GRANT USAGE ON SEQUENCE @extschema@.ssl_assignment_id_seq TO netbox_ssl_operator;
GRANT UPDATE (status, tenant, private_key_location, issuer_chain, archive_pinned) ON @extschema@.ssl_certificate
   TO netbox_ssl_operator;

GRANT EXECUTE ON FUNCTION @extschema@.ssl_auto_archive(interval), @extschema@.ssl_purge_certificate(bigint)
   TO netbox_ssl_admin;

--------------------------------------------------------------------------
-- Restores: pg_dump writes ssl_assignment's rows before
-- ssl_lifecycle_event's, so the history trigger fired during a restore and
-- logged every restored assignment again (whose ids then collided with the
-- restored events). History is written only for certificates that have a
-- history, which every certificate stored by ssl_import or ssl_renew has,
-- and which a certificate being restored does not have yet.
--------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION @extschema@.ssl_assignment_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO @extschema@.ssl_lifecycle_event (certificate_id, event_type, object_type, object_id, description)
        SELECT n.certificate_id, 'assignment_added', n.object_type, n.object_id,
               format('Assigned to %s %s', n.object_type, n.object_id)
          FROM new_rows n
         WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = n.certificate_id)
         ORDER BY n.id;
    ELSE
        INSERT INTO @extschema@.ssl_lifecycle_event (certificate_id, event_type, object_type, object_id, description)
        SELECT o.certificate_id, 'assignment_removed', o.object_type, o.object_id,
               format('Unassigned from %s %s', o.object_type, o.object_id)
          FROM old_rows o
         WHERE EXISTS (SELECT 1 FROM @extschema@.ssl_lifecycle_event e WHERE e.certificate_id = o.certificate_id)
         ORDER BY o.id;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_assignment_history() IS
    'Trigger function: logs assignment_added and assignment_removed, set-based, for certificates that have a history (so a pg_dump restore does not log restored rows twice). Moves by ssl_renew and ssl_revert_renewal are updates and log only their renewal events.';
