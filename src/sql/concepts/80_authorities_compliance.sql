-- Certificate authorities, ACME detection and compliance policies.
-- Built-in authorities and ACME issuer rules are seeded at the end of this
-- file; pg_dump saves only user rows of those tables (see 10_tables.sql).

-- ----------------------------------------------------------------------
-- ACME detection
-- ----------------------------------------------------------------------
-- enable_seqscan = on and jit = off: called under ssl_import's
-- enable_seqscan = off, the small rule table without a useful index would be
-- costed at 1e10 and JIT-compiled on every call (about 200 ms).
CREATE FUNCTION netbox_ssl_internal.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) RETURNS record
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'on'
    SET jit TO 'off'
    AS $_$
    SELECT count(*) > 0, min(r.provider)
      FROM (SELECT a.provider
              FROM @extschema@.ssl_acme_issuer AS a
             WHERE (a.issuer_org IS NULL OR $1 LIKE a.issuer_org)
               AND (a.issuer_cn IS NULL OR $2 LIKE a.issuer_cn)
             ORDER BY a.builtin, (a.issuer_org IS NOT NULL AND a.issuer_cn IS NOT NULL) DESC, a.id
             LIMIT 1) AS r
$_$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) IS 'Implementation of @extschema@.ssl_acme_provider_for for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) RETURNS record
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$ SELECT * FROM netbox_ssl_internal.ssl_acme_provider_for($1, $2) $_$;

COMMENT ON FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) IS 'The ssl_acme_issuer rule for an issuer organization and CN: admin rules first, then rules naming both fields, then the lowest id. provider is NULL when no rule or an exception rule matched.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) TO netbox_ssl_reader;

REVOKE ALL ON FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_acme_provider_for(issuer_org text, issuer_cn text, OUT matched boolean, OUT provider text) TO netbox_ssl_reader;

CREATE FUNCTION @extschema@.ssl_detect_acme() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    changed integer;
BEGIN
    WITH wanted AS (
        SELECT c.id, m.provider
          FROM @extschema@.ssl_certificate AS c
               CROSS JOIN LATERAL netbox_ssl_internal.ssl_acme_provider_for(c.issuer_org, c.issuer_cn) AS m
    )
    UPDATE @extschema@.ssl_certificate AS c
       SET acme_provider = w.provider, is_acme = w.provider IS NOT NULL
      FROM wanted AS w
     WHERE w.id = c.id AND c.acme_provider IS DISTINCT FROM w.provider;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_detect_acme() IS 'Re-applies ssl_acme_issuer to every stored certificate (after the rules changed); returns how many rows changed.';

REVOKE ALL ON FUNCTION @extschema@.ssl_detect_acme() FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_detect_acme() TO netbox_ssl_operator;

-- ----------------------------------------------------------------------
-- Certificate authorities
-- ----------------------------------------------------------------------
-- The matching rule, in one place for the import trigger and the re-match.
-- PL/pgSQL with static queries, so their plans are kept for the session (a
-- SQL function with SET clauses is planned at every call: 0.5 ms per
-- import). enable_seqscan = off as in ssl_import; jit = off because the
-- authorities can only be scanned sequentially, which enable_seqscan = off
-- prices far above jit_above_cost (250 ms per import when compiled).
CREATE FUNCTION netbox_ssl_internal.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint DEFAULT NULL::bigint) RETURNS TABLE(authority_id bigint, source text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    ca_id bigint;
    ca_source text;
    pattern_id bigint;
BEGIN
    IF ssl_find_authority.authority_key_id IS NOT NULL THEN
        SELECT c.issuing_ca_id, c.issuing_ca_source INTO ca_id, ca_source
          FROM @extschema@.ssl_certificate c
         WHERE c.is_ca
           AND c.subject_key_id = ssl_find_authority.authority_key_id
           AND c.issuing_ca_id IS NOT NULL
           AND c.id IS DISTINCT FROM ssl_find_authority.exclude_id
         ORDER BY (c.subject = ssl_find_authority.issuer) DESC, (c.issuing_ca_source <> 'pattern') DESC,
                  c.valid_to DESC, c.id
         LIMIT 1;
        IF ca_source IN ('manual', 'key_id') THEN
            authority_id := ca_id; source := 'key_id';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    SELECT a.id INTO pattern_id
      FROM @extschema@.ssl_certificate_authority a
     WHERE a.issuer_pattern IS NOT NULL AND ssl_find_authority.issuer ~* a.issuer_pattern
     ORDER BY length(a.issuer_pattern) DESC, a.id
     LIMIT 1;
    IF pattern_id IS NOT NULL THEN
        authority_id := pattern_id; source := 'pattern';
        RETURN NEXT;
    ELSIF ca_id IS NOT NULL THEN
        authority_id := ca_id; source := 'key_id';
        RETURN NEXT;
    END IF;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) IS 'Implementation of @extschema@.ssl_find_authority for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint DEFAULT NULL::bigint) RETURNS TABLE(authority_id bigint, source text)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$ SELECT * FROM netbox_ssl_internal.ssl_find_authority($1, $2, $3) $_$;

