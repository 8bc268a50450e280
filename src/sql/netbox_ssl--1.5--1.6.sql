\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.6'" to load this file. \quit

-- netbox_ssl 1.5 -> 1.6: speed (issue "Speed") and trust (issue "Trust").
-- Each part below belongs to one topic; the concept files in
-- src/sql/concepts/ hold the current definition of every object.

-- ===========================================================================
-- Part 0: columns shared by several parts
-- ===========================================================================

-- Where a poller fetches revocation data from (CRL Distribution Points and
-- Authority Information Access), parsed on import. Rows stored before 1.6 are
-- filled from their stored PEM in part S.
ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN crl_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ADD COLUMN ocsp_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ADD COLUMN ca_issuers_urls text[] DEFAULT '{}'::text[] NOT NULL;
COMMENT ON COLUMN @extschema@.ssl_certificate.crl_urls IS 'The URIs of the CRL Distribution Points extension (fullName URIs), in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_urls IS 'The OCSP responder URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ca_issuers_urls IS 'The caIssuers URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';

-- (end of part 0)

-- ===========================================================================
-- Part S: one write path for import and renew, bulk import by the batch
-- ===========================================================================

-- (end of part S)

-- ===========================================================================
-- Part V: chain validation sharing work, compliance in one pass
-- ===========================================================================

-- (1) Status 'revoked' of a chain validation (a revoked certificate in the
-- path, issue "Trust").
ALTER TABLE @extschema@.ssl_certificate DROP CONSTRAINT ssl_certificate_chain_status_check;
ALTER TABLE @extschema@.ssl_certificate ADD CONSTRAINT ssl_certificate_chain_status_check CHECK ((chain_status = ANY (ARRAY['valid'::text, 'invalid'::text, 'self_signed'::text, 'no_chain'::text, 'untrusted_root'::text, 'expired'::text, 'not_yet_valid'::text, 'hostname_mismatch'::text, 'unknown'::text, 'revoked'::text])));
COMMENT ON CONSTRAINT ssl_certificate_chain_status_check ON @extschema@.ssl_certificate IS 'The documented chain statuses.';

-- (2) The internal verifier: one signature with max_depth and revocation
-- (the 1.4 six-argument and 1.5 seven-argument ones are dropped; the C
-- function still accepts their argument counts). The public functions that
-- call it are dropped first and recreated below.
DROP FUNCTION @extschema@.ssl_validate_chain(bigint, timestamp with time zone, text);
DROP FUNCTION netbox_ssl_internal.ssl_chain_verify(text, text, text[], bytea[], timestamp with time zone, text);
DROP FUNCTION netbox_ssl_internal.ssl_chain_verify(text, text, text[], bytea[], timestamp with time zone, text, text);
CREATE FUNCTION netbox_ssl_internal.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, candidates text DEFAULT ''::text, max_depth integer DEFAULT NULL::integer, revocation text DEFAULT 'if_available'::text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) RETURNS record
    LANGUAGE c STABLE COST 20000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_chain_verify';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, candidates text, max_depth integer, revocation text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) IS 'Internal: validates the PEM leaf with its PEM issuer_chain (an unusable one gives status invalid), the PEM candidates, the PEM pool of intermediates and the DER anchors at a time, for an optional host name or IP, with at most max_depth intermediates (NULL: 32; negative: 22023) and revocation ''none'', ''if_available'' or ''required'' (else 22023) against the stored CRLs and OCSP answers. The store is cached per backend while pool and anchors are unchanged.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[], at timestamp with time zone, hostname text, candidates text, max_depth integer, revocation text, OUT status text, OUT depth integer, OUT message text, OUT chain text[]) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_chain_run(started boolean) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'ssl_chain_run';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_chain_run(started boolean) IS 'Internal: true starts a validation run of ssl_validate_all (issuer candidates decoded once per distinct text, for this backend), false ends it; a run also ends with its transaction.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_chain_run(started boolean) FROM PUBLIC;

-- (3) ssl_validate_chain with max_depth and revocation (same privileges).
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

-- (4) ssl_validate_all by batches (issue "Speed", item 4).
CREATE OR REPLACE FUNCTION @extschema@.ssl_validate_all() RETURNS integer
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

