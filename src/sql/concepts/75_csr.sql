-- Certificate signing requests: parse, store, and link to the issued certificate.

CREATE TYPE @extschema@.ssl_csr_info AS (
	subject text,
	common_name text,
	sans text[],
	algorithm text,
	key_size integer,
	spki_sha256 text,
	signature_algorithm text,
	signature_valid boolean,
	fingerprint_sha256 text,
	pem_content text
);

COMMENT ON TYPE @extschema@.ssl_csr_info IS 'The fields ssl_parse_csr reads from a certificate signing request.';

-- Internal and public entry points to the same C parser, as for
-- ssl_parse.
CREATE FUNCTION netbox_ssl_internal.ssl_parse_csr(der bytea) RETURNS @extschema@.ssl_csr_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_csr_bytea';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse_csr(der bytea) IS 'Internal entry point of ssl_parse_csr (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_parse_csr(der bytea) RETURNS @extschema@.ssl_csr_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_csr_bytea';

COMMENT ON FUNCTION @extschema@.ssl_parse_csr(der bytea) IS 'Parses one DER (or PEM) certificate request without storing it; bad input is 22P03.';

CREATE FUNCTION netbox_ssl_internal.ssl_parse_csr(pem text) RETURNS @extschema@.ssl_csr_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_csr_text';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_parse_csr(pem text) IS 'Internal entry point of ssl_parse_csr (the same C function) for the extension''s own calls.';

CREATE FUNCTION @extschema@.ssl_parse_csr(pem text) RETURNS @extschema@.ssl_csr_info
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_parse_csr_text';

COMMENT ON FUNCTION @extschema@.ssl_parse_csr(pem text) IS 'Parses one PEM certificate request (CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST) without storing it; private keys are refused (22023), bad input is 22P02.';

-- Stores the parsed request; the certificate issued for it is linked later
-- by the ssl_csr_link_certificate trigger, on whichever path imports it.
CREATE FUNCTION @extschema@.ssl_import_csr(pem text, tenant text DEFAULT NULL::text, requested_by text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    parsed @extschema@.ssl_csr_info := netbox_ssl_internal.ssl_parse_csr(pem);
    new_id bigint;
    existing_id bigint;
BEGIN
    IF pem IS NULL THEN
        RAISE EXCEPTION 'the certificate request argument must not be NULL' USING ERRCODE = '22004';
    END IF;
    INSERT INTO @extschema@.ssl_csr(fingerprint_sha256, subject, common_name, sans, algorithm, key_size, spki_sha256,
                                     signature_algorithm, signature_valid, pem, tenant, requested_by)
    VALUES (parsed.fingerprint_sha256, parsed.subject, parsed.common_name, parsed.sans, parsed.algorithm,
            parsed.key_size, parsed.spki_sha256, parsed.signature_algorithm, parsed.signature_valid,
            parsed.pem_content, ssl_import_csr.tenant,
            coalesce(ssl_import_csr.requested_by, nullif(current_setting('netbox_ssl.actor', true), ''),
                     netbox_ssl_internal.ssl_caller()))
    ON CONFLICT (fingerprint_sha256) DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN
        SELECT r.id INTO existing_id FROM @extschema@.ssl_csr r WHERE r.fingerprint_sha256 = parsed.fingerprint_sha256;
        RAISE EXCEPTION 'certificate request with fingerprint % is already stored as id %', parsed.fingerprint_sha256,
                        coalesce(existing_id::text, '(concurrent)')
            USING ERRCODE = '23505', HINT = 'Use the existing row; importing the same request twice is refused.';
    END IF;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_import_csr(pem text, tenant text, requested_by text) IS 'Stores a certificate request as pending and returns its id; a request stored already is refused with 23505.';

REVOKE ALL ON FUNCTION @extschema@.ssl_import_csr(pem text, tenant text, requested_by text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_import_csr(pem text, tenant text, requested_by text) TO netbox_ssl_operator;
