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

-- The one write path (src/pg/write_path.cpp): ssl_import, ssl_renew and
-- ssl_import_bundle do the per-row work of these triggers in their own
-- statement; the triggers skip exactly that statement (WHEN), and fire as
-- before for every other write.
CREATE FUNCTION netbox_ssl_internal.ssl_write_path_owns() RETURNS boolean
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'ssl_write_path_owns';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_write_path_owns() IS 'Internal: true while the statement of the extension''s own write path (ssl_import, ssl_renew, ssl_import_bundle) runs, whose triggers it replaces; false otherwise. Reading it is harmless; nothing in SQL can set it.';

CREATE FUNCTION netbox_ssl_internal.ssl_certificate_urls(pem text, OUT crl_urls text[], OUT ocsp_urls text[], OUT ca_issuers_urls text[]) RETURNS record
    LANGUAGE c IMMUTABLE STRICT COST 5000 PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ssl_certificate_urls';
COMMENT ON FUNCTION netbox_ssl_internal.ssl_certificate_urls(pem text, OUT crl_urls text[], OUT ocsp_urls text[], OUT ca_issuers_urls text[]) IS 'Internal: the CRL distribution point, OCSP and caIssuers URIs of a PEM certificate, as ssl_import stores them.';

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

-- Rows stored before 1.6: their revocation URLs from their stored PEM.
UPDATE @extschema@.ssl_certificate c
   SET crl_urls = u.crl_urls, ocsp_urls = u.ocsp_urls, ca_issuers_urls = u.ca_issuers_urls
  FROM @extschema@.ssl_certificate x
  CROSS JOIN LATERAL netbox_ssl_internal.ssl_certificate_urls(x.pem_content) u
 WHERE c.id = x.id
   AND (u.crl_urls, u.ocsp_urls, u.ca_issuers_urls) IS DISTINCT FROM (c.crl_urls, c.ocsp_urls, c.ca_issuers_urls);

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

-- (end of part V)

-- ===========================================================================
-- Part T: chain validation rules, path building, public suffixes, max_depth
-- ===========================================================================

-- (end of part T)

-- ===========================================================================
-- Part R: revocation (CRL, OCSP) and where to fetch it from
-- ===========================================================================

-- (end of part R)
