-- Chain validation against stored trust anchors (C++ core does the crypto).

-- ----------------------------------------------------------------------
-- Internal C helpers (not callable by PUBLIC)
-- ----------------------------------------------------------------------
-- OpenSSL's own path builder plus the web-PKI rules it lacks
-- (docs/chain-validation.md).
CREATE FUNCTION netbox_ssl_internal.ssl_chain_split_pem(pem text) RETURNS bytea[]
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_chain_split_pem';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_chain_split_pem(pem text) IS 'Internal: every CERTIFICATE block of a PEM text as DER, in order; refuses private keys (22023) and undecodable certificates (22P02).';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_chain_split_pem(pem text) FROM PUBLIC;

-- 1.6: one signature (the 1.4 and 1.5 ones are gone; the C function still
-- accepts their argument counts for a schema not yet updated). The defaults
-- keep a call with the first six or seven arguments working. STABLE, no
-- longer IMMUTABLE: with revocation it reads the stored CRLs and OCSP answers.
CREATE FUNCTION netbox_ssl_internal.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, candidates text DEFAULT ''::text, max_depth integer DEFAULT NULL::integer, revocation text DEFAULT 'if_available'::text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) RETURNS record
    LANGUAGE c STABLE COST 20000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_chain_verify';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, candidates text, max_depth integer, revocation text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) IS 'Internal: validates the PEM leaf with its PEM issuer_chain (an unusable one gives status invalid), the PEM candidates, the PEM pool of intermediates and the DER anchors at a time, for an optional host name or IP, with at most max_depth intermediates (NULL: 32; negative: 22023) and revocation ''none'', ''if_available'' or ''required'' (else 22023) against the stored CRLs and OCSP answers. The store is cached per backend while pool and anchors are unchanged.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, candidates text, max_depth integer, revocation text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) FROM PUBLIC;

-- Brackets one ssl_validate_all run: inside it the issuer candidates that
-- many leaves share are decoded once (never a verdict is kept).
CREATE FUNCTION netbox_ssl_internal.ssl_chain_run(started boolean) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'ssl_chain_run';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_chain_run(started boolean) IS 'Internal: true starts a validation run of ssl_validate_all (issuer candidates decoded once per distinct text, for this backend), false ends it; a run also ends with its transaction.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_chain_run(started boolean) FROM PUBLIC;

