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
