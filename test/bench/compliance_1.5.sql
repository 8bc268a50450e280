-- The 1.5 ssl_check_compliance (one SELECT per policy type), kept verbatim as
-- the baseline of test/bench/compliance.sh; installed as public.bench_check_compliance_15.
SET search_path = public;
CREATE FUNCTION public.bench_check_compliance_15(id bigint DEFAULT NULL::bigint) RETURNS TABLE(certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    only_id bigint := bench_check_compliance_15.id;
BEGIN
    IF only_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.ssl_certificate c WHERE c.id = only_id) THEN
        RAISE EXCEPTION 'certificate % does not exist', only_id USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
    WITH checked AS MATERIALIZED (
        SELECT c.id, c.tenant, c.algorithm, c.key_size, c.valid_from, c.valid_to, c.signature_algorithm,
               c.sans, c.common_name, c.issuer, c.subject, c.spki_sha256, (c.issuer_chain <> ''
                AND netbox_ssl_internal.ssl_issuer_chain_check(c.issuer_chain, false) IS NULL) AS has_chain,
               c.chain_status = 'valid' AS chain_valid,
               CASE c.algorithm WHEN 'rsa' THEN 'RSA' WHEN 'ecdsa' THEN 'ECDSA' WHEN 'dsa' THEN 'DSA'
                                WHEN 'ed25519' THEN 'Ed25519' WHEN 'ed448' THEN 'Ed448' ELSE 'unknown' END AS alg_name
          FROM public.ssl_certificate c
         WHERE CASE WHEN only_id IS NULL THEN c.status = 'active' ELSE c.id = only_id END
    ), pol AS MATERIALIZED (
        SELECT p.id, p.name, p.policy_type, p.severity, p.parameters, p.tenant
          FROM public.ssl_compliance_policy p WHERE p.enabled
    ), applicable AS NOT MATERIALIZED (
        -- Inlined into each branch, so each joins the certificates to the
        -- few policies of its type instead of filtering one big product.
        SELECT c.*, p.id AS pid, p.name AS pname, p.policy_type AS ptype, p.severity AS psev, p.parameters AS prm
          FROM checked c JOIN pol p ON p.tenant IS NULL OR p.tenant = c.tenant
    ), hashes AS MATERIALIZED (
        -- A handful of distinct names: the regular expressions run once per
        -- name (inlined, they ran once per certificate: 1 s per 10,000).
        SELECT d.signature_algorithm, netbox_ssl_internal.ssl_signature_hash(d.signature_algorithm) AS hash
          FROM (SELECT DISTINCT c.signature_algorithm FROM checked c) d
    ), res (cid, pid, pname, ptype, psev, failed, msg) AS (
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               CASE WHEN m.min IS NULL THEN false ELSE a.key_size IS NULL OR a.key_size < m.min END,
               CASE WHEN m.min IS NULL THEN format('%s keys are not covered by this policy.', a.alg_name)
                    WHEN a.key_size IS NULL THEN format('%s key size is unknown; the minimum is %s bits.', a.alg_name, m.min)
                    WHEN a.key_size < m.min THEN format('%s key of %s bits is below the minimum of %s.', a.alg_name, a.key_size, m.min)
                    ELSE format('%s key of %s bits meets the minimum of %s.', a.alg_name, a.key_size, m.min) END
          FROM applicable a CROSS JOIN LATERAL (SELECT (a.prm ->> a.algorithm)::integer AS min) m
         WHERE a.ptype = 'min_key_size'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer),
               format(CASE WHEN a.valid_to - a.valid_from + interval '1 second' > make_interval(days => (a.prm ->> 'max_days')::integer)
                           THEN 'Validity of %s days exceeds the maximum of %s.'
                           ELSE 'Validity of %s days is within the maximum of %s.' END,
                      ceil((extract(epoch FROM a.valid_to - a.valid_from) + 1) / 86400), a.prm ->> 'max_days')
          FROM applicable a WHERE a.ptype = 'max_validity_days'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is allowed.', a.alg_name)
                    ELSE format('Key algorithm %s is not allowed (allowed: %s).', a.alg_name,
                                (SELECT string_agg(e, ', ') FROM jsonb_array_elements_text(a.prm -> 'algorithms') e)) END
          FROM applicable a WHERE a.ptype = 'algorithm_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               (a.prm -> 'algorithms') ? a.algorithm,
               CASE WHEN (a.prm -> 'algorithms') ? a.algorithm THEN format('Key algorithm %s is forbidden.', a.alg_name)
                    ELSE format('Key algorithm %s is not forbidden.', a.alg_name) END
          FROM applicable a WHERE a.ptype = 'algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               coalesce((a.prm -> 'algorithms') ? h.hash, false),
               CASE WHEN coalesce((a.prm -> 'algorithms') ? h.hash, false)
                    THEN format('Signature algorithm %s uses the forbidden hash %s.', a.signature_algorithm, upper(h.hash))
                    WHEN h.hash IS NULL THEN format('Signature algorithm %s names no hash, so none of the forbidden ones.', a.signature_algorithm)
                    ELSE format('Signature algorithm %s uses %s, which is not forbidden.', a.signature_algorithm, upper(h.hash)) END
          FROM applicable a JOIN hashes h ON h.signature_algorithm = a.signature_algorithm
         WHERE a.ptype = 'signature_algorithm_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer),
               CASE WHEN a.valid_to < now()
                    THEN format('Expired %s days ago.', floor(extract(epoch FROM now() - a.valid_to) / 86400))
                    WHEN a.valid_to < now() + make_interval(days => (a.prm ->> 'warning_days')::integer)
                    THEN format('Expires in %s days, within the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days')
                    ELSE format('Expires in %s days, outside the warning window of %s days.',
                                floor(extract(epoch FROM a.valid_to - now()) / 86400), a.prm ->> 'warning_days') END
          FROM applicable a WHERE a.ptype = 'expiry_warning'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               cardinality(a.sans) < (a.prm ->> 'min_count')::integer,
               format(CASE WHEN cardinality(a.sans) < (a.prm ->> 'min_count')::integer
                           THEN 'SAN count %s is below the required %s.'
                           ELSE 'SAN count %s meets the required %s.' END,
                      cardinality(a.sans), a.prm ->> 'min_count')
          FROM applicable a WHERE a.ptype = 'san_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches none of the allowed issuers.', a.issuer)
                    ELSE format('Issuer %s matches the allowed issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_allowed'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               i.hit IS NOT NULL,
               CASE WHEN i.hit IS NULL THEN format('Issuer %s matches no forbidden issuer.', a.issuer)
                    ELSE format('Issuer %s matches the forbidden issuer "%s".', a.issuer, i.hit) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT min(e) AS hit FROM jsonb_array_elements_text(a.prm -> 'issuers') e
                               WHERE strpos(lower(a.issuer), lower(e)) > 0) i
         WHERE a.ptype = 'issuer_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               w.name IS NOT NULL,
               CASE WHEN w.name IS NULL THEN 'No wildcard names.'
                    ELSE format('Wildcard name %s is forbidden.', w.name) END
          FROM applicable a
          CROSS JOIN LATERAL (SELECT coalesce(
                 (SELECT substr(s, 5) FROM unnest(a.sans) WITH ORDINALITY AS u(s, n)
                   WHERE s LIKE 'DNS:%*%' ORDER BY n LIMIT 1),
                 CASE WHEN strpos(a.common_name, '*') > 0 THEN a.common_name END) AS name) w
         WHERE a.ptype = 'wildcard_forbidden'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               NOT a.has_chain AND a.chain_valid IS NOT TRUE AND a.subject <> a.issuer,
               CASE WHEN a.has_chain THEN 'An issuer chain is stored.'
                    WHEN a.chain_valid THEN 'The chain was validated from the trust store and stored CA certificates.'
                    WHEN a.subject = a.issuer THEN 'Self-signed, so no issuer chain is needed.'
                    ELSE 'No issuer chain is stored.' END
          FROM applicable a WHERE a.ptype = 'chain_required'
        UNION ALL
        SELECT a.id, a.pid, a.pname, a.ptype, a.psev,
               r.pred IS NOT NULL,
               CASE WHEN r.pred IS NULL THEN 'Does not reuse the key of a certificate it replaced.'
                    ELSE format('Renewal kept the key of certificate %s, which it replaced.', r.pred) END
          FROM applicable a
          CROSS JOIN LATERAL (
              SELECT min(x.pred) AS pred FROM (
                  SELECT o.id AS pred FROM public.ssl_certificate o
                   WHERE o.replaced_by = a.id AND o.spki_sha256 = a.spki_sha256
                  UNION ALL
                  SELECT o.id FROM public.ssl_lifecycle_event e
                    JOIN public.ssl_certificate o ON o.id = e.related_certificate_id
                   WHERE e.certificate_id = a.id AND e.event_type = 'activated' AND o.spki_sha256 = a.spki_sha256
              ) x) r
         WHERE a.ptype = 'key_reuse_forbidden'
    ), stored AS (
        INSERT INTO public.ssl_compliance_result AS t (certificate_id, policy_id, result, severity, message, changed_at)
        SELECT r.cid, r.pid, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg, now()
          FROM res r
          LEFT JOIN public.ssl_compliance_result o ON o.certificate_id = r.cid AND o.policy_id = r.pid
         -- One hash join skips the unchanged results (most of them, at
         -- every run after the first) instead of one conflict probe each.
         WHERE o.certificate_id IS NULL
            OR (o.result, o.severity, o.message)
               IS DISTINCT FROM (CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg)
        ON CONFLICT ON CONSTRAINT ssl_compliance_result_pkey DO UPDATE
           SET result = excluded.result, severity = excluded.severity, message = excluded.message,
               changed_at = excluded.changed_at
         -- An unchanged result is not rewritten: a check of 100,000
         -- certificates would otherwise write a million row versions.
         WHERE (t.result, t.severity, t.message) IS DISTINCT FROM (excluded.result, excluded.severity, excluded.message)
        RETURNING 1
    ), stale AS (
        DELETE FROM public.ssl_compliance_result t
         WHERE (only_id IS NULL OR t.certificate_id = only_id)
           AND NOT EXISTS (SELECT 1 FROM res r WHERE r.cid = t.certificate_id AND r.pid = t.policy_id)
        RETURNING 1
    )
    SELECT r.cid, r.pname, r.ptype, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg
      FROM res r;
END
$$;
