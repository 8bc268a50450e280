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

-- (1) Item 7: issuer_chain holds certificates only. One C check (size 54000,
-- private key 22023, anything but decodable CERTIFICATE blocks 22P02), used
-- by a trigger on every write path (ssl_import, ssl_renew and
-- ssl_import_bundle insert through SQL too, so they pass the same trigger),
-- by the compliance check and by the candidate lookup. Rows stored before
-- 1.5 are left as they are: validation reports them invalid.
CREATE FUNCTION @extschema@.ssl_issuer_chain_check(chain text, raise_error boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'ssl_issuer_chain_check'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION @extschema@.ssl_issuer_chain_check(text, boolean) IS
    'Internal: checks an issuer_chain value ('''' or PEM CERTIFICATE blocks that decode, no private key, at most netbox_ssl.max_input_bytes). With raise_error it raises 54000, 22023 or 22P02; without, it returns the problem as one sentence, NULL when the chain is acceptable.';
REVOKE ALL ON FUNCTION @extschema@.ssl_issuer_chain_check(text, boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@.ssl_certificate_issuer_chain_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.issuer_chain <> ''
       AND (TG_OP = 'INSERT' OR NEW.issuer_chain IS DISTINCT FROM OLD.issuer_chain) THEN
        PERFORM @extschema@.ssl_issuer_chain_check(NEW.issuer_chain, true);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_certificate_issuer_chain_check() IS
    'Trigger: refuses an issuer_chain that is not PEM CERTIFICATE blocks (22P02), holds a private key (22023) or is larger than netbox_ssl.max_input_bytes (54000).';
REVOKE ALL ON FUNCTION @extschema@.ssl_certificate_issuer_chain_check() FROM PUBLIC;
CREATE TRIGGER ssl_certificate_issuer_chain_check BEFORE INSERT OR UPDATE OF issuer_chain ON @extschema@.ssl_certificate
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ssl_certificate_issuer_chain_check();
COMMENT ON TRIGGER ssl_certificate_issuer_chain_check ON @extschema@.ssl_certificate IS
    'issuer_chain holds certificates only, whichever path writes it (security item 7).';
COMMENT ON COLUMN @extschema@.ssl_certificate.issuer_chain IS
    'The other certificates of the imported bundle as PEM, ordered leaf to root; '''' for none. Only decodable PEM CERTIFICATE blocks, no private key, at most netbox_ssl.max_input_bytes (checked on every write since 1.5).';

-- (2) Item 8: issuer candidates by name. Instead of handing every stored CA
-- certificate to OpenSSL for every validation, the candidates are found
-- through indexes: CA certificates whose subject is the issuer name (any
-- letter case) or whose subjectKeyIdentifier is the authorityKeyIdentifier
-- of the leaf or of a certificate of its issuer_chain, then the issuers of
-- those candidates, up to 8 levels up and at most 64 certificates.
CREATE INDEX ssl_certificate_ca_subject_idx ON @extschema@.ssl_certificate USING hash (lower(subject)) WHERE is_ca;
COMMENT ON INDEX @extschema@.ssl_certificate_ca_subject_idx IS
    'CA certificates by subject name (lower case): issuer candidates for chain validation. Hash, so no name is too long for it.';

CREATE FUNCTION @extschema@.ssl_chain_candidates(issuer text, authority_key_id text, issuer_chain text)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- Names (lower case) and key identifiers to look for, level by level.
    names text[] := ARRAY[lower(ssl_chain_candidates.issuer)];
    keys text[] := ARRAY[ssl_chain_candidates.authority_key_id];
    found bigint[] := '{}';
    level_ids bigint[];
BEGIN
    IF ssl_chain_candidates.issuer_chain <> ''
       AND @extschema@.ssl_issuer_chain_check(ssl_chain_candidates.issuer_chain, false) IS NULL THEN
        SELECT names || array_agg(lower(p.issuer)), keys || array_agg(p.authority_key_id)
          INTO names, keys
          FROM unnest(@extschema@.ssl_chain_split_pem(ssl_chain_candidates.issuer_chain)) AS d(der),
               LATERAL @extschema@.ssl_parse(d.der) AS p;
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
COMMENT ON FUNCTION @extschema@.ssl_chain_candidates(text, text, text) IS
    'Internal: the PEM of the stored, not revoked CA certificates that can issue a certificate with this issuer name and authority key identifier (or a certificate of its issuer_chain), found through indexes, then their issuers, up to 8 levels and 64 certificates; NULL when none.';
REVOKE ALL ON FUNCTION @extschema@.ssl_chain_candidates(text, text, text) FROM PUBLIC;

-- The verifier with the candidates as a separate argument (per-call
-- intermediates after the issuer_chain, to which the issuer_chain rules do
-- not apply: they are stored certificates). With an empty pool, the
-- backend's cached X509_STORE holds the anchors only and is reused while
-- they are unchanged.
CREATE FUNCTION @extschema@.ssl_chain_verify(leaf text, issuer_chain text, pool text[], anchors bytea[],
                                             at timestamptz, hostname text, candidates text,
                                             OUT status text, OUT depth integer, OUT message text, OUT chain text[])
    RETURNS record
    AS 'MODULE_PATHNAME', 'ssl_chain_verify'
    LANGUAGE C IMMUTABLE PARALLEL SAFE COST 20000;
COMMENT ON FUNCTION @extschema@.ssl_chain_verify(text, text, text[], bytea[], timestamptz, text, text) IS
    'Internal: validates the PEM leaf with its PEM issuer_chain (an unusable one gives status invalid), the PEM candidates, the PEM pool of intermediates and the DER anchors at a time, for an optional host name or IP. The store is cached per backend while pool and anchors are unchanged.';
REVOKE ALL ON FUNCTION @extschema@.ssl_chain_verify(text, text, text[], bytea[], timestamptz, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.ssl_validate_chain(id bigint, at timestamptz DEFAULT now(), hostname text DEFAULT NULL)
RETURNS TABLE(status text, depth integer, message text, chain text[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp COST 50000 ROWS 1 AS $$
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
    SELECT c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id INTO cert
      FROM @extschema@.ssl_certificate AS c WHERE c.id = ssl_validate_chain.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', ssl_validate_chain.id USING ERRCODE = 'P0002';
    END IF;
    -- The issuer_chain, then the stored CA certificates that can be its
    -- issuers (found by name and key identifier); the trust store holds the
    -- anchors only, so it stays cached while they are unchanged.
    r := @extschema@.ssl_chain_verify(
            cert.pem_content, cert.issuer_chain, '{}',
            coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}'),
            ssl_validate_chain.at, ssl_validate_chain.hostname,
            @extschema@.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain));
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
COMMENT ON FUNCTION @extschema@.ssl_validate_chain(bigint, timestamptz, text) IS
    'Validates a stored certificate''s chain with OpenSSL''s path builder and the web-PKI rules: intermediates from its issuer_chain and from the stored CA certificates that can issue it (looked up by name and key identifier), anchors from ssl_trust_anchor, at a time, for an optional host name or IP. An unusable stored issuer_chain is reported as invalid. Stores the result on the certificate when called at now() without a host name by an operator or admin.';

CREATE OR REPLACE FUNCTION @extschema@.ssl_validate_all() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp COST 1000000 AS $$
DECLARE
    anchors bytea[];
    cert record;
    r record;
    n integer := 0;
    t timestamptz := now();
BEGIN
    -- Read once: the C function keeps one X509_STORE of the anchors for
    -- every call. Intermediates are looked up per certificate by name, so
    -- the cost does not grow with unrelated CA certificates.
    anchors := coalesce((SELECT array_agg(a.der ORDER BY a.id) FROM @extschema@.ssl_trust_anchor AS a), '{}');
    FOR cert IN SELECT c.id, c.pem_content, c.issuer_chain, c.issuer, c.authority_key_id
                  FROM @extschema@.ssl_certificate AS c
                 WHERE c.status = 'active' ORDER BY c.id LOOP
        -- A bad stored issuer_chain is a verdict (invalid), never an error.
        r := @extschema@.ssl_chain_verify(
                cert.pem_content, cert.issuer_chain, '{}', anchors, t, NULL,
                @extschema@.ssl_chain_candidates(cert.issuer, cert.authority_key_id, cert.issuer_chain));
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
COMMENT ON FUNCTION @extschema@.ssl_validate_all() IS
    'Validates and stores the chain of every active certificate at now(); returns the number validated, with a NOTICE every 10,000. Builds the trust store once per call; issuer candidates are looked up per certificate by name and key identifier. A certificate with an unusable issuer_chain is stored as invalid and the run goes on.';

-- (3) chain_required passes only on a usable chain (a stored issuer_chain of
-- decodable certificates), a valid stored validation, or a self-signed
-- certificate. Complete current definition; CREATE OR REPLACE keeps the
-- privileges of 1.4.
CREATE OR REPLACE FUNCTION @extschema@.ssl_check_compliance(id bigint DEFAULT NULL)
    RETURNS TABLE (certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    only_id bigint := ssl_check_compliance.id;
BEGIN
    IF only_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_certificate c WHERE c.id = only_id) THEN
        RAISE EXCEPTION 'certificate % does not exist', only_id USING ERRCODE = 'P0002';
    END IF;
    RETURN QUERY
    WITH checked AS MATERIALIZED (
        SELECT c.id, c.tenant, c.algorithm, c.key_size, c.valid_from, c.valid_to, c.signature_algorithm,
               c.sans, c.common_name, c.issuer, c.subject, c.spki_sha256, (c.issuer_chain <> ''
                AND @extschema@.ssl_issuer_chain_check(c.issuer_chain, false) IS NULL) AS has_chain,
               c.chain_status = 'valid' AS chain_valid,
               CASE c.algorithm WHEN 'rsa' THEN 'RSA' WHEN 'ecdsa' THEN 'ECDSA' WHEN 'dsa' THEN 'DSA'
                                WHEN 'ed25519' THEN 'Ed25519' WHEN 'ed448' THEN 'Ed448' ELSE 'unknown' END AS alg_name
          FROM @extschema@.ssl_certificate c
         WHERE CASE WHEN only_id IS NULL THEN c.status = 'active' ELSE c.id = only_id END
    ), pol AS MATERIALIZED (
        SELECT p.id, p.name, p.policy_type, p.severity, p.parameters, p.tenant
          FROM @extschema@.ssl_compliance_policy p WHERE p.enabled
    ), applicable AS NOT MATERIALIZED (
        -- Inlined into each branch, so each joins the certificates to the
        -- few policies of its type instead of filtering one big product.
        SELECT c.*, p.id AS pid, p.name AS pname, p.policy_type AS ptype, p.severity AS psev, p.parameters AS prm
          FROM checked c JOIN pol p ON p.tenant IS NULL OR p.tenant = c.tenant
    ), hashes AS MATERIALIZED (
        -- A handful of distinct names: the regular expressions run once per
        -- name (inlined, they ran once per certificate: 1 s per 10,000).
        SELECT d.signature_algorithm, @extschema@.ssl_signature_hash(d.signature_algorithm) AS hash
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
                  SELECT o.id AS pred FROM @extschema@.ssl_certificate o
                   WHERE o.replaced_by = a.id AND o.spki_sha256 = a.spki_sha256
                  UNION ALL
                  SELECT o.id FROM @extschema@.ssl_lifecycle_event e
                    JOIN @extschema@.ssl_certificate o ON o.id = e.related_certificate_id
                   WHERE e.certificate_id = a.id AND e.event_type = 'activated' AND o.spki_sha256 = a.spki_sha256
              ) x) r
         WHERE a.ptype = 'key_reuse_forbidden'
    ), stored AS (
        INSERT INTO @extschema@.ssl_compliance_result AS t (certificate_id, policy_id, result, severity, message, changed_at)
        SELECT r.cid, r.pid, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg, now()
          FROM res r
          LEFT JOIN @extschema@.ssl_compliance_result o ON o.certificate_id = r.cid AND o.policy_id = r.pid
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
        DELETE FROM @extschema@.ssl_compliance_result t
         WHERE (only_id IS NULL OR t.certificate_id = only_id)
           AND NOT EXISTS (SELECT 1 FROM res r WHERE r.cid = t.certificate_id AND r.pid = t.policy_id)
        RETURNING 1
    )
    SELECT r.cid, r.pname, r.ptype, CASE WHEN r.failed THEN 'fail' ELSE 'pass' END, r.psev, r.msg
      FROM res r;
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_check_compliance(bigint) IS
    'Checks one certificate (any status; P0002 if it does not exist) or, with no id, every active certificate against every enabled policy that applies to its tenant; stores the latest result per certificate and policy, removes results that no longer apply (with no id: also those of certificates no longer active), and returns the results (unordered). chain_required passes on a stored issuer_chain of decodable certificates, a valid stored chain validation, or a self-signed certificate.';

