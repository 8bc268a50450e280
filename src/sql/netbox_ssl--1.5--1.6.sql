\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.6'" to load this file. \quit

-- netbox_ssl 1.5 -> 1.6: speed (issue "Speed") and trust (issue "Trust").
-- Each part below belongs to one topic; the concept files in
-- src/sql/concepts/ hold the current definition of every object.

-- ===========================================================================
-- Part 0: columns shared by several parts
-- ===========================================================================

-- Where a poller fetches revocation data from (CRL Distribution Points and
-- Authority Information Access), parsed on import. Rows stored before 1.6 are
-- filled from their stored PEM in part P.
ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN crl_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ADD COLUMN ocsp_urls text[] DEFAULT '{}'::text[] NOT NULL,
    ADD COLUMN ca_issuers_urls text[] DEFAULT '{}'::text[] NOT NULL;
COMMENT ON COLUMN @extschema@.ssl_certificate.crl_urls IS 'The URIs of the CRL Distribution Points extension (fullName URIs), in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_urls IS 'The OCSP responder URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ca_issuers_urls IS 'The caIssuers URIs of the Authority Information Access extension, in certificate order; ''{}'' when there are none.';

-- (end of part 0)

-- ===========================================================================
-- Part P: parse without waste; revocation URL columns
-- ===========================================================================

-- ssl_parse returns the three revocation URL columns of part 0 too, last.
-- ssl_certificate_info is still only a function result and a PL/pgSQL
-- variable type (no table column, view or index uses it), so attributes can
-- be added in place; the C parser fills them in this order
-- (src/pg/adapter.hpp, kParseColumns).
ALTER TYPE @extschema@.ssl_certificate_info
    ADD ATTRIBUTE crl_urls text[],
    ADD ATTRIBUTE ocsp_urls text[],
    ADD ATTRIBUTE ca_issuers_urls text[];

-- Backfill the rows stored before 1.6 from their stored PEM, as 1.4 did for
-- its parser columns: with the guard off so that updated_at keeps meaning
-- "last edited by someone", one set-based UPDATE of only the rows that have
-- URLs, and row by row should a stored PEM no longer parse (that row keeps
-- '{}' rather than failing the upgrade).
ALTER TABLE @extschema@.ssl_certificate DISABLE TRIGGER ssl_certificate_guard;
DO $$
DECLARE
    r record;
BEGIN
    BEGIN
        UPDATE @extschema@.ssl_certificate AS c
           SET crl_urls = p.crl_urls, ocsp_urls = p.ocsp_urls, ca_issuers_urls = p.ca_issuers_urls
          FROM @extschema@.ssl_certificate AS c2
               CROSS JOIN LATERAL @extschema@.ssl_parse(c2.pem_content) AS p
         WHERE c2.id = c.id
           AND (p.crl_urls, p.ocsp_urls, p.ca_issuers_urls) IS DISTINCT FROM (c.crl_urls, c.ocsp_urls, c.ca_issuers_urls);
    EXCEPTION WHEN OTHERS THEN
        FOR r IN SELECT id, pem_content FROM @extschema@.ssl_certificate LOOP
            BEGIN
                UPDATE @extschema@.ssl_certificate AS c
                   SET crl_urls = p.crl_urls, ocsp_urls = p.ocsp_urls, ca_issuers_urls = p.ca_issuers_urls
                  FROM @extschema@.ssl_parse(r.pem_content) AS p
                 WHERE c.id = r.id
                   AND (p.crl_urls, p.ocsp_urls, p.ca_issuers_urls) IS DISTINCT FROM (c.crl_urls, c.ocsp_urls, c.ca_issuers_urls);
            EXCEPTION WHEN OTHERS THEN
                RAISE WARNING 'certificate % no longer parses (%); its crl_urls, ocsp_urls and ca_issuers_urls stay empty',
                    r.id, SQLERRM;
            END;
        END LOOP;
    END;
END
$$;
ALTER TABLE @extschema@.ssl_certificate ENABLE TRIGGER ssl_certificate_guard;

-- (end of part P)

-- ===========================================================================
-- Part S: one write path for import and renew, bulk import by the batch
-- ===========================================================================

-- The one write path (src/pg/write_path.cpp): ssl_import, ssl_renew and
-- ssl_import_bundle do the per-row work of these triggers in their own
-- statement; the triggers skip exactly that statement (WHEN), and fire as
-- before for every other write.
CREATE FUNCTION netbox_ssl_internal.ssl_write_path_owns() RETURNS boolean
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'ssl_write_path_owns';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_write_path_owns() IS 'Internal: true while the statement of the extension''s own write path (ssl_import, ssl_renew, ssl_import_bundle) runs, whose triggers it replaces; false otherwise. Reading it is harmless; nothing in SQL can set it.';

DROP TRIGGER ssl_certificate_detect_acme ON @extschema@.ssl_certificate;
CREATE TRIGGER ssl_certificate_detect_acme BEFORE INSERT ON @extschema@.ssl_certificate FOR EACH ROW WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_detect_acme();
COMMENT ON TRIGGER ssl_certificate_detect_acme ON @extschema@.ssl_certificate IS 'ACME detection at import, whatever path inserts the row.';

DROP TRIGGER ssl_certificate_issuer_chain_check ON @extschema@.ssl_certificate;
CREATE TRIGGER ssl_certificate_issuer_chain_check BEFORE INSERT OR UPDATE OF issuer_chain ON @extschema@.ssl_certificate FOR EACH ROW WHEN (((new.issuer_chain <> ''::text) AND (NOT netbox_ssl_internal.ssl_write_path_owns()))) EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_issuer_chain_check();
COMMENT ON TRIGGER ssl_certificate_issuer_chain_check ON @extschema@.ssl_certificate IS 'issuer_chain holds certificates only, whichever path writes it (security item 7).';

DROP TRIGGER ssl_certificate_match_authority ON @extschema@.ssl_certificate;
CREATE TRIGGER ssl_certificate_match_authority BEFORE INSERT OR UPDATE OF issuing_ca_id, issuing_ca_source ON @extschema@.ssl_certificate FOR EACH ROW WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_match_authority();
COMMENT ON TRIGGER ssl_certificate_match_authority ON @extschema@.ssl_certificate IS 'Every insert path (ssl_import, ssl_renew, bulk imports, plain INSERT) links the certificate to its authority.';

DROP TRIGGER ssl_csr_link_certificate ON @extschema@.ssl_certificate;
CREATE TRIGGER ssl_csr_link_certificate AFTER INSERT ON @extschema@.ssl_certificate REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_csr_link_certificate();
COMMENT ON TRIGGER ssl_csr_link_certificate ON @extschema@.ssl_certificate IS 'Links imported certificates to the open requests for their key.';

DROP TRIGGER ssl_assignment_check_target_update ON @extschema@.ssl_assignment;
CREATE TRIGGER ssl_assignment_check_target_update AFTER UPDATE ON @extschema@.ssl_assignment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_check_target();
COMMENT ON TRIGGER ssl_assignment_check_target_update ON @extschema@.ssl_assignment IS 'No assignment is moved onto a replaced certificate.';

