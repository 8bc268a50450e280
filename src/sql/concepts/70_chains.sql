-- Chain validation against stored trust anchors (C++ core does the crypto).

CREATE FUNCTION @extschema@.ssl_chain_split_pem(pem text) RETURNS bytea[]
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_chain_split_pem';

COMMENT ON FUNCTION @extschema@.ssl_chain_split_pem(pem text) IS 'Internal: every CERTIFICATE block of a PEM text as DER, in order; refuses private keys (22023) and undecodable certificates (22P02).';

REVOKE ALL ON FUNCTION @extschema@.ssl_chain_split_pem(pem text) FROM PUBLIC;

CREATE FUNCTION @extschema@.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) RETURNS record
    LANGUAGE c IMMUTABLE COST 20000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_chain_verify';

COMMENT ON FUNCTION @extschema@.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) IS 'Internal: validates the PEM leaf with its PEM chain, the PEM pool of intermediates and the DER anchors at a time, for an optional host name or IP. The store is cached per backend while pool and anchors are unchanged.';

REVOKE ALL ON FUNCTION @extschema@.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.ssl_trust_anchor_load(pem_bundle text, source text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER COST 50000
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    added integer;
    ders bytea[];
BEGIN
    IF pem_bundle IS NULL THEN
        RAISE EXCEPTION 'the PEM bundle must not be NULL' USING ERRCODE = '22004';
    END IF;
    ders := @extschema@.ssl_chain_split_pem(pem_bundle);
    IF cardinality(ders) = 0 THEN
        RAISE EXCEPTION 'the PEM bundle holds no certificate' USING ERRCODE = '22P02',
              HINT = 'Pass PEM text with -----BEGIN CERTIFICATE----- blocks, e.g. /etc/ssl/certs/ca-certificates.crt.';
    END IF;
    WITH parsed AS (
        SELECT p.*, d.der, d.ord
          FROM unnest(ders) WITH ORDINALITY AS d(der, ord),
               LATERAL @extschema@.ssl_parse(d.der) AS p
    ), ins AS (
        INSERT INTO @extschema@.ssl_trust_anchor
               (fingerprint_sha256, subject, common_name, is_ca, valid_from, valid_to, der, pem_content, source)
        SELECT DISTINCT ON (fingerprint_sha256)
               fingerprint_sha256, subject, common_name, is_ca, valid_from, valid_to, der, pem_content,
               ssl_trust_anchor_load.source
          FROM parsed
         ORDER BY fingerprint_sha256, ord
        ON CONFLICT (fingerprint_sha256) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO added FROM ins;
    RETURN added;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_trust_anchor_load(pem_bundle text, source text) IS 'Adds every certificate of a PEM bundle to ssl_trust_anchor and returns how many were added; certificates already present (or repeated in the bundle) are skipped. Refuses private keys (22023) and malformed input (22P02). Admin only.';

REVOKE ALL ON FUNCTION @extschema@.ssl_trust_anchor_load(pem_bundle text, source text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_trust_anchor_load(pem_bundle text, source text) TO netbox_ssl_admin;

CREATE FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone DEFAULT now(), hostname text DEFAULT NULL::text) RETURNS TABLE(status text, depth integer, message text, chain text[])
    LANGUAGE plpgsql SECURITY DEFINER COST 50000 ROWS 1
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    cert record;
    r record;
BEGIN
    IF ssl_validate_chain.id IS NULL THEN
        RAISE EXCEPTION 'id must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF ssl_validate_chain.at IS NULL OR NOT isfinite(ssl_validate_chain.at) THEN
        RAISE EXCEPTION 'the validation time must be a finite timestamp' USING ERRCODE = '22023';
    END IF;
    SELECT c.pem_content, c.issuer_chain INTO cert
      FROM @extschema@.ssl_certificate AS c WHERE c.id = ssl_validate_chain.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_validate_chain.id USING ERRCODE = 'P0002';
    END IF;
    r := @extschema@.ssl_chain_verify(
            cert.pem_content, cert.issuer_chain,
            coalesce((SELECT array_agg(p.pem_content ORDER BY p.id) FROM @extschema@.ssl_certificate AS p WHERE p.is_ca AND p.status <> 'revoked'), '{}'),
            coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}'),
            ssl_validate_chain.at, ssl_validate_chain.hostname);
    -- Only a check of the certificate as it stands (now, no host name) is
    -- stored, and only for callers who may write (operators and admins);
    -- readers get the answer without a write.
    IF ssl_validate_chain.at = now() AND ssl_validate_chain.hostname IS NULL
       AND pg_catalog.pg_has_role(@extschema@.ssl_caller(), 'netbox_ssl_operator', 'MEMBER') THEN
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = ssl_validate_chain.at,
               chain_message = r.message, chain_depth = r.depth
         WHERE c.id = ssl_validate_chain.id;
    END IF;
    status := r.status;
    depth := r.depth;
    message := r.message;
    chain := r.chain;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone, hostname text) IS 'Validates a stored certificate''s chain with OpenSSL''s path builder and the web-PKI rules: intermediates from its issuer_chain and from stored CA certificates, anchors from ssl_trust_anchor, at a time, for an optional host name or IP. Stores the result on the certificate when called at now() without a host name by an operator or admin.';

REVOKE ALL ON FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone, hostname text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone, hostname text) TO netbox_ssl_reader;

CREATE FUNCTION @extschema@.ssl_validate_all() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER COST 1e+06
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    pool text[];
    anchors bytea[];
    cert record;
    r record;
    n integer := 0;
    t timestamptz := now();
BEGIN
    -- Read once: the C function then keeps one X509_STORE for every call
    -- (its cache key is these two arrays).
    pool := coalesce((SELECT array_agg(p.pem_content ORDER BY p.id) FROM @extschema@.ssl_certificate AS p WHERE p.is_ca AND p.status <> 'revoked'), '{}');
    anchors := coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}');
    FOR cert IN SELECT c.id, c.pem_content, c.issuer_chain FROM @extschema@.ssl_certificate AS c
                 WHERE c.status = 'active' ORDER BY c.id LOOP
        r := @extschema@.ssl_chain_verify(cert.pem_content, cert.issuer_chain, pool, anchors, t, NULL);
        UPDATE @extschema@.ssl_certificate AS c
           SET chain_status = r.status, chain_validated_at = t, chain_message = r.message, chain_depth = r.depth
         WHERE c.id = cert.id;
        n := n + 1;
        IF n % 10000 = 0 THEN
            RAISE NOTICE 'ssl_validate_all: % certificates validated', n;
        END IF;
    END LOOP;
    RETURN n;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_validate_all() IS 'Validates and stores the chain of every active certificate at now(); returns the number validated, with a NOTICE every 10,000. Builds the trust store once per call.';

REVOKE ALL ON FUNCTION @extschema@.ssl_validate_all() FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_validate_all() TO netbox_ssl_operator;
