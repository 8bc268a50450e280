-- Roles and the caller's identity.
-- Three NOLOGIN group roles (reader < operator < admin) receive every grant
-- of the extension; each object's GRANT/REVOKE sits next to the object in its
-- concept file. Roles are cluster-wide, so they are created only when missing
-- and outlive DROP EXTENSION. ssl_caller() lives here because the tables'
-- actor/recorded_by/added_by/requested_by defaults call it.

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

CREATE FUNCTION @extschema@.ssl_caller() RETURNS text
    LANGUAGE c STABLE COST 10 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_caller';

COMMENT ON FUNCTION @extschema@.ssl_caller() IS 'The role that called into the extension (current_user outside its SECURITY DEFINER functions; follows SET ROLE).';