DROP TRIGGER ssl_assignment_history_update ON @extschema@.ssl_assignment;
CREATE TRIGGER ssl_assignment_history_update AFTER UPDATE ON @extschema@.ssl_assignment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_assignment_history();
COMMENT ON TRIGGER ssl_assignment_history_update ON @extschema@.ssl_assignment IS 'Logs a move (certificate_id, object_type or object_id changed) as assignment_removed plus assignment_added.';

DROP TRIGGER ssl_lifecycle_event_outbox ON @extschema@.ssl_lifecycle_event;
CREATE TRIGGER ssl_lifecycle_event_outbox AFTER INSERT ON @extschema@.ssl_lifecycle_event REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT WHEN ((NOT netbox_ssl_internal.ssl_write_path_owns())) EXECUTE FUNCTION netbox_ssl_internal.ssl_outbox_publish();
COMMENT ON TRIGGER ssl_lifecycle_event_outbox ON @extschema@.ssl_lifecycle_event IS 'Every new event reaches the outbox and a NOTIFY in the same transaction, whichever path wrote it; a rollback publishes nothing.';

-- ssl_outbox_publish skips events the write path's statement published.
CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_outbox_publish() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET enable_seqscan TO 'off'
    AS $$
DECLARE
    sent bigint;
BEGIN
    -- One statement, one snapshot: published_snapshot is exactly the
    -- snapshot with which the consumer list below is read.
    WITH published AS (
        INSERT INTO @extschema@.ssl_outbox (id, certificate_id, event_type, payload, xid, published_snapshot)
        SELECT n.id, n.certificate_id, n.event_type,
               jsonb_build_object(
                   'id', n.id,
                   'certificate_id', n.certificate_id,
                   'type', left(n.event_type, 200),
                   'old_status', left(n.old_status, 200),
                   'new_status', left(n.new_status, 200),
                   'related_certificate_id', n.related_certificate_id,
                   'common_name', left(c.common_name, 200),
                   'actor', left(n.actor, 200),
                   'on_behalf_of', left(n.on_behalf_of, 200),
                   'occurred_at', to_char(n.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   'threshold', CASE WHEN n.event_type = 'expiring' THEN
                                    (SELECT a.threshold FROM @extschema@.ssl_expiry_alert a WHERE a.event_id = n.id) END,
                   'truncated', coalesce(greatest(length(n.event_type), length(n.old_status), length(n.new_status),
                                                  length(c.common_name), length(n.actor),
                                                  length(n.on_behalf_of)) > 200, false)),
               pg_current_xact_id(), pg_current_snapshot()
          FROM new_rows n
          LEFT JOIN @extschema@.ssl_certificate c ON c.id = n.certificate_id
         WHERE n.occurred_at >= now()
           -- published already by the write path's own statement (1.6)
           AND NOT EXISTS (SELECT 1 FROM @extschema@.ssl_outbox x WHERE x.id = n.id)
         ORDER BY n.id
        RETURNING id, certificate_id, event_type
    ), queued AS (
        INSERT INTO @extschema@.ssl_outbox_delivery (consumer, outbox_id)
        SELECT s.name, p.id FROM published p CROSS JOIN @extschema@.ssl_outbox_consumer s
    )
    SELECT count(pg_notify('ssl_lifecycle',
                           jsonb_build_object('id', p.id, 'certificate_id', p.certificate_id,
                                              'type', left(p.event_type, 200))::text))
      INTO sent FROM published p;
    RETURN NULL;
END
$$;

-- (Rows stored before 1.6 got their revocation URLs in part P.)

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
-- the certificates, one CASE per policy type over certificates x policies
-- (a lateral product, certificate-major, so a first run inserts in
-- primary-key order), one full join finds what to write and delete; the
-- issuer_chain check is memoized in C; the SAN subquery of the wildcard
-- check only where a SAN holds a '*'; work_mem raised and jit = off on the
-- function (compiling the plan took 1.5 s of a 4.7 s run at the server
-- default jit = on). Same results; comment and grants are kept by CREATE OR
-- REPLACE.
CREATE OR REPLACE FUNCTION @extschema@.ssl_check_compliance(id bigint DEFAULT NULL::bigint) RETURNS TABLE(certificate_id bigint, policy text, policy_type text, result text, severity text, message text)
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


-- (end of part V)

-- ===========================================================================
-- Part T: chain validation rules, path building, public suffixes, max_depth
-- ===========================================================================

-- T1: public suffixes (libpsl). ssl_host_probes gives no "*." probe above a
-- public suffix, so *.co.uk no longer matches foo.co.uk; both probe
-- functions become STABLE (the list changes with the publicsuffix package).
-- 1.6 (issue "Trust"): a wildcard whose base is a public suffix ("*.co.uk",
-- "*.github.io") is never a valid certificate name (CA/B BR 3.2.2.6), so
-- it matches nothing. The list is libpsl's (Debian publicsuffix); STABLE,
-- not IMMUTABLE, because a package update changes it. Executable by every
-- role, like the other host helpers: it reveals nothing.
CREATE FUNCTION netbox_ssl_internal.ssl_wildcard_allowed(pattern text) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_wildcard_allowed';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_wildcard_allowed(pattern text) IS 'Internal: false only for a wildcard "*.<base>" whose base is a public suffix (ICANN or private section of the Public Suffix List, via libpsl), e.g. *.co.uk or *.github.io; true for any other pattern or name.';

CREATE OR REPLACE FUNCTION netbox_ssl_internal.ssl_host_probes(hostname text) RETURNS text[]
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    name text := hostname;
    ip_key text;
    parent text;
BEGIN
    IF name ~ '^\[.*\]$' THEN
        name := substr(name, 2, length(name) - 2);  -- [2001:db8::1], as in URLs
    ELSE
        name := regexp_replace(name, '\.$', '');  -- absolute name
    END IF;
    IF name ~ ':' OR name ~ '^[0-9.]+$' THEN
        ip_key := netbox_ssl_internal.ssl_host_ip_key(name);
        IF ip_key IS NULL THEN
            RAISE EXCEPTION 'host "%" looks like an IP address but is not a valid one', hostname
                USING ERRCODE = '22023',
                      HINT = 'Give a dotted-quad IPv4 address without leading zeros, or an IPv6 address without zone or prefix length.';
        END IF;
        RETURN ARRAY[ip_key];
    END IF;
    IF name = '' OR name ~ '(^|\.)(\.|$)' OR name ~ '[*[:space:]/@]' THEN
        RAISE EXCEPTION 'host "%" is not a host name', hostname
            USING ERRCODE = '22023',
                  HINT = 'Give a DNS name (A-labels for internationalised names) or an IP address; wildcards belong in certificates, not in the name looked up.';
    END IF;
    name := netbox_ssl_internal.ssl_host_dns_key(name);
    parent := substr(name, strpos(name, '.') + 1);
    -- "*" stands for exactly one whole label, and only above a name of at
    -- least two labels: *.example.com covers www.example.com, but *.com
    -- covers nothing (as OpenSSL's X509_check_host decides). Since 1.6 a
    -- parent that is a public suffix gives no wildcard probe either:
    -- *.co.uk does not cover foo.co.uk.
    IF strpos(name, '.') > 0 AND strpos(parent, '.') > 0
       AND netbox_ssl_internal.ssl_wildcard_allowed('*.' || parent) THEN
        RETURN ARRAY[name, '*.' || parent];
    END IF;
    RETURN ARRAY[name];
END
$_$;

ALTER FUNCTION @extschema@.ssl_host_probes(hostname text) STABLE;

COMMENT ON FUNCTION @extschema@.ssl_host_probes(hostname text) IS 'The index keys that can cover a host: for a DNS name the name and "*." || its parent (when the parent has two labels or more and is not a public suffix); for an IP address its ssl_host_ip_key. 22023 for an empty name, an empty label, a wildcard, or an invalid IP-looking string.';

COMMENT ON FUNCTION @extschema@.ssl_certificates_for_host(hostname text, include_inactive boolean) IS 'The certificates whose DNS SANs (or CN, when there is no DNS SAN) or IP SANs cover a host, following RFC 6125: case-insensitive, "*" only as the whole left-most label and for exactly one label, never above a public suffix (*.co.uk matches nothing), IP addresses only against IP SANs. Only active ones unless include_inactive. Latest valid_to first. Index-backed.';

-- (end of part T)

-- ===========================================================================
-- Part R: revocation (CRL, OCSP) and where to fetch it from
-- ===========================================================================

-- OCSP answers on the certificate (after ca_issuers_urls, as in 10_tables.sql).
ALTER TABLE @extschema@.ssl_certificate
    ADD COLUMN ocsp_status text,
    ADD COLUMN ocsp_this_update timestamp with time zone,
    ADD COLUMN ocsp_next_update timestamp with time zone,
    ADD COLUMN ocsp_checked_at timestamp with time zone,
    ADD COLUMN ocsp_revoked_at timestamp with time zone,
    ADD COLUMN ocsp_revocation_reason text;
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_status IS 'The last OCSP answer recorded by ssl_ocsp_record: good, revoked or unknown; NULL when none was recorded.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_this_update IS 'thisUpdate of the recorded OCSP answer.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_next_update IS 'nextUpdate of the recorded OCSP answer (NULL when the responder gave none); past it the answer is no longer current.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_checked_at IS 'When the OCSP answer was recorded.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_revoked_at IS 'revocationTime of a revoked OCSP answer.';
COMMENT ON COLUMN @extschema@.ssl_certificate.ocsp_revocation_reason IS 'The revocation reason of a revoked OCSP answer (RFC 5280 name), NULL when it gave none.';

-- Everything else of src/sql/concepts/72_revocation.sql, as it is there.

-- ----------------------------------------------------------------------
-- OCSP answers, on the certificate they are about
-- ----------------------------------------------------------------------
-- The columns are in 10_tables.sql's CREATE TABLE (after ca_issuers_urls);
-- their check is here with the rest of revocation.
ALTER TABLE @extschema@.ssl_certificate
    ADD CONSTRAINT ssl_certificate_ocsp_status_check CHECK ((ocsp_status = ANY (ARRAY['good'::text, 'revoked'::text, 'unknown'::text])));

COMMENT ON CONSTRAINT ssl_certificate_ocsp_status_check ON @extschema@.ssl_certificate IS 'The three OCSP certificate statuses (RFC 6960 4.2.1).';

-- Certificates by serial: the OCSP answer's and the CRL entries' key.
CREATE INDEX ssl_certificate_serial_idx ON @extschema@.ssl_certificate USING btree (serial_number);

COMMENT ON INDEX @extschema@.ssl_certificate_serial_idx IS 'Finds the certificate an OCSP answer or a CRL entry is about (serial, then issuer).';

-- ----------------------------------------------------------------------
-- Tables
-- ----------------------------------------------------------------------
CREATE TABLE @extschema@.ssl_crl (
    id bigint NOT NULL,
    issuer text NOT NULL,
    issuer_hash text NOT NULL,
    authority_key_id text,
    crl_number numeric,
    this_update timestamp with time zone NOT NULL,
    next_update timestamp with time zone,
    entry_count integer NOT NULL,
    signature_algorithm text NOT NULL,
    verified_by text,
    der bytea NOT NULL,
    der_sha256 text NOT NULL,
    loaded_at timestamp with time zone DEFAULT now() NOT NULL,
    loaded_by text DEFAULT @extschema@.ssl_caller() NOT NULL,
    superseded_by bigint
);

COMMENT ON TABLE @extschema@.ssl_crl IS 'Certificate revocation lists loaded by ssl_crl_load. A CRL is usable (marks certificates revoked, answers ssl_validate_chain) when its signature verified (verified_by) and no newer CRL of the same issuer superseded it.';
COMMENT ON COLUMN @extschema@.ssl_crl.id IS 'Surrogate key (ssl_crl_load returns it).';
COMMENT ON COLUMN @extschema@.ssl_crl.issuer IS 'Issuer DN as RFC 4514 text (XN_FLAG_RFC2253), as ssl_certificate.issuer.';
COMMENT ON COLUMN @extschema@.ssl_crl.issuer_hash IS 'SHA-256 of the issuer Name''s DER, colon hex: with authority_key_id, what "the same issuer" means for superseding.';
COMMENT ON COLUMN @extschema@.ssl_crl.authority_key_id IS 'authorityKeyIdentifier keyIdentifier of the CRL, colon hex; NULL when absent.';
COMMENT ON COLUMN @extschema@.ssl_crl.crl_number IS 'The cRLNumber extension; NULL when absent (then thisUpdate alone orders CRLs).';
COMMENT ON COLUMN @extschema@.ssl_crl.this_update IS 'thisUpdate.';
COMMENT ON COLUMN @extschema@.ssl_crl.next_update IS 'nextUpdate; NULL when absent. Past it the CRL no longer answers ssl_validate_chain and ssl_revocation_due lists it.';
COMMENT ON COLUMN @extschema@.ssl_crl.entry_count IS 'Number of revoked entries.';
COMMENT ON COLUMN @extschema@.ssl_crl.signature_algorithm IS 'OpenSSL''s long name of the signature algorithm.';
COMMENT ON COLUMN @extschema@.ssl_crl.verified_by IS 'SHA-256 fingerprint of the stored certificate (ssl_certificate) or trust anchor (ssl_trust_anchor) whose key verified the signature; NULL: issuer unknown at load time, stored unverified and never used.';
COMMENT ON COLUMN @extschema@.ssl_crl.der IS 'The CRL, DER.';
COMMENT ON COLUMN @extschema@.ssl_crl.der_sha256 IS 'SHA-256 of der (hex): loading the same CRL again returns the stored id.';
COMMENT ON COLUMN @extschema@.ssl_crl.loaded_at IS 'When it was loaded.';
COMMENT ON COLUMN @extschema@.ssl_crl.loaded_by IS 'ssl_caller() of the load.';
COMMENT ON COLUMN @extschema@.ssl_crl.superseded_by IS 'The newer CRL (by crl_number, then this_update) of the same issuer that replaced it; for an older CRL loaded after a newer one, that newer one. NULL: current.';

ALTER TABLE @extschema@.ssl_crl ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME @extschema@.ssl_crl_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

COMMENT ON SEQUENCE @extschema@.ssl_crl_id_seq IS 'Identity of ssl_crl.id.';

GRANT SELECT ON TABLE @extschema@.ssl_crl TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_crl
    ADD CONSTRAINT ssl_crl_pkey PRIMARY KEY (id);

ALTER TABLE ONLY @extschema@.ssl_crl
    ADD CONSTRAINT ssl_crl_der_sha256_key UNIQUE (der_sha256);

COMMENT ON CONSTRAINT ssl_crl_der_sha256_key ON @extschema@.ssl_crl IS 'A CRL is stored once.';

ALTER TABLE ONLY @extschema@.ssl_crl
    ADD CONSTRAINT ssl_crl_superseded_by_fkey FOREIGN KEY (superseded_by) REFERENCES @extschema@.ssl_crl(id);

-- The usable CRL of an issuer: look-ups by name (validation, import).
CREATE INDEX ssl_crl_usable_idx ON @extschema@.ssl_crl USING btree (issuer) WHERE ((verified_by IS NOT NULL) AND (superseded_by IS NULL));

COMMENT ON INDEX @extschema@.ssl_crl_usable_idx IS 'The usable CRLs, by issuer.';

CREATE INDEX ssl_crl_superseded_by_idx ON @extschema@.ssl_crl USING btree (superseded_by) WHERE (superseded_by IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_crl_superseded_by_idx IS 'Supports the self-referencing foreign key.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_crl', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_crl_id_seq', '');

CREATE TABLE @extschema@.ssl_crl_entry (
    crl_id bigint NOT NULL,
    serial text NOT NULL,
    revoked_at timestamp with time zone NOT NULL,
    reason text
);

COMMENT ON TABLE @extschema@.ssl_crl_entry IS 'The revoked certificates of each stored CRL.';
COMMENT ON COLUMN @extschema@.ssl_crl_entry.crl_id IS 'The CRL.';
COMMENT ON COLUMN @extschema@.ssl_crl_entry.serial IS 'Serial number, colon hex as ssl_certificate.serial_number.';
COMMENT ON COLUMN @extschema@.ssl_crl_entry.revoked_at IS 'revocationDate.';
COMMENT ON COLUMN @extschema@.ssl_crl_entry.reason IS 'RFC 5280 reasonCode name (keyCompromise, superseded, certificateHold, ...); NULL when the entry has none.';

GRANT SELECT ON TABLE @extschema@.ssl_crl_entry TO netbox_ssl_reader;

ALTER TABLE ONLY @extschema@.ssl_crl_entry
    ADD CONSTRAINT ssl_crl_entry_pkey PRIMARY KEY (crl_id, serial);

COMMENT ON CONSTRAINT ssl_crl_entry_pkey ON @extschema@.ssl_crl_entry IS 'One entry per serial and CRL; also the look-up of a serial on a given CRL.';

ALTER TABLE ONLY @extschema@.ssl_crl_entry
    ADD CONSTRAINT ssl_crl_entry_crl_id_fkey FOREIGN KEY (crl_id) REFERENCES @extschema@.ssl_crl(id) ON DELETE CASCADE;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ssl_crl_entry', '');

-- ----------------------------------------------------------------------
-- Internal C helpers (not callable by PUBLIC)
-- ----------------------------------------------------------------------
CREATE FUNCTION netbox_ssl_internal.ssl_crl_parse(crl text, OUT issuer text, OUT issuer_hash text, OUT authority_key_id text, OUT crl_number text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT signature_algorithm text, OUT der bytea, OUT serials text[], OUT revoked_at timestamp with time zone[], OUT reasons text[]) RETURNS SETOF record
    LANGUAGE c IMMUTABLE COST 10000 ROWS 1 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_crl_parse_text';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_crl_parse(crl text, OUT issuer text, OUT issuer_hash text, OUT authority_key_id text, OUT crl_number text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT signature_algorithm text, OUT der bytea, OUT serials text[], OUT revoked_at timestamp with time zone[], OUT reasons text[]) IS 'Internal: every X509 CRL PEM block of the text, one row each; NULL 22004, keys 22023, malformed 22P02, over netbox_ssl.max_input_bytes 54000.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_crl_parse(crl text, OUT issuer text, OUT issuer_hash text, OUT authority_key_id text, OUT crl_number text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT signature_algorithm text, OUT der bytea, OUT serials text[], OUT revoked_at timestamp with time zone[], OUT reasons text[]) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_crl_parse(crl bytea, OUT issuer text, OUT issuer_hash text, OUT authority_key_id text, OUT crl_number text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT signature_algorithm text, OUT der bytea, OUT serials text[], OUT revoked_at timestamp with time zone[], OUT reasons text[]) RETURNS SETOF record
    LANGUAGE c IMMUTABLE COST 10000 ROWS 1 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_crl_parse_binary';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_crl_parse(crl bytea, OUT issuer text, OUT issuer_hash text, OUT authority_key_id text, OUT crl_number text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT signature_algorithm text, OUT der bytea, OUT serials text[], OUT revoked_at timestamp with time zone[], OUT reasons text[]) IS 'Internal: one DER CRL (PEM text in bytea is read as PEM); malformed 22P03.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_crl_parse(crl bytea, OUT issuer text, OUT issuer_hash text, OUT authority_key_id text, OUT crl_number text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT signature_algorithm text, OUT der bytea, OUT serials text[], OUT revoked_at timestamp with time zone[], OUT reasons text[]) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_crl_signature_valid(crl bytea, issuer bytea) RETURNS boolean
    LANGUAGE c IMMUTABLE COST 1000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_crl_signature_valid';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_crl_signature_valid(crl bytea, issuer bytea) IS 'Internal: whether the DER CRL''s signature verifies with the public key of the DER certificate issuer.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_crl_signature_valid(crl bytea, issuer bytea) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_ocsp_parse(response bytea, OUT response_status text, OUT produced_at timestamp with time zone, OUT hash_algorithm text, OUT issuer_name_hash text, OUT issuer_key_hash text, OUT serial text, OUT cert_status text, OUT revoked_at timestamp with time zone, OUT reason text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT ordinality integer) RETURNS SETOF record
    LANGUAGE c IMMUTABLE COST 1000 ROWS 1 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_ocsp_parse';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_ocsp_parse(response bytea, OUT response_status text, OUT produced_at timestamp with time zone, OUT hash_algorithm text, OUT issuer_name_hash text, OUT issuer_key_hash text, OUT serial text, OUT cert_status text, OUT revoked_at timestamp with time zone, OUT reason text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT ordinality integer) IS 'Internal: one row per SingleResponse of a DER OCSPResponse; a non-successful response gives one row with only response_status. Malformed 22P03.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_ocsp_parse(response bytea, OUT response_status text, OUT produced_at timestamp with time zone, OUT hash_algorithm text, OUT issuer_name_hash text, OUT issuer_key_hash text, OUT serial text, OUT cert_status text, OUT revoked_at timestamp with time zone, OUT reason text, OUT this_update timestamp with time zone, OUT next_update timestamp with time zone, OUT ordinality integer) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_ocsp_verify(response bytea, issuer bytea, at timestamp with time zone, OUT ok boolean, OUT failure text, OUT responder text) RETURNS record
    LANGUAGE c IMMUTABLE COST 1000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_ocsp_verify';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_ocsp_verify(response bytea, issuer bytea, at timestamp with time zone, OUT ok boolean, OUT failure text, OUT responder text) IS 'Internal: verifies the signature and the responder''s authority (the issuer itself, or an included certificate it issued with id-kp-OCSPSigning, RFC 6960 4.2.2.2) against the DER issuer certificate at a time.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_ocsp_verify(response bytea, issuer bytea, at timestamp with time zone, OUT ok boolean, OUT failure text, OUT responder text) FROM PUBLIC;

CREATE FUNCTION netbox_ssl_internal.ssl_ocsp_id_matches(hash_algorithm text, issuer_name_hash text, issuer_key_hash text, issuer bytea) RETURNS boolean
    LANGUAGE c IMMUTABLE COST 100 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_ocsp_id_matches';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_ocsp_id_matches(hash_algorithm text, issuer_name_hash text, issuer_key_hash text, issuer bytea) IS 'Internal: whether an OCSP CertID''s issuer name and key hashes name this DER certificate.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_ocsp_id_matches(hash_algorithm text, issuer_name_hash text, issuer_key_hash text, issuer bytea) FROM PUBLIC;

-- ----------------------------------------------------------------------
-- Loading CRLs
-- ----------------------------------------------------------------------
-- One DER CRL (parsed again here, so that the signature stays short and
-- both ssl_crl_load variants share it): verified against the stored issuer,
-- stored, superseding (or superseded), and the certificates it lists marked
-- revoked.
CREATE FUNCTION netbox_ssl_internal.ssl_crl_store(crl_der bytea) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    parsed record;
    p_issuer text;
    p_issuer_hash text;
    p_aki text;
    p_this_update timestamp with time zone;
    p_der bytea := crl_der;
    v_hash text := encode(sha256(crl_der), 'hex');
    v_id bigint;
    v_verified text;
    v_candidates integer := 0;
    v_number numeric;
    cand record;
    cur record;
    v_newer boolean;
BEGIN
    SELECT l.id INTO v_id FROM @extschema@.ssl_crl l WHERE l.der_sha256 = v_hash;
    IF FOUND THEN
        RETURN v_id;  -- the same CRL again: nothing changes
    END IF;
    SELECT * INTO STRICT parsed FROM netbox_ssl_internal.ssl_crl_parse(crl_der);
    p_issuer := parsed.issuer;
    p_issuer_hash := parsed.issuer_hash;
    p_aki := parsed.authority_key_id;
    p_this_update := parsed.this_update;
    v_number := parsed.crl_number::numeric;
    -- The issuer: a stored CA certificate with the CRL's issuer name (and
    -- subject key id = the CRL's authority key id), or a trust anchor with
    -- that name; the first whose key verifies the signature.
    FOR cand IN
        SELECT c.fingerprint_sha256 AS fp, (netbox_ssl_internal.ssl_chain_split_pem(c.pem_content))[1] AS der
          FROM @extschema@.ssl_certificate c
         WHERE lower(c.subject) = lower(p_issuer) AND c.subject = p_issuer AND c.is_ca
           AND (p_aki IS NULL OR c.subject_key_id IS NULL OR c.subject_key_id = p_aki)
        UNION ALL
        SELECT a.fingerprint_sha256, a.der FROM @extschema@.ssl_trust_anchor a WHERE a.subject = p_issuer
    LOOP
        v_candidates := v_candidates + 1;
        IF netbox_ssl_internal.ssl_crl_signature_valid(p_der, cand.der) THEN
            v_verified := cand.fp;
            EXIT;
        END IF;
    END LOOP;
    -- Decision (docs/revocation.md): a CRL that names a known issuer but
    -- whose signature none of its keys verifies is forged or corrupt;
    -- storing it would only hide the problem, so it is refused.
    IF v_verified IS NULL AND v_candidates > 0 THEN
        RAISE EXCEPTION 'CRL signature does not verify'
            USING ERRCODE = '22023',
                  DETAIL = format('Its issuer %s is stored (%s certificate(s) or trust anchor(s) with that name), but no key of them verifies the signature.', p_issuer, v_candidates);
    END IF;
    IF v_verified IS NULL THEN
        RAISE NOTICE 'CRL of % stored unverified and not used: no stored certificate or trust anchor is its issuer', p_issuer
            USING HINT = 'Import the issuing CA certificate (or load it as a trust anchor), then load the CRL again.';
    END IF;

    -- Superseding is decided under a lock per issuer, so two concurrent
    -- loads of the same issuer's CRLs are ordered.
    PERFORM pg_advisory_xact_lock(hashtextextended('netbox_ssl.crl:' || p_issuer_hash || ':' || coalesce(p_aki, ''), 0));
    SELECT l.id, l.crl_number, l.this_update INTO cur
      FROM @extschema@.ssl_crl l
     WHERE l.issuer = p_issuer AND l.issuer_hash = p_issuer_hash AND l.authority_key_id IS NOT DISTINCT FROM p_aki
       AND l.verified_by IS NOT NULL AND l.superseded_by IS NULL
     ORDER BY l.id DESC LIMIT 1;
    v_newer := v_verified IS NOT NULL
               AND (cur.id IS NULL
                    OR (coalesce(v_number, -1), p_this_update) > (coalesce(cur.crl_number, -1), cur.this_update));

    INSERT INTO @extschema@.ssl_crl (issuer, issuer_hash, authority_key_id, crl_number, this_update, next_update,
                                     entry_count, signature_algorithm, verified_by, der, der_sha256, superseded_by)
    VALUES (p_issuer, p_issuer_hash, p_aki, v_number, p_this_update, parsed.next_update,
            coalesce(cardinality(parsed.serials), 0), parsed.signature_algorithm, v_verified, p_der, v_hash,
            CASE WHEN v_verified IS NOT NULL AND NOT v_newer THEN cur.id END)
    RETURNING id INTO v_id;
    INSERT INTO @extschema@.ssl_crl_entry (crl_id, serial, revoked_at, reason)
    SELECT v_id, u.serial, u.revoked_at, u.reason
      FROM unnest(parsed.serials, parsed.revoked_at, parsed.reasons) AS u(serial, revoked_at, reason)
    ON CONFLICT DO NOTHING;
    IF NOT v_newer THEN
        RETURN v_id;
    END IF;
    IF cur.id IS NOT NULL THEN
        UPDATE @extschema@.ssl_crl l SET superseded_by = v_id WHERE l.id = cur.id;
    END IF;
    -- Every listed certificate of this issuer becomes revoked, set-based;
    -- the status triggers log the revoked event (with the CRL's date and
    -- reason, ssl_lifecycle_event_revocation_detail) and its outbox entry.
    -- certificateHold is temporary and revoked is final, so a hold does not
    -- change the lifecycle (ssl_validate_chain still reports it).
    PERFORM netbox_ssl_internal.ssl_crl_apply(v_id);
    RETURN v_id;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_crl_store(crl_der bytea) IS 'Internal: stores one DER CRL for ssl_crl_load and returns its id.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_crl_store(crl_der bytea) FROM PUBLIC;

-- Marks revoked every stored certificate listed on a usable CRL.
CREATE FUNCTION netbox_ssl_internal.ssl_crl_apply(crl_id bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    n bigint;
BEGIN
    UPDATE @extschema@.ssl_certificate c SET status = 'revoked'
      FROM @extschema@.ssl_crl l
      JOIN @extschema@.ssl_crl_entry e ON e.crl_id = l.id
     WHERE l.id = ssl_crl_apply.crl_id AND l.verified_by IS NOT NULL AND l.superseded_by IS NULL
       AND c.serial_number = e.serial AND c.issuer = l.issuer
       AND (c.authority_key_id IS NULL OR l.authority_key_id IS NULL OR c.authority_key_id = l.authority_key_id)
       AND c.status IN ('active', 'pending', 'expired')
       AND e.reason IS DISTINCT FROM 'certificateHold' AND e.reason IS DISTINCT FROM 'removeFromCRL';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_crl_apply(crl_id bigint) IS 'Internal: marks revoked (active, pending or expired) every stored certificate of the CRL''s issuer whose serial it lists (not on hold); returns how many.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_crl_apply(crl_id bigint) FROM PUBLIC;

CREATE FUNCTION @extschema@.ssl_crl_load(crl text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    r record;
    v_id bigint;
BEGIN
    FOR r IN SELECT p.der FROM netbox_ssl_internal.ssl_crl_parse(crl) p LOOP
        v_id := netbox_ssl_internal.ssl_crl_store(r.der);
    END LOOP;
    RETURN v_id;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_crl_load(crl text) IS 'Stores every X509 CRL PEM block of the text, in order, and returns the id of the last one. Each is verified against a stored CA certificate or trust anchor named as its issuer (refused with 22023 when none of their keys verifies it; stored unverified and unused, with a NOTICE, when there is none); a newer CRL of the same issuer (crl_number, then this_update) supersedes the current one and marks every listed stored certificate revoked (not certificateHold), logging a revoked event with the date and reason; an older one is kept but not used. Loading the same CRL again returns its id. Malformed 22P02, keys 22023, too large 54000.';

REVOKE ALL ON FUNCTION @extschema@.ssl_crl_load(crl text) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_crl_load(crl text) TO netbox_ssl_operator;

CREATE FUNCTION @extschema@.ssl_crl_load(crl bytea) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    r record;
    v_id bigint;
BEGIN
    FOR r IN SELECT p.der FROM netbox_ssl_internal.ssl_crl_parse(crl) p LOOP
        v_id := netbox_ssl_internal.ssl_crl_store(r.der);
    END LOOP;
    RETURN v_id;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_crl_load(crl bytea) IS 'As ssl_crl_load(text), for one DER CRL (as fetched from a CRL distribution point). Malformed 22P03.';

REVOKE ALL ON FUNCTION @extschema@.ssl_crl_load(crl bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_crl_load(crl bytea) TO netbox_ssl_operator;

-- ----------------------------------------------------------------------
-- Revoked at import
-- ----------------------------------------------------------------------
-- A trigger, not a step of ssl_import: every insert path (ssl_import,
-- ssl_renew, bulk imports, plain INSERT) must catch a certificate whose CRL
-- was loaded before it. Statement-level with the transition table, so a
-- bulk import pays one probe per statement; when no usable CRL exists at
-- all (the common case) that is one index probe.
CREATE FUNCTION netbox_ssl_internal.ssl_certificate_revoke_on_import() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ssl_crl l WHERE l.verified_by IS NOT NULL AND l.superseded_by IS NULL) THEN
        RETURN NULL;
    END IF;
    UPDATE @extschema@.ssl_certificate c SET status = 'revoked'
      FROM new_rows n
      JOIN @extschema@.ssl_crl l ON l.issuer = n.issuer AND l.verified_by IS NOT NULL AND l.superseded_by IS NULL
      JOIN @extschema@.ssl_crl_entry e ON e.crl_id = l.id AND e.serial = n.serial_number
     WHERE c.id = n.id
       AND (n.authority_key_id IS NULL OR l.authority_key_id IS NULL OR n.authority_key_id = l.authority_key_id)
       AND c.status IN ('active', 'pending', 'expired')
       AND e.reason IS DISTINCT FROM 'certificateHold' AND e.reason IS DISTINCT FROM 'removeFromCRL';
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_revoke_on_import() IS 'Trigger function: marks revoked the inserted certificates that a usable stored CRL lists.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_certificate_revoke_on_import() FROM PUBLIC;

CREATE TRIGGER ssl_certificate_revoke_on_import AFTER INSERT ON @extschema@.ssl_certificate REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION netbox_ssl_internal.ssl_certificate_revoke_on_import();

COMMENT ON TRIGGER ssl_certificate_revoke_on_import ON @extschema@.ssl_certificate IS 'A certificate imported after the CRL that lists it is revoked at once, whichever path inserted it.';

-- The revoked event says why: the status trigger (15_triggers.sql) writes
-- one event per status change with a generic sentence; this BEFORE INSERT
-- trigger completes that sentence from the revocation data, so the event
-- carries the date and reason however the status changed.
CREATE FUNCTION netbox_ssl_internal.ssl_lifecycle_event_revocation_detail() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    why text;
BEGIN
    SELECT format('serial %s is on CRL %s (number %s) of %s, revoked on %s, reason %s',
                  e.serial, l.id, coalesce(l.crl_number::text, 'none'), l.issuer,
                  to_char(e.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                  coalesce(e.reason, 'unspecified'))
      INTO why
      FROM @extschema@.ssl_certificate c
      JOIN @extschema@.ssl_crl l ON l.issuer = c.issuer AND l.verified_by IS NOT NULL AND l.superseded_by IS NULL
      JOIN @extschema@.ssl_crl_entry e ON e.crl_id = l.id AND e.serial = c.serial_number
     WHERE c.id = NEW.certificate_id
     ORDER BY l.id DESC LIMIT 1;
    IF why IS NULL THEN
        SELECT format('the OCSP responder says serial %s was revoked on %s, reason %s', c.serial_number,
                      to_char(c.ocsp_revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                      coalesce(c.ocsp_revocation_reason, 'unspecified'))
          INTO why
          FROM @extschema@.ssl_certificate c
         WHERE c.id = NEW.certificate_id AND c.ocsp_status = 'revoked';
    END IF;
    IF why IS NOT NULL THEN
        NEW.description := coalesce(NEW.description || ': ', '') || why;
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_lifecycle_event_revocation_detail() IS 'Trigger function: appends the revocation date and reason (from the usable CRL listing the certificate, else its OCSP answer) to a revoked event''s description.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_lifecycle_event_revocation_detail() FROM PUBLIC;

CREATE TRIGGER ssl_lifecycle_event_revocation_detail BEFORE INSERT ON @extschema@.ssl_lifecycle_event FOR EACH ROW WHEN ((new.event_type = 'revoked'::text)) EXECUTE FUNCTION netbox_ssl_internal.ssl_lifecycle_event_revocation_detail();

COMMENT ON TRIGGER ssl_lifecycle_event_revocation_detail ON @extschema@.ssl_lifecycle_event IS 'A revoked event names the CRL or OCSP answer, the date and the reason.';

-- ----------------------------------------------------------------------
-- OCSP
-- ----------------------------------------------------------------------
CREATE FUNCTION @extschema@.ssl_ocsp_record(response bytea, certificate_id bigint DEFAULT NULL::bigint) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    s record;
    cert record;
    iss record;
    v record;
    want_serial text;  -- the serial of certificate_id, when given
    found_single boolean := false;
    found_issuer boolean := false;
BEGIN
    SELECT * INTO s FROM netbox_ssl_internal.ssl_ocsp_parse(response) p ORDER BY p.ordinality LIMIT 1;
    IF s.response_status <> 'successful' THEN
        RAISE EXCEPTION 'OCSP response status is %, not successful', s.response_status
            USING ERRCODE = '22023', HINT = 'Ask the responder again later (tryLater) or fix the request.';
    END IF;
    -- The certificate: by id, else by serial among the single responses.
    IF certificate_id IS NOT NULL THEN
        SELECT c.id, c.issuer, c.serial_number, c.status, c.ocsp_this_update INTO cert
          FROM @extschema@.ssl_certificate c WHERE c.id = ssl_ocsp_record.certificate_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'certificate % does not exist', certificate_id USING ERRCODE = '22023';
        END IF;
        want_serial := cert.serial_number;
        SELECT * INTO s FROM netbox_ssl_internal.ssl_ocsp_parse(response) p
         WHERE p.serial = want_serial ORDER BY p.ordinality LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'OCSP response is not about certificate %', certificate_id
                USING ERRCODE = '22023', DETAIL = format('It answers for other serial numbers than %s.', cert.serial_number);
        END IF;
    END IF;
    -- The issuer: a stored CA certificate or trust anchor named as the
    -- certificate's issuer whose name and key hashes are the CertID's.
    FOR s IN SELECT * FROM netbox_ssl_internal.ssl_ocsp_parse(response) p
              WHERE want_serial IS NULL OR p.serial = want_serial ORDER BY p.ordinality LOOP
        IF certificate_id IS NULL THEN
            SELECT c.id, c.issuer, c.serial_number, c.status, c.ocsp_this_update INTO cert
              FROM @extschema@.ssl_certificate c
             WHERE c.serial_number = s.serial
               AND EXISTS (SELECT 1 FROM (
                       SELECT (netbox_ssl_internal.ssl_chain_split_pem(i.pem_content))[1] AS der
                         FROM @extschema@.ssl_certificate i WHERE i.subject = c.issuer AND i.is_ca
                       UNION ALL
                       SELECT a.der FROM @extschema@.ssl_trust_anchor a WHERE a.subject = c.issuer) x
                     WHERE netbox_ssl_internal.ssl_ocsp_id_matches(s.hash_algorithm, s.issuer_name_hash, s.issuer_key_hash, x.der))
             ORDER BY c.id LIMIT 1;
            CONTINUE WHEN NOT FOUND;
        END IF;
        found_single := true;
        FOR iss IN
            SELECT x.fp, x.der FROM (
                SELECT i.fingerprint_sha256 AS fp, (netbox_ssl_internal.ssl_chain_split_pem(i.pem_content))[1] AS der
                  FROM @extschema@.ssl_certificate i WHERE i.subject = cert.issuer AND i.is_ca
                UNION ALL
                SELECT a.fingerprint_sha256, a.der FROM @extschema@.ssl_trust_anchor a WHERE a.subject = cert.issuer) x
        LOOP
            IF netbox_ssl_internal.ssl_ocsp_id_matches(s.hash_algorithm, s.issuer_name_hash, s.issuer_key_hash, iss.der) THEN
                found_issuer := true;
                EXIT;
            END IF;
        END LOOP;
        EXIT WHEN found_issuer;
    END LOOP;
    IF NOT found_single THEN
        RAISE EXCEPTION 'OCSP response is about no stored certificate'
            USING ERRCODE = '22023', DETAIL = 'No stored certificate has its serial number and an issuer named by its certificate id.';
    END IF;
    IF NOT found_issuer THEN
        RAISE EXCEPTION 'OCSP response does not match the issuer of certificate %', cert.id
            USING ERRCODE = '22023',
                  DETAIL = format('No stored CA certificate or trust anchor named %s has the issuer name and key hashes of the response''s certificate id.', cert.issuer);
    END IF;
    SELECT * INTO v FROM netbox_ssl_internal.ssl_ocsp_verify(response, iss.der, now());
    IF NOT v.ok THEN
        RAISE EXCEPTION 'OCSP response does not verify' USING ERRCODE = '22023', DETAIL = upper(left(v.failure, 1)) || substr(v.failure, 2) || '.';
    END IF;
    -- An answer older than the one stored is not recorded over it.
    IF cert.ocsp_this_update IS NULL OR s.this_update >= cert.ocsp_this_update THEN
        UPDATE @extschema@.ssl_certificate c
           SET ocsp_status = s.cert_status, ocsp_this_update = s.this_update, ocsp_next_update = s.next_update,
               ocsp_checked_at = now(), ocsp_revoked_at = s.revoked_at, ocsp_revocation_reason = s.reason
         WHERE c.id = cert.id;
        IF s.cert_status = 'revoked' AND cert.status IN ('active', 'pending', 'expired')
           AND s.reason IS DISTINCT FROM 'certificateHold' THEN
            UPDATE @extschema@.ssl_certificate c SET status = 'revoked' WHERE c.id = cert.id;
        END IF;
    END IF;
    RETURN s.cert_status;
END
$$;

COMMENT ON FUNCTION @extschema@.ssl_ocsp_record(response bytea, certificate_id bigint) IS 'Records a DER OCSP response on the certificate it is about (certificate_id, else found by serial and issuer): verifies the signature and the responder''s authority against the stored issuer (the issuer, or a delegated responder with id-kp-OCSPSigning issued by it), stores ocsp_status, this/next update and the revocation time and reason, marks the certificate revoked on a revoked answer (not certificateHold), and returns good, revoked or unknown. Malformed 22P03; a non-successful responseStatus, an unknown certificate or issuer, a mismatch with certificate_id or a bad signature 22023.';

REVOKE ALL ON FUNCTION @extschema@.ssl_ocsp_record(response bytea, certificate_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION @extschema@.ssl_ocsp_record(response bytea, certificate_id bigint) TO netbox_ssl_operator;

-- ----------------------------------------------------------------------
-- Look-up for ssl_validate_chain (stored_revocation_source, revocation.cpp)
-- ----------------------------------------------------------------------
CREATE FUNCTION netbox_ssl_internal.ssl_revocation_lookup(issuer_fingerprint text, serial text, at timestamp with time zone, OUT status text, OUT detail text) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    iss record;
    l record;
    e record;
    c record;
BEGIN
    status := 'no_data';
    SELECT x.subject, x.ski INTO iss FROM (
        SELECT i.subject, i.subject_key_id AS ski FROM @extschema@.ssl_certificate i WHERE i.fingerprint_sha256 = issuer_fingerprint
        UNION ALL
        SELECT a.subject, NULL FROM @extschema@.ssl_trust_anchor a WHERE a.fingerprint_sha256 = issuer_fingerprint) x
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- The usable CRL of that issuer, current at `at`.
    SELECT cl.id, cl.crl_number INTO l FROM @extschema@.ssl_crl cl
     WHERE cl.issuer = iss.subject AND cl.verified_by IS NOT NULL AND cl.superseded_by IS NULL
       AND (cl.verified_by = issuer_fingerprint OR (cl.authority_key_id IS NOT NULL AND cl.authority_key_id = iss.ski))
       AND cl.this_update <= at AND (cl.next_update IS NULL OR cl.next_update >= at)
     ORDER BY cl.crl_number DESC NULLS LAST, cl.this_update DESC LIMIT 1;
    IF FOUND THEN
        SELECT ce.revoked_at, ce.reason INTO e FROM @extschema@.ssl_crl_entry ce
         WHERE ce.crl_id = l.id AND ce.serial = ssl_revocation_lookup.serial
           AND ce.revoked_at <= at AND ce.reason IS DISTINCT FROM 'removeFromCRL';
        IF FOUND THEN
            status := 'revoked';
            detail := format('serial %s, revoked on %s, reason %s (CRL %s)', serial,
                             to_char(e.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                             coalesce(e.reason, 'unspecified'), coalesce('number ' || l.crl_number::text, 'id ' || l.id));
        ELSE
            status := 'good';
        END IF;
        RETURN;
    END IF;
    -- Else the OCSP answer stored on the certificate, if current.
    SELECT oc.ocsp_status, oc.ocsp_revoked_at, oc.ocsp_revocation_reason INTO c
      FROM @extschema@.ssl_certificate oc
     WHERE oc.serial_number = ssl_revocation_lookup.serial AND oc.issuer = iss.subject AND oc.ocsp_status IS NOT NULL
       AND oc.ocsp_this_update <= at AND (oc.ocsp_next_update IS NULL OR oc.ocsp_next_update >= at)
     ORDER BY oc.ocsp_this_update DESC LIMIT 1;
    IF FOUND AND c.ocsp_status = 'good' THEN
        status := 'good';
    ELSIF FOUND AND c.ocsp_status = 'revoked' AND c.ocsp_revoked_at <= at THEN
        status := 'revoked';
        detail := format('serial %s, revoked on %s, reason %s (OCSP)', serial,
                         to_char(c.ocsp_revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
                         coalesce(c.ocsp_revocation_reason, 'unspecified'));
    ELSIF FOUND AND c.ocsp_status = 'revoked' THEN
        status := 'good';
    END IF;
    RETURN;
END
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_revocation_lookup(issuer_fingerprint text, serial text, at timestamp with time zone, OUT status text, OUT detail text) IS 'Internal: the revocation status at a time of the certificate with this serial issued by the stored certificate or anchor with this fingerprint: revoked (with the date and reason) or good from the usable CRL current at that time, else from a current OCSP answer, else no_data.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_revocation_lookup(issuer_fingerprint text, serial text, at timestamp with time zone, OUT status text, OUT detail text) FROM PUBLIC;

-- Whether any revocation data could answer a lookup: the chain validator
-- asks once per command before its per-certificate lookups, so that an
-- inventory without CRLs or OCSP answers pays nothing per certificate.
CREATE FUNCTION netbox_ssl_internal.ssl_revocation_data_exists() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
SELECT EXISTS (SELECT 1 FROM @extschema@.ssl_crl AS c WHERE c.verified_by IS NOT NULL AND c.superseded_by IS NULL)
    OR EXISTS (SELECT 1 FROM @extschema@.ssl_certificate AS oc WHERE oc.ocsp_status IS NOT NULL)
$$;

COMMENT ON FUNCTION netbox_ssl_internal.ssl_revocation_data_exists() IS 'Internal: true when a usable CRL or a recorded OCSP answer exists, i.e. when a revocation lookup could answer anything but no_data.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_revocation_data_exists() FROM PUBLIC;

CREATE INDEX ssl_certificate_ocsp_answer_idx ON @extschema@.ssl_certificate USING btree (serial_number) WHERE (ocsp_status IS NOT NULL);

COMMENT ON INDEX @extschema@.ssl_certificate_ocsp_answer_idx IS 'Certificates with a recorded OCSP answer (few): makes ssl_revocation_data_exists() one index probe.';

CREATE FUNCTION netbox_ssl_internal.ssl_revocation_status(issuer_fingerprint text, serial text, at timestamp with time zone, OUT status text, OUT detail text) RETURNS record
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'ssl_revocation_status';

COMMENT ON FUNCTION netbox_ssl_internal.ssl_revocation_status(issuer_fingerprint text, serial text, at timestamp with time zone, OUT status text, OUT detail text) IS 'Internal: what ssl_validate_chain''s revocation check gets for one certificate (the C++ RevocationSource over ssl_revocation_lookup): good, revoked with its detail, or no_data.';

REVOKE ALL ON FUNCTION netbox_ssl_internal.ssl_revocation_status(issuer_fingerprint text, serial text, at timestamp with time zone, OUT status text, OUT detail text) FROM PUBLIC;

-- ----------------------------------------------------------------------
-- What a poller should fetch next
-- ----------------------------------------------------------------------
CREATE VIEW @extschema@.ssl_revocation_due AS
 SELECT 'crl'::text AS kind,
    NULL::bigint AS certificate_id,
    l.id AS crl_id,
    l.issuer,
    u.url,
    l.next_update AS due_since,
    NULL::text AS serial_number,
    NULL::text AS issuer_pem
   FROM (@extschema@.ssl_crl l
     CROSS JOIN LATERAL ( SELECT DISTINCT x.url
           FROM @extschema@.ssl_certificate c,
            LATERAL unnest(c.crl_urls) x(url)
          WHERE ((c.issuer = l.issuer) AND (c.status = ANY (ARRAY['active'::text, 'pending'::text])))) u)
  WHERE ((l.verified_by IS NOT NULL) AND (l.superseded_by IS NULL) AND (l.next_update < now()))
UNION ALL
 SELECT 'ocsp'::text AS kind,
    c.id AS certificate_id,
    NULL::bigint AS crl_id,
    c.issuer,
    c.ocsp_urls[1] AS url,
    c.ocsp_next_update AS due_since,
    c.serial_number,
    ( SELECT x.pem
           FROM ( SELECT i.pem_content AS pem, 1 AS pref
                   FROM @extschema@.ssl_certificate i
                  WHERE ((i.subject = c.issuer) AND i.is_ca AND ((c.authority_key_id IS NULL) OR (i.subject_key_id = c.authority_key_id)))
                UNION ALL
                 SELECT a.pem_content, 2
                   FROM @extschema@.ssl_trust_anchor a
                  WHERE (a.subject = c.issuer)) x
          ORDER BY x.pref
         LIMIT 1) AS issuer_pem
   FROM @extschema@.ssl_certificate c
  WHERE ((c.status = 'active'::text) AND (cardinality(c.ocsp_urls) > 0) AND ((c.ocsp_next_update IS NULL) OR (c.ocsp_next_update < now())));

COMMENT ON VIEW @extschema@.ssl_revocation_due IS 'What a revocation poller should fetch next: kind crl, one row per usable CRL past its next_update and per CRL distribution point URL of the active or pending certificates of its issuer; kind ocsp, one row per active certificate with an OCSP URL and no current OCSP answer (none yet, or past ocsp_next_update), with its serial and the issuer PEM an OCSP request needs (NULL when the issuer is not stored). due_since is NULL for a certificate never asked.';

GRANT SELECT ON TABLE @extschema@.ssl_revocation_due TO netbox_ssl_reader;

-- (end of part R)