-- Issuer candidates through the indexes of 10_tables.sql (subject name, key
-- id), up to 8 levels up and at most 64 certificates, instead of handing
-- every stored CA certificate to OpenSSL for every validation.
CREATE FUNCTION netbox_ssl_internal.ssl_chain_candidates(issuer text, authority_key_id text, issuer_chain text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    -- Names (lower case) and key identifiers to look for, level by level.
    names text[] := ARRAY[lower(ssl_chain_candidates.issuer)];
    keys text[] := ARRAY[ssl_chain_candidates.authority_key_id];
    found bigint[] := '{}';
    level_ids bigint[];
BEGIN
    IF ssl_chain_candidates.issuer_chain <> ''
       AND netbox_ssl_internal.ssl_issuer_chain_check(ssl_chain_candidates.issuer_chain, false) IS NULL THEN
        SELECT names || array_agg(lower(p.issuer)), keys || array_agg(p.authority_key_id)
          INTO names, keys
          FROM unnest(netbox_ssl_internal.ssl_chain_split_pem(ssl_chain_candidates.issuer_chain)) AS d(der),
               LATERAL netbox_ssl_internal.ssl_parse(d.der) AS p;
    END IF;
    FOR level IN 1..8 LOOP
        -- One indexed lookup per level (hash index on lower(subject), btree
        -- on subject_key_id, both for CA certificates only).
        SELECT array_agg(c.id ORDER BY c.id),
               array_agg(lower(c.issuer)) FILTER (WHERE lower(c.issuer) <> lower(c.subject)),
               array_agg(c.authority_key_id) FILTER (WHERE lower(c.issuer) <> lower(c.subject))
          INTO level_ids, names, keys
          FROM (SELECT x.id, x.subject, x.issuer, x.authority_key_id
                  FROM @extschema@.ssl_certificate AS x
                 WHERE x.is_ca AND (lower(x.subject) = ANY (names) OR x.subject_key_id = ANY (keys))
                   AND x.status <> 'revoked' AND x.id <> ALL (found)
                 LIMIT 64) AS c;  -- no ORDER BY: it would invite a scan in id order
        EXIT WHEN level_ids IS NULL;
        found := found || level_ids;
        EXIT WHEN cardinality(found) >= 64 OR names IS NULL;
    END LOOP;
    IF cardinality(found) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT string_agg(c.pem_content, E'\n' ORDER BY c.id)
              FROM @extschema@.ssl_certificate AS c WHERE c.id = ANY (found[1:64]));
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_chain_candidates(issuer text, authority_key_id text, issuer_chain text) IS 'Internal: the PEM of the stored, not revoked CA certificates that can issue a certificate with this issuer name and authority key identifier (or a certificate of its issuer_chain), found through indexes, then their issuers, up to 8 levels and 64 certificates; NULL when none.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_chain_candidates(issuer text, authority_key_id text, issuer_chain text) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_issuer_chain_check(chain text, raise_error boolean) RETURNS text
    LANGUAGE c IMMUTABLE STRICT COST 1000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_issuer_chain_check';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_issuer_chain_check(chain text, raise_error boolean) IS 'Internal: checks an issuer_chain value ('''' or PEM CERTIFICATE blocks that decode, no private key, at most netbox_ssl.max_input_bytes). With raise_error it raises 54000, 22023 or 22P02; without, it returns the problem as one sentence, NULL when the chain is acceptable.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_issuer_chain_check(chain text, raise_error boolean) FROM PUBLIC;

-- ----------------------------------------------------------------------
-- Trust anchors and validation
-- ----------------------------------------------------------------------
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
    ders := netbox_ssl_internal.ssl_chain_split_pem(pem_bundle);
    IF cardinality(ders) = 0 THEN
        RAISE EXCEPTION 'the PEM bundle holds no certificate' USING ERRCODE = '22P02',
              HINT = 'Pass PEM text with -----BEGIN CERTIFICATE----- blocks, e.g. /etc/ssl/certs/ca-certificates.crt.';
    END IF;
    WITH parsed AS (
        SELECT p.*, d.der, d.ord
          FROM unnest(ders) WITH ORDINALITY AS d(der, ord),
               LATERAL netbox_ssl_internal.ssl_parse(d.der) AS p
    ), ins AS (
        INSERT INTO @extschema@.ssl_trust_anchor(fingerprint_sha256, subject, common_name, is_ca, valid_from, valid_to, der, pem_content, source)
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

-- 1.6: max_depth and revocation (issue "Trust"); the 1.5 three-argument
-- function is replaced (its calls keep working through the defaults).
CREATE FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone DEFAULT now(), hostname text DEFAULT NULL::text, max_depth integer DEFAULT NULL::integer, revocation text DEFAULT 'if_available'::text) RETURNS TABLE(status text, depth integer, message text, chain text[])
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
    -- Arguments first, before any look-up (the C function checks them too).
    IF ssl_validate_chain.max_depth < 0 THEN
        RAISE EXCEPTION 'max_depth must not be negative' USING ERRCODE = '22023',
              HINT = 'Pass the most intermediates a path may hold, or NULL for the default of 32.';
    END IF;
    IF ssl_validate_chain.revocation IS NULL THEN
        RAISE EXCEPTION 'revocation must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF ssl_validate_chain.revocation NOT IN ('none', 'if_available', 'required') THEN
        RAISE EXCEPTION 'revocation must be ''none'', ''if_available'' or ''required''' USING ERRCODE = '22023';
    END IF;
    SELECT c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id INTO cert
      FROM @extschema@.ssl_certificate AS c WHERE c.id = ssl_validate_chain.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_validate_chain.id USING ERRCODE = 'P0002';
    END IF;
    -- The issuer_chain, then the stored CA certificates that can be its
    -- issuers (found by name and key identifier); the trust store holds the
    -- anchors only, so it stays cached while they are unchanged.
    r := netbox_ssl_internal.ssl_chain_verify(
            cert.pem_content, cert.issuer_chain, '{}',
            coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}'),
            ssl_validate_chain.at, ssl_validate_chain.hostname,
            netbox_ssl_internal.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain),
            ssl_validate_chain.max_depth, ssl_validate_chain.revocation);
    -- Only a check of the certificate as it stands (now, no host name, the
    -- default depth and revocation) is stored, and only for callers who may
    -- write (operators and admins); readers get the answer without a write.
    IF ssl_validate_chain.at = now() AND ssl_validate_chain.hostname IS NULL
       AND ssl_validate_chain.max_depth IS NULL AND ssl_validate_chain.revocation = 'if_available'
       AND pg_catalog.pg_has_role(netbox_ssl_internal.ssl_caller(), 'netbox_ssl_operator', 'MEMBER') THEN
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

