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

CREATE FUNCTION @extschema@.ssl_netbox_fields(der bytea) RETURNS @extschema@.ssl_netbox_fields
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_bytea';

COMMENT ON FUNCTION @extschema@.ssl_netbox_fields(der bytea) IS 'The certificate''s columns in the NetBox SSL plugin''s formats, for one DER certificate (PEM bytes accepted); same input rules and errors as ssl_parse (private keys 22023, bad input 22P02, too large 54000). No side effects.';

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_fields(der bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_fields(der bytea) TO netbox_ssl_reader;

CREATE FUNCTION @extschema@.ssl_netbox_fields(pem text) RETURNS @extschema@.ssl_netbox_fields
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_netbox_fields_text';

COMMENT ON FUNCTION @extschema@.ssl_netbox_fields(pem text) IS 'The certificate''s columns in the NetBox SSL plugin''s formats, for the leaf ssl_parse picks from the PEM text; same input rules and errors as ssl_parse (private keys 22023, bad input 22P02, too large 54000). No side effects.';

REVOKE ALL ON FUNCTION @extschema@.ssl_netbox_fields(pem text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_netbox_fields(pem text) TO netbox_ssl_reader;