-- (4) Item 5: ssl_renewal_preview parses the replacement (and so refuses a
-- private key, with the statement hidden from the log) before it looks up
-- old_id, so no error raised before the key scan copies the key into the
-- server log. The other PL/pgSQL and SQL entry points that take certificate
-- text already parse it first.
CREATE OR REPLACE FUNCTION @extschema@.ssl_renewal_preview(old_id bigint, pem text)
RETURNS TABLE(field text, current_value text, new_value text, matches boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    nxt @extschema@.ssl_certificate_info := @extschema@.ssl_parse(pem);
    cur @extschema@.ssl_certificate;
    n_assign bigint;
    cur_key text;
    new_key text;
BEGIN
    SELECT * INTO cur FROM @extschema@.ssl_certificate c WHERE c.id = old_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'certificate % does not exist', old_id USING ERRCODE = 'P0002';
    END IF;
    SELECT count(*) INTO n_assign FROM @extschema@.ssl_assignment a WHERE a.certificate_id = old_id;
    cur_key := upper(cur.algorithm) || coalesce(' ' || cur.key_size, '');
    new_key := upper(nxt.algorithm) || coalesce(' ' || nxt.key_size, '');

    RETURN QUERY VALUES
        ('common_name', cur.common_name, nxt.common_name,
         lower(cur.common_name) IS NOT DISTINCT FROM lower(nxt.common_name)),
        ('serial_number', cur.serial_number, nxt.serial_number, cur.serial_number = nxt.serial_number),
        ('valid_from', to_char(cur.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
         to_char(nxt.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), cur.valid_from = nxt.valid_from),
        ('valid_to', to_char(cur.valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
         to_char(nxt.valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), cur.valid_to = nxt.valid_to),
        ('key', cur_key, new_key, cur_key = new_key),
        ('issuer', cur.issuer, nxt.issuer, cur.issuer = nxt.issuer),
        ('sans', array_to_string(cur.sans, ', '), array_to_string(nxt.sans, ', '),
         (SELECT array_agg(lower(s) ORDER BY lower(s)) FROM unnest(cur.sans) s)
           IS NOT DISTINCT FROM (SELECT array_agg(lower(s) ORDER BY lower(s)) FROM unnest(nxt.sans) s)),
        ('spki_sha256', cur.spki_sha256,
         nxt.spki_sha256 || CASE WHEN cur.spki_sha256 = nxt.spki_sha256 THEN ' (key reused)' ELSE ' (new key)' END,
         cur.spki_sha256 = nxt.spki_sha256),
        ('assignments', n_assign::text, n_assign || ' (will be transferred)', true);
END
$$;
COMMENT ON FUNCTION @extschema@.ssl_renewal_preview(bigint, text) IS
    'The Janus comparison of a stored certificate and a replacement: one row per field, with whether it matches. No side effects. The replacement is parsed (and a private key refused) before old_id is looked up.';

-- (end of part D)

-- ===========================================================================
-- Part E: internal schema (security item 3)
-- ===========================================================================

-- (end of part E)