COMMENT ON FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone, hostname text, max_depth integer, revocation text) IS 'Validates a stored certificate''s chain with OpenSSL''s path builder and the web-PKI rules: intermediates from its issuer_chain and from the stored CA certificates that can issue it (looked up by name and key identifier), anchors from ssl_trust_anchor, at a time, for an optional host name or IP, with at most max_depth intermediates in a path (NULL: 32; negative: 22023), checking revocation against the stored CRLs and OCSP answers as revocation says (''none'', ''if_available'' (default), ''required''; else 22023). An unusable stored issuer_chain is reported as invalid. Stores the result on the certificate when called at now() without a host name, max_depth or revocation argument by an operator or admin.';

REVOKE ALL ON FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone, hostname text, max_depth integer, revocation text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamp with time zone, hostname text, max_depth integer, revocation text) TO netbox_ssl_reader;

-- 1.6: by batches of 2,000 certificates (issue "Speed", item 4). Per batch,
-- the issuer candidates are looked up once per distinct (issuer, key id,
-- issuer_chain), the C function decodes each distinct candidate set once
-- per run (ssl_chain_run), and the verdicts are stored by one UPDATE.
CREATE FUNCTION @extschema@.ssl_validate_all() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER COST 1e+06
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    anchors bytea[];
    ids bigint[];
    batch_size constant integer := 2000;
    n integer := 0;
    done integer;
    t timestamptz := now();
BEGIN
    -- Read once: the C function keeps one X509_STORE of the anchors for
    -- every call. Intermediates are looked up by name, so the cost does not
    -- grow with unrelated CA certificates.
    anchors := coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}');
    -- The certificates to validate, fixed at the start (as a cursor would).
    ids := coalesce((SELECT array_agg(c.id ORDER BY c.id) FROM @extschema@.ssl_certificate AS c
                      WHERE c.status = 'active'), '{}');
    PERFORM netbox_ssl_internal.ssl_chain_run(true);
    FOR lo IN 1 .. cardinality(ids) BY batch_size LOOP
        WITH b AS MATERIALIZED (
            SELECT c.id, c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id
              FROM @extschema@.ssl_certificate AS c
             WHERE c.id = ANY (ids[lo : lo + batch_size - 1])
        ), g AS MATERIALIZED (
            -- One candidate look-up per distinct issuer of the batch.
            SELECT d.issuer, d.no_key, d.key, d.issuer_chain,
                   netbox_ssl_internal.ssl_chain_candidates(d.issuer, d.authority_key_id, d.issuer_chain) AS candidates
              FROM (SELECT DISTINCT b.issuer, b.authority_key_id IS NULL AS no_key, coalesce(b.authority_key_id, '') AS key,
                           b.authority_key_id, b.issuer_chain
                      FROM b) AS d
        ), v AS MATERIALIZED (
            -- A bad stored issuer_chain is a verdict (invalid), never an error.
            SELECT b.id, r.status, r.depth, r.message
              FROM b JOIN g ON (g.issuer, g.no_key, g.key, g.issuer_chain)
                             = (b.issuer, b.authority_key_id IS NULL, coalesce(b.authority_key_id, ''), b.issuer_chain),
                   LATERAL netbox_ssl_internal.ssl_chain_verify(b.pem_content, b.issuer_chain, '{}', anchors, t, NULL,
                                                                g.candidates, NULL, 'if_available') AS r
        ), u AS (
            UPDATE @extschema@.ssl_certificate AS c
               SET chain_status = v.status, chain_validated_at = t, chain_message = v.message, chain_depth = v.depth
              FROM v WHERE c.id = v.id
        )
        SELECT count(*) INTO done FROM v;
        -- The progress NOTICE of 1.5: every 10,000 certificates.
        FOR k IN n / 10000 + 1 .. (n + done) / 10000 LOOP
            RAISE NOTICE 'ssl_validate_all: % certificates validated', k * 10000;
        END LOOP;
        n := n + done;
    END LOOP;
    PERFORM netbox_ssl_internal.ssl_chain_run(false);
    RETURN n;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_validate_all() IS 'Validates (revocation: if_available) and stores the chain of every active certificate at now(); returns the number validated, with a NOTICE every 10,000. Works by batches of 2,000: the trust store is built once per call, issuer candidates are looked up once per distinct issuer of a batch and decoded once per run, and each batch is stored by one UPDATE. A certificate with an unusable issuer_chain is stored as invalid and the run goes on.';

REVOKE ALL ON FUNCTION @extschema@.ssl_validate_all() FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_validate_all() TO netbox_ssl_operator;
