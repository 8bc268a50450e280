-- Parsing and importing certificates.
-- ssl_parse returns ssl_certificate_info from PEM or DER (C++ core); the
-- import functions store certificates (one, or a whole bundle) inside the
-- caller's transaction; ssl_find_known looks certificates up by content.

CREATE TYPE @extschema@.ssl_certificate_info AS (
	common_name text,
	subject text,
	issuer text,
	serial_number text,
	fingerprint_sha256 text,
	valid_from timestamp with time zone,
	valid_to timestamp with time zone,
	sans text[],
	algorithm text,
	key_size integer,
	signature_algorithm text,
	is_ca boolean,
	subject_key_id text,
	authority_key_id text,
	spki_sha256 text,
	pem_content text,
	issuer_chain text,
	issuer_cn text,
	issuer_org text,
	tbs_sha256 text,
	crl_urls text[],
	ocsp_urls text[],
	ca_issuers_urls text[]
);

COMMENT ON TYPE @extschema@.ssl_certificate_info IS 'What ssl_parse returns: the parsed columns of ssl_certificate, for any certificate, stored or not.';

-- Each C function has two SQL entry points: the internal one, which the
-- extension's own code calls (no role can shadow it), and the documented
-- public one. COST reflects measured parse times (tens to hundreds of
-- microseconds), so the planner does not treat parsing as cheap as an integer
-- comparison and call it early or in a parallel scan of every row.
CREATE FUNCTION netbox_ssl_internal.ssl_parse(der bytea) RETURNS @extschema@.ssl_certificate_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_bytea';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse(der bytea) IS 'Internal entry point of ssl_parse (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_parse(der bytea) RETURNS @extschema@.ssl_certificate_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_bytea';

COMMENT ON FUNCTION @extschema@.ssl_parse(der bytea) IS 'Parses one DER certificate (PEM bytes, e.g. from pg_read_binary_file, are accepted too). No side effects.';

CREATE FUNCTION netbox_ssl_internal.ssl_parse(pem text) RETURNS @extschema@.ssl_certificate_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_text';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse(pem text) IS 'Internal entry point of ssl_parse (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_parse(pem text) RETURNS @extschema@.ssl_certificate_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_text';

COMMENT ON FUNCTION @extschema@.ssl_parse(pem text) IS 'Parses PEM text (one or more blocks, any text around them; the leaf is the certificate that issues none of the others). No side effects.';

-- ----------------------------------------------------------------------
-- Import
-- ----------------------------------------------------------------------
-- SECURITY DEFINER with a fixed search_path: the C code runs SQL whose
-- operators would otherwise be looked up in the caller's search_path.
-- enable_seqscan = off for the call only: the foreign-key checks its inserts
-- fire use plans cached per session; planned while ssl_certificate is small,
-- such a plan stays a sequential scan while a long import grows the table,
-- which made bulk imports quadratic. Every look-up here is by key.
CREATE FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text DEFAULT NULL::text, tenant text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 20000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_bytea';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text, tenant text) IS 'Internal entry point of ssl_import (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_import(der bytea, private_key_location text DEFAULT NULL::text, tenant text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 20000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_bytea';

COMMENT ON FUNCTION @extschema@.ssl_import(der bytea, private_key_location text, tenant text) IS 'ssl_import for a DER certificate.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_import(der bytea, private_key_location text, tenant text) TO netbox_ssl_operator;

REVOKE ALL ON FUNCTION @extschema@.ssl_import(der bytea, private_key_location text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_import(der bytea, private_key_location text, tenant text) TO netbox_ssl_operator;

CREATE FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text DEFAULT NULL::text, tenant text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 20000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_text';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text, tenant text) IS 'Internal entry point of ssl_import (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_import(pem text, private_key_location text DEFAULT NULL::text, tenant text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE c SECURITY DEFINER COST 20000
    SET enable_seqscan TO 'off'
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_text';

COMMENT ON FUNCTION @extschema@.ssl_import(pem text, private_key_location text, tenant text) IS 'Stores a certificate as active (expired if past valid_to, pending if before valid_from), logs an imported event and returns the new id. Never renews anything.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_import(pem text, private_key_location text, tenant text) TO netbox_ssl_operator;

REVOKE ALL ON FUNCTION @extschema@.ssl_import(pem text, private_key_location text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_import(pem text, private_key_location text, tenant text) TO netbox_ssl_operator;

-- Bundles (PEM, concatenated DER, PKCS#7) in one call: the parsing stays in
-- C, and the rows go through the same SQL inserts and triggers as ssl_import.
CREATE FUNCTION @extschema@.ssl_import_bundle(data bytea, on_conflict text DEFAULT 'error'::text, tenant text DEFAULT NULL::text) RETURNS TABLE(ordinality integer, fingerprint_sha256 text, certificate_id bigint, outcome text)
    LANGUAGE c SECURITY DEFINER COST 20000 ROWS 100
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_bundle_bytea';

COMMENT ON FUNCTION @extschema@.ssl_import_bundle(data bytea, on_conflict text, tenant text) IS 'ssl_import_bundle for bytes: a DER PKCS#7/CMS certs-only bundle (.p7b/.p7c), concatenated DER certificates, or PEM text.';

REVOKE ALL ON FUNCTION @extschema@.ssl_import_bundle(data bytea, on_conflict text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_import_bundle(data bytea, on_conflict text, tenant text) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_import_bundle(data text, on_conflict text DEFAULT 'error'::text, tenant text DEFAULT NULL::text) RETURNS TABLE(ordinality integer, fingerprint_sha256 text, certificate_id bigint, outcome text)
    LANGUAGE c SECURITY DEFINER COST 20000 ROWS 100
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_bundle_text';

COMMENT ON FUNCTION @extschema@.ssl_import_bundle(data text, on_conflict text, tenant text) IS 'Imports every certificate of a PEM stream (CERTIFICATE, TRUSTED CERTIFICATE and PKCS7 blocks) as its own row, with an issuer_chain built from the bundle''s CA certificates. on_conflict: error (23505 naming the item), skip (outcome exists) or update_chain (fills a missing issuer_chain: chain_updated). All or nothing.';

REVOKE ALL ON FUNCTION @extschema@.ssl_import_bundle(data text, on_conflict text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_import_bundle(data text, on_conflict text, tenant text) TO netbox_ssl_operator;

-- Many certificates, one per array element (1.6): the bundle's results and
-- semantics for rows a caller already holds apart, e.g. a staging table:
-- SELECT * FROM ssl_import_many(ARRAY(SELECT der FROM staging)). Stored by
-- the batch (one statement per 1,000), unlike one ssl_import per row. Both
-- forms: staging tables hold DER (bytea) or PEM (text, a chain after the
-- leaf becomes its issuer_chain, as ssl_import takes it).
CREATE FUNCTION @extschema@.ssl_import_many(der bytea[], on_conflict text DEFAULT 'error'::text, tenant text DEFAULT NULL::text) RETURNS TABLE(ordinality integer, fingerprint_sha256 text, certificate_id bigint, outcome text)
    LANGUAGE c SECURITY DEFINER COST 20000 ROWS 100
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_many_bytea';

COMMENT ON FUNCTION @extschema@.ssl_import_many(der bytea[], on_conflict text, tenant text) IS 'ssl_import_many for DER certificates.';

REVOKE ALL ON FUNCTION @extschema@.ssl_import_many(der bytea[], on_conflict text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_import_many(der bytea[], on_conflict text, tenant text) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_import_many(pem text[], on_conflict text DEFAULT 'error'::text, tenant text DEFAULT NULL::text) RETURNS TABLE(ordinality integer, fingerprint_sha256 text, certificate_id bigint, outcome text)
    LANGUAGE c SECURITY DEFINER COST 20000 ROWS 100
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS 'MODULE_PATHNAME', 'ssl_import_many_text';

COMMENT ON FUNCTION @extschema@.ssl_import_many(pem text[], on_conflict text, tenant text) IS 'Imports one certificate per array element (as ssl_import would, in order), stored by the batch; returns one row per element like ssl_import_bundle. on_conflict: error (23505 naming the item) or skip (outcome exists); a repeated element is reported as exists. All or nothing: a bad or NULL element fails the call, naming its item.';

REVOKE ALL ON FUNCTION @extschema@.ssl_import_many(pem text[], on_conflict text, tenant text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_import_many(pem text[], on_conflict text, tenant text) TO netbox_ssl_operator;

-- ----------------------------------------------------------------------
-- Ownership look-up
-- ----------------------------------------------------------------------
-- Both overloads parse first (so bad input or a private key fails before any
-- look-up) and share ssl_find_known_parsed.
CREATE FUNCTION @extschema@.ssl_find_known(der bytea) RETURNS TABLE(certificate_id bigint, match text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT * FROM netbox_ssl_internal.ssl_find_known_parsed(netbox_ssl_internal.ssl_parse(ssl_find_known.der))
$$;

COMMENT ON FUNCTION @extschema@.ssl_find_known(der bytea) IS 'Stored certificates related to a certificate (e.g. from a CT log), each once with its strongest match: fingerprint (the same certificate), tbs (its precertificate or final twin), spki (another certificate with the same public key).';

REVOKE ALL ON FUNCTION @extschema@.ssl_find_known(der bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_find_known(der bytea) TO netbox_ssl_reader;

CREATE FUNCTION @extschema@.ssl_find_known(pem text) RETURNS TABLE(certificate_id bigint, match text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT * FROM netbox_ssl_internal.ssl_find_known_parsed(netbox_ssl_internal.ssl_parse(ssl_find_known.pem))
$$;

COMMENT ON FUNCTION @extschema@.ssl_find_known(pem text) IS 'ssl_find_known for PEM text; for a bundle, its leaf is looked up.';

REVOKE ALL ON FUNCTION @extschema@.ssl_find_known(pem text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_find_known(pem text) TO netbox_ssl_reader;

CREATE FUNCTION netbox_ssl_internal.ssl_find_known_parsed(cert @extschema@.ssl_certificate_info) RETURNS TABLE(certificate_id bigint, match text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    WITH hits AS (
        SELECT c.id, 1 AS strength FROM @extschema@.ssl_certificate AS c
         WHERE c.fingerprint_sha256 = (ssl_find_known_parsed.cert).fingerprint_sha256
        UNION ALL
        SELECT c.id, 2 FROM @extschema@.ssl_certificate AS c
         WHERE c.tbs_sha256 = (ssl_find_known_parsed.cert).tbs_sha256
        UNION ALL
        SELECT c.id, 3 FROM @extschema@.ssl_certificate AS c
         WHERE c.spki_sha256 = (ssl_find_known_parsed.cert).spki_sha256
    ),
    best AS (SELECT h.id, min(h.strength) AS strength FROM hits AS h GROUP BY h.id)
    SELECT b.id, (ARRAY['fingerprint', 'tbs', 'spki'])[b.strength] FROM best AS b ORDER BY b.strength, b.id
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_find_known_parsed(cert @extschema@.ssl_certificate_info) IS 'Internal to ssl_find_known: the lookup for a parsed certificate.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_find_known_parsed(cert @extschema@.ssl_certificate_info) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_find_known_parsed(cert @extschema@.ssl_certificate_info) TO netbox_ssl_reader;