COMMENT ON FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) IS 'The authority for an issuer DN and authority key id, and how it was found (key_id or pattern); no row when none matches. exclude_id leaves one stored certificate out of the key-id match (the certificate itself). No side effects.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION netbox_ssl_internal.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) TO netbox_ssl_reader;

REVOKE ALL ON FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_find_authority(issuer text, authority_key_id text, exclude_id bigint) TO netbox_ssl_reader;

CREATE FUNCTION @extschema@.ssl_match_authorities() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    changed integer;
    total integer := 0;
BEGIN
    PERFORM netbox_ssl_internal.ssl_internal_set('matching', 1);
    -- One set-based pass per level of a CA hierarchy: a pass can only use the
    -- links of CA certificates as they were before it.
    FOR pass IN 1..16 LOOP
        UPDATE @extschema@.ssl_certificate c
           SET issuing_ca_id = m.authority_id, issuing_ca_source = m.source
          FROM (SELECT x.id, f.authority_id, f.source
                  FROM @extschema@.ssl_certificate x
                  LEFT JOIN LATERAL netbox_ssl_internal.ssl_find_authority(x.issuer, x.authority_key_id, x.id) f ON true
                 WHERE x.issuing_ca_source IS DISTINCT FROM 'manual') m
         WHERE c.id = m.id
           AND (c.issuing_ca_id, c.issuing_ca_source) IS DISTINCT FROM (m.authority_id, m.source);
        GET DIAGNOSTICS changed = ROW_COUNT;
        total := total + changed;
        EXIT WHEN changed = 0;
    END LOOP;
    PERFORM netbox_ssl_internal.ssl_internal_set('matching', NULL);
    RETURN total;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_match_authorities() IS 'Re-runs the authority matching over every stored certificate whose link was not set by hand (after adding or changing authorities, or after upgrading to 1.4); returns the number of row updates.';

REVOKE ALL ON FUNCTION @extschema@.ssl_match_authorities() FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_match_authorities() TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_renewal_instructions(id bigint) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    own text;
    ca_id bigint;
BEGIN
    SELECT c.renewal_instructions, c.issuing_ca_id INTO own, ca_id
      FROM @extschema@.ssl_certificate c WHERE c.id = ssl_renewal_instructions.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_renewal_instructions.id USING ERRCODE = 'P0002';
    END IF;
    IF own IS NOT NULL THEN
        RETURN own;
    END IF;
    RETURN (SELECT a.renewal_instructions FROM @extschema@.ssl_certificate_authority a WHERE a.id = ca_id);
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_renewal_instructions(id bigint) IS 'The certificate''s own renewal_instructions, else those of its issuing authority, else NULL; P0002 when the certificate does not exist.';