-- (5) ssl_check_compliance in one pass (issue "Speed", item 5): one scan of
-- the certificates, one CASE per policy type over certificates x policies,
-- one full join finds what to write and delete; the issuer_chain check is
-- memoized in C; work_mem raised for this function.
CREATE OR REPLACE FUNCTION @extschema@.ssl_check_compliance(id bigint DEFAULT NULL::bigint) RETURNS TABLE(certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '256MB'
    AS $$
DECLARE
    only_id bigint := ssl_check_compliance.id;
BEGIN
    IF only_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_certificate c WHERE c.id = only_id) THEN
        RAISE EXCEPTION 'certificate % does not exist', only_id USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
    WITH pol AS MATERIALIZED (
        -- Each policy's parameters read once (not once per certificate).
        SELECT p.id, p.name, p.policy_type AS ptype, p.severity, p.tenant, p.parameters AS prm,
               p.parameters -> 'algorithms' AS algs,
               CASE p.policy_type WHEN 'max_validity_days' THEN p.parameters ->> 'max_days'
                                  WHEN 'expiry_warning' THEN p.parameters ->> 'warning_days'
                                  WHEN 'san_required' THEN p.parameters ->> 'min_count' END AS num_text,
               CASE p.policy_type WHEN 'max_validity_days'
                    THEN make_interval(days => (p.parameters ->> 'max_days')::integer) END AS max_life,
               CASE p.policy_type WHEN 'expiry_warning'
                    THEN now() + make_interval(days => (p.parameters ->> 'warning_days')::integer) END AS warn_before,
               CASE p.policy_type WHEN 'san_required' THEN (p.parameters ->> 'min_count')::integer END AS min_count,
               CASE p.policy_type WHEN 'algorithm_allowed'
                    THEN (SELECT string_agg(e, ', ') FROM jsonb_array_elements_text(p.parameters -> 'algorithms') e) END AS allowed
          FROM @extschema@.ssl_compliance_policy p WHERE p.enabled
    ), need AS MATERIALIZED (
        -- Per-certificate values that only some policy types use are computed
        -- only when such a policy is enabled.
        SELECT coalesce(bool_or(ptype = 'wildcard_forbidden'), false) AS wild,
               coalesce(bool_or(ptype = 'chain_required'), false) AS chain,
               coalesce(bool_or(ptype = 'key_reuse_forbidden'), false) AS reuse
          FROM pol
    ), checked AS MATERIALIZED (
        -- The one scan of the certificates: every per-certificate value any
        -- policy needs, computed once.
        SELECT c.id, c.tenant, c.algorithm, c.key_size, c.issuer, c.signature_algorithm, c.valid_to,
               CASE c.algorithm WHEN 'rsa' THEN 'RSA' WHEN 'ecdsa' THEN 'ECDSA' WHEN 'dsa' THEN 'DSA'
                                WHEN 'ed25519' THEN 'Ed25519' WHEN 'ed448' THEN 'Ed448' ELSE 'unknown' END AS alg_name,
               c.valid_to - c.valid_from + interval '1 second' AS lifetime,
               ceil((extract(epoch FROM c.valid_to - c.valid_from) + 1) / 86400) AS lifetime_days,
               cardinality(c.sans) AS san_count,
               CASE WHEN n.wild THEN coalesce(
                   (SELECT substr(s, 5) FROM unnest(c.sans) WITH ORDINALITY AS u(s, k)
                     WHERE s LIKE 'DNS:%*%' ORDER BY k LIMIT 1),
                   CASE WHEN strpos(c.common_name, '*') > 0 THEN c.common_name END) END AS wildcard,
               CASE WHEN n.chain THEN c.issuer_chain <> ''
                    AND netbox_ssl_internal.ssl_issuer_chain_check(c.issuer_chain, false) IS NULL END AS has_chain,
               c.chain_status = 'valid' AS chain_valid,
               c.subject = c.issuer AS self_signed, c.spki_sha256
          FROM @extschema@.ssl_certificate c CROSS JOIN need n
         WHERE CASE WHEN only_id IS NULL THEN c.status = 'active' ELSE c.id = only_id END
    ), hashes AS MATERIALIZED (
        -- A handful of distinct names: the regular expressions run once per name.
        SELECT d.signature_algorithm, netbox_ssl_internal.ssl_signature_hash(d.signature_algorithm) AS hash
          FROM (SELECT DISTINCT c.signature_algorithm FROM checked c) d
    ), issuer_hits AS MATERIALIZED (
        -- Issuer lists matched once per distinct issuer name and policy, as
        -- one object per name: {"policy id": the first matching entry}.
        SELECT d.issuer, jsonb_object_agg(p.id::text,
               (SELECT min(e) FROM jsonb_array_elements_text(p.prm -> 'issuers') e
                 WHERE strpos(lower(d.issuer), lower(e)) > 0)) AS hits
          FROM (SELECT DISTINCT c.issuer FROM checked c) d
          JOIN pol p ON p.ptype IN ('issuer_allowed', 'issuer_forbidden')
         GROUP BY d.issuer
    ), reuse AS MATERIALIZED (
        -- Key reuse for all checked certificates at once (hash joins), only
        -- when such a policy is enabled: the predecessor it replaced
        -- (replaced_by) or that an 'activated' event names, with its key.
        SELECT x.cid, min(x.pred) AS pred FROM (
            SELECT c.id AS cid, o.id AS pred
              FROM checked c JOIN @extschema@.ssl_certificate o
                ON o.replaced_by = c.id AND o.spki_sha256 = c.spki_sha256
            UNION ALL
            SELECT c.id, o.id
              FROM checked c
              JOIN @extschema@.ssl_lifecycle_event e ON e.certificate_id = c.id AND e.event_type = 'activated'
              JOIN @extschema@.ssl_certificate o ON o.id = e.related_certificate_id AND o.spki_sha256 = c.spki_sha256
        ) x WHERE (SELECT n.reuse FROM need n)
         GROUP BY x.cid
    ), res AS MATERIALIZED (
        -- Every (certificate, applicable policy) pair once, one CASE per
        -- policy type giving the verdict and its message.
        SELECT c.id AS cid, p.id AS pid, p.name AS pname, p.ptype, p.severity AS psev,
               CASE p.ptype
                    WHEN 'min_key_size' THEN (p.prm ->> c.algorithm)::integer IS NOT NULL
                                              AND (c.key_size IS NULL OR c.key_size < (p.prm ->> c.algorithm)::integer)
                    WHEN 'max_validity_days' THEN c.lifetime > p.max_life
                    WHEN 'algorithm_allowed' THEN NOT p.algs ? c.algorithm
                    WHEN 'algorithm_forbidden' THEN p.algs ? c.algorithm
                    WHEN 'signature_algorithm_forbidden' THEN coalesce(p.algs ? h.hash, false)
                    WHEN 'expiry_warning' THEN c.valid_to < p.warn_before
                    WHEN 'san_required' THEN c.san_count < p.min_count
                    WHEN 'issuer_allowed' THEN i.hits ->> p.id::text IS NULL
                    WHEN 'issuer_forbidden' THEN i.hits ->> p.id::text IS NOT NULL
                    WHEN 'wildcard_forbidden' THEN c.wildcard IS NOT NULL
                    WHEN 'chain_required' THEN NOT c.has_chain AND c.chain_valid IS NOT TRUE AND NOT c.self_signed
                    WHEN 'key_reuse_forbidden' THEN k.pred IS NOT NULL
               END AS failed,
               CASE p.ptype
                    WHEN 'min_key_size' THEN
                        CASE WHEN p.prm ->> c.algorithm IS NULL THEN format('%s keys are not covered by this policy.', c.alg_name)
                             WHEN c.key_size IS NULL THEN format('%s key size is unknown; the minimum is %s bits.', c.alg_name, (p.prm ->> c.algorithm)::integer)
                             WHEN c.key_size < (p.prm ->> c.algorithm)::integer THEN format('%s key of %s bits is below the minimum of %s.', c.alg_name, c.key_size, (p.prm ->> c.algorithm)::integer)
                             ELSE format('%s key of %s bits meets the minimum of %s.', c.alg_name, c.key_size, (p.prm ->> c.algorithm)::integer) END
                    WHEN 'max_validity_days' THEN
                        format(CASE WHEN c.lifetime > p.max_life THEN 'Validity of %s days exceeds the maximum of %s.'
                                    ELSE 'Validity of %s days is within the maximum of %s.' END, c.lifetime_days, p.num_text)
                    WHEN 'algorithm_allowed' THEN
                        CASE WHEN p.algs ? c.algorithm THEN format('Key algorithm %s is allowed.', c.alg_name)
                             ELSE format('Key algorithm %s is not allowed (allowed: %s).', c.alg_name, p.allowed) END
                    WHEN 'algorithm_forbidden' THEN
                        CASE WHEN p.algs ? c.algorithm THEN format('Key algorithm %s is forbidden.', c.alg_name)
                             ELSE format('Key algorithm %s is not forbidden.', c.alg_name) END
                    WHEN 'signature_algorithm_forbidden' THEN
                        CASE WHEN coalesce(p.algs ? h.hash, false)
                             THEN format('Signature algorithm %s uses the forbidden hash %s.', c.signature_algorithm, upper(h.hash))
                             WHEN h.hash IS NULL THEN format('Signature algorithm %s names no hash, so none of the forbidden ones.', c.signature_algorithm)
                             ELSE format('Signature algorithm %s uses %s, which is not forbidden.', c.signature_algorithm, upper(h.hash)) END
                    WHEN 'expiry_warning' THEN
                        CASE WHEN c.valid_to < now()
                             THEN format('Expired %s days ago.', floor(extract(epoch FROM now() - c.valid_to) / 86400))
                             WHEN c.valid_to < p.warn_before
                             THEN format('Expires in %s days, within the warning window of %s days.',
                                         floor(extract(epoch FROM c.valid_to - now()) / 86400), p.num_text)
                             ELSE format('Expires in %s days, outside the warning window of %s days.',
                                         floor(extract(epoch FROM c.valid_to - now()) / 86400), p.num_text) END
                    WHEN 'san_required' THEN
                        format(CASE WHEN c.san_count < p.min_count THEN 'SAN count %s is below the required %s.'
                                    ELSE 'SAN count %s meets the required %s.' END, c.san_count, p.num_text)
                    WHEN 'issuer_allowed' THEN
                        CASE WHEN i.hits ->> p.id::text IS NULL THEN format('Issuer %s matches none of the allowed issuers.', c.issuer)
                             ELSE format('Issuer %s matches the allowed issuer "%s".', c.issuer, i.hits ->> p.id::text) END
                    WHEN 'issuer_forbidden' THEN
                        CASE WHEN i.hits ->> p.id::text IS NULL THEN format('Issuer %s matches no forbidden issuer.', c.issuer)
                             ELSE format('Issuer %s matches the forbidden issuer "%s".', c.issuer, i.hits ->> p.id::text) END
                    WHEN 'wildcard_forbidden' THEN
                        CASE WHEN c.wildcard IS NULL THEN 'No wildcard names.'
                             ELSE format('Wildcard name %s is forbidden.', c.wildcard) END
                    WHEN 'chain_required' THEN
                        CASE WHEN c.has_chain THEN 'An issuer chain is stored.'
                             WHEN c.chain_valid THEN 'The chain was validated from the trust store and stored CA certificates.'
                             WHEN c.self_signed THEN 'Self-signed, so no issuer chain is needed.'
                             ELSE 'No issuer chain is stored.' END
                    WHEN 'key_reuse_forbidden' THEN
                        CASE WHEN k.pred IS NULL THEN 'Does not reuse the key of a certificate it replaced.'
                             ELSE format('Renewal kept the key of certificate %s, which it replaced.', k.pred) END
               END AS msg
          FROM checked c
          JOIN hashes h ON h.signature_algorithm = c.signature_algorithm
          LEFT JOIN issuer_hits i ON i.issuer = c.issuer
          LEFT JOIN reuse k ON k.cid = c.id
          JOIN pol p ON p.tenant IS NULL OR p.tenant = c.tenant
    ), diff AS MATERIALIZED (
        -- One hash full join of the new results with the stored ones (of the
        -- checked scope) finds what to write and what to delete; unchanged
        -- results (most of them, at every run after the first) drop out here.
        SELECT r.cid, r.pid, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END AS result, r.psev, r.msg,
               o.certificate_id AS old_cid, o.policy_id AS old_pid, r.cid IS NULL AS gone
          FROM res r
          FULL JOIN (SELECT x.certificate_id, x.policy_id, x.result, x.severity, x.message
                       FROM @extschema@.ssl_compliance_result x
                      WHERE only_id IS NULL OR x.certificate_id = only_id) o
            ON o.certificate_id = r.cid AND o.policy_id = r.pid
         WHERE r.cid IS NULL OR o.certificate_id IS NULL
            OR (o.result, o.severity, o.message)
               IS DISTINCT FROM (CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg)
    ), stored AS (
        INSERT INTO @extschema@.ssl_compliance_result AS t (certificate_id, policy_id, result, severity, message, changed_at)
        SELECT d.cid, d.pid, d.result, d.psev, d.msg, now()
          FROM diff d WHERE NOT d.gone
        ON CONFLICT ON CONSTRAINT ssl_compliance_result_pkey DO UPDATE
           SET result = excluded.result, severity = excluded.severity, message = excluded.message,
               changed_at = excluded.changed_at
         WHERE (t.result, t.severity, t.message) IS DISTINCT FROM (excluded.result, excluded.severity, excluded.message)
        RETURNING 1
    ), stale AS (
        -- Results that no longer apply (in the checked scope).
        DELETE FROM @extschema@.ssl_compliance_result t
         USING diff d
         WHERE d.gone AND t.certificate_id = d.old_cid AND t.policy_id = d.old_pid
        RETURNING 1
    )
    SELECT r.cid, r.pname, r.ptype, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg
      FROM res r;
END
$$;


-- (end of part V)

-- ===========================================================================
-- Part T: chain validation rules, path building, public suffixes, max_depth
-- ===========================================================================

-- (end of part T)

-- ===========================================================================
-- Part R: revocation (CRL, OCSP) and where to fetch it from
-- ===========================================================================

-- (end of part R)
