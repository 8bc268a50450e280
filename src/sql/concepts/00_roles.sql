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

-- Readers need USAGE on the schema to reach any object; operator and admin
-- inherit it through role membership, so one grant covers all three.
GRANT USAGE ON SCHEMA @extschema@ TO netbox_ssl_reader;

-- ----------------------------------------------------------------------
-- Internal schema
-- ----------------------------------------------------------------------
-- Helpers and trigger functions live in a schema where only the extension's
-- owner can create objects. A role with CREATE on the extension's schema could
-- otherwise add an overload that makes the extension's own qualified calls
-- ambiguous ("function is not unique") for everyone, or a closer match that
-- they would silently resolve to. Calls between the extension's functions
-- therefore name netbox_ssl_internal.
CREATE SCHEMA netbox_ssl_internal;

COMMENT ON SCHEMA netbox_ssl_internal IS 'Internal helpers and trigger functions of netbox_ssl. Only the extension''s owner can create objects here, so no other role can shadow or make ambiguous the extension''s own calls; not an API.';

-- USAGE only lets a role name the objects; every function here still has
-- its own EXECUTE privilege, revoked from PUBLIC where it matters.
GRANT USAGE ON SCHEMA netbox_ssl_internal TO PUBLIC;

-- ----------------------------------------------------------------------
-- Who is acting
-- ----------------------------------------------------------------------
-- Two SQL entry points to the same C function: the extension calls the
-- internal one, so no overload in the public schema can intercept the actor
-- recorded in the history; the public one is the documented API.
CREATE FUNCTION netbox_ssl_internal.ssl_caller() RETURNS text
    LANGUAGE c STABLE COST 10 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_caller';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_caller() IS 'Internal entry point of ssl_caller (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_caller() RETURNS text
    LANGUAGE c STABLE COST 10 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_caller';

COMMENT ON FUNCTION @extschema@.ssl_caller() IS 'The role that called into the extension (current_user outside its SECURITY DEFINER functions; follows SET ROLE).';


-- Session settings for the statements that follow, as pg_dump writes them:
-- tables go to the database's default tablespace and use the heap access
-- method, whatever the installing session has configured.
SET default_tablespace = '';

SET default_table_access_method = heap;

-- ----------------------------------------------------------------------
-- Internal switches
-- ----------------------------------------------------------------------
-- Backend-local C state instead of settings: any session can SET a custom
-- setting, so a setting that unlocks purging or authority matching could be
-- turned on by anyone. Only the extension's own SECURITY DEFINER functions
-- can call the setter, and the switch dies with the (sub)transaction.
CREATE FUNCTION netbox_ssl_internal.ssl_internal_set(switch text, value bigint) RETURNS void
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'ssl_internal_set';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_internal_set(switch text, value bigint) IS 'Internal, no EXECUTE for PUBLIC: sets (value) or clears (NULL) a backend-local switch of the extension''s own functions (purging: ssl_purge_certificate; matching: ssl_match_authorities; moving: the assignment move of ssl_renew and ssl_revert_renewal). Cleared at transaction end and when the subtransaction that set it aborts. Replaces the settings netbox_ssl.purging_certificate and netbox_ssl_authorities.matching of 1.4, which any session could set.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_internal_set(switch text, value bigint) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_internal_get(switch text) RETURNS bigint
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'ssl_internal_get';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_internal_get(switch text) IS 'Internal: the value of a backend-local switch set by ssl_internal_set, NULL when not set. Reading it is harmless.';