REVOKE ALL ON FUNCTION @extschema@.ssl_renewal_instructions(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_renewal_instructions(id bigint) TO netbox_ssl_reader;

-- ----------------------------------------------------------------------
-- Compliance
-- ----------------------------------------------------------------------
CREATE FUNCTION netbox_ssl_internal.ssl_signature_hash(signature_algorithm text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN s OPERATOR(pg_catalog.~) 'sha3-?(224|256|384|512)(?![0-9])'
            THEN 'sha3-' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'sha3-?(224|256|384|512)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'sha512[-/](224|256)(?![0-9])'
            THEN 'sha512-' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'sha512[-/](224|256)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'shake(128|256)(?![0-9])'
            THEN 'shake' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'shake(128|256)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'sha-?(1|224|256|384|512)(?![0-9])'
            THEN 'sha' OPERATOR(pg_catalog.||) pg_catalog.substring(s, 'sha-?(1|224|256|384|512)(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'ripemd-?160(?![0-9])' THEN 'ripemd160'
        WHEN s OPERATOR(pg_catalog.~) 'mdc2(?![0-9])' THEN 'mdc2'
        WHEN s OPERATOR(pg_catalog.~) '(^|[^a-z])md[245](?![0-9])'
            THEN pg_catalog.substring(s, '(?:^|[^a-z])(md[245])(?![0-9])')
        WHEN s OPERATOR(pg_catalog.~) 'sm3(?![0-9])' THEN 'sm3'
        WHEN s OPERATOR(pg_catalog.~) 'sha(?![0-9]|-[0-9]|ke)' THEN 'sha0'
    END
      FROM (SELECT pg_catalog.lower(signature_algorithm) AS s) AS n
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_signature_hash(signature_algorithm text) IS 'Implementation of @extschema@.ssl_signature_hash for the extension''s own calls; internal.';

CREATE FUNCTION @extschema@.ssl_signature_hash(signature_algorithm text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT netbox_ssl_internal.ssl_signature_hash($1) $_$;

COMMENT ON FUNCTION @extschema@.ssl_signature_hash(signature_algorithm text) IS 'The hash inside a signature algorithm name (sha1WithRSAEncryption and ecdsa-with-SHA1 give sha1; RSA-SHA3-256 gives sha3-256), lower-case; NULL when the name carries none (EdDSA, RSASSA-PSS, unknown OIDs).';

-- 1.6: one pass (issue "Speed", item 5). One scan of the checked
-- certificates computes every per-certificate value once (key-reuse
-- predecessors, issuer-list hits and signature hashes set-based, once per
-- distinct value); their product with the enabled policies gives each verdict
-- and message by one CASE on the policy type; one hash full join with the
-- stored results finds what to write and delete. work_mem is raised for this
-- function only: 100,000 certificates x 13 policies are 1.2 million result
-- rows, which spill to disk at the default 4 MB (a limit, not an allocation).
-- jit = off: the plan's cost is far above jit_above_cost, and compiling its
-- ~180 expressions took 1.5 s of a 4.7 s run at the server default jit = on
-- (the run itself is no faster compiled).
CREATE FUNCTION @extschema@.ssl_check_compliance(id bigint DEFAULT NULL::bigint) RETURNS TABLE(certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '256MB'
    SET jit TO 'off'
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
               -- The SAN subquery only where some SAN holds a '*' (one
               -- string search instead of an unnest per certificate).
               CASE WHEN n.wild THEN coalesce(
                   CASE WHEN strpos(array_to_string(c.sans, ' '), '*') > 0 THEN
                   (SELECT substr(s, 5) FROM unnest(c.sans) WITH ORDINALITY AS u(s, k)
                     WHERE s LIKE 'DNS:%*%' ORDER BY k LIMIT 1) END,
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
          -- Lateral (OFFSET 0 keeps it so): certificate-major order, so the
          -- first run inserts the results in key order (not 13 sweeps of
          -- the primary key, one per policy) and later runs read them in it.
          CROSS JOIN LATERAL (SELECT * FROM pol p0 WHERE p0.tenant IS NULL OR p0.tenant = c.tenant OFFSET 0) p
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

COMMENT ON FUNCTION @extschema@.ssl_check_compliance(id bigint) IS 'Checks one certificate (any status; P0002 if it does not exist) or, with no id, every active certificate against every enabled policy that applies to its tenant; stores the latest result per certificate and policy, removes results that no longer apply (with no id: also those of certificates no longer active), and returns the results (unordered). chain_required passes on a stored issuer_chain of decodable certificates, a valid stored chain validation, or a self-signed certificate.';

REVOKE ALL ON FUNCTION @extschema@.ssl_check_compliance(id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_check_compliance(id bigint) TO netbox_ssl_operator;

CREATE VIEW @extschema@.ssl_certificate_compliance AS
 SELECT c.id AS certificate_id,
    c.common_name,
    c.tenant,
    count(*) AS checks,
    count(*) FILTER (WHERE (r.result = 'fail'::text)) AS failed,
    count(*) FILTER (WHERE ((r.result = 'fail'::text) AND (r.severity = 'critical'::text))) AS critical_failures,
        CASE
            WHEN bool_or(((r.result = 'fail'::text) AND (r.severity = 'critical'::text))) THEN 'critical'::text
            WHEN bool_or(((r.result = 'fail'::text) AND (r.severity = 'warning'::text))) THEN 'warning'::text
            WHEN bool_or((r.result = 'fail'::text)) THEN 'info'::text
            ELSE 'compliant'::text
        END AS compliance_status,
    round(((100.0 * (count(*) FILTER (WHERE (r.result = 'pass'::text)))::numeric) / (count(*))::numeric), 1) AS score,
    array_agg(p.name ORDER BY p.name) FILTER (WHERE (r.result = 'fail'::text)) AS failed_policies,
    max(r.changed_at) AS last_changed
   FROM ((@extschema@.ssl_compliance_result r
     JOIN @extschema@.ssl_certificate c ON ((c.id = r.certificate_id)))
     JOIN @extschema@.ssl_compliance_policy p ON ((p.id = r.policy_id)))
  GROUP BY c.id;

COMMENT ON VIEW @extschema@.ssl_certificate_compliance IS 'Per checked certificate: checks, failures, compliance_status (the worst severity failed, or compliant), score and the names of the failed policies.';

GRANT SELECT ON TABLE @extschema@.ssl_certificate_compliance TO netbox_ssl_reader;

CREATE VIEW @extschema@.ssl_compliance_score AS
 SELECT c.tenant,
    count(DISTINCT r.certificate_id) AS certificates,
    count(*) AS checks,
    count(*) FILTER (WHERE (r.result = 'pass'::text)) AS passed,
    count(*) FILTER (WHERE (r.result = 'fail'::text)) AS failed,
    count(*) FILTER (WHERE ((r.result = 'fail'::text) AND (r.severity = 'critical'::text))) AS critical_failures,
    count(*) FILTER (WHERE ((r.result = 'fail'::text) AND (r.severity = 'warning'::text))) AS warning_failures,
    count(*) FILTER (WHERE ((r.result = 'fail'::text) AND (r.severity = 'info'::text))) AS info_failures,
    round(((100.0 * (count(*) FILTER (WHERE (r.result = 'pass'::text)))::numeric) / (count(*))::numeric), 1) AS score,
    max(r.changed_at) AS last_changed
   FROM ((@extschema@.ssl_compliance_result r
     JOIN @extschema@.ssl_certificate c ON ((c.id = r.certificate_id)))
     JOIN @extschema@.ssl_compliance_policy p ON ((p.id = r.policy_id)))
  GROUP BY c.tenant;

COMMENT ON VIEW @extschema@.ssl_compliance_score IS 'Per tenant (NULL: certificates without a tenant), from the stored results: certificates checked, checks, passed, failed, failures by severity, score = percentage of checks passed, and the latest time a result changed.';

GRANT SELECT ON TABLE @extschema@.ssl_compliance_score TO netbox_ssl_reader;

-- ----------------------------------------------------------------------
-- Seeds
-- ----------------------------------------------------------------------
-- Seeds: issuing CAs whose every TLS certificate comes from an ACME service.
-- Names checked against public sources, see docs/intelligence.md.
INSERT INTO @extschema@.ssl_acme_issuer (issuer_org, issuer_cn, provider, builtin, note)
SELECT 'Let''s Encrypt', cn, 'letsencrypt', true, 'Let''s Encrypt issuing intermediate'
  FROM unnest(ARRAY['Let''s Encrypt Authority X1', 'Let''s Encrypt Authority X2', 'Let''s Encrypt Authority X3',
                    'Let''s Encrypt Authority X4', 'R3', 'R4', 'E1', 'E2',
                    'R10', 'R11', 'R12', 'R13', 'R14', 'E5', 'E6', 'E7', 'E8', 'E9',
                    'YR1', 'YR2', 'YR3', 'YE1', 'YE2', 'YE3']) AS cn;
INSERT INTO @extschema@.ssl_acme_issuer (issuer_org, issuer_cn, provider, builtin, note) VALUES
    ('(STAGING) Let''s Encrypt', NULL, 'letsencrypt_staging', true, 'Let''s Encrypt staging intermediates'),
    (NULL, '(STAGING) %', 'letsencrypt_staging', true, 'Let''s Encrypt staging intermediates, by CN prefix'),
    (NULL, 'Fake LE %', 'letsencrypt_staging', true, 'Let''s Encrypt staging before 2020 (Fake LE Intermediate X1)'),
    ('ZeroSSL', 'ZeroSSL RSA Domain Secure Site CA', 'zerossl', true, 'ZeroSSL ACME issuing CA (RSA)'),
    ('ZeroSSL', 'ZeroSSL ECC Domain Secure Site CA', 'zerossl', true, 'ZeroSSL ACME issuing CA (ECDSA)'),
    ('Buypass AS-983163327', 'Buypass Class 2 CA 5', 'buypass', true, 'Buypass Go SSL (ACME) issuing CA');


-- The well-known public authorities. The patterns anchor on the O= attribute
-- of the issuer DN (the CN of issuing CAs changes with every generation, the
-- organisation does not); they were checked against the real issuers of the
-- corpus (see docs/authorities-and-compliance.md).
INSERT INTO @extschema@.ssl_certificate_authority
    (id, name, type, issuer_pattern, website_url, acme_directory_url, renewal_instructions, comments)
OVERRIDING SYSTEM VALUE VALUES
 (1, 'Let''s Encrypt', 'acme', '(^|,)O=(Let''s Encrypt|Internet Security Research Group)(,|$)',
  'https://letsencrypt.org/', 'https://acme-v02.api.letsencrypt.org/directory',
  'Renewed automatically by the ACME client of the host (certbot, lego, acme.sh, Caddy...). Check the client''s timer and logs if a certificate gets close to expiry; import the new certificate with ssl_renew.',
  'Issuing CAs R3, R10, R11, E1, E5, E6...; roots ISRG Root X1 and X2.'),
 (2, 'DigiCert', 'public', '(^|,)O=(DigiCert|GeoTrust|Thawte|RapidSSL|Symantec Corporation|VeriSign)',
  'https://www.digicert.com/', NULL,
  'Reissue or renew the order in DigiCert CertCentral with a new CSR, then import the issued certificate with ssl_renew.',
  'Includes the GeoTrust, Thawte, RapidSSL and former Symantec brands.'),
 (3, 'Sectigo', 'public', '(^|,)O=(Sectigo Limited|COMODO CA Limited|The USERTRUST Network)(,|$)',
  'https://www.sectigo.com/', NULL,
  'Renew the order in the Sectigo Certificate Manager (or with the reseller it was bought from) with a new CSR, then import it with ssl_renew.',
  'Includes the former Comodo CA and the USERTrust roots.'),
 (4, 'GlobalSign', 'public', '(^|,)O=GlobalSign',
  'https://www.globalsign.com/', NULL,
  'Renew the order in GlobalSign''s GCC/Atlas portal with a new CSR, then import it with ssl_renew.', NULL),
 (5, 'Google Trust Services', 'public', '(^|,)O=Google Trust Services',
  'https://pki.goog/', 'https://dv.acme-v02.api.pki.goog/directory',
  'Certificates of Google services renew on their own; for certificates obtained through ACME with External Account Binding, check the ACME client.',
  'Issuing CAs GTS CA 1C3, WR1/WR2, WE1...; roots GTS Root R1-R4.'),
 (6, 'Amazon', 'public', '(^|,)O=Amazon(,|$)',
  'https://www.amazontrust.com/', NULL,
  'AWS Certificate Manager renews DNS-validated certificates that are in use; check ACM''s renewal status and the validation records if it does not.',
  'Issuing CAs Amazon RSA 2048 M01-M04, Amazon ECDSA 256 M01...; roots Amazon Root CA 1-4.'),
 (7, 'ZeroSSL', 'acme', '(^|,)O=ZeroSSL(,|$)',
  'https://zerossl.com/', 'https://acme.zerossl.com/v2/DV90',
  'Renewed automatically by the ACME client of the host (External Account Binding credentials from the ZeroSSL dashboard); import the new certificate with ssl_renew.',
  'Operated by Sectigo: its issuing CAs chain to USERTrust roots.'),
 (8, 'Buypass', 'public', '(^|,)O=Buypass',
  'https://www.buypass.com/', NULL,
  'Renew the order with Buypass with a new CSR, then import it with ssl_renew.', NULL),
 (9, 'Entrust', 'public', '(^|,)O=Entrust',
  'https://www.entrust.com/', NULL,
  'Renew the order in the Entrust Certificate Services portal with a new CSR, then import it with ssl_renew. Check first whether browsers still trust newly issued Entrust certificates.', NULL),
 (10, 'GoDaddy', 'public', '(^|,)O=(GoDaddy\.com|Go Daddy|Starfield Technologies)',
  'https://www.godaddy.com/', NULL,
  'Re-key or renew the certificate in the GoDaddy account with a new CSR, then import it with ssl_renew.',
  'Includes the Starfield brand.'),
 (11, 'Microsoft', 'public', '(^|,)O=Microsoft Corporation(,|$)',
  'https://www.microsoft.com/pkiops/docs/repository.htm', NULL,
  'Certificates issued by Microsoft''s public CAs belong to Microsoft services (Azure, Microsoft 365); renewal is Microsoft''s.',
  'Microsoft Azure TLS Issuing CAs and Microsoft RSA/ECC TLS CAs. A private Active Directory CA is an internal authority: add it with its own pattern.');
